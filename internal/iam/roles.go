package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/store"
)

// Roles and their trust policies.

type roleXML struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               awsTime          `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int              `xml:"MaxSessionDuration,omitempty"`
	Tags                     *members[tagXML] `xml:"Tags,omitempty"`
}

func (r *roleRec) xml(withTags bool) roleXML {
	x := roleXML{
		Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN, CreateDate: awsTime(r.Created),
		AssumeRolePolicyDocument: encodeDocument(r.TrustPolicy), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration,
	}
	if withTags {
		x.Tags = tagsXML(r.Tags)
	}
	return x
}

type roleResult struct {
	Role roleXML `xml:"Role"`
}

func (s *Service) getRole(ctx context.Context, r store.Reader, name string) (*roleRec, error) {
	var role roleRec
	if err := getJSON(ctx, r, KindRole, lower(name), &role); err != nil {
		if isNotFound(err) {
			return nil, noSuchEntity("The role with name %s cannot be found.", name)
		}
		return nil, err
	}
	return &role, nil
}

// roleTarget loads a role and authorizes action on it (on the ARN it would
// have with path "/" when it does not exist).
func (c *call) roleTarget(action, name string) (*roleRec, error) {
	r, err := c.s.getRole(c.ctx(), c.s.Store, name)
	var ae *APIError
	if err != nil && !errors.As(err, &ae) {
		return nil, err
	}
	arn := c.s.roleARN("/", name)
	if r != nil {
		arn = r.ARN
	}
	if aerr := c.auth(action, arn); aerr != nil {
		return nil, aerr
	}
	return r, err
}

// checkTrustPolicy validates a role trust policy: a resource-based policy
// whose statements name principals.
func (s *Service) checkTrustPolicy(doc string) error {
	if len(doc) > 131072 {
		return constraint("policyDocument", doc, false, "Member must have length less than or equal to 131072")
	}
	if err := checkTrustDocument(doc); err != nil {
		return err
	}
	if policySize(doc) > maxTrustPolicySize {
		return limitExceeded("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	return nil
}

func opCreateRole(c *call) (any, error) {
	name, err := c.name("RoleName", "roleName", 64)
	if err != nil {
		return nil, err
	}
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	doc, err := c.required("AssumeRolePolicyDocument", "assumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	desc := c.str("Description")
	if len(desc) > 1000 {
		return nil, constraint("description", desc, false, "Member must have length less than or equal to 1000")
	}
	maxSession, err := c.intParam("MaxSessionDuration", "maxSessionDuration", 3600, 3600, 43200)
	if err != nil {
		return nil, err
	}
	tags, err := c.tags()
	if err != nil {
		return nil, err
	}
	arn := c.s.roleARN(path, name)
	if err := c.auth("iam:CreateRole", arn); err != nil {
		return nil, err
	}
	if err := c.s.checkTrustPolicy(doc); err != nil {
		return nil, err
	}
	r := roleRec{Name: name, ID: newRoleID(), Path: path, ARN: arn, TrustPolicy: doc, Description: desc,
		MaxSessionDuration: maxSession, Created: c.s.now().UTC(), Tags: tags}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		err := createJSON(c.ctx(), tx, KindRole, lower(name), r)
		if errors.Is(err, store.ErrExists) {
			return entityExists("Role with name %s already exists.", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return roleResult{r.xml(true)}, nil
}

func opGetRole(c *call) (any, error) {
	name, err := c.name("RoleName", "roleName", 64)
	if err != nil {
		return nil, err
	}
	r, err := c.roleTarget("iam:GetRole", name)
	if err != nil {
		return nil, err
	}
	return roleResult{r.xml(true)}, nil
}

type listRolesResult struct {
	Roles       members[roleXML] `xml:"Roles"`
	IsTruncated bool             `xml:"IsTruncated"`
	Marker      string           `xml:"Marker,omitempty"`
}

func opListRoles(c *call) (any, error) {
	prefix, err := c.pathPrefix()
	if err != nil {
		return nil, err
	}
	if err := c.auth("iam:ListRoles", c.s.arn("role", prefix, "")); err != nil {
		return nil, err
	}
	all, err := listJSON[roleRec](c.ctx(), c.s.Store, KindRole, "")
	if err != nil {
		return nil, err
	}
	var roles []roleRec
	for _, r := range all {
		if strings.HasPrefix(r.Path, prefix) {
			roles = append(roles, r)
		}
	}
	pg, marker, err := page(c, roles, func(r roleRec) string { return lower(r.Name) })
	if err != nil {
		return nil, err
	}
	res := listRolesResult{IsTruncated: marker != "", Marker: marker}
	res.Roles.Member = []roleXML{}
	for i := range pg {
		res.Roles.Member = append(res.Roles.Member, pg[i].xml(false))
	}
	return res, nil
}

func opDeleteRole(c *call) (any, error) {
	name, err := c.name("RoleName", "roleName", 64)
	if err != nil {
		return nil, err
	}
	if _, err := c.roleTarget("iam:DeleteRole", name); err != nil {
		return nil, err
	}
	key := lower(name)
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		ctx := c.ctx()
		if _, err := c.s.getRole(ctx, tx, name); err != nil {
			return err
		}
		if pols, err := tx.List(ctx, KindRolePolicy, key+"/"); err != nil {
			return err
		} else if len(pols) > 0 {
			return deleteConflict("Cannot delete entity, must delete policies first.")
		}
		if atts, err := tx.List(ctx, KindAttachment, "role/"+key+"/"); err != nil {
			return err
		} else if len(atts) > 0 {
			return deleteConflict("Cannot delete entity, must detach all policies first.")
		}
		return tx.Delete(ctx, KindRole, key)
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return nil, nil
}

func opUpdateAssumeRolePolicy(c *call) (any, error) {
	name, err := c.name("RoleName", "roleName", 64)
	if err != nil {
		return nil, err
	}
	doc, err := c.required("PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	if _, err := c.roleTarget("iam:UpdateAssumeRolePolicy", name); err != nil {
		return nil, err
	}
	if err := c.s.checkTrustPolicy(doc); err != nil {
		return nil, err
	}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		r, err := c.s.getRole(c.ctx(), tx, name)
		if err != nil {
			return err
		}
		r.TrustPolicy = doc
		return putJSON(c.ctx(), tx, KindRole, lower(name), r)
	})
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// parseTrust parses a stored trust policy.
func parseTrust(doc string) (*policy.Document, error) {
	d, err := policy.ParseWith([]byte(doc), trustPolicy)
	if err != nil {
		return nil, fmt.Errorf("iam: stored trust policy: %w", err)
	}
	return d, nil
}

// checkTrustDocument validates a trust policy as CreateRole and
// UpdateAssumeRolePolicy do: a policy whose statements name principals.
func checkTrustDocument(doc string) error {
	if _, err := policy.ParseWith([]byte(doc), trustPolicy); err != nil {
		return malformedPolicy("%s", policyErrorText(err))
	}
	return nil
}
