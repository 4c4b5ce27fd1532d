package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
)

// maxInterim is how many 1xx responses may precede the final one, as in
// net/http.
const maxInterim = 5

// Field is one response header field; Name is in canonical form
// (Content-Type), Value has no surrounding white space.
type Field struct {
	Name, Value string
}

// Response is a backend's response. Reuse one for many calls: its buffers
// are kept.
type Response struct {
	// StatusCode is the final status (1xx interim responses are skipped).
	StatusCode int
	// Fields are the header fields in the order received. The strings stay
	// valid after Close.
	Fields []Field
	// ContentLength is the body's length, or -1 when it is chunked or runs
	// until the backend closes the connection.
	ContentLength int64

	pool  *Pool
	cn    *conn
	req   *Request
	stop  func() bool
	arena []byte
	spans []span

	mode      bodyMode
	remaining int64     // modeLength: bytes left
	chunked   io.Reader // modeChunked
	done      bool      // the body was read to its end
	keep      bool      // the connection may be reused
	gotBytes  bool      // some of the response arrived
	err       error     // sticky body error
}

type bodyMode uint8

const (
	modeNone bodyMode = iota
	modeLength
	modeChunked
	modeClose
)

type span struct{ name, nameEnd, value, valueEnd int32 }

func (r *Response) reset() {
	r.StatusCode = 0
	r.Fields = r.Fields[:0]
	r.ContentLength = 0
	r.pool, r.cn, r.req, r.stop = nil, nil, nil, nil
	r.arena = r.arena[:0]
	r.spans = r.spans[:0]
	r.mode, r.remaining, r.chunked = modeNone, 0, nil
	r.done, r.keep, r.gotBytes, r.err = false, false, false, nil
}

// release stops watching the context; it reports whether the context had
// already fired (and so spoiled the connection's deadline).
func (r *Response) release() (fired bool) {
	if r.stop != nil {
		fired = !r.stop()
		r.stop = nil
	}
	return fired
}

