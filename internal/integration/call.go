// Package integration calls what a method is integrated with: HTTP backends
// (HTTP_PROXY and HTTP), MOCK, and later Lambda and AWS services. Each
// integration is compiled once per deployment and invoked per request.
package integration

import (
	"net/http"
	"strings"

	"github.com/apigw/apigw/internal/gateway/route"
)

// Call is what the pipeline knows about one request when the integration
// runs. It is filled by the gateway and only read here.
type Call struct {
	W http.ResponseWriter
	R *http.Request

	RequestID    string
	TraceID      string // X-Amzn-Trace-Id value
	ListenerPort string // the port the client connected to
	APIID        string
	Stage        string
	StageVars    map[string]string
	ResourceID   string
	ResourcePath string // the resource template, e.g. /items/{id}
	Path         string // the request path below the stage, as sent
	HTTPMethod   string
	Params       *route.Params
	SourceIP     string
	APIKey       string // the caller's API key, when the method required one
	APIKeyID     string
	SourceVpce   string
	Caller       *Caller // the SigV4 signer of an AWS_IAM request, or nil
}

// Caller is requestContext.identity's IAM part.
type Caller struct {
	AccessKey string
	AccountID string
	Caller    string
	User      string
	UserARN   string
}

// lastValue returns the last of a header's or query parameter's values, as
// API Gateway does for single-valued parameters.
func lastValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// queryValues reads the request's query string once per call.
func (c *Call) queryValues(name string) []string {
	return c.R.URL.Query()[name]
}

func (c *Call) headerValues(name string) []string {
	return c.R.Header.Values(name)
}

// contextValue resolves the $context variables a parameter mapping may name.
func (c *Call) contextValue(name string) string {
	switch name {
	case "requestId", "extendedRequestId":
		return c.RequestID
	case "apiId":
		return c.APIID
	case "stage":
		return c.Stage
	case "resourceId":
		return c.ResourceID
	case "resourcePath":
		return c.ResourcePath
	case "httpMethod":
		return c.HTTPMethod
	case "path":
		return "/" + c.Stage + c.Path
	case "protocol":
		return c.R.Proto
	case "domainName":
		return c.R.Host
	case "domainPrefix":
		host, _, _ := strings.Cut(c.R.Host, ".")
		return host
	case "identity.sourceIp":
		return c.SourceIP
	case "identity.userAgent":
		return c.R.UserAgent()
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
	}
	return ""
}
