package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/route"
)

// DefaultTransport is the connection pool for HTTP backends: sized for a
// gateway (many idle connections per backend), HTTP/2 where offered,
// backends verified against the system's roots.
var DefaultTransport http.RoundTripper = defaultTransports.Verified

// InsecureTransport is DefaultTransport for integrations with
// tlsConfig.insecureSkipVerification: the chain is not verified, the name
// and validity dates are.
var InsecureTransport http.RoundTripper = defaultTransports.Insecure

var defaultTransports = NewTransports(nil, nil)

// isHop reports the hop-by-hop fields, never forwarded either way (RFC
// 9110 section 7.6.1).
func isHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// removeHopHeaders deletes the hop-by-hop fields of h and those its
// Connection field names.
func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for _, name := range splitList(f) {
			h.Del(name)
		}
	}
	for name := range h {
		if isHop(name) {
			delete(h, name)
		}
	}
}

// remapped names the response fields the gateway owns: a backend's own
// values are passed on under x-amzn-Remapped-{name}, as AWS does.
var remapped = map[string]string{
	"X-Amzn-Requestid": "X-Amzn-Remapped-X-Amzn-Requestid",
	"X-Amz-Apigw-Id":   "X-Amzn-Remapped-X-Amz-Apigw-Id",
	"Date":             "X-Amzn-Remapped-Date",
	"X-Amzn-Trace-Id":  "X-Amzn-Remapped-X-Amzn-Trace-Id",
}

// isTimeout reports a deadline that passed (the h1 client's, or a dial
// timeout).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isTLSAlert reports a TLS alert the backend sent ("remote error: tls:
// ..."), as a backend that requires a client certificate sends one.
func isTLSAlert(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}

// noUA keeps net/http from adding its own User-Agent.
var noUA = []string{""}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Request runs the integration request phase: parameter mappings, the
// backend's URL and fields, the request template, the Lambda event. x must
// be zero; the caller closes it once the answer is written, whatever
// happened.
func (ig *Integration) Request(c *Call, x *Exchange) error { return ig.ep.request(ig, c, x) }

// Call sends what Request built to the endpoint and keeps the answer in x.
func (ig *Integration) Call(ctx context.Context, c *Call, x *Exchange) error {
	return ig.ep.call(ctx, ig, c, x)
}

// Respond runs the integration response phase: it maps the endpoint's
// answer in x into out, whose Header must be set. The caller writes out.
func (ig *Integration) Respond(c *Call, x *Exchange, out *Response) error {
	return ig.ep.respond(ig, c, x, out)
}

// Invoke runs the three phases in order. The caller writes out, then closes
// it and x, also when Invoke fails.
func (ig *Integration) Invoke(ctx context.Context, c *Call, x *Exchange, out *Response) error {
	if err := ig.Request(c, x); err != nil {
		return err
	}
	if err := ig.Call(ctx, c, x); err != nil {
		return err
	}
	return ig.Respond(c, x, out)
}

