package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
)

// End-to-end tests of the data plane: a real apigw on loopback, APIs built
// through the AWS SDK, invoked with plain net/http, with recording backends.

// dpWait bounds every wait of these tests; nothing sleeps for a fixed time.
const dpWait = 10 * time.Second

var dpApigwID = regexp.MustCompile(`^[A-Za-z0-9_+/-]{15}=$`)

var dpUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// dpClient calls the data plane directly, whatever proxy the environment
// names.
var dpClient = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	MaxIdleConnsPerHost: 16,
	DisableCompression:  true,
}}

// ---- building APIs -------------------------------------------------------

type dpAPI struct {
	t    *testing.T
	in   *apigwtest.Instance
	id   string
	root string
	res  map[string]string // resource path → id
}

func newDPAPI(t *testing.T, in *apigwtest.Instance, name string) *dpAPI {
	t.Helper()
	ctx := t.Context()
	out, err := in.Client.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateRestApi: %v", err)
	}
	a := &dpAPI{t: t, in: in, id: aws.ToString(out.Id), res: map[string]string{}}
	rs, err := in.Client.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: out.Id})
	if err != nil {
		t.Fatalf("GetResources: %v", err)
	}
	for _, r := range rs.Items {
		if aws.ToString(r.Path) == "/" {
			a.root = aws.ToString(r.Id)
		}
	}
	if a.root == "" {
		t.Fatalf("API %s has no root resource", a.id)
	}
	a.res["/"] = a.root
	return a
}

// resource returns the id of the resource at path, creating it and its
// missing ancestors.
func (a *dpAPI) resource(path string) string {
	a.t.Helper()
	if id, ok := a.res[path]; ok {
		return id
	}
	i := strings.LastIndexByte(path, '/')
	parentPath := path[:i]
	if parentPath == "" {
		parentPath = "/"
	}
	parent := a.resource(parentPath)
	out, err := a.in.Client.CreateResource(a.t.Context(), &apigateway.CreateResourceInput{
		RestApiId: aws.String(a.id), ParentId: aws.String(parent), PathPart: aws.String(path[i+1:]),
	})
	if err != nil {
		a.t.Fatalf("CreateResource %s: %v", path, err)
	}
	a.res[path] = aws.ToString(out.Id)
	return a.res[path]
}

// method puts a method without authorization; params are its request
// parameters (method.request.path.id: true, ...).
func (a *dpAPI) method(path, httpMethod string, apiKey bool, params ...string) {
	a.t.Helper()
	var rp map[string]bool
	if len(params) > 0 {
		rp = map[string]bool{}
		for _, p := range params {
			rp[p] = true
		}
	}
	_, err := a.in.Client.PutMethod(a.t.Context(), &apigateway.PutMethodInput{
		RestApiId: aws.String(a.id), ResourceId: aws.String(a.resource(path)), HttpMethod: aws.String(httpMethod),
		AuthorizationType: aws.String("NONE"), ApiKeyRequired: apiKey, RequestParameters: rp,
	})
	if err != nil {
		a.t.Fatalf("PutMethod %s %s: %v", httpMethod, path, err)
	}
}

func (a *dpAPI) integration(path, httpMethod string, in *apigateway.PutIntegrationInput) {
	a.t.Helper()
	in.RestApiId, in.ResourceId, in.HttpMethod = aws.String(a.id), aws.String(a.resource(path)), aws.String(httpMethod)
	if _, err := a.in.Client.PutIntegration(a.t.Context(), in); err != nil {
		a.t.Fatalf("PutIntegration %s %s: %v", httpMethod, path, err)
	}
}

// response puts a method response and its integration response.
func (a *dpAPI) response(path, httpMethod, status, pattern string, headers, templates map[string]string) {
	a.t.Helper()
	ctx := a.t.Context()
	var mrp map[string]bool
	if len(headers) > 0 {
		mrp = map[string]bool{}
		for k := range headers {
			mrp[k] = true
		}
	}
	_, err := a.in.Client.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
		RestApiId: aws.String(a.id), ResourceId: aws.String(a.resource(path)), HttpMethod: aws.String(httpMethod),
		StatusCode: aws.String(status), ResponseParameters: mrp,
	})
	if err != nil {
		a.t.Fatalf("PutMethodResponse %s %s %s: %v", httpMethod, path, status, err)
	}
	in := &apigateway.PutIntegrationResponseInput{
		RestApiId: aws.String(a.id), ResourceId: aws.String(a.resource(path)), HttpMethod: aws.String(httpMethod),
		StatusCode: aws.String(status), ResponseParameters: headers, ResponseTemplates: templates,
	}
	if pattern != "" {
		in.SelectionPattern = aws.String(pattern)
	}
	if _, err := a.in.Client.PutIntegrationResponse(ctx, in); err != nil {
		a.t.Fatalf("PutIntegrationResponse %s %s %s: %v", httpMethod, path, status, err)
	}
}

// mock makes path/httpMethod a MOCK answering 200 with body.
func (a *dpAPI) mock(path, httpMethod, body string) {
	a.t.Helper()
	a.method(path, httpMethod, false)
	a.integration(path, httpMethod, &apigateway.PutIntegrationInput{
		Type:             types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
	})
	a.response(path, httpMethod, "200", "", nil, map[string]string{"application/json": body})
}

// proxy makes path/httpMethod an HTTP_PROXY (method ANY) to uri.
func (a *dpAPI) proxy(path, httpMethod, uri string, mappings map[string]string, methodParams ...string) {
	a.t.Helper()
	a.method(path, httpMethod, false, methodParams...)
	a.integration(path, httpMethod, &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("ANY"),
		Uri: aws.String(uri), RequestParameters: mappings,
	})
}

// deploy creates a deployment on stage (creating the stage) and waits until
// the data plane serves it.
func (a *dpAPI) deploy(stage string, vars map[string]string) string {
	a.t.Helper()
	out, err := a.in.Client.CreateDeployment(a.t.Context(), &apigateway.CreateDeploymentInput{
		RestApiId: aws.String(a.id), StageName: aws.String(stage), Variables: vars,
	})
	if err != nil {
		a.t.Fatalf("CreateDeployment %s: %v", stage, err)
	}
	a.in.WaitServing(a.t, a.id, stage, aws.ToString(out.Id))
	return aws.ToString(out.Id)
}

