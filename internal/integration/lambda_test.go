package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/model"
)

func TestCompileLambdaURI(t *testing.T) {
	good := []string{
		lambdaURI(testFnARN),
		lambdaURI(testFnARN + ":live"),
		lambdaURI("arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}"),
		lambdaURI("${stageVariables.fnArn}"),
		"arn:aws-cn:apigateway:cn-north-1:lambda:path/2015-03-31/functions/arn:aws-cn:lambda:cn-north-1:123456789012:function:f/invocations",
	}
	for _, uri := range good {
		if _, err := Compile(&model.Integration{Type: "AWS_PROXY", HTTPMethod: "POST", URI: uri}, Options{}); err != nil {
			t.Errorf("%s: %v", uri, err)
		}
	}
	bad := []string{
		"",
		"https://example.com/",
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions//invocations",
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + testFnARN,
		"arn:aws:apigateway:us-east-1:s3:path/bucket/key",
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:${stageVariables.fn/invocations",
	}
	for _, uri := range bad {
		if _, err := Compile(&model.Integration{Type: "AWS_PROXY", HTTPMethod: "POST", URI: uri}, Options{}); err == nil {
			t.Errorf("%q compiled", uri)
		}
	}
	// A Lambda function is invoked with POST; AWS answers 500 otherwise.
	if _, err := Compile(&model.Integration{Type: "AWS_PROXY", HTTPMethod: "GET", URI: lambdaURI(testFnARN)}, Options{}); err == nil {
		t.Error("an AWS_PROXY integration with httpMethod GET compiled")
	}
}

func TestInvokeRequest(t *testing.T) {
	inv := answering(`{"statusCode":200}`)
	ig := compileProxy(t, inv, nil)
	c := newCall(t, "GET", "/items/{id}", "prod", "/items/a%20b", "")
	if err := invoke(ig, c, nil); err != nil {
		t.Fatal(err)
	}
	req := inv.last(t)
	want := &lambda.InvokeRequest{
		FunctionName:   testFnARN,
		InvocationType: "RequestResponse",
		Principal:      "apigateway.amazonaws.com",
		SourceARN:      "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/items/a b",
		SourceAccount:  testAccount,
	}
	payload := req.Payload
	req.Payload = nil
	if !reflect.DeepEqual(req, want) {
		t.Errorf("InvokeRequest = %+v\nwant %+v", req, want)
	}
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil || ev["resource"] != "/items/{id}" {
		t.Errorf("payload is not the proxy event: %s", payload)
	}

	// With credentials, the call is made as the integration's role, not
	// as the service principal.
	inv = answering(`{"statusCode":200}`)
	ig = compileProxy(t, inv, nil, func(in *model.Integration) { in.Credentials = "arn:aws:iam::123456789012:role/apigw" })
	if err := invoke(ig, newCall(t, "GET", "/", "prod", "/", ""), nil); err != nil {
		t.Fatal(err)
	}
	if req := inv.last(t); req.Principal != "" || req.SourceARN != "" {
		t.Errorf("a call with credentials carries Principal %q SourceARN %q", req.Principal, req.SourceARN)
	}
}

func TestSourceARN(t *testing.T) {
	ig := compileProxy(t, &fakeInvoker{}, nil)
	for _, tc := range []struct{ resource, target, want string }{
		{"/", "/", "abc123/prod/GET/"},
		{"/items/{id}", "/items/42/", "abc123/prod/GET/items/42"},
		{"/{proxy+}", "/a%2Fb/c", "abc123/prod/GET/a/b/c"},
	} {
		c := newCall(t, "GET", tc.resource, "prod", tc.target, "")
		if got := ig.ep.(*lambdaTarget).sourceARN(c); got != "arn:aws:execute-api:us-east-1:123456789012:"+tc.want {
			t.Errorf("%s: %s", tc.target, got)
		}
	}
}

func TestStageVariableFunction(t *testing.T) {
	inv := answering(`{"statusCode":200}`)
	ig := compileProxy(t, inv, nil, func(in *model.Integration) {
		in.URI = lambdaURI("arn:aws:lambda:${stageVariables.region}:123456789012:function:${stageVariables.fn}:${stageVariables.alias}")
	})
	c := newCall(t, "GET", "/", "prod", "/", "")
	c.StageVars = map[string]string{"fn": "orders", "alias": "live", "region": "eu-west-1"}
	if err := invoke(ig, c, nil); err != nil {
		t.Fatal(err)
	}
	if got := inv.last(t).FunctionName; got != "arn:aws:lambda:eu-west-1:123456789012:function:orders:live" {
		t.Errorf("FunctionName = %q", got)
	}

	// A whole ARN from a stage variable.
	ig = compileProxy(t, inv, nil, func(in *model.Integration) { in.URI = lambdaURI("${stageVariables.fnArn}") })
	c = newCall(t, "GET", "/", "prod", "/", "")
	c.StageVars = map[string]string{"fnArn": testFnARN}
	if err := invoke(ig, c, nil); err != nil {
		t.Fatal(err)
	}
	if got := inv.last(t).FunctionName; got != testFnARN {
		t.Errorf("FunctionName = %q", got)
	}

	// A missing stage variable is a configuration error.
	n := len(inv.reqs)
	c = newCall(t, "GET", "/", "prod", "/", "")
	err := invoke(ig, c, nil)
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Status != 500 || fe.Type != fault.APIConfigurationError {
		t.Errorf("missing stage variable: %v", err)
	}
	if len(inv.reqs) != n {
		t.Error("the function was invoked without a name")
	}
}

// invoke runs the integration for c and writes its answer to w, as the
// gateway does; w may be nil when the answer does not matter.
func invoke(ig *Integration, c *Call, w http.ResponseWriter) error {
	if w == nil {
		w = httptest.NewRecorder()
	}
	var x Exchange
	defer x.Close()
	out := Response{Header: w.Header()}
	if err := ig.Invoke(context.Background(), c, &x, &out); err != nil {
		out.Close()
		return err
	}
	out.Write(w)
	return nil
}

// serve runs the integration for one request and renders a gateway error
// as the gateway would.
func serve(t *testing.T, ig *Integration, c *Call) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := invoke(ig, c, rec); err != nil {
		var fe *fault.Error
		if !errors.As(err, &fe) {
			t.Fatalf("Invoke returned %T %v, not a *fault.Error", err, err)
		}
		fault.Write(rec, err)
	}
	return rec
}

