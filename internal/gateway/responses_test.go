package gateway

import (
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
)

// responsesGateway serves GET /items/{id} (MOCK) on stage dev, with
// stage variable env=dev and the given gateway responses.
func responsesGateway(tb testing.TB, grs ...*model.GatewayResponse) *Gateway {
	tb.Helper()
	g := New(nil)
	snap := itemsSnapshot("api", mockIntegration())
	snap.GatewayResponses = grs
	dep := g.compile(snap)
	st := &model.Stage{StageName: "dev", DeploymentID: "dep1", Variables: map[string]string{"env": "dev"}}
	g.state.Store(&state{apis: map[string]map[string]*Stage{"api": {"dev": {APIID: "api", Name: "dev", Vars: st.Variables, Stage: st, Deployment: dep}}}})
	return g
}

func gr(typ, status string, params, templates map[string]string) *model.GatewayResponse {
	return &model.GatewayResponse{ResponseType: typ, StatusCode: status, ResponseParameters: params, ResponseTemplates: templates}
}

// TestResponseTable checks the fallbacks as AWS documents them, type by
// type: own customisation, else DEFAULT_4XX/5XX by the class of the type's
// default status (with DEFAULT_*'s status code when it has one), else the
// default answer (nil).
func TestResponseTable(t *testing.T) {
	g := New(nil)
	cases := []struct {
		name string
		grs  []*model.GatewayResponse
		// want maps a type to the customised type whose entry it uses, and
		// the status that entry sets (0: the error's own).
		want map[fault.Type]fault.Type
	}{
		{"none", nil, nil},
		{"DEFAULT_4XX covers every 4XX type", []*model.GatewayResponse{gr("DEFAULT_4XX", "", nil, nil)}, map[fault.Type]fault.Type{
			fault.Default4XX: fault.Default4XX, fault.ResourceNotFound: fault.Default4XX, fault.Unauthorized: fault.Default4XX,
			fault.InvalidAPIKey: fault.Default4XX, fault.AccessDenied: fault.Default4XX, fault.InvalidSignature: fault.Default4XX,
			fault.ExpiredToken: fault.Default4XX, fault.MissingAuthenticationToken: fault.Default4XX, fault.UnsupportedMediaType: fault.Default4XX,
			fault.BadRequestParameters: fault.Default4XX, fault.BadRequestBody: fault.Default4XX, fault.RequestTooLarge: fault.Default4XX,
			fault.Throttled: fault.Default4XX, fault.QuotaExceeded: fault.Default4XX, fault.WAFFiltered: fault.Default4XX,
		}},
		{"DEFAULT_5XX covers every 5XX type", []*model.GatewayResponse{gr("DEFAULT_5XX", "", nil, nil)}, map[fault.Type]fault.Type{
			fault.Default5XX: fault.Default5XX, fault.AuthorizerFailure: fault.Default5XX, fault.AuthorizerConfigurationError: fault.Default5XX,
			fault.IntegrationFailure: fault.Default5XX, fault.IntegrationTimeout: fault.Default5XX, fault.APIConfigurationError: fault.Default5XX,
		}},
		{"own customisation wins", []*model.GatewayResponse{gr("DEFAULT_4XX", "", nil, nil), gr("THROTTLED", "503", nil, nil), gr("INTEGRATION_TIMEOUT", "504", nil, nil)}, map[fault.Type]fault.Type{
			fault.Default4XX: fault.Default4XX, fault.ResourceNotFound: fault.Default4XX, fault.Unauthorized: fault.Default4XX,
			fault.InvalidAPIKey: fault.Default4XX, fault.AccessDenied: fault.Default4XX, fault.InvalidSignature: fault.Default4XX,
			fault.ExpiredToken: fault.Default4XX, fault.MissingAuthenticationToken: fault.Default4XX, fault.UnsupportedMediaType: fault.Default4XX,
			fault.BadRequestParameters: fault.Default4XX, fault.BadRequestBody: fault.Default4XX, fault.RequestTooLarge: fault.Default4XX,
			fault.Throttled: fault.Throttled, fault.QuotaExceeded: fault.Default4XX, fault.WAFFiltered: fault.Default4XX,
			fault.IntegrationTimeout: fault.IntegrationTimeout,
		}},
		{"one type alone", []*model.GatewayResponse{gr("MISSING_AUTHENTICATION_TOKEN", "404", nil, nil)}, map[fault.Type]fault.Type{
			fault.MissingAuthenticationToken: fault.MissingAuthenticationToken,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := itemsSnapshot("api", mockIntegration())
			snap.GatewayResponses = tc.grs
			table := g.compileResponses(snap)
			if len(tc.grs) == 0 {
				if table != nil {
					t.Fatal("a deployment without gateway responses has a table")
				}
				return
			}
			own := map[fault.Type]*gatewayResponse{}
			for _, r := range tc.grs {
				own[fault.Type(r.ResponseType)] = table[fault.Type(r.ResponseType).Index()]
			}
			for i, d := range fault.Types {
				want, covered := tc.want[d.Type]
				switch got := table[i]; {
				case !covered && got != nil:
					t.Errorf("%s: customised, want the default", d.Type)
				case covered && got != own[want]:
					t.Errorf("%s: does not use %s's entry", d.Type, want)
				}
			}
		})
	}
}