func (a *dpAPI) url(stage, path string) string { return a.in.InvokeURL(a.id, stage, path) }

// ---- calling -------------------------------------------------------------

type dpAnswer struct {
	status int
	header http.Header
	body   string
}

// dpCall sends one request and checks the headers every answer carries.
func dpCall(t *testing.T, req *http.Request) dpAnswer {
	t.Helper()
	resp, err := dpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	dpCheckIDs(t, resp.Header)
	return dpAnswer{resp.StatusCode, resp.Header, string(b)}
}

func dpCheckIDs(t *testing.T, h http.Header) {
	t.Helper()
	if id := h.Get("x-amzn-RequestId"); !dpUUID.MatchString(id) {
		t.Errorf("x-amzn-RequestId = %q, want a UUID", id)
	}
	if id := h.Get("x-amz-apigw-id"); !dpApigwID.MatchString(id) {
		t.Errorf("x-amz-apigw-id = %q, want 15 base64 characters and '='", id)
	}
	if id := h.Get("X-Amzn-Trace-Id"); !strings.HasPrefix(id, "Root=1-") {
		t.Errorf("X-Amzn-Trace-Id = %q, want Root=1-...", id)
	}
}

func dpRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func dpGet(t *testing.T, url string) dpAnswer {
	t.Helper()
	return dpCall(t, dpRequest(t, http.MethodGet, url, nil))
}

// dpWantError checks a gateway error answer.
func dpWantError(t *testing.T, got dpAnswer, status int, errorType, message string) {
	t.Helper()
	if got.status != status {
		t.Errorf("status = %d, want %d (body %s)", got.status, status, got.body)
	}
	if want := `{"message":` + strconv.Quote(message) + `}`; got.body != want {
		t.Errorf("body = %s, want %s", got.body, want)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if errorType != "" {
		if et := got.header.Get("x-amzn-ErrorType"); et != errorType {
			t.Errorf("x-amzn-ErrorType = %q, want %q", et, errorType)
		}
	}
}

// dpEventually polls f until it returns true or the deadline passes.
func dpEventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(dpWait)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, dpWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- backends ------------------------------------------------------------

// received is what a backend saw of one request.
type dpReceived struct {
	Method     string
	RequestURI string // as on the wire: path still encoded, and query
	Host       string
	Header     http.Header
	Body       string
}

type dpBackend struct {
	*httptest.Server
	name string
	mu   sync.Mutex
	reqs []dpReceived
}

// newDPBackend starts a backend that records every request and answers with
// handle, or, when handle is nil, with 200 "{name} {request URI}".
func newDPBackend(t *testing.T, name string, handle http.HandlerFunc) *dpBackend {
	t.Helper()
	b := &dpBackend{name: name}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := dpReceived{Method: r.Method, RequestURI: r.RequestURI, Host: r.Host, Header: r.Header.Clone()}
		if handle == nil {
			body, _ := io.ReadAll(r.Body)
			rec.Body = string(body)
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, rec)
		b.mu.Unlock()
		if handle != nil {
			handle(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, name+" "+r.RequestURI)
	}))
	t.Cleanup(b.Close)
	return b
}

// hostPort is the backend's address, e.g. 127.0.0.1:41234.
func (b *dpBackend) hostPort() string { return strings.TrimPrefix(b.URL, "http://") }

func (b *dpBackend) last(t *testing.T) dpReceived {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		t.Fatalf("backend %s received nothing", b.name)
	}
	return b.reqs[len(b.reqs)-1]
}

func (b *dpBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

// ---- tests ---------------------------------------------------------------

// The three ways in (custom domains aside) reach the same stage with the same
// resource path.
func TestDataPlaneWaysIn(t *testing.T) {
	in := apigwtest.Start(t)
	a := newDPAPI(t, in, "ways-in")
	a.mock("/hello", "GET", `{"route":"hello"}`)
	a.mock("/", "GET", `{"route":"root"}`)
	a.deploy("dev", nil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(in.DataURL, "http://"))

	pathStyle := func(path string) *http.Request { return dpRequest(t, "GET", a.url("dev", path), nil) }
	hostBased := func(host string) func(string) *http.Request {
		return func(path string) *http.Request {
			req := dpRequest(t, "GET", in.DataURL+"/dev"+path, nil)
			req.Host = host
			return req
		}
	}
	ways := []struct {
		name string
		req  func(path string) *http.Request
	}{
		{"path-style", pathStyle},
		{"host-based localhost", hostBased(a.id + ".execute-api.localhost:" + port)},
		{"host-based AWS domain", hostBased(a.id + ".execute-api.us-east-1.amazonaws.com")},
		{"host-based upper case", hostBased(strings.ToUpper(a.id) + ".Execute-API.LocalHost:" + port)},
	}
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/hello", 200, `{"route":"hello"}`},
		{"/hello/", 200, `{"route":"hello"}`},
		{"/", 200, `{"route":"root"}`},
		{"/nope", 403, `{"message":"Missing Authentication Token"}`},
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			var first *dpAnswer
			for _, w := range ways {
				got := dpCall(t, w.req(c.path))
				if got.status != c.status || got.body != c.body {
					t.Errorf("%s: got %d %s, want %d %s", w.name, got.status, got.body, c.status, c.body)
				}
				if first == nil {
					first = &got
				} else if got.status != first.status || got.body != first.body || got.header.Get("Content-Type") != first.header.Get("Content-Type") {
					t.Errorf("%s answers %d %q %s, path-style %d %q %s", w.name,
						got.status, got.header.Get("Content-Type"), got.body, first.status, first.header.Get("Content-Type"), first.body)
				}
			}
		})
	}

	t.Run("host-based unknown stage", func(t *testing.T) {
		req := hostBased(a.id + ".execute-api.localhost:" + port)("/hello")
		req.URL.Path = "/prod/hello"
		dpWantError(t, dpCall(t, req), 403, "ForbiddenException", "Forbidden")
	})
}

