package iam

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/policy"
)

// PrincipalKind is the kind of a principal.
type PrincipalKind string

// Principal kinds.
const (
	PrincipalRoot        PrincipalKind = "root"
	PrincipalUser        PrincipalKind = "user"
	PrincipalAssumedRole PrincipalKind = "assumed-role"
)

// Principal is who signed a request: Lookup returns it in
// sigv4.Credential.Principal. A Principal is shared between requests: do not
// modify it.
type Principal struct {
	Kind PrincipalKind
	// ARN is the caller's ARN as GetCallerIdentity reports it:
	// arn:aws:iam::{account}:root, arn:aws:iam::{account}:user/{path}{name},
	// or arn:aws:sts::{account}:assumed-role/{role}/{session}.
	ARN string
	// UserID is aws:userid: the account id for the root, the user's unique
	// id (AIDA...) for a user, "{roleId}:{session}" for an assumed role.
	UserID string
	// Name is the user name, the role name for an assumed role, "root".
	Name        string
	AccountID   string
	AccessKeyID string
	// Temporary is set for STS credentials (ASIA...): GetSessionToken
	// sessions (Kind root or user) and AssumeRole sessions.
	Temporary bool
	IssuedAt  time.Time // temporary credentials only
	Expires   time.Time // temporary credentials only

	// Assumed roles.
	RoleARN     string // arn:aws:iam::{account}:role/{path}{name}
	RoleID      string // AROA...
	SessionName string
	// SessionPolicies are the session policies of an AssumeRole session, as
	// JSON documents: they limit what the role's policies allow.
	SessionPolicies []string

	sessionDocs []*policy.Document // parsed SessionPolicies, set by Lookup
	pp          *policy.Principal  // PolicyPrincipal, set by Lookup
}

// fromSessionToken reports whether p came from GetSessionToken (temporary
// credentials of the root or of a user).
func (p *Principal) fromSessionToken() bool {
	return p.Temporary && p.Kind != PrincipalAssumedRole
}

// PrincipalARN is aws:PrincipalArn: the role's ARN for an assumed role, the
// caller's ARN otherwise.
func (p *Principal) PrincipalARN() string {
	if p.Kind == PrincipalAssumedRole {
		return p.RoleARN
	}
	return p.ARN
}

// PrincipalType is aws:PrincipalType: Account, User or AssumedRole.
func (p *Principal) PrincipalType() string {
	switch p.Kind {
	case PrincipalRoot:
		return "Account"
	case PrincipalAssumedRole:
		return "AssumedRole"
	}
	return "User"
}

// PolicyPrincipal is p as the Principal element of resource-based and trust
// policies sees it: its own ARN, the role's ARN for an assumed role (a
// policy naming a role applies to its sessions), and its account (a policy
// naming the account, as "123456789012" or its root ARN, delegates to the
// account's identity policies).
func (p *Principal) PolicyPrincipal() *policy.Principal {
	if p.pp != nil {
		return p.pp
	}
	return p.policyPrincipal()
}

func (p *Principal) policyPrincipal() *policy.Principal {
	ids := []string{p.ARN}
	if p.Kind == PrincipalAssumedRole && p.RoleARN != "" {
		ids = append(ids, p.RoleARN)
	}
	if root := "arn:aws:iam::" + p.AccountID + ":root"; p.ARN != root {
		ids = append(ids, root)
	}
	ids = append(ids, p.AccountID)
	return &policy.Principal{AWS: ids}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the principal of a verified request.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal WithPrincipal put in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// RequestContext returns the condition-key lookup of a request made by p
// (nil for an anonymous caller) from sourceIP, over TLS or not, at now. It
// answers the global keys aws:username (users only), aws:userid,
// aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:SourceIp,
// aws:SecureTransport, aws:CurrentTime, aws:EpochTime, and for temporary
// credentials aws:TokenIssueTime and aws:MultiFactorAuthPresent ("false":
// apigw has no MFA). extra adds or overrides keys (aws:SourceVpce,
// aws:RequestedRegion, service keys...). Keys are matched without regard to
// case, as in AWS.
func RequestContext(p *Principal, sourceIP string, secure bool, now time.Time, extra map[string][]string) func(string) ([]string, bool) {
	var ex map[string][]string
	if len(extra) > 0 {
		ex = make(map[string][]string, len(extra))
		for k, v := range extra {
			ex[strings.ToLower(k)] = v
		}
	}
	return func(key string) ([]string, bool) {
		k := strings.ToLower(key)
		if ex != nil {
			if v, ok := ex[k]; ok {
				return v, true
			}
		}
		switch k {
		case "aws:sourceip":
			if sourceIP != "" {
				return []string{sourceIP}, true
			}
		case "aws:securetransport":
			return []string{strconv.FormatBool(secure)}, true
		case "aws:currenttime":
			return []string{now.UTC().Format(time.RFC3339)}, true
		case "aws:epochtime":
			return []string{strconv.FormatInt(now.Unix(), 10)}, true
		}
		if p == nil {
			return nil, false
		}
		switch k {
		case "aws:username":
			if p.Kind == PrincipalUser {
				return []string{p.Name}, true
			}
		case "aws:userid":
			return []string{p.UserID}, true
		case "aws:principalarn":
			return []string{p.PrincipalARN()}, true
		case "aws:principalaccount":
			return []string{p.AccountID}, true
		case "aws:principaltype":
			return []string{p.PrincipalType()}, true
		case "aws:tokenissuetime":
			if p.Temporary {
				return []string{p.IssuedAt.UTC().Format(time.RFC3339)}, true
			}
		case "aws:multifactorauthpresent":
			if p.Temporary {
				return []string{"false"}, true
			}
		}
		return nil, false
	}
}
