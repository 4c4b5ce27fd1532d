// Package integration calls what a method is integrated with: HTTP backends
// (HTTP_PROXY and HTTP), MOCK, and later Lambda and AWS services. Each
// integration is compiled once per deployment and invoked per request.
package integration

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/route"
)

// Call is what the pipeline knows about one request when the integration
// runs. It is filled by the gateway and only read here. It holds the
// client's request as data, not as an *http.Request, so that the HTTP server
// underneath can change without touching an integration; FromHTTP fills
// those fields from net/http's request.
type Call struct {
	// The client's request.
	HTTPMethod string
	Host       string
	Proto      string // "HTTP/1.1"
	Header     http.Header
	RawQuery   string
	// Body is the client's body, cut at the payload limit (reading past it
	// fails with an *http.MaxBytesError); nil or http.NoBody when none.
	Body io.Reader
	// ContentLength is the body's declared length; -1 means unknown.
	ContentLength int64
	TLS           *tls.ConnectionState // nil for plain HTTP

	query url.Values // RawQuery parsed, once

	RequestID    string
	TraceID      string // X-Amzn-Trace-Id value
	ListenerPort string // the port the client connected to
	APIID        string
	AccountID    string // the API owner's, $context.accountId
	Stage        string
	StageVars    map[string]string
	IsCanary     bool // served by the stage's canary release ($context.isCanaryRequest)
	ResourceID   string
	ResourcePath string // the resource template, e.g. /items/{id}
	Path         string // the request path below the stage, as sent
	// DomainPath is the client's path through a custom domain (its base
	// path included); "" for the execute-api endpoint.
	DomainPath string
	Params     *route.Params
	SourceIP   string
	APIKey     string // the caller's API key, when the method required one
	APIKeyID   string
	SourceVpce string
	Caller     *Caller // the SigV4 signer of an AWS_IAM request, or nil

	// The fields below feed the Lambda proxy event (AWS_PROXY); all are
	// optional.

	// ExtendedRequestID is $context.extendedRequestId (the x-amz-apigw-id);
	// "" means RequestID.
	ExtendedRequestID string
	// RequestTime is when the gateway received the request; zero means the
	// time of the integration call.
	RequestTime time.Time
	// DomainName is $context.domainName; "" means the request's Host.
	DomainName   string
	DeploymentID string
	// OperationName is the method's operationName, when it has one.
	OperationName string
	// HeaderNames maps a canonical header name to the name as the client
	// wrote it (net/http canonicalizes names). Nil, or a name missing from
	// it, means the canonical form.
	HeaderNames map[string]string
	// Authorizer is what the method's Lambda authorizer returned, or nil.
	Authorizer *Authorizer
	// ClientCert is the caller's certificate on a request through a
	// mutual-TLS custom domain (ClientCertOf); nil for every other request,
	// as on AWS.
	ClientCert *ClientCert
	// Transports call https:// backends for the stage: its client
	// certificate, the gateway's backend roots. Nil means the integration's
	// own (DefaultTransport, InsecureTransport).
	Transports *Transports
	// VpcLinks resolves the VPC links of VPC_LINK integrations; nil
	// answers them with a configuration error.
	VpcLinks VpcLinks
}

// VpcLinks finds where a VPC link leads.
type VpcLinks interface {
	// VpcLinkTarget returns the host:port of the link's target, or an
	// error saying why the link cannot be used (unknown, not AVAILABLE,
	// no address on this node).
	VpcLinkTarget(id string) (string, error)
}

// Authorizer is a Lambda authorizer's result, requestContext.authorizer of
// the proxy event.
type Authorizer struct {
	PrincipalID string
	// Context holds the authorizer's context (string, number and boolean
	// values); the event carries them stringified, as on AWS.
	Context map[string]any
	// Latency is how long the authorizer function ran; 0 for a cached
	// result (integrationLatency).
	Latency time.Duration
}

// ClientCert is requestContext.identity.clientCert.
type ClientCert struct {
	PEM          string
	SubjectDN    string
	IssuerDN     string
	SerialNumber string // hex bytes separated by colons
	NotBefore    time.Time
	NotAfter     time.Time
}

// Caller is requestContext.identity's IAM part.
type Caller struct {
	AccessKey string
	AccountID string
	Caller    string
	User      string
	UserARN   string

	// For credentials from a Cognito identity pool, and the caller's
	// organization; "" renders null.
	CognitoIdentityPoolID         string
	CognitoIdentityID             string
	CognitoAuthenticationType     string
	CognitoAuthenticationProvider string
	PrincipalOrgID                string
}