func TestProxyResponses(t *testing.T) {
	const internal = `{"message":"Internal server error"}`
	cases := []struct {
		name    string
		payload string
		status  int
		body    string
		header  http.Header // expected values; nil value means absent
	}{
		{"full", `{"statusCode":201,"headers":{"Content-Type":"text/plain","X-A":"1"},"body":"hi","isBase64Encoded":false}`,
			201, "hi", http.Header{"Content-Type": {"text/plain"}, "X-A": {"1"}, "Content-Length": {"2"}}},
		{"tutorial", `{"statusCode": 200, "body": "\"Hello from 5minslearn!\"", "headers": {"Content-Type": "application/json"}}`,
			200, `"Hello from 5minslearn!"`, http.Header{"Content-Type": {"application/json"}}},
		{"no body", `{"statusCode":200}`, 200, "", http.Header{"Content-Type": {"application/json"}, "Content-Length": {"0"}}},
		{"only headers", `{"headers":{"test-header":"value"}}`, 200, "", http.Header{"Test-Header": {"value"}}},
		{"status string", `{"statusCode":"201"}`, 201, "", nil},
		{"null fields", `{"statusCode":404,"headers":null,"multiValueHeaders":null,"body":null,"isBase64Encoded":null}`, 404, "", nil},
		{"scalar header values", `{"statusCode":200,"headers":{"header-bool":true,"header-num":42}}`, 200, "",
			http.Header{"Header-Bool": {"true"}, "Header-Num": {"42"}}},
		{"multi-value", `{"statusCode":200,"multiValueHeaders":{"Set-Cookie":["a=1","b=2"],"test-multi":["v1","v2"]}}`, 200, "",
			http.Header{"Set-Cookie": {"a=1", "b=2"}, "Test-Multi": {"v1", "v2"}}},
		{"multi-value wins", `{"statusCode":200,"multiValueHeaders":{"tesT-Multi":["value-multi"]},"headers":{"test-multi":"value-solo","X-Solo":"s"}}`, 200, "",
			http.Header{"Test-Multi": {"value-multi"}, "X-Solo": {"s"}}},
		{"remapped and dropped", `{"statusCode":401,"headers":{"WWW-Authenticate":"Basic","Server":"fn","Date":"d","Authorization":"x","Transfer-Encoding":"chunked","Via":"v","Content-Length":"99","x-amzn-RequestId":"fn-id"},"body":"no"}`,
			401, "no", http.Header{"X-Amzn-Remapped-Www-Authenticate": {"Basic"}, "X-Amzn-Remapped-Server": {"fn"}, "X-Amzn-Remapped-Date": {"d"},
				"X-Amzn-Remapped-Authorization": {"x"}, "X-Amzn-Remapped-Content-Length": {"99"}, "X-Amzn-Remapped-X-Amzn-Requestid": {"fn-id"},
				"Www-Authenticate": nil, "Server": nil, "Transfer-Encoding": nil, "Via": nil, "Content-Length": {"2"}, "X-Amzn-Requestid": {"gw-id"}}},
		{"matching Content-Length", `{"statusCode":200,"headers":{"content-length":"2"},"body":"ok"}`, 200, "ok",
			http.Header{"Content-Length": {"2"}, "X-Amzn-Remapped-Content-Length": nil}},
		{"base64 without binary types", `{"statusCode":200,"body":"dGVzdC1kYXRh","isBase64Encoded":true}`, 200, "dGVzdC1kYXRh", nil},

		// Malformed answers: 502.
		{"not JSON", `hello`, 502, internal, http.Header{"X-Amzn-Errortype": {"InternalServerErrorException"}}},
		{"JSON string", `"justAString"`, 502, internal, nil},
		{"JSON null", `null`, 502, internal, nil},
		{"empty payload", ``, 502, internal, nil},
		{"list", `[{"statusCode":200}]`, 502, internal, nil},
		{"unknown key", `{"statusCode":200,"wrongValue":"value"}`, 502, internal, nil},
		{"errorMessage document", `{"errorMessage":"boom","errorType":"Error"}`, 502, internal, nil},
		{"status not a number", `{"statusCode":"test"}`, 502, internal, nil},
		{"status fraction", `{"statusCode":200.5}`, 502, internal, nil},
		{"status out of range", `{"statusCode":700}`, 502, internal, nil},
		{"status informational", `{"statusCode":100}`, 502, internal, nil},
		{"body object", `{"statusCode":200,"body":{"a":1}}`, 502, internal, nil},
		{"body list", `{"statusCode":200,"body":["a"]}`, 502, internal, nil},
		{"headers list", `{"statusCode":200,"headers":["a"]}`, 502, internal, nil},
		{"header value object", `{"statusCode":200,"headers":{"a":{"b":1}}}`, 502, internal, nil},
		{"multi-value not a list", `{"statusCode":200,"multiValueHeaders":{"test-multi-invalid":"value1"}}`, 502, internal, nil},
		{"isBase64Encoded not boolean", `{"statusCode":200,"isBase64Encoded":"yes"}`, 502, internal, nil},
		{"trailing data", `{"statusCode":200} {}`, 502, internal, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ig := compileProxy(t, answering(tc.payload), nil)
			c := newCall(t, "GET", "/", "prod", "/", "")
			rec := httptest.NewRecorder()
			rec.Header().Set("X-Amzn-Requestid", "gw-id") // set by the gateway before the integration runs
			if err := invoke(ig, c, rec); err != nil {
				fault.Write(rec, err)
			}
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			for k, want := range tc.header {
				if got := rec.Header()[k]; !reflect.DeepEqual(got, []string(want)) {
					t.Errorf("header %s = %q, want %q (all: %v)", k, got, want, rec.Header())
				}
			}
		})
	}
}

