package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
)

// Mapping templates on integrations, end to end: APIs built with the AWS
// SDK, templates rendered by apigw's Velocity engine per request.
func TestDataPlaneMappingTemplates(t *testing.T) {
	in := apigwtest.Start(t)

	// The backend records the body it got and answers a JSON document.
	var mu sync.Mutex
	var gotBody, gotQuery, gotHeader string
	be := newDPBackend(t, "people", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotBody, gotQuery, gotHeader = string(b), r.URL.RawQuery, r.Header.Get("X-Tenant")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "p-7", "person": {"first": "Ana", "last": "Lima"}, "roles": ["admin", "dev"]}`)
	})
	last := func() (string, string, string) {
		mu.Lock()
		defer mu.Unlock()
		return gotBody, gotQuery, gotHeader
	}

	a := newDPAPI(t, in, "templates")

	// A MOCK whose status depends on a query parameter.
	a.method("/mock", "GET", false)
	a.integration("/mock", "GET", &apigateway.PutIntegrationInput{
		Type:             types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": #if($input.params('x')=='1')200#{else}404#end}`},
	})
	a.response("/mock", "GET", "200", "", nil, map[string]string{"application/json": `{"found": true, "x": "$input.params('x')"}`})
	a.response("/mock", "GET", "404", "404", nil, map[string]string{"application/json": `{"found": false}`})

	// An HTTP integration that reshapes the client's JSON for the backend,
	// and the backend's answer for the client.
	a.method("/people", "POST", false)
	a.integration("/people", "POST", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeHttp, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(be.URL + "/people"),
		PassthroughBehavior: aws.String("NEVER"),
		RequestTemplates: map[string]string{"application/json": `#set($p = $input.path('$'))
#set($context.requestOverride.header.X-Tenant = $input.params('tenant'))
#set($context.requestOverride.querystring.source = "gateway")
{"name": "$p.first $p.last", "tags": [#foreach($t in $p.tags)"$t.toUpperCase()"#if($foreach.hasNext),#end#end], "stage": "$context.stage"}`},
	})
	a.response("/people", "POST", "201", "", nil, map[string]string{"application/json": `#set($r = $input.path('$'))
#if($r.roles.contains("admin"))#set($context.responseOverride.header.X-Admin = "yes")#end
{"personId": "$r.id", "displayName": "$r.person.last, $r.person.first", "roleCount": $r.roles.size()}`})

	// Overrides of the answer's status from a MOCK's response template.
	a.method("/teapot", "GET", false)
	a.integration("/teapot", "GET", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
	})
	a.response("/teapot", "GET", "200", "", nil, map[string]string{"application/json": `#set($context.responseOverride.status = 418)
#set($context.responseOverride.header.X-Brew = "tea")
{"short": "stout"}`})
	a.deploy("t", nil)

	t.Run("mock status from the query", func(t *testing.T) {
		for _, c := range []struct {
			x      string
			status int
			body   string
		}{{"1", 200, `{"found": true, "x": "1"}`}, {"2", 404, `{"found": false}`}, {"", 404, `{"found": false}`}} {
			got := dpGet(t, a.url("t", "/mock?x="+c.x))
			if got.status != c.status || got.body != c.body {
				t.Errorf("x=%s: got %d %s, want %d %s", c.x, got.status, got.body, c.status, c.body)
			}
		}
	})

	t.Run("http reshapes both ways", func(t *testing.T) {
		req := dpRequest(t, "POST", a.url("t", "/people?tenant=acme"), strings.NewReader(`{"first": "Ana", "last": "Lima", "tags": ["a", "b"]}`))
		req.Header.Set("Content-Type", "application/json")
		got := dpCall(t, req)
		if want := `{"personId": "p-7", "displayName": "Lima, Ana", "roleCount": 2}`; got.status != 201 || got.body != want {
			t.Errorf("got %d %s, want 201 %s", got.status, got.body, want)
		}
		if v := got.header.Get("X-Admin"); v != "yes" {
			t.Errorf("X-Admin = %q, want yes (responseOverride)", v)
		}
		if ct := got.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		body, query, tenant := last()
		if want := `{"name": "Ana Lima", "tags": ["A","B"], "stage": "t"}`; body != want {
			t.Errorf("backend body %s, want %s", body, want)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Errorf("backend body is not JSON: %v", err)
		}
		if query != "source=gateway" || tenant != "acme" {
			t.Errorf("backend query %q, X-Tenant %q: the requestOverride did not apply", query, tenant)
		}
	})

	t.Run("415 with NEVER", func(t *testing.T) {
		n := be.count()
		req := dpRequest(t, "POST", a.url("t", "/people"), strings.NewReader(`<person/>`))
		req.Header.Set("Content-Type", "application/xml")
		dpWantError(t, dpCall(t, req), 415, "UnsupportedMediaTypeException", "Unsupported Media Type")
		if be.count() != n {
			t.Error("the backend was called")
		}
	})

	t.Run("body not JSON is 400", func(t *testing.T) {
		req := dpRequest(t, "POST", a.url("t", "/people"), strings.NewReader(`first=Ana`))
		req.Header.Set("Content-Type", "application/json")
		got := dpCall(t, req)
		if got.status != 400 || !strings.HasPrefix(got.body, `{"message":"Could not parse request body into json: `) {
			t.Errorf("got %d %s", got.status, got.body)
		}
		if et := got.header.Get("x-amzn-ErrorType"); et != "BadRequestException" {
			t.Errorf("x-amzn-ErrorType = %q", et)
		}
	})

	t.Run("response override", func(t *testing.T) {
		got := dpGet(t, a.url("t", "/teapot"))
		if got.status != 418 || got.body != `{"short": "stout"}` || got.header.Get("X-Brew") != "tea" {
			t.Errorf("got %d %s X-Brew=%q", got.status, got.body, got.header.Get("X-Brew"))
		}
	})
}

// contentHandling with the API's binaryMediaTypes: a binary answer reaches
// a text client base64-encoded and a binary one as it is; a base64 request
// is decoded for the backend.
func TestDataPlaneContentHandling(t *testing.T) {
	in := apigwtest.Start(t)
	png := "\x89PNG\r\n\x1a\n"
	var mu sync.Mutex
	var got string
	be := newDPBackend(t, "img", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = string(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "image/png")
		io.WriteString(w, png)
	})
	a := newDPAPI(t, in, "binary")
	if _, err := in.Client.UpdateRestApi(t.Context(), &apigateway.UpdateRestApiInput{RestApiId: aws.String(a.id),
		PatchOperations: []types.PatchOperation{{Op: types.OpAdd, Path: aws.String("/binaryMediaTypes/image~1png")}}}); err != nil {
		t.Fatalf("UpdateRestApi: %v", err)
	}
	a.method("/img", "POST", false)
	a.integration("/img", "POST", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeHttp, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(be.URL + "/img"),
		ContentHandling: types.ContentHandlingStrategyConvertToBinary,
	})
	a.response("/img", "POST", "200", "", nil, nil)
	a.deploy("b", nil)

	for _, c := range []struct{ accept, want string }{
		{"application/json", "iVBORw0KGgo="},
		{"image/png", png},
	} {
		req := dpRequest(t, "POST", a.url("b", "/img"), strings.NewReader("aGk="))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Accept", c.accept)
		ans := dpCall(t, req)
		if ans.status != 200 || ans.body != c.want {
			t.Errorf("Accept %s: got %d %q, want %q", c.accept, ans.status, ans.body, c.want)
		}
		mu.Lock()
		if got != "hi" {
			t.Errorf("backend got %q, want the decoded hi", got)
		}
		mu.Unlock()
	}
}
