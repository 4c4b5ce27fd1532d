// Package sigv4 verifies AWS Signature Version 4 signed requests the way AWS
// services do, in both forms: the Authorization header and the presigned
// (query-string) form.
//
// The canonical request follows the rules of the non-S3 services
// (execute-api, apigateway, iam, sts, lambda...): the request path is
// normalized and URI-encoded once more on top of the encoding it had on the
// wire, as the AWS SDKs sign it. Verifier.DisablePathNormalization and
// Verifier.DisableDoubleEncoding give the S3 rules.
//
// The path and query are read from r.RequestURI when it is set (server-side
// requests), so that routing code rewriting r.URL does not disturb
// verification; otherwise from r.URL.
package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Algorithm is the only signing algorithm supported.
const Algorithm = "AWS4-HMAC-SHA256"

// UnsignedPayload is the payload hash of a request whose body is not signed.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

const (
	timeFormat    = "20060102T150405Z"
	dateFormat    = "20060102"
	terminator    = "aws4_request"
	maxExpires    = 604800 // seven days, in seconds
	defaultSkew   = 5 * time.Minute
	emptySHA256   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	headerAuth    = "Authorization"
	headerDate    = "X-Amz-Date"
	headerToken   = "X-Amz-Security-Token"
	headerContent = "X-Amz-Content-Sha256"

	paramAlgorithm     = "X-Amz-Algorithm"
	paramCredential    = "X-Amz-Credential"
	paramDate          = "X-Amz-Date"
	paramExpires       = "X-Amz-Expires"
	paramSignedHeaders = "X-Amz-SignedHeaders"
	paramSignature     = "X-Amz-Signature"
	paramToken         = "X-Amz-Security-Token"
	paramContent       = "X-Amz-Content-Sha256"
)

// Credential is what a key lookup returns.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is the token a temporary credential must present in
	// X-Amz-Security-Token; "" when the key is a long-term key, which then
	// must not present one.
	SessionToken string
	// Principal is opaque to this package and passed back in Result.
	Principal any
}

// Lookup finds the secret for an access key id. It returns ErrUnknownKey
// when the key does not exist or is inactive (and may return ErrExpiredToken
// for an expired temporary credential). Any other error is returned by
// Verify as is.
type Lookup func(ctx context.Context, accessKeyID string) (Credential, error)

// Verifier verifies SigV4 requests. The zero value, given a Lookup, verifies
// with the non-S3 rules, a 5 minute clock skew and no region or service
// restriction. A Verifier is safe for concurrent use.
type Verifier struct {
	Lookup Lookup
	Now    func() time.Time // nil = time.Now
	Skew   time.Duration    // 0 = 5 minutes

	// Service, if set, requires the credential scope's service to equal it.
	// Region likewise; OtherRegions are accepted besides Region (a global
	// service such as IAM also takes us-east-1).
	Service, Region string
	OtherRegions    []string
	// RegionMessage, if set, is the message for a scope of another region,
	// instead of "Credential should be scoped to a valid region, not
	// '{region}'. " (STS gives a shorter one).
	RegionMessage string

	// DisablePathNormalization keeps "." and ".." segments and repeated
	// slashes in the canonical URI (S3).
	DisablePathNormalization bool
	// DisableDoubleEncoding encodes the decoded path once instead of encoding
	// the wire path once more (S3).
	DisableDoubleEncoding bool
}

// Result describes a verified request.
type Result struct {
	Credential    Credential
	AccessKeyID   string
	Date          time.Time // the signing time (X-Amz-Date or Date)
	Region        string
	Service       string
	SignedHeaders []string
	Presigned     bool
}

// Scope is the credential scope of a signed request.
type Scope struct {
	AccessKeyID string
	Date        string // YYYYMMDD, as written in the credential
	Region      string
	Service     string
	Presigned   bool
}

// auth holds the signature parameters of a request, from either form.
type auth struct {
	presigned   bool
	credential  string
	signedRaw   string // the signed header names, ';'-separated
	signature   string
	dateRaw     string // X-Amz-Date (header or query) or Date header
	fromDateHdr bool   // dateRaw came from the Date header
}

