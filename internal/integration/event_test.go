package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/route"
)

// --- helpers shared with lambda_test.go ---

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	testFnARN   = "arn:aws:lambda:us-east-1:123456789012:function:hello"
)

func lambdaURI(fn string) string {
	return "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fn + "/invocations"
}

// fakeInvoker records the invocations and answers with a fixed result.
type fakeInvoker struct {
	mu     sync.Mutex
	reqs   []*lambda.InvokeRequest
	result *lambda.InvokeResult
	err    error
	block  bool // wait for the context to end
}

func (f *fakeInvoker) Invoke(ctx context.Context, req *lambda.InvokeRequest) (*lambda.InvokeResult, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	if f.result != nil {
		return f.result, nil
	}
	return &lambda.InvokeResult{StatusCode: 200, Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
}

func (f *fakeInvoker) last(t *testing.T) *lambda.InvokeRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the function was not invoked")
	}
	return f.reqs[len(f.reqs)-1]
}

func answering(payload string) *fakeInvoker {
	return &fakeInvoker{result: &lambda.InvokeResult{StatusCode: 200, Payload: []byte(payload)}}
}

func compileProxy(t *testing.T, inv lambda.Invoker, binary []string, mutate ...func(*model.Integration)) *Integration {
	t.Helper()
	in := &model.Integration{Type: "AWS_PROXY", HTTPMethod: "POST", URI: lambdaURI(testFnARN)}
	for _, m := range mutate {
		m(in)
	}
	ig, err := Compile(in, Options{Lambda: inv, Region: testRegion, AccountID: testAccount, BinaryMediaTypes: binary})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return ig
}

// newCall makes the Call the gateway would for a request to
// https://abc123.execute-api.us-east-1.amazonaws.com/{stage}{path}, routed
// to resource.
func newCall(t *testing.T, method, resource, stage, target string, body string) *Call {
	t.Helper()
	r := httptest.NewRequest(method, "https://abc123.execute-api.us-east-1.amazonaws.com/"+stage+target, strings.NewReader(body))
	if body == "" {
		r.Body = http.NoBody
		r.ContentLength = 0
	}
	r.RemoteAddr = "203.0.113.7:51234"
	path := "/" + strings.SplitN(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/", 2)[1]
	var b route.Builder[int]
	if err := b.Add(resource, method, 1); err != nil {
		t.Fatalf("route %s: %v", resource, err)
	}
	params := new(route.Params)
	if _, _, st := b.Compile().Match(method, path, params); st != route.Matched {
		t.Fatalf("%s does not match %s: %v", path, resource, st)
	}
	c := &Call{
		RequestID:         "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		ExtendedRequestID: "LgAvhF7wIAMF1Rw=",
		TraceID:           "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
		ListenerPort:      "443",
		APIID:             "abc123",
		Stage:             stage,
		ResourceID:        "r35x1e",
		ResourcePath:      resource,
		Path:              path,
		HTTPMethod:        method,
		Params:            params,
		SourceIP:          "203.0.113.7",
		RequestTime:       time.Date(2026, 11, 21, 15, 4, 5, 123e6, time.UTC),
		DeploymentID:      "dep001",
	}
	c.FromHTTP(r)
	return c
}

// eventOf builds the event of c and returns it as generic JSON.
func eventOf(t *testing.T, ig *Integration, c *Call) (map[string]any, []byte) {
	t.Helper()
	raw, err := ig.buildEvent(c, time.Now())
	if err != nil {
		t.Fatalf("buildEvent: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, raw)
	}
	// Every event must be readable by aws-lambda-go's type.
	var typed events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &typed); err != nil {
		t.Fatalf("event does not decode as events.APIGatewayProxyRequest: %v", err)
	}
	return m, raw
}

func get(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// --- fidelity against aws-lambda-go's samples ---

var lambdaGoDir struct {
	once sync.Once
	dir  string
	err  error
}

// awsLambdaGoTestdata returns the path of a file of aws-lambda-go's
// events/testdata, from the module cache.
func awsLambdaGoTestdata(t *testing.T, name string) string {
	t.Helper()
	lambdaGoDir.once.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
		lambdaGoDir.dir, lambdaGoDir.err = strings.TrimSpace(string(out)), err
	})
	if lambdaGoDir.err != nil || lambdaGoDir.dir == "" {
		t.Fatalf("locating github.com/aws/aws-lambda-go: %v", lambdaGoDir.err)
	}
	return filepath.Join(lambdaGoDir.dir, "events", "testdata", name)
}