// AWS routing precedence on one API: literal > {param} > {proxy+}, method >
// ANY, fallback to a less specific resource that has the method.
func TestDataPlaneRouting(t *testing.T) {
	in := apigwtest.Start(t)
	a := newDPAPI(t, in, "routing")
	routes := []struct{ path, method string }{
		{"/", "GET"},
		{"/items", "GET"},
		{"/items", "POST"},
		{"/items/{id}", "GET"},
		{"/items/{id}", "ANY"},
		{"/items/{id}/parts", "GET"},
		{"/items/special", "POST"},
		{"/{proxy+}", "ANY"},
		{"/files/{path+}", "GET"},
	}
	for _, r := range routes {
		a.mock(r.path, r.method, r.method+" "+r.path)
	}
	a.deploy("test", nil)

	const mat = "MAT" // 403 Missing Authentication Token
	cases := []struct {
		method, path, want string
	}{
		{"GET", "/", "GET /"},
		{"POST", "/", mat}, // {proxy+} never serves the root
		{"DELETE", "/", mat},
		{"GET", "/items", "GET /items"},
		{"GET", "/items/", "GET /items"},
		{"GET", "//items", "GET /items"},
		{"POST", "/items", "POST /items"},
		{"DELETE", "/items", "ANY /{proxy+}"}, // /items lacks DELETE: falls back
		{"GET", "/items/42", "GET /items/{id}"},
		{"GET", "/items/42/", "GET /items/{id}"},
		{"PUT", "/items/42", "ANY /items/{id}"},
		{"DELETE", "/items/42", "ANY /items/{id}"},
		{"POST", "/items/special", "POST /items/special"},
		{"GET", "/items/special", "GET /items/{id}"}, // literal lacks GET: {id} has it
		{"PATCH", "/items/special", "ANY /items/{id}"},
		{"GET", "/items/42/parts", "GET /items/{id}/parts"},
		{"GET", "/items/special/parts", "GET /items/{id}/parts"},
		{"POST", "/items/42/parts", "ANY /{proxy+}"},
		{"GET", "/items/42/parts/7", "ANY /{proxy+}"},
		{"GET", "/files/a.txt", "GET /files/{path+}"},
		{"GET", "/files/a/b/c.txt", "GET /files/{path+}"},
		{"POST", "/files/a/b", "ANY /{proxy+}"},
		{"GET", "/files", "ANY /{proxy+}"}, // /files has no method
		{"GET", "/Items", "ANY /{proxy+}"}, // case sensitive
		{"GET", "/anything/else/here", "ANY /{proxy+}"},
		{"OPTIONS", "/other", "ANY /{proxy+}"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			got := dpCall(t, dpRequest(t, c.method, a.url("test", c.path), nil))
			if c.want == mat {
				dpWantError(t, got, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
				return
			}
			if got.status != 200 || got.body != c.want {
				t.Errorf("got %d %q, want 200 %q", got.status, got.body, c.want)
			}
		})
	}
}

// Path parameters, greedy paths, query strings and headers reach an
// HTTP_PROXY backend, with request parameter mappings.
func TestDataPlaneProxyParameters(t *testing.T) {
	in := apigwtest.Start(t)
	be := newDPBackend(t, "be", nil)
	a := newDPAPI(t, in, "params")
	base := "http://" + be.hostPort()
	a.proxy("/items/{id}", "GET", base+"/items/{id}",
		map[string]string{"integration.request.path.id": "method.request.path.id"}, "method.request.path.id")
	a.proxy("/{proxy+}", "ANY", base+"/{proxy}",
		map[string]string{"integration.request.path.proxy": "method.request.path.proxy"}, "method.request.path.proxy")
	a.proxy("/mapped", "GET", base+"/mapped", map[string]string{
		"integration.request.header.x-stage":    "stageVariables.name",
		"integration.request.querystring.q":     "method.request.header.x-q",
		"integration.request.header.x-literal":  "'literal'",
		"integration.request.querystring.stage": "context.stage",
	}, "method.request.header.x-q")
	a.deploy("v1", map[string]string{"name": "blue"})

	cases := []struct {
		name     string
		method   string
		path     string // below the stage, with query
		header   map[string]string
		body     string
		wantURI  string // path the backend saw (query compared separately)
		wantQ    url.Values
		wantHead map[string]string // headers the backend must see
	}{
		{name: "param", method: "GET", path: "/items/42", wantURI: "/items/42"},
		{name: "param encoded", method: "GET", path: "/items/a%20b", wantURI: "/items/a%20b"},
		{name: "param query", method: "GET", path: "/items/42?x=1&x=2&y=a%20b", wantURI: "/items/42",
			wantQ: url.Values{"x": {"1", "2"}, "y": {"a b"}}},
		{name: "greedy one", method: "GET", path: "/hello", wantURI: "/hello"},
		{name: "greedy multi", method: "DELETE", path: "/a/b/c.txt", wantURI: "/a/b/c.txt"},
		{name: "greedy space", method: "GET", path: "/a%20b/c", wantURI: "/a%20b/c"},
		{name: "greedy encoded slash", method: "GET", path: "/a%2Fb/c", wantURI: "/a%2Fb/c"},
		{name: "greedy trailing slash", method: "GET", path: "/a/b/", wantURI: "/a/b"},
		{name: "greedy post body", method: "POST", path: "/orders?dry=true", body: `{"n":1}`, wantURI: "/orders",
			header: map[string]string{"Content-Type": "application/json"}, wantQ: url.Values{"dry": {"true"}},
			wantHead: map[string]string{"Content-Type": "application/json"}},
		{name: "headers pass", method: "GET", path: "/h", header: map[string]string{"X-Custom": "v1", "User-Agent": "my-agent/1.0", "Authorization": "Bearer abc"},
			wantURI:  "/h",
			wantHead: map[string]string{"X-Custom": "v1", "User-Agent": "my-agent/1.0", "Authorization": "Bearer abc"}},
		{name: "mapped", method: "GET", path: "/mapped?keep=1", header: map[string]string{"x-q": "from-header", "X-Other": "o"},
			wantURI: "/mapped", wantQ: url.Values{"keep": {"1"}, "q": {"from-header"}, "stage": {"v1"}},
			wantHead: map[string]string{"X-Stage": "blue", "X-Literal": "literal", "X-Other": "o", "X-Q": "from-header"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req := dpRequest(t, c.method, a.url("v1", c.path), body)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			n := be.count()
			got := dpCall(t, req)
			if got.status != 200 {
				t.Fatalf("status %d, body %s", got.status, got.body)
			}
			if be.count() != n+1 {
				t.Fatalf("backend got %d requests, want 1", be.count()-n)
			}
			rec := be.last(t)
			path, rawQuery, _ := strings.Cut(rec.RequestURI, "?")
			if path != c.wantURI {
				t.Errorf("backend path = %q, want %q", path, c.wantURI)
			}
			if want := "be " + rec.RequestURI; got.body != want {
				t.Errorf("client body = %q, want %q", got.body, want)
			}
			q, err := url.ParseQuery(rawQuery)
			if err != nil {
				t.Fatalf("backend query %q: %v", rawQuery, err)
			}
			if c.wantQ == nil {
				c.wantQ = url.Values{}
			}
			if fmt.Sprint(q) != fmt.Sprint(c.wantQ) {
				t.Errorf("backend query = %v, want %v", q, c.wantQ)
			}
			if rec.Method != c.method {
				t.Errorf("backend method = %s, want %s", rec.Method, c.method)
			}
			if rec.Body != c.body {
				t.Errorf("backend body = %q, want %q", rec.Body, c.body)
			}
			if rec.Host != be.hostPort() {
				t.Errorf("backend Host = %q, want %q", rec.Host, be.hostPort())
			}
			for k, v := range c.wantHead {
				if g := rec.Header.Get(k); g != v {
					t.Errorf("backend header %s = %q, want %q", k, g, v)
				}
			}
			if g := rec.Header.Get("X-Amzn-Apigateway-Api-Id"); g != a.id {
				t.Errorf("backend x-amzn-apigateway-api-id = %q, want %q", g, a.id)
			}
		})
	}
}

