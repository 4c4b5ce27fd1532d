package sdkgen_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/sdkgen"
)

func TestMethodName(t *testing.T) {
	for _, tc := range []struct{ path, verb, want string }{
		{"/", "GET", "rootGet"},
		{"/", "OPTIONS", "rootOptions"},
		{"/pets", "GET", "petsGet"},
		{"/pets", "POST", "petsPost"},
		{"/pets/{petId}", "GET", "petsPetIdGet"},
		{"/{a}/{b}/{op}", "GET", "aBOpGet"},
		{"/Pets/{pet_id}/photo-albums", "DELETE", "petsPetIdPhotoAlbumsDelete"},
		{"/files/{proxy+}", "PUT", "filesProxyPut"},
		{"/v1.2/items", "PATCH", "v12ItemsPatch"},
		{"/2fa", "HEAD", "_2faHead"},
	} {
		if got := sdkgen.MethodName(tc.path, tc.verb); got != tc.want {
			t.Errorf("MethodName(%q, %q) = %q, want %q", tc.path, tc.verb, got, tc.want)
		}
	}
}

func testSnapshot() *model.Snapshot {
	return &model.Snapshot{
		DeploymentID: "dep123",
		Api:          model.RestApi{ID: "abc123defg", Name: "pets */ api"},
		Resources: []*model.Resource{
			{ID: "r2", Path: "/pets/{petId}", ResourceMethods: map[string]*model.Method{
				"GET": {HTTPMethod: "GET", AuthorizationType: "AWS_IAM", RequestParameters: map[string]bool{
					"method.request.path.petId":          true,
					"method.request.querystring.verbose": false,
					"method.request.header.x-trace":      true,
				}},
			}},
			{ID: "r0", Path: "/", ResourceMethods: map[string]*model.Method{
				"OPTIONS": {HTTPMethod: "OPTIONS", AuthorizationType: "NONE"},
				"ANY":     {HTTPMethod: "ANY", AuthorizationType: "NONE"},
			}},
			{ID: "r1", Path: "/pets", ResourceMethods: map[string]*model.Method{
				"GET":  {HTTPMethod: "GET", AuthorizationType: "NONE", ApiKeyRequired: true},
				"POST": {HTTPMethod: "POST", AuthorizationType: "CUSTOM"},
			}},
			{ID: "r3", Path: "/files/{proxy+}", ResourceMethods: map[string]*model.Method{
				"PUT": {HTTPMethod: "PUT", AuthorizationType: "NONE"},
			}},
		},
	}
}

func TestMethods(t *testing.T) {
	ms := sdkgen.Methods(testSnapshot())
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if want := []string{"rootOptions", "filesProxyPut", "petsGet", "petsPost", "petsPetIdGet"}; !slices.Equal(names, want) {
		t.Fatalf("methods = %v, want %v (ANY skipped, by path then verb)", names, want)
	}
	get := ms[4]
	if get.AuthType != "AWS_IAM" || get.Template != "/pets/{petId}" ||
		!slices.Equal(get.PathParams, []string{"petId"}) || !slices.Equal(get.QueryParams, []string{"verbose"}) ||
		!slices.Equal(get.HeaderParams, []string{"x-trace"}) || !slices.Equal(get.Required, []string{"petId", "x-trace"}) {
		t.Errorf("petsPetIdGet = %+v", get)
	}
	if ms[1].Template != "/files/{+proxy}" || ms[2].AuthType != "NONE" || !ms[2].APIKey || ms[3].AuthType != "NONE" {
		t.Errorf("methods = %+v", ms)
	}
	if ms[0].Template != "/" {
		t.Errorf("root template = %q", ms[0].Template)
	}
	dup := &model.Snapshot{Resources: []*model.Resource{
		{Path: "/a-b", ResourceMethods: map[string]*model.Method{"GET": {}}},
		{Path: "/aB", ResourceMethods: map[string]*model.Method{"GET": {}}},
	}}
	if ms := sdkgen.Methods(dup); ms[0].Name != "aBGet" || ms[1].Name != "aBGet2" {
		t.Errorf("colliding names = %q, %q", ms[0].Name, ms[1].Name)
	}
}

func TestJavaScript(t *testing.T) {
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	b, err := sdkgen.JavaScript(testSnapshot(), sdkgen.Options{Stage: "prod", InvokeURL: "http://127.0.0.1:9/_aws/execute-api/abc123defg/prod/", Region: "eu-west-3", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	names := apigwtest.Unzip(t, b, dir)
	slices.Sort(names)
	want := []string{
		"apiGateway-js-sdk/README.md",
		"apiGateway-js-sdk/apigClient.js",
		"apiGateway-js-sdk/lib/apiGatewayCore/apiGatewayClient.js",
		"apiGateway-js-sdk/lib/apiGatewayCore/sha256.js",
		"apiGateway-js-sdk/lib/apiGatewayCore/sigV4Client.js",
		"apiGateway-js-sdk/lib/apiGatewayCore/simpleHttpClient.js",
		"apiGateway-js-sdk/lib/apiGatewayCore/utils.js",
		"apiGateway-js-sdk/lib/url-template/url-template.js",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("zip files = %v, want %v", names, want)
	}
	client, _ := os.ReadFile(filepath.Join(dir, sdkgen.Root, "apigClient.js"))
	for _, s := range []string{
		`invokeUrl: "http://127.0.0.1:9/_aws/execute-api/abc123defg/prod"`,
		`region: "eu-west-3"`,
		`apigClient["petsPetIdGet"] = function (params, body, additionalParams)`,
		`uritemplate("/pets/{petId}")`,
		`"AWS_IAM", additionalParams, config.apiKey`,
		"pets * / api",
	} {
		if !strings.Contains(string(client), s) {
			t.Errorf("apigClient.js lacks %q", s)
		}
	}
	if strings.Contains(string(client), "ANY") {
		t.Error("apigClient.js has a method for ANY")
	}

	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the generated JavaScript is not run")
	}
	// The client loads in node, has the methods, checks its parameters and
	// expands URI templates as AWS's does.
	script := `
const f = require(process.argv[1] + '/apigClient.js');
const c = f.newClient({});
let missing = '';
try { c.petsPetIdGet({}, undefined, {}); } catch (e) { missing = e.message; }
console.log(JSON.stringify({
  methods: Object.keys(c),
  missing: missing,
  plain: uritemplate('/pets/{petId}').expand({petId: 'a b/c'}),
  greedy: uritemplate('/files/{+proxy}').expand({proxy: 'x y/z?#'}),
  query: apiGateway.core.utils.queryString({b: 'x y', a: ['1', '2']}),
}));`
	out, err := exec.Command(node, "-e", script, filepath.Join(dir, sdkgen.Root)).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Methods                       []string
		Missing, Plain, Greedy, Query string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %s: %v", out, err)
	}
	if want := []string{"rootOptions", "filesProxyPut", "petsGet", "petsPost", "petsPetIdGet"}; !slices.Equal(got.Methods, want) {
		t.Errorf("node sees methods %v, want %v", got.Methods, want)
	}
	if got.Missing != "Missing required parameters: petId, x-trace" {
		t.Errorf("missing parameters error = %q", got.Missing)
	}
	if got.Plain != "/pets/a%20b%2Fc" || got.Greedy != "/files/x%20y/z%3F%23" || got.Query != "b=x%20y&a=1&a=2" {
		t.Errorf("templates and query: %+v", got)
	}
}