func firstParam(params []queryParam, key string) (string, bool) {
	for _, p := range params {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

func hasAuthParam(params []queryParam) bool {
	for _, p := range params {
		switch p.key {
		case paramAlgorithm, paramCredential, paramSignature:
			return true
		}
	}
	return false
}

// Present reports whether r carries a SigV4 signature attempt in either form:
// an Authorization header (of any content: AWS reads any Authorization header
// as a SigV4 attempt and reports what is wrong with it), or one of the
// X-Amz-Algorithm, X-Amz-Credential or X-Amz-Signature query parameters.
// A request for which Present is false gets MissingAuthenticationTokenException
// from Verify.
func Present(r *http.Request) bool {
	if strings.TrimSpace(header(r.Header, headerAuth)) != "" {
		return true
	}
	_, q := rawTarget(r)
	if q == "" {
		return false
	}
	var stack [16]queryParam
	params := appendQuery(stack[:0], q)
	return hasAuthParam(params)
}

// ParseScope parses only the credential scope (access key, date, region,
// service) of r, without verifying anything else. It returns the same *Error
// as Verify for a request that is unsigned or whose signature parameters are
// incomplete.
func ParseScope(r *http.Request) (Scope, error) {
	var stack [16]queryParam
	_, query := rawTarget(r)
	params := appendQuery(stack[:0], query)
	a, err := parseAuth(r, params)
	if err != nil {
		return Scope{}, err
	}
	parts, err := splitCredential(a.credential)
	if err != nil {
		return Scope{}, err
	}
	return Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3], Presigned: a.presigned}, nil
}

// parseAuth finds the signature parameters of r, whose decoded query
// parameters are params, and checks that none is missing.
//
// (The parameters are kept out of auth so that a caller can hold them in an
// array on its stack: escape analysis does not tell one field of a struct
// from another.)
func parseAuth(r *http.Request, params []queryParam) (auth, *Error) {
	var a auth
	hdr := header(r.Header, headerAuth)
	_, hasAlgParam := firstParam(params, paramAlgorithm)
	switch {
	case strings.TrimSpace(hdr) != "" && hasAlgParam:
		return a, invalid(msgFoundBoth)
	case strings.TrimSpace(hdr) != "":
		return a, a.fromHeader(r, hdr)
	case hasAuthParam(params):
		a.presigned = true
		return a, a.fromQuery(params)
	}
	return a, missingToken()
}

