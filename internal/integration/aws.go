package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"golang.org/x/sync/singleflight"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
)

// AWS service integrations (type AWS): the request an integration request
// builds, signed with SigV4 as the integration's credentials, sent to the
// service's endpoint; the answer mapped like an HTTP integration's. A URI
// naming a Lambda function's invocations is Lambda's non-proxy integration
// (lambdaEndpoint).

// CallerCredentials is the credentials value of an integration that calls
// the service as the method's caller (AWS_IAM methods).
const CallerCredentials = "arn:aws:iam::*:user/*"

// awsURIRE is arn:{partition}:apigateway:{region}:{subdomain.}{service}:{action|path}/{rest}.
var awsURIRE = regexp.MustCompile(`^arn:aws[a-z-]*:apigateway:([a-z0-9-]+):([A-Za-z0-9.-]+):(action|path)/(.*)$`)

// AWSURI is an AWS service integration's URI, parsed.
type AWSURI struct {
	Region    string
	Subdomain string // "" unless the URI names {subdomain}.{service}
	Service   string // the endpoint prefix, e.g. dynamodb
	Action    string // action-style URIs
	Path      string // path-style URIs, placeholders and stage variables as written
}

// ParseAWSURI parses arn:aws:apigateway:{region}:{service}:action/{Action}
// and arn:aws:apigateway:{region}:{service}:path/{path}, the service
// possibly written {subdomain}.{service}.
func ParseAWSURI(uri string) (*AWSURI, error) {
	m := awsURIRE.FindStringSubmatch(uri)
	if m == nil {
		return nil, fmt.Errorf("AWS ARN for integration must contain path or action: %q", uri)
	}
	u := &AWSURI{Region: m[1], Service: m[2]}
	if i := strings.LastIndexByte(u.Service, '.'); i >= 0 {
		u.Subdomain, u.Service = u.Service[:i], u.Service[i+1:]
		if u.Subdomain == "" || u.Service == "" {
			return nil, fmt.Errorf("invalid AWS service %q in integration URI", m[2])
		}
	}
	if m[3] == "action" {
		u.Action = m[4]
		if u.Action == "" || strings.ContainsAny(u.Action, "/?&=# ") {
			return nil, fmt.Errorf("invalid action %q in integration URI", m[4])
		}
	} else {
		u.Path = m[4]
	}
	return u, nil
}

// targetServices are the JSON-protocol services whose action-style
// integrations API Gateway calls with X-Amz-Target {prefix}.{Action}
// itself (and, here, their JSON content type unless a mapping sets
// Content-Type). Other services get only the Action parameter: a JSON
// service such as EventBridge needs its X-Amz-Target mapped by the user,
// as on AWS.
var targetServices = map[string]struct{ target, contentType string }{
	"dynamodb": {"DynamoDB_20120810", "application/x-amz-json-1.0"},
	"kinesis":  {"Kinesis_20131202", "application/x-amz-json-1.1"},
	"states":   {"AWSStepFunctions", "application/x-amz-json-1.0"},
}

// endpointHosts are the services of integration URIs whose endpoint host
// is not their name: {account-prefix}.iotdata is the IoT data plane at
// {account-prefix}.iot.{region}.amazonaws.com.
var endpointHosts = map[string]string{"iotdata": "iot"}

// signingNames are the services whose SigV4 name is not their endpoint
// prefix.
var signingNames = map[string]string{"email": "ses"}

// ServiceEndpoint is the base URL apigw calls a service at: the
// configured one (Options.AWSEndpoints), else AWS's regional endpoint. A
// subdomain goes in front of the host name (not of an IP address).
func ServiceEndpoint(endpoints map[string]string, service, subdomain, region string) (*url.URL, error) {
	raw, ok := endpoints[service]
	if !ok {
		host := service
		if h, ok := endpointHosts[service]; ok {
			host = h
		}
		host += "." + region + ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			host += ".cn"
		}
		raw = "https://" + host
	}
	u, err := CheckEndpointURL(raw)
	if err != nil {
		return nil, err
	}
	if subdomain != "" && net.ParseIP(u.Hostname()) == nil {
		u.Host = subdomain + "." + u.Host
	}
	return u, nil
}

