package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// rawExchange writes head (and nothing else) on a new connection to addr
// and reads the answers that come back, until the connection closes or
// want answers have been read. It returns them with whether the
// connection was seen to close.
func rawExchange(t *testing.T, addr, head string, want int) (answers []dpAnswer, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(dpWait))
	// One write: a request and what follows it arrive together.
	go io.WriteString(conn, head) // fails once the gateway closes: expected
	br := bufio.NewReader(conn)
	for len(answers) < want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			// A close with unread bytes may reach the client as a reset.
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
				return answers, true
			}
			t.Fatalf("after %d answers: %v", len(answers), err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Close { // ReadResponse takes "Connection: close" out of the header
			resp.Header.Set("Connection", "close")
		}
		answers = append(answers, dpAnswer{resp.StatusCode, resp.Header, string(b)})
	}
	return answers, false
}

// The data listener enforces API Gateway's quotas on the request's head
// before any backend sees it: just under passes, just over gets AWS's
// shape of answer, and a head too large for them all is refused the same
// way as long as net/http reads it (1 MiB).
func TestDataPlaneRequestLimits(t *testing.T) {
	in := apigwtest.Start(t)
	be := newDPBackend(t, "limits", nil)
	a := newDPAPI(t, in, "limits")
	a.proxy("/p", "GET", be.URL+"/p", nil)
	a.deploy("s", nil)
	addr := strings.TrimPrefix(in.DataURL, "http://")
	u, _ := url.Parse(a.url("s", "/p"))
	target := u.RequestURI()
	hostLine := "Host: " + addr + "\r\n"

	// targetOf is target with a query string, n characters in all.
	targetOf := func(n int) string { return target + "?q=" + strings.Repeat("a", n-len(target)-3) }
	// padTo is a header field that makes the header section n bytes.
	padTo := func(n int) string {
		return "X-Pad: " + strings.Repeat("p", n-len(hostLine)-len("X-Pad: \r\n")) + "\r\n"
	}
	cases := []struct {
		name    string
		target  string
		headers string
		status  int
		errType string
		message string
	}{
		{"url of 8192 characters", targetOf(8192), "", 200, "", ""},
		{"url of 8193 characters", targetOf(8193), "", 414, "RequestURITooLongException", "Request URI too long"},
		{"url of 1000 KB", targetOf(1000 << 10), "", 414, "RequestURITooLongException", "Request URI too long"},
		{"headers of 10240 bytes", target, padTo(10240), 200, "", ""},
		{"headers of 10241 bytes", target, padTo(10241), 431, "RequestHeaderFieldsTooLargeException", "Request Header Fields Too Large"},
		{"a header of 1 MiB", target, "X-Big: " + strings.Repeat("b", 1<<20) + "\r\n", 431, "RequestHeaderFieldsTooLargeException", "Request Header Fields Too Large"},
		{"10000 header fields", target, strings.Repeat("X-N: 1\r\n", 10000), 431, "RequestHeaderFieldsTooLargeException", "Request Header Fields Too Large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := be.count()
			answers, _ := rawExchange(t, addr, "GET "+c.target+" HTTP/1.1\r\n"+hostLine+c.headers+"\r\n", 1)
			if len(answers) != 1 {
				t.Fatalf("no answer")
			}
			got := answers[0]
			dpCheckIDs(t, got.header)
			if c.status == 200 {
				if got.status != 200 || be.count() != before+1 {
					t.Fatalf("status %d %s; backend requests %d → %d", got.status, got.body, before, be.count())
				}
				if rec := be.last(t); len(rec.RequestURI) != len(c.target)-len(target)+len("/p") {
					t.Errorf("backend got a request URI of %d characters", len(rec.RequestURI))
				}
				return
			}
			dpWantError(t, got, c.status, c.errType, c.message)
			if n := be.count(); n != before {
				t.Errorf("the backend saw a refused request (%d → %d)", before, n)
			}
		})
	}
}