func (a *auth) fromHeader(r *http.Request, hdr string) *Error {
	v := strings.TrimLeft(hdr, " \t")
	alg, rest := v, ""
	if i := indexBlank(v, false); i >= 0 {
		alg, rest = v[:i], v[i+1:]
	}
	if alg != Algorithm && strings.HasPrefix(alg, "AWS4-") {
		return incomplete("Unsupported AWS 'algorithm': '" + alg + "'.")
	}
	for rest != "" {
		tok := rest
		if i := indexBlank(rest, true); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if tok == "" {
			continue
		}
		k, val, ok := strings.Cut(tok, "=")
		if !ok {
			return incomplete("'" + tok + "' not a valid key=value pair (missing equal-sign) in Authorization header: '" + hdr + "'.")
		}
		switch k {
		case "Credential":
			if a.credential == "" {
				a.credential = val
			}
		case "SignedHeaders":
			if a.signedRaw == "" {
				a.signedRaw = val
			}
		case "Signature":
			if a.signature == "" {
				a.signature = val
			}
		}
	}
	if d := header(r.Header, headerDate); d != "" {
		a.dateRaw = d
	} else if d := header(r.Header, "Date"); d != "" {
		a.dateRaw, a.fromDateHdr = d, true
	}
	var msg strings.Builder
	if a.credential == "" {
		msg.WriteString("Authorization header requires 'Credential' parameter. ")
	}
	if a.signature == "" {
		msg.WriteString("Authorization header requires 'Signature' parameter. ")
	}
	if a.signedRaw == "" {
		msg.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
	}
	if a.dateRaw == "" {
		msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if msg.Len() > 0 {
		return incomplete(msg.String() + "Authorization=" + hdr)
	}
	return nil
}

func (a *auth) fromQuery(params []queryParam) *Error {
	alg, _ := firstParam(params, paramAlgorithm)
	a.credential, _ = firstParam(params, paramCredential)
	a.signature, _ = firstParam(params, paramSignature)
	a.signedRaw, _ = firstParam(params, paramSignedHeaders)
	a.dateRaw, _ = firstParam(params, paramDate)
	var msg strings.Builder
	for _, p := range [...]struct{ name, val string }{
		{paramAlgorithm, alg}, {paramCredential, a.credential}, {paramSignature, a.signature},
		{paramSignedHeaders, a.signedRaw}, {paramDate, a.dateRaw},
	} {
		if p.val == "" {
			msg.WriteString("AWS query-string parameters must include '" + p.name + "'. ")
		}
	}
	if msg.Len() > 0 {
		return incomplete(msg.String() + msgReexamineQuery)
	}
	if alg != Algorithm {
		return incomplete("Unsupported AWS 'algorithm': '" + alg + "'.")
	}
	return nil
}

// header is h.Get(key) for a key already in canonical form, which Get would
// check again.
func header(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// indexBlank returns the index of the first space or tab in s, or of a comma
// too if comma is set; -1 if there is none.
func indexBlank(s string, comma bool) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' || c == '\t' || comma && c == ',' {
			return i
		}
	}
	return -1
}

// splitCredential splits keyid/date/region/service/terminator.
func splitCredential(c string) ([5]string, *Error) {
	var parts [5]string
	rest := c
	for i := 0; i < 4; i++ {
		var ok bool
		parts[i], rest, ok = strings.Cut(rest, "/")
		if !ok {
			return parts, credentialError(c)
		}
	}
	if strings.Contains(rest, "/") {
		return parts, credentialError(c)
	}
	parts[4] = rest
	return parts, nil
}

func credentialError(c string) *Error {
	return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + c + "'")
}