// TestRenderResponses runs requests that fail through the whole pipeline
// and checks status, headers and body.
func TestRenderResponses(t *testing.T) {
	cors := map[string]string{"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}
	cases := []struct {
		name   string
		grs    []*model.GatewayResponse
		path   string
		accept string
		status int
		header map[string]string
		body   string
	}{
		{name: "no customisation", path: "/items", status: 403, body: `{"message":"Missing Authentication Token"}`},
		{name: "CORS on DEFAULT_4XX reaches a missing route", grs: []*model.GatewayResponse{gr("DEFAULT_4XX", "", cors, map[string]string{"application/json": fault.DefaultTemplate})},
			path: "/items", status: 403, header: map[string]string{"Access-Control-Allow-Origin": "*", "Content-Type": "application/json", "X-Amzn-Errortype": "MissingAuthenticationTokenException"},
			body: `{"message":"Missing Authentication Token"}`},
		{name: "DEFAULT_5XX does not touch a 4XX", grs: []*model.GatewayResponse{gr("DEFAULT_5XX", "", cors, nil)},
			path: "/items", status: 403, header: map[string]string{"Access-Control-Allow-Origin": ""}, body: `{"message":"Missing Authentication Token"}`},
		{name: "status code on DEFAULT_4XX applies to the other 4XX types", grs: []*model.GatewayResponse{gr("DEFAULT_4XX", "418", nil, map[string]string{"application/json": fault.DefaultTemplate})},
			path: "/items", status: 418, body: `{"message":"Missing Authentication Token"}`},
		{name: "own status beats DEFAULT_4XX's", grs: []*model.GatewayResponse{gr("DEFAULT_4XX", "418", cors, nil), gr("MISSING_AUTHENTICATION_TOKEN", "404", nil, map[string]string{"application/json": `{"error":"not found","type":"$context.error.responseType"}`})},
			path: "/items", status: 404, header: map[string]string{"Access-Control-Allow-Origin": ""}, body: `{"error":"not found","type":"MISSING_AUTHENTICATION_TOKEN"}`},
		{name: "template by Accept", grs: []*model.GatewayResponse{gr("MISSING_AUTHENTICATION_TOKEN", "404", nil, map[string]string{
			"application/json": `{"m":$context.error.messageString}`, "text/plain": `no route $context.path ($context.error.message)`})},
			path: "/items", accept: "text/html, text/plain;q=0.9", status: 404, header: map[string]string{"Content-Type": "text/plain"}, body: `no route /dev/items (Missing Authentication Token)`},
		{name: "application/json when Accept names none", grs: []*model.GatewayResponse{gr("MISSING_AUTHENTICATION_TOKEN", "404", nil, map[string]string{
			"application/json": `{"m":$context.error.messageString}`, "text/plain": `x`})},
			path: "/items", accept: "image/png", status: 404, header: map[string]string{"Content-Type": "application/json"}, body: `{"m":"Missing Authentication Token"}`},
		{name: "header sources", grs: []*model.GatewayResponse{gr("DEFAULT_4XX", "", map[string]string{
			"gatewayresponse.header.X-Lit":   "'a b'",
			"gatewayresponse.header.X-Hdr":   "method.request.header.X-In",
			"gatewayresponse.header.X-Qs":    "method.request.querystring.q",
			"gatewayresponse.header.X-Stage": "stageVariables.env",
			"gatewayresponse.header.X-Req":   "context.stage",
			"gatewayresponse.header.X-Type":  "context.error.responseType",
			"gatewayresponse.header.X-None":  "method.request.header.Absent",
		}, nil)},
			path: "/items?q=v", status: 403, header: map[string]string{"X-Lit": "a b", "X-Hdr": "in", "X-Qs": "v", "X-Stage": "dev", "X-Req": "dev", "X-Type": "MISSING_AUTHENTICATION_TOKEN", "X-None": ""}},
		{name: "stage variables and request id in a template", grs: []*model.GatewayResponse{gr("DEFAULT_4XX", "", nil, map[string]string{"application/json": `{"env":"$stageVariables.env","unknown":"$context.nothing","id":"${context.requestId}"}`})},
			path: "/items", status: 403, body: `{"env":"dev","unknown":"","id":"REQID"}`},
		{name: "Velocity directives and methods in a template", grs: []*model.GatewayResponse{gr("DEFAULT_4XX", "", nil, map[string]string{"application/json": "#set($t = $context.error.responseType)\n{\"type\":\"$t.toLowerCase()\"#if($stageVariables.env == \"dev\"),\"debug\":$context.error.messageString#end}"})},
			path: "/items", status: 403, body: `{"type":"missing_authentication_token","debug":"Missing Authentication Token"}`},
		{name: "an unknown stage is not the API's", grs: []*model.GatewayResponse{gr("DEFAULT_4XX", "", cors, nil)},
			path: "/../prod/items", status: 403, header: map[string]string{"Access-Control-Allow-Origin": ""}, body: `{"message":"Forbidden"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := responsesGateway(t, tc.grs...)
			r := httptest.NewRequest("GET", "/_aws/execute-api/api/dev"+tc.path, nil)
			if tc.path == "/../prod/items" {
				r = httptest.NewRequest("GET", "/_aws/execute-api/api/prod/items", nil)
			}
			r.Header.Set("X-In", "in")
			if tc.accept != "" {
				r.Header.Set("Accept", tc.accept)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			for k, v := range tc.header {
				if got := w.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			body := tc.body
			if id := w.Header().Get("X-Amzn-Requestid"); body != "" {
				body = strings.Replace(body, "REQID", id, 1)
			}
			if body != "" && w.Body.String() != body {
				t.Errorf("body %s, want %s", w.Body, body)
			}
			if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Length %s for %d bytes", cl, w.Body.Len())
			}
		})
	}
}

// TestRenderErrorTypes renders typed errors of every kind the steps
// return, as the renderer sees them.
func TestRenderErrorTypes(t *testing.T) {
	www := &fault.Error{Type: fault.Unauthorized, Status: 401, ErrorType: "UnauthorizedException", Message: "Unauthorized"}
	g := responsesGateway(t,
		gr("UNAUTHORIZED", "401", map[string]string{"gatewayresponse.header.WWW-Authenticate": "'Basic realm=\"api\"'"}, map[string]string{"application/json": fault.DefaultTemplate}),
		gr("THROTTLED", "429", map[string]string{"gatewayresponse.header.Retry-After": "'10'"}, map[string]string{"application/json": `{"slowDown":true}`}),
		gr("BAD_REQUEST_BODY", "400", nil, map[string]string{"application/json": `{"message":$context.error.messageString,"detail":"$context.error.validationErrorString"}`}),
		gr("DEFAULT_5XX", "", map[string]string{"gatewayresponse.header.X-Five": "'yes'"}, nil),
	)
	st := g.state.Load().apis["api"]["dev"]
	cases := []struct {
		name   string
		err    error
		status int
		header map[string]string
		body   string
	}{
		{"UNAUTHORIZED", www, 401, map[string]string{"WWW-Authenticate": `Basic realm="api"`}, `{"message":"Unauthorized"}`},
		{"THROTTLED", fault.ErrThrottled, 429, map[string]string{"Retry-After": "10"}, `{"slowDown":true}`},
		{"BAD_REQUEST_BODY", &fault.Error{Type: fault.BadRequestBody, Status: 400, ErrorType: "BadRequestException", Message: "Invalid request body", ValidationError: "object has missing required properties ([\\\"name\\\"])"},
			400, nil, `{"message":"Invalid request body","detail":"object has missing required properties ([\"name\"])"}`},
		{"a plain error is DEFAULT_5XX", errors.New("boom"), 500, map[string]string{"X-Five": "yes"}, ""},
		{"INTEGRATION_TIMEOUT falls back to DEFAULT_5XX", fault.ErrIntegrationTimeout, 504, map[string]string{"X-Five": "yes"}, ""},
		{"a null message", &fault.Error{Type: fault.AuthorizerFailure, Status: 500, ErrorType: "AuthorizerConfigurationException", NullMessage: true}, 500, map[string]string{"X-Five": "yes"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rq := g.newRequest()
			defer g.freeRequest(rq)
			r := httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items/1", nil)
			rq.FromHTTP(r)
			rq.stage, rq.StageVars = st, st.Vars
			w := httptest.NewRecorder()
			g.render(w, rq, &StepError{Step: "test", Err: tc.err})
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			for k, v := range tc.header {
				if got := w.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tc.body != "" && w.Body.String() != tc.body {
				t.Errorf("body %s, want %s", w.Body, tc.body)
			}
		})
	}
}
