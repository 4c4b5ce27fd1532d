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
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
	// Region likewise.
	Service, Region string

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
	presigned     bool
	params        []queryParam // decoded query parameters
	rawPath       string
	rawQuery      string
	credential    string
	signedRaw     string
	signedHeaders []string
	signature     string
	dateRaw       string // X-Amz-Date (header or query) or Date header
	fromDateHdr   bool   // dateRaw came from the Date header
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
	if strings.TrimSpace(r.Header.Get(headerAuth)) != "" {
		return true
	}
	_, q := rawTarget(r)
	return q != "" && hasAuthParam(parseQuery(q))
}

// ParseScope parses only the credential scope (access key, date, region,
// service) of r, without verifying anything else. It returns the same *Error
// as Verify for a request that is unsigned or whose signature parameters are
// incomplete.
func ParseScope(r *http.Request) (Scope, error) {
	a, err := parseAuth(r)
	if err != nil {
		return Scope{}, err
	}
	parts, err := splitCredential(a.credential)
	if err != nil {
		return Scope{}, err
	}
	return Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3], Presigned: a.presigned}, nil
}

// parseAuth finds the signature parameters of r and checks that none is
// missing.
func parseAuth(r *http.Request) (*auth, *Error) {
	a := &auth{}
	a.rawPath, a.rawQuery = rawTarget(r)
	a.params = parseQuery(a.rawQuery)
	hdr := r.Header.Get(headerAuth)
	_, hasAlgParam := firstParam(a.params, paramAlgorithm)
	switch {
	case strings.TrimSpace(hdr) != "" && hasAlgParam:
		return nil, invalid(msgFoundBoth)
	case strings.TrimSpace(hdr) != "":
		return a, a.fromHeader(r, hdr)
	case hasAuthParam(a.params):
		a.presigned = true
		return a, a.fromQuery()
	}
	return nil, missingToken()
}

