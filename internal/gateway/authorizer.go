package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/gateway/fault"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/policy"
)

// Authorizer gateway responses, as AWS answers them.
var (
	errUnauthorized = &fault.Error{Type: fault.Unauthorized, Status: 401, ErrorType: "UnauthorizedException", Message: "Unauthorized"}
	// AWS answers authorizer failures with {"message": null}.
	errAuthorizerFailure = &fault.Error{Type: fault.AuthorizerFailure, Status: 500, ErrorType: "AuthorizerConfigurationException", NullMessage: true}
)

func authorizerDenied(explicit bool) *fault.Error {
	msg := "User is not authorized to access this resource"
	if explicit {
		msg += " with an explicit deny"
	}
	return &fault.Error{Type: fault.AccessDenied, Status: 403, ErrorType: "AccessDeniedException", Message: msg, MessageKey: "Message"}
}

// compiledAuthorizer is a Lambda authorizer ready to run.
type compiledAuthorizer struct {
	*model.Authorizer
	fn         *integration.FunctionURI // from authorizerUri; stage variables are substituted per call
	validation *regexp.Regexp
	sources    []string // identity sources, trimmed
	ttl        time.Duration
}

func compileAuthorizer(au *model.Authorizer) (*compiledAuthorizer, error) {
	ca := &compiledAuthorizer{Authorizer: au}
	if au.Type == "TOKEN" || au.Type == "REQUEST" {
		fn, err := integration.ParseFunctionURI(au.AuthorizerURI)
		if err != nil {
			return nil, fmt.Errorf("authorizer %s: %w", au.ID, err)
		}
		ca.fn = fn
	}
	if au.IdentityValidationExpression != "" && au.Type == "TOKEN" {
		re, err := regexp.Compile(`^(?:` + au.IdentityValidationExpression + `)$`)
		if err != nil {
			return nil, fmt.Errorf("authorizer %s: identity validation expression: %w", au.ID, err)
		}
		ca.validation = re
	}
	for _, s := range strings.Split(au.IdentitySource, ",") {
		if s = strings.TrimSpace(s); s != "" {
			ca.sources = append(ca.sources, s)
		}
	}
	if au.AuthorizerResultTtlInSeconds != nil {
		ca.ttl = time.Duration(*au.AuthorizerResultTtlInSeconds) * time.Second
	} else {
		ca.ttl = 300 * time.Second
	}
	return ca, nil
}

// AuthorizerResult is what a Lambda authorizer decided, cached by identity.
type AuthorizerResult struct {
	PrincipalID        string
	Policy             *policy.Document
	Context            map[string]any
	UsageIdentifierKey string
	PolicyJSON         string // the document as the function returned it
	// Latency is how long the function ran; 0 when the result came from
	// the cache.
	Latency time.Duration
	expires time.Time
}

// authCache caches authorizer results by authorizer and identity values.
type authCache struct {
	mu sync.Mutex
	m  map[string]*AuthorizerResult
}

const authCacheMax = 100000

func (c *authCache) get(key string, now time.Time) *AuthorizerResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.m[key]
	if r == nil {
		return nil
	}
	if now.After(r.expires) {
		delete(c.m, key)
		return nil
	}
	return r
}

func (c *authCache) put(key string, r *AuthorizerResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*AuthorizerResult{}
	}
	if len(c.m) >= authCacheMax {
		// Full: drop expired entries, else an arbitrary tenth.
		now, n := time.Now(), 0
		for k, v := range c.m {
			if now.After(v.expires) || n < authCacheMax/10 {
				delete(c.m, k)
				n++
			}
		}
	}
	c.m[key] = r
}

// identityValues reads an authorizer's identity sources from the request.
// ok is false when one is missing (the caller answers 401).
func identityValues(ca *compiledAuthorizer, r *http.Request, vars map[string]string, ctxValue func(string) string) ([]string, bool) {
	vals := make([]string, 0, len(ca.sources))
	for _, src := range ca.sources {
		var v string
		switch {
		case strings.HasPrefix(src, "method.request.header."):
			v = r.Header.Get(strings.TrimPrefix(src, "method.request.header."))
		case strings.HasPrefix(src, "method.request.multivalueheader."):
			v = strings.Join(r.Header.Values(strings.TrimPrefix(src, "method.request.multivalueheader.")), ",")
		case strings.HasPrefix(src, "method.request.querystring."):
			v = r.URL.Query().Get(strings.TrimPrefix(src, "method.request.querystring."))
		case strings.HasPrefix(src, "method.request.multivaluequerystring."):
			v = strings.Join(r.URL.Query()[strings.TrimPrefix(src, "method.request.multivaluequerystring.")], ",")
		case strings.HasPrefix(src, "stageVariables."):
			v = vars[strings.TrimPrefix(src, "stageVariables.")]
		case strings.HasPrefix(src, "context."):
			v = ctxValue(strings.TrimPrefix(src, "context."))
		}
		if v == "" {
			return nil, false
		}
		vals = append(vals, v)
	}
	return vals, true
}

// authorizerResponse is what a Lambda authorizer returns.
type authorizerResponse struct {
	PrincipalID        json.RawMessage `json:"principalId"`
	PolicyDocument     json.RawMessage `json:"policyDocument"`
	Context            map[string]any  `json:"context"`
	UsageIdentifierKey string          `json:"usageIdentifierKey"`
}