// request maps the client's request to the backend's: the URL with its
// path and query mappings, the method, and the fields the gateway sets (a
// proxy integration also passes the client's own and its query string).
func (ep *httpEndpoint) request(ig *Integration, c *Call, x *Exchange) error {
	proxy := ep.proxy
	var pathParams map[string]string
	var query url.Values // mapped query parameters
	hx := h1Exchanges.Get().(*h1Exchange)
	x.h1 = hx
	add := &hx.add
	for _, m := range ig.mappings {
		vs := m.src.values(c, nil)
		if len(vs) == 0 {
			continue
		}
		switch m.dst {
		case dstPath:
			if pathParams == nil {
				pathParams = map[string]string{}
			}
			v, ok := pathValue(c, m.src, vs[0])
			if !ok {
				return fault.ErrInvalidPath
			}
			pathParams[m.name] = v
		case dstQuery:
			if query == nil {
				query = url.Values{}
			}
			query[m.name] = vs[len(vs)-1:]
		case dstMultiQuery:
			if query == nil {
				query = url.Values{}
			}
			query[m.name] = vs
		case dstHeader:
			add.set(m.header, vs[len(vs)-1:]...)
		case dstMultiHeader:
			add.set(m.header, vs...)
		}
	}
	var tplType string
	if !proxy {
		ov, ct, err := ig.requestBody(c, x)
		if err != nil {
			return err
		}
		tplType = ct
		if ov != nil {
			// $context.requestOverride wins over the parameter mappings, as
			// on AWS.
			for _, f := range ov.path {
				if pathParams == nil {
					pathParams = map[string]string{}
				}
				if route.HidesDotSegment(f.Value) {
					return fault.ErrInvalidPath
				}
				pathParams[f.Name] = escapePath(f.Value)
			}
			for _, f := range ov.query {
				if query == nil {
					query = url.Values{}
				}
				query[f.Name] = []string{f.Value}
			}
			for _, f := range ov.header {
				add.set(http.CanonicalHeaderKey(f.Name), f.Value)
			}
		}
	}
	var u *url.URL
	if ep.staticURL != nil {
		copied := *ep.staticURL
		u = &copied
	} else {
		var err error
		if u, err = renderURI(ep.uri, c.StageVars, pathParams); err != nil {
			return fault.ConfigurationError(err)
		}
	}
	switch {
	case len(query) == 0 && proxy:
		// The client's query string goes through as sent, byte for byte.
		u.RawQuery = joinQuery(u.RawQuery, c.RawQuery)
	case len(query) > 0:
		q := u.Query()
		if proxy {
			for k, v := range c.Query() {
				q[k] = v
			}
		}
		for k, v := range query {
			q[k] = v
		}
		u.RawQuery = q.Encode()
	}
	x.method = ep.httpMethod
	if x.method == "" {
		x.method = c.HTTPMethod
	}

	if proxy {
		add.set("X-Amzn-Apigateway-Api-Id", c.APIID)
		if c.TraceID != "" {
			add.set("X-Amzn-Trace-Id", c.TraceID)
		}
		if port := c.ListenerPort; port != "" {
			add.set("X-Forwarded-Port", port)
		}
		if c.TLS != nil {
			add.set("X-Forwarded-Proto", "https")
		} else {
			add.set("X-Forwarded-Proto", "http")
		}
	} else {
		if ct := c.Header.Get("Content-Type"); ct != "" && add.get("Content-Type") == "" {
			add.set("Content-Type", ct)
		} else if tplType != "" && add.get("Content-Type") == "" {
			add.set("Content-Type", tplType)
		}
		if add.get("User-Agent") == "" {
			add.set("User-Agent", "AmazonAPIGateway_"+c.APIID)
		}
		if add.get("Accept") == "" {
			add.set("Accept", "application/json")
		}
	}
	if c.SourceIP != "" {
		if prior := c.Header.Values("X-Forwarded-For"); proxy && len(prior) > 0 {
			add.set("X-Forwarded-For", strings.Join(prior, ", ")+", "+c.SourceIP)
		} else {
			add.set("X-Forwarded-For", c.SourceIP)
		}
	}
	x.url = u
	if ep.vpcLink != "" {
		target, err := vpcLinkTarget(ep.vpcLink, c)
		if err != nil {
			return fault.ConfigurationError(err)
		}
		x.target = target
	}
	// The h1 client writes the whole request before it reads the answer.
	// A backend that answers while it reads (an echo, a stream) would
	// deadlock with it once the body outgrows the socket buffers, so larger
	// and unknown-length bodies go through net/http, which does both at
	// once.
	n := c.ContentLength
	if x.templated {
		n = int64(len(x.reqBody))
	}
	x.useH1 = ep.h1 != nil && u.Scheme == "http" && u.User == nil && n >= 0 && n <= h1MaxBody
	return nil
}