// CheckEndpointURL parses a service endpoint: http or https, a host, no
// query or fragment. A path is kept and prefixes the integration's.
func CheckEndpointURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("AWS endpoint %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("AWS endpoint %q: want http(s)://host[:port][/path]", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// RoleCredentials assumes the credentials roles of AWS integrations and
// keeps each session until five minutes before it expires, so that a
// request does not create a session of its own. Concurrent requests that
// find no session wait for one assumption.
type RoleCredentials struct {
	// Assume asks the STS for a session of the role, as
	// apigateway.amazonaws.com.
	Assume func(ctx context.Context, roleARN string) (aws.Credentials, error)

	assuming singleflight.Group // one Assume at a time per role
	mu       sync.Mutex         // guards sessions
	sessions map[string]aws.Credentials
}

// refreshBefore is how long before its expiry a session is replaced.
const refreshBefore = 5 * time.Minute

func (r *RoleCredentials) kept(roleARN string, now time.Time) (aws.Credentials, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.sessions[roleARN]
	return c, ok && (!c.CanExpire || c.Expires.Sub(now) > refreshBefore)
}

// Get returns a session of the role. A refusal is not kept: the next
// request asks again.
func (r *RoleCredentials) Get(ctx context.Context, roleARN string) (aws.Credentials, error) {
	if c, ok := r.kept(roleARN, time.Now()); ok {
		return c, nil
	}
	v, err, _ := r.assuming.Do(roleARN, func() (any, error) {
		if c, ok := r.kept(roleARN, time.Now()); ok {
			return c, nil // assumed by a call that just finished
		}
		// Shared by the requests waiting for it: none of them cancels it.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		c, err := r.Assume(actx, roleARN)
		if err != nil {
			return nil, err
		}
		r.keep(roleARN, c)
		return c, nil
	})
	if err != nil {
		return aws.Credentials{}, err
	}
	return v.(aws.Credentials), nil
}

// keep stores a session of roleARN, dropping the sessions about to expire.
func (r *RoleCredentials) keep(roleARN string, c aws.Credentials) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions == nil {
		r.sessions = map[string]aws.Credentials{}
	}
	for k, s := range r.sessions {
		if s.CanExpire && s.Expires.Sub(now) <= refreshBefore {
			delete(r.sessions, k)
		}
	}
	r.sessions[roleARN] = c
}

// awsEndpoint calls an AWS service. Its httpEndpoint builds and sends the
// request (mappings, templates, overrides, the timeout); awsEndpoint adds
// the service's fields and signs it.
type awsEndpoint struct {
	http *httpEndpoint
	// target is the X-Amz-Target of an action of a JSON service, with
	// its content type (unless a mapping sets Content-Type).
	target, contentType string
	service, region     string    // the SigV4 scope
	role                []uriPart // the credentials role (stage variables substituted per call), or nil
	asCaller            bool      // credentials arn:aws:iam::*:user/*
	roles               *RoleCredentials
	callerCreds         func(ctx context.Context, accessKeyID string) (aws.Credentials, error)
	signer              *v4.Signer
}