func TestProxyResponseBinary(t *testing.T) {
	const payload = `{"statusCode":200,"headers":{"Content-Type":"image/png"},"body":"iVBORw0KGgo=","isBase64Encoded":true}`
	cases := []struct {
		types  []string
		accept string
		body   string
	}{
		{[]string{"image/png"}, "image/png", "\x89PNG\r\n\x1a\n"},
		{[]string{"image/*"}, "image/png, text/html", "\x89PNG\r\n\x1a\n"},
		{[]string{"*/*"}, "", "\x89PNG\r\n\x1a\n"},
		// AWS honours the first Accept media type only.
		{[]string{"image/png"}, "text/html, image/png", "iVBORw0KGgo="},
		{[]string{"image/png"}, "*/*", "iVBORw0KGgo="},
		{nil, "image/png", "iVBORw0KGgo="},
	}
	for _, tc := range cases {
		ig := compileProxy(t, answering(payload), tc.types)
		c := newCall(t, "GET", "/img", "prod", "/img", "")
		if tc.accept != "" {
			c.Header.Set("Accept", tc.accept)
		}
		rec := serve(t, ig, c)
		if rec.Code != 200 || rec.Body.String() != tc.body || rec.Header().Get("Content-Type") != "image/png" {
			t.Errorf("types %v Accept %q: %d %q %v", tc.types, tc.accept, rec.Code, rec.Body.String(), rec.Header())
		}
	}
	// A body that is not base64 cannot be decoded: 502.
	ig := compileProxy(t, answering(`{"statusCode":200,"body":"not base64!","isBase64Encoded":true}`), []string{"*/*"})
	if rec := serve(t, ig, newCall(t, "GET", "/img", "prod", "/img", "")); rec.Code != 502 {
		t.Errorf("undecodable body: %d", rec.Code)
	}
}

