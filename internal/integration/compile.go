package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw/apigw/internal/integration/h1"
	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/model"
)

// Options are what compiled integrations share: the connection pools.
type Options struct {
	// Transport calls HTTP backends; nil means DefaultClient for http://
	// URIs and DefaultTransport for https:// ones.
	Transport http.RoundTripper
	// InsecureTransport is used when tlsConfig.insecureSkipVerification is
	// set; nil means InsecureTransport.
	InsecureTransport http.RoundTripper

	// Lambda runs the functions of AWS_PROXY integrations; nil answers
	// them with a configuration error.
	Lambda lambda.Invoker
	// Region and AccountID are the API owner's: they make the method ARN
	// (the invocation's SourceArn) and requestContext.accountId.
	Region    string
	AccountID string
	// BinaryMediaTypes is the API's binaryMediaTypes: request bodies of
	// these content types reach a Lambda function base64-encoded, and a
	// base64 answer is decoded for clients that accept one of them.
	BinaryMediaTypes []string

	// AWSEndpoints maps an AWS service's endpoint prefix (dynamodb, sqs,
	// ...) to the base URL AWS integrations call it at; a service not
	// listed is called at https://{service}.{region}.amazonaws.com.
	AWSEndpoints map[string]string
	// Roles assumes the credentials roles of AWS integrations; nil fails
	// the integrations that have one.
	Roles *RoleCredentials
	// CallerCredentials finds an AWS_IAM caller's keys by access key id,
	// for AWS integrations whose credentials are arn:aws:iam::*:user/*.
	CallerCredentials func(ctx context.Context, accessKeyID string) (aws.Credentials, error)
}

// Integration is a method's integration compiled for one deployment: what
// every type shares (mappings, timeout, integration responses) and the
// endpoint of its type.
type Integration struct {
	Type      string
	ep        endpoint
	mappings  []mapping
	timeout   time.Duration
	responses []*response // with a selection pattern, in a stable order
	fallback  *response   // the response without a selection pattern
	// templates are the request templates by content type (lower case);
	// passthrough says what a request of another type gets.
	templates   map[string]*mappingTemplate
	passthrough passthrough
	// contentHandling converts the request's payload; binaryTypes are
	// the API's binaryMediaTypes (HTTP and MOCK only).
	contentHandling contentHandling
	binaryTypes     []string
}

// endpoint is one integration type, in the three phases API Gateway runs
// it: the integration request builds what is sent (parameter mappings, the
// request template, the Lambda event), the call sends it and keeps the
// answer in x, and the integration response maps that answer into the
// client's Response (selection, response mappings, templates; a proxy
// passes it through). Each returns nil or a gateway error.
type endpoint interface {
	request(ig *Integration, c *Call, x *Exchange) error
	call(ctx context.Context, ig *Integration, c *Call, x *Exchange) error
	respond(ig *Integration, c *Call, x *Exchange, out *Response) error
}

// endpoints is the one table of integration types apigw calls, each with
// the function that compiles its endpoint.
var endpoints = map[string]func(in *model.Integration, opts Options) (endpoint, error){
	"HTTP":       compileHTTP,
	"HTTP_PROXY": compileHTTP,
	"MOCK":       compileMock,
	"AWS_PROXY":  func(in *model.Integration, opts Options) (endpoint, error) { return compileLambda(in, opts) },
	"AWS":        compileAWS,
}

// httpEndpoint calls an HTTP backend: HTTP_PROXY passes the request and the
// answer through, HTTP maps them.
type httpEndpoint struct {
	proxy      bool
	httpMethod string // "" means the client's method (ANY)
	uri        []uriPart
	// staticURL is the URI when it has no placeholders: parsed once.
	staticURL *url.URL
	transport http.RoundTripper
	insecure  bool // tlsConfig.insecureSkipVerification
	// h1 calls http:// backends when no Transport was given; h1pool is
	// its pool for a static URI's address.
	h1     *h1.Client
	h1pool *h1.Pool
	// vpcLink is the connectionId of a VPC_LINK integration: a link id,
	// or ${stageVariables.name} naming one at call time.
	vpcLink string
	// sign, if set, signs the request before it is sent (AWS service
	// integrations); body is the request's whole body.
	sign func(ctx context.Context, c *Call, req *http.Request, body []byte) error
}

