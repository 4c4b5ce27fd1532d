// Package h1 is the gateway's HTTP/1.1 client for plain-HTTP backends.
//
// net/http's Transport gives every connection a reader and a writer
// goroutine, and a request travels between them and the caller through
// channels; it also parses every response header into a fresh map. Under
// load those handoffs and allocations cost more than the gateway's own work.
// This client does the whole exchange on the caller's goroutine: it writes
// the request through the connection's buffer, reads the status line and
// header fields into one reused arena, and lets the caller stream the body
// straight from the connection's read buffer. Connections are pooled per
// backend address, last in first out.
//
// It speaks HTTP/1.1 over TCP only. TLS backends, HTTP/2 and proxies stay
// with net/http.
package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a zero Client.
const (
	DefaultMaxIdlePerHost = 1024
	DefaultIdleTimeout    = 90 * time.Second
	DefaultDialTimeout    = 10 * time.Second
	DefaultMaxHeaderBytes = 1 << 20
)

// staleAfter is how long a connection may sit idle before it is checked
// for a close by the backend before reuse. Under load connections are
// reused within microseconds and are not checked.
const staleAfter = time.Second

// Errors the caller may want to tell apart.
var (
	// ErrHeaderTooLarge: the response's status line and fields exceed
	// MaxHeaderBytes.
	ErrHeaderTooLarge = errors.New("h1: response header too large")
	// ErrMalformed wraps protocol errors in the backend's response.
	ErrMalformed = errors.New("h1: malformed response")
)

// Client is a pool of connections to HTTP/1.1 backends. The zero value is
// ready to use. A Client must not be copied after first use.
type Client struct {
	// MaxIdlePerHost is how many idle connections are kept per address.
	MaxIdlePerHost int
	// IdleTimeout closes connections idle for longer.
	IdleTimeout time.Duration
	// DialTimeout bounds connecting (and the request's own deadline, if
	// earlier).
	DialTimeout time.Duration
	// MaxHeaderBytes bounds the response's status line and header fields.
	MaxHeaderBytes int
	// Dial, if set, replaces the TCP dialer (tests).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	pools sync.Map // address → *Pool
}

// Pool returns the connection pool for a backend address (host:port). A
// caller that always talks to the same address can keep it and skip the
// lookup.
func (c *Client) Pool(addr string) *Pool {
	if p, ok := c.pools.Load(addr); ok {
		return p.(*Pool)
	}
	p, _ := c.pools.LoadOrStore(addr, &Pool{client: c, addr: addr})
	return p.(*Pool)
}

// CloseIdle closes every idle connection.
func (c *Client) CloseIdle() {
	c.pools.Range(func(_, v any) bool {
		v.(*Pool).closeIdle()
		return true
	})
}

func (c *Client) maxIdle() int {
	if c.MaxIdlePerHost > 0 {
		return c.MaxIdlePerHost
	}
	return DefaultMaxIdlePerHost
}

func (c *Client) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (c *Client) maxHeaderBytes() int {
	if c.MaxHeaderBytes > 0 {
		return c.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// Pool holds the idle connections to one address.
type Pool struct {
	client *Client
	addr   string
	mu     sync.Mutex
	idle   []*conn // the most recently used last, so the oldest first
	// sweeping says a timer will close the connections that stay idle
	// past IdleTimeout (under mu).
	sweeping bool
	dials    atomic.Int64
}

// Dials reports how many connections the pool has opened.
func (p *Pool) Dials() int64 { return p.dials.Load() }

type conn struct {
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	reused    bool
}

func (p *Pool) get() *conn {
	timeout := p.client.idleTimeout()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		cn := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		idle := time.Since(cn.idleSince)
		if idle > timeout || (idle > staleAfter && !alive(cn.nc)) {
			cn.nc.Close()
			continue
		}
		cn.reused = true
		return cn
	}
}

func (p *Pool) put(cn *conn) {
	cn.idleSince = time.Now()
	var old *conn
	p.mu.Lock()
	if len(p.idle) >= p.client.maxIdle() {
		p.mu.Unlock()
		cn.nc.Close()
		return
	}
	p.idle = append(p.idle, cn)
	// The oldest connection sits at the bottom; close it once it has been
	// idle too long, so that a quiet pool drains.
	if first := p.idle[0]; len(p.idle) > 1 && cn.idleSince.Sub(first.idleSince) > p.client.idleTimeout() {
		old = first
		copy(p.idle, p.idle[1:])
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
	}
	if !p.sweeping {
		p.sweeping = true
		time.AfterFunc(p.client.idleTimeout(), p.sweep)
	}
	p.mu.Unlock()
	if old != nil {
		old.nc.Close()
	}
}

// sweep closes the connections idle for longer than IdleTimeout, so that
// a pool that went quiet does not hold them (and the backend's half-closed
// sockets) for ever; it runs again while connections remain.
func (p *Pool) sweep() {
	timeout := p.client.idleTimeout()
	now := time.Now()
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].idleSince) >= timeout {
		n++
	}
	expired := slices.Clone(p.idle[:n])
	rest := copy(p.idle, p.idle[n:])
	clear(p.idle[rest:])
	p.idle = p.idle[:rest]
	if len(p.idle) > 0 {
		time.AfterFunc(timeout-now.Sub(p.idle[0].idleSince)+time.Millisecond, p.sweep)
	} else {
		p.sweeping = false
	}
	p.mu.Unlock()
	for _, cn := range expired {
		cn.nc.Close()
	}
}

