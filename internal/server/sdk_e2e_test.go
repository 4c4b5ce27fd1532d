package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// sdkScript loads the generated JavaScript SDK in node, the way its README
// says (mode "require": require('./apigClient.js'); mode "script": every
// file evaluated in one vm context in the order of the README's <script>
// tags, as a browser does; mode "xhr": the same without fetch), then calls
// the methods the test names and prints one JSON object per call.
const sdkScript = `
const fs = require('fs'), path = require('path'), vm = require('vm');
const [dir, mode, callsJSON] = process.argv.slice(1);
let factory;
function NodeXHR() { this.headers = {}; }
NodeXHR.prototype.open = function (method, url) { this.method = method; this.url = url; };
NodeXHR.prototype.setRequestHeader = function (k, v) { this.headers[k] = v; };
NodeXHR.prototype.send = function (body) {
  const xhr = this;
  const req = require('http').request(xhr.url, { method: xhr.method, headers: xhr.headers }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d) => { text += d; });
    res.on('end', () => {
      xhr.status = res.statusCode;
      xhr.statusText = res.statusMessage;
      xhr.responseText = text;
      xhr.rawHeaders = Object.entries(res.headers).map(([k, v]) => k + ': ' + v).join('\r\n');
      xhr.onload();
    });
  });
  req.on('error', () => xhr.onerror());
  if (body !== null && body !== undefined) req.write(Buffer.from(body));
  req.end();
};
NodeXHR.prototype.getAllResponseHeaders = function () { return this.rawHeaders; };
if (mode === 'require') {
  factory = require(path.join(dir, 'apigClient.js'));
} else {
  // "script" gives the page fetch; "xhr" only an XMLHttpRequest (over
  // node's http module), as in a browser without fetch.
  const ctx = vm.createContext(mode === 'xhr' ? { XMLHttpRequest: NodeXHR, console: console } : { fetch: fetch, console: console });
  for (const f of ['lib/url-template/url-template.js', 'lib/apiGatewayCore/sha256.js',
      'lib/apiGatewayCore/sigV4Client.js', 'lib/apiGatewayCore/apiGatewayClient.js',
      'lib/apiGatewayCore/simpleHttpClient.js', 'lib/apiGatewayCore/utils.js', 'apigClient.js']) {
    vm.runInContext(fs.readFileSync(path.join(dir, f), 'utf8'), ctx, { filename: f });
  }
  factory = ctx.apigClientFactory;
}
` + sdkRunCalls + `
runCalls(factory, JSON.parse(callsJSON), {}).then((out) => console.log(JSON.stringify(out)));
`

// sdkRunCalls makes the calls one after the other, each with a new client
// of its configuration (and the keys of extra), and resolves with one
// result object per call: status and data, and the error for a rejection.
const sdkRunCalls = `
async function runCalls(factory, calls, extra) {
  var out = [];
  for (var i = 0; i < calls.length; i++) {
    var c = calls[i];
    var client = factory.newClient(Object.assign({}, c.config, extra));
    try {
      var r = await client[c.method](c.params, c.body, c.additional);
      out.push({ status: r.status, data: r.data });
    } catch (e) {
      out.push(e.response ? { status: e.response.status, data: e.response.data, error: e.message } : { error: String(e) });
    }
  }
  return out;
}`

type sdkCall struct {
	Config     map[string]string `json:"config"`
	Method     string            `json:"method"`
	Params     map[string]string `json:"params,omitempty"`
	Body       any               `json:"body,omitempty"`
	Additional map[string]any    `json:"additional,omitempty"`
}

type sdkResult struct {
	Status int
	Data   any
	Error  string
}

// sdkFixture is a deployed API with an AWS_IAM method, an API-key method
// and a MOCK at its root, its JavaScript SDK from GetSdk unzipped in dir,
// and the calls of the SDK a test makes.
type sdkFixture struct {
	in      *apigwtest.Instance
	backend *iaBackend
	apiID   string
	dir     string // the zip's apiGateway-js-sdk folder
	calls   []sdkCall
}

