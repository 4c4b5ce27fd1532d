package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apigw/apigw/internal/cache"
	"github.com/apigw/apigw/internal/model"
)

// cachedGateway serves GET /items/{id} as HTTP_PROXY to a backend that
// counts its calls, on stage dev with the stage cache on for GET, keyed by
// the path parameter id.
func cachedGateway(tb testing.TB) (*Gateway, *atomic.Int64) {
	tb.Helper()
	var calls atomic.Int64
	body := []byte(`{"data":"` + strings.Repeat("x", 117) + `"}`)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	tb.Cleanup(backend.Close)
	g := New(nil)
	ig := &model.Integration{Type: "HTTP_PROXY", HTTPMethod: "GET", URI: backend.URL + "/small", TimeoutInMillis: 29000,
		CacheKeyParameters: []string{"method.request.path.id"}}
	dep := g.compile(itemsSnapshot("api", ig))
	st := &model.Stage{StageName: "dev", DeploymentID: "dep1", CacheClusterEnabled: true, CacheClusterSize: "0.5",
		MethodSettings: map[string]*model.MethodSetting{"*/*": {CachingEnabled: true, CacheTtlInSeconds: 300}}}
	ns := newStage("api", st, dep, nil)
	ns.cache = cache.New(stageCacheBytes(st.CacheClusterSize, 64<<20), nil, "api/dev:0:")
	ns.cachePolicies = compileCachePolicies(st, dep)
	tb.Cleanup(ns.cache.Close)
	g.state.Store(&state{apis: map[string]map[string]*Stage{"api": {"dev": ns}}})
	return g, &calls
}

func TestServeCached(t *testing.T) {
	g, calls := cachedGateway(t)
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		return w
	}
	a := get("/_aws/execute-api/api/dev/items/1")
	b := get("/_aws/execute-api/api/dev/items/1")
	if calls.Load() != 1 || a.Body.String() != b.Body.String() || b.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("second GET: calls %d, %q vs %q, header %v", calls.Load(), a.Body, b.Body, b.Header())
	}
	if a.Header().Get("x-amzn-RequestId") == b.Header().Get("x-amzn-RequestId") {
		t.Fatal("the cached answer kept the first request's id")
	}
	get("/_aws/execute-api/api/dev/items/2")
	if calls.Load() != 2 {
		t.Fatalf("another path parameter value: calls %d, want 2", calls.Load())
	}
	m := g.state.Load().apis["api"]["dev"].metrics
	if m.CacheHits.Load() != 1 || m.CacheMisses.Load() != 2 {
		t.Fatalf("hits %d misses %d, want 1 and 2", m.CacheHits.Load(), m.CacheMisses.Load())
	}
}

func TestCacheKeyParams(t *testing.T) {
	for in, want := range map[string]cacheKeyParam{
		"method.request.querystring.color":       {'q', "color"},
		"method.request.multivaluequerystring.t": {'m', "t"},
		"method.request.header.x-tenant":         {'h', "X-Tenant"},
		"method.request.path.id":                 {'p', "id"},
	} {
		if got, ok := parseCacheKeyParam(in); !ok || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "method.request.body", "integration.request.path.id", "method.request.path."} {
		if _, ok := parseCacheKeyParam(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
	if got := stageCacheBytes("237", 512<<20); got != 512<<20 {
		t.Errorf("237 GB capped at %d", got)
	}
	if got := stageCacheBytes("0.5", 0); got != 512<<20 {
		t.Errorf("0.5 GB = %d bytes, want 2^29", got)
	}
}

// BenchmarkServeCached is BenchmarkServeProxy answered from the stage
// cache: every request after the first is a hit, and the backend is called
// once.
func BenchmarkServeCached(b *testing.B) {
	g, calls := cachedGateway(b)
	// One miss fills the entry before the parallel loop.
	g.ServeHTTP(&discardWriter{h: http.Header{}}, httptest.NewRequest("GET", "/_aws/execute-api/api/dev/items/42", nil))
	b.ReportAllocs()
	b.ResetTimer()
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
	if calls.Load() != 1 {
		b.Fatalf("backend called %d times, want 1", calls.Load())
	}
}
