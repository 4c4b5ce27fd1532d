package server_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/apigwtest"
)

// ---- helpers (prefixed lm) ----

// lmNeed skips the test when a tool its functions need is missing.
func lmNeed(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; skipping this end-to-end Lambda test", tool)
		}
	}
}

// lmFn describes a function to create with the Lambda client.
type lmFn struct {
	name    string
	runtime lambdatypes.Runtime
	handler string
	zip     []byte
	timeout int32 // seconds; 0 = Lambda's default (3)
	env     map[string]string
}

// lmCreate creates the function and returns its ARN.
func lmCreate(t *testing.T, in *apigwtest.Instance, f lmFn) string {
	t.Helper()
	input := &awslambda.CreateFunctionInput{
		FunctionName: aws.String(f.name),
		Runtime:      f.runtime,
		Handler:      aws.String(f.handler),
		Role:         aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code:         &lambdatypes.FunctionCode{ZipFile: f.zip},
	}
	if f.timeout > 0 {
		input.Timeout = aws.Int32(f.timeout)
	}
	if len(f.env) > 0 {
		input.Environment = &lambdatypes.Environment{Variables: f.env}
	}
	out, err := lfClient(in).CreateFunction(context.Background(), input)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", f.name, err)
	}
	return aws.ToString(out.FunctionArn)
}

func lmAccount(fnARN string) string { return strings.Split(fnARN, ":")[4] }

func lmInvocationURI(fnARN string) string {
	return "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fnARN + "/invocations"
}

// lmGrant lets API Gateway invoke the function for any method and any
// authorizer of the API (the console's "Add permission", widened to API/*).
func lmGrant(t *testing.T, in *apigwtest.Instance, fnARN, apiID string) {
	t.Helper()
	if _, err := lfClient(in).AddPermission(context.Background(), &awslambda.AddPermissionInput{
		FunctionName: aws.String(fnARN), StatementId: aws.String("lm-" + apiID),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"),
		SourceArn: aws.String("arn:aws:execute-api:us-east-1:" + lmAccount(fnARN) + ":" + apiID + "/*"),
	}); err != nil {
		t.Fatalf("AddPermission %s: %v", fnARN, err)
	}
}