// call sends the request to the backend, with the h1 client or net/http,
// and keeps its answer in x. The integration timeout bounds the whole
// exchange, the answer's body included.
func (ep *httpEndpoint) call(ctx context.Context, ig *Integration, c *Call, x *Exchange) error {
	if x.useH1 {
		return ep.callH1(ctx, ig, c, x)
	}
	proxy := ep.proxy
	u := x.url
	header := make(http.Header, len(c.Header)+len(x.h1.add))
	if proxy {
		for k, v := range c.Header {
			header[k] = v
		}
		removeHopHeaders(header)
		header.Del("Host")
		// AWS answers 100-continue itself and does not forward Expect.
		header.Del("Expect")
	}
	x.h1.add.apply(header)
	if _, ok := header["User-Agent"]; !ok {
		header["User-Agent"] = noUA // do not add Go's default
	}

	callCtx, cancel := context.WithCancel(ctx)
	var timedOut atomic.Bool
	timer := time.AfterFunc(ig.timeout, func() { timedOut.Store(true); cancel() })
	// The timer and the context live until the body is written: x holds
	// them.
	x.timer, x.cancel = timer, cancel

	var limited *limitedBody
	breq := &http.Request{Method: x.method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, Host: u.Host, ContentLength: c.ContentLength}
	if x.templated {
		breq.ContentLength = int64(len(x.reqBody))
		if len(x.reqBody) > 0 {
			breq.Body = io.NopCloser(bytes.NewReader(x.reqBody))
		}
	} else if c.ContentLength != 0 && c.Body != nil {
		// The backend's answer may start while the client's body is still
		// being sent to it (an echo); the gateway keeps the client's body
		// readable while it writes (full duplex).
		limited = &limitedBody{r: c.Body}
		breq.Body = limited
	}
	breq = breq.WithContext(callCtx)
	if ep.sign != nil {
		if err := ep.sign(callCtx, c, breq, x.reqBody); err != nil {
			return err
		}
	}
	tr := ep.transport
	switch {
	case x.target != "":
		// Through a VPC link: pools that dial its target, for the stage's
		// identity (client certificate, roots) or the default one.
		ts := c.Transports
		if ts == nil {
			ts = defaultTransports
		}
		tr = ts.to(x.target).pick(ep.insecure)
	case c.Transports != nil && u.Scheme == "https":
		// The stage's client certificate, or the gateway's backend roots.
		tr = c.Transports.pick(ep.insecure)
	}
	resp, err := tr.RoundTrip(breq)
	if timedOut.Load() {
		if err == nil {
			resp.Body.Close()
		}
		return fault.ErrIntegrationTimeout
	}
	if err != nil && limited != nil && limited.tooLarge.Load() {
		// A body of unknown length went over the payload limit while it
		// was streamed to the backend.
		return fault.ErrRequestTooLarge
	}
	if err != nil {
		if ctx.Err() != nil {
			return fault.IntegrationFailureErr(ctx.Err())
		}
		if isTimeout(err) {
			// A dial or TLS handshake timeout, as on the h1 path.
			return fault.ErrIntegrationTimeout
		}
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) || isTLSAlert(err) {
			// AWS: "Execution failed due to configuration error: General
			// SSLEngine problem", a 500: an untrusted backend, or one that
			// refused the handshake (no client certificate, or not one it
			// trusts).
			return fault.ConfigurationError(err)
		}
		return fault.IntegrationFailureErr(err)
	}
	if proxy {
		removeHopHeaders(resp.Header)
	}
	x.status, x.header, x.body, x.streamed = resp.StatusCode, resp.Header, resp.Body, resp.ContentLength < 0
	return nil
}

// respond passes a proxied answer through (the gateway's own fields of
// the backend's come back remapped), or maps a non-proxy one.
func (ep *httpEndpoint) respond(ig *Integration, c *Call, x *Exchange, out *Response) error {
	if !ep.proxy {
		return ig.respond(c, x, out)
	}
	h := out.Header
	if x.useH1 {
		passHeader(h, x.h1.resp.Fields)
	} else {
		for k, v := range x.header {
			if r, ok := remapped[k]; ok {
				k = r
			}
			h[k] = v
		}
	}
	out.Status, out.Body, out.Flush = x.status, x.body, x.streamed
	x.body = nil // out's now: it closes it
	return nil
}

// respond answers the client for a non-proxy HTTP integration: the
// integration response selected by the backend's status, its header
// mappings, and its template or the backend's body (which then becomes
// out's; an unused one is closed with x).
func (ig *Integration) respond(c *Call, x *Exchange, out *Response) error {
	sel := ig.selectResponse(itoa3(x.status))
	if sel == nil {
		return fault.ConfigurationError(errors.New("no integration response matches status " + itoa3(x.status)))
	}
	return ig.respondWith(sel, c, x, out)
}

// respondWith answers with the integration response sel.
func (ig *Integration) respondWith(sel *response, c *Call, x *Exchange, out *Response) error {
	h := out.Header
	sel.writeHeaders(c, h, x.header)
	out.Status = sel.status
	encode, decode, binary := ig.responseConversion(sel, c, x.header.Get("Content-Type"))
	mt := sel.pickTemplate(c)
	if binary {
		mt = nil // a binary answer is not given to a template
	}
	if mt != nil || encode || decode {
		var body []byte
		if encode || decode || !mt.static {
			var err error
			if body, err = readLimited(x.body); err != nil {
				return fault.IntegrationFailureErr(err)
			}
		}
		var err error
		switch {
		case encode:
			body = base64Encode(body)
		case decode:
			if body, err = base64Decode(body); err != nil {
				return err
			}
		}
		if mt != nil {
			return sel.answer(mt, c, x, body, out)
		}
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
		out.SetBody(string(body))
		return nil
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	out.Body, out.Flush = x.body, x.streamed
	x.body = nil // out's now: it closes it
	return nil
}

// limitedBody is the client's body on its way to the backend. It notes
// when the gateway's payload limit (an http.MaxBytesReader) cut it short, so
// that the failed call is reported as a 413, not as a backend failure.
type limitedBody struct {
	r        io.Reader
	tooLarge atomic.Bool
}

// Close closes the client's body; the transport calls it when the request
// is written.
func (b *limitedBody) Close() error {
	if c, ok := b.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			b.tooLarge.Store(true)
		}
	}
	return n, err
}