func parseDate(s string, httpDate bool) (time.Time, *Error) {
	if httpDate {
		if t, err := http.ParseTime(s); err == nil {
			return t.UTC(), nil
		}
	} else if t, ok := parseBasicTime(s); ok {
		return t, nil
	} else if len(s) == len(timeFormat) {
		if t, err := time.Parse(timeFormat, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, incomplete("Date must be in ISO-8601 'basic format'. Got '" + s + "'. See http://en.wikipedia.org/wiki/ISO_8601")
}

// parseBasicTime is time.Parse(timeFormat, s) for an s of the usual shape
// (isBasicTime), without the generality of time.Parse. It accepts exactly the
// dates and times time.Parse accepts; for anything else it returns false and
// parseDate asks time.Parse.
func parseBasicTime(s string) (time.Time, bool) {
	if !isBasicTime(s) {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range s[i : i+n] { // ASCII digits (isBasicTime)
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), time.Month(num(4, 2)), num(6, 2)
	hour, minute, sec := num(9, 2), num(11, 2), num(13, 2)
	if month < time.January || month > time.December || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, month, day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // past the end of the month
		return time.Time{}, false
	}
	return t, true
}

func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min."
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec."
}

// trace records the strings behind a verification, for tests and messages.
type trace struct {
	canonical    string
	stringToSign string
}

// scratch holds the buffers of one verification. They are pooled, so that a
// verification that succeeds allocates little more than its Result.
type scratch struct {
	buf []byte // the canonical request
	sts []byte // the string to sign
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooledBuffer keeps the buffers of an outsized request out of the pool.
const maxPooledBuffer = 64 << 10

func putScratch(s *scratch) {
	if cap(s.buf) <= maxPooledBuffer && cap(s.sts) <= maxPooledBuffer {
		scratchPool.Put(s)
	}
}

// Verify checks r. body is the request body already read (nil for none); it
// is used only when the payload hash must be computed, and to check a
// hexadecimal X-Amz-Content-Sha256 header against it.
//
// A signature over the Host without its port is accepted too when that
// port is the listener's: the local address net/http records under
// http.LocalAddrContextKey, read from ctx or else from r's context.
//
// Failures are returned as *Error; an error from Lookup other than
// ErrUnknownKey and ErrExpiredToken is returned as is.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (*Result, error) {
	return v.verify(ctx, r, &payload{body: body}, nil)
}

// BodyReader reads a request body for VerifyStream and returns it whole,
// with its SHA-256 in lower-case hex. verified tells whether the signature
// has been verified already; when false, the body is read for a caller not
// yet authenticated, and the reader should bound what it holds.
type BodyReader func(verified bool) (body []byte, sha256Hex string, err error)

// VerifyStream is Verify for a request whose body is not read yet. It first
// makes every check that does not need the body: the form of the signature,
// its date and expiry, the credential scope (region, service, date,
// terminator), the access key (it exists and is active) and the session
// token. Only when they pass is read called. When the signature covers a
// payload hash the request states (X-Amz-Content-Sha256), or no payload at
// all, the signature is verified before read is called (read gets verified
// true) and the stated hash is compared with the body's afterwards.
// Otherwise read gets verified false and the signature is checked over the
// hash read returns.
//
// It returns the body read (nil when read was not called). An error from
// read is returned as is.
func (v *Verifier) VerifyStream(ctx context.Context, r *http.Request, read BodyReader) (*Result, []byte, error) {
	p := payload{read: read}
	res, err := v.verify(ctx, r, &p, nil)
	return res, p.body, err
}

// payload is where verify finds the body: already read (Verify), or read
// when needed (VerifyStream).
type payload struct {
	body []byte
	read BodyReader
	done bool // read was called
}

// readBody calls p.read once.
func (p *payload) readBody(verified bool) (string, error) {
	body, sum, err := p.read(verified)
	p.body, p.done = body, true
	return sum, err
}

// verify is Verify. When tr is not nil it receives the canonical request and
// string to sign of the signature accepted or, when none matches, of the
// first attempt (those of a mismatch are only ever built then).
func (v *Verifier) verify(ctx context.Context, r *http.Request, src *payload, tr *trace) (*Result, error) {
	s := scratchPool.Get().(*scratch)
	defer putScratch(s)
	path, query := rawTarget(r)
	var stack [16]queryParam
	params := appendQuery(stack[:0], query)
	a, e := parseAuth(r, params)
	if e != nil {
		return nil, e
	}

	if !signsHost(a.signedRaw) {
		return nil, invalid(msgHostNotSigned)
	}

	t, e := parseDate(a.dateRaw, a.fromDateHdr)
	if e != nil {
		return nil, e
	}
	amzDate := a.dateRaw // as written when it is in the basic format, which is how t formats
	if a.fromDateHdr || !isBasicTime(amzDate) {
		amzDate = t.Format(timeFormat)
	}

	expires := int64(-1)
	if a.presigned {
		if s, ok := firstParam(params, paramExpires); ok {
			n, err := strconv.ParseInt(s, 10, 64)
			switch {
			case err != nil && !isDigits(strings.TrimPrefix(s, "-")):
				return nil, incomplete(msgExpiresNumber)
			case strings.HasPrefix(s, "-"):
				return nil, incomplete(msgExpiresNegative)
			case err != nil || n > maxExpires:
				return nil, incomplete(msgExpiresTooLarge)
			}
			expires = n
		}
	}

	if e := v.checkTime(t, amzDate, expires); e != nil {
		return nil, e
	}

	parts, e := splitCredential(a.credential)
	if e != nil {
		return nil, e
	}
	keyID, scopeDate, region, service, term := parts[0], parts[1], parts[2], parts[3], parts[4]

	var msg strings.Builder
	if v.Region != "" && region != v.Region && !slices.Contains(v.OtherRegions, region) {
		if v.RegionMessage != "" {
			msg.WriteString(v.RegionMessage)
		} else {
			msg.WriteString("Credential should be scoped to a valid region, not '" + region + "'. ")
		}
	}
	if v.Service != "" && service != v.Service {
		msg.WriteString("Credential should be scoped to correct service: '" + v.Service + "'. ")
	}
	if term != terminator {
		msg.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + term + "'. ")
	}
	if d := amzDate[:len(dateFormat)]; scopeDate != d {
		msg.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			scopeDate + "' != '" + d + "', from '" + amzDate + "'. ")
	}
	if msg.Len() > 0 {
		return nil, invalid(msg.String())
	}

	if v.Lookup == nil {
		return nil, errors.New("sigv4: Verifier.Lookup is nil")
	}
	cred, err := v.Lookup(ctx, keyID)
	switch {
	case errors.Is(err, ErrUnknownKey):
		return nil, unrecognized()
	case errors.Is(err, ErrExpiredToken):
		return nil, expiredToken()
	case err != nil:
		return nil, err
	}

	token, tokenInQuery := "", false
	if a.presigned {
		token, tokenInQuery = firstParam(params, paramToken)
	}
	if !tokenInQuery {
		token = header(r.Header, headerToken)
	}
	if !constantTimeEqual(token, cred.SessionToken) {
		return nil, unrecognized()
	}

	// Payload hashes to try, most likely first.
	var payloads [2]string
	n := 1
	explicit := true
	if h := header(r.Header, headerContent); !a.presigned && h != "" {
		payloads[0] = h
	} else if q, ok := firstParam(params, paramContent); a.presigned && ok {
		payloads[0] = q
	} else if a.presigned && h != "" {
		payloads[0] = h
	} else {
		explicit = false
		if src.read != nil {
			// The signature covers the body's hash: read it first.
			sum, err := src.readBody(false)
			if err != nil {
				return nil, err
			}
			payloads[0] = sum
		} else {
			payloads[0] = bodyHash(src.body)
		}
		if a.presigned {
			// S3-style presigned URLs sign UNSIGNED-PAYLOAD without saying so.
			payloads[1] = UnsignedPayload
			n = 2
		}
	}
	statedHash := explicit && isHexSHA256(payloads[0])
	if statedHash && src.read == nil && src.body != nil && !strings.EqualFold(payloads[0], bodyHash(src.body)) {
		return nil, invalid(msgContentSHA)
	}

	key := signingKey(cred.SecretAccessKey, scopeDate, region, service)
	want, sigOK := decodeSignature(a.signature)
	scope := a.credential[len(keyID)+1:]
	nq := 1
	if tokenInQuery {
		// Some signers (AWS IoT, for one) append the token after signing.
		nq = 2
	}
	host := requestHost(r)
	for hi := 0; sigOK && hi < 2; hi++ {
		if hi == 1 {
			// Some signers (aws-api-gateway-client, for one) sign the host
			// without its port: accept that when the port is the one the
			// request came in on, and only once the usual form failed.
			h, ok := stripListenerPort(ctx, r, host)
			if !ok {
				break
			}
			host = h
		}
		for qi := 0; qi < nq; qi++ {
			s.buf = v.appendRequestHead(s.buf[:0], r, host, path, params, &a, qi == 1)
			head := len(s.buf)
			for _, payload := range payloads[:n] {
				s.buf = append(s.buf[:head], payload...)
				s.sts = appendStringToSign(s.sts[:0], amzDate, scope, s.buf)
				if !key.equal(s.sts, &want) {
					continue
				}
				if tr != nil {
					*tr = trace{string(s.buf), string(s.sts)}
				}
				if src.read != nil && !src.done {
					// The signature does not cover the body, or covers the
					// hash the request states: read it now, authenticated.
					sum, err := src.readBody(true)
					if err != nil {
						return nil, err
					}
					if statedHash && !strings.EqualFold(payloads[0], sum) {
						return nil, invalid(msgContentSHA)
					}
				}
				return &Result{
					Credential:    cred,
					AccessKeyID:   keyID,
					Date:          t,
					Region:        region,
					Service:       service,
					SignedHeaders: strings.Split(a.signedRaw, ";"),
					Presigned:     a.presigned,
				}, nil
			}
		}
	}

	// No match: AWS shows the canonical request and string to sign of the
	// first attempt.
	s.buf = append(v.appendRequestHead(s.buf[:0], r, requestHost(r), path, params, &a, false), payloads[0]...)
	s.sts = appendStringToSign(s.sts[:0], amzDate, scope, s.buf)
	first := trace{string(s.buf), string(s.sts)}
	if tr != nil {
		*tr = first
	}
	return nil, invalid(msgSignatureMismatch +
		"\n\nThe Canonical String for this request should have been\n'" + first.canonical +
		"'\n\nThe String-to-Sign should have been\n'" + first.stringToSign + "'\n")
}