// Stage variables choose the backend: two stages of one deployment reach
// different backends, and UpdateStage takes effect without a redeployment.
func TestDataPlaneStageVariables(t *testing.T) {
	in := apigwtest.Start(t)
	be1 := newDPBackend(t, "one", nil)
	be2 := newDPBackend(t, "two", nil)
	a := newDPAPI(t, in, "stagevars")
	a.proxy("/x", "GET", "http://${stageVariables.host}/x", nil)
	a.proxy("/{proxy+}", "ANY", "http://${stageVariables.host}/base/{proxy}",
		map[string]string{"integration.request.path.proxy": "method.request.path.proxy"}, "method.request.path.proxy")
	dep := a.deploy("a", map[string]string{"host": be1.hostPort()})
	ctx := t.Context()
	if _, err := in.Client.CreateStage(ctx, &apigateway.CreateStageInput{
		RestApiId: aws.String(a.id), StageName: aws.String("b"), DeploymentId: aws.String(dep),
		Variables: map[string]string{"host": be2.hostPort()},
	}); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	in.WaitServing(t, a.id, "b", dep)

	cases := []struct{ stage, path, want string }{
		{"a", "/x", "one /x"},
		{"b", "/x", "two /x"},
		{"a", "/deep/er", "one /base/deep/er"},
		{"b", "/deep/er", "two /base/deep/er"},
	}
	for _, c := range cases {
		t.Run(c.stage+c.path, func(t *testing.T) {
			got := dpGet(t, a.url(c.stage, c.path))
			if got.status != 200 || got.body != c.want {
				t.Errorf("got %d %q, want 200 %q", got.status, got.body, c.want)
			}
		})
	}

	t.Run("UpdateStage", func(t *testing.T) {
		if _, err := in.Client.UpdateStage(ctx, &apigateway.UpdateStageInput{
			RestApiId: aws.String(a.id), StageName: aws.String("b"),
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/variables/host"), Value: aws.String(be1.hostPort())}},
		}); err != nil {
			t.Fatalf("UpdateStage: %v", err)
		}
		dpEventually(t, "stage b reaches backend one", func() bool {
			got := dpGet(t, a.url("b", "/x"))
			if got.status != 200 {
				t.Fatalf("got %d %s", got.status, got.body)
			}
			return got.body == "one /x"
		})
		if st := in.Server.Gateway.Stage(a.id, "b"); st == nil || st.Deployment.ID != dep {
			t.Errorf("stage b is no longer on deployment %s", dep)
		}
		if got := dpGet(t, a.url("a", "/x")); got.body != "one /x" {
			t.Errorf("stage a: %q", got.body)
		}
	})
}

