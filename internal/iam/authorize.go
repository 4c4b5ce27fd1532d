package iam

import (
	"context"
	"errors"
	"fmt"

	"github.com/apigw/apigw/internal/policy"
)

// Policies returns the identity-based policies that apply to p, and its
// session policies:
//   - a user (also through GetSessionToken credentials): the user's inline
//     policies and the default versions of the managed policies attached to
//     it; no session policies;
//   - an assumed-role session: the role's inline and attached policies; and
//     the session policies given to AssumeRole, which limit them — a request
//     is allowed only if both sets allow it (see Decide);
//   - the root: none (the root may do anything; Authorize does not ask).
//
// An identity deleted (or deleted and created again under the same name)
// since the credentials were issued has no policies.
func (s *Service) Policies(ctx context.Context, p *Principal) ([]*policy.Document, []*policy.Document, error) {
	s.init()
	if p == nil {
		return nil, nil, nil
	}
	switch p.Kind {
	case PrincipalUser:
		set, err := s.policySet(ctx, "user", p.Name, p.UserID)
		if err != nil {
			return nil, nil, err
		}
		return set.docs, nil, nil
	case PrincipalAssumedRole:
		set, err := s.policySet(ctx, "role", p.Name, p.RoleID)
		if err != nil {
			return nil, nil, err
		}
		sess := p.sessionDocs
		if sess == nil && len(p.SessionPolicies) > 0 {
			for _, d := range p.SessionPolicies {
				doc, err := parseIdentity(d)
				if err != nil {
					return nil, nil, fmt.Errorf("iam: session policy: %w", err)
				}
				sess = append(sess, doc)
			}
		}
		return set.docs, sess, nil
	}
	return nil, nil, nil
}

