package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/fault"
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

// forget drops the entries whose key starts with prefix.
func (c *authCache) forget(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if strings.HasPrefix(k, prefix) {
			delete(c.m, k)
		}
	}
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

// SharedCache is a cache the nodes share: values by key, each with a time
// to live. A cache that fails is a miss; the caller goes on without it.
type SharedCache interface {
	// Get returns key's value and how long it still lives, or nil.
	Get(ctx context.Context, key string) ([]byte, time.Duration, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// sharedResult is an AuthorizerResult as the shared cache holds it.
type sharedResult struct {
	PrincipalID        string         `json:"principalId"`
	Policy             string         `json:"policy"`
	Context            map[string]any `json:"context,omitempty"`
	UsageIdentifierKey string         `json:"usageIdentifierKey,omitempty"`
}

// sharedKey names an authorizer result in the shared cache: a hash, so
// that the identity values (tokens) are not key names in Redis.
func sharedKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// sharedGet looks for key's result in the shared cache.
func (g *Gateway) sharedGet(ctx context.Context, key string, now time.Time) *AuthorizerResult {
	b, ttl, err := g.AuthorizerCache.Get(ctx, sharedKey(key))
	if err != nil || b == nil || ttl <= 0 {
		return nil
	}
	var sr sharedResult
	if json.Unmarshal(b, &sr) != nil {
		return nil
	}
	p, err := policy.ParseWith([]byte(sr.Policy), policy.ParseOptions{ForbidPrincipal: true})
	if err != nil {
		return nil
	}
	return &AuthorizerResult{PrincipalID: sr.PrincipalID, Policy: p, Context: sr.Context, UsageIdentifierKey: sr.UsageIdentifierKey,
		PolicyJSON: sr.Policy, expires: now.Add(ttl)}
}

// sharedPut stores res under key in the shared cache for ttl.
func (g *Gateway) sharedPut(ctx context.Context, key string, res *AuthorizerResult, ttl time.Duration) {
	b, err := json.Marshal(sharedResult{PrincipalID: res.PrincipalID, Policy: res.PolicyJSON, Context: res.Context, UsageIdentifierKey: res.UsageIdentifierKey})
	if err != nil {
		return
	}
	if err := g.AuthorizerCache.Set(ctx, sharedKey(key), b, ttl); err != nil && g.Log != nil {
		g.Log.Debug("authorizer result not shared", "err", err)
	}
}

// identityValues reads an authorizer's identity sources from the request.
// ok is false when one is missing (the caller answers 401).
func identityValues(ca *compiledAuthorizer, c *integration.Call) ([]string, bool) {
	vals := make([]string, 0, len(ca.sources))
	for _, src := range ca.sources {
		var v string
		switch {
		case strings.HasPrefix(src, "method.request.header."):
			v = c.Header.Get(strings.TrimPrefix(src, "method.request.header."))
		case strings.HasPrefix(src, "method.request.multivalueheader."):
			v = strings.Join(c.Header.Values(strings.TrimPrefix(src, "method.request.multivalueheader.")), ",")
		case strings.HasPrefix(src, "method.request.querystring."):
			v = c.Query().Get(strings.TrimPrefix(src, "method.request.querystring."))
		case strings.HasPrefix(src, "method.request.multivaluequerystring."):
			v = strings.Join(c.Query()[strings.TrimPrefix(src, "method.request.multivaluequerystring.")], ",")
		case strings.HasPrefix(src, "stageVariables."):
			v = c.StageVars[strings.TrimPrefix(src, "stageVariables.")]
		case strings.HasPrefix(src, "context."):
			v = c.ContextValue(strings.TrimPrefix(src, "context."))
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

// lambdaAuth is CUSTOM authorization with a Lambda authorizer, TOKEN or
// REQUEST: event builds the function's event of that type.
type lambdaAuth struct {
	ca    *compiledAuthorizer
	event func(c *integration.Call, ca *compiledAuthorizer, vals []string, accountID, methodARN string) ([]byte, error)
}

// tokenEvent is a TOKEN authorizer's event: the token and the method ARN.
func tokenEvent(_ *integration.Call, _ *compiledAuthorizer, vals []string, _, methodARN string) ([]byte, error) {
	return json.Marshal(map[string]string{"type": "TOKEN", "authorizationToken": vals[0], "methodArn": methodARN})
}

// requestEvent is a REQUEST authorizer's event: the request as the Lambda
// proxy event shows it.
func requestEvent(c *integration.Call, _ *compiledAuthorizer, _ []string, accountID, methodARN string) ([]byte, error) {
	return integration.RequestAuthorizerEvent(c, accountID, methodARN, c.RequestTime)
}

// Authorize checks the resource policy (which may only deny), runs the
// authorizer (or takes its cached result) and checks the policy it returned
// against the method ARN.
func (a *lambdaAuth) Authorize(g *Gateway, rq *request) error {
	if err := g.checkPolicies(rq, "CUSTOM"); err != nil {
		return err
	}
	methodARN := g.methodARN(rq.APIID, rq.Stage, rq.HTTPMethod, decodedPath(rq.Path))
	res, err := g.runAuthorizer(rq.ctx, a, &rq.Call, methodARN, rq.APIID+"/"+rq.Stage)
	if err != nil {
		return err
	}
	rq.authz = res
	rq.Authorizer = &integration.Authorizer{PrincipalID: res.PrincipalID, Context: res.Context, Latency: res.Latency}
	return nil
}

// runAuthorizer reads the identity sources, runs the function (or takes
// the result cached under cacheScope and the identity) and checks the
// policy it returned against methodARN.
func (g *Gateway) runAuthorizer(ctx context.Context, a *lambdaAuth, c *integration.Call, methodARN, cacheScope string) (*AuthorizerResult, error) {
	ca := a.ca
	vals, ok := identityValues(ca, c)
	if !ok {
		return nil, errUnauthorized
	}
	if ca.validation != nil && !ca.validation.MatchString(vals[0]) {
		return nil, errUnauthorized
	}
	now := time.Now()
	var key string
	cacheable := ca.ttl > 0 && len(vals) > 0 && cacheScope != ""
	var res *AuthorizerResult
	if cacheable {
		key = cacheScope + "/" + ca.ID + "\x00" + strings.Join(vals, "\x00")
		if at := g.state.Load().authFlush[cacheScope]; at != 0 {
			// Flushed: what was cached before (here, in Redis, on other
			// nodes) is under other keys.
			key += "\x00" + strconv.FormatInt(at, 36)
		}
		res = g.authCache.get(key, now)
		if res == nil && g.AuthorizerCache != nil {
			if res = g.sharedGet(ctx, key, now); res != nil {
				g.authCache.put(key, res)
			}
		}
	}
	if res == nil {
		fnARN, err := ca.fn.ARN(c.StageVars)
		if err != nil {
			return nil, withCause(errAuthorizerFailure, err)
		}
		event, err := a.event(c, ca, vals, g.AccountID, methodARN)
		if err != nil {
			return nil, withCause(errAuthorizerFailure, err)
		}
		authARN := "arn:aws:execute-api:" + g.Region + ":" + g.AccountID + ":" + c.APIID + "/authorizers/" + ca.ID
		start := time.Now()
		if res, err = g.callAuthorizer(ctx, fnARN, event, authARN); err != nil {
			return nil, err
		}
		res.Latency = time.Since(start)
		if cacheable {
			cached := *res
			cached.Latency = 0
			cached.expires = now.Add(ca.ttl)
			g.authCache.put(key, &cached)
			if g.AuthorizerCache != nil {
				g.sharedPut(ctx, key, &cached, ca.ttl)
			}
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

// loadAuthorizerFlushes reads when each stage's authorizer cache was last
// flushed.
func (g *Gateway) loadAuthorizerFlushes(ctx context.Context) (map[string]int64, error) {
	items, err := g.Store.List(ctx, model.KindAuthorizerFlush, "")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	t := make(map[string]int64, len(items))
	for _, it := range items {
		var f model.AuthorizerFlush
		if err := json.Unmarshal(it.Value, &f); err != nil {
			return nil, fmt.Errorf("gateway: decode authorizer flush %s: %w", it.Key, err)
		}
		t[it.Key] = f.At
	}
	return t, nil
}