func (a *auth) fromHeader(r *http.Request, hdr string) *Error {
	v := strings.TrimLeft(hdr, " \t")
	alg, rest := v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		alg, rest = v[:i], v[i+1:]
	}
	if alg != Algorithm && strings.HasPrefix(alg, "AWS4-") {
		return incomplete("Unsupported AWS 'algorithm': '" + alg + "'.")
	}
	for _, tok := range strings.FieldsFunc(rest, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
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
	if d := r.Header.Get(headerDate); d != "" {
		a.dateRaw = d
	} else if d := r.Header.Get("Date"); d != "" {
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
	a.signedHeaders = strings.Split(a.signedRaw, ";")
	return nil
}

func (a *auth) fromQuery() *Error {
	alg, _ := firstParam(a.params, paramAlgorithm)
	a.credential, _ = firstParam(a.params, paramCredential)
	a.signature, _ = firstParam(a.params, paramSignature)
	a.signedRaw, _ = firstParam(a.params, paramSignedHeaders)
	a.dateRaw, _ = firstParam(a.params, paramDate)
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
	a.signedHeaders = strings.Split(a.signedRaw, ";")
	return nil
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
	} else if len(s) == len(timeFormat) {
		if t, err := time.Parse(timeFormat, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, incomplete("Date must be in ISO-8601 'basic format'. Got '" + s + "'. See http://en.wikipedia.org/wiki/ISO_8601")
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

// Verify checks r. body is the request body already read (nil for none); it
// is used only when the payload hash must be computed, and to check a
// hexadecimal X-Amz-Content-Sha256 header against it.
//
// Failures are returned as *Error; an error from Lookup other than
// ErrUnknownKey and ErrExpiredToken is returned as is.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (*Result, error) {
	res, _, err := v.verify(ctx, r, body)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (v *Verifier) verify(ctx context.Context, r *http.Request, body []byte) (*Result, *trace, error) {
	a, e := parseAuth(r)
	if e != nil {
		return nil, nil, e
	}

	hostSigned := false
	for _, h := range a.signedHeaders {
		if strings.EqualFold(h, "host") || h == ":authority" {
			hostSigned = true
			break
		}
	}
	if !hostSigned {
		return nil, nil, invalid(msgHostNotSigned)
	}

	t, e := parseDate(a.dateRaw, a.fromDateHdr)
	if e != nil {
		return nil, nil, e
	}
	amzDate := t.Format(timeFormat)

	expires := int64(-1)
	if a.presigned {
		if s, ok := firstParam(a.params, paramExpires); ok {
			n, err := strconv.ParseInt(s, 10, 64)
			switch {
			case err != nil && !isDigits(strings.TrimPrefix(s, "-")):
				return nil, nil, incomplete(msgExpiresNumber)
			case strings.HasPrefix(s, "-"):
				return nil, nil, incomplete(msgExpiresNegative)
			case err != nil || n > maxExpires:
				return nil, nil, incomplete(msgExpiresTooLarge)
			}
			expires = n
		}
	}

	if e := v.checkTime(t, amzDate, expires); e != nil {
		return nil, nil, e
	}

	parts, e := splitCredential(a.credential)
	if e != nil {
		return nil, nil, e
	}
	keyID, scopeDate, region, service, term := parts[0], parts[1], parts[2], parts[3], parts[4]

	var msg strings.Builder
	if v.Region != "" && region != v.Region {
		msg.WriteString("Credential should be scoped to a valid region, not '" + region + "'. ")
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
		return nil, nil, invalid(msg.String())
	}

	if v.Lookup == nil {
		return nil, nil, errors.New("sigv4: Verifier.Lookup is nil")
	}
	cred, err := v.Lookup(ctx, keyID)
	switch {
	case errors.Is(err, ErrUnknownKey):
		return nil, nil, unrecognized()
	case errors.Is(err, ErrExpiredToken):
		return nil, nil, expiredToken()
	case err != nil:
		return nil, nil, err
	}

	token, tokenInQuery := "", false
	if a.presigned {
		token, tokenInQuery = firstParam(a.params, paramToken)
	}
	if !tokenInQuery {
		token = r.Header.Get(headerToken)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(cred.SessionToken)) != 1 {
		return nil, nil, unrecognized()
	}

	// Payload hashes to try, most likely first.
	var payloads [2]string
	n := 1
	explicit := true
	if h := r.Header.Get(headerContent); !a.presigned && h != "" {
		payloads[0] = h
	} else if q, ok := firstParam(a.params, paramContent); a.presigned && ok {
		payloads[0] = q
	} else if a.presigned && h != "" {
		payloads[0] = h
	} else {
		explicit = false
		payloads[0] = bodyHash(body)
		if a.presigned {
			// S3-style presigned URLs sign UNSIGNED-PAYLOAD without saying so.
			payloads[1] = UnsignedPayload
			n = 2
		}
	}
	if explicit && body != nil && isHexSHA256(payloads[0]) && !strings.EqualFold(payloads[0], bodyHash(body)) {
		return nil, nil, invalid(msgContentSHA)
	}

	key := signingKey(cred.SecretAccessKey, scopeDate, region, service)
	want, sigOK := decodeSignature(a.signature)
	path := canonicalURI(a.rawPath, !v.DisablePathNormalization, v.DisableDoubleEncoding)
	scope := a.credential[len(keyID)+1:]

	var first *trace
	queries := [2]string{canonicalQuery(a.params, a.presigned, false)}
	nq := 1
	if tokenInQuery {
		// Some signers (AWS IoT, for one) append the token after signing.
		nq = 2
	}
	for qi := 0; qi < nq; qi++ {
		if qi == 1 {
			queries[1] = canonicalQuery(a.params, a.presigned, true)
		}
		for pi := 0; pi < n; pi++ {
			creq := canonicalRequest(r, path, queries[qi], a.signedHeaders, a.signedRaw, payloads[pi])
			sts := stringToSign(amzDate, scope, creq)
			mac := hmac.New(sha256.New, key[:])
			mac.Write(sts)
			if sigOK && hmac.Equal(mac.Sum(nil), want[:]) {
				res := &Result{
					Credential:    cred,
					AccessKeyID:   keyID,
					Date:          t,
					Region:        region,
					Service:       service,
					SignedHeaders: a.signedHeaders,
					Presigned:     a.presigned,
				}
				return res, &trace{string(creq), string(sts)}, nil
			}
			if first == nil {
				first = &trace{string(creq), string(sts)}
			}
		}
	}
	return nil, first, invalid(msgSignatureMismatch +
		"\n\nThe Canonical String for this request should have been\n'" + first.canonical +
		"'\n\nThe String-to-Sign should have been\n'" + first.stringToSign + "'\n")
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
		if limit := n.Add(-time.Duration(expires) * time.Second); t.Before(limit) {
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
	if _, err := hex.Decode(out[:], []byte(s)); err != nil {
		return out, false
	}
	return out, true
}
