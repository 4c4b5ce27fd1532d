package h1

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// scriptConn is a connection whose peer sends a fixed byte string and then
// closes; what is written to it is dropped.
type scriptConn struct {
	net.Conn // nil: methods not listed here are not used
	r        *bytes.Reader
}

func (c *scriptConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// FuzzResponse feeds arbitrary bytes as a backend's answer: the client must
// return a response or an error, never panic or loop, and what it returns
// must be well formed.
func FuzzResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.0 404 Not Found\r\n\r\nrest",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 1\nContent-Length: 1\n\nx",
		"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n1;x=y\r\na\r\n0\r\n\r\n",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, answer string, head bool) {
		c := Client{MaxHeaderBytes: 4096, Dial: func(context.Context, string, string) (net.Conn, error) {
			return &scriptConn{r: bytes.NewReader([]byte(answer))}, nil
		}}
		method := "GET"
		if head {
			method = "HEAD"
		}
		var resp Response
		err := c.Pool("fuzz:80").Do(context.Background(), &Request{Method: method, Target: "/", Host: "h", Header: http.Header{}}, &resp)
		if err != nil {
			return
		}
		if resp.StatusCode < 200 || resp.StatusCode > 999 {
			t.Fatalf("status %d accepted", resp.StatusCode)
		}
		for _, fl := range resp.Fields {
			if !validName(fl.Name) || strings.ContainsAny(fl.Value, "\r\n\x00") {
				t.Fatalf("field %q: %q", fl.Name, fl.Value)
			}
			if fl.Value != strings.TrimSpace(fl.Value) && strings.Trim(fl.Value, " \t") != fl.Value {
				t.Fatalf("field %q keeps surrounding white space: %q", fl.Name, fl.Value)
			}
		}
		n, err := io.Copy(io.Discard, &resp)
		if err == nil && resp.ContentLength >= 0 && !head && n != resp.ContentLength {
			t.Fatalf("read %d body bytes of Content-Length %d without error", n, resp.ContentLength)
		}
		if int64(len(answer)) < n {
			t.Fatalf("read %d body bytes from a %d-byte answer", n, len(answer))
		}
		resp.Close()
	})
}