func newSDKFixture(t *testing.T) *sdkFixture {
	t.Helper()
	in := apigwtest.Start(t)
	ctx, c := t.Context(), in.Client
	backend := iaNewBackend(t)

	api := iaMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("pets")}))(t)
	pets := iaMust(c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("pets")}))(t)
	pet := iaMust(c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: pets.Id, PathPart: aws.String("{petId}")}))(t)
	// GET /pets/{petId}: AWS_IAM, a query parameter.
	iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: pet.Id, HttpMethod: aws.String("GET"),
		AuthorizationType: aws.String("AWS_IAM"), RequestParameters: map[string]bool{"method.request.path.petId": true, "method.request.querystring.verbose": false}}))(t)
	iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: pet.Id, HttpMethod: aws.String("GET"),
		Type: agtypes.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(backend.URL + "/pets/{petId}"),
		RequestParameters: map[string]string{"integration.request.path.petId": "method.request.path.petId"}}))(t)
	// POST /pets: an API key.
	iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("POST"),
		AuthorizationType: aws.String("NONE"), ApiKeyRequired: true}))(t)
	iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("POST"),
		Type: agtypes.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(backend.URL + "/pets")}))(t)
	// GET /: a MOCK, through the stage's root URL.
	iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))(t)
	iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"),
		Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))(t)
	iaMust(c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
		ResponseModels: map[string]string{"application/json": "Empty"}}))(t)
	iaMust(c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
		ResponseTemplates: map[string]string{"application/json": `{"pets": "/pets"}`}}))(t)
	// A method changed after the deployment is not in the stage's SDK.
	dep := iaMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))(t)
	in.WaitServing(t, *api.Id, "prod", *dep.Id)
	iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("DELETE"), AuthorizationType: aws.String("NONE")}))(t)

	plan := iaMust(c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("sdk"),
		ApiStages: []agtypes.ApiStage{{ApiId: api.Id, Stage: aws.String("prod")}}}))(t)
	_, apiKey := upKey(t, c, "sdk-key", "", *plan.Id)

	acct := iaAccount(t, in)
	user := iaNewUser(t, iaIAM(in, iaRoot), "sdk-user",
		iaAllow("execute-api:Invoke", "arn:aws:execute-api:"+iaRegion+":"+acct+":"+*api.Id+"/prod/GET/pets/*"))

	out := iaMust(c.GetSdk(ctx, &apigateway.GetSdkInput{RestApiId: api.Id, StageName: aws.String("prod"), SdkType: aws.String("javascript")}))(t)
	if ct := aws.ToString(out.ContentType); ct != "application/zip" {
		t.Errorf("Content-Type = %q, want application/zip", ct)
	}
	if cd := aws.ToString(out.ContentDisposition); !regexp.MustCompile(`^attachment; filename="javascript_\d{4}-\d\d-\d\d_\d\d-\d\dZ\.zip"$`).MatchString(cd) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	dir := t.TempDir()
	apigwtest.Unzip(t, out.Body, dir)
	client, err := os.ReadFile(filepath.Join(dir, "apiGateway-js-sdk", "apigClient.js"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `invokeUrl: "` + in.DataURL + "/_aws/execute-api/" + *api.Id + `/prod"`; !strings.Contains(string(client), want) {
		t.Errorf("apigClient.js lacks %s", want)
	}
	if strings.Contains(string(client), "petsDelete") {
		t.Error("apigClient.js has petsDelete, a method added after the stage's deployment")
	}
	iam := map[string]string{"accessKey": user.AccessKeyID, "secretKey": user.SecretAccessKey}
	tmp := iaMust(iaSTS(in, user).GetSessionToken(ctx, &sts.GetSessionTokenInput{}))(t).Credentials
	session := map[string]string{"accessKey": aws.ToString(tmp.AccessKeyId), "secretKey": aws.ToString(tmp.SecretAccessKey), "sessionToken": aws.ToString(tmp.SessionToken)}
	noToken := map[string]string{"accessKey": aws.ToString(tmp.AccessKeyId), "secretKey": aws.ToString(tmp.SecretAccessKey)}
	other := "x"
	if strings.HasPrefix(user.SecretAccessKey, other) {
		other = "y"
	}
	wrong := map[string]string{"accessKey": user.AccessKeyID, "secretKey": other + user.SecretAccessKey[1:]}
	keyed := map[string]string{"apiKey": apiKey}
	calls := []sdkCall{
		{Config: iam, Method: "petsPetIdGet", Params: map[string]string{"petId": "42", "verbose": "yes"}},
		{Config: keyed, Method: "petsPost", Body: map[string]string{"name": "rex"}, Additional: map[string]any{"headers": map[string]string{"x-trace": "t1"}}},
		{Config: wrong, Method: "petsPetIdGet", Params: map[string]string{"petId": "42"}},
		{Config: map[string]string{}, Method: "petsPost", Body: map[string]string{"name": "rex"}},
		{Config: iam, Method: "petsPetIdGet", Params: map[string]string{"petId": "a b"}},
		{Config: session, Method: "petsPetIdGet", Params: map[string]string{"petId": "7"}},
		{Config: noToken, Method: "petsPetIdGet", Params: map[string]string{"petId": "7"}},
		{Config: map[string]string{}, Method: "rootGet"},
	}
	return &sdkFixture{in: in, backend: backend, apiID: *api.Id, dir: filepath.Join(dir, "apiGateway-js-sdk"), calls: calls}
}

// check asserts what the calls got, in order.
func (f *sdkFixture) check(t *testing.T, got []sdkResult) {
	t.Helper()
	backend := f.backend
	if got[0].Status != 200 || got[0].Data != "GET /pets/42?verbose=yes" {
		t.Errorf("signed petsPetIdGet = %+v, want 200 %q", got[0], "GET /pets/42?verbose=yes")
	}
	if got[1].Status != 200 || got[1].Data != "POST /pets" {
		t.Errorf("petsPost with the API key = %+v, want 200 %q", got[1], "POST /pets")
	}
	var post *iaReceived
	backend.mu.Lock()
	for i := range backend.reqs {
		if backend.reqs[i].Method == "POST" {
			post = &backend.reqs[i]
		}
	}
	backend.mu.Unlock()
	if post == nil || post.Body != `{"name":"rex"}` || post.Header.Get("x-trace") != "t1" || post.Header.Get("Content-Type") != "application/json" {
		t.Errorf("the backend's POST = %+v, want body {\"name\":\"rex\"}, x-trace t1, Content-Type application/json", post)
	}
	msg := func(r sdkResult) string {
		m, _ := r.Data.(map[string]any)
		s, _ := m["message"].(string)
		return s
	}
	if got[2].Status != 403 || !strings.HasPrefix(msg(got[2]), "The request signature we calculated does not match the signature you provided") {
		t.Errorf("petsPetIdGet with a wrong secret key = %+v, want 403 signature mismatch", got[2])
	}
	if got[3].Status != 403 || msg(got[3]) != "Forbidden" {
		t.Errorf("petsPost without an API key = %+v, want 403 Forbidden", got[3])
	}
	if got[4].Status != 200 || got[4].Data != "GET /pets/a%20b" {
		t.Errorf("signed petsPetIdGet of %q = %+v, want 200 %q", "a b", got[4], "GET /pets/a%20b")
	}
	if got[5].Status != 200 || got[5].Data != "GET /pets/7" {
		t.Errorf("petsPetIdGet with temporary credentials = %+v, want 200 %q", got[5], "GET /pets/7")
	}
	if got[7].Status != 200 || fmt.Sprint(got[7].Data) != "map[pets:/pets]" {
		t.Errorf("rootGet = %+v, want 200 and the parsed JSON {\"pets\": \"/pets\"}", got[7])
	}
	if got[6].Status != 403 {
		t.Errorf("petsPetIdGet with temporary credentials but no session token = %+v, want 403", got[6])
	}
}

// TestGeneratedJavaScriptSDK downloads the JavaScript SDK of a stage with
// GetSdk and calls its AWS_IAM and API-key methods from node through the
// SDK.
func TestGeneratedJavaScriptSDK(t *testing.T) {
	f := newSDKFixture(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the generated SDK is not run")
	}
	callsJSON, _ := json.Marshal(f.calls)
	for _, mode := range []string{"require", "script", "xhr"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(node, "-e", sdkScript, f.dir, mode, string(callsJSON))
			cmd.Env = append(os.Environ(), "NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1")
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, b)
			}
			var got []sdkResult
			if err := json.Unmarshal(b, &got); err != nil || len(got) != len(f.calls) {
				t.Fatalf("node printed %s (%v)", b, err)
			}
			t.Logf("node: %s", bytes.TrimSpace(b))
			f.check(t, got)
		})
	}
}