func compileHTTP(in *model.Integration, opts Options) (endpoint, error) {
	ep := &httpEndpoint{proxy: in.Type == "HTTP_PROXY", transport: opts.Transport}
	if ep.transport == nil {
		ep.transport = DefaultTransport
		ep.h1 = DefaultClient
	}
	if in.TLSConfig != nil && in.TLSConfig.InsecureSkipVerification {
		ep.insecure = true
		ep.transport = opts.InsecureTransport
		if ep.transport == nil {
			ep.transport = InsecureTransport
		}
	}
	if in.HTTPMethod != "ANY" {
		ep.httpMethod = in.HTTPMethod
	}
	var err error
	if ep.uri, err = parseURI(in.URI); err != nil {
		return nil, err
	}
	if in.ConnectionType == "VPC_LINK" {
		// Fail closed: a VPC_LINK integration never goes to the URI's host.
		if in.ConnectionID == "" {
			return nil, errors.New("VPC_LINK integration without a connectionId")
		}
		ep.vpcLink = in.ConnectionID
	}
	if len(ep.uri) == 1 && ep.uri[0].kind == 0 {
		if ep.staticURL, err = renderURI(ep.uri, nil, nil); err != nil {
			return nil, err
		}
		if ep.h1 != nil && ep.staticURL.Scheme == "http" && ep.vpcLink == "" {
			ep.h1pool = ep.h1.Pool(dialAddr(ep.staticURL))
		}
	}
	return ep, nil
}

// response is a compiled integration response.
type response struct {
	status  int
	pattern *regexp.Regexp
	headers []headerMapping
	// templates are the response templates by content type (lower case);
	// first is the first by name, for an Accept none matches.
	templates map[string]*mappingTemplate
	first     *mappingTemplate
	// contentHandling converts the endpoint's payload.
	contentHandling contentHandling
}

type headerMapping struct {
	name string
	src  source
}

// Compile prepares in for invocation. Errors are configuration errors: they
// are reported when the method is called, as AWS does.
func Compile(in *model.Integration, opts Options) (*Integration, error) {
	ig := &Integration{
		Type:    in.Type,
		timeout: time.Duration(in.TimeoutInMillis) * time.Millisecond,
	}
	if ig.timeout <= 0 {
		ig.timeout = 29 * time.Second
	}
	compile := endpoints[in.Type]
	if compile == nil {
		return nil, fmt.Errorf("integration type %s is not supported yet", in.Type)
	}
	if err := ig.compileRequestTemplates(in); err != nil {
		return nil, err
	}
	if mapsRequests(in.Type) {
		ig.contentHandling, ig.binaryTypes = parseContentHandling(in.ContentHandling), opts.BinaryMediaTypes
	}
	var err error
	if ig.ep, err = compile(in, opts); err != nil {
		return nil, err
	}
	if ig.mappings, err = parseRequestMappings(in.RequestParameters); err != nil {
		return nil, err
	}
	for _, code := range sortedKeys(in.IntegrationResponses) {
		ir := in.IntegrationResponses[code]
		r, err := compileResponse(ir)
		if err != nil {
			return nil, err
		}
		if ir.SelectionPattern == "" {
			ig.fallback = r
		} else {
			ig.responses = append(ig.responses, r)
		}
	}
	return ig, nil
}