func (p *Pool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, cn := range idle {
		cn.nc.Close()
	}
}

func (p *Pool) dial(ctx context.Context, deadline time.Time) (*conn, error) {
	dt := p.client.DialTimeout
	if dt <= 0 {
		dt = DefaultDialTimeout
	}
	if d := time.Now().Add(dt); deadline.IsZero() || d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var nc net.Conn
	var err error
	if p.client.Dial != nil {
		nc, err = p.client.Dial(ctx, "tcp", p.addr)
	} else {
		d := net.Dialer{KeepAlive: 30 * time.Second}
		nc, err = d.DialContext(ctx, "tcp", p.addr)
	}
	if err != nil {
		return nil, err
	}
	p.dials.Add(1)
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10), bw: bufio.NewWriterSize(nc, 4<<10)}, nil
}

// Request is what Do sends. Its fields are Header's, less those Omit
// reports and those Add replaces, then Add's; never the ones the client
// owns: Host, Content-Length, Transfer-Encoding, Connection and Trailer.
type Request struct {
	Method string
	// Target is the request-target: the escaped path and query.
	Target string
	// Host is the Host field.
	Host   string
	Header http.Header
	// Omit, if set, reports Header fields not to send (by canonical name).
	Omit func(name string) bool
	// Add holds fields sent after Header's; a name here replaces Header's
	// field of that name. Names are canonical; a name may repeat.
	Add []Field
	// Body is sent with ContentLength bytes, or chunked when ContentLength
	// is -1. Nil or ContentLength 0 sends no body.
	Body          io.Reader
	ContentLength int64
	// Deadline bounds the whole exchange: connecting, writing the request,
	// and reading the response with its body. Zero means none.
	Deadline time.Time
}

func (r *Request) hasBody() bool { return r.Body != nil && r.ContentLength != 0 }

// replayable reports whether the request may be sent again on a fresh
// connection after a reused one failed before any answer: it has no body
// and its method is idempotent, as net/http decides.
func (r *Request) replayable() bool {
	if r.hasBody() {
		return false
	}
	switch r.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return r.Header["Idempotency-Key"] != nil || r.Header["X-Idempotency-Key"] != nil ||
		hasField(r.Add, "Idempotency-Key") || hasField(r.Add, "X-Idempotency-Key")
}

var aLongTimeAgo = time.Unix(1, 0)

// isTimeout: a deadline passed; sending again would only fail again.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Do sends req over a pooled connection to p's address and reads the
// response's status line and header fields into resp. The caller then reads
// the body (resp.Read or resp.WriteTo) and must call resp.Close, which
// returns the connection to the pool when the body was read to its end.
//
// When ctx ends before the response is complete, the connection is closed
// and Do or the body's Read fails.
func (p *Pool) Do(ctx context.Context, req *Request, resp *Response) error {
	resp.reset()
	if err := validate(req); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		cn := p.get()
		if cn == nil {
			var err error
			if cn, err = p.dial(ctx, req.Deadline); err != nil {
				return err
			}
		}
		if err := resp.exchange(ctx, p, cn, req); err != nil {
			cn.nc.Close()
			resp.cn = nil
			if attempt == 0 && cn.reused && !resp.gotBytes && req.replayable() && ctx.Err() == nil && !isTimeout(err) {
				resp.reset()
				continue
			}
			return err
		}
		return nil
	}
}

// exchange writes the request on cn and reads the response header.
func (r *Response) exchange(ctx context.Context, p *Pool, cn *conn, req *Request) error {
	if err := cn.nc.SetDeadline(req.Deadline); err != nil {
		return err
	}
	r.pool, r.cn, r.req = p, cn, req
	if ctx.Done() != nil {
		nc := cn.nc
		r.stop = context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	}
	werr := writeRequest(cn.bw, req)
	if werr == nil {
		werr = cn.bw.Flush()
	}
	var be *BodyError
	if errors.As(werr, &be) {
		// The backend waits for the rest of a body that will not come.
		r.release()
		return werr
	}
	if werr != nil {
		// The backend may have answered before reading the whole body (a
		// 413, say); read that answer if there is one.
		if _, err := cn.br.Peek(1); err != nil {
			r.release()
			return werr
		}
	}
	if err := r.readHeader(cn.br, req.Method, p.client.maxHeaderBytes()); err != nil {
		r.release()
		if werr != nil {
			return werr
		}
		return err
	}
	if werr != nil {
		r.keep = false
	}
	if r.done {
		// No body to read: the connection goes back (or is closed) now.
		r.Close()
	}
	return nil
}