// TestSdkTypesAndErrors: GetSdkTypes and GetSdkType as AWS lists them, and
// GetSdk's refusals.
func TestSdkTypesAndErrors(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.InvokeURL = "https://{apiId}.execute-api.example.com/" })
	ctx, c := t.Context(), in.Client

	types := iaMust(c.GetSdkTypes(ctx, &apigateway.GetSdkTypesInput{}))(t)
	var ids []string
	for _, it := range types.Items {
		ids = append(ids, aws.ToString(it.Id))
	}
	if got := strings.Join(ids, ","); got != "android,java,javascript,objectivec,ruby,swift" {
		t.Errorf("GetSdkTypes ids = %s", got)
	}
	page := iaMust(c.GetSdkTypes(ctx, &apigateway.GetSdkTypesInput{Limit: aws.Int32(2)}))(t)
	if len(page.Items) != 2 || aws.ToString(page.Items[1].Id) != "java" {
		t.Errorf("GetSdkTypes limit 2 = %+v", page.Items)
	}
	swift := iaMust(c.GetSdkType(ctx, &apigateway.GetSdkTypeInput{Id: aws.String("swift")}))(t)
	if aws.ToString(swift.FriendlyName) != "iOS (Swift)" || len(swift.ConfigurationProperties) != 1 ||
		aws.ToString(swift.ConfigurationProperties[0].Name) != "classPrefix" || !swift.ConfigurationProperties[0].Required {
		t.Errorf("GetSdkType swift = %+v", swift)
	}
	android := iaMust(c.GetSdkType(ctx, &apigateway.GetSdkTypeInput{Id: aws.String("android")}))(t)
	var names []string
	for _, p := range android.ConfigurationProperties {
		names = append(names, aws.ToString(p.Name))
	}
	if strings.Join(names, ",") != "groupId,invokerPackage,artifactId,artifactVersion" {
		t.Errorf("android properties = %v", names)
	}
	js := iaMust(c.GetSdkType(ctx, &apigateway.GetSdkTypeInput{Id: aws.String("javascript")}))(t)
	if aws.ToString(js.FriendlyName) != "JavaScript" || len(js.ConfigurationProperties) != 0 {
		t.Errorf("GetSdkType javascript = %+v", js)
	}
	_, err := c.GetSdkType(ctx, &apigateway.GetSdkTypeInput{Id: aws.String("cobol")})
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid SDK type specified: cobol")

	apiID := upAPI(t, in, "prod")
	get := func(api, stage, typ string, params map[string]string) error {
		_, err := c.GetSdk(ctx, &apigateway.GetSdkInput{RestApiId: aws.String(api), StageName: aws.String(stage), SdkType: aws.String(typ), Parameters: params})
		return err
	}
	for _, typ := range []string{"android", "java", "objectivec", "swift", "ruby"} {
		apigwtest.WantAPIError(t, get(apiID, "prod", typ, map[string]string{"classPrefix": "X", "groupId": "g"}), 400, "BadRequestException",
			"apigw generates only javascript SDKs; it does not generate "+typ+" SDKs (...")
	}
	apigwtest.WantAPIError(t, get(apiID, "prod", "cobol", nil), 400, "BadRequestException",
		"Invalid SDK type specified: cobol. Valid values are android, java, javascript, objectivec, ruby, swift")
	apigwtest.WantAPIError(t, get(apiID, "nope", "javascript", nil), 404, "NotFoundException", "Invalid stage identifier specified")
	apigwtest.WantAPIError(t, get("nosuchapi0", "prod", "javascript", nil), 404, "NotFoundException", "Invalid API identifier specified ...")
	// Parameters (a query map in botocore's model) are accepted; the
	// JavaScript SDK has no configuration property to read.
	sdk, err := c.GetSdk(ctx, &apigateway.GetSdkInput{RestApiId: aws.String(apiID), StageName: aws.String("prod"), SdkType: aws.String("javascript"),
		Parameters: map[string]string{"anything": "x"}})
	if err != nil {
		t.Fatalf("GetSdk javascript with parameters: %v", err)
	}
	// --invoke-url names the stage's URL in the SDK.
	dir := t.TempDir()
	apigwtest.Unzip(t, sdk.Body, dir)
	client, err := os.ReadFile(filepath.Join(dir, "apiGateway-js-sdk", "apigClient.js"))
	if want := `invokeUrl: "https://` + apiID + `.execute-api.example.com/prod"`; err != nil || !strings.Contains(string(client), want) {
		t.Errorf("apigClient.js lacks %s (%v)", want, err)
	}
}