// lmZipExec packs one executable (mode 0755) into a deployment package,
// as `zip` does with a built bootstrap.
func lmZipExec(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: name, Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lmAPI builds a REST API resource by resource.
type lmAPI struct {
	t    *testing.T
	in   *apigwtest.Instance
	id   string
	res  map[string]string // path → resource id
	dep  string
	auth map[string]string // authorizer name → id
}

func lmNewAPI(t *testing.T, in *apigwtest.Instance, name string, keySource types.ApiKeySourceType) *lmAPI {
	t.Helper()
	input := &apigateway.CreateRestApiInput{Name: aws.String(name)}
	if keySource != "" {
		input.ApiKeySource = keySource
	}
	api, err := in.Client.CreateRestApi(context.Background(), input)
	if err != nil {
		t.Fatal(err)
	}
	return &lmAPI{t: t, in: in, id: aws.ToString(api.Id), res: map[string]string{"/": aws.ToString(api.RootResourceId)}, auth: map[string]string{}}
}

// resource returns the id of path, creating the missing resources.
func (a *lmAPI) resource(path string) string {
	a.t.Helper()
	if id, ok := a.res[path]; ok {
		return id
	}
	i := strings.LastIndexByte(path, '/')
	parent := path[:i]
	if parent == "" {
		parent = "/"
	}
	pid := a.resource(parent)
	r, err := a.in.Client.CreateResource(context.Background(), &apigateway.CreateResourceInput{RestApiId: aws.String(a.id), ParentId: aws.String(pid), PathPart: aws.String(path[i+1:])})
	if err != nil {
		a.t.Fatalf("CreateResource %s: %v", path, err)
	}
	a.res[path] = aws.ToString(r.Id)
	return a.res[path]
}

// lmMethod is one GET method integrated with a function through AWS_PROXY.
type lmMethod struct {
	path       string
	fn         string // function ARN
	timeoutMs  int32  // integration timeout; 0 = default (29 s)
	authorizer string // authorizer name (CUSTOM); "" = NONE
	apiKey     bool
}

func (a *lmAPI) method(m lmMethod) {
	a.t.Helper()
	ctx := context.Background()
	rid := a.resource(m.path)
	pm := &apigateway.PutMethodInput{RestApiId: aws.String(a.id), ResourceId: aws.String(rid), HttpMethod: aws.String("GET"),
		AuthorizationType: aws.String("NONE"), ApiKeyRequired: m.apiKey}
	if m.authorizer != "" {
		id, ok := a.auth[m.authorizer]
		if !ok {
			a.t.Fatalf("no authorizer %q", m.authorizer)
		}
		pm.AuthorizationType, pm.AuthorizerId = aws.String("CUSTOM"), aws.String(id)
	}
	if _, err := a.in.Client.PutMethod(ctx, pm); err != nil {
		a.t.Fatalf("PutMethod %s: %v", m.path, err)
	}
	pi := &apigateway.PutIntegrationInput{RestApiId: aws.String(a.id), ResourceId: aws.String(rid), HttpMethod: aws.String("GET"),
		Type: types.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(lmInvocationURI(m.fn))}
	if m.timeoutMs > 0 {
		pi.TimeoutInMillis = aws.Int32(m.timeoutMs)
	}
	if _, err := a.in.Client.PutIntegration(ctx, pi); err != nil {
		a.t.Fatalf("PutIntegration %s: %v", m.path, err)
	}
}

// authorizer creates a Lambda authorizer named name.
func (a *lmAPI) authorizer(name string, typ types.AuthorizerType, fnARN, source, validation string, ttl int32) string {
	a.t.Helper()
	input := &apigateway.CreateAuthorizerInput{RestApiId: aws.String(a.id), Name: aws.String(name), Type: typ,
		AuthorizerUri: aws.String(lmInvocationURI(fnARN)), IdentitySource: aws.String(source), AuthorizerResultTtlInSeconds: aws.Int32(ttl)}
	if validation != "" {
		input.IdentityValidationExpression = aws.String(validation)
	}
	out, err := a.in.Client.CreateAuthorizer(context.Background(), input)
	if err != nil {
		a.t.Fatalf("CreateAuthorizer %s: %v", name, err)
	}
	a.auth[name] = aws.ToString(out.Id)
	return a.auth[name]
}

// deploy deploys the API to the stage dev and waits until it is served.
func (a *lmAPI) deploy() {
	a.t.Helper()
	d, err := a.in.Client.CreateDeployment(context.Background(), &apigateway.CreateDeploymentInput{RestApiId: aws.String(a.id), StageName: aws.String("dev")})
	if err != nil {
		a.t.Fatal(err)
	}
	a.dep = aws.ToString(d.Id)
	a.in.WaitServing(a.t, a.id, "dev", a.dep)
}

func (a *lmAPI) url(pathAndQuery string) string { return a.in.InvokeURL(a.id, "dev", pathAndQuery) }

// lmResp is a data plane answer.
type lmResp struct {
	status int
	body   string
	header http.Header
}

func (r lmResp) String() string { return fmt.Sprintf("%d %s %v", r.status, r.body, r.header) }

var lmHTTP = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// lmGet sends GET url with the headers.
func lmGet(t *testing.T, url string, hdr map[string]string) lmResp {
	t.Helper()
	r, err := lmGetErr(url, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lmGetErr(url string, hdr map[string]string) (lmResp, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return lmResp{}, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := lmHTTP.Do(req)
	if err != nil {
		return lmResp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return lmResp{resp.StatusCode, string(b), resp.Header}, err
}

// lmJSON decodes a JSON object.
func lmJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", s, err)
	}
	return m
}

// lmWantError checks a gateway response: status, x-amzn-ErrorType (when
// errType is not empty) and a body equal, as JSON, to want.
func lmWantError(t *testing.T, r lmResp, status int, errType, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r)
	}
	var got, exp any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("body %s, want %s", r.body, want)
	}
	if errType != "" && r.header.Get("x-amzn-ErrorType") != errType {
		t.Fatalf("x-amzn-ErrorType %q, want %q", r.header.Get("x-amzn-ErrorType"), errType)
	}
}

// lmProcsUnder lists the processes whose command line mentions dir.
func lmProcsUnder(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc (%v): cannot look for stray processes", err)
	}
	var out []string
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		out = append(out, e.Name()+": "+string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
	}
	return out
}

// ---- 1 and 2: Go and Node.js functions ----

const lmGoSource = `package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	b, err := json.Marshal(map[string]any{
		"resource":     e.Resource,
		"path":         e.Path,
		"httpMethod":   e.HTTPMethod,
		"id":           e.PathParameters["id"],
		"q":            e.QueryStringParameters["q"],
		"qs":           e.MultiValueQueryStringParameters["q"],
		"header":       e.Headers["X-Lm-Test"],
		"resourcePath": e.RequestContext.ResourcePath,
		"stage":        e.RequestContext.Stage,
		"apiId":        e.RequestContext.APIID,
		"requestId":    e.RequestContext.RequestID,
	})
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(b),
		Headers: map[string]string{"Content-Type": "application/json", "X-Lm-Runtime": "go"}}, nil
}

func main() { lambda.Start(handle) }
`

