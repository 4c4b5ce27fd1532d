package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

const itemsTarget = "/_aws/execute-api/api/dev/items/42"

// targetOfLength is itemsTarget with a query string that makes it n
// characters long.
func targetOfLength(n int) string {
	return itemsTarget + "?q=" + strings.Repeat("a", n-len(itemsTarget)-len("?q="))
}

// headOfSize is a GET of itemsTarget whose header section, counted as
// checkHead counts it ("Name: value\r\n", Host included), is n bytes.
func headOfSize(n int) *http.Request {
	r := httptest.NewRequest("GET", itemsTarget, nil) // Host: example.com
	pad := n - len("Host: example.com\r\n") - len("X-Pad: \r\n")
	r.Header.Set("X-Pad", strings.Repeat("p", pad))
	return r
}

// withFields is a GET of itemsTarget with n header fields, Host included.
func withFields(n int) *http.Request {
	r := httptest.NewRequest("GET", itemsTarget, nil)
	for i := range n - 1 {
		r.Header.Add("X-N", strconv.Itoa(i%10))
	}
	return r
}

// Each limit: at the limit the request reaches the backend; one over, it is
// refused with AWS's shape and the backend sees nothing.
func TestRequestLimits(t *testing.T) {
	var seen atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	custom := RequestLimits{URLLength: 20000, HeaderBytes: 65536, HeaderCount: 10}
	const (
		uriTooLong = `{"message":"Request URI too long"}`
		tooLarge   = `{"message":"Request Header Fields Too Large"}`
	)
	cases := []struct {
		name    string
		limits  RequestLimits
		private bool
		req     func() *http.Request
		status  int
		body    string // of an error: AWS-shaped
	}{
		{"url at 8192", RequestLimits{}, false, func() *http.Request { return httptest.NewRequest("GET", targetOfLength(8192), nil) }, 200, ""},
		{"url at 8193", RequestLimits{}, false, func() *http.Request { return httptest.NewRequest("GET", targetOfLength(8193), nil) }, 414, uriTooLong},
		{"url of 1000 KB", RequestLimits{}, false, func() *http.Request { return httptest.NewRequest("GET", targetOfLength(1000<<10), nil) }, 414, uriTooLong},
		{"headers at 10240 bytes", RequestLimits{}, false, func() *http.Request { return headOfSize(10240) }, 200, ""},
		{"headers at 10241 bytes", RequestLimits{}, false, func() *http.Request { return headOfSize(10241) }, 431, tooLarge},
		{"a 1 MiB header", RequestLimits{}, false, func() *http.Request { return headOfSize(1 << 20) }, 431, tooLarge},
		{"10000 header fields", RequestLimits{}, false, func() *http.Request { return withFields(10000) }, 431, tooLarge},
		{"2048 fields, raised bytes", RequestLimits{HeaderBytes: 1 << 20}, false, func() *http.Request { return withFields(2048) }, 200, ""},
		{"2049 fields, raised bytes", RequestLimits{HeaderBytes: 1 << 20}, false, func() *http.Request { return withFields(2049) }, 431, tooLarge},
		{"raised url at 20000", custom, false, func() *http.Request { return httptest.NewRequest("GET", targetOfLength(20000), nil) }, 200, ""},
		{"raised url at 20001", custom, false, func() *http.Request { return httptest.NewRequest("GET", targetOfLength(20001), nil) }, 414, uriTooLong},
		{"raised headers at 65536", custom, false, func() *http.Request { return headOfSize(65536) }, 200, ""},
		{"raised headers at 65537", custom, false, func() *http.Request { return headOfSize(65537) }, 431, tooLarge},
		{"count at 10", custom, false, func() *http.Request { return withFields(10) }, 200, ""},
		{"count at 11", custom, false, func() *http.Request { return withFields(11) }, 431, tooLarge},
		// Through a VPC endpoint the private API's 8000 bytes apply.
		{"private headers at 8000", RequestLimits{}, true, func() *http.Request { return headOfSize(8000) }, 200, ""},
		{"private headers at 8001", RequestLimits{}, true, func() *http.Request { return headOfSize(8001) }, 431, tooLarge},
		{"private raised at 12000", RequestLimits{PrivateHeaderBytes: 12000}, true, func() *http.Request { return headOfSize(12000) }, 200, ""},
		{"private raised at 12001", RequestLimits{PrivateHeaderBytes: 12000}, true, func() *http.Request { return headOfSize(12001) }, 431, tooLarge},
		{"public at 8001", RequestLimits{}, false, func() *http.Request { return headOfSize(8001) }, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := proxyGateway(t, backend.URL, nil)
			g.Limits = c.limits
			r := c.req()
			r.RemoteAddr = "127.0.0.1:1234"
			if c.private {
				g.state.Load().apis["api"]["dev"].private = true
				r = r.WithContext(WithVPCEndpoint(r.Context(), "vpce-0abc"))
			}
			before := seen.Load()
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != c.status {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, c.status)
			}
			reached := seen.Load() - before
			if c.status == 200 {
				if reached != 1 || w.Body.String() != "ok" {
					t.Fatalf("backend reached %d times, body %q", reached, w.Body)
				}
				return
			}
			if reached != 0 {
				t.Fatalf("backend reached %d times by a refused request", reached)
			}
			if w.Body.String() != c.body {
				t.Errorf("body %s, want %s", w.Body, c.body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if et := w.Header().Get("x-amzn-ErrorType"); et == "" || !strings.HasSuffix(et, "Exception") {
				t.Errorf("x-amzn-ErrorType %q", et)
			}
			if w.Header().Get("x-amzn-RequestId") == "" {
				t.Errorf("no x-amzn-RequestId")
			}
		})
	}
}

