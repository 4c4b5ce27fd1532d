package iam

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/pagetoken"
	"github.com/apigw/apigw/internal/requestid"
	"github.com/apigw/apigw/internal/sigv4"
)

// The Query protocol: form-encoded parameters (POST body or query string)
// with Action and Version, XML answers.

// Namespaces and versions of the two APIs.
const (
	IAMNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	IAMVersion   = "2010-05-08"
	STSVersion   = "2011-06-15"
)

// APIError is an error of the IAM or STS API, rendered as
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func noSuchEntity(format string, args ...any) *APIError {
	return apiErr(http.StatusNotFound, "NoSuchEntity", format, args...)
}

func entityExists(format string, args ...any) *APIError {
	return apiErr(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

func deleteConflict(format string, args ...any) *APIError {
	return apiErr(http.StatusConflict, "DeleteConflict", format, args...)
}

func limitExceeded(format string, args ...any) *APIError {
	return apiErr(http.StatusConflict, "LimitExceeded", format, args...)
}

func malformedPolicy(format string, args ...any) *APIError {
	return apiErr(http.StatusBadRequest, "MalformedPolicyDocument", format, args...)
}

func invalidInput(format string, args ...any) *APIError {
	return apiErr(http.StatusBadRequest, "InvalidInput", format, args...)
}

func validationError(format string, args ...any) *APIError {
	return apiErr(http.StatusBadRequest, "ValidationError", format, args...)
}

// constraint is AWS's message for one parameter failing its model
// constraint.
func constraint(field, value string, isNull bool, rule string) *APIError {
	v := "'" + value + "'"
	if isNull {
		v = "null"
	}
	return validationError("1 validation error detected: Value %s at '%s' failed to satisfy constraint: %s", v, field, rule)
}

// WriteAuthError answers a request whose signature failed verification, in
// the Query shape of service ("iam" or "sts"), with the codes these services
// use: InvalidClientTokenId for an unknown or inactive key,
// SignatureDoesNotMatch for a bad or expired signature, IncompleteSignature,
// MissingAuthenticationToken, ExpiredToken.
func WriteAuthError(w http.ResponseWriter, service string, err *sigv4.Error) {
	e := &APIError{Status: err.Status, Message: err.Message}
	switch err.Code {
	case sigv4.CodeUnrecognizedClient:
		e.Code, e.Status = "InvalidClientTokenId", http.StatusForbidden
	case sigv4.CodeInvalidSignature:
		e.Code, e.Status = "SignatureDoesNotMatch", http.StatusForbidden
	case sigv4.CodeIncompleteSignature:
		e.Code, e.Status = "IncompleteSignature", http.StatusBadRequest
	case sigv4.CodeMissingAuthenticationToken:
		e.Code, e.Status, e.Message = "MissingAuthenticationToken", http.StatusForbidden, "Request is missing Authentication Token"
	case sigv4.CodeExpiredToken:
		e.Code, e.Status = "ExpiredToken", http.StatusForbidden
	default:
		e.Code = err.Code
	}
	writeError(w, namespaceOf(service), e)
}

// WriteError answers err in the Query shape of service ("iam" or "sts"):
// an *APIError or *AccessDenied as such, anything else as an internal
// failure.
func WriteError(w http.ResponseWriter, service string, err error) {
	writeError(w, namespaceOf(service), err)
}

func namespaceOf(service string) string {
	if strings.EqualFold(service, "sts") {
		return STSNamespace
	}
	return IAMNamespace
}

type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

// writeError answers err as an ErrorResponse carrying the answer's request
// id (requestid.Of), as the x-amzn-RequestId header does.
func writeError(w http.ResponseWriter, ns string, err error) {
	var (
		ae *APIError
		ad *AccessDenied
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ad):
		ae = &APIError{Status: http.StatusForbidden, Code: "AccessDenied", Message: ad.Error()}
	default:
		code := "ServiceFailure"
		if ns == STSNamespace {
			code = "InternalFailure"
		}
		ae = &APIError{Status: http.StatusInternalServerError, Code: code,
			Message: "Request processing has failed due to some unknown error, exception or failure."}
	}
	typ := "Sender"
	if ae.Status >= 500 {
		typ = "Receiver"
	}
	body, _ := xml.Marshal(xmlErrorResponse{Xmlns: ns, Error: xmlError{typ, ae.Code, ae.Message}, RequestID: requestid.Of(w)})
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(ae.Status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// writeResult answers {action}Response with {action}Result holding result
// (none when result is nil) and the answer's request id (requestid.Of).
func writeResult(w http.ResponseWriter, ns, action string, result any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return err
		}
	}
	if err := enc.EncodeElement(responseMetadata{requestid.Of(w)}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return err
	}
	if err := enc.EncodeToken(start.End()); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

// awsTime renders as ISO 8601 in UTC, to the second, as AWS does.
type awsTime time.Time

func (t awsTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05Z")), nil
}

// members is a Query list: <member>...</member> elements.
type members[T any] struct {
	Member []T `xml:"member"`
}

// AuthorizeFunc decides whether the caller of r may perform action on
// resource; an *AccessDenied refuses.
type AuthorizeFunc func(r *http.Request, action, resource string) error

// call is one API request being served.
type call struct {
	s         *Service
	r         *http.Request
	form      url.Values
	action    string
	p         *Principal
	authorize AuthorizeFunc
}

func (c *call) auth(action, resource string) error {
	return c.authorize(c.r, action, resource)
}

func (c *call) str(name string) string { return c.form.Get(name) }

func (c *call) has(name string) bool {
	_, ok := c.form[name]
	return ok
}

// required returns a parameter that must be present.
func (c *call) required(name, field string) (string, error) {
	v, ok := c.form[name]
	if !ok || len(v) == 0 {
		return "", constraint(field, "", true, "Member must not be null")
	}
	return v[0], nil
}

// name returns a required IAM name (user, role, policy): 1..max characters
// of [\w+=,.@-].
func (c *call) name(param, field string, max int) (string, error) {
	v, err := c.required(param, field)
	if err != nil {
		return "", err
	}
	return v, checkName(field, v, max)
}

func checkName(field, v string, max int) error {
	if len(v) < 1 {
		return constraint(field, v, false, "Member must have length greater than or equal to 1")
	}
	if len(v) > max {
		return constraint(field, v, false, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	if !nameChars(v) {
		return constraint(field, v, false, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

func nameChars(v string) bool {
	for i := 0; i < len(v); i++ {
		switch ch := v[i]; {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		case strings.IndexByte("_+=,.@-", ch) >= 0:
		default:
			return false
		}
	}
	return true
}

// path returns the optional Path parameter, "/" by default.
func (c *call) path() (string, error) {
	if !c.has("Path") {
		return "/", nil
	}
	p := c.str("Path")
	if len(p) > 512 {
		return "", constraint("path", p, false, "Member must have length less than or equal to 512")
	}
	if !validPath(p) {
		return "", validationError("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return p, nil
}

func validPath(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 3 || p[0] != '/' || p[len(p)-1] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] > 0x7e {
			return false
		}
	}
	return true
}

// pathPrefix returns the optional PathPrefix parameter, "/" by default.
func (c *call) pathPrefix() (string, error) {
	if !c.has("PathPrefix") {
		return "/", nil
	}
	p := c.str("PathPrefix")
	if len(p) < 1 || len(p) > 512 || p[0] != '/' {
		return "", constraint("pathPrefix", p, false, `Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] > 0x7f {
			return "", constraint("pathPrefix", p, false, `Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
		}
	}
	return p, nil
}

// intParam returns an optional integer parameter within [min, max].
func (c *call) intParam(name, field string, def, min, max int) (int, error) {
	if !c.has(name) {
		return def, nil
	}
	s := c.str(name)
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, constraint(field, s, false, "Member must be a number")
	}
	if n < min {
		return 0, constraint(field, s, false, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	if n > max {
		return 0, constraint(field, s, false, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
	return n, nil
}

func (c *call) boolParam(name string) bool {
	v, _ := strconv.ParseBool(c.str(name))
	return v
}

// tags returns Tags.member.N.Key/Value.
func (c *call) tags() ([]tag, error) {
	var out []tag
	for i := 1; ; i++ {
		k, ok := c.form[fmt.Sprintf("Tags.member.%d.Key", i)]
		if !ok {
			break
		}
		v := c.form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
		key := ""
		if len(k) > 0 {
			key = k[0]
		}
		if len(key) < 1 || len(key) > 128 {
			return nil, constraint("tags.member."+strconv.Itoa(i)+".member.key", key, false, "Member must have length less than or equal to 128")
		}
		if len(v) > 256 {
			return nil, constraint("tags.member."+strconv.Itoa(i)+".member.value", v, false, "Member must have length less than or equal to 256")
		}
		out = append(out, tag{Key: key, Value: v})
	}
	if len(out) > 50 {
		return nil, limitExceeded("The number of tags has reached the maximum limit.")
	}
	return out, nil
}

// page cuts one page of a list sorted by key, after Marker, MaxItems long
// (default 100, at most 1000).
func page[T any](c *call, items []T, key func(T) string) ([]T, string, error) {
	max, err := c.intParam("MaxItems", "maxItems", 100, 1, 1000)
	if err != nil {
		return nil, "", err
	}
	sort.SliceStable(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := 0
	if m := c.str("Marker"); m != "" {
		from, ok := pagetoken.Decode(m)
		if !ok {
			return nil, "", invalidInput("Invalid Marker.")
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) >= from })
	}
	items = items[start:]
	if len(items) <= max {
		return items, "", nil
	}
	return items[:max], pagetoken.Encode(key(items[max])), nil
}

// policyDocument returns a required policy document parameter no longer than
// max characters. AWS counts the characters outside white space against
// the quota; longer raw documents are refused by the model's own limit.
func (c *call) policyDocument(param, field string) (string, error) {
	doc, err := c.required(param, field)
	if err != nil {
		return "", err
	}
	if len(doc) < 1 {
		return "", constraint(field, doc, false, "Member must have length greater than or equal to 1")
	}
	if len(doc) > 131072 {
		return "", constraint(field, doc, false, "Member must have length less than or equal to 131072")
	}
	return doc, nil
}

// policySize is the size AWS counts for policy quotas: characters other
// than white space.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// encodeDocument URL-encodes a policy document as IAM returns it (RFC 3986:
// everything but unreserved characters percent-encoded).
func encodeDocument(doc string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(doc) * 2)
	for i := 0; i < len(doc); i++ {
		ch := doc[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_', ch == '.', ch == '~':
			b.WriteByte(ch)
		default:
			b.WriteByte('%')
			b.WriteByte(hexd[ch>>4])
			b.WriteByte(hexd[ch&15])
		}
	}
	return b.String()
}

// sourceIP is the remote address of r without its port.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// opFunc serves one action; a nil result answers an empty response.
type opFunc func(c *call) (any, error)

// serve parses a Query request and runs the action's op.
func (s *Service) serve(w http.ResponseWriter, r *http.Request, ns, version string, ops map[string]opFunc, authorize AuthorizeFunc, log *slog.Logger) {
	s.init()
	if err := r.ParseForm(); err != nil {
		writeError(w, ns, apiErr(http.StatusBadRequest, "MalformedQueryString", "The query string is malformed."))
		return
	}
	action := r.Form.Get("Action")
	if action == "" {
		writeError(w, ns, apiErr(http.StatusBadRequest, "MissingAction", "Missing Action"))
		return
	}
	op, ok := ops[action]
	if v := r.Form.Get("Version"); !ok || (v != "" && v != version) {
		writeError(w, ns, apiErr(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, r.Form.Get("Version")))
		return
	}
	p := PrincipalFrom(r.Context())
	if p == nil {
		writeError(w, ns, apiErr(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	if authorize == nil {
		authorize = s.authorizeRequest
	}
	c := &call{s: s, r: r, form: r.Form, action: action, p: p, authorize: authorize}
	result, err := op(c)
	if err != nil {
		var (
			ae *APIError
			ad *AccessDenied
		)
		if !errors.As(err, &ae) && !errors.As(err, &ad) && log != nil {
			log.Error("iam: request failed", "action", action, "err", err)
		}
		writeError(w, ns, err)
		return
	}
	writeResult(w, ns, action, result)
}

// authorizeRequest is the default AuthorizeFunc: Authorize with the
// request's principal and the global condition keys of the request.
func (s *Service) authorizeRequest(r *http.Request, action, resource string) error {
	p := PrincipalFrom(r.Context())
	return s.Authorize(r.Context(), p, action, resource, s.HTTPRequestContext(r, nil))
}

// HTTPRequestContext is RequestContext for an HTTP request: its principal
// (from the context), remote address, TLS and s's clock, with
// aws:RequestedRegion set to s.Region unless extra sets it.
func (s *Service) HTTPRequestContext(r *http.Request, extra map[string][]string) func(string) ([]string, bool) {
	if s.Region != "" {
		m := make(map[string][]string, len(extra)+1)
		m["aws:requestedregion"] = []string{s.Region}
		for k, v := range extra {
			m[strings.ToLower(k)] = v
		}
		extra = m
	}
	return RequestContext(PrincipalFrom(r.Context()), sourceIP(r), r.TLS != nil, s.now(), extra)
}