func TestLambdaFailures(t *testing.T) {
	cases := []struct {
		name   string
		inv    *fakeInvoker
		status int
		typ    fault.Type
		msg    string
	}{
		{"function error", &fakeInvoker{result: &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled",
			Payload: []byte(`{"errorMessage":"boom","errorType":"Error","stackTrace":[]}`)}}, 502, fault.IntegrationFailure, "Internal server error"},
		{"function timeout", &fakeInvoker{result: &lambda.InvokeResult{StatusCode: 200, FunctionError: "Unhandled",
			Payload: []byte(`{"errorMessage":"Task timed out after 3.00 seconds","errorType":"Sandbox.Timedout"}`)}}, 502, fault.IntegrationFailure, "Internal server error"},
		{"handled function error with a valid-looking payload", &fakeInvoker{result: &lambda.InvokeResult{StatusCode: 200, FunctionError: "Handled",
			Payload: []byte(`{"statusCode":200}`)}}, 502, fault.IntegrationFailure, "Internal server error"},
		{"missing permission", &fakeInvoker{err: &lambda.Error{Status: 403, Type: "AccessDeniedException", Message: "not allowed"}},
			500, fault.APIConfigurationError, "Internal server error"},
		{"function not found", &fakeInvoker{err: &lambda.Error{Status: 404, Type: "ResourceNotFoundException", Message: "Function not found"}},
			500, fault.APIConfigurationError, "Internal server error"},
		{"throttled", &fakeInvoker{err: &lambda.Error{Status: 429, Type: "TooManyRequestsException", Message: "Rate Exceeded."}},
			500, fault.IntegrationFailure, "Internal server error"},
		{"service error", &fakeInvoker{err: &lambda.Error{Status: 500, Type: "ServiceException", Message: "oops"}},
			500, fault.IntegrationFailure, "Internal server error"},
		{"unreachable", &fakeInvoker{err: errors.New("dial tcp: connection refused")}, 500, fault.IntegrationFailure, "Internal server error"},
		{"integration timeout", &fakeInvoker{block: true}, 504, fault.IntegrationTimeout, "Endpoint request timed out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ig := compileProxy(t, tc.inv, nil, func(in *model.Integration) { in.TimeoutInMillis = 50 })
			err := invoke(ig, newCall(t, "GET", "/", "prod", "/", ""), nil)
			var fe *fault.Error
			if !errors.As(err, &fe) {
				t.Fatalf("Invoke = %v, want a *fault.Error", err)
			}
			if fe.Status != tc.status || fe.Type != tc.typ || fe.Message != tc.msg {
				t.Errorf("got %d %s %q, want %d %s %q", fe.Status, fe.Type, fe.Message, tc.status, tc.typ, tc.msg)
			}
			rec := httptest.NewRecorder()
			fault.Write(rec, err)
			if want := `{"message":"` + tc.msg + `"}`; rec.Body.String() != want {
				t.Errorf("body %s, want %s", rec.Body.String(), want)
			}
		})
	}

	// No Lambda service configured.
	ig := compileProxy(t, nil, nil)
	var fe *fault.Error
	if err := invoke(ig, newCall(t, "GET", "/", "prod", "/", ""), nil); !errors.As(err, &fe) || fe.Status != 500 {
		t.Errorf("without an Invoker: %v", err)
	}
}

