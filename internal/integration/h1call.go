package integration

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/integration/h1"
)

// h1MaxBody is the largest request body sent with the h1 client; see
// invokeHTTP.
const h1MaxBody = 64 << 10

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
	add  fields
	req  h1.Request
	resp h1.Response
}

var h1Exchanges = sync.Pool{New: func() any { return new(h1Exchange) }}

func (x *h1Exchange) release() {
	clear(x.add)
	x.add = x.add[:0]
	x.req = h1.Request{}
	h1Exchanges.Put(x)
}

// fields are the header fields the gateway sets on a request to a backend,
// in order; a name may repeat (multi-value mappings).
type fields []h1.Field

// set replaces the values of name (canonical) with vs.
func (f *fields) set(name string, vs ...string) {
	out := (*f)[:0]
	for _, fl := range *f {
		if fl.Name != name {
			out = append(out, fl)
		}
	}
	for _, v := range vs {
		out = append(out, h1.Field{Name: name, Value: v})
	}
	*f = out
}

func (f fields) get(name string) string {
	for _, fl := range f {
		if fl.Name == name {
			return fl.Value
		}
	}
	return ""
}

// apply sets the fields in h, replacing what h had under their names.
func (f fields) apply(h http.Header) {
	for i, fl := range f {
		if !f[:i].has(fl.Name) {
			h[fl.Name] = []string{fl.Value}
			continue
		}
		h[fl.Name] = append(h[fl.Name], fl.Value)
	}
}

func (f fields) has(name string) bool {
	for _, fl := range f {
		if fl.Name == name {
			return true
		}
	}
	return false
}

// omitFromProxy reports the client's fields a proxy integration does not
// pass on: hop-by-hop ones, Host (the backend's is sent) and Expect (AWS
// answers 100-continue itself).
func omitFromProxy(name string) bool {
	return isHop(name) || name == "Host" || name == "Expect"
}

// callH1 sends the request to an http:// backend with DefaultClient and
// keeps the answer in x (the h1 response reads from x.h1's buffers).
func (ep *httpEndpoint) callH1(ctx context.Context, ig *Integration, c *Call, x *Exchange) error {
	hx, u := x.h1, x.url
	pool := ep.h1pool
	switch {
	case x.target != "":
		pool = ep.h1.Pool(x.target)
	case pool == nil:
		pool = ep.h1.Pool(dialAddr(u))
	}
	hx.req = h1.Request{Method: x.method, Target: u.RequestURI(), Host: u.Host, Add: hx.add,
		ContentLength: c.ContentLength, Deadline: time.Now().Add(ig.timeout)}
	if ep.proxy {
		hx.req.Header = c.Header
		hx.req.Omit = omitFromProxy
		if conn := c.Header["Connection"]; len(conn) > 0 {
			// Fields the client's Connection field names are hop-by-hop too.
			var listed []string
			for _, v := range conn {
				for _, name := range splitList(v) {
					listed = append(listed, http.CanonicalHeaderKey(name))
				}
			}
			hx.req.Omit = func(name string) bool {
				return omitFromProxy(name) || slices.Contains(listed, name)
			}
		}
	}
	if x.templated {
		hx.req.ContentLength = int64(len(x.reqBody))
		if len(x.reqBody) > 0 {
			hx.req.Body = bytes.NewReader(x.reqBody)
		}
	} else if c.ContentLength != 0 && c.Body != nil {
		hx.req.Body = c.Body
	}
	resp := &hx.resp
	if err := pool.Do(ctx, &hx.req, resp); err != nil {
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
	x.status, x.body, x.streamed = resp.StatusCode, resp, resp.ContentLength < 0
	if !ep.proxy {
		x.header = resp.Header()
	}
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
		if isHop(f.Name) {
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
