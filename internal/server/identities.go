package server

import (
	"context"

	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/sigv4"
)

// identities adapts the IAM service to what the data plane needs
// (gateway.Identities); iam does not import gateway.
type identities struct{ svc *iam.Service }

var _ gateway.Identities = identities{}

func (i identities) Lookup(ctx context.Context, id string) (sigv4.Credential, error) {
	return i.svc.Lookup(ctx, id)
}

func (i identities) Caller(principal any, accessKeyID string) *gateway.Caller {
	p, _ := principal.(*iam.Principal)
	if p == nil {
		return nil
	}
	c := &gateway.Caller{ARN: p.ARN, AccountID: p.AccountID, UserID: p.UserID, UserName: p.Name, AccessKeyID: accessKeyID, Principal: p}
	if p.Kind == iam.PrincipalAssumedRole {
		c.UserName = ""
	}
	return c
}

func (i identities) IdentityEffect(ctx context.Context, c *gateway.Caller, r *policy.Request) (policy.Effect, error) {
	p, _ := c.Principal.(*iam.Principal)
	d, err := i.svc.Decide(ctx, p, r.Action, r.Resource, r.Context)
	if err != nil {
		return policy.NotApplicable, err
	}
	return d.Effect(), nil
}
