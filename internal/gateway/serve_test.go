package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/model"
)

// itemsSnapshot is deployment dep1 of API apiID, whose GET /items/{id}
// has integration ig.
func itemsSnapshot(apiID string, ig *model.Integration) *model.Snapshot {
	return &model.Snapshot{
		DeploymentID: "dep1",
		Api:          model.RestApi{ID: apiID, Name: apiID},
		Resources: []*model.Resource{
			{ID: "root", Path: "/"},
			{ID: "items", ParentID: "root", PathPart: "items", Path: "/items"},
			{ID: "item", ParentID: "items", PathPart: "{id}", Path: "/items/{id}", ResourceMethods: map[string]*model.Method{
				"GET": {HTTPMethod: "GET", AuthorizationType: "NONE", MethodIntegration: ig},
			}},
		},
	}
}

// mockIntegration answers 200 {"ok":true}.
func mockIntegration() *model.Integration {
	return &model.Integration{
		Type: "MOCK", TimeoutInMillis: 29000,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
		IntegrationResponses: map[string]*model.IntegrationResponse{
			"200": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"ok":true}`}},
		},
	}
}

// itemsGateway serves itemsSnapshot("api", ig) on stage dev, its backends
// called through transport (nil: the defaults).
func itemsGateway(tb testing.TB, ig *model.Integration, transport http.RoundTripper) *Gateway {
	tb.Helper()
	g := New(nil)
	g.Integration.Transport = transport
	dep := g.compile(itemsSnapshot("api", ig))
	st := &model.Stage{StageName: "dev", DeploymentID: "dep1"}
	g.state.Store(&state{apis: map[string]map[string]*Stage{"api": {"dev": newStage("api", st, dep, nil)}}})
	return g
}

// mockGateway serves one API with GET /items/{id} integrated with MOCK.
func mockGateway(tb testing.TB) *Gateway { return itemsGateway(tb, mockIntegration(), nil) }

func TestServeMock(t *testing.T) {
	g := mockGateway(t)
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/_aws/execute-api/api/dev/items/42", 200, `{"ok":true}`},
		{"/_aws/execute-api/api/dev/items", 403, `{"message":"Missing Authentication Token"}`},
		{"/_aws/execute-api/api/prod/items/42", 403, `{"message":"Forbidden"}`},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			g.ServeHTTP(w, httptest.NewRequest("GET", c.path, nil))
			if w.Code != c.status || w.Body.String() != c.body {
				t.Fatalf("%s: %d %s, want %d %s", c.path, w.Code, w.Body, c.status, c.body)
			}
			if w.Header().Get("x-amzn-RequestId") == "" || w.Header().Get("x-amz-apigw-id") == "" {
				t.Fatalf("missing request id headers: %v", w.Header())
			}
		})
	}
}

// BenchmarkServeMock is the whole data plane pipeline without sockets:
// resolve, route with a path parameter, MOCK integration, response.
func BenchmarkServeMock(b *testing.B) {
	g := mockGateway(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items/42", nil)
		for pb.Next() {
			w := discardWriter{h: http.Header{}}
			g.ServeHTTP(&w, r)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

// BenchmarkServeMockTemplate is BenchmarkServeMock with templates that
// read the request: the MOCK's statusCode from a query parameter, the
// answer from a path parameter. It is what evaluating templates costs.
func BenchmarkServeMockTemplate(b *testing.B) {
	ig := mockIntegration()
	ig.RequestTemplates["application/json"] = `{"statusCode": #if($input.params('x')=='1')200#{else}404#end}`
	ig.IntegrationResponses["200"].ResponseTemplates["application/json"] = `{"id": "$input.params('id')", "ok": true}`
	g := itemsGateway(b, ig, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items/42?x=1", nil)
		for pb.Next() {
			w := discardWriter{h: http.Header{}}
			g.ServeHTTP(&w, r)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// proxyGateway serves GET /items/{id} as HTTP_PROXY to backend.
func proxyGateway(tb testing.TB, backend string, transport http.RoundTripper) *Gateway {
	return itemsGateway(tb, &model.Integration{Type: "HTTP_PROXY", HTTPMethod: "GET", URI: backend + "/small", TimeoutInMillis: 29000}, transport)
}

// BenchmarkServeProxy is the whole pipeline to an HTTP_PROXY backend on
// loopback (the backend's cost is included), with apigw's own HTTP/1.1
// client (the default) and with net/http's Transport.
func BenchmarkServeProxy(b *testing.B) {
	body := []byte(`{"data":"` + strings.Repeat("x", 117) + `"}`)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(backend.Close)
	for _, tc := range []struct {
		name      string
		transport http.RoundTripper
	}{{"client=h1", nil}, {"client=net-http", integration.DefaultTransport}} {
		b.Run(tc.name, func(b *testing.B) {
			g := proxyGateway(b, backend.URL, tc.transport)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items/42", nil)
				r.RemoteAddr = "127.0.0.1:1234"
				for pb.Next() {
					w := discardWriter{h: http.Header{}}
					g.ServeHTTP(&w, r)
					if w.status != 200 {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		})
	}
}

// BenchmarkServeHTTP is BenchmarkServeProxy's h1 case through a non-proxy
// HTTP integration without templates: the integration request and response
// phases that map (and here map nothing).
func BenchmarkServeHTTP(b *testing.B) {
	body := []byte(`{"data":"` + strings.Repeat("x", 117) + `"}`)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(backend.Close)
	g := itemsGateway(b, &model.Integration{Type: "HTTP", HTTPMethod: "GET", URI: backend.URL + "/small", TimeoutInMillis: 29000,
		IntegrationResponses: map[string]*model.IntegrationResponse{"200": {StatusCode: "200"}}}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items/42", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		for pb.Next() {
			w := discardWriter{h: http.Header{}}
			g.ServeHTTP(&w, r)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	})
}

func TestAccessLog(t *testing.T) {
	g := mockGateway(t)
	var buf bytes.Buffer
	g.AccessLog = NewAccessLog(&buf)
	for _, p := range []string{"/_aws/execute-api/api/dev/items/42", "/_aws/execute-api/api/dev/nope"} {
		g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	// A stage format replaces the default.
	st := g.state.Load().apis["api"]["dev"]
	st.logFormat = compileLogFormat(`$context.httpMethod $context.resourcePath $context.status "$context.error.message"`)
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items/7", nil))
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items", nil))
	g.AccessLog.Close()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	var first map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("default format is not JSON: %v\n%s", err, lines[0])
	}
	if first["status"] != "200" || first["resourcePath"] != "/items/{id}" || first["stage"] != "dev" || len(first["requestId"]) != 36 || first["responseLength"] != "11" {
		t.Errorf("first line: %v", first)
	}
	var second map[string]string
	json.Unmarshal([]byte(lines[1]), &second)
	if second["status"] != "403" {
		t.Errorf("second line: %v", second)
	}
	if lines[2] != `GET /items/{id} 200 ""` || lines[3] != `GET  403 "Missing Authentication Token"` {
		t.Errorf("custom format lines: %q, %q", lines[2], lines[3])
	}
}

// A template that fails answers AWS's 500, and the log line names it.
func TestServeTemplateErrorLogged(t *testing.T) {
	ig := mockIntegration()
	ig.IntegrationResponses["200"].ResponseTemplates["application/json"] = `#set($s = "ab")$s.substring($input.params('id').length())`
	g := itemsGateway(t, ig, nil)
	var log bytes.Buffer
	g.Log = slog.New(slog.NewTextHandler(&log, nil))
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items/12345", nil))
	if w.Code != 500 || w.Body.String() != `{"message":"Internal server error"}` {
		t.Errorf("got %d %s", w.Code, w.Body)
	}
	if !strings.Contains(log.String(), "integration response 200 template application/json") {
		t.Errorf("the log does not name the template:\n%s", log.String())
	}
}
