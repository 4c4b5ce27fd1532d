package integration

import (
	"cmp"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/fault"
)

// The API Gateway REST (v1) Lambda proxy event, with AWS's keys in AWS's
// order. Absent values that AWS sends as null are nil pointers or nil maps;
// keys AWS leaves out when they do not apply are omitempty.
type proxyEvent struct {
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  eventContext        `json:"requestContext"`
	Body                            *string             `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type eventContext struct {
	ResourceID        string         `json:"resourceId"`
	Authorizer        map[string]any `json:"authorizer,omitempty"`
	ResourcePath      string         `json:"resourcePath"`
	OperationName     string         `json:"operationName,omitempty"`
	HTTPMethod        string         `json:"httpMethod"`
	ExtendedRequestID string         `json:"extendedRequestId"`
	RequestTime       string         `json:"requestTime"`
	Path              string         `json:"path"`
	AccountID         string         `json:"accountId"`
	Protocol          string         `json:"protocol"`
	Stage             string         `json:"stage"`
	DomainPrefix      string         `json:"domainPrefix"`
	RequestTimeEpoch  int64          `json:"requestTimeEpoch"`
	RequestID         string         `json:"requestId"`
	Identity          eventIdentity  `json:"identity"`
	DomainName        string         `json:"domainName"`
	DeploymentID      string         `json:"deploymentId,omitempty"`
	APIID             string         `json:"apiId"`
}

type eventIdentity struct {
	CognitoIdentityPoolID         *string `json:"cognitoIdentityPoolId"`
	AccountID                     *string `json:"accountId"`
	CognitoIdentityID             *string `json:"cognitoIdentityId"`
	Caller                        *string `json:"caller"`
	SourceIP                      *string `json:"sourceIp"`
	PrincipalOrgID                *string `json:"principalOrgId"`
	AccessKey                     *string `json:"accessKey"`
	CognitoAuthenticationType     *string `json:"cognitoAuthenticationType"`
	CognitoAuthenticationProvider *string `json:"cognitoAuthenticationProvider"`
	UserARN                       *string `json:"userArn"`
	UserAgent                     *string `json:"userAgent"`
	User                          *string `json:"user"`
	// Present only when the method required an API key, the request came
	// through a VPC endpoint, or the client presented a certificate.
	APIKey     *string          `json:"apiKey,omitempty"`
	APIKeyID   *string          `json:"apiKeyId,omitempty"`
	VpceID     *string          `json:"vpceId,omitempty"`
	ClientCert *eventClientCert `json:"clientCert,omitempty"`
}

type eventClientCert struct {
	ClientCertPem string `json:"clientCertPem"`
	SubjectDN     string `json:"subjectDN"`
	IssuerDN      string `json:"issuerDN"`
	SerialNumber  string `json:"serialNumber"`
	Validity      struct {
		NotBefore string `json:"notBefore"`
		NotAfter  string `json:"notAfter"`
	} `json:"validity"`
}

// requestTimeLayout is $context.requestTime's format (CLF), always in UTC.
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// certTimeLayout is OpenSSL's rendering of a certificate's validity.
const certTimeLayout = "Jan _2 15:04:05 2006 GMT"

// Request headers API Gateway does not pass to a Lambda function (the
// "lambda" request column of AWS's header table in "Amazon API Gateway
// important notes for REST APIs"), plus the hop-by-hop ones. Content-Length
// is not in the event either. X-Forwarded-* are replaced by the gateway's.
var eventDroppedHeaders = map[string]bool{
	"Connection": true, "Content-Length": true, "Content-Md5": true, "Expect": true,
	"Max-Forwards": true, "Proxy-Authenticate": true, "Server": true, "Te": true,
	"Transfer-Encoding": true, "Trailer": true, "Upgrade": true, "Www-Authenticate": true,
	"Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authorization": true,
	"X-Forwarded-For": true, "X-Forwarded-Port": true, "X-Forwarded-Proto": true,
}

// buildEvent makes the proxy event of c. The body is read whole here.
func (ig *Integration) buildEvent(c *Call, now time.Time) ([]byte, error) {
	body, err := readBody(c.Body)
	if err != nil {
		return nil, err
	}
	fn := ig.ep.(*lambdaTarget)
	ev := proxyEventOf(c, fn.account, now)
	if len(body) > 0 {
		var s string
		if fn.isBinary(c.Header.Get("Content-Type")) {
			s = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		} else {
			s = string(body)
		}
		ev.Body = &s
	}
	return json.Marshal(&ev)
}

// RequestAuthorizerEvent is the event of a REQUEST Lambda authorizer: the
// request part of the proxy event (no body), with "type" and "methodArn".
func RequestAuthorizerEvent(c *Call, accountID, methodARN string, now time.Time) ([]byte, error) {
	ev := proxyEventOf(c, accountID, now)
	return json.Marshal(&struct {
		Type                            string              `json:"type"`
		MethodArn                       string              `json:"methodArn"`
		Resource                        string              `json:"resource"`
		Path                            string              `json:"path"`
		HTTPMethod                      string              `json:"httpMethod"`
		Headers                         map[string]string   `json:"headers"`
		MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
		QueryStringParameters           map[string]string   `json:"queryStringParameters"`
		MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
		PathParameters                  map[string]string   `json:"pathParameters"`
		StageVariables                  map[string]string   `json:"stageVariables"`
		RequestContext                  eventContext        `json:"requestContext"`
	}{"REQUEST", methodARN, ev.Resource, ev.Path, ev.HTTPMethod, ev.Headers, ev.MultiValueHeaders,
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters, ev.PathParameters, ev.StageVariables, ev.RequestContext})
}

// eventOf fills the proxy event of c, except its body.
func proxyEventOf(c *Call, accountID string, now time.Time) proxyEvent {
	t := c.RequestTime
	if t.IsZero() {
		t = now
	}
	t = t.UTC()
	ev := proxyEvent{
		Resource:       c.ResourcePath,
		Path:           cmp.Or(c.DomainPath, c.Path),
		HTTPMethod:     c.HTTPMethod,
		PathParameters: eventPathParameters(c),
		StageVariables: nonEmpty(c.StageVars),
		RequestContext: eventContext{
			ResourceID:        c.ResourceID,
			Authorizer:        eventAuthorizer(c.Authorizer),
			ResourcePath:      c.ResourcePath,
			OperationName:     c.OperationName,
			HTTPMethod:        c.HTTPMethod,
			ExtendedRequestID: c.extendedRequestID(),
			RequestTime:       t.Format(requestTimeLayout),
			Path:              c.ContextPath(),
			AccountID:         accountID,
			Protocol:          c.Proto,
			Stage:             c.Stage,
			DomainPrefix:      c.domainPrefix(),
			RequestTimeEpoch:  t.UnixMilli(),
			RequestID:         c.RequestID,
			Identity:          eventIdentityOf(c),
			DomainName:        c.domainName(),
			DeploymentID:      c.DeploymentID,
			APIID:             c.APIID,
		},
	}
	if ev.HTTPMethod == "" {
		ev.HTTPMethod = c.HTTPMethod
		ev.RequestContext.HTTPMethod = c.HTTPMethod
	}
	if ev.RequestContext.Protocol == "" {
		ev.RequestContext.Protocol = "HTTP/1.1"
	}
	ev.Headers, ev.MultiValueHeaders = eventHeaders(c)
	ev.QueryStringParameters, ev.MultiValueQueryStringParameters = eventQuery(c.RawQuery)
	return ev
}

// readBody reads the client's body, which the gateway has limited to the
// payload quota.
func readBody(body io.Reader) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fault.ErrRequestTooLarge
		}
		return nil, fault.IntegrationFailureErr(err)
	}
	return b, nil
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// eventPathParameters are the matched path parameters as they came on the
// wire: AWS does not percent-decode them for the proxy event.
func eventPathParameters(c *Call) map[string]string {
	if c.Params == nil || c.Params.Len() == 0 {
		return nil
	}
	m := make(map[string]string, c.Params.Len())
	for i := 0; i < c.Params.Len(); i++ {
		p := c.Params.At(i)
		m[p.Name] = p.Raw
	}
	return m
}

// eventHeaders returns the headers and multiValueHeaders of the event: the
// client's headers under the names the client used (the last value of a
// repeated header in headers), without the ones API Gateway drops, plus
// Host and the headers the gateway adds.
func eventHeaders(c *Call) (map[string]string, map[string][]string) {
	h := c.Header
	dropped := map[string]bool{}
	for _, f := range h["Connection"] {
		for _, name := range strings.Split(f, ",") {
			if name = textproto.TrimString(name); name != "" {
				dropped[http.CanonicalHeaderKey(name)] = true
			}
		}
	}
	single := make(map[string]string, len(h)+5)
	multi := make(map[string][]string, len(h)+5)
	add := func(canonical string, vs []string) {
		name := c.headerName(canonical)
		single[name] = vs[len(vs)-1]
		multi[name] = vs
	}
	for k, vs := range h {
		if len(vs) == 0 || eventDroppedHeaders[k] || dropped[k] {
			continue
		}
		switch k {
		case "Authorization":
			// Dropped when it carries a SigV4 signature or the method
			// uses AWS_IAM authorization.
			if c.Caller != nil || strings.HasPrefix(vs[len(vs)-1], "AWS4-") {
				continue
			}
		case "X-Amzn-Trace-Id":
			if c.TraceID != "" {
				continue
			}
		}
		add(k, append([]string(nil), vs...))
	}
	if c.Host != "" {
		add("Host", []string{c.Host})
	}
	if c.TraceID != "" {
		add("X-Amzn-Trace-Id", []string{c.TraceID})
	}
	if c.SourceIP != "" {
		xff := c.SourceIP
		if prior := h.Values("X-Forwarded-For"); len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + c.SourceIP
		}
		add("X-Forwarded-For", []string{xff})
	}
	if c.ListenerPort != "" {
		add("X-Forwarded-Port", []string{c.ListenerPort})
	}
	proto := "http"
	if c.TLS != nil {
		proto = "https"
	}
	add("X-Forwarded-Proto", []string{proto})
	return single, multi
}

// headerName is the name under which a header reaches the function: as the
// client wrote it, except for Authorization and User-Agent, which AWS
// always capitalizes.
func (c *Call) headerName(canonical string) string {
	switch canonical {
	case "Authorization", "User-Agent", "X-Amzn-Trace-Id", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto":
		return canonical
	}
	if n, ok := c.HeaderNames[canonical]; ok && http.CanonicalHeaderKey(n) == canonical {
		return n
	}
	return canonical
}

// eventQuery parses a raw query string as API Gateway does: pairs are
// separated by & or ; (AWS splits on semicolons), names and values are
// form-decoded ("+" is a space), a name without "=" has the empty value,
// and queryStringParameters keeps the last of repeated values. Both maps are
// nil when there is no parameter.
func eventQuery(raw string) (map[string]string, map[string][]string) {
	if raw == "" {
		return nil, nil
	}
	var single map[string]string
	var multi map[string][]string
	for raw != "" {
		var pair string
		if i := strings.IndexAny(raw, "&;"); i >= 0 {
			pair, raw = raw[:i], raw[i+1:]
		} else {
			pair, raw = raw, ""
		}
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if k == "" {
			continue
		}
		if single == nil {
			single, multi = map[string]string{}, map[string][]string{}
		}
		single[k] = v
		multi[k] = append(multi[k], v)
	}
	return single, multi
}

// queryUnescape form-decodes s, keeping it as it came when an escape is
// malformed.
func queryUnescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return strings.ReplaceAll(s, "+", " ")
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func eventIdentityOf(c *Call) eventIdentity {
	id := eventIdentity{
		SourceIP:  strPtr(c.SourceIP),
		UserAgent: strPtr(c.Header.Get("User-Agent")),
		APIKey:    strPtr(c.APIKey),
		APIKeyID:  strPtr(c.APIKeyID),
		VpceID:    strPtr(c.SourceVpce),
	}
	if cl := c.Caller; cl != nil {
		id.CognitoIdentityPoolID = strPtr(cl.CognitoIdentityPoolID)
		id.AccountID = strPtr(cl.AccountID)
		id.CognitoIdentityID = strPtr(cl.CognitoIdentityID)
		id.Caller = strPtr(cl.Caller)
		id.PrincipalOrgID = strPtr(cl.PrincipalOrgID)
		id.AccessKey = strPtr(cl.AccessKey)
		id.CognitoAuthenticationType = strPtr(cl.CognitoAuthenticationType)
		id.CognitoAuthenticationProvider = strPtr(cl.CognitoAuthenticationProvider)
		id.UserARN = strPtr(cl.UserARN)
		id.User = strPtr(cl.User)
	}
	if cert := c.ClientCert; cert != nil {
		cc := &eventClientCert{
			ClientCertPem: cert.PEM,
			SubjectDN:     cert.SubjectDN,
			IssuerDN:      cert.IssuerDN,
			SerialNumber:  cert.SerialNumber,
		}
		cc.Validity.NotBefore, cc.Validity.NotAfter = cert.notBefore(), cert.notAfter()
		id.ClientCert = cc
	}
	return id
}

// ClientCertOf describes the certificate a client presented over TLS, or
// is nil.
func ClientCertOf(cs *tls.ConnectionState) *ClientCert {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return nil
	}
	crt := cs.PeerCertificates[0]
	serial := crt.SerialNumber.Bytes()
	parts := make([]string, len(serial))
	for i, b := range serial {
		parts[i] = strconv.FormatUint(uint64(b)|0x100, 16)[1:]
	}
	return &ClientCert{
		PEM:          string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: crt.Raw})),
		SubjectDN:    crt.Subject.String(),
		IssuerDN:     crt.Issuer.String(),
		SerialNumber: strings.Join(parts, ":"),
		NotBefore:    crt.NotBefore,
		NotAfter:     crt.NotAfter,
	}
}

// eventAuthorizer is requestContext.authorizer for a Lambda authorizer:
// its context with every value stringified (AWS: "Their values are
// stringified"), principalId, and integrationLatency in milliseconds.
func eventAuthorizer(a *Authorizer) map[string]any {
	if a == nil {
		return nil
	}
	m := make(map[string]any, len(a.Context)+2)
	for k, v := range a.Context {
		if s, ok := stringify(v); ok {
			m[k] = s
		}
	}
	m["principalId"] = a.PrincipalID
	m["integrationLatency"] = a.Latency.Milliseconds()
	return m
}

func stringify(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// mediaTypeMatches reports whether a content type (parameters allowed)
// matches one of the API's binary media types: exactly, "type/*", or
// "*/*".
func mediaTypeMatches(contentType string, types []string) bool {
	if len(types) == 0 {
		return false
	}
	mt := strings.ToLower(strings.TrimSpace(contentType))
	if parsed, _, err := mime.ParseMediaType(mt); err == nil {
		mt = parsed
	} else if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	major, _, _ := strings.Cut(mt, "/")
	for _, t := range types {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "*/*":
			return true
		case mt == "":
		case t == mt:
			return true
		case strings.HasSuffix(t, "/*") && t[:len(t)-2] == major:
			return true
		}
	}
	return false
}