// stripListenerPort returns host without its port when that port is the
// one of the local address the request came in on (http.LocalAddrContextKey
// in ctx, else in r's context, where net/http puts it); false otherwise.
func stripListenerPort(ctx context.Context, r *http.Request, host string) (string, bool) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 { // no port, or inside an IPv6 literal
		return "", false
	}
	addr, ok := ctx.Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		if addr, ok = r.Context().Value(http.LocalAddrContextKey).(net.Addr); !ok {
			return "", false
		}
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", false
	}
	port, err := strconv.Atoi(host[i+1:])
	if err != nil || port != tcp.Port {
		return "", false
	}
	return host[:i], true
}

// signsHost reports whether the ';'-separated signed header names include
// host or :authority.
func signsHost(signed string) bool {
	for rest, more := signed, true; more; {
		var h string
		h, rest, more = strings.Cut(rest, ";")
		if strings.EqualFold(h, "host") || h == ":authority" {
			return true
		}
	}
	return false
}

// isBasicTime reports whether s has the shape of "20060102T150405Z"; a time
// parsed from such an s formats back to it.
func isBasicTime(s string) bool {
	if len(s) != len(timeFormat) || s[8] != 'T' || s[15] != 'Z' {
		return false
	}
	return isDigits(s[:8]) && isDigits(s[9:15])
}

