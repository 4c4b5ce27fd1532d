package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/gateway/fault"
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

// authorize runs step 3: the signature for AWS_IAM methods, then the
// resource policy and the caller's identity policies, combined as API
// Gateway combines them. It returns the caller (nil when anonymous).
func (g *Gateway) authorize(r *http.Request, st *Stage, rt *Route, path, vpce string) (*Caller, error) {
	authType := rt.Method.AuthorizationType
	rp := st.resourcePolicy
	if authType != "AWS_IAM" && rp == nil {
		return nil, nil
	}
	ctx := r.Context()
	var caller *Caller
	if authType == "AWS_IAM" {
		var err error
		if caller, err = g.verifySignature(ctx, r); err != nil {
			return nil, err
		}
	}
	resource := g.methodARN(st.APIID, st.Name, r.Method, decodedPath(path))
	req := &policy.Request{Action: invokeAction, Resource: resource, Context: conditionContext(r, vpce, caller)}
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
			return nil, fault.ConfigurationError(err)
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
		return caller, nil
	}
	who := "anonymous"
	if caller != nil {
		who = caller.ARN
	}
	msg := "User: " + who + " is not authorized to perform: " + invokeAction + " on resource: " + resource
	if rpEffect == policy.Deny || idEffect == policy.Deny {
		msg += " with an explicit deny"
	}
	return nil, &fault.Error{Type: fault.AccessDenied, Status: 403, ErrorType: "AccessDeniedException", Message: msg, MessageKey: "Message"}
}

// verifySignature checks the request's SigV4 signature (header or
// presigned) for service execute-api.
func (g *Gateway) verifySignature(ctx context.Context, r *http.Request) (*Caller, error) {
	if g.Identities == nil {
		return nil, fault.ConfigurationError(errors.New("AWS_IAM authorization without an identity service"))
	}
	if !sigv4.Present(r) {
		return nil, fault.ErrMissingAuthenticationToken
	}
	// The payload hash needs the body: read it (bounded) and put it back.
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > MaxPayloadBytes {
			return nil, fault.ErrRequestTooLarge
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
		if err != nil {
			return nil, fault.IntegrationFailureErr(err)
		}
		if len(b) > MaxPayloadBytes {
			return nil, fault.ErrRequestTooLarge
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
	res, err := g.verifier.Verify(ctx, r, body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return nil, signatureFault(se)
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
func conditionContext(r *http.Request, vpce string, c *Caller) func(string) ([]string, bool) {
	return func(key string) ([]string, bool) {
		switch strings.ToLower(key) {
		case "aws:sourceip":
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			return []string{host}, true
		case "aws:sourcevpce":
			if vpce == "" {
				return nil, false
			}
			return []string{vpce}, true
		case "aws:securetransport":
			return []string{strconv.FormatBool(r.TLS != nil)}, true
		case "aws:currenttime":
			return []string{time.Now().UTC().Format(time.RFC3339)}, true
		case "aws:epochtime":
			return []string{strconv.FormatInt(time.Now().Unix(), 10)}, true
		case "aws:useragent":
			return []string{r.UserAgent()}, true
		case "aws:referer":
			if ref := r.Referer(); ref != "" {
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