// MOCK integrations: the request template's statusCode selects the
// integration response.
func TestDataPlaneMock(t *testing.T) {
	in := apigwtest.Start(t)
	a := newDPAPI(t, in, "mock")
	a.mock("/ok", "GET", `{"ok":true}`)

	a.method("/notfound", "GET", false)
	a.integration("/notfound", "GET", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 404}`},
	})
	a.response("/notfound", "GET", "200", "", nil, map[string]string{"application/json": `{"default":true}`})
	a.response("/notfound", "GET", "404", "404", map[string]string{"method.response.header.X-Why": "'missing'"},
		map[string]string{"application/json": `{"found":false}`})

	a.method("/notemplate", "GET", false)
	a.integration("/notemplate", "GET", &apigateway.PutIntegrationInput{Type: types.IntegrationTypeMock})
	a.response("/notemplate", "GET", "200", "", nil, map[string]string{"application/json": `{"never":true}`})

	a.method("/nomatch", "GET", false)
	a.integration("/nomatch", "GET", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 500}`},
	})
	a.response("/nomatch", "GET", "200", "2\\d{2}", nil, map[string]string{"application/json": `{"never":true}`})
	a.deploy("m", nil)

	cases := []struct {
		path   string
		status int
		body   string
		header map[string]string
	}{
		{"/ok", 200, `{"ok":true}`, map[string]string{"Content-Type": "application/json"}},
		{"/notfound", 404, `{"found":false}`, map[string]string{"Content-Type": "application/json", "X-Why": "missing"}},
		{"/notemplate", 500, `{"message":"Internal server error"}`, map[string]string{"x-amzn-ErrorType": "InternalServerErrorException"}},
		{"/nomatch", 500, `{"message":"Internal server error"}`, map[string]string{"x-amzn-ErrorType": "InternalServerErrorException"}},
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			got := dpGet(t, a.url("m", c.path))
			if got.status != c.status || got.body != c.body {
				t.Errorf("got %d %s, want %d %s", got.status, got.body, c.status, c.body)
			}
			for k, v := range c.header {
				if g := got.header.Get(k); g != v {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

// HTTP (non-proxy): the backend body passes through, the status comes from
// the selected integration response, only mapped headers reach the client.
func TestDataPlaneHTTPIntegration(t *testing.T) {
	in := apigwtest.Start(t)
	be := newDPBackend(t, "be", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		if code == 0 {
			code = 200
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Backend", "b-"+strconv.Itoa(code))
		w.Header().Set("X-Secret", "s3cr3t")
		w.WriteHeader(code)
		io.WriteString(w, "backend body "+strconv.Itoa(code))
	})
	a := newDPAPI(t, in, "http")
	a.method("/echo", "GET", false, "method.request.querystring.code")
	a.integration("/echo", "GET", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeHttp, IntegrationHttpMethod: aws.String("GET"),
		Uri:               aws.String(be.URL + "/echo"),
		RequestParameters: map[string]string{"integration.request.querystring.code": "method.request.querystring.code"},
	})
	a.response("/echo", "GET", "200", "", map[string]string{"method.response.header.X-Out": "integration.response.header.X-Backend"}, nil)
	a.response("/echo", "GET", "400", `4\d{2}`, nil, nil)
	a.response("/echo", "GET", "502", `5\d{2}`, map[string]string{"method.response.header.X-Out": "'static'"}, nil)
	a.deploy("h", nil)

	cases := []struct {
		code       string
		wantStatus int
		wantOut    string
	}{
		{"200", 200, "b-200"},
		{"201", 200, "b-201"}, // no pattern matches: the default response
		{"404", 400, ""},
		{"418", 400, ""},
		{"503", 502, "static"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			req := dpRequest(t, "GET", a.url("h", "/echo?code="+c.code+"&other=x"), nil)
			req.Header.Set("X-Client-Only", "c")
			req.Header.Set("Accept", "*/*")
			got := dpCall(t, req)
			if got.status != c.wantStatus {
				t.Errorf("status = %d, want %d", got.status, c.wantStatus)
			}
			if want := "backend body " + c.code; got.body != want {
				t.Errorf("body = %q, want %q", got.body, want)
			}
			if g := got.header.Get("X-Out"); g != c.wantOut {
				t.Errorf("X-Out = %q, want %q", g, c.wantOut)
			}
			for _, h := range []string{"X-Backend", "X-Secret"} {
				if g := got.header.Get(h); g != "" {
					t.Errorf("backend header %s reached the client: %q", h, g)
				}
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			rec := be.last(t)
			if rec.RequestURI != "/echo?code="+c.code {
				t.Errorf("backend request URI = %q, want /echo?code=%s (only mapped parameters)", rec.RequestURI, c.code)
			}
			if g := rec.Header.Get("X-Client-Only"); g != "" {
				t.Errorf("client header reached the backend of a non-proxy integration: %q", g)
			}
			if g := rec.Header.Get("User-Agent"); g != "AmazonAPIGateway_"+a.id {
				t.Errorf("backend User-Agent = %q", g)
			}
			if g := rec.Header.Get("Accept"); g != "application/json" {
				t.Errorf("backend Accept = %q, want application/json", g)
			}
		})
	}
}

// Timeouts and unreachable backends.
func TestDataPlaneBackendFailures(t *testing.T) {
	in := apigwtest.Start(t)
	release := make(chan struct{})
	slow := newDPBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before slow.Close

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	stalls := newDPBackend(t, "stalls", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "the first part")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})

	broken := newDPBackend(t, "broken", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(503)
		io.WriteString(w, "down for maintenance")
	})

	a := newDPAPI(t, in, "failures")
	a.proxy("/broken", "GET", broken.URL+"/", nil)
	for _, c := range []struct {
		path, typ, uri string
		timeout        int32
	}{
		{"/slow", "HTTP_PROXY", slow.URL + "/", 200},
		{"/slowhttp", "HTTP", slow.URL + "/", 200},
		{"/stalls", "HTTP_PROXY", stalls.URL + "/", 300},
		{"/refused", "HTTP_PROXY", "http://" + refused + "/", 0},
		{"/refusedhttp", "HTTP", "http://" + refused + "/", 0},
	} {
		a.method(c.path, "GET", false)
		in := &apigateway.PutIntegrationInput{Type: types.IntegrationType(c.typ), IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(c.uri)}
		if c.timeout > 0 {
			in.TimeoutInMillis = aws.Int32(c.timeout)
		}
		a.integration(c.path, "GET", in)
		if c.typ == "HTTP" {
			a.response(c.path, "GET", "200", "", nil, nil)
		}
	}
	a.deploy("f", nil)

	t.Run("timeout", func(t *testing.T) {
		for _, p := range []string{"/slow", "/slowhttp"} {
			got := dpGet(t, a.url("f", p))
			dpWantError(t, got, 504, "", "Endpoint request timed out")
		}
	})
	// The timeout bounds the whole answer: a body that stops coming is cut
	// off, not waited for.
	t.Run("timeout during the body", func(t *testing.T) {
		// The client's connection is reset: before the status if the
		// gateway had not sent it yet, else during the body. Either way the
		// client sees an error, never a complete-looking answer.
		start := time.Now()
		resp, err := dpClient.Get(a.url("f", "/stalls"))
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil {
				t.Errorf("got %d %q with no error; want the answer cut off", resp.StatusCode, body)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the stalled body was cut after %v", d)
		}
	})
	t.Run("backend error passes through a proxy", func(t *testing.T) {
		got := dpGet(t, a.url("f", "/broken"))
		if got.status != 503 || got.body != "down for maintenance" || got.header.Get("Retry-After") != "7" {
			t.Errorf("got %d %q Retry-After %q, want the backend's 503", got.status, got.body, got.header.Get("Retry-After"))
		}
		if et := got.header.Get("x-amzn-ErrorType"); et != "" {
			t.Errorf("a backend's answer is not a gateway error, yet x-amzn-ErrorType = %q", et)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, p := range []string{"/refused", "/refusedhttp"} {
			got := dpGet(t, a.url("f", p))
			if got.status < 500 || got.status > 599 {
				t.Errorf("%s: status %d, want 5xx", p, got.status)
			}
			if got.body != `{"message":"Internal server error"}` {
				t.Errorf("%s: body %s", p, got.body)
			}
		}
	})
}