// The limits are flags: with them raised, what the defaults refuse passes.
func TestDataPlaneRequestLimitsRaised(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) {
		c.RequestLimits.URLLength = 2 << 20
		c.RequestLimits.HeaderBytes = 2 << 20
		c.RequestLimits.HeaderCount = 20000
	})
	// The backend too takes heads larger than net/http's default.
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	be.Config.MaxHeaderBytes = 4 << 20
	be.Start()
	t.Cleanup(be.Close)
	a := newDPAPI(t, in, "raised")
	a.proxy("/p", "GET", be.URL+"/p", nil)
	a.deploy("s", nil)
	addr := strings.TrimPrefix(in.DataURL, "http://")
	u, _ := url.Parse(a.url("s", "/p"))
	for name, head := range map[string]string{
		"url of 1000 KB":      "GET " + u.RequestURI() + "?q=" + strings.Repeat("a", 1000<<10) + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n",
		"a header of 1.5 MiB": "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + addr + "\r\nX-Big: " + strings.Repeat("b", 3<<19) + "\r\n\r\n",
		"10000 header fields": "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + addr + "\r\n" + strings.Repeat("X-N: 1\r\n", 10000) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			answers, _ := rawExchange(t, addr, head, 1)
			if len(answers) != 1 || answers[0].status != 200 || answers[0].body != "ok" {
				t.Fatalf("answers %+v", answers)
			}
		})
	}
}

// A request with both Content-Length and Transfer-Encoding is answered,
// then its connection is closed: what follows it in the same write is never
// read as a request (RFC 9112 §6.1), on the data and the admin listener. A
// request framed by Content-Length alone keeps its connection.
func TestChunkedWithContentLengthClosesConnection(t *testing.T) {
	in := apigwtest.Start(t)
	be := newDPBackend(t, "smuggle", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.URL.RawQuery+" "+string(b))
	})
	a := newDPAPI(t, in, "smuggle")
	a.proxy("/p", "POST", be.URL+"/p", nil)
	a.deploy("s", nil)
	dataAddr := strings.TrimPrefix(in.DataURL, "http://")
	adminAddr := strings.TrimPrefix(in.AdminURL, "http://")
	u, _ := url.Parse(a.url("s", "/p"))
	target := u.RequestURI()
	request := func(addr, query, framing, body string) string {
		return fmt.Sprintf("POST %s?%s HTTP/1.1\r\nHost: %s\r\n%s\r\n%s", target, query, addr, framing, body)
	}
	const (
		both     = "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"
		chunked5 = "5\r\nhello\r\n0\r\n\r\n"
	)
	cases := []struct {
		name   string
		addr   string
		first  string
		closed bool
		body   string // of the first answer, on the data listener
	}{
		{"data, both", dataAddr, request(dataAddr, "first", both, chunked5), true, "first hello"},
		{"data, Content-Length only", dataAddr, request(dataAddr, "first", "Content-Length: 5\r\n", "hello"), false, "first hello"},
		{"admin, both", adminAddr, request(adminAddr, "first", both, chunked5), true, ""},
		{"admin, Content-Length only", adminAddr, request(adminAddr, "first", "Content-Length: 5\r\n", "hello"), false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := be.count()
			second := request(c.addr, "second", "Content-Length: 5\r\n", "world")
			answers, closed := rawExchange(t, c.addr, c.first+second, 2)
			if len(answers) == 0 {
				t.Fatal("no answer to the first request")
			}
			if c.addr == dataAddr && (answers[0].status != 200 || answers[0].body != c.body) {
				t.Errorf("first answer %d %q, want 200 %q", answers[0].status, answers[0].body, c.body)
			}
			if c.closed {
				if len(answers) != 1 || !closed {
					t.Errorf("%d answers, closed %v: want the first only, then the connection closed", len(answers), closed)
				}
				if got := answers[0].header.Get("Connection"); got != "close" {
					t.Errorf("Connection = %q, want close", got)
				}
				if c.addr == dataAddr {
					if n := be.count() - before; n != 1 || be.last(t).RequestURI != "/p?first" {
						t.Errorf("backend saw %d requests, the last %q", n, be.last(t).RequestURI)
					}
				}
				return
			}
			if len(answers) != 2 {
				t.Errorf("%d answers, want 2 on one kept-alive connection", len(answers))
			}
		})
	}
}