// lmBuildGo builds lmGoSource for Linux as a provided.al2023 bootstrap
// and zips it.
func lmBuildGo(t *testing.T) []byte {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not installed; skipping the Go function test")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(lmGoSource), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bootstrap")
	// Built inside this module (the test's working directory), whose
	// go.mod requires aws-lambda-go.
	cmd := exec.Command(goTool, "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, src)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the function: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return lmZipExec(t, "bootstrap", data)
}

func TestLambdaGoFunctionProxyEvent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Go function is built for Linux and run on this host")
	}
	lmNeed(t, "go")
	zipped := lmBuildGo(t)
	ctx := context.Background()
	in := apigwtest.Start(t)
	fn := lmCreate(t, in, lmFn{name: "lmGoItems", runtime: lambdatypes.RuntimeProvidedal2023, handler: "bootstrap", zip: zipped})
	api := lmNewAPI(t, in, "go-items", "")
	api.method(lmMethod{path: "/items/{id}", fn: fn})
	lmGrant(t, in, fn, api.id)
	api.deploy()

	r := lmGet(t, api.url("/items/42?q=hello%20world&q=second&other=1"), map[string]string{"X-Lm-Test": "v1"})
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Lm-Runtime") != "go" {
		t.Fatalf("GET /items/42: %s", r)
	}
	got := lmJSON(t, r.body)
	want := map[string]any{
		"resource": "/items/{id}", "path": "/items/42", "httpMethod": "GET", "id": "42",
		// queryStringParameters holds the last value, multiValue… all of them.
		"q": "second", "qs": []any{"hello world", "second"},
		"header": "v1", "resourcePath": "/items/{id}", "stage": "dev", "apiId": api.id,
		"requestId": r.header.Get("X-Amzn-Requestid"),
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("event %s = %#v, want %#v", k, got[k], v)
		}
	}

	// The console's Test button reaches the same function.
	out, err := in.Client.TestInvokeMethod(ctx, &apigateway.TestInvokeMethodInput{RestApiId: aws.String(api.id),
		ResourceId: aws.String(api.res["/items/{id}"]), HttpMethod: aws.String("GET"), PathWithQueryString: aws.String("/items/7?q=x"),
		Headers: map[string]string{"X-Lm-Test": "console"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != 200 {
		t.Fatalf("TestInvokeMethod: %d %s", out.Status, aws.ToString(out.Body))
	}
	tb := lmJSON(t, aws.ToString(out.Body))
	if tb["resource"] != "/items/{id}" || tb["id"] != "7" || tb["q"] != "x" || tb["header"] != "console" || tb["stage"] != "test-invoke-stage" {
		t.Fatalf("TestInvokeMethod body: %s", aws.ToString(out.Body))
	}
}

const (
	lmNodeAsync = `exports.handler = async (event, context) => {
  return {
    statusCode: 201,
    headers: { "Content-Type": "application/json", "X-Lm-Runtime": "node-async" },
    body: JSON.stringify({ resource: event.resource, id: event.pathParameters.id, fn: context.functionName,
      remaining: context.getRemainingTimeInMillis() > 0 }),
  };
};
`
	lmNodeCallback = `exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, {
    statusCode: 202,
    headers: { "X-Lm-Runtime": "node-callback" },
    body: "callback " + event.pathParameters.id,
  }), 5);
};
`
)

func TestLambdaNodeFunctions(t *testing.T) {
	lmNeed(t, "node")
	in := apigwtest.Start(t)
	api := lmNewAPI(t, in, "node", "")
	async := lmCreate(t, in, lmFn{name: "lmNodeAsync", runtime: lambdatypes.RuntimeNodejs20x, handler: "index.handler",
		zip: lfZip(t, map[string]string{"index.js": lmNodeAsync})})
	callback := lmCreate(t, in, lmFn{name: "lmNodeCallback", runtime: lambdatypes.RuntimeNodejs20x, handler: "index.handler",
		zip: lfZip(t, map[string]string{"index.js": lmNodeCallback})})
	api.method(lmMethod{path: "/async/{id}", fn: async})
	api.method(lmMethod{path: "/callback/{id}", fn: callback})
	lmGrant(t, in, async, api.id)
	lmGrant(t, in, callback, api.id)
	api.deploy()

	for _, tc := range []struct {
		name, path  string
		status      int
		contentType string
		runtime     string
		body        string // exact, or "" to check JSON below
	}{
		{"Async", "/async/a1", 201, "application/json", "node-async", ""},
		// No Content-Type from the function: API Gateway's default.
		{"Callback", "/callback/c1", 202, "application/json", "node-callback", "callback c1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 2; i++ { // cold, then warm
				r := lmGet(t, api.url(tc.path), nil)
				if r.status != tc.status || r.header.Get("Content-Type") != tc.contentType || r.header.Get("X-Lm-Runtime") != tc.runtime {
					t.Fatalf("call %d: %s", i, r)
				}
				if tc.body != "" {
					if r.body != tc.body {
						t.Fatalf("call %d: body %q, want %q", i, r.body, tc.body)
					}
					continue
				}
				got := lmJSON(t, r.body)
				if got["resource"] != "/async/{id}" || got["id"] != "a1" || got["fn"] != "lmNodeAsync" || got["remaining"] != true {
					t.Fatalf("call %d: body %s", i, r.body)
				}
			}
		})
	}
}

