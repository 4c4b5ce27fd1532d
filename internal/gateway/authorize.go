package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/sigv4"
)

// Caller is the identity of a signed request, for policies and for
// requestContext.identity.
type Caller struct {
	ARN         string // user or assumed-role ARN, or the account root's
	AccountID   string
	UserID      string // AIDA... for users, "AROA...:session" for roles, the account id for root
	UserName    string
	AccessKeyID string
	// Principal is the identity service's own value, passed back to it.
	Principal any
}

// principal is c.Principal, or nil for an anonymous caller.
func (c *Caller) principal() any {
	if c == nil {
		return nil
	}
	return c.Principal
}

// Identities is what the data plane needs from IAM.
type Identities interface {
	// Lookup finds an access key's secret and owner (sigv4.Lookup).
	Lookup(ctx context.Context, accessKeyID string) (sigv4.Credential, error)
	// Caller describes the principal a Lookup returned.
	Caller(principal any, accessKeyID string) *Caller
	// IdentityEffect evaluates the caller's identity policies.
	IdentityEffect(ctx context.Context, c *Caller, r *policy.Request) (policy.Effect, error)
}

const invokeAction = "execute-api:Invoke"

// methodARN is the resource of execute-api:Invoke:
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}.
func (g *Gateway) methodARN(apiID, stage, method, path string) string {
	var b strings.Builder
	b.Grow(40 + len(g.Region) + len(g.AccountID) + len(apiID) + len(stage) + len(method) + len(path))
	b.WriteString("arn:aws:execute-api:")
	b.WriteString(g.Region)
	b.WriteByte(':')
	b.WriteString(g.AccountID)
	b.WriteByte(':')
	b.WriteString(apiID)
	b.WriteByte('/')
	b.WriteString(stage)
	b.WriteByte('/')
	b.WriteString(method)
	b.WriteString(path) // starts with "/"
	return b.String()
}

// Authorizer is one authorization type of methods (NONE, AWS_IAM, a Lambda
// TOKEN or REQUEST authorizer), chosen for each route when the deployment
// is compiled. Authorize passes the request or stops it with a gateway
// response; it evaluates the stage's resource policy as API Gateway
// combines it with that type, and fills the request's caller.
type Authorizer interface {
	Authorize(g *Gateway, rq *request) error
}

// authorizerFor picks a method's authorizer from the deployment's.
func authorizerFor(m *model.Method, authorizers map[string]*compiledAuthorizer) Authorizer {
	switch m.AuthorizationType {
	case "NONE", "":
		return noAuth{}
	case "AWS_IAM":
		return iamAuth{}
	case "CUSTOM":
		ca := authorizers[m.AuthorizerID]
		switch {
		case ca == nil:
			return misconfigured{fmt.Errorf("authorizer %q is not defined in this deployment", m.AuthorizerID)}
		case ca.Type == "TOKEN":
			return &lambdaAuth{ca: ca, event: tokenEvent}
		case ca.Type == "REQUEST":
			return &lambdaAuth{ca: ca, event: requestEvent}
		}
		return misconfigured{fmt.Errorf("authorizer type %s is not supported yet", ca.Type)}
	}
	return misconfigured{errors.New("authorization type " + m.AuthorizationType + " is not supported yet")}
}

// noAuth is authorization type NONE: only a resource policy can refuse.
type noAuth struct{}

func (noAuth) Authorize(g *Gateway, rq *request) error { return g.checkPolicies(rq, "NONE") }

// iamAuth is AWS_IAM: a SigV4 signature, then the caller's identity
// policies and the resource policy.
type iamAuth struct{}

func (iamAuth) Authorize(g *Gateway, rq *request) error {
	caller, err := g.verifySignature(rq)
	if err != nil {
		return err
	}
	rq.caller = caller
	rq.Caller = &integration.Caller{AccessKey: caller.AccessKeyID, AccountID: caller.AccountID, Caller: caller.UserID, User: caller.UserID, UserARN: caller.ARN}
	return g.checkPolicies(rq, "AWS_IAM")
}

// misconfigured answers every call of a method whose authorization cannot
// work with a configuration error, as AWS does.
type misconfigured struct{ err error }

func (m misconfigured) Authorize(*Gateway, *request) error { return fault.ConfigurationError(m.err) }

// checkPolicies evaluates the resource policy and the caller's identity
// policies, combined as API Gateway combines them for authType.
func (g *Gateway) checkPolicies(rq *request, authType string) error {
	rp := rq.stage.resourcePolicy
	caller := rq.caller
	if authType != "AWS_IAM" && rp == nil {
		return nil
	}
	ctx := rq.ctx
	resource := g.methodARN(rq.APIID, rq.Stage, rq.HTTPMethod, decodedPath(rq.Path))
	req := &policy.Request{Action: invokeAction, Resource: resource, Context: conditionContext(rq, caller)}
	if caller != nil {
		req.Principal = &policy.Principal{AWS: []string{caller.ARN, "arn:aws:iam::" + caller.AccountID + ":root", caller.AccountID}}
	} else {
		req.Principal = &policy.Principal{Anonymous: true}
	}
	rpEffect := policy.NotApplicable
	if rp != nil {
		rpEffect = rp.Evaluate(req)
	}
	idEffect := policy.NotApplicable
	if caller != nil {
		var err error
		if idEffect, err = g.Identities.IdentityEffect(ctx, caller, req); err != nil {
			return fault.ConfigurationError(err)
		}
	}
	var allowed bool
	switch {
	case rpEffect == policy.Deny || idEffect == policy.Deny:
		allowed = false
	case authType == "AWS_IAM" && caller.AccountID == g.AccountID:
		// Same account: either policy may allow.
		allowed = idEffect == policy.Allow || rpEffect == policy.Allow
	case authType == "AWS_IAM":
		// Another account: both must allow.
		allowed = idEffect == policy.Allow && rpEffect == policy.Allow
	case authType == "CUSTOM":
		// A Lambda authorizer decides; the resource policy may only deny.
		allowed = true
	default:
		// NONE with a resource policy: it must allow.
		allowed = rpEffect == policy.Allow
	}
	if allowed {
		return nil
	}
	who := "anonymous"
	if caller != nil {
		who = caller.ARN
	}
	msg := "User: " + who + " is not authorized to perform: " + invokeAction + " on resource: " + resource
	if rpEffect == policy.Deny || idEffect == policy.Deny {
		msg += " with an explicit deny"
	}
	return &fault.Error{Type: fault.AccessDenied, Status: 403, ErrorType: "AccessDeniedException", Message: msg, MessageKey: "Message"}
}