// Get returns the first value of the named field (canonical name), or "".
func (r *Response) Get(name string) string {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// Header returns the fields as an http.Header (a new map).
func (r *Response) Header() http.Header {
	h := make(http.Header, len(r.Fields))
	for _, f := range r.Fields {
		h[f.Name] = append(h[f.Name], f.Value)
	}
	return h
}

// readHeader reads the status line and header fields, skipping 1xx interim
// responses, and decides how the body is framed.
func (r *Response) readHeader(br *bufio.Reader, method string, limit int) error {
	for interim := 0; ; interim++ {
		if interim > maxInterim {
			return malformed("too many interim (1xx) responses")
		}
		if err := r.readHead(br, limit); err != nil {
			return err
		}
		if r.StatusCode >= 200 || r.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		// An interim response (100 Continue, 103 Early Hints): its fields
		// are not the final response's.
		r.arena, r.spans = r.arena[:0], r.spans[:0]
	}
	if r.StatusCode == http.StatusSwitchingProtocols {
		return errors.Join(ErrMalformed, errors.New("h1: backend switched protocols unasked"))
	}
	// One string holds every name and value: one allocation per response.
	all := string(r.arena)
	for _, s := range r.spans {
		name := all[s.name:s.nameEnd]
		if c, ok := commonNames[name]; ok {
			name = c
		}
		r.Fields = append(r.Fields, Field{Name: name, Value: all[s.value:s.valueEnd]})
	}
	return r.frame(method)
}

// readHead reads one status line and its fields into the arena.
func (r *Response) readHead(br *bufio.Reader, limit int) error {
	line, err := readLine(br, &r.arena, limit)
	if err != nil {
		if err == io.EOF && r.gotBytes {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	r.gotBytes = true
	limit -= len(line)
	code, err := parseStatusLine(line)
	if err != nil {
		return err
	}
	r.StatusCode = code
	r.keep = !bytes.HasPrefix(line, []byte("HTTP/1.0"))
	r.arena = r.arena[:0]
	for {
		start := len(r.arena)
		line, err := readLine(br, &r.arena, limit)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		limit -= len(line) + 2
		if len(line) == 0 {
			r.arena = r.arena[:start]
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// An obsolete line folding continues the previous value; RFC
			// 9112 section 5.2 has a recipient replace it with a space.
			if len(r.spans) == 0 {
				return malformed("continuation line before the first field")
			}
			v := trimOWS(line)
			if badValue(v) {
				return malformed("invalid header field value")
			}
			r.arena = r.arena[:start]
			last := &r.spans[len(r.spans)-1]
			if int(last.valueEnd) != start {
				return malformed("continuation line")
			}
			if len(v) > 0 {
				if last.valueEnd > last.value {
					r.arena = append(r.arena, ' ')
				}
				r.arena = append(r.arena, v...)
			}
			last.valueEnd = int32(len(r.arena))
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return malformed("header line without a colon")
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenByte(c) {
				return malformed("invalid header field name")
			}
		}
		canonicalize(name)
		value := trimOWS(line[colon+1:])
		if badValue(value) {
			return malformed("invalid header field value")
		}
		// The line already sits in the arena at start; keep the
		// canonical name and the trimmed value, packed.
		nameEnd := start + colon
		vstart := nameEnd
		r.arena = append(r.arena[:vstart], value...)
		r.spans = append(r.spans, span{int32(start), int32(nameEnd), int32(vstart), int32(len(r.arena))})
	}
}

// readLine reads a line ending in LF into *arena (appended), without the
// line end, and returns it (a slice of the arena). It fails past limit
// bytes.
func readLine(br *bufio.Reader, arena *[]byte, limit int) ([]byte, error) {
	start := len(*arena)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(*arena)-start+len(chunk) > limit {
			return nil, ErrHeaderTooLarge
		}
		*arena = append(*arena, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(*arena) > start {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line := (*arena)[start:]
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		*arena = (*arena)[:start+len(line)]
		return line, nil
	}
}

// parseStatusLine parses "HTTP/1.x NNN reason".
func parseStatusLine(line []byte) (int, error) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, malformed("bad status line " + quote(string(line)))
	}
	if v := line[7]; v != '0' && v != '1' {
		return 0, malformed("unsupported protocol " + quote(string(line[:8])))
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, malformed("bad status code in " + quote(string(line)))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || (len(line) > 12 && line[12] != ' ') {
		return 0, malformed("bad status code in " + quote(string(line)))
	}
	return code, nil
}

func malformed(what string) error { return errors.Join(ErrMalformed, errors.New("h1: "+what)) }

// badValue: a CR, LF or NUL inside a value would corrupt the field when
// it is passed on.
func badValue(v []byte) bool {
	return bytes.IndexByte(v, '\r') >= 0 || bytes.IndexByte(v, '\n') >= 0 || bytes.IndexByte(v, 0) >= 0
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// canonicalize rewrites a valid token in place to its canonical form, as
// net/textproto does: upper case at the start and after each hyphen.
func canonicalize(b []byte) {
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
}

// frame decides how the body is delimited (RFC 9112 section 6.3) and
// whether the connection can carry another request.
func (r *Response) frame(method string) error {
	var te, cl string
	var sawCL bool
	for _, f := range r.Fields {
		switch f.Name {
		case "Connection":
			if hasToken(f.Value, "close") {
				r.keep = false
			} else if hasToken(f.Value, "keep-alive") && !r.keep {
				// HTTP/1.0 with keep-alive: still do not reuse; keep-alive
				// of 1.0 servers is too often broken.
				r.keep = false
			}
		case "Transfer-Encoding":
			if te != "" {
				te += ","
			}
			te += f.Value
		case "Content-Length":
			if sawCL && f.Value != cl {
				return malformed("conflicting Content-Length values")
			}
			sawCL, cl = true, f.Value
		}
	}
	if method == "HEAD" || r.StatusCode == http.StatusNoContent || r.StatusCode == http.StatusNotModified {
		r.mode, r.ContentLength, r.done = modeNone, 0, true
		if method == "HEAD" && sawCL {
			if n, ok := parseLength(cl); ok {
				r.ContentLength = n
			}
		}
		return nil
	}
	if te != "" {
		// Only chunked is understood, as in net/http: another coding would
		// reach the client undecoded and unlabelled.
		if !strings.EqualFold(strings.TrimSpace(te), "chunked") {
			return malformed("unsupported transfer coding " + quote(te))
		}
		r.ContentLength = -1
		r.mode = modeChunked
		r.chunked = httputil.NewChunkedReader(r.cn.br)
		if sawCL {
			// Both framings: the length is not the body's, so it is not
			// passed on; and a smuggling risk, so no reuse.
			r.keep = false
			fields := r.Fields[:0]
			for _, f := range r.Fields {
				if f.Name != "Content-Length" {
					fields = append(fields, f)
				}
			}
			r.Fields = fields
		}
		return nil
	}
	if sawCL {
		n, ok := parseLength(cl)
		if !ok {
			return malformed("bad Content-Length " + quote(cl))
		}
		r.ContentLength, r.mode, r.remaining = n, modeLength, n
		if n == 0 {
			r.done = true
		}
		return nil
	}
	r.ContentLength, r.mode, r.keep = -1, modeClose, false
	return nil
}

func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func hasToken(v, token string) bool {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// Read reads the body.
func (r *Response) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.done || r.cn == nil {
		return 0, io.EOF
	}
	var n int
	var err error
	switch r.mode {
	case modeLength:
		if int64(len(p)) > r.remaining {
			p = p[:r.remaining]
		}
		n, err = r.cn.br.Read(p)
		r.remaining -= int64(n)
		if r.remaining == 0 {
			r.done, err = true, io.EOF
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	case modeChunked:
		n, err = r.chunked.Read(p)
		if err == io.EOF {
			if terr := r.readTrailer(); terr != nil {
				err = terr
			} else {
				r.done = true
			}
		}
	case modeClose:
		n, err = r.cn.br.Read(p)
		if err == io.EOF {
			r.done = true
		}
	default:
		r.done, err = true, io.EOF
	}
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// readTrailer consumes the trailer section after the last chunk; the
// gateway does not forward trailers.
func (r *Response) readTrailer() error {
	limit := r.pool.client.maxHeaderBytes()
	var scratch []byte
	for {
		line, err := readLine(r.cn.br, &scratch, limit)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			return nil
		}
		limit -= len(line)
		scratch = scratch[:0]
	}
}

// WriteTo streams the body to w. When flush is set it is called after each
// write, so that a body of unknown length reaches the client as it comes.
// Bytes already in the connection's buffer are written from there, without
// a copy.
func (r *Response) WriteTo(w io.Writer, flush func()) (int64, error) {
	var total int64
	if r.mode == modeLength && r.cn != nil && !r.done {
		br := r.cn.br
		for r.remaining > 0 {
			if br.Buffered() == 0 {
				if _, err := br.Peek(1); err != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					r.err = err
					return total, err
				}
			}
			n := br.Buffered()
			if int64(n) > r.remaining {
				n = int(r.remaining)
			}
			b, _ := br.Peek(n)
			m, err := w.Write(b)
			br.Discard(m)
			r.remaining -= int64(m)
			total += int64(m)
			if err != nil {
				return total, err
			}
		}
		r.done = true
		return total, nil
	}
	var buf [16 << 10]byte
	for {
		n, err := r.Read(buf[:])
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if flush != nil {
				flush()
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Close ends the exchange. The connection goes back to the pool when the
// body was read to its end and the backend allows reuse; otherwise it is
// closed. Close is idempotent.
func (r *Response) Close() error {
	cn := r.cn
	if cn == nil {
		return nil
	}
	r.cn = nil
	fired := r.release()
	if r.done && r.keep && !fired && cn.br.Buffered() == 0 {
		r.pool.put(cn)
		return nil
	}
	return cn.nc.Close()
}

// commonNames interns the names most responses carry, so that a field's
// name does not keep the response's arena alive and comparisons are cheap.
var commonNames = map[string]string{}

func init() {
	for _, n := range []string{
		"Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
		"Access-Control-Max-Age", "Age", "Cache-Control", "Connection", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Location", "Content-Range",
		"Content-Security-Policy", "Content-Type", "Date", "Etag", "Expires", "Keep-Alive",
		"Last-Modified", "Link", "Location", "Pragma", "Referrer-Policy", "Retry-After", "Server",
		"Set-Cookie", "Strict-Transport-Security", "Trailer", "Transfer-Encoding", "Vary", "Via",
		"Www-Authenticate", "X-Content-Type-Options", "X-Frame-Options", "X-Powered-By",
		"X-Request-Id", "X-Amzn-Requestid", "X-Amzn-Trace-Id", "X-Amz-Apigw-Id",
	} {
		commonNames[n] = n
	}
}