// Gateway errors, and the headers every answer carries.
func TestDataPlaneErrors(t *testing.T) {
	in := apigwtest.Start(t)
	a := newDPAPI(t, in, "errors")
	a.mock("/open", "GET", `{"open":true}`)
	a.method("/keyed", "GET", true)
	a.integration("/keyed", "GET", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
	})
	a.response("/keyed", "GET", "200", "", nil, map[string]string{"application/json": `{"keyed":true}`})
	a.deploy("prod", nil)

	const (
		mat       = "MissingAuthenticationTokenException"
		matMsg    = "Missing Authentication Token"
		forbidden = "ForbiddenException"
	)
	cases := []struct {
		name, method, url string
		status            int
		errType, message  string
	}{
		{"unknown route", "GET", a.url("prod", "/missing"), 403, mat, matMsg},
		{"unknown method", "POST", a.url("prod", "/open"), 403, mat, matMsg},
		{"root without method", "GET", a.url("prod", "/"), 403, mat, matMsg},
		{"unknown stage", "GET", a.url("nostage", "/open"), 403, forbidden, "Forbidden"},
		{"unknown api", "GET", in.InvokeURL("abcdefghij", "prod", "/open"), 403, forbidden, "Forbidden"},
		{"no stage", "GET", in.DataURL + "/_aws/execute-api/" + a.id, 403, forbidden, "Forbidden"},
		{"bare root", "GET", in.DataURL + "/", 403, forbidden, "Forbidden"},
		{"api key required", "GET", a.url("prod", "/keyed"), 403, forbidden, "Forbidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := dpCall(t, dpRequest(t, c.method, c.url, nil))
			dpWantError(t, got, c.status, c.errType, c.message)
		})
	}

	t.Run("ids", func(t *testing.T) {
		be := newDPBackend(t, "ids", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("x-amzn-RequestId", "backend-id")
			io.WriteString(w, "ok")
		})
		b := newDPAPI(t, in, "ids")
		b.proxy("/p", "GET", be.URL+"/", nil)
		b.mock("/m", "GET", "m")
		b.deploy("s", nil)
		seen := map[string]bool{}
		for _, u := range []string{b.url("s", "/p"), b.url("s", "/m"), b.url("s", "/nope"), b.url("x", "/m"), b.url("s", "/p")} {
			got := dpGet(t, u) // call checks the shape of both ids
			id := got.header.Get("x-amzn-RequestId")
			if seen[id] {
				t.Errorf("request id %s given twice", id)
			}
			seen[id] = true
			if strings.HasSuffix(u, "/p") {
				if g := got.header.Get("x-amzn-Remapped-x-amzn-RequestId"); g != "backend-id" {
					t.Errorf("backend request id remapped as %q, want backend-id", g)
				}
			}
		}
	})
}

// Hop-by-hop headers are dropped both ways; X-Forwarded-For is set.
func TestDataPlaneHopByHop(t *testing.T) {
	in := apigwtest.Start(t)
	be := newDPBackend(t, "hop", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Connection", "X-Resp-Hop")
		h.Set("X-Resp-Hop", "1")
		h.Set("Keep-Alive", "timeout=9")
		h.Set("Upgrade", "bar/1")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("X-End-To-End", "kept")
		io.WriteString(w, "ok")
	})
	a := newDPAPI(t, in, "hop")
	a.proxy("/h", "GET", be.URL+"/h", nil)
	a.deploy("s", nil)

	cases := []struct {
		name    string
		xff     string
		wantXFF string
	}{
		{"no prior X-Forwarded-For", "", "127.0.0.1"},
		{"prior X-Forwarded-For", "10.0.0.1", "10.0.0.1, 127.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := dpRequest(t, "GET", a.url("s", "/h"), nil)
			req.Header.Set("Connection", "keep-alive, X-Hop")
			req.Header.Set("X-Hop", "1")
			req.Header.Set("Keep-Alive", "timeout=5")
			req.Header.Set("TE", "trailers")
			req.Header.Set("Upgrade", "foo/2")
			req.Header.Set("Proxy-Authorization", "Basic eDp5")
			req.Header.Set("X-End-To-End", "kept")
			if c.xff != "" {
				req.Header.Set("X-Forwarded-For", c.xff)
			}
			got := dpCall(t, req)
			if got.status != 200 || got.body != "ok" {
				t.Fatalf("got %d %q", got.status, got.body)
			}
			rec := be.last(t)
			for _, h := range []string{"Connection", "X-Hop", "Keep-Alive", "Te", "Upgrade", "Proxy-Authorization"} {
				if v, ok := rec.Header[h]; ok {
					t.Errorf("backend received hop-by-hop header %s: %q", h, v)
				}
			}
			if g := rec.Header.Get("X-End-To-End"); g != "kept" {
				t.Errorf("backend X-End-To-End = %q, want kept", g)
			}
			if g := rec.Header.Get("X-Forwarded-For"); g != c.wantXFF {
				t.Errorf("backend X-Forwarded-For = %q, want %q", g, c.wantXFF)
			}
			for _, h := range []string{"X-Resp-Hop", "Keep-Alive", "Upgrade", "Proxy-Authenticate"} {
				if v, ok := got.header[h]; ok {
					t.Errorf("client received hop-by-hop header %s: %q", h, v)
				}
			}
			if v := got.header.Get("Connection"); strings.Contains(strings.ToLower(v), "x-resp-hop") {
				t.Errorf("client received the backend's Connection header %q", v)
			}
			if g := got.header.Get("X-End-To-End"); g != "kept" {
				t.Errorf("client X-End-To-End = %q, want kept", g)
			}
		})
	}
}

