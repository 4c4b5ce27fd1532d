package control

import (
	"errors"
	"net/http"
	"testing"

	"github.com/apigw/apigw/internal/model"
)

// FuzzParsePatch feeds arbitrary PATCH bodies to the parser and the
// operations it accepts to every resource's patch function, on fresh values.
// Nothing may panic, and every error must be a 400 *Error, as the handlers
// send them to clients.
func FuzzParsePatch(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`{"patchOperations":[]}`,
		`{"patchOperations":null}`,
		`{"patchOperations":[{"op":"replace","path":"/name","value":"x"}]}`,
		`{"patchOperations":[{"op":"add","path":"/binaryMediaTypes/image~1png"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/binaryMediaTypes/image~1png","value":"a/b"}]}`,
		`{"patchOperations":[{"op":"remove","path":"/binaryMediaTypes/x"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/minimumCompressionSize","value":"99999999999999999999"}]}`,
		`{"patchOperations":[{"op":"add","path":"/endpointConfiguration/vpcEndpointIds","value":"a, b,,c"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/endpointConfiguration/types/EDGE","value":"PRIVATE"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/*/*/throttling/rateLimit","value":"1e400"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/~1a~1b/GET/throttling/burstLimit","value":"-5"}]}`,
		`{"patchOperations":[{"op":"remove","path":"/~1a/GET"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/*/*/logging/loglevel","value":"INFO"}]}`,
		`{"patchOperations":[{"op":"add","path":"/variables/a","value":"b"},{"op":"remove","path":"/variables/zz"}]}`,
		`{"patchOperations":[{"op":"remove","path":"/accessLogSettings"},{"op":"replace","path":"/accessLogSettings/format","value":"$context.requestId"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/timeoutInMillis","value":"x"},{"op":"add","path":"/cacheKeyParameters/a"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/tlsConfig/insecureSkipVerification","value":"true"}]}`,
		`{"patchOperations":[{"op":"add","path":"/requestParameters/method.request.header.a","value":"maybe"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/apiKeyRequired"}]}`,
		`{"patchOperations":[{"op":"wrong","path":"/a"},{"op":"bad","path":"~"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/a~2b"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/canarySettings/percentTraffic","value":"NaN"},{"op":"replace","path":"/canarySettings/stageVariableOverrides/v","value":"x"}]}`,
		`{"patchOperations":[{"op":"copy","from":"/canarySettings/stageVariableOverrides","path":"/variables"},{"op":"remove","path":"/canarySettings"}]}`,
		`{"patchOperations":[{"op":"replace","path":"a"}]}`,
		`{"patchOperations":[{"op":"replace","path":"/","value":null}]}`,
		`{"patchOperations":[{"op":1}]}`,
		`{"patchOperations":[{"op":"add","path":"/x","extra":true}]}`,
		`{"patchOperations":[]} trailing`,
		`[`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(where string, err error) {
			t.Helper()
			if err == nil {
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: error %T %v is not an *Error", where, err, err)
			}
			if e.Status != http.StatusBadRequest {
				t.Fatalf("%s: status %d (%v), want 400", where, e.Status, e)
			}
			if e.Type == "" || e.Message == "" {
				t.Fatalf("%s: error without type or message: %+v", where, e)
			}
		}
		ops, err := ParsePatch(body, "updateRestApiInput")
		check("ParsePatch", err)
		if err != nil {
			return
		}
		for _, op := range ops {
			if len(op.Segs) == 0 {
				t.Fatalf("op %+v accepted without path segments", op)
			}
		}
		applyAll := func(where string, apply func(PatchOp) error, validate func() error) {
			t.Helper()
			for _, op := range ops {
				if err := apply(op); err != nil {
					check(where, err)
					return
				}
			}
			if validate != nil {
				check(where+" validate", validate())
			}
		}

		compression := int64(1024)
		apis := []*model.RestApi{
			{ID: "a", Name: "n", ApiKeySource: "HEADER"},
			{ID: "b", Name: "n", ApiKeySource: "HEADER", BinaryMediaTypes: []string{"image/png", "a/b"},
				MinimumCompressionSize: &compression,
				EndpointConfiguration:  &model.EndpointConfiguration{Types: []string{"PRIVATE"}, VpcEndpointIds: []string{"a"}}},
		}
		for _, api := range apis {
			applyAll("patchRestApi", func(op PatchOp) error { return patchRestApi(api, op) }, func() error { return validateRestApi(api) })
		}

		stages := []*model.Stage{
			newStage("dev", "d", 1),
			{StageName: "nil-maps"},
		}
		for _, st := range stages {
			applyAll("patchStage", func(op PatchOp) error { return patchStage(st, op) }, func() error { return validateVariables(st.Variables) })
		}

		methods := []*model.Method{
			{HTTPMethod: "GET", AuthorizationType: "NONE"},
			{HTTPMethod: "POST", AuthorizationType: "AWS_IAM", RequestParameters: map[string]bool{"method.request.header.a": true},
				RequestModels: map[string]string{"application/json": "Empty"}, AuthorizationScopes: []string{"s"}},
		}
		for _, m := range methods {
			applyAll("patchMethod", func(op PatchOp) error { return patchMethod(m, op) }, func() error { return validateMethod(m) })
		}

		integs := []*model.Integration{
			{Type: "MOCK", TimeoutInMillis: 29000, PassthroughBehavior: "WHEN_NO_MATCH"},
			{Type: "HTTP", HTTPMethod: "GET", URI: "https://example.com", TimeoutInMillis: 100, PassthroughBehavior: "NEVER",
				RequestParameters: map[string]string{"integration.request.header.a": "'x'"}, CacheKeyParameters: []string{"a"},
				TLSConfig: &model.TLSConfig{}},
		}
		for _, in := range integs {
			applyAll("patchIntegration", func(op PatchOp) error { return patchIntegration(in, op) }, func() error { return validateIntegration(in) })
		}
	})
}
