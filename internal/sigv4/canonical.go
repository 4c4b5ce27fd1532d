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

// parseQuery splits a raw query into decoded parameters, keeping order,
// duplicates and empty values. '+' decodes to a space (as url.ParseQuery and
// the AWS SDKs read it); a malformed percent escape is kept literally.
func parseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{unescape(k, true), unescape(v, true)})
	}
	return params
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

// unescape percent-decodes s leniently: invalid escapes stay as they are.
func unescape(s string, plusIsSpace bool) string {
	if !strings.ContainsRune(s, '%') && (!plusIsSpace || !strings.ContainsRune(s, '+')) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+' && plusIsSpace:
			b = append(b, ' ')
		case c == '%' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
			} else {
				b = append(b, c)
			}
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// uriEncode applies the SigV4 UriEncode: every byte but the RFC 3986
// unreserved characters becomes %XX (upper-case hex); '/' is kept when
// keepSlash is set.
func uriEncode(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && (c != '/' || !keepSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && keepSlash) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return string(b)
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

// canonicalURI computes the CanonicalURI of a raw request path.
//
// Default (all services but S3): the path is normalized, then the path as it
// appeared on the wire (already percent-encoded once by the client) is
// URI-encoded once more, '/' excepted — the "double encoding" the AWS SDKs
// apply with DisableURIPathEscaping=false.
//
// singleEncode (S3): the path is encoded once: percent escapes already on
// the wire are kept (upper-cased; those of unreserved characters decoded) and
// other bytes are encoded.
func canonicalURI(raw string, normalize, singleEncode bool) string {
	p := raw
	if normalize {
		p = normalizePath(p)
	} else if p == "" {
		p = "/"
	}
	if singleEncode {
		return encodeOnce(p)
	}
	return uriEncode(p, true)
}

func encodeOnce(p string) string {
	b := make([]byte, 0, len(p)+8)
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
	return string(b)
}

// canonicalQuery encodes and sorts params (by encoded key, then encoded
// value). X-Amz-Signature is left out of presigned requests; skipToken also
// leaves out X-Amz-Security-Token (a token appended after signing).
func canonicalQuery(params []queryParam, presigned, skipToken bool) string {
	if len(params) == 0 {
		return ""
	}
	enc := make([]queryParam, 0, len(params))
	size := 0
	for _, p := range params {
		if presigned && p.key == paramSignature || skipToken && p.key == paramToken {
			continue
		}
		e := queryParam{uriEncode(p.key, false), uriEncode(p.value, false)}
		size += len(e.key) + len(e.value) + 2
		enc = append(enc, e)
	}
	slices.SortFunc(enc, func(a, b queryParam) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var sb strings.Builder
	sb.Grow(size)
	for i, e := range enc {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(e.key)
		sb.WriteByte('=')
		sb.WriteString(e.value)
	}
	return sb.String()
}

// appendHeaderValue appends v with leading and trailing blanks removed and
// each inner run of spaces folded into one space.
func appendHeaderValue(b []byte, v string) []byte {
	v = strings.Trim(v, " \t\r\n")
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

// headerValues returns the values of the named header (any case).
func headerValues(r *http.Request, name string) []string {
	if vs := r.Header.Values(name); len(vs) > 0 {
		return vs
	}
	for k, vs := range r.Header { // headers set with non-canonical keys
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
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

// appendCanonicalHeaders appends "name:value\n" for each signed header.
func appendCanonicalHeaders(b []byte, r *http.Request, signed []string) []byte {
	for _, name := range signed {
		b = append(b, name...)
		b = append(b, ':')
		if strings.EqualFold(name, "host") {
			b = appendHeaderValue(b, requestHost(r))
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

// canonicalRequest builds the SigV4 canonical request.
func canonicalRequest(r *http.Request, path, query string, signed []string, signedRaw, payloadHash string) []byte {
	b := make([]byte, 0, 256+len(path)+len(query)+len(signedRaw)+32*len(signed))
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, path...)
	b = append(b, '\n')
	b = append(b, query...)
	b = append(b, '\n')
	b = appendCanonicalHeaders(b, r, signed)
	b = append(b, '\n')
	b = append(b, signedRaw...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	return b
}

// stringToSign builds "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256(canonical)>".
func stringToSign(amzDate, scope string, canonical []byte) []byte {
	sum := sha256.Sum256(canonical)
	b := make([]byte, 0, len(Algorithm)+len(amzDate)+len(scope)+3+2*sha256.Size)
	b = append(b, Algorithm...)
	b = append(b, '\n')
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	return hex.AppendEncode(b, sum[:])
}