// Bodies stream both ways: nothing waits for a whole body.
func TestDataPlaneStreaming(t *testing.T) {
	in := apigwtest.Start(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	down := newDPBackend(t, "down", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "second\n")
	})
	t.Cleanup(releaseAll) // before down.Close

	gotFirst := make(chan string, 1)
	up := newDPBackend(t, "up", func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64)
		n, err := r.Body.Read(buf)
		if n == 0 && err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		gotFirst <- string(buf[:n])
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "got "+string(buf[:n])+string(rest))
	})

	a := newDPAPI(t, in, "stream")
	a.proxy("/down", "GET", down.URL+"/down", nil)
	a.proxy("/up", "POST", up.URL+"/up", nil)
	a.deploy("s", nil)

	t.Run("response", func(t *testing.T) {
		resp, err := dpClient.Do(dpRequest(t, "GET", a.url("s", "/down"), nil))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		dpCheckIDs(t, resp.Header)
		br := bufio.NewReader(resp.Body)
		line := make(chan string, 1)
		go func() {
			s, _ := br.ReadString('\n')
			line <- s
		}()
		select {
		case s := <-line:
			if s != "first\n" {
				t.Fatalf("first chunk = %q", s)
			}
		case <-time.After(dpWait):
			releaseAll()
			t.Fatal("first chunk did not arrive before the backend finished: the response is buffered")
		}
		releaseAll()
		rest, err := io.ReadAll(br)
		if err != nil || string(rest) != "second\n" {
			t.Errorf("rest = %q, %v", rest, err)
		}
	})

	t.Run("request", func(t *testing.T) {
		pr, pw := io.Pipe()
		req := dpRequest(t, "POST", a.url("s", "/up"), pr)
		req.ContentLength = -1
		type result struct {
			a   dpAnswer
			err error
		}
		done := make(chan result, 1)
		go func() {
			resp, err := dpClient.Do(req)
			if err != nil {
				done <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			done <- result{dpAnswer{resp.StatusCode, resp.Header, string(b)}, err}
		}()
		if _, err := pw.Write([]byte("part1")); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-gotFirst:
			if s != "part1" {
				t.Errorf("backend's first read = %q, want part1", s)
			}
		case r := <-done:
			t.Fatalf("answered before the body was finished: %+v", r)
		case <-time.After(dpWait):
			pw.CloseWithError(fmt.Errorf("test gave up"))
			t.Fatal("the backend saw nothing before the client finished the body: the request is buffered")
		}
		pw.Write([]byte("part2"))
		pw.Close()
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatal(r.err)
			}
			dpCheckIDs(t, r.a.header)
			if r.a.status != 200 || r.a.body != "got part1part2" {
				t.Errorf("got %d %q", r.a.status, r.a.body)
			}
		case <-time.After(dpWait):
			t.Fatal("no answer")
		}
	})
}

