package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func do(t *testing.T, p *Pool, req *Request) (*Response, string) {
	t.Helper()
	var resp Response
	if err := p.Do(context.Background(), req, &resp); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Target, err)
	}
	body, err := io.ReadAll(&resp)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	resp.Close()
	return &resp, string(body)
}

func get(target string) *Request {
	return &Request{Method: "GET", Target: target, Host: "backend.test", Header: http.Header{}}
}

// echo answers with what it received, as JSON-ish text.
func echoServer(t *testing.T) (*httptest.Server, *Pool) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-Uri", r.RequestURI)
		w.Header().Set("X-Te", strings.Join(r.TransferEncoding, ","))
		w.Header().Set("X-Cl", fmt.Sprint(r.ContentLength))
		w.Header().Set("X-Got", r.Header.Get("X-Sent"))
		w.Header()["X-Multi"] = []string{"a", "b"}
		if r.URL.Path == "/stream" {
			w.WriteHeader(201)
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, "part%d;", i)
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	var c Client
	t.Cleanup(c.CloseIdle)
	return srv, c.Pool(srv.Listener.Addr().String())
}

func TestAgainstNetHTTPServer(t *testing.T) {
	_, p := echoServer(t)
	for i := 0; i < 20; i++ {
		req := get("/a/b%2Fc?x=1&y=%20")
		req.Header.Set("X-Sent", fmt.Sprint(i))
		resp, body := do(t, p, req)
		if resp.StatusCode != 200 || body != "" {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
		for name, want := range map[string]string{"X-Method": "GET", "X-Host": "backend.test", "X-Uri": "/a/b%2Fc?x=1&y=%20", "X-Got": fmt.Sprint(i), "Content-Length": "0"} {
			if got := resp.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if h := resp.Header(); !equal(h["X-Multi"], []string{"a", "b"}) {
			t.Errorf("X-Multi = %q", h["X-Multi"])
		}
	}
	if d := p.Dials(); d != 1 {
		t.Errorf("20 sequential requests opened %d connections, want 1", d)
	}

	// A body of known length, an unknown one (chunked), and an empty POST.
	for _, tc := range []struct {
		cl     int64
		body   string
		wantTE string
		wantCL string
	}{
		{11, "hello world", "", "11"},
		{-1, strings.Repeat("z", 100000), "chunked", "-1"},
		{0, "", "", "0"},
	} {
		req := &Request{Method: "POST", Target: "/post", Host: "h", Header: http.Header{}, ContentLength: tc.cl}
		if tc.cl != 0 {
			req.Body = strings.NewReader(tc.body)
		}
		resp, body := do(t, p, req)
		if body != tc.body || resp.Get("X-Te") != tc.wantTE || resp.Get("X-Cl") != tc.wantCL {
			t.Errorf("POST cl=%d: echoed %d bytes, TE %q, CL %q", tc.cl, len(body), resp.Get("X-Te"), resp.Get("X-Cl"))
		}
	}

	// A chunked response, streamed by the backend.
	resp, body := do(t, p, get("/stream"))
	if resp.StatusCode != 201 || body != "part0;part1;part2;" || resp.ContentLength != -1 {
		t.Errorf("stream: %d %q cl=%d", resp.StatusCode, body, resp.ContentLength)
	}
	// HEAD: no body, and the connection is reused.
	before := p.Dials()
	resp, body = do(t, p, &Request{Method: "HEAD", Target: "/", Host: "h", Header: http.Header{}})
	if resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: %d %q", resp.StatusCode, body)
	}
	do(t, p, get("/"))
	if p.Dials() != before {
		t.Errorf("HEAD and GET after it opened %d connections", p.Dials()-before)
	}
}

// Omit drops the caller's fields, Add's replace Header's of the same name,
// and the client's own framing fields are never taken from either.
func TestOmitAndAdd(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		got <- h
	}))
	defer srv.Close()
	var c Client
	defer c.CloseIdle()
	req := &Request{Method: "GET", Target: "/", Host: "backend.test",
		Header: http.Header{"X-Keep": {"1", "2"}, "X-Drop": {"d"}, "X-Replace": {"old"}, "Host": {"evil"}, "Content-Length": {"99"}},
		Omit:   func(name string) bool { return name == "X-Drop" },
		Add:    []Field{{"X-Replace", "new1"}, {"X-Replace", "new2"}, {"X-Added", "a"}, {"Connection", "close"}},
	}
	var resp Response
	if err := c.Pool(srv.Listener.Addr().String()).Do(context.Background(), req, &resp); err != nil {
		t.Fatal(err)
	}
	resp.Close()
	h := <-got
	for name, want := range map[string][]string{"X-Keep": {"1", "2"}, "X-Drop": nil, "X-Replace": {"new1", "new2"}, "X-Added": {"a"}, "Host": {"backend.test"}, "Connection": nil} {
		if !equal(h[name], want) {
			t.Errorf("%s = %q, want %q", name, h[name], want)
		}
	}
	req.Add = []Field{{"X-Bad", "a\nb"}}
	if err := c.Pool(srv.Listener.Addr().String()).Do(context.Background(), req, &resp); err == nil {
		t.Error("an added field with a newline was sent")
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// rawServer answers each connection with script(conn's requests).
func rawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) (*Pool, *sync.WaitGroup) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	var cl Client
	t.Cleanup(cl.CloseIdle)
	return cl.Pool(ln.Addr().String()), &wg
}