// pathValue is the escaped text that replaces a {name} placeholder of the
// integration URI. A value mapped from a path parameter keeps the client's
// encoding of each segment, so an escaped slash (%2F) stays one and does not
// become a separator; other values are escaped segment by segment. A value
// that is, or decodes to, a dot segment is refused (ok false): placed in the
// backend's path it would step out of the integration URI.
func pathValue(c *Call, src source, decoded string) (v string, ok bool) {
	if src.kind == srcPath {
		if raw, found := c.Params.GetRaw(src.name); found {
			return escapeRawPath(raw), !route.HidesDotSegment(raw)
		}
	}
	return escapePath(decoded), !route.HidesDotSegment(decoded)
}

func joinQuery(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "&" + b
}

func (r *response) writeHeaders(c *Call, h http.Header, backend http.Header) {
	for _, hm := range r.headers {
		if vs := hm.src.values(c, backend); len(vs) > 0 {
			h[http.CanonicalHeaderKey(hm.name)] = vs
		}
	}
}

// pickTemplate returns the response template for the client's Accept
// content type, else application/json's, else the first; nil when the
// response has none.
func (r *response) pickTemplate(c *Call) *mappingTemplate {
	if len(r.templates) == 0 {
		return nil
	}
	if accept := c.Header.Get("Accept"); accept != "" {
		for part := range strings.SplitSeq(accept, ",") {
			ct, _, _ := strings.Cut(part, ";")
			if mt := r.templates[strings.ToLower(strings.TrimSpace(ct))]; mt != nil {
				return mt
			}
		}
	}
	if mt := r.templates["application/json"]; mt != nil {
		return mt
	}
	return r.first
}

// answer renders the response template mt over body into out, whose
// status and mapped headers are set: the template's content type unless a
// mapping set one, then what $context.responseOverride set.
func (r *response) answer(mt *mappingTemplate, c *Call, x *Exchange, body []byte, out *Response) error {
	text, ov, err := renderResponse(mt, c, x, body)
	if err != nil {
		return err
	}
	h := out.Header
	if _, set := h["Content-Type"]; !set {
		if mt.contentType == "application/json" {
			h["Content-Type"] = jsonContentType
		} else {
			h["Content-Type"] = []string{mt.contentType}
		}
	}
	if ov != nil {
		if ov.status != 0 {
			out.Status = ov.status
		}
		for _, f := range ov.header {
			h[http.CanonicalHeaderKey(f.Name)] = []string{f.Value}
		}
	}
	if mt.static {
		out.SetBody(mt.text)
	} else {
		out.SetBody(string(text))
	}
	return nil
}

func itoa3(n int) string {
	if n < 100 || n > 999 {
		return "000"
	}
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// vpcLinkTarget resolves a VPC_LINK integration's connectionId (a link id,
// or ${stageVariables.name}) to the address its link leads to.
func vpcLinkTarget(connectionID string, c *Call) (string, error) {
	id := connectionID
	if name, ok := strings.CutPrefix(id, "${stageVariables."); ok {
		name, ok = strings.CutSuffix(name, "}")
		if id = c.StageVars[name]; !ok || id == "" {
			return "", errors.New("VPC link connectionId " + connectionID + " names no stage variable with a value")
		}
	}
	if c.VpcLinks == nil {
		return "", errors.New("VPC link " + id + " cannot be reached: this gateway has no VPC links")
	}
	return c.VpcLinks.VpcLinkTarget(id)
}

// requestBody runs the body part of a non-proxy integration request: the
// request template chosen by the content type (or the passthrough), and
// contentHandling's conversion. The backend's body is then x.reqBody when
// x.templated is set, else the client's. It returns what the template set
// in $context.requestOverride (nil for nothing) and the template's
// content type ("" without one).
func (ig *Integration) requestBody(c *Call, x *Exchange) (*override, string, error) {
	rc := ig.requestConversion(c)
	var mt *mappingTemplate
	if !rc.binary {
		var err error
		if mt, err = ig.requestTemplate(c); err != nil {
			return nil, "", err
		}
	}
	var body []byte
	if rc.encode || rc.decode && mt == nil {
		raw, err := readLimited(c.Body)
		if err != nil {
			return nil, "", bodyReadError(err)
		}
		if body = raw; rc.encode {
			body = base64Encode(raw)
		}
		if body == nil {
			body = []byte{}
		}
		x.templated, x.reqBody = true, body
	}
	var ov *override
	var tplType string
	if mt != nil {
		out, o, err := renderRequest(mt, c, body)
		if err != nil {
			return nil, "", err
		}
		x.templated, x.reqBody, tplType, ov = true, out, mt.contentType, o
		if o != nil {
			x.reqOverride = o.m
		}
	}
	if rc.decode {
		dec, err := base64Decode(x.reqBody)
		if err != nil {
			return nil, "", err
		}
		x.reqBody = dec
	}
	return ov, tplType, nil
}