// policySet returns the parsed policies of a user or role (kind "user" or
// "role"), from the cache when it can.
func (s *Service) policySet(ctx context.Context, kind, name, id string) (*policySet, error) {
	cacheKey := kind + "/" + id
	s.mu.RLock()
	set, ok := s.policies[cacheKey]
	gen := s.gen
	s.mu.RUnlock()
	if ok {
		return set, nil
	}
	set, err := s.loadPolicySet(ctx, kind, name, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gen == gen {
		if len(s.policies) >= maxCached {
			clear(s.policies)
		}
		s.policies[cacheKey] = set
	}
	s.mu.Unlock()
	return set, nil
}

func (s *Service) loadPolicySet(ctx context.Context, kind, name, id string) (*policySet, error) {
	set := &policySet{}
	inlineKind := KindUserPolicy
	if kind == "role" {
		var r roleRec
		if err := getJSON(ctx, s.Store, KindRole, lower(name), &r); err != nil {
			if isNotFound(err) {
				return set, nil
			}
			return nil, err
		}
		if r.ID != id {
			return set, nil
		}
		inlineKind = KindRolePolicy
	} else {
		var u userRec
		if err := getJSON(ctx, s.Store, KindUser, lower(name), &u); err != nil {
			if isNotFound(err) {
				return set, nil
			}
			return nil, err
		}
		if u.ID != id {
			return set, nil
		}
	}
	inline, err := listJSON[inlinePolicyRec](ctx, s.Store, inlineKind, lower(name)+"/")
	if err != nil {
		return nil, err
	}
	for _, ip := range inline {
		doc, err := parseIdentity(ip.Document)
		if err != nil {
			return nil, fmt.Errorf("iam: stored policy %s of %s %s: %w", ip.Name, kind, name, err)
		}
		set.docs = append(set.docs, doc)
	}
	atts, err := listJSON[attachmentRec](ctx, s.Store, KindAttachment, kind+"/"+lower(name)+"/")
	if err != nil {
		return nil, err
	}
	for _, a := range atts {
		var mp managedPolicyRec
		if err := getJSON(ctx, s.Store, KindPolicy, lower(a.PolicyName), &mp); err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		var v policyVersionRec
		if err := getJSON(ctx, s.Store, KindPolicyVersion, lower(mp.Name)+"/"+mp.DefaultVersion, &v); err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		doc, err := parseIdentity(v.Document)
		if err != nil {
			return nil, fmt.Errorf("iam: stored policy %s %s: %w", mp.ARN, v.ID, err)
		}
		set.docs = append(set.docs, doc)
	}
	return set, nil
}

// Decision is the outcome of evaluating a principal's identity policies.
type Decision struct {
	// Identity is the effect of the identity-based policies.
	Identity policy.Effect
	// Session is the effect of the session policies, when HasSession.
	Session    policy.Effect
	HasSession bool
	// Root is set for the root principal, which may do anything.
	Root bool
}

// Allowed reports whether the identity policies allow the request on their
// own: the root, or an identity Allow with no explicit Deny, and — for a
// session with session policies — a session Allow with no explicit Deny.
func (d Decision) Allowed() bool {
	if d.Root {
		return true
	}
	if d.Identity != policy.Allow {
		return false
	}
	return !d.HasSession || d.Session == policy.Allow
}

// ExplicitDeny reports whether an identity or session policy denies the
// request explicitly (which no other policy can overturn).
func (d Decision) ExplicitDeny() bool {
	return d.Identity == policy.Deny || (d.HasSession && d.Session == policy.Deny)
}

// Effect folds d into one effect, as the data plane combines it with a
// resource policy: Deny for an explicit deny, Allow when Allowed,
// NotApplicable otherwise (an implicit deny).
func (d Decision) Effect() policy.Effect {
	switch {
	case d.ExplicitDeny():
		return policy.Deny
	case d.Allowed():
		return policy.Allow
	}
	return policy.NotApplicable
}

// Decide evaluates p's identity and session policies for action on
// resource. Resource-based policies are the caller's business (the data
// plane combines Decide's answer with an API's resource policy).
func (s *Service) Decide(ctx context.Context, p *Principal, action, resource string, reqCtx func(string) ([]string, bool)) (Decision, error) {
	if p == nil {
		return Decision{}, nil
	}
	if p.Kind == PrincipalRoot {
		return Decision{Root: true, Identity: policy.Allow}, nil
	}
	ids, sess, err := s.Policies(ctx, p)
	if err != nil {
		return Decision{}, err
	}
	req := &policy.Request{Action: action, Resource: resource, Principal: p.PolicyPrincipal(), Context: reqCtx}
	d := Decision{Identity: policy.Evaluate(ids, req)}
	if p.Kind == PrincipalAssumedRole && len(sess) > 0 {
		d.HasSession = true
		d.Session = policy.Evaluate(sess, req)
	}
	return d, nil
}

// Authorize decides whether p may perform action on resource by its
// identity policies: the root may do anything; otherwise an explicit Deny in
// any identity or session policy refuses, and an Allow is needed from the
// identity policies and, for a session with session policies, from them too
// (AWS's evaluation logic within one account, without resource-based
// policies, permissions boundaries or SCPs:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
// A refusal is an *AccessDenied; other errors are the store's.
func (s *Service) Authorize(ctx context.Context, p *Principal, action, resource string, reqCtx func(string) ([]string, bool)) error {
	d, err := s.Decide(ctx, p, action, resource, reqCtx)
	if err != nil {
		return err
	}
	if d.Allowed() {
		return nil
	}
	return DenyFor(p, action, resource, d)
}

// Reasons of an AccessDenied, in AWS's words
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
const (
	ReasonNoIdentityAllow  = "no-identity-allow"
	ReasonIdentityDeny     = "identity-deny"
	ReasonNoSessionAllow   = "no-session-allow"
	ReasonSessionDeny      = "session-deny"
	ReasonNone             = "" // no reason given (sts:AssumeRole, resource policies)
	anonymousPrincipalText = "anonymous"
)

// AccessDenied is a refused request.
type AccessDenied struct {
	// PrincipalARN is the caller's ARN ("anonymous" when unsigned).
	PrincipalARN string
	Action       string
	Resource     string
	// Reason is one of the Reason constants.
	Reason string
	// Message overrides the text when set.
	Message string
}

// Explicit reports whether the refusal comes from an explicit Deny.
func (e *AccessDenied) Explicit() bool {
	return e.Reason == ReasonIdentityDeny || e.Reason == ReasonSessionDeny
}

// Short is the message without its reason: "User: {arn} is not authorized
// to perform: {action} on resource: {resource}".
func (e *AccessDenied) Short() string {
	if e.Message != "" {
		return e.Message
	}
	msg := "User: " + e.PrincipalARN + " is not authorized to perform: " + e.Action
	if e.Resource != "" && e.Resource != "*" {
		msg += " on resource: " + e.Resource
	}
	return msg
}

// Error is AWS's message, e.g. "User: arn:aws:iam::123456789012:user/bob is
// not authorized to perform: iam:CreateUser on resource:
// arn:aws:iam::123456789012:user/alice because no identity-based policy
// allows the iam:CreateUser action".
func (e *AccessDenied) Error() string {
	msg := e.Short()
	if e.Message != "" {
		return msg
	}
	switch e.Reason {
	case ReasonNoIdentityAllow:
		msg += " because no identity-based policy allows the " + e.Action + " action"
	case ReasonIdentityDeny:
		msg += " with an explicit deny in an identity-based policy"
	case ReasonNoSessionAllow:
		msg += " because no session policy allows the " + e.Action + " action"
	case ReasonSessionDeny:
		msg += " with an explicit deny in a session policy"
	}
	return msg
}

// DenyFor builds the AccessDenied of decision d.
func DenyFor(p *Principal, action, resource string, d Decision) *AccessDenied {
	e := &AccessDenied{PrincipalARN: anonymousPrincipalText, Action: action, Resource: resource}
	if p != nil {
		e.PrincipalARN = p.ARN
	}
	switch {
	case d.Identity == policy.Deny:
		e.Reason = ReasonIdentityDeny
	case d.HasSession && d.Session == policy.Deny:
		e.Reason = ReasonSessionDeny
	case d.Identity != policy.Allow:
		e.Reason = ReasonNoIdentityAllow
	case d.HasSession && d.Session != policy.Allow:
		e.Reason = ReasonNoSessionAllow
	}
	return e
}

// IsAccessDenied reports whether err is an *AccessDenied.
func IsAccessDenied(err error) bool {
	var ad *AccessDenied
	return errors.As(err, &ad)
}