func TestRequestBodyTooLarge(t *testing.T) {
	inv := answering(`{"statusCode":200}`)
	ig := compileProxy(t, inv, nil)
	c := newCall(t, "POST", "/", "prod", "/", "")
	c.Body = http.MaxBytesReader(nil, io.NopCloser(strings.NewReader("too long")), 3)
	err := invoke(ig, c, nil)
	if !errors.Is(err, fault.ErrRequestTooLarge) {
		t.Errorf("Invoke = %v, want ErrRequestTooLarge", err)
	}
	if len(inv.reqs) != 0 {
		t.Error("the function was invoked")
	}
}

// TestEndToEnd runs one request through Compile and Invoke into a
// ResponseRecorder: the tutorial's function, echoing what it received.
func TestEndToEnd(t *testing.T) {
	var got map[string]any
	inv := &echoInvoker{t: t, event: &got}
	ig, err := Compile(&model.Integration{Type: "AWS_PROXY", HTTPMethod: "POST", URI: lambdaURI(testFnARN), TimeoutInMillis: 29000},
		Options{Lambda: inv, Region: testRegion, AccountID: testAccount})
	if err != nil {
		t.Fatal(err)
	}
	c := newCall(t, "POST", "/items/{id}", "prod", "/items/42?verbose=1", `{"name":"widget"}`)
	c.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	if err := invoke(ig, c, rec); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 200 || rec.Body.String() != `"Hello from 5minslearn!"` || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Values("Set-Cookie")[1] != "b=2" {
		t.Errorf("response %d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
	if got["body"] != `{"name":"widget"}` || get(got, "pathParameters.id") != "42" || get(got, "queryStringParameters.verbose") != "1" ||
		get(got, "requestContext.httpMethod") != "POST" {
		t.Errorf("the function received %v", got)
	}
}

type echoInvoker struct {
	t     *testing.T
	event *map[string]any
}

func (e *echoInvoker) Invoke(_ context.Context, req *lambda.InvokeRequest) (*lambda.InvokeResult, error) {
	if err := json.Unmarshal(req.Payload, e.event); err != nil {
		e.t.Errorf("event: %v", err)
	}
	out, _ := json.Marshal(map[string]any{
		"statusCode":        200,
		"body":              `"Hello from 5minslearn!"`,
		"headers":           map[string]string{"Content-Type": "application/json"},
		"multiValueHeaders": map[string][]string{"Set-Cookie": {"a=1", "b=2"}},
	})
	return &lambda.InvokeResult{StatusCode: 200, Payload: out}, nil
}