// readRequest consumes one request (headers only, and a Content-Length body).
func readRequest(br *bufio.Reader) (*http.Request, error) {
	r, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, r.Body)
	return r, nil
}

func TestResponseFraming(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		method       string
		status       int
		body         string
		fields       map[string]string
		reuse        bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-type: text/plain\r\n\r\nhello", "GET", 200, "hello", map[string]string{"Content-Type": "text/plain"}, true},
		{"no reason phrase", "HTTP/1.1 204\r\n\r\n", "GET", 204, "", nil, true},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n", "GET", 200, "abcde", nil, true},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nuntil the end", "GET", 200, "until the end", nil, false},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET", 200, "ok", nil, false},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "GET", 200, "ok", nil, false},
		{"interim responses", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", "GET", 200, "x", map[string]string{"Link": ""}, true},
		{"obsolete folding", "HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\n\tthree\r\nContent-Length: 0\r\n\r\n", "GET", 200, "", map[string]string{"X-Long": "one two three"}, true},
		{"white space and case", "HTTP/1.1 200 OK\r\nx-my-HEADER:   spaced value \t\r\nContent-Length: 0\r\n\r\n", "GET", 200, "", map[string]string{"X-My-Header": "spaced value"}, true},
		{"bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "GET", 200, "ok", nil, true},
		{"head with length", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", "HEAD", 200, "", nil, true},
		{"not modified", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", "GET", 304, "", nil, true},
		{"both framings", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n", "GET", 200, "q", map[string]string{"Content-Length": ""}, false},
		{"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "GET", 200, "x", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					if _, err := readRequest(br); err != nil {
						return
					}
					io.WriteString(c, tc.answer)
					if !tc.reuse {
						return
					}
				}
			})
			for i := 0; i < 2; i++ {
				resp, body := do(t, p, &Request{Method: tc.method, Target: "/", Host: "h", Header: http.Header{}})
				if resp.StatusCode != tc.status || body != tc.body {
					t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
				}
				for k, want := range tc.fields {
					if got := resp.Get(k); want != "" && got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					} else if want == "" && got != "" {
						t.Errorf("%s = %q, want none (an interim response's, or a length that is not the body's)", k, got)
					}
				}
			}
			want := int64(2)
			if tc.reuse {
				want = 1
			}
			if p.Dials() != want {
				t.Errorf("2 requests dialed %d times, want %d", p.Dials(), want)
			}
		})
	}
}