// BodyError is a failure to read the request's body: the client's side,
// not the backend's.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "h1: reading the request body: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// validate refuses header fields that would corrupt the request: names that
// are not tokens, values with CR, LF or other controls (as net/http does).
func validate(req *Request) error {
	for name, vs := range req.Header {
		if !validName(name) {
			return errors.New("h1: invalid header field name " + quote(name))
		}
		for _, v := range vs {
			if !validValue(v) {
				return errors.New("h1: invalid header field value for " + quote(name))
			}
		}
	}
	for _, f := range req.Add {
		if !validName(f.Name) {
			return errors.New("h1: invalid header field name " + quote(f.Name))
		}
		if !validValue(f.Value) {
			return errors.New("h1: invalid header field value for " + quote(f.Name))
		}
	}
	if !validValue(req.Host) || !validValue(req.Target) || strings.ContainsAny(req.Target, " ") || req.Target == "" {
		return errors.New("h1: invalid request target or host")
	}
	return nil
}

// writeRequest writes the request line, the header fields and the body.
// A failure to read the body is a *BodyError.
func writeRequest(w *bufio.Writer, req *Request) error {
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.Target)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(req.Host)
	w.WriteString("\r\n")
	for name, vs := range req.Header {
		if clientOwned(name) || (req.Omit != nil && req.Omit(name)) || hasField(req.Add, name) {
			continue
		}
		for _, v := range vs {
			writeField(w, name, v)
		}
	}
	for _, f := range req.Add {
		if !clientOwned(f.Name) {
			writeField(w, f.Name, f.Value)
		}
	}
	switch {
	case !req.hasBody():
		if methodExpectsBody(req.Method) {
			w.WriteString("Content-Length: 0\r\n")
		}
		_, err := w.WriteString("\r\n")
		return err
	case req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		w.Write(appendInt(w.AvailableBuffer(), req.ContentLength))
		w.WriteString("\r\n\r\n")
		return copyLength(w, req.Body, req.ContentLength)
	default:
		w.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		return copyChunked(w, req.Body)
	}
}

// copyLength copies exactly n bytes of the body, reading straight into the
// connection's write buffer. A short read means the client is sending the
// body in pieces: what arrived goes on at once, so the backend can start.
func copyLength(w *bufio.Writer, body io.Reader, n int64) error {
	for n > 0 {
		if w.Available() == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		buf := w.AvailableBuffer()[:w.Available()]
		if int64(len(buf)) > n {
			buf = buf[:n]
		}
		m, err := body.Read(buf)
		w.Write(buf[:m])
		n -= int64(m)
		if n > 0 && m < len(buf) && err == nil {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if err == io.EOF && n > 0 {
			return &BodyError{io.ErrUnexpectedEOF}
		}
		if err != nil && err != io.EOF {
			return &BodyError{err}
		}
	}
	return nil
}

var chunkBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// copyChunked sends the body in chunks as it is read, each at once (a body
// of unknown length is often a stream), then the last chunk.
func copyChunked(w *bufio.Writer, body io.Reader) error {
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	buf := *bp
	for {
		m, err := body.Read(buf)
		if m > 0 {
			w.WriteString(strconv.FormatInt(int64(m), 16))
			w.WriteString("\r\n")
			w.Write(buf[:m])
			w.WriteString("\r\n")
			if werr := w.Flush(); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			_, err := w.WriteString("0\r\n\r\n")
			return err
		}
		if err != nil {
			return &BodyError{err}
		}
	}
}

func writeField(w *bufio.Writer, name, value string) {
	w.WriteString(name)
	w.WriteString(": ")
	w.WriteString(value)
	w.WriteString("\r\n")
}

// clientOwned: the fields the client writes itself.
func clientOwned(name string) bool {
	switch name {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Trailer":
		return true
	}
	return false
}

func hasField(fs []Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// methodExpectsBody: net/http sends "Content-Length: 0" for these when the
// body is empty, and some servers insist on it.
func methodExpectsBody(m string) bool {
	return m == "POST" || m == "PUT" || m == "PATCH"
}

func appendInt(b []byte, n int64) []byte {
	if n == 0 {
		return append(b, '0')
	}
	var tmp [20]byte
	i := len(tmp)
	for n > 0 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[i:]...)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return "\"" + s + "\""
}

// validName reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

// validValue refuses what would end or corrupt a field: CR, LF and NUL,
// as net/http does.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < ' ' && c != '\t', c == 0x7f:
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
