package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// queryParam is one decoded query-string parameter, in request order.
type queryParam struct{ key, value string }

// rawTarget returns the path and query exactly as the client put them on the
// request line. A server request carries them in RequestURI; a request built
// client-side (RequestURI empty) is read from URL, which is what the client
// will send.
func rawTarget(r *http.Request) (path, query string) {
	if uri := r.RequestURI; uri != "" && uri != "*" {
		if uri[0] != '/' && uri[0] != '?' {
			// absolute-form: scheme://authority/path?query
			if i := strings.Index(uri, "://"); i >= 0 {
				rest := uri[i+3:]
				if j := strings.IndexAny(rest, "/?"); j >= 0 {
					uri = rest[j:]
				} else {
					uri = "/"
				}
			}
		}
		path, query, _ = strings.Cut(uri, "?")
		if path == "" {
			path = "/"
		}
		return path, query
	}
	if r.URL == nil {
		return "/", ""
	}
	if op := r.URL.Opaque; op != "" {
		// Same reading as the AWS SDKs: "//host/path" or "/path".
		op = strings.TrimPrefix(op, "//")
		if i := strings.IndexByte(op, '/'); i >= 0 {
			path = op[i:]
		}
	} else {
		path = r.URL.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	return path, r.URL.RawQuery
}

// appendQuery appends the decoded parameters of a raw query to params,
// keeping order, duplicates and empty values. '+' decodes to a space (as
// url.ParseQuery and the AWS SDKs read it); a malformed percent escape is kept
// literally.
func appendQuery(params []queryParam, raw string) []queryParam {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{unescape(k), unescape(v)})
	}
	return params
}

// parseQuery returns the decoded parameters of a raw query (see appendQuery).
func parseQuery(raw string) []queryParam {
	return appendQuery(nil, raw)
}

// unescape percent-decodes s leniently (see appendQuery); s itself when it
// has nothing to decode.
func unescape(s string) string {
	i := 0
	for i < len(s) && s[i] != '%' && s[i] != '+' {
		i++
	}
	if i == len(s) {
		return s
	}
	var stack [128]byte
	b := append(stack[:0], s[:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		b = append(b, c)
		i++
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unreservedBytes marks the RFC 3986 unreserved characters.
var unreservedBytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
	}
	return t
}()

func unreserved(c byte) bool { return unreservedBytes[c] }

const upperHex = "0123456789ABCDEF"

func needsEncoding(s string, keepSlash bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && (c != '/' || !keepSlash) {
			return true
		}
	}
	return false
}

// appendURIEncoded appends the SigV4 UriEncode of s: every byte but the RFC
// 3986 unreserved characters becomes %XX (upper-case hex); '/' is kept when
// keepSlash is set.
func appendURIEncoded(b []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && keepSlash) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// uriEncode returns the SigV4 UriEncode of s (see appendURIEncoded).
func uriEncode(s string, keepSlash bool) string {
	if !needsEncoding(s, keepSlash) {
		return s
	}
	return string(appendURIEncoded(make([]byte, 0, len(s)+16), s, keepSlash))
}

// needsNormalizing reports whether p has empty, "." or ".." segments.
func needsNormalizing(p string) bool {
	if p == "" || p[0] != '/' {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		if strings.HasPrefix(rest, "/") || rest == "." || strings.HasPrefix(rest, "./") ||
			rest == ".." || strings.HasPrefix(rest, "../") {
			return true
		}
	}
	return false
}

// normalizePath removes "." and ".." segments and collapses repeated slashes,
// keeping a trailing slash. The result always starts with '/'.
func normalizePath(p string) string {
	if !needsNormalizing(p) {
		return p
	}
	segs := strings.Split(p, "/")
	out := segs[:0]
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case "", ".":
			trailing = last
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	if len(out) == 0 {
		return "/"
	}
	res := "/" + strings.Join(out, "/")
	if trailing {
		res += "/"
	}
	return res
}

// appendCanonicalURI appends the CanonicalURI of a raw request path.
//
// Default (all services but S3): the path is normalized, then the path as it
// appeared on the wire (already percent-encoded once by the client) is
// URI-encoded once more, '/' excepted — the "double encoding" the AWS SDKs
// apply with DisableURIPathEscaping=false.
//
// singleEncode (S3): the path is encoded once: percent escapes already on
// the wire are kept (upper-cased; those of unreserved characters decoded) and
// other bytes are encoded.
func appendCanonicalURI(b []byte, raw string, normalize, singleEncode bool) []byte {
	p := raw
	if normalize {
		p = normalizePath(p)
	} else if p == "" {
		p = "/"
	}
	if singleEncode {
		return appendEncodedOnce(b, p)
	}
	return appendURIEncoded(b, p, true)
}