// lastValue returns the last of a header's or query parameter's values, as
// API Gateway does for single-valued parameters.
func lastValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// Query returns the request's query parameters, parsed once per call.
func (c *Call) Query() url.Values {
	if c.query == nil {
		c.query, _ = url.ParseQuery(c.RawQuery)
	}
	return c.query
}

func (c *Call) queryValues(name string) []string {
	return c.Query()[name]
}

func (c *Call) headerValues(name string) []string {
	return c.Header.Values(name)
}

// FromHTTP fills the client's request fields of c from r.
func (c *Call) FromHTTP(r *http.Request) {
	c.HTTPMethod, c.Host, c.Proto, c.Header = r.Method, r.Host, r.Proto, r.Header
	c.RawQuery, c.Body, c.ContentLength, c.TLS = r.URL.RawQuery, r.Body, r.ContentLength, r.TLS
}

// ContextValue resolves the $context variables a parameter mapping may name.
func (c *Call) ContextValue(name string) string {
	switch name {
	case "requestId":
		return c.RequestID
	case "extendedRequestId":
		return c.extendedRequestID()
	case "apiId":
		return c.APIID
	case "accountId":
		return c.AccountID
	case "stage":
		return c.Stage
	case "resourceId":
		return c.ResourceID
	case "resourcePath":
		return c.ResourcePath
	case "httpMethod":
		return c.HTTPMethod
	case "path":
		return c.ContextPath()
	case "protocol":
		return c.Proto
	case "domainName":
		return c.domainName()
	case "domainPrefix":
		return c.domainPrefix()
	case "identity.sourceIp":
		return c.SourceIP
	case "identity.userAgent":
		return c.Header.Get("User-Agent")
	case "identity.accessKey":
		if c.Caller != nil {
			return c.Caller.AccessKey
		}
	case "identity.accountId":
		if c.Caller != nil {
			return c.Caller.AccountID
		}
	case "identity.caller":
		if c.Caller != nil {
			return c.Caller.Caller
		}
	case "identity.user":
		if c.Caller != nil {
			return c.Caller.User
		}
	case "identity.userArn":
		if c.Caller != nil {
			return c.Caller.UserARN
		}
	case "identity.vpceId":
		return c.SourceVpce
	case "identity.apiKey":
		return c.APIKey
	case "identity.apiKeyId":
		return c.APIKeyID
	case "identity.clientCert.clientCertPem", "identity.clientCert.subjectDN", "identity.clientCert.issuerDN",
		"identity.clientCert.serialNumber", "identity.clientCert.validity.notBefore", "identity.clientCert.validity.notAfter":
		return c.ClientCert.value(name[len("identity.clientCert."):])
	}
	return ""
}

// value is one of $context.identity.clientCert's variables; "" for a
// request without a client certificate.
func (cc *ClientCert) value(name string) string {
	if cc == nil {
		return ""
	}
	switch name {
	case "clientCertPem":
		return cc.PEM
	case "subjectDN":
		return cc.SubjectDN
	case "issuerDN":
		return cc.IssuerDN
	case "serialNumber":
		return cc.SerialNumber
	case "validity.notBefore":
		return cc.notBefore()
	case "validity.notAfter":
		return cc.notAfter()
	}
	return ""
}

// notBefore and notAfter are the validity as AWS writes it (OpenSSL's
// rendering, in GMT).
func (cc *ClientCert) notBefore() string { return cc.NotBefore.UTC().Format(certTimeLayout) }
func (cc *ClientCert) notAfter() string  { return cc.NotAfter.UTC().Format(certTimeLayout) }

func (c *Call) extendedRequestID() string {
	if c.ExtendedRequestID != "" {
		return c.ExtendedRequestID
	}
	return c.RequestID
}

// ContextPath is $context.path: the path the client asked for, "/{stage}"
// included on the execute-api endpoint, the base path through a custom
// domain.
func (c *Call) ContextPath() string {
	if c.DomainPath != "" {
		return c.DomainPath
	}
	return "/" + c.Stage + c.Path
}

func (c *Call) domainName() string {
	if c.DomainName != "" {
		return c.DomainName
	}
	return c.Host
}

// domainPrefix is the first label of the domain name, without a port.
func (c *Call) domainPrefix() string {
	host := c.domainName()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	prefix, _, _ := strings.Cut(host, ".")
	return prefix
}