// Requests over 10 MiB are refused with 413.
func TestDataPlaneRequestTooLarge(t *testing.T) {
	in := apigwtest.Start(t)
	be := newDPBackend(t, "big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
	a := newDPAPI(t, in, "big")
	a.proxy("/p", "POST", be.URL+"/p", nil)
	a.mock("/m", "POST", "m")
	a.deploy("s", nil)
	const limit = 10 << 20
	addr := strings.TrimPrefix(in.DataURL, "http://")

	// raw sends a request by hand, so that a declared length need not be
	// followed by the bytes, and reads the answer.
	raw := func(t *testing.T, path string, header string, body func(io.Writer)) dpAnswer {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(dpWait))
		u, _ := url.Parse(a.url("s", path))
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", u.RequestURI(), addr, header)
		if body != nil {
			go body(conn) // write errors are expected once the gateway answers
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("read answer: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		dpCheckIDs(t, resp.Header)
		return dpAnswer{resp.StatusCode, resp.Header, string(b)}
	}
	chunked := func(n int) func(io.Writer) {
		return func(w io.Writer) {
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			bw := bufio.NewWriter(w)
			for sent := 0; sent < n; sent += len(chunk) {
				c := chunk[:min(len(chunk), n-sent)]
				fmt.Fprintf(bw, "%x\r\n", len(c))
				bw.Write(c)
				if _, err := bw.WriteString("\r\n"); err != nil {
					return
				}
			}
			bw.WriteString("0\r\n\r\n")
			bw.Flush()
		}
	}

	cases := []struct {
		name   string
		path   string
		header string
		body   func(io.Writer)
		status int
		want   string
	}{
		{"declared too long, proxy", "/p", fmt.Sprintf("Content-Length: %d\r\n", limit+1), nil, 413, ""},
		{"declared too long, mock", "/m", fmt.Sprintf("Content-Length: %d\r\n", limit+1), nil, 413, ""},
		{"chunked too long, proxy", "/p", "Transfer-Encoding: chunked\r\n", chunked(limit + 1), 413, ""},
		{"chunked at the limit, proxy", "/p", "Transfer-Encoding: chunked\r\n", chunked(limit), 200, strconv.Itoa(limit)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := raw(t, c.path, c.header, c.body)
			if c.status == 413 {
				dpWantError(t, got, 413, "", "Request Too Long")
				return
			}
			if got.status != c.status || got.body != c.want {
				t.Errorf("got %d %q, want %d %q", got.status, got.body, c.status, c.want)
			}
		})
	}
}

// A stage moved to another deployment under load: every request gets the
// old or the new answer, never an error, and the new answer arrives.
func TestDataPlaneDeploymentUnderLoad(t *testing.T) {
	in := apigwtest.Start(t)
	oldBE := newDPBackend(t, "old", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "http-old") })
	newBE := newDPBackend(t, "new", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "http-new") })
	a := newDPAPI(t, in, "load")
	a.mock("/mock", "GET", "mock-old")
	a.proxy("/http", "GET", oldBE.URL+"/", nil)
	dep1 := a.deploy("live", nil)

	// The next deployment answers differently on both routes.
	a.response("/mock", "GET", "200", "", nil, map[string]string{"application/json": "mock-new"})
	a.integration("/http", "GET", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("ANY"), Uri: aws.String(newBE.URL + "/"),
	})

	const workers = 4
	paths := []string{"/mock", "/http"}
	phases := map[string][]string{ // the order in which answers may be seen
		"/mock": {"mock-old", "mock-new", "mock-old"},
		"/http": {"http-old", "http-new", "http-old"},
	}
	var (
		stop     atomic.Bool
		failures atomic.Int64
		requests atomic.Int64
		sawNew   atomic.Int64
		sawBack  atomic.Int64 // old again after the rollback
		errMu    sync.Mutex
		errs     []string
		wg       sync.WaitGroup
	)
	fail := func(s string) {
		failures.Add(1)
		errMu.Lock()
		if len(errs) < 10 {
			errs = append(errs, s)
		}
		errMu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := paths[w%len(paths)]
			phase := 0 // index into phases[path] of the last answer seen
			for !stop.Load() {
				req, _ := http.NewRequestWithContext(ctx, "GET", a.url("live", path), nil)
				resp, err := dpClient.Do(req)
				if err != nil {
					fail(err.Error())
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				requests.Add(1)
				body := string(b)
				if err != nil || resp.StatusCode != 200 {
					fail(fmt.Sprintf("%s: %d %q %v", path, resp.StatusCode, body, err))
					continue
				}
				if !dpUUID.MatchString(resp.Header.Get("x-amzn-RequestId")) {
					fail(path + ": no request id")
				}
				seq := phases[path]
				switch {
				case body == seq[phase]:
				case phase+1 < len(seq) && body == seq[phase+1]:
					phase++
					if phase == 1 {
						sawNew.Add(1)
					} else {
						sawBack.Add(1)
					}
				default:
					fail(fmt.Sprintf("%s: %q after %q (phase %d)", path, body, seq[phase], phase))
				}
			}
		}()
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()

	// Let the load start on the old deployment.
	dpEventually(t, "load running", func() bool { return requests.Load() >= workers*5 })

	out, err := in.Client.CreateDeployment(t.Context(), &apigateway.CreateDeploymentInput{
		RestApiId: aws.String(a.id), StageName: aws.String("live"),
	})
	if err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	dep2 := aws.ToString(out.Id)
	dpEventually(t, "every worker sees the new deployment", func() bool { return sawNew.Load() == workers || failures.Load() > 0 })
	in.WaitServing(t, a.id, "live", dep2)

	// Roll back with UpdateStage.
	if _, err := in.Client.UpdateStage(t.Context(), &apigateway.UpdateStageInput{
		RestApiId: aws.String(a.id), StageName: aws.String("live"),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/deploymentId"), Value: aws.String(dep1)}},
	}); err != nil {
		t.Fatalf("UpdateStage: %v", err)
	}
	dpEventually(t, "every worker sees the old deployment again", func() bool { return sawBack.Load() == workers || failures.Load() > 0 })
	after := requests.Load()
	dpEventually(t, "more load after the rollback", func() bool { return requests.Load() >= after+workers*5 })

	stop.Store(true)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d requests failed; first ones:\n%s", n, requests.Load(), strings.Join(errs, "\n"))
	}
	t.Logf("%d requests", requests.Load())
}

// An https:// backend goes through net/http's transport (HTTP/2 where
// offered): with insecureSkipVerification a self-signed certificate is
// accepted, without it the call fails as on AWS; the timeout holds there too.
func TestDataPlaneHTTPSBackend(t *testing.T) {
	in := apigwtest.Start(t)
	release := make(chan struct{})
	tlsBackend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("X-Proto", r.Proto)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"over":"tls"}`)
	}))
	tlsBackend.EnableHTTP2 = true
	tlsBackend.StartTLS()
	t.Cleanup(tlsBackend.Close)
	t.Cleanup(func() { close(release) })

	a := newDPAPI(t, in, "https")
	skip := &types.TlsConfig{InsecureSkipVerification: true}
	for _, c := range []struct {
		path    string
		tls     *types.TlsConfig
		timeout int32
	}{
		{"/trusting", skip, 0},
		{"/strict", nil, 0},
		{"/slow", skip, 300},
	} {
		a.method(c.path, "GET", false)
		pin := &apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"),
			Uri: aws.String(tlsBackend.URL + c.path), TlsConfig: c.tls}
		if c.timeout > 0 {
			pin.TimeoutInMillis = aws.Int32(c.timeout)
		}
		a.integration(c.path, "GET", pin)
	}
	a.deploy("s", nil)

	got := dpGet(t, a.url("s", "/trusting"))
	if got.status != 200 || got.body != `{"over":"tls"}` || got.header.Get("X-Proto") != "HTTP/2.0" {
		t.Errorf("trusting: %d %q proto %q, want 200 over HTTP/2", got.status, got.body, got.header.Get("X-Proto"))
	}
	got = dpGet(t, a.url("s", "/strict"))
	dpWantError(t, got, 500, "", "Internal server error")
	got = dpGet(t, a.url("s", "/slow"))
	dpWantError(t, got, 504, "", "Endpoint request timed out")
}

// A backend that answers while it still reads the body (an echo) gets the
// whole of a large body: the gateway reads the answer while it sends.
func TestDataPlaneFullDuplexBackend(t *testing.T) {
	in := apigwtest.Start(t)
	echo := newDPBackend(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, r.Body)
	})
	a := newDPAPI(t, in, "duplex")
	a.proxy("/echo", "POST", echo.URL+"/", nil)
	a.deploy("s", nil)
	for _, size := range []int{1000, 8 << 20} {
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
		req := dpRequest(t, "POST", a.url("s", "/echo"), bytes.NewReader(body))
		resp, err := dpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || !bytes.Equal(got, body) {
			t.Errorf("%d bytes: status %d, %d bytes back, %v", len(body), resp.StatusCode, len(got), err)
		}
	}
}
