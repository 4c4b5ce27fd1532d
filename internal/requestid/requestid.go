// Package requestid gives the answers of the admin listener the request id
// AWS's clients read: a UUID v4 in the x-amzn-RequestId header, which the
// Query APIs (IAM, STS) repeat in their XML bodies.
package requestid

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// Header is the response header AWS's services send the request id in.
const Header = "X-Amzn-Requestid"

// New returns a random (version 4) UUID.
func New() string {
	var b [16]byte
	rand.Read(b[:])
	var out [36]byte
	Encode(&out, &b)
	return string(out[:])
}

// Encode writes the random bytes b as a version 4 UUID into dst, setting
// b's version and variant bits. The data plane calls it with its own
// random bytes, to make the request id beside its two other ids.
func Encode(dst *[36]byte, b *[16]byte) {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	hex.Encode(dst[0:8], b[0:4])
	dst[8] = '-'
	hex.Encode(dst[9:13], b[4:6])
	dst[13] = '-'
	hex.Encode(dst[14:18], b[6:8])
	dst[18] = '-'
	hex.Encode(dst[19:23], b[8:10])
	dst[23] = '-'
	hex.Encode(dst[24:], b[10:])
}

// Of returns the request id of the answer w is writing, giving it a new
// one first if it has none: a body that names the id (an XML
// ResponseMetadata) then names the one the header carries.
func Of(w http.ResponseWriter) string {
	h := w.Header()
	if id := h.Get(Header); id != "" {
		return id
	}
	id := New()
	h.Set(Header, id)
	return id
}

// Handler gives every answer of h a request id (see Of) before h runs, so
// that answers written by any path, errors included, carry one.
func Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Of(w)
		h.ServeHTTP(w, r)
	})
}