// A request with a chunked body is answered with Connection: close, so that
// net/http closes the connection after it (RFC 9112 §6.1); others are not.
func TestChunkedRequestClosesConnection(t *testing.T) {
	g := mockGateway(t)
	for _, te := range [][]string{nil, {"chunked"}} {
		r := httptest.NewRequest("GET", itemsTarget, strings.NewReader("x"))
		r.TransferEncoding = te
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if got, want := w.Header().Get("Connection") == "close", te != nil; got != want || w.Code != 200 {
			t.Errorf("Transfer-Encoding %q: status %d, Connection %q", te, w.Code, w.Header().Get("Connection"))
		}
	}
}

func TestCheckHeadDoesNotAllocate(t *testing.T) {
	g := mockGateway(t)
	r := httptest.NewRequest("GET", itemsTarget+"?a=b", nil)
	for _, k := range []string{"Accept", "User-Agent", "Authorization", "X-Api-Key", "Content-Type", "X-Amz-Date", "Cookie", "Accept-Encoding"} {
		r.Header.Set(k, strings.Repeat("v", 40))
	}
	w := discardWriter{h: http.Header{}}
	private := headOfSize(9000).WithContext(WithVPCEndpoint(r.Context(), "vpce-0abc"))
	for name, r := range map[string]*http.Request{"public": r, "private, between the limits": private} {
		var err error
		if n := testing.AllocsPerRun(100, func() { err = g.checkHead(&w, r) }); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
		if (err != nil) != (r == private) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// BenchmarkCheckHead is the head check alone, on a request with ten
// header fields of a usual size.
func BenchmarkCheckHead(b *testing.B) {
	g := mockGateway(b)
	r := httptest.NewRequest("GET", itemsTarget+"?a=b", nil)
	for _, k := range []string{"Accept", "User-Agent", "Authorization", "X-Api-Key", "Content-Type", "X-Amz-Date", "Cookie", "Accept-Encoding", "X-Forwarded-For", "Connection"} {
		r.Header.Set(k, strings.Repeat("v", 40))
	}
	w := discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		if err := g.checkHead(&w, r); err != nil {
			b.Fatal(err)
		}
	}
}