// ---- 3: failures through API Gateway ----

const lmFailPython = `import os
import time


def handler(event, context):
    r = event["resource"]
    if r == "/raise":
        raise RuntimeError("boom")
    if r == "/badstatus":
        return {"statusCode": "abc"}
    if r == "/string":
        return "just a string"
    if r == "/bodyobject":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if r == "/extrakey":
        return {"statusCode": 200, "body": "x", "extra": 1}
    if r in ("/sleep", "/slow"):
        time.sleep(2)
        return {"statusCode": 200, "body": "slept"}
    if r == "/crash" and (event.get("queryStringParameters") or {}).get("crash"):
        os._exit(1)
    return {"statusCode": 200, "body": "ok " + context.function_name}
`

// lmSlowInitPython takes 1.5 s to initialise, more than its 1 s timeout:
// on Lambda the init phase has its own 10 s, and the invocation succeeds.
const lmSlowInitPython = `import time

time.sleep(1.5)


def handler(event, context):
    return {"statusCode": 200, "body": "initialised"}
`

func TestLambdaProxyFailures(t *testing.T) {
	lmNeed(t, "python3")
	ctx := context.Background()
	in := apigwtest.Start(t)
	zipped := lfZip(t, map[string]string{"fail.py": lmFailPython})
	fn1s := lmCreate(t, in, lmFn{name: "lmFail1s", runtime: lambdatypes.RuntimePython312, handler: "fail.handler", zip: zipped, timeout: 1})
	fn3s := lmCreate(t, in, lmFn{name: "lmFail3s", runtime: lambdatypes.RuntimePython312, handler: "fail.handler", zip: zipped, timeout: 3})
	noPerm := lmCreate(t, in, lmFn{name: "lmNoPermission", runtime: lambdatypes.RuntimePython312, handler: "fail.handler", zip: zipped})
	slowInit := lmCreate(t, in, lmFn{name: "lmSlowInit", runtime: lambdatypes.RuntimePython312, handler: "init.handler", timeout: 1,
		zip: lfZip(t, map[string]string{"init.py": lmSlowInitPython})})
	api := lmNewAPI(t, in, "failures", "")
	for _, p := range []string{"/raise", "/badstatus", "/string", "/bodyobject", "/extrakey", "/sleep", "/crash"} {
		api.method(lmMethod{path: p, fn: fn1s})
	}
	// The integration gives up after 500 ms; the function would answer at 2 s.
	api.method(lmMethod{path: "/slow", fn: fn3s, timeoutMs: 500})
	api.method(lmMethod{path: "/noperm", fn: noPerm})
	api.method(lmMethod{path: "/slowinit", fn: slowInit})
	lmGrant(t, in, fn1s, api.id)
	lmGrant(t, in, slowInit, api.id)
	lmGrant(t, in, fn3s, api.id)
	api.deploy()

	const internal = `{"message": "Internal server error"}`
	for _, tc := range []struct {
		name, path string
		status     int
		body       string
	}{
		{"Exception", "/raise", 502, internal},
		{"StatusNotANumber", "/badstatus", 502, internal},
		{"PlainString", "/string", 502, internal},
		{"BodyNotAString", "/bodyobject", 502, internal},
		{"UnknownKey", "/extrakey", 502, internal},
		{"FunctionTimeout", "/sleep", 502, internal},
		{"IntegrationTimeout", "/slow", 504, `{"message": "Endpoint request timed out"}`},
		{"Crash", "/crash?crash=1", 502, internal},
		{"AfterCrash", "/crash", 200, ""},
		{"NoPermission", "/noperm", 500, internal},
		// A cold start slower than the function's timeout is not a timeout.
		{"SlowInit", "/slowinit", 200, "initialised"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := lmGet(t, api.url(tc.path), nil)
			elapsed := time.Since(start)
			if tc.status == 200 {
				if want := cmp.Or(tc.body, "ok lmFail1s"); r.status != 200 || r.body != want {
					t.Fatalf("%s: %s", tc.path, r)
				}
				return
			}
			lmWantError(t, r, tc.status, "", tc.body)
			// The function sleeps 2 s: an error answered before that comes
			// from the timeout under test.
			switch tc.name {
			case "FunctionTimeout":
				if elapsed < time.Second || elapsed >= 2*time.Second {
					t.Errorf("answered after %v: the function's 1 s timeout should end it", elapsed)
				}
			case "IntegrationTimeout":
				if elapsed < 500*time.Millisecond || elapsed >= 2*time.Second {
					t.Errorf("answered after %v, want about the 500 ms integration timeout", elapsed)
				}
			}
		})
	}

	t.Run("TestInvokeMethod", func(t *testing.T) {
		out, err := in.Client.TestInvokeMethod(ctx, &apigateway.TestInvokeMethodInput{RestApiId: aws.String(api.id),
			ResourceId: aws.String(api.res["/raise"]), HttpMethod: aws.String("GET"), PathWithQueryString: aws.String("/raise")})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != 502 {
			t.Fatalf("TestInvokeMethod /raise: %d %s", out.Status, aws.ToString(out.Body))
		}
	})
}