func compileAWS(in *model.Integration, opts Options) (endpoint, error) {
	if lambdaURIRE.MatchString(in.URI) {
		t, err := compileLambda(in, opts)
		if err != nil {
			return nil, err
		}
		return &lambdaEndpoint{t}, nil
	}
	au, err := ParseAWSURI(in.URI)
	if err != nil {
		return nil, err
	}
	base, err := ServiceEndpoint(opts.AWSEndpoints, au.Service, au.Subdomain, au.Region)
	if err != nil {
		return nil, err
	}
	ep := &awsEndpoint{region: au.Region, service: au.Service, roles: opts.Roles, callerCreds: opts.CallerCredentials,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = au.Service == "s3" })}
	if n, ok := signingNames[au.Service]; ok {
		ep.service = n
	}
	switch in.Credentials {
	case "":
	case CallerCredentials:
		ep.asCaller = true
	default:
		if ep.role, err = parseURI(in.Credentials); err != nil {
			return nil, err
		}
	}
	h := &httpEndpoint{transport: opts.Transport, sign: ep.sign}
	if h.transport == nil {
		h.transport = DefaultTransport
	}
	if in.HTTPMethod != "ANY" {
		h.httpMethod = in.HTTPMethod
	}
	uri := base.String() + "/"
	if au.Action != "" {
		// The action is the Action parameter, for every service.
		uri += "?Action=" + url.QueryEscape(au.Action)
		if js, ok := targetServices[au.Service]; ok {
			ep.target, ep.contentType = js.target+"."+au.Action, js.contentType
			if _, set := in.RequestParameters["integration.request.header.Content-Type"]; set {
				ep.contentType = ""
			}
		}
	} else {
		uri += au.Path
	}
	if h.uri, err = parseURI(uri); err != nil {
		return nil, err
	}
	if len(h.uri) == 1 && h.uri[0].kind == 0 {
		if h.staticURL, err = renderURI(h.uri, nil, nil); err != nil {
			return nil, err
		}
	}
	ep.http = h
	return ep, nil
}

// request builds the service's request as an HTTP integration's, then adds
// the service's fields. The body is read whole: the signature covers it. A
// GET, HEAD or OPTIONS call sends none.
func (ep *awsEndpoint) request(ig *Integration, c *Call, x *Exchange) error {
	if err := ep.http.request(ig, c, x); err != nil {
		return err
	}
	add := &x.h1.add
	if ep.target != "" {
		add.set("X-Amz-Target", ep.target)
		if ep.contentType != "" {
			add.set("Content-Type", ep.contentType)
		}
	}
	*add = withoutField(*add, "X-Forwarded-For") // not sent to AWS services
	switch x.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		x.templated, x.reqBody = true, []byte{}
	}
	if !x.templated {
		body, err := readLimited(c.Body)
		if err != nil {
			return bodyReadError(err)
		}
		if body == nil {
			body = []byte{}
		}
		x.templated, x.reqBody = true, body
	}
	x.useH1 = false
	return nil
}

// withoutField drops the field name from f.
func withoutField(f fields, name string) fields {
	out := f[:0]
	for _, fl := range f {
		if fl.Name != name {
			out = append(out, fl)
		}
	}
	return out
}

func (ep *awsEndpoint) call(ctx context.Context, ig *Integration, c *Call, x *Exchange) error {
	return ep.http.call(ctx, ig, c, x)
}

// respond maps the service's answer: its status selects the integration
// response, as for HTTP.
func (ep *awsEndpoint) respond(ig *Integration, c *Call, x *Exchange, out *Response) error {
	return ig.respond(c, x, out)
}

// credentials finds the keys the call is signed with. A role that cannot
// be assumed is the API's configuration error (AWS answers 500).
func (ep *awsEndpoint) credentials(ctx context.Context, c *Call) (aws.Credentials, error) {
	switch {
	case ep.asCaller:
		if c.Caller == nil || c.Caller.AccessKey == "" || ep.callerCreds == nil {
			return aws.Credentials{}, configFailure("the caller's credentials ("+CallerCredentials+") need an AWS_IAM method", nil)
		}
		cr, err := ep.callerCreds(ctx, c.Caller.AccessKey)
		if err != nil {
			return aws.Credentials{}, configFailure("the caller's credentials", err)
		}
		return cr, nil
	case ep.role != nil:
		role := renderText(ep.role, c.StageVars)
		if ep.roles == nil {
			return aws.Credentials{}, configFailure("no STS to assume "+role, nil)
		}
		cr, err := ep.roles.Get(ctx, role)
		if err != nil {
			return aws.Credentials{}, configFailure("API Gateway does not have permission to assume the provided role "+role, err)
		}
		return cr, nil
	}
	return aws.Credentials{}, configFailure("an AWS service integration needs credentials (a role, or "+CallerCredentials+")", nil)
}

