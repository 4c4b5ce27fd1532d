package integration

import (
	"errors"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/gateway/fault"
	"github.com/apigw/apigw/internal/integration/h1"
)

// DefaultClient calls plain-HTTP backends on the request's goroutine,
// without net/http's per-connection goroutines (see package h1).
var DefaultClient = &h1.Client{}

// dialAddr is the host:port to connect to for an http:// URL.
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// h1Exchange is one backend call's request and response, pooled with their
// buffers.
type h1Exchange struct {
	req  h1.Request
	resp h1.Response
}

var h1Exchanges = sync.Pool{New: func() any { return new(h1Exchange) }}

// Response header fields never passed on (RFC 9110 section 7.6.1), and the
// ones the gateway owns, passed on renamed as AWS does.
var (
	hopFields = map[string]bool{
		"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
		"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	}
	remapped = map[string]string{}
)

func init() {
	for k := range gatewayHeaders {
		remapped[k] = "X-Amzn-Remapped-" + k
	}
}

// callH1 sends the request to an http:// backend with DefaultClient and
// answers the client.
func (ig *Integration) callH1(c *Call, u *url.URL, method string, header http.Header, proxy bool) error {
	pool := ig.h1pool
	if pool == nil {
		pool = ig.h1.Pool(dialAddr(u))
	}
	x := h1Exchanges.Get().(*h1Exchange)
	defer h1Exchanges.Put(x)
	x.req = h1.Request{Method: method, Target: u.RequestURI(), Host: u.Host, Header: header,
		ContentLength: c.R.ContentLength, Deadline: time.Now().Add(ig.timeout)}
	if c.R.ContentLength != 0 {
		x.req.Body = c.R.Body
	}
	resp := &x.resp
	ctx := c.R.Context()
	if err := pool.Do(ctx, &x.req, resp); err != nil {
		x.req = h1.Request{}
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return fault.ErrRequestTooLarge
		case ctx.Err() != nil:
			return fault.IntegrationFailureErr(ctx.Err())
		case isTimeout(err):
			return fault.ErrIntegrationTimeout
		}
		return fault.IntegrationFailureErr(err)
	}
	defer func() {
		resp.Close()
		x.req = h1.Request{}
	}()
	streamed := resp.ContentLength < 0
	if !proxy {
		return ig.respond(c, resp.StatusCode, resp.Header(), resp, streamed)
	}
	passHeader(c.W.Header(), resp.Fields)
	c.W.WriteHeader(resp.StatusCode)
	var flush func()
	if streamed {
		rc := http.NewResponseController(c.W)
		flush = func() { rc.Flush() }
	}
	resp.WriteTo(c.W, flush)
	return nil
}

// passHeader copies a proxied response's fields to the client's header:
// not the hop-by-hop ones nor those the Connection field lists; the
// gateway's own under x-amzn-Remapped-. A field replaces what the gateway
// had set under its name. The values share one backing array.
func passHeader(h http.Header, fields []h1.Field) {
	var listed []string
	for _, f := range fields {
		if f.Name == "Connection" {
			for _, name := range splitList(f.Value) {
				listed = append(listed, http.CanonicalHeaderKey(name))
			}
		}
	}
	v := make([]string, 0, len(fields))
fields:
	for i, f := range fields {
		if hopFields[f.Name] {
			continue
		}
		for _, l := range listed {
			if l == f.Name {
				continue fields
			}
		}
		name := f.Name
		if r, ok := remapped[name]; ok {
			name = r
		}
		repeat := false
		for _, g := range fields[:i] {
			if g.Name == f.Name {
				repeat = true
				break
			}
		}
		if repeat {
			h[name] = append(h[name], f.Value)
			continue
		}
		v = append(v, f.Value)
		n := len(v)
		h[name] = v[n-1 : n : n]
	}
}

func splitList(v string) []string {
	var out []string
	for _, t := range strings.Split(v, ",") {
		if t = textproto.TrimString(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