func compileResponse(ir *model.IntegrationResponse) (*response, error) {
	r := &response{contentHandling: parseContentHandling(ir.ContentHandling)}
	if _, err := fmt.Sscan(ir.StatusCode, &r.status); err != nil || r.status < 100 || r.status > 599 {
		return nil, fmt.Errorf("invalid integration response status %q", ir.StatusCode)
	}
	var err error
	if r.templates, err = compileTemplates("integration response "+ir.StatusCode, ir.ResponseTemplates); err != nil {
		return nil, err
	}
	if len(ir.ResponseTemplates) > 0 {
		r.first = r.templates[strings.ToLower(sortedKeys(ir.ResponseTemplates)[0])]
	}
	if ir.SelectionPattern != "" {
		// AWS matches the whole string, as Java's String.matches does.
		re, err := regexp.Compile(`^(?:` + ir.SelectionPattern + `)$`)
		if err != nil {
			return nil, fmt.Errorf("invalid selection pattern %q: %w", ir.SelectionPattern, err)
		}
		r.pattern = re
	}
	for _, k := range sortedKeys(ir.ResponseParameters) {
		name, ok := strings.CutPrefix(k, "method.response.header.")
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid response mapping target %q", k)
		}
		src, err := parseSource(ir.ResponseParameters[k], true)
		if err != nil {
			return nil, err
		}
		r.headers = append(r.headers, headerMapping{name, src})
	}
	return r, nil
}

// selectResponse picks the integration response for a backend status (or
// a MOCK's statusCode): the first pattern that matches, else the default.
func (ig *Integration) selectResponse(key string) *response {
	for _, r := range ig.responses {
		if r.pattern.MatchString(key) {
			return r
		}
	}
	return ig.fallback
}

// uriPart is a piece of an integration URI: literal text, a stage
// variable, or a path parameter placeholder.
type uriPart struct {
	kind uint8 // 0 literal, 1 stage variable, 2 path parameter
	text string
}

func parseURI(s string) ([]uriPart, error) {
	var parts []uriPart
	for s != "" {
		i := strings.IndexAny(s, "${")
		if i < 0 {
			parts = append(parts, uriPart{0, s})
			break
		}
		if i > 0 {
			parts = append(parts, uriPart{0, s[:i]})
			s = s[i:]
		}
		switch {
		case strings.HasPrefix(s, "${stageVariables."):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated stage variable in URI")
			}
			parts = append(parts, uriPart{1, s[len("${stageVariables."):end]})
			s = s[end+1:]
		case s[0] == '{':
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated path parameter in URI")
			}
			parts = append(parts, uriPart{2, s[1:end]})
			s = s[end+1:]
		default:
			parts = append(parts, uriPart{0, s[:1]})
			s = s[1:]
		}
	}
	return parts, nil
}

// renderURI substitutes stage variables and mapped path parameters, whose
// values are already escaped. Unmapped placeholders stay as written, as on
// AWS.
func renderURI(parts []uriPart, vars map[string]string, pathParams map[string]string) (*url.URL, error) {
	var b strings.Builder
	for _, p := range parts {
		switch p.kind {
		case 0:
			b.WriteString(p.text)
		case 1:
			b.WriteString(vars[p.text])
		case 2:
			v, ok := pathParams[p.text]
			if !ok {
				b.WriteString("%7B" + p.text + "%7D")
				continue
			}
			b.WriteString(v)
		}
	}
	u, err := url.Parse(b.String())
	if err != nil {
		return nil, fmt.Errorf("integration URI %q: %w", b.String(), err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid HTTP endpoint %q", b.String())
	}
	return u, nil
}

// escapePath escapes each segment of a path parameter value, keeping the
// slashes of a greedy ({proxy+}) value.
func escapePath(v string) string {
	if !strings.Contains(v, "/") {
		return url.PathEscape(v)
	}
	segs := strings.Split(v, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// escapeRawPath normalises a still-encoded path value segment by segment:
// each segment is decoded and escaped again, so that %2F inside a segment
// stays %2F. A segment with a malformed escape is kept as it came.
func escapeRawPath(raw string) string {
	if strings.IndexByte(raw, '%') < 0 {
		return escapePath(raw)
	}
	segs := strings.Split(raw, "/")
	for i, s := range segs {
		if d, err := url.PathUnescape(s); err == nil {
			segs[i] = url.PathEscape(d)
		}
	}
	return strings.Join(segs, "/")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