// TestGetSdkCLI downloads the JavaScript SDK with aws apigateway get-sdk.
func TestGetSdkCLI(t *testing.T) {
	in := apigwtest.Start(t)
	cli := awsCLI(t, in, "apigateway")
	apiID := upAPI(t, in, "prod")
	zipPath := filepath.Join(t.TempDir(), "out.zip")
	out := cli(false, "get-sdk", "--rest-api-id", apiID, "--stage-name", "prod", "--sdk-type", "javascript", zipPath)
	var meta struct{ ContentType, ContentDisposition string }
	if err := json.Unmarshal([]byte(out), &meta); err != nil || meta.ContentType != "application/zip" || !strings.HasPrefix(meta.ContentDisposition, `attachment; filename="javascript_`) {
		t.Errorf("get-sdk printed %s (%v)", out, err)
	}
	b, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	apigwtest.Unzip(t, b, dir)
	client, err := os.ReadFile(filepath.Join(dir, "apiGateway-js-sdk", "apigClient.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{`apigClient["helloGet"]`, `apigClient["otherGet"]`} {
		if !strings.Contains(string(client), m) {
			t.Errorf("the CLI's apigClient.js lacks %s", m)
		}
	}
	out = cli(true, "get-sdk", "--rest-api-id", apiID, "--stage-name", "prod", "--sdk-type", "swift", "--parameters", "classPrefix=PET", zipPath)
	if !strings.Contains(out, "BadRequestException") || !strings.Contains(out, "apigw generates only javascript SDKs") {
		t.Errorf("get-sdk swift: %s", out)
	}
}

// sdkPage loads the SDK with the <script> tags of its README and writes
// the calls' results into <pre id="out">.
const sdkPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>apigw SDK</title>
<script>
function fail(m) { document.title = 'error: ' + m; var o = document.getElementById('out'); if (o) o.textContent = 'error: ' + m; }
window.onerror = function (m) { fail(m); };
window.onunhandledrejection = function (e) { fail(e.reason); };
</script>
<script src="/sdk/lib/url-template/url-template.js"></script>
<script src="/sdk/lib/apiGatewayCore/sha256.js"></script>
<script src="/sdk/lib/apiGatewayCore/sigV4Client.js"></script>
<script src="/sdk/lib/apiGatewayCore/apiGatewayClient.js"></script>
<script src="/sdk/lib/apiGatewayCore/simpleHttpClient.js"></script>
<script src="/sdk/lib/apiGatewayCore/utils.js"></script>
<script src="/sdk/apigClient.js"></script>
</head><body><pre id="out">pending</pre>
<script type="application/json" id="calls">CALLS</script>
<script>` + sdkRunCalls + `
runCalls(apigClientFactory, JSON.parse(document.getElementById('calls').textContent),
    { invokeUrl: location.origin + INVOKE_PATH }).then(function (out) {
  document.getElementById('out').textContent = JSON.stringify(out);
});
</script>
</body></html>`

// TestGeneratedJavaScriptSDKInBrowser makes the same calls from a page in
// headless Chromium. The page's server serves the SDK's files and passes
// /_aws/ on to apigw's data listener with the page's Host, so the calls
// are same-origin (no CORS) and signed for the host the browser sends.
func TestGeneratedJavaScriptSDKInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed: the generated SDK is not run in a browser")
	}
	if testing.Short() {
		t.Skip("a browser is slow to start: skipped with -short")
	}
	f := newSDKFixture(t)
	data, _ := url.Parse(f.in.DataURL)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(data)
		r.Out.Host = r.In.Host
	}}
	callsJSON, _ := json.Marshal(f.calls)
	page := strings.NewReplacer("INVOKE_PATH", `"/_aws/execute-api/`+f.apiID+`/prod"`,
		"CALLS", strings.ReplaceAll(string(callsJSON), "</", `<\/`)).Replace(sdkPage)
	mux := http.NewServeMux()
	mux.Handle("/_aws/", proxy)
	mux.Handle("/sdk/", http.StripPrefix("/sdk/", http.FileServer(http.Dir(f.dir))))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=20000", "--dump-dom", site.URL+"/")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s\n%s", err, b, stderr.Bytes())
	}
	m := regexp.MustCompile(`<pre id="out">([^<]*)</pre>`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("the page has no result:\n%s", b)
	}
	text := html.UnescapeString(string(m[1]))
	var got []sdkResult
	if err := json.Unmarshal([]byte(text), &got); err != nil || len(got) != len(f.calls) {
		t.Fatalf("the page wrote %s (%v)\n%s\n%s", text, err, b, stderr.Bytes())
	}
	t.Logf("chromium: %s", text)
	f.check(t, got)
}
