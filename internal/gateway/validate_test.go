package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
)

// validatedGateway serves POST /items/{id}, validated by validator v with
// model Pet for application/json and Any for $default, proxied to backend.
func validatedGateway(t *testing.T, backend string, v *model.RequestValidator) *Gateway {
	t.Helper()
	snap := itemsSnapshot("api", nil)
	snap.Resources[2].ResourceMethods = map[string]*model.Method{"POST": {
		HTTPMethod: "POST", AuthorizationType: "NONE", RequestValidatorID: "v1",
		RequestParameters: map[string]bool{"method.request.querystring.q": true, "method.request.header.X-Tenant": true,
			"method.request.path.id": true, "method.request.querystring.optional": false},
		RequestModels:     map[string]string{"application/json": "Pet", "$default": "Any"},
		MethodIntegration: &model.Integration{Type: "HTTP_PROXY", HTTPMethod: "POST", URI: backend, TimeoutInMillis: 29000},
	}}
	snap.Models = []*model.Model{
		{Name: "Pet", Schema: `{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"tag":{"$ref":"https://apigateway.amazonaws.com/restapis/api/models/Tag"}}}`},
		{Name: "Tag", Schema: `{"type":"string","maxLength":3}`},
		{Name: "Any", Schema: `{"type":"array"}`},
	}
	snap.RequestValidators = []*model.RequestValidator{v}
	g := New(nil)
	dep := g.compile(snap)
	st := &model.Stage{StageName: "dev", DeploymentID: "dep1"}
	g.state.Store(&state{apis: map[string]map[string]*Stage{"api": {"dev": {APIID: "api", Name: "dev", Stage: st, Deployment: dep}}}})
	return g
}

func TestValidate(t *testing.T) {
	var calls atomic.Int32
	var seen atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		seen.Store(string(b))
		w.Write([]byte("backend"))
	}))
	t.Cleanup(backend.Close)
	both := &model.RequestValidator{ID: "v1", ValidateRequestBody: true, ValidateRequestParameters: true}
	const okPath = "/_aws/execute-api/api/dev/items/7?q=1"
	tests := []struct {
		name        string
		v           *model.RequestValidator
		path, ctype string
		header      map[string]string
		body        string
		status      int
		answer      string
		complaint   string
	}{
		{"valid", both, okPath, "application/json", map[string]string{"X-Tenant": "t"}, `{"name":"rex"}`, 200, "backend", ""},
		{"content type parameters ignored", both, okPath, "Application/JSON; charset=utf-8", map[string]string{"X-Tenant": "t"}, `{"name":"rex"}`, 200, "backend", ""},
		{"missing header and query, sorted by expression", both, "/_aws/execute-api/api/dev/items/7?q=", "application/json", nil, `{"name":"rex"}`, 400,
			`{"message":"Missing required request parameters: [X-Tenant, q]"}`, "Missing required request parameters: [X-Tenant, q]"},
		{"invalid body", both, okPath, "application/json", map[string]string{"X-Tenant": "t"}, `{"tag":"long"}`, 400,
			`{"message":"Invalid request body"}`, `[object has missing required properties (["name"]), string "long" is too long (length: 4, maximum allowed: 3)]`},
		{"model through $ref", both, okPath, "application/json", map[string]string{"X-Tenant": "t"}, `{"name":"rex","tag":"long"}`, 400,
			`{"message":"Invalid request body"}`, `[string "long" is too long (length: 4, maximum allowed: 3)]`},
		{"no content type is application/json", both, okPath, "", map[string]string{"X-Tenant": "t"}, `{}`, 400,
			`{"message":"Invalid request body"}`, `[object has missing required properties (["name"])]`},
		{"other type uses $default", both, okPath, "text/plain", map[string]string{"X-Tenant": "t"}, `{}`, 400,
			`{"message":"Invalid request body"}`, `[instance type (object) does not match any allowed primitive type (allowed: ["array"])]`},
		{"$default passes", both, okPath, "text/plain", map[string]string{"X-Tenant": "t"}, `[1]`, 200, "backend", ""},
		{"body only", &model.RequestValidator{ID: "v1", ValidateRequestBody: true}, "/_aws/execute-api/api/dev/items/7", "application/json", nil, `{"name":"a"}`, 200, "backend", ""},
		{"parameters only", &model.RequestValidator{ID: "v1", ValidateRequestParameters: true}, okPath, "application/json", map[string]string{"X-Tenant": "t"}, `nonsense`, 200, "backend", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := validatedGateway(t, backend.URL, tt.v)
			before := calls.Load()
			r := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != tt.status || w.Body.String() != tt.answer {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tt.status, tt.answer)
			}
			reached := calls.Load() != before
			if reached != (tt.status == 200) {
				t.Fatalf("backend reached: %v", reached)
			}
			if reached && seen.Load() != tt.body {
				t.Errorf("backend saw body %q, want %q", seen.Load(), tt.body)
			}
			if tt.status == 400 && w.Header().Get("x-amzn-ErrorType") != "BadRequestException" {
				t.Errorf("x-amzn-ErrorType %q", w.Header().Get("x-amzn-ErrorType"))
			}
			if tt.complaint != "" {
				// The complaint is for gateway response templates.
				rq := g.newRequest()
				r := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
				if tt.ctype != "" {
					r.Header.Set("Content-Type", tt.ctype)
				}
				for k, v := range tt.header {
					r.Header.Set(k, v)
				}
				rq.FromHTTP(r)
				rq.rawPath, rq.ctx = r.URL.EscapedPath(), r.Context()
				err := g.run(rq, pipeline)
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.ValidationError != tt.complaint {
					t.Errorf("validation error %v (%q), want %q", err, fe.ValidationError, tt.complaint)
				}
			}
		})
	}
}

func TestValidateUnknownValidatorChecksNothing(t *testing.T) {
	g := validatedGateway(t, "http://127.0.0.1:1", &model.RequestValidator{ID: "other", ValidateRequestBody: true})
	if rt := g.state.Load().apis["api"]["dev"].Routes; rt[0].check != nil {
		t.Fatal("a method whose validator is gone has a check")
	}
}