// verifySignature checks the request's SigV4 signature (header or
// presigned) for service execute-api.
func (g *Gateway) verifySignature(rq *request) (*Caller, error) {
	if g.Identities == nil {
		return nil, fault.ConfigurationError(errors.New("AWS_IAM authorization without an identity service"))
	}
	// The verifier reads the request through net/http's type: a shallow
	// one made of the request value (no body; that is passed apart).
	decoded, err := url.PathUnescape(rq.rawPath)
	if err != nil {
		decoded = rq.rawPath
	}
	r := &http.Request{Method: rq.HTTPMethod, Host: rq.Host, Header: rq.Header,
		URL: &url.URL{Path: decoded, RawPath: rq.rawPath, RawQuery: rq.RawQuery}}
	if !sigv4.Present(r) {
		return nil, fault.ErrMissingAuthenticationToken
	}
	// The payload hash may need the body. It is read only once every check
	// that needs no body passed (the key exists, the scope is valid), within
	// the payload limit, and, until the signature is verified, within the
	// gateway's budget of unverified bytes; then it is put back.
	var held int64
	defer func() { g.unverified.Release(held) }()
	length := rq.ContentLength
	if rq.Body == nil || rq.Body == http.NoBody {
		length = 0
	}
	res, body, err := g.verifier.VerifyStream(rq.ctx, r, g.unverified.Reader(rq.Body, length, MaxPayloadBytes, &held))
	if body != nil {
		rq.Body = bytes.NewReader(body)
		rq.ContentLength = int64(len(body))
	}
	if err != nil {
		var se *sigv4.Error
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &se):
			return nil, signatureFault(se)
		case errors.Is(err, sigv4.ErrBodyTooLarge), errors.As(err, &mbe):
			return nil, fault.ErrRequestTooLarge
		case errors.Is(err, sigv4.ErrBusy):
			return nil, fault.ErrThrottled
		case rq.ctx.Err() != nil, errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fault.IntegrationFailureErr(err)
		}
		return nil, fault.ConfigurationError(err)
	}
	return g.Identities.Caller(res.Credential.Principal, res.AccessKeyID), nil
}

// signatureFault maps a verification failure to API Gateway's answer: 403
// with the verifier's message, whatever status the management APIs use.
func signatureFault(se *sigv4.Error) *fault.Error {
	t := fault.InvalidSignature
	switch se.Code {
	case sigv4.CodeMissingAuthenticationToken:
		return fault.ErrMissingAuthenticationToken
	case sigv4.CodeExpiredToken:
		t = fault.ExpiredToken
	case sigv4.CodeUnrecognizedClient:
		t = fault.Default4XX
	}
	if strings.HasPrefix(se.Message, "Signature expired") || strings.HasPrefix(se.Message, "Signature not yet current") {
		t = fault.ExpiredToken
	}
	return &fault.Error{Type: t, Status: 403, ErrorType: se.Code, Message: se.Message}
}

// decodedPath is the request path as it appears in the method ARN.
func decodedPath(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && ishex(p[i+1]) && ishex(p[i+2]) {
			v, _ := strconv.ParseUint(p[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// conditionContext serves the global condition keys of a data plane request.
func conditionContext(rq *request, c *Caller) func(string) ([]string, bool) {
	return func(key string) ([]string, bool) {
		switch strings.ToLower(key) {
		case "aws:sourceip":
			return []string{rq.SourceIP}, true
		case "aws:sourcevpce":
			if rq.SourceVpce == "" {
				return nil, false
			}
			return []string{rq.SourceVpce}, true
		case "aws:securetransport":
			return []string{strconv.FormatBool(rq.TLS != nil)}, true
		case "aws:currenttime":
			return []string{time.Now().UTC().Format(time.RFC3339)}, true
		case "aws:epochtime":
			return []string{strconv.FormatInt(time.Now().Unix(), 10)}, true
		case "aws:useragent":
			return []string{rq.Header.Get("User-Agent")}, true
		case "aws:referer":
			if ref := rq.Header.Get("Referer"); ref != "" {
				return []string{ref}, true
			}
		case "aws:username":
			if c != nil && c.UserName != "" {
				return []string{c.UserName}, true
			}
		case "aws:userid":
			if c != nil {
				return []string{c.UserID}, true
			}
		case "aws:principalarn":
			// For an assumed-role session, the role's ARN, not the session's.
			if p, ok := c.principal().(interface{ PrincipalARN() string }); ok {
				return []string{p.PrincipalARN()}, true
			}
			if c != nil {
				return []string{c.ARN}, true
			}
		case "aws:principaltype":
			if p, ok := c.principal().(interface{ PrincipalType() string }); ok {
				return []string{p.PrincipalType()}, true
			}
		case "aws:principalaccount":
			if c != nil {
				return []string{c.AccountID}, true
			}
		}
		return nil, false
	}
}