// ---- 4: concurrency, throttling, no stray processes ----

const lmSlowPython = `import time


def handler(event, context):
    time.sleep(0.2)
    return {"statusCode": 200, "body": "slow done"}
`

func TestLambdaConcurrentSlowFunction(t *testing.T) {
	lmNeed(t, "python3")
	in := apigwtest.Start(t)
	fn := lmCreate(t, in, lmFn{name: "lmSlow", runtime: lambdatypes.RuntimePython312, handler: "slow.handler", timeout: 60,
		zip: lfZip(t, map[string]string{"slow.py": lmSlowPython})})
	api := lmNewAPI(t, in, "slow", "")
	api.method(lmMethod{path: "/slow", fn: fn})
	lmGrant(t, in, fn, api.id)
	api.deploy()

	const n = 50
	results := make([]lmResp, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			results[i], errs[i] = lmGetErr(api.url("/slow"), nil)
		}()
	}
	close(gate)
	wg.Wait()

	// Calls beyond the workers the host runs wait for one: all are served,
	// as Lambda serves a burst within the account's concurrency.
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if r.status != 200 || r.body != "slow done" {
			t.Errorf("call %d: %s", i, r)
		}
	}

	// Workers stay warm; once the instance stops, none remains.
	if procs := lmProcsUnder(t, in.DataDir); len(procs) == 0 {
		t.Fatalf("no worker process found under %s while the instance runs: the scan cannot be trusted", in.DataDir)
	}
	in.Stop(t)
	if procs := lmProcsUnder(t, in.DataDir); len(procs) > 0 {
		t.Fatalf("processes left after the instance stopped:\n%s", strings.Join(procs, "\n"))
	}
}

// ---- 5: Lambda authorizers ----

// lmTokenAuthorizer logs each event (one JSON line in $LM_LOG) and decides
// by the token's word.
const lmTokenAuthorizer = `import json
import os


def handler(event, context):
    with open(os.environ["LM_LOG"], "a") as f:
        f.write(json.dumps(event) + "\n")
    word = event["authorizationToken"].split(" ", 1)[1]
    if word == "unauthorized":
        raise Exception("Unauthorized")
    if word == "crash":
        raise ValueError("authorizer bug")
    return {
        "principalId": "user-" + word,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Deny" if word == "deny" else "Allow",
                "Resource": event["methodArn"],
            }],
        },
        "context": {"user": "alice", "n": 1, "ok": True},
        "usageIdentifierKey": "lmkey-" + word + "-0123456789abcdef",
    }
`

const lmRequestAuthorizer = `import json
import os


def handler(event, context):
    with open(os.environ["LM_LOG"], "a") as f:
        f.write(json.dumps(event) + "\n")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = event.get("queryStringParameters") or {}
    return {
        "principalId": headers.get("x-user"),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}],
        },
        "context": {"type": event["type"], "methodArn": event["methodArn"],
                    "user": headers.get("x-user"), "tenant": query.get("tenant")},
    }
`

const lmEchoPython = `import json


def handler(event, context):
    rc = event.get("requestContext") or {}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"resource": event.get("resource"), "authorizer": rc.get("authorizer")}),
    }
`