func TestMalformedResponses(t *testing.T) {
	for _, tc := range []struct{ name, answer string }{
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n"},
		{"http/2 preface", "HTTP/2 200\r\n\r\n"},
		{"short status", "HTTP/1.1 20\r\n\r\n"},
		{"letters in status", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"status below 100", "HTTP/1.1 099 Low\r\n\r\n"},
		{"no colon", "HTTP/1.1 200 OK\r\nBroken\r\n\r\n"},
		{"space in name", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"},
		{"empty name", "HTTP/1.1 200 OK\r\n: x\r\n\r\n"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"},
		{"fold first", "HTTP/1.1 200 OK\r\n folded\r\n\r\n"},
		{"switching protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"},
		{"eof in header", "HTTP/1.1 200 OK\r\nContent-Type: text"},
		{"eof after status", "HTTP/1.1 200 OK\r\n"},
		{"nothing", ""},
		{"other transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw"},
		{"coding before chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"endless interim responses", strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequest(br); err == nil {
					io.WriteString(c, tc.answer)
				}
			})
			var resp Response
			err := p.Do(context.Background(), &Request{Method: "POST", Target: "/", Host: "h", Header: http.Header{}}, &resp)
			if err == nil {
				t.Fatalf("answer %q accepted as status %d", tc.answer, resp.StatusCode)
			}
		})
	}
}

func TestBodyErrors(t *testing.T) {
	for _, tc := range []struct{ name, answer string }{
		{"short length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
		{"cut chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"no trailer end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequest(br); err == nil {
					io.WriteString(c, tc.answer)
				}
			})
			var resp Response
			if err := p.Do(context.Background(), get("/"), &resp); err != nil {
				t.Fatal(err)
			}
			_, err := io.ReadAll(&resp)
			if err == nil {
				t.Fatal("a cut body read without error")
			}
			var sink bytes.Buffer
			if _, err := resp.WriteTo(&sink, nil); err == nil {
				t.Error("WriteTo after a failed read reported no error")
			}
			resp.Close()
		})
	}
}

// A backend closes a kept-alive connection: a GET on it is sent again on
// a new connection, and a connection idle for a while is checked first, so
// a POST does not fail either.
func TestStaleConnections(t *testing.T) {
	p, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err == nil {
			// Claims keep-alive, then closes after one answer.
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	do(t, p, get("/"))
	time.Sleep(50 * time.Millisecond) // the backend's close arrives
	if _, body := do(t, p, get("/")); body != "ok" {
		t.Fatalf("retried GET answered %q", body)
	}
	if p.Dials() != 2 {
		t.Errorf("dials = %d, want 2 (one retry)", p.Dials())
	}
	time.Sleep(staleAfter + 100*time.Millisecond)
	post := &Request{Method: "POST", Target: "/", Host: "h", Header: http.Header{}, Body: strings.NewReader("x"), ContentLength: 1}
	if _, body := do(t, p, post); body != "ok" {
		t.Fatalf("POST after an idle close answered %q", body)
	}
	if p.Dials() != 3 {
		t.Errorf("dials = %d, want 3", p.Dials())
	}
	// A POST on a connection closed moments ago is not sent twice.
	time.Sleep(50 * time.Millisecond)
	var resp Response
	post.Body = strings.NewReader("x")
	if err := p.Do(context.Background(), post, &resp); err == nil {
		t.Error("POST on a connection the backend closed succeeded; it must not be replayed")
	}
}

// A connection whose last deadline passed while it sat idle is still
// reused: the deadline belonged to the previous exchange.
func TestIdleConnectionOutlivesItsDeadline(t *testing.T) {
	_, p := echoServer(t)
	req := get("/")
	req.Deadline = time.Now().Add(200 * time.Millisecond)
	do(t, p, req)
	time.Sleep(staleAfter + 100*time.Millisecond)
	req.Deadline = time.Now().Add(5 * time.Second)
	do(t, p, req)
	if p.Dials() != 1 {
		t.Errorf("dials = %d, want 1: the idle connection was dropped", p.Dials())
	}
}

// Connections left idle past IdleTimeout are closed by the pool itself,
// not only when it is next used.
func TestIdleConnectionsAreClosed(t *testing.T) {
	closed := make(chan struct{}, 4)
	p, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				closed <- struct{}{}
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	p.client.IdleTimeout = 150 * time.Millisecond
	do(t, p, get("/"))
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("an idle connection stayed open past IdleTimeout")
	}
	p.mu.Lock()
	idle, sweeping := len(p.idle), p.sweeping
	p.mu.Unlock()
	if idle != 0 || sweeping {
		t.Errorf("after the sweep: %d idle, sweeping %v", idle, sweeping)
	}
	// The pool still works, and sweeps again.
	do(t, p, get("/"))
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the second idle connection stayed open")
	}
}