func appendEncodedOnce(b []byte, p string) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) {
			hi, ok1 := unhex(p[i+1])
			lo, ok2 := unhex(p[i+2])
			if ok1 && ok2 {
				if d := hi<<4 | lo; unreserved(d) {
					b = append(b, d)
				} else {
					b = append(b, '%', upperHex[hi], upperHex[lo])
				}
				i += 2
				continue
			}
		}
		if unreserved(c) || c == '/' {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// appendCanonicalQuery appends params encoded and sorted (by encoded key,
// then encoded value). X-Amz-Signature is left out of presigned requests;
// skipToken also leaves out X-Amz-Security-Token (a token appended after
// signing).
func appendCanonicalQuery(b []byte, params []queryParam, presigned, skipToken bool) []byte {
	var stack [16]queryParam
	enc := stack[:0] // keys encoded, values still decoded
	for _, p := range params {
		if presigned && p.key == paramSignature || skipToken && p.key == paramToken {
			continue
		}
		enc = append(enc, queryParam{uriEncode(p.key, false), p.value})
	}
	slices.SortFunc(enc, func(a, b queryParam) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if !needsEncoding(a.value, false) && !needsEncoding(b.value, false) {
			return strings.Compare(a.value, b.value)
		}
		return strings.Compare(uriEncode(a.value, false), uriEncode(b.value, false))
	})
	for i, e := range enc {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, e.key...)
		b = append(b, '=')
		b = appendURIEncoded(b, e.value, false)
	}
	return b
}

// appendHeaderValue appends v with leading and trailing blanks removed and
// each inner run of spaces folded into one space.
func appendHeaderValue(b []byte, v string) []byte {
	for v != "" && isBlank(v[0]) {
		v = v[1:]
	}
	for v != "" && isBlank(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			space = true
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	return b
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// headerValues returns the values of the named header (any case).
func headerValues(r *http.Request, name string) []string {
	if vs := canonicalHeader(r.Header, name); len(vs) > 0 {
		return vs
	}
	for k, vs := range r.Header { // headers set with non-canonical keys
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// canonicalHeader is h.Values(name) without the allocation of
// textproto.CanonicalMIMEHeaderKey for the usual signed header names
// (letters, digits and '-', lower case): their canonical form is written in a
// small buffer, and indexing a map with string(buf) does not copy it.
func canonicalHeader(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 'a' - 'A'
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			return h.Values(name) // textproto's rules for the rest
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])]
}

func requestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	if h := r.Header.Get("Host"); h != "" {
		return h
	}
	if r.URL != nil {
		return r.URL.Host
	}
	return ""
}

// appendCanonicalHeaders appends "name:value\n" for each name of the
// ';'-separated signed header list, in its order; host is the value of
// Host.
func appendCanonicalHeaders(b []byte, r *http.Request, host, signed string) []byte {
	for rest, more := signed, true; more; {
		var name string
		name, rest, more = strings.Cut(rest, ";")
		b = append(b, name...)
		b = append(b, ':')
		if strings.EqualFold(name, "host") {
			b = appendHeaderValue(b, host)
			b = append(b, '\n')
			continue
		}
		vs := headerValues(r, name)
		if len(vs) == 0 {
			// Go moves these out of Header on the server side.
			switch {
			case strings.EqualFold(name, "content-length") && r.ContentLength > 0:
				b = strconv.AppendInt(b, r.ContentLength, 10)
			case strings.EqualFold(name, "transfer-encoding") && len(r.TransferEncoding) > 0:
				b = append(b, strings.Join(r.TransferEncoding, ",")...)
			}
		}
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHeaderValue(b, v)
		}
		b = append(b, '\n')
	}
	return b
}

// appendStringToSign appends "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256(canonical)>".
func appendStringToSign(b []byte, amzDate, scope string, canonical []byte) []byte {
	sum := sha256.Sum256(canonical)
	b = append(b, Algorithm...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	return hex.AppendEncode(b, sum[:])
}

// appendRequestHead appends the canonical request of r up to its payload
// hash: method, URI, query, headers and signed header names, each followed
// by a newline. host is the value signed for Host.
func (v *Verifier) appendRequestHead(b []byte, r *http.Request, host, path string, params []queryParam, a *auth, skipToken bool) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, path, !v.DisablePathNormalization, v.DisableDoubleEncoding)
	b = append(b, '\n')
	b = appendCanonicalQuery(b, params, a.presigned, skipToken)
	b = append(b, '\n')
	b = appendCanonicalHeaders(b, r, host, a.signedRaw)
	b = append(b, '\n')
	b = append(b, a.signedRaw...)
	b = append(b, '\n')
	return b
}