// lmAuthLog reads the authorizer functions' event log.
func lmAuthLog(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, lmJSON(t, sc.Text()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// lmCalls counts the logged events whose key has value.
func lmCalls(t *testing.T, path, key, value string) int {
	t.Helper()
	n := 0
	for _, ev := range lmAuthLog(t, path) {
		if ev[key] == value {
			n++
		}
	}
	return n
}

func TestLambdaAuthorizers(t *testing.T) {
	lmNeed(t, "python3")
	ctx := context.Background()
	in := apigwtest.Start(t)
	logFile := filepath.Join(t.TempDir(), "authorizer-events.jsonl")
	zipped := lfZip(t, map[string]string{"lmtoken.py": lmTokenAuthorizer, "lmrequest.py": lmRequestAuthorizer, "lmecho.py": lmEchoPython})
	env := map[string]string{"LM_LOG": logFile}
	tokenFn := lmCreate(t, in, lmFn{name: "lmTokenAuth", runtime: lambdatypes.RuntimePython312, handler: "lmtoken.handler", zip: zipped, env: env})
	requestFn := lmCreate(t, in, lmFn{name: "lmRequestAuth", runtime: lambdatypes.RuntimePython312, handler: "lmrequest.handler", zip: zipped, env: env})
	noPermFn := lmCreate(t, in, lmFn{name: "lmNoPermAuth", runtime: lambdatypes.RuntimePython312, handler: "lmtoken.handler", zip: zipped, env: env})
	echoFn := lmCreate(t, in, lmFn{name: "lmEcho", runtime: lambdatypes.RuntimePython312, handler: "lmecho.handler", zip: zipped})
	account := lmAccount(tokenFn)

	api := lmNewAPI(t, in, "authorizers", "")
	const bearer = "^Bearer [a-z]+$"
	tokenID := api.authorizer("token", types.AuthorizerTypeToken, tokenFn, "method.request.header.Authorization", bearer, 0)
	api.authorizer("cached", types.AuthorizerTypeToken, tokenFn, "method.request.header.Authorization", bearer, 300)
	api.authorizer("request", types.AuthorizerTypeRequest, requestFn, "method.request.header.X-User, method.request.querystring.tenant", "", 300)
	api.authorizer("noperm", types.AuthorizerTypeToken, noPermFn, "method.request.header.Authorization", "", 0)
	api.method(lmMethod{path: "/token", fn: echoFn, authorizer: "token"})
	api.method(lmMethod{path: "/cached", fn: echoFn, authorizer: "cached"})
	api.method(lmMethod{path: "/cached2", fn: echoFn, authorizer: "cached"})
	api.method(lmMethod{path: "/request", fn: echoFn, authorizer: "request"})
	api.method(lmMethod{path: "/noperm", fn: echoFn, authorizer: "noperm"})
	for _, fn := range []string{tokenFn, requestFn, echoFn} {
		lmGrant(t, in, fn, api.id)
	}
	api.deploy()
	methodARN := func(path string) string {
		return "arn:aws:execute-api:us-east-1:" + account + ":" + api.id + "/dev/GET" + path
	}

	t.Run("Token", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, token string // token "" sends no Authorization header
			status            int
			errType, body     string
			invoked           bool // whether the function sees the token
		}{
			{"Allow", "/token", "Bearer allow", 200, "", "", true},
			{"ExplicitDeny", "/token", "Bearer deny", 403, "AccessDeniedException",
				`{"Message":"User is not authorized to access this resource with an explicit deny"}`, true},
			{"Unauthorized", "/token", "Bearer unauthorized", 401, "UnauthorizedException", `{"message":"Unauthorized"}`, true},
			{"FailsValidation", "/token", "Bearer Allow1", 401, "UnauthorizedException", `{"message":"Unauthorized"}`, false},
			{"WrongScheme", "/token", "bearer allow", 401, "UnauthorizedException", `{"message":"Unauthorized"}`, false},
			{"NoHeader", "/token", "", 401, "UnauthorizedException", `{"message":"Unauthorized"}`, false},
			{"FunctionError", "/token", "Bearer crash", 500, "AuthorizerConfigurationException", `{"message":null}`, true},
			// No AddPermission for the authorizer's function.
			{"NoPermission", "/noperm", "Bearer nopermission", 500, "AuthorizerConfigurationException", `{"message":null}`, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				hdr := map[string]string{}
				if tc.token != "" {
					hdr["Authorization"] = tc.token
				}
				before := lmCalls(t, logFile, "authorizationToken", tc.token)
				r := lmGet(t, api.url(tc.path), hdr)
				if calls := lmCalls(t, logFile, "authorizationToken", tc.token) - before; tc.token != "" && calls != map[bool]int{true: 1, false: 0}[tc.invoked] {
					t.Errorf("the authorizer function ran %d times for %q", calls, tc.token)
				}
				if tc.status != 200 {
					lmWantError(t, r, tc.status, tc.errType, tc.body)
					return
				}
				if r.status != 200 {
					t.Fatalf("%s", r)
				}
				got := lmJSON(t, r.body)
				auth, _ := got["authorizer"].(map[string]any)
				if _, ok := auth["integrationLatency"].(float64); !ok {
					t.Errorf("requestContext.authorizer has no integrationLatency: %s", r.body)
				}
				delete(auth, "integrationLatency")
				// Context values reach the integration stringified.
				want := map[string]any{"principalId": "user-allow", "user": "alice", "n": "1", "ok": "true"}
				if !reflect.DeepEqual(auth, want) {
					t.Errorf("requestContext.authorizer = %v, want %v", auth, want)
				}
				evs := lmAuthLog(t, logFile)
				ev := evs[len(evs)-1]
				if ev["type"] != "TOKEN" || ev["authorizationToken"] != "Bearer allow" || ev["methodArn"] != methodARN("/token") || len(ev) != 3 {
					t.Errorf("TOKEN event %v, want type, authorizationToken and methodArn %s", ev, methodARN("/token"))
				}
			})
		}
	})

	t.Run("Cache", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, token string
			calls             int
		}{
			{"TTL300", "/cached", "Bearer cacheone", 1},
			{"TTL0", "/token", "Bearer nocache", 5},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for i := 0; i < 5; i++ {
					if r := lmGet(t, api.url(tc.path), map[string]string{"Authorization": tc.token}); r.status != 200 {
						t.Fatalf("call %d: %s", i, r)
					}
				}
				if n := lmCalls(t, logFile, "authorizationToken", tc.token); n != tc.calls {
					t.Fatalf("the authorizer function ran %d times for 5 calls, want %d", n, tc.calls)
				}
			})
		}
		// The cached policy is reused for another method of the same
		// authorizer: it names only /cached, so /cached2 is denied, as on AWS.
		t.Run("PolicyOfAnotherMethod", func(t *testing.T) {
			hdr := map[string]string{"Authorization": "Bearer scoped"}
			if r := lmGet(t, api.url("/cached"), hdr); r.status != 200 {
				t.Fatalf("/cached: %s", r)
			}
			lmWantError(t, lmGet(t, api.url("/cached2"), hdr), 403, "AccessDeniedException",
				`{"Message":"User is not authorized to access this resource"}`)
			if n := lmCalls(t, logFile, "authorizationToken", "Bearer scoped"); n != 1 {
				t.Fatalf("the authorizer function ran %d times, want 1 (cached)", n)
			}
		})
		// FlushStageAuthorizersCache: the next call runs the function again,
		// and its result is cached again.
		t.Run("Flush", func(t *testing.T) {
			hdr := map[string]string{"Authorization": "Bearer flushed"}
			calls := func() int { return lmCalls(t, logFile, "authorizationToken", "Bearer flushed") }
			for i := 0; i < 2; i++ {
				if r := lmGet(t, api.url("/cached"), hdr); r.status != 200 {
					t.Fatalf("/cached: %s", r)
				}
			}
			if n := calls(); n != 1 {
				t.Fatalf("before the flush the function ran %d times, want 1", n)
			}
			if _, err := in.Client.FlushStageAuthorizersCache(ctx, &apigateway.FlushStageAuthorizersCacheInput{RestApiId: aws.String(api.id), StageName: aws.String("dev")}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if r := lmGet(t, api.url("/cached"), hdr); r.status != 200 {
					t.Fatalf("/cached after the flush: %s", r)
				}
			}
			if n := calls(); n != 2 {
				t.Fatalf("after the flush the function ran %d times in all, want 2", n)
			}
			_, err := in.Client.FlushStageAuthorizersCache(ctx, &apigateway.FlushStageAuthorizersCacheInput{RestApiId: aws.String(api.id), StageName: aws.String("nosuch")})
			apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid stage identifier specified")
		})
	})

	t.Run("Request", func(t *testing.T) {
		requests := func() int { return lmCalls(t, logFile, "type", "REQUEST") }
		r := lmGet(t, api.url("/request?tenant=acme"), map[string]string{"X-User": "bob"})
		if r.status != 200 {
			t.Fatalf("%s", r)
		}
		auth, _ := lmJSON(t, r.body)["authorizer"].(map[string]any)
		delete(auth, "integrationLatency")
		want := map[string]any{"principalId": "bob", "type": "REQUEST", "methodArn": methodARN("/request"), "user": "bob", "tenant": "acme"}
		if !reflect.DeepEqual(auth, want) {
			t.Errorf("requestContext.authorizer = %v, want %v", auth, want)
		}
		evs := lmAuthLog(t, logFile)
		ev := evs[len(evs)-1]
		for _, k := range []string{"type", "methodArn", "resource", "path", "httpMethod", "headers", "multiValueHeaders",
			"queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("REQUEST event has no %s: %v", k, ev)
			}
		}
		if q, _ := ev["queryStringParameters"].(map[string]any); q["tenant"] != "acme" {
			t.Errorf("REQUEST event queryStringParameters = %v", ev["queryStringParameters"])
		}
		if ev["resource"] != "/request" || ev["httpMethod"] != "GET" {
			t.Errorf("REQUEST event resource %v httpMethod %v", ev["resource"], ev["httpMethod"])
		}

		for _, tc := range []struct {
			name, query string
			hdr         map[string]string
		}{
			{"NoHeader", "?tenant=acme", nil},
			{"NoQuery", "", map[string]string{"X-User": "bob"}},
			{"EmptyQuery", "?tenant=", map[string]string{"X-User": "bob"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := requests()
				lmWantError(t, lmGet(t, api.url("/request"+tc.query), tc.hdr), 401, "UnauthorizedException", `{"message":"Unauthorized"}`)
				if n := requests() - before; n != 0 {
					t.Errorf("the authorizer function ran %d times with an identity source missing", n)
				}
			})
		}
	})

	t.Run("UsageIdentifierKey", func(t *testing.T) {
		metered := lmNewAPI(t, in, "metered", types.ApiKeySourceTypeAuthorizer)
		metered.authorizer("token", types.AuthorizerTypeToken, tokenFn, "method.request.header.Authorization", bearer, 0)
		metered.method(lmMethod{path: "/metered", fn: echoFn, authorizer: "token", apiKey: true})
		lmGrant(t, in, tokenFn, metered.id)
		lmGrant(t, in, echoFn, metered.id)
		metered.deploy()
		plan, err := in.Client.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("lm-authorizer-plan"),
			Quota:     &types.QuotaSettings{Limit: 2, Period: types.QuotaPeriodTypeDay},
			ApiStages: []types.ApiStage{{ApiId: aws.String(metered.id), Stage: aws.String("dev")}}})
		if err != nil {
			t.Fatal(err)
		}
		upKey(t, in.Client, "lm-known", "lmkey-known-0123456789abcdef", aws.ToString(plan.Id))

		url := metered.url("/metered")
		for i := 0; i < 2; i++ {
			if r := lmGet(t, url, map[string]string{"Authorization": "Bearer known"}); r.status != 200 {
				t.Fatalf("call %d within the quota: %s", i+1, r)
			}
		}
		lmWantError(t, lmGet(t, url, map[string]string{"Authorization": "Bearer known"}), 429, "LimitExceededException", `{"message":"Limit Exceeded"}`)
		// The key the authorizer names is not an API key.
		lmWantError(t, lmGet(t, url, map[string]string{"Authorization": "Bearer unknown"}), 403, "ForbiddenException", `{"message":"Forbidden"}`)
		// An X-API-Key header does not count with apiKeySource AUTHORIZER.
		lmWantError(t, lmGet(t, url, map[string]string{"Authorization": "Bearer unknown", "X-API-Key": "lmkey-known-0123456789abcdef"}),
			403, "ForbiddenException", `{"message":"Forbidden"}`)
	})

	t.Run("TestInvoke", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			headers   map[string]string
			status    int32
			principal string
		}{
			{"Allow", map[string]string{"Authorization": "Bearer allow"}, 200, "user-allow"},
			{"Unauthorized", map[string]string{"Authorization": "Bearer unauthorized"}, 401, ""},
			{"FailsValidation", map[string]string{"Authorization": "Basic abc"}, 401, ""},
			{"NoHeader", nil, 401, ""},
		} {
			t.Run("Authorizer"+tc.name, func(t *testing.T) {
				out, err := in.Client.TestInvokeAuthorizer(ctx, &apigateway.TestInvokeAuthorizerInput{RestApiId: aws.String(api.id),
					AuthorizerId: aws.String(tokenID), Headers: tc.headers})
				if err != nil {
					t.Fatal(err)
				}
				if out.ClientStatus != tc.status || aws.ToString(out.PrincipalId) != tc.principal {
					t.Fatalf("TestInvokeAuthorizer: clientStatus %d principalId %q, want %d %q", out.ClientStatus, aws.ToString(out.PrincipalId), tc.status, tc.principal)
				}
				if tc.status != 200 {
					return
				}
				var doc struct {
					Statement []struct{ Effect, Action, Resource string }
				}
				if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil || len(doc.Statement) != 1 {
					t.Fatalf("policy %q: %v", aws.ToString(out.Policy), err)
				}
				st := doc.Statement[0]
				if st.Effect != "Allow" || st.Action != "execute-api:Invoke" || !strings.HasPrefix(st.Resource, "arn:aws:execute-api:us-east-1:"+account+":"+api.id+"/") {
					t.Fatalf("policy statement %+v", st)
				}
			})
		}

		// The console's Test button runs the integration without the authorizer.
		out, err := in.Client.TestInvokeMethod(ctx, &apigateway.TestInvokeMethodInput{RestApiId: aws.String(api.id),
			ResourceId: aws.String(api.res["/token"]), HttpMethod: aws.String("GET"), PathWithQueryString: aws.String("/token")})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != 200 || lmJSON(t, aws.ToString(out.Body))["resource"] != "/token" {
			t.Fatalf("TestInvokeMethod: %d %s", out.Status, aws.ToString(out.Body))
		}
	})
}