// constantTimeEqual is subtle.ConstantTimeCompare for strings, without
// copying them to byte slices.
func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := 0; i < len(a); i++ {
		d |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(d, 0) == 1
}

func (v *Verifier) checkTime(t time.Time, amzDate string, expires int64) *Error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	n := now().UTC().Truncate(time.Second)
	skew := v.Skew
	if skew <= 0 {
		skew = defaultSkew
	}
	if later := n.Add(skew); t.After(later) {
		return invalid(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			amzDate, later.Format(timeFormat), n.Format(timeFormat), skewText(skew)))
	}
	if expires >= 0 {
		// A URL valid for 0 seconds has expired when it is signed.
		if limit := n.Add(-time.Duration(expires) * time.Second); t.Before(limit) || expires == 0 {
			return invalid(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d sec.)",
				amzDate, limit.Format(timeFormat), n.Format(timeFormat), expires))
		}
		return nil
	}
	if earlier := n.Add(-skew); t.Before(earlier) {
		return invalid(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			amzDate, earlier.Format(timeFormat), n.Format(timeFormat), skewText(skew)))
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHexSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if _, ok := unhex(s[i]); !ok {
			return false
		}
	}
	return true
}

func bodyHash(body []byte) string {
	if len(body) == 0 {
		return emptySHA256
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func decodeSignature(s string) ([sha256.Size]byte, bool) {
	var out [sha256.Size]byte
	if len(s) != 2*sha256.Size {
		return out, false
	}
	for i := range out {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return out, false
		}
		out[i] = hi<<4 | lo
	}
	return out, true
}