// execFailure is the reason of a configuration error as API Gateway's
// execution log words it.
type execFailure struct {
	reason string
	err    error
}

func (e *execFailure) Error() string {
	s := "Execution failed due to configuration error: " + e.reason
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *execFailure) Unwrap() error { return e.err }

func configFailure(reason string, err error) error {
	return fault.ConfigurationError(&execFailure{reason, err})
}

// renderText substitutes the stage variables of parts (placeholders stay as
// written).
func renderText(parts []uriPart, vars map[string]string) string {
	if len(parts) == 1 && parts[0].kind == 0 {
		return parts[0].text
	}
	var b strings.Builder
	for _, p := range parts {
		switch p.kind {
		case 1:
			b.WriteString(vars[p.text])
		case 2:
			b.WriteString("{" + p.text + "}")
		default:
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// sign signs the request with SigV4 for the service, as the integration's
// credentials.
func (ep *awsEndpoint) sign(ctx context.Context, c *Call, req *http.Request, body []byte) error {
	cr, err := ep.credentials(ctx, c)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if ep.service == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if err := ep.signer.SignHTTP(ctx, cr, req, hash, ep.service, ep.region, time.Now()); err != nil {
		return fault.ConfigurationError(fmt.Errorf("signing the %s request: %w", ep.service, err))
	}
	return nil
}

// lambdaEndpoint is Lambda's non-proxy integration (type AWS with the
// Invoke path): the request template's output is the event, and the
// function's answer is mapped by the integration responses. A function
// error selects the response whose pattern matches its errorMessage.
type lambdaEndpoint struct{ t *lambdaTarget }

func (ep *lambdaEndpoint) request(ig *Integration, c *Call, x *Exchange) error {
	t := ep.t
	if t.invoker == nil {
		return fault.ConfigurationError(errors.New("no Lambda service for Lambda integrations"))
	}
	fnName, err := t.functionName(c.StageVars)
	if err != nil {
		return fault.ConfigurationError(err)
	}
	if _, _, err := ig.requestBody(c, x); err != nil {
		return err
	}
	payload := x.reqBody
	if !x.templated {
		if payload, err = readLimited(c.Body); err != nil {
			return bodyReadError(err)
		}
	}
	x.invoke = t.invocation(c, fnName, payload)
	return nil
}

func (ep *lambdaEndpoint) call(ctx context.Context, ig *Integration, c *Call, x *Exchange) error {
	return ep.t.call(ctx, ig, c, x)
}

// respond selects the integration response: by the errorMessage of a
// function error (X-Amz-Function-Error), else the default one.
func (ep *lambdaEndpoint) respond(ig *Integration, c *Call, x *Exchange, out *Response) error {
	res := x.lambda
	sel := ig.fallback
	if res.FunctionError != "" {
		sel = ig.selectResponse(errorMessage(res.Payload))
	}
	if sel == nil {
		return fault.ConfigurationError(errors.New("no integration response matches the function's answer"))
	}
	x.status = http.StatusOK
	x.header = http.Header{"Content-Type": jsonContentType}
	x.body = bytes.NewReader(res.Payload)
	return ig.respondWith(sel, c, x, out)
}

// errorMessage is a function error's errorMessage; a payload that is not
// an error document is matched as it is.
func errorMessage(payload []byte) string {
	var doc struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	if json.Unmarshal(payload, &doc) == nil && doc.ErrorMessage != nil {
		return *doc.ErrorMessage
	}
	return string(payload)
}