// callAuthorizer invokes the function and parses its answer.
func (g *Gateway) callAuthorizer(ctx context.Context, fnARN string, event []byte, sourceARN string) (*AuthorizerResult, error) {
	if g.Lambda == nil {
		return nil, fault.ConfigurationError(errors.New("no Lambda service for authorizers"))
	}
	res, err := g.Lambda.Invoke(ctx, &lambda.InvokeRequest{FunctionName: fnARN, Payload: event,
		Principal: "apigateway.amazonaws.com", SourceARN: sourceARN, SourceAccount: g.AccountID})
	if err != nil {
		return nil, withCause(errAuthorizerFailure, err)
	}
	if res.FunctionError != "" {
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(res.Payload, &fe) == nil && fe.ErrorMessage == "Unauthorized" {
			return nil, errUnauthorized
		}
		return nil, withCause(errAuthorizerFailure, fmt.Errorf("authorizer function error: %s", res.Payload))
	}
	var out authorizerResponse
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		return nil, withCause(errAuthorizerFailure, fmt.Errorf("authorizer answer is not JSON: %w", err))
	}
	var principal string
	if err := json.Unmarshal(out.PrincipalID, &principal); err != nil {
		return nil, withCause(errAuthorizerFailure, errors.New("authorizer answer has no principalId string"))
	}
	if len(out.PolicyDocument) == 0 {
		return nil, withCause(errAuthorizerFailure, errors.New("authorizer answer has no policyDocument"))
	}
	doc := out.PolicyDocument
	// Some authorizers return the document as a JSON string.
	var s string
	if json.Unmarshal(doc, &s) == nil {
		doc = []byte(s)
	}
	p, err := policy.ParseWith(doc, policy.ParseOptions{ForbidPrincipal: true})
	if err != nil {
		return nil, withCause(errAuthorizerFailure, fmt.Errorf("authorizer policy: %w", err))
	}
	for k, v := range out.Context {
		switch v.(type) {
		case string, float64, bool:
		default:
			// AWS accepts only string, number and boolean values.
			return nil, withCause(errAuthorizerFailure, fmt.Errorf("authorizer context value %q is not a string, number or boolean", k))
		}
	}
	return &AuthorizerResult{PrincipalID: principal, Policy: p, Context: out.Context, UsageIdentifierKey: out.UsageIdentifierKey, PolicyJSON: string(doc)}, nil
}

func withCause(e *fault.Error, cause error) *fault.Error {
	c := *e
	c.Cause = cause
	return &c
}

// customAuthorize runs a Lambda authorizer (step 3 for CUSTOM methods) and
// checks its policy against the method ARN. requestEvent builds the REQUEST
// authorizer's event.
func (g *Gateway) customAuthorize(r *http.Request, st *Stage, rt *Route, methodARN string, ctxValue func(string) string, requestEvent func(methodARN string) ([]byte, error)) (*AuthorizerResult, error) {
	ca := st.authorizers[rt.Method.AuthorizerID]
	if ca == nil {
		return nil, fault.ConfigurationError(fmt.Errorf("authorizer %q is not defined in this deployment", rt.Method.AuthorizerID))
	}
	if ca.Type != "TOKEN" && ca.Type != "REQUEST" {
		return nil, fault.ConfigurationError(fmt.Errorf("authorizer type %s is not supported yet", ca.Type))
	}
	vals, ok := identityValues(ca, r, st.Vars, ctxValue)
	if !ok {
		return nil, errUnauthorized
	}
	if ca.validation != nil && !ca.validation.MatchString(vals[0]) {
		return nil, errUnauthorized
	}
	now := time.Now()
	var key string
	cacheable := ca.ttl > 0 && len(vals) > 0
	var res *AuthorizerResult
	if cacheable {
		key = st.APIID + "/" + st.Name + "/" + ca.ID + "\x00" + strings.Join(vals, "\x00")
		res = g.authCache.get(key, now)
	}
	if res == nil {
		fnARN, err := ca.fn.ARN(st.Vars)
		if err != nil {
			return nil, withCause(errAuthorizerFailure, err)
		}
		var event []byte
		if ca.Type == "TOKEN" {
			event, _ = json.Marshal(map[string]string{"type": "TOKEN", "authorizationToken": vals[0], "methodArn": methodARN})
		} else if event, err = requestEvent(methodARN); err != nil {
			return nil, withCause(errAuthorizerFailure, err)
		}
		authARN := "arn:aws:execute-api:" + g.Region + ":" + g.AccountID + ":" + st.APIID + "/authorizers/" + ca.ID
		start := time.Now()
		if res, err = g.callAuthorizer(r.Context(), fnARN, event, authARN); err != nil {
			return nil, err
		}
		res.Latency = time.Since(start)
		if cacheable {
			cached := *res
			cached.Latency = 0
			cached.expires = now.Add(ca.ttl)
			g.authCache.put(key, &cached)
		}
	}
	switch res.Policy.Evaluate(&policy.Request{Action: invokeAction, Resource: methodARN, Context: func(string) ([]string, bool) { return nil, false }}) {
	case policy.Allow:
		return res, nil
	case policy.Deny:
		return nil, authorizerDenied(true)
	default:
		return nil, authorizerDenied(false)
	}
}
