package gateway

import (
	"net/http"

	"github.com/apigw/apigw/internal/fault"
)

// API Gateway's quotas for running a REST API, on the request's head.
const (
	// DefaultMaxURLLength is the length, in characters, of the URL of an
	// edge-optimized or private API (a regional API's is 10240).
	DefaultMaxURLLength = 8192
	// DefaultMaxHeaderBytes is the total combined size of all header
	// fields: names, values, line terminators and white space.
	DefaultMaxHeaderBytes = 10240
	// DefaultMaxPrivateHeaderBytes is the same total for a private API.
	DefaultMaxPrivateHeaderBytes = 8000
	// DefaultMaxHeaderCount bounds the number of header fields. AWS
	// publishes no such quota; 2048 fields are more than fit in
	// DefaultMaxHeaderBytes, so the count refuses nothing that AWS would
	// take, and it still bounds the work when HeaderBytes is raised.
	DefaultMaxHeaderCount = 2048
)

// RequestLimits bound a request's URL and header section before anything
// else looks at the request. A zero field takes AWS's value (the Default*
// constants).
type RequestLimits struct {
	// URLLength bounds the request target: path and query string, as sent.
	URLLength int
	// HeaderBytes bounds the header section, each field counted as
	// "Name: value\r\n", Host included.
	HeaderBytes int
	// PrivateHeaderBytes replaces HeaderBytes on VPC endpoint listeners,
	// which serve only private APIs.
	PrivateHeaderBytes int
	// HeaderCount bounds the number of header fields, Host included.
	HeaderCount int
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// HeadBytes is how much of a request's head (request line and header
// section) the HTTP server must read so that these limits, rather than
// the server's own, decide: at least net/http's default of 1 MiB.
func (l RequestLimits) HeadBytes() int {
	n := orDefault(l.URLLength, DefaultMaxURLLength) + max(orDefault(l.HeaderBytes, DefaultMaxHeaderBytes), orDefault(l.PrivateHeaderBytes, DefaultMaxPrivateHeaderBytes))
	return max(n, http.DefaultMaxHeaderBytes)
}

// The answers to a head over the limits. AWS documents the 414 status but
// no gateway response type for either; the texts and error types are the
// closest to AWS's contract (the status's reason, JSON, x-amzn-ErrorType).
var (
	errURITooLong = &fault.Error{Type: fault.Default4XX, Status: http.StatusRequestURITooLong,
		ErrorType: "RequestURITooLongException", Message: "Request URI too long"}
	errHeadersTooLarge = &fault.Error{Type: fault.Default4XX, Status: http.StatusRequestHeaderFieldsTooLarge,
		ErrorType: "RequestHeaderFieldsTooLargeException", Message: "Request Header Fields Too Large"}
)

// connectionClose is the value of a response's Connection field that makes
// net/http close the connection after the response.
var connectionClose = []string{"close"}

// checkHead is the first step, before resolve: it refuses a request whose
// URL or header section is over the limits, so that no later step and no
// backend sees it. It does not allocate.
//
// It also closes the connection after a request with a chunked body. RFC
// 9112 §6.1 requires that when the request also had a Content-Length
// (a smuggling attempt); net/http removes Content-Length before the
// handler runs, so the two cannot be told apart here, and every chunked
// request's connection is closed, as AWS's load balancers do with such
// ambiguous requests (they answer, then close).
func (g *Gateway) checkHead(w http.ResponseWriter, r *http.Request) error {
	if len(r.TransferEncoding) > 0 {
		w.Header()["Connection"] = connectionClose
	}
	if len(r.RequestURI) > orDefault(g.Limits.URLLength, DefaultMaxURLLength) {
		return errURITooLong
	}
	size := len("Host: \r\n") + len(r.Host)
	count := 1
	for name, values := range r.Header {
		for _, v := range values {
			size += len(name) + len(v) + len(": \r\n")
		}
		count += len(values)
	}
	// net/http takes Transfer-Encoding out of the header map.
	for _, te := range r.TransferEncoding {
		size += len("Transfer-Encoding: \r\n") + len(te)
		count++
	}
	if count > orDefault(g.Limits.HeaderCount, DefaultMaxHeaderCount) {
		return errHeadersTooLarge
	}
	limit := orDefault(g.Limits.HeaderBytes, DefaultMaxHeaderBytes)
	// The listener matters only between the two limits.
	if private := orDefault(g.Limits.PrivateHeaderBytes, DefaultMaxPrivateHeaderBytes); size > min(limit, private) && size <= max(limit, private) && VPCEndpoint(r.Context()) != "" {
		limit = private
	}
	if size > limit {
		return errHeadersTooLarge
	}
	return nil
}