func TestDeadlineAndCancel(t *testing.T) {
	release := make(chan struct{})
	p, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err == nil {
			<-release
		}
	})
	defer close(release)
	req := get("/")
	req.Deadline = time.Now().Add(100 * time.Millisecond)
	var resp Response
	err := p.Do(context.Background(), req, &resp)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("silent backend: err %v, want a timeout", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if err := p.Do(ctx, get("/"), &resp); err == nil {
		t.Fatal("canceled request succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if ctx.Err() == nil {
		t.Error("context not canceled")
	}
}

func TestRequestValidation(t *testing.T) {
	var served int
	var mu sync.Mutex
	p, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err == nil {
			mu.Lock()
			served++
			mu.Unlock()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	for _, h := range []http.Header{
		{"X-Injected": {"a\r\nX-Evil: 1"}},
		{"X-Nul": {"a\x00b"}},
		{"Bad Name": {"v"}},
		{"": {"v"}},
	} {
		var resp Response
		if err := p.Do(context.Background(), &Request{Method: "GET", Target: "/", Host: "h", Header: h}, &resp); err == nil {
			t.Errorf("header %q was sent", h)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if served != 0 {
		t.Errorf("backend served %d invalid requests", served)
	}
}

// An unread body closes the connection instead of returning it dirty.
func TestUnreadBodyIsNotReused(t *testing.T) {
	_, p := echoServer(t)
	var resp Response
	req := &Request{Method: "POST", Target: "/", Host: "h", Header: http.Header{}, Body: strings.NewReader("0123456789"), ContentLength: 10}
	if err := p.Do(context.Background(), req, &resp); err != nil {
		t.Fatal(err)
	}
	var b [3]byte
	io.ReadFull(&resp, b[:])
	resp.Close()
	do(t, p, get("/"))
	if p.Dials() != 2 {
		t.Errorf("dials = %d, want 2", p.Dials())
	}
}

func TestWriteToFromBuffer(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 4096) // 64 KiB, larger than the read buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		io.WriteString(w, big)
	}))
	defer srv.Close()
	var c Client
	defer c.CloseIdle()
	p := c.Pool(srv.Listener.Addr().String())
	for i := 0; i < 3; i++ {
		var resp Response
		if err := p.Do(context.Background(), get("/"), &resp); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		n, err := resp.WriteTo(&out, nil)
		resp.Close()
		if err != nil || n != int64(len(big)) || out.String() != big {
			t.Fatalf("WriteTo: %d bytes, %v", n, err)
		}
	}
	if p.Dials() != 1 {
		t.Errorf("dials = %d", p.Dials())
	}
}

func TestHeaderTooLarge(t *testing.T) {
	p, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("b", 5000)+"\r\nContent-Length: 0\r\n\r\n")
		}
	})
	p.client.MaxHeaderBytes = 4096
	var resp Response
	if err := p.Do(context.Background(), get("/"), &resp); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatalf("err = %v, want ErrHeaderTooLarge", err)
	}
	p.client.MaxHeaderBytes = 0 // default 1 MiB: a 5000-byte line spans several buffer reads
	_, body := do(t, p, get("/"))
	if body != "" {
		t.Errorf("body %q", body)
	}
}

func TestConcurrentUse(t *testing.T) {
	_, p := echoServer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				want := fmt.Sprintf("g%d-i%d", g, i)
				req := &Request{Method: "PUT", Target: "/", Host: "h", Header: http.Header{}, Body: strings.NewReader(want), ContentLength: int64(len(want))}
				var resp Response
				if err := p.Do(context.Background(), req, &resp); err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(&resp)
				resp.Close()
				if err != nil || string(got) != want {
					errs <- fmt.Errorf("got %q (%v), want %q", got, err, want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := p.Dials(); d > 16 {
		t.Errorf("16 goroutines opened %d connections", d)
	}
}