func readSample(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(awsLambdaGoTestdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func str(v any) string { s, _ := v.(string); return s }

// callFromSample makes the request that AWS turned into the sample event:
// same method, resource, path, headers (with their case), query, stage
// variables, body, identity and authorizer.
func callFromSample(t *testing.T, s map[string]any) (*Call, *Integration) {
	t.Helper()
	rc := s["requestContext"].(map[string]any)
	id := rc["identity"].(map[string]any)
	stage := str(rc["stage"])
	method := str(s["httpMethod"])
	target := str(s["path"])
	if q, ok := s["multiValueQueryStringParameters"].(map[string]any); ok {
		var parts []string
		for _, k := range sortedKeys(q) {
			for _, v := range q[k].([]any) {
				parts = append(parts, k+"="+str(v))
			}
		}
		target += "?" + strings.Join(parts, "&")
	}
	c := newCall(t, method, str(s["resource"]), stage, target, str(s["body"]))
	r := c
	r.Header = http.Header{}
	c.HeaderNames = map[string]string{}
	mv := s["multiValueHeaders"].(map[string]any)
	for _, k := range sortedKeys(mv) {
		vals := mv[k].([]any)
		switch http.CanonicalHeaderKey(k) {
		case "Host":
			r.Host = str(vals[0])
			continue
		case "X-Forwarded-Port":
			c.ListenerPort = str(vals[0])
			continue
		case "X-Forwarded-Proto":
			if str(vals[0]) == "https" {
				r.TLS = &tls.ConnectionState{}
			}
			continue
		case "X-Forwarded-For":
			// The client's X-Forwarded-For, then the address the
			// gateway saw.
			hops := strings.Split(str(vals[0]), ", ")
			c.SourceIP = hops[len(hops)-1]
			if len(hops) > 1 {
				r.Header.Set("X-Forwarded-For", strings.Join(hops[:len(hops)-1], ", "))
			}
			continue
		}
		for _, v := range vals {
			r.Header.Add(k, str(v))
		}
		c.HeaderNames[http.CanonicalHeaderKey(k)] = k
	}
	if _, ok := mv["X-Amzn-Trace-Id"]; !ok {
		c.TraceID = ""
	}
	c.StageVars = map[string]string{}
	for k, v := range s["stageVariables"].(map[string]any) {
		c.StageVars[k] = str(v)
	}
	c.RequestID = str(rc["requestId"])
	c.ExtendedRequestID = str(rc["extendedRequestId"])
	c.ResourceID = str(rc["resourceId"])
	c.APIID = str(rc["apiId"])
	c.DomainName = str(rc["domainName"])
	c.OperationName = str(rc["operationName"])
	c.DeploymentID = ""
	c.RequestTime = time.UnixMilli(int64(rc["requestTimeEpoch"].(float64))).UTC()
	c.APIKey, c.APIKeyID = str(id["apiKey"]), str(id["apiKeyId"])
	c.Caller = &Caller{
		AccessKey: str(id["accessKey"]), AccountID: str(id["accountId"]), Caller: str(id["caller"]),
		User: str(id["user"]), UserARN: str(id["userArn"]),
		CognitoIdentityPoolID: str(id["cognitoIdentityPoolId"]), CognitoIdentityID: str(id["cognitoIdentityId"]),
		CognitoAuthenticationType: str(id["cognitoAuthenticationType"]), CognitoAuthenticationProvider: str(id["cognitoAuthenticationProvider"]),
	}
	if cc, ok := id["clientCert"].(map[string]any); ok {
		val := cc["validity"].(map[string]any)
		nb, err1 := time.Parse(certTimeLayout, str(val["notBefore"]))
		na, err2 := time.Parse(certTimeLayout, str(val["notAfter"]))
		if err1 != nil || err2 != nil {
			t.Fatalf("certificate validity: %v %v", err1, err2)
		}
		c.ClientCert = &ClientCert{PEM: str(cc["clientCertPem"]), SubjectDN: str(cc["subjectDN"]), IssuerDN: str(cc["issuerDN"]),
			SerialNumber: str(cc["serialNumber"]), NotBefore: nb, NotAfter: na}
	}
	if a, ok := rc["authorizer"].(map[string]any); ok {
		c.Authorizer = &Authorizer{PrincipalID: str(a["principalId"]), Context: map[string]any{}}
		for k, v := range a {
			if k != "principalId" {
				c.Authorizer.Context[k] = v
			}
		}
	}
	ig := compileProxy(t, &fakeInvoker{}, nil)
	ig.ep.(*lambdaTarget).account = str(rc["accountId"])
	return c, ig
}

// diffJSON compares two decoded JSON values field by field and returns the
// differences, each with its path.
func diffJSON(path string, want, got any, extraOK map[string]bool) []string {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		var out []string
		for _, k := range sortedKeys(wm) {
			gv, ok := gm[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing (AWS: %v)", path, k, wm[k]))
				continue
			}
			out = append(out, diffJSON(path+"."+k, wm[k], gv, extraOK)...)
		}
		for _, k := range sortedKeys(gm) {
			if _, ok := wm[k]; !ok && !extraOK[path+"."+k] {
				out = append(out, fmt.Sprintf("%s.%s: unexpected (%v)", path, k, gm[k]))
			}
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: AWS %#v, apigw %#v", path, want, got)}
	}
	return nil
}

func TestEventMatchesAWSSamples(t *testing.T) {
	for _, name := range []string{"apigw-request.json", "apigw-restapi-openapi-request.json"} {
		t.Run(name, func(t *testing.T) {
			sample := readSample(t, name)
			c, ig := callFromSample(t, sample)
			got, raw := eventOf(t, ig, c)

			// Where the hand-written sample is inconsistent with what AWS
			// sends (and with itself), AWS's behaviour wins:
			rc := sample["requestContext"].(map[string]any)
			// - requestContext.path includes the stage ("/dev/work" for
			//   the resource path "/work" in events AWS delivered);
			rc["path"] = "/" + str(rc["stage"]) + str(sample["path"])
			// - domainPrefix is the first label of domainName (the sample
			//   has an unrelated id);
			rc["domainPrefix"] = strings.SplitN(str(rc["domainName"]), ".", 2)[0]
			// - sourceIp is the address the gateway saw, the last hop of
			//   X-Forwarded-For (the sample has an unrelated address);
			hops := strings.Split(str(get(sample, "headers.X-Forwarded-For")), ", ")
			rc["identity"].(map[string]any)["sourceIp"] = hops[len(hops)-1]
			// - a Lambda authorizer's context values reach the function
			//   stringified, next to integrationLatency (AWS: "Their
			//   values are stringified, for example, "stringval", "123",
			//   or "true"").
			if a, ok := rc["authorizer"].(map[string]any); ok {
				for k, v := range a {
					s, _ := stringify(v)
					a[k] = s
				}
				a["integrationLatency"] = float64(0)
			}
			// - isBase64Encoded is always present; principalOrgId is
			//   null in every identity AWS sends.
			sample["isBase64Encoded"] = false
			extra := map[string]bool{".requestContext.identity.principalOrgId": true}

			if d := diffJSON("", sample, got, extra); len(d) > 0 {
				t.Errorf("event differs from %s:\n  %s\nevent: %s", name, strings.Join(d, "\n  "), raw)
			}

			// And through aws-lambda-go's own type, field by field.
			var want, have events.APIGatewayProxyRequest
			wb, _ := json.Marshal(sample)
			if err := json.Unmarshal(wb, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &have); err != nil {
				t.Fatal(err)
			}
			wv, hv := reflect.ValueOf(want), reflect.ValueOf(have)
			for i := 0; i < wv.NumField(); i++ {
				if !reflect.DeepEqual(wv.Field(i).Interface(), hv.Field(i).Interface()) {
					t.Errorf("%s: AWS %#v, apigw %#v", wv.Type().Field(i).Name, wv.Field(i).Interface(), hv.Field(i).Interface())
				}
			}
		})
	}
}

// --- AWS behaviours the samples do not show ---

// identityKeys are the keys of requestContext.identity in every event AWS
// sends, null when they do not apply.
var identityKeys = []string{"accessKey", "accountId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
	"cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "sourceIp", "user", "userAgent", "userArn"}

var contextKeys = []string{"accountId", "apiId", "deploymentId", "domainName", "domainPrefix", "extendedRequestId", "httpMethod",
	"identity", "path", "protocol", "requestId", "requestTime", "requestTimeEpoch", "resourceId", "resourcePath", "stage"}

var eventKeys = []string{"body", "headers", "httpMethod", "isBase64Encoded", "multiValueHeaders", "multiValueQueryStringParameters",
	"path", "pathParameters", "queryStringParameters", "requestContext", "resource", "stageVariables"}

func keysOf(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestEventResourceTemplateAndMultiValues(t *testing.T) {
	ig := compileProxy(t, &fakeInvoker{}, nil)
	c := newCall(t, "GET", "/items/{id}", "prod", "/items/42?tag=a&tag=b&x=1", "")
	c.Header.Add("X-Multi", "one")
	c.Header.Add("X-Multi", "two")
	c.Header.Set("User-Agent", "curl/8.5.0")
	c.Header.Set("Accept", "*/*")
	ev, raw := eventOf(t, ig, c)

	if got := keysOf(ev); !reflect.DeepEqual(got, eventKeys) {
		t.Errorf("event keys %v, want %v", got, eventKeys)
	}
	rc := ev["requestContext"].(map[string]any)
	if got := keysOf(rc); !reflect.DeepEqual(got, contextKeys) {
		t.Errorf("requestContext keys %v, want %v (no authorizer key without an authorizer)", got, contextKeys)
	}
	if got := keysOf(rc["identity"].(map[string]any)); !reflect.DeepEqual(got, identityKeys) {
		t.Errorf("identity keys %v, want %v", got, identityKeys)
	}
	for _, k := range identityKeys {
		v := get(ev, "requestContext.identity."+k)
		switch k {
		case "sourceIp":
			if v != "203.0.113.7" {
				t.Errorf("sourceIp = %v", v)
			}
		case "userAgent":
			if v != "curl/8.5.0" {
				t.Errorf("userAgent = %v", v)
			}
		default:
			if v != nil {
				t.Errorf("identity.%s = %v, want null", k, v)
			}
		}
	}
	checks := map[string]any{
		"resource":                         "/items/{id}",
		"path":                             "/items/42",
		"httpMethod":                       "GET",
		"pathParameters":                   map[string]any{"id": "42"},
		"queryStringParameters":            map[string]any{"tag": "b", "x": "1"},
		"multiValueQueryStringParameters":  map[string]any{"tag": []any{"a", "b"}, "x": []any{"1"}},
		"stageVariables":                   nil,
		"body":                             nil,
		"isBase64Encoded":                  false,
		"headers.X-Multi":                  "two",
		"multiValueHeaders.X-Multi":        []any{"one", "two"},
		"headers.Host":                     "abc123.execute-api.us-east-1.amazonaws.com",
		"headers.X-Forwarded-For":          "203.0.113.7",
		"headers.X-Forwarded-Port":         "443",
		"headers.X-Forwarded-Proto":        "https",
		"headers.X-Amzn-Trace-Id":          "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
		"requestContext.resourceId":        "r35x1e",
		"requestContext.resourcePath":      "/items/{id}",
		"requestContext.httpMethod":        "GET",
		"requestContext.extendedRequestId": "LgAvhF7wIAMF1Rw=",
		"requestContext.requestTime":       "21/Nov/2026:15:04:05 +0000",
		"requestContext.requestTimeEpoch":  float64(1795273445123),
		"requestContext.path":              "/prod/items/42",
		"requestContext.accountId":         testAccount,
		"requestContext.protocol":          "HTTP/1.1",
		"requestContext.stage":             "prod",
		"requestContext.domainPrefix":      "abc123",
		"requestContext.domainName":        "abc123.execute-api.us-east-1.amazonaws.com",
		"requestContext.requestId":         "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		"requestContext.deploymentId":      "dep001",
		"requestContext.apiId":             "abc123",
	}
	for _, k := range sortedKeys(checks) {
		var got any
		if strings.Contains(k, ".") {
			got = get(ev, k)
		} else {
			got = ev[k]
		}
		if !reflect.DeepEqual(got, checks[k]) {
			t.Errorf("%s = %#v, want %#v", k, got, checks[k])
		}
	}
	for _, k := range []string{`"body":null`, `"queryStringParameters":{`, `"stageVariables":null`} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("event lacks %s: %s", k, raw)
		}
	}
}

func TestEventEmptyQueryAndNoParams(t *testing.T) {
	ig := compileProxy(t, &fakeInvoker{}, nil)
	for _, target := range []string{"/status", "/status?", "/status?&"} {
		c := newCall(t, "GET", "/status", "prod", target, "")
		_, raw := eventOf(t, ig, c)
		for _, k := range []string{`"queryStringParameters":null`, `"multiValueQueryStringParameters":null`, `"pathParameters":null`, `"stageVariables":null`, `"body":null`} {
			if !strings.Contains(string(raw), k) {
				t.Errorf("%s: event lacks %s: %s", target, k, raw)
			}
		}
	}
}

func TestEventEncoding(t *testing.T) {
	ig := compileProxy(t, &fakeInvoker{}, nil)
	c := newCall(t, "GET", "/users/{email}/{proxy+}", "prod",
		"/users/test%2Balias@example.com/a%2Fb/c+d/?plus=a+b&email=x%2By&space=foo%20bar&flag&semi=1;other=2&bad=%zz", "")
	c.StageVars = map[string]string{"env": "prod"}
	ev, _ := eventOf(t, ig, c)
	checks := map[string]any{
		// The path and the path parameters keep the client's encoding (a
		// greedy parameter loses the trailing slash).
		"path":                        "/users/test%2Balias@example.com/a%2Fb/c+d/",
		"requestContext.path":         "/prod/users/test%2Balias@example.com/a%2Fb/c+d/",
		"pathParameters.email":        "test%2Balias@example.com",
		"pathParameters.proxy":        "a%2Fb/c+d",
		"queryStringParameters.plus":  "a b",
		"queryStringParameters.email": "x+y",
		"queryStringParameters.space": "foo bar",
		"queryStringParameters.flag":  "",
		"queryStringParameters.semi":  "1",
		"queryStringParameters.other": "2",
		"queryStringParameters.bad":   "%zz",
		"stageVariables":              map[string]any{"env": "prod"},
	}
	for _, k := range sortedKeys(checks) {
		var got any
		if strings.Contains(k, ".") {
			got = get(ev, k)
		} else {
			got = ev[k]
		}
		if !reflect.DeepEqual(got, checks[k]) {
			t.Errorf("%s = %#v, want %#v", k, got, checks[k])
		}
	}
}

func TestEventBinaryBody(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\xff"
	cases := []struct {
		types       []string
		contentType string
		body        string
		wantBody    string
		wantB64     bool
	}{
		{[]string{"image/png"}, "image/png", png, "iVBORw0KGgoA/w==", true},
		{[]string{"image/*"}, "image/png", png, "iVBORw0KGgoA/w==", true},
		{[]string{"*/*"}, "application/json", `{"a":1}`, "eyJhIjoxfQ==", true},
		{[]string{"application/octet-stream"}, "Application/Octet-Stream; charset=x", "ab", "YWI=", true},
		{[]string{"image/*"}, "application/json", `{"a":1}`, `{"a":1}`, false},
		{nil, "image/png", "abc", "abc", false},
	}
	for _, tc := range cases {
		ig := compileProxy(t, &fakeInvoker{}, tc.types)
		c := newCall(t, "POST", "/upload", "prod", "/upload", tc.body)
		c.Header.Set("Content-Type", tc.contentType)
		ev, _ := eventOf(t, ig, c)
		if ev["body"] != tc.wantBody || ev["isBase64Encoded"] != tc.wantB64 {
			t.Errorf("types %v, %s: body %q isBase64Encoded %v, want %q %v", tc.types, tc.contentType, ev["body"], ev["isBase64Encoded"], tc.wantBody, tc.wantB64)
		}
	}
}

func TestEventHeaders(t *testing.T) {
	ig := compileProxy(t, &fakeInvoker{}, nil)
	c := newCall(t, "POST", "/h", "prod", "/h", "{}")
	h := c.Header
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", "2")
	h.Set("Connection", "keep-alive, X-Hop")
	h.Set("X-Hop", "1")
	h.Set("Expect", "100-continue")
	h.Set("Te", "trailers")
	h.Set("User-Agent", "python-requests/testing")
	h.Set("Authorization", "Bearer token")
	h.Set("X-Forwarded-For", "198.51.100.1")
	h.Set("X-Amzn-Trace-Id", "Root=client")
	h.Set("X-Custom-Header", "v")
	h.Set("Via", "1.1 proxy")
	c.HeaderNames = map[string]string{"User-Agent": "user-agent", "Authorization": "aUThorization", "X-Custom-Header": "x-custom-HEADER", "Content-Type": "content-type"}
	ev, raw := eventOf(t, ig, c)
	headers := ev["headers"].(map[string]any)
	want := map[string]any{
		"content-type":      "application/json",
		"User-Agent":        "python-requests/testing", // AWS capitalizes User-Agent and Authorization
		"Authorization":     "Bearer token",
		"x-custom-HEADER":   "v",
		"Via":               "1.1 proxy",
		"Host":              "abc123.execute-api.us-east-1.amazonaws.com",
		"X-Forwarded-For":   "198.51.100.1, 203.0.113.7",
		"X-Forwarded-Port":  "443",
		"X-Forwarded-Proto": "https",
		"X-Amzn-Trace-Id":   "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
	}
	if !reflect.DeepEqual(headers, want) {
		t.Errorf("headers = %v\nwant %v", headers, want)
	}
	if len(ev["multiValueHeaders"].(map[string]any)) != len(want) {
		t.Errorf("multiValueHeaders has other names than headers: %s", raw)
	}

	// A SigV4 Authorization, or any on an AWS_IAM method, is not passed.
	c = newCall(t, "GET", "/h", "prod", "/h", "")
	c.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=abc")
	if ev, _ := eventOf(t, ig, c); get(ev, "headers.Authorization") != nil {
		t.Error("a SigV4 Authorization header reached the function")
	}
	c = newCall(t, "GET", "/h", "prod", "/h", "")
	c.Header.Set("Authorization", "Bearer x")
	c.Caller = &Caller{AccessKey: "AKIDEXAMPLE", AccountID: testAccount, Caller: "AIDAEXAMPLE", User: "AIDAEXAMPLE", UserARN: "arn:aws:iam::123456789012:user/alice"}
	ev, _ = eventOf(t, ig, c)
	if get(ev, "headers.Authorization") != nil {
		t.Error("Authorization of an AWS_IAM request reached the function")
	}
	for k, want := range map[string]any{"accessKey": "AKIDEXAMPLE", "accountId": testAccount, "caller": "AIDAEXAMPLE",
		"user": "AIDAEXAMPLE", "userArn": "arn:aws:iam::123456789012:user/alice", "cognitoIdentityId": nil} {
		if got := get(ev, "requestContext.identity."+k); got != want {
			t.Errorf("identity.%s = %v, want %v", k, got, want)
		}
	}
	// Plain HTTP, no trace id, no port.
	c = newCall(t, "GET", "/h", "prod", "/h", "")
	c.TLS, c.TraceID, c.ListenerPort = nil, "", ""
	c.Header.Set("X-Amzn-Trace-Id", "Root=1-client")
	ev, _ = eventOf(t, ig, c)
	if get(ev, "headers.X-Forwarded-Proto") != "http" || get(ev, "headers.X-Amzn-Trace-Id") != "Root=1-client" || get(ev, "headers.X-Forwarded-Port") != nil {
		t.Errorf("headers = %v", ev["headers"])
	}
}

func TestEventAuthorizerAndAPIKey(t *testing.T) {
	ig := compileProxy(t, &fakeInvoker{}, nil)
	c := newCall(t, "GET", "/me", "prod", "/me", "")
	c.Authorizer = &Authorizer{PrincipalID: "user-1", Latency: 12 * time.Millisecond,
		Context: map[string]any{"stringKey": "value", "numberKey": float64(123), "floatKey": 1.5, "booleanKey": true, "principalId": "ignored"}}
	c.APIKey, c.APIKeyID = "key-value", "keyid1"
	c.SourceVpce = "vpce-0123456789abcdef0"
	c.OperationName = "GetMe"
	ev, _ := eventOf(t, ig, c)
	want := map[string]any{"principalId": "user-1", "integrationLatency": float64(12), "stringKey": "value",
		"numberKey": "123", "floatKey": "1.5", "booleanKey": "true"}
	if got := get(ev, "requestContext.authorizer"); !reflect.DeepEqual(got, want) {
		t.Errorf("authorizer = %v, want %v", got, want)
	}
	for k, want := range map[string]any{"requestContext.identity.apiKey": "key-value", "requestContext.identity.apiKeyId": "keyid1",
		"requestContext.identity.vpceId": "vpce-0123456789abcdef0", "requestContext.operationName": "GetMe"} {
		if got := get(ev, k); got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
}

func TestEventClientCertFromTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS()
	defer srv.Close()
	crt := srv.Certificate()
	ig := compileProxy(t, &fakeInvoker{}, nil)
	c := newCall(t, "GET", "/h", "prod", "/h", "")
	c.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{crt}}
	// Only a request through a mutual-TLS domain carries the certificate.
	if ev, _ := eventOf(t, ig, c); get(ev, "requestContext.identity.clientCert") != nil {
		t.Errorf("clientCert without ClientCert: %v", get(ev, "requestContext.identity.clientCert"))
	}
	c.ClientCert = ClientCertOf(c.TLS)
	ev, _ := eventOf(t, ig, c)
	cc, ok := get(ev, "requestContext.identity.clientCert").(map[string]any)
	if !ok {
		t.Fatalf("no clientCert: %v", get(ev, "requestContext.identity"))
	}
	if !strings.HasPrefix(str(cc["clientCertPem"]), "-----BEGIN CERTIFICATE-----") || str(cc["subjectDN"]) != crt.Subject.String() ||
		str(get(ev, "requestContext.identity.clientCert.validity.notAfter")) != crt.NotAfter.UTC().Format(certTimeLayout) {
		t.Errorf("clientCert = %v", cc)
	}
	if s := str(cc["serialNumber"]); s == "" || strings.Trim(s, "0123456789abcdef:") != "" {
		t.Errorf("serialNumber = %q", s)
	}
}

func TestRequestAuthorizerEventClientCert(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS()
	defer srv.Close()
	c := newCall(t, "GET", "/h", "prod", "/h", "")
	c.ClientCert = ClientCertOf(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{srv.Certificate()}})
	b, err := RequestAuthorizerEvent(c, "123456789012", "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/h", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if got := str(get(ev, "requestContext.identity.clientCert.subjectDN")); got != srv.Certificate().Subject.String() {
		t.Errorf("REQUEST authorizer event clientCert.subjectDN = %q", got)
	}
}
