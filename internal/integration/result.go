package integration

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/vtl"
)

// Response is an endpoint's answer to the client, before it is written: the
// status, the header fields and a body that may still be streaming from the
// backend. Exactly one place writes it (the gateway's last step), so that
// response mappings and gateway responses apply in one place.
type Response struct {
	Status int
	// Header is where an endpoint puts the answer's fields. The gateway
	// hands the endpoint a map that already holds its own fields
	// (x-amzn-RequestId, ...); a field set here replaces those under its
	// name.
	Header http.Header
	// Body is read to its end and written; nil means no body. A body that
	// fails before its end resets the client's connection, so that a cut
	// body never looks complete.
	Body io.Reader
	// Flush asks for each chunk of the body to be flushed as it comes (a
	// streamed answer of unknown length).
	Flush bool

	text    string // the body, when SetBody gave it whole
	hasText bool
}

// Exchange is one call of an integration, filled phase by phase (see
// Integration.Request, Call and Respond): what the integration request
// built, and the endpoint's answer. It holds what the answer's body reads
// from (a pooled backend exchange, the call's timer and context) until
// Close, which the caller runs once the Response is written.
type Exchange struct {
	// Built by the integration request.
	url        *url.URL // HTTP types: the backend's URL
	method     string
	h1         *h1Exchange // the gateway's fields for the backend, and the h1 client's buffers
	useH1      bool
	target     string // a VPC link's target address, dialled for every URL; "" dials the URL's host
	mockStatus string // MOCK: the request template's statusCode
	// templated says the request template rendered reqBody, the backend's
	// body in place of the client's.
	templated bool
	reqBody   []byte
	// reqOverride is $context.requestOverride as the request template
	// left it, for the response templates; nil when untouched.
	reqOverride *vtl.Map
	invoke      *lambda.InvokeRequest // AWS_PROXY

	// The endpoint's answer.
	status   int
	header   http.Header
	body     io.Reader
	streamed bool
	lambda   *lambda.InvokeResult

	timer  *time.Timer
	cancel context.CancelFunc
}

// Close releases what the exchange holds: its pooled buffers, its timer,
// its context. It is safe to call more than once.
func (x *Exchange) Close() {
	if b, ok := x.body.(io.Closer); ok {
		b.Close()
	}
	x.body = nil
	if h := x.h1; h != nil {
		x.h1 = nil
		h.release()
	}
	if x.timer != nil {
		x.timer.Stop()
		x.timer = nil
	}
	if x.cancel != nil {
		x.cancel()
		x.cancel = nil
	}
}

// SetBody makes s the whole body.
func (r *Response) SetBody(s string) { r.Body, r.text, r.hasText = nil, s, true }

// Close closes the body. The writer calls it once the body is written or
// abandoned; it is safe to call more than once.
func (r *Response) Close() {
	// The body before its Exchange: a backend connection read to its end
	// goes back to its pool before the call's context is cancelled.
	if c, ok := r.Body.(io.Closer); ok {
		c.Close()
	}
	r.Body = nil
}

// streamer is a body that writes itself, flushing where asked (the h1
// client's response, which writes from its read buffer).
type streamer interface {
	WriteTo(w io.Writer, flush func()) (int64, error)
}

// Write writes r to w and closes it. If the body breaks off after the status
// went out, it aborts the handler (http.ErrAbortHandler) so that net/http
// resets the client's connection.
func (r *Response) Write(w http.ResponseWriter) {
	defer r.Close()
	w.WriteHeader(r.Status)
	if r.hasText {
		// A template or a mock's body: one write, and net/http sets
		// Content-Length itself.
		io.WriteString(w, r.text)
		return
	}
	if r.Body == nil {
		return
	}
	var flush func()
	if r.Flush {
		rc := http.NewResponseController(w)
		flush = func() { rc.Flush() }
	}
	if s, ok := r.Body.(streamer); ok {
		if _, err := s.WriteTo(w, flush); err != nil {
			r.Close()
			panic(http.ErrAbortHandler)
		}
		return
	}
	if b, ok := r.Body.(*bytes.Reader); ok {
		b.WriteTo(w)
		return
	}
	if !copyBody(w, r.Body, flush) {
		r.Close()
		panic(http.ErrAbortHandler)
	}
}

// copyBody streams src to w, flushing after each chunk when flush is set.
// It reports false when src broke off; a client that went away is not an
// error of the body.
func copyBody(w io.Writer, src io.Reader, flush func()) bool {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return true
			}
			if flush != nil {
				flush()
			}
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}
