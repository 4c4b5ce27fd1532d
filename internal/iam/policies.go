package iam

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/store"
)

// Managed policies, their versions, and their attachments to users and
// roles.

// Parse options of the kinds of policies IAM keeps.
var (
	identityPolicy = policy.ParseOptions{ForbidPrincipal: true}
	trustPolicy    = policy.ParseOptions{RequirePrincipal: true, ResourceOptional: true}
)

// parseIdentity parses an identity-based or session policy.
func parseIdentity(doc string) (*policy.Document, error) {
	return policy.ParseWith([]byte(doc), identityPolicy)
}

// checkIdentityPolicy validates an identity-based or session policy
// document, answering MalformedPolicyDocument with IAM's text.
func checkIdentityPolicy(doc string) error {
	if _, err := parseIdentity(doc); err != nil {
		return malformedPolicy("%s", policyErrorText(err))
	}
	return nil
}

// policyErrorText is IAM's text for a refused document.
func policyErrorText(err error) string {
	var pe *policy.Error
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
	}
	return "Syntax errors in policy."
}

type policyXML struct {
	PolicyName                    string           `xml:"PolicyName"`
	PolicyID                      string           `xml:"PolicyId"`
	Arn                           string           `xml:"Arn"`
	Path                          string           `xml:"Path"`
	DefaultVersionID              string           `xml:"DefaultVersionId"`
	AttachmentCount               int              `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int              `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool             `xml:"IsAttachable"`
	Description                   string           `xml:"Description,omitempty"`
	CreateDate                    awsTime          `xml:"CreateDate"`
	UpdateDate                    awsTime          `xml:"UpdateDate"`
	Tags                          *members[tagXML] `xml:"Tags,omitempty"`
}

func (p *managedPolicyRec) xml(withTags bool) policyXML {
	x := policyXML{
		PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN, Path: p.Path, DefaultVersionID: p.DefaultVersion,
		AttachmentCount: p.Attachments, IsAttachable: true, Description: p.Description,
		CreateDate: awsTime(p.Created), UpdateDate: awsTime(p.Updated),
	}
	if withTags {
		x.Tags = tagsXML(p.Tags)
	}
	return x
}

type policyVersionXML struct {
	Document         string  `xml:"Document,omitempty"`
	VersionID        string  `xml:"VersionId"`
	IsDefaultVersion bool    `xml:"IsDefaultVersion"`
	CreateDate       awsTime `xml:"CreateDate"`
}

// parsePolicyARN splits arn:aws:iam::{account}:policy{path}{name}.
func parsePolicyARN(arn string) (account, path, name string, ok bool) {
	rest, found := strings.CutPrefix(arn, "arn:aws:iam::")
	if !found {
		return "", "", "", false
	}
	account, rest, found = strings.Cut(rest, ":policy/")
	if !found || account == "" {
		return "", "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	path, name = "/"+rest[:i+1], rest[i+1:]
	if name == "" || !nameChars(name) || !validPath(path) {
		return "", "", "", false
	}
	return account, path, name, true
}

// policyArnParam returns the PolicyArn parameter.
func (c *call) policyArnParam() (string, error) {
	arn, err := c.required("PolicyArn", "policyArn")
	if err != nil {
		return "", err
	}
	if len(arn) < 20 || len(arn) > 2048 {
		return "", constraint("policyArn", arn, false, "Member must have length greater than or equal to 20")
	}
	if _, _, _, ok := parsePolicyARN(arn); !ok {
		return "", invalidInput("ARN %s is not valid.", arn)
	}
	return arn, nil
}

func errNoPolicy(arn string) *APIError {
	return noSuchEntity("Policy %s does not exist or is not attachable.", arn)
}

// getPolicy loads the managed policy of an ARN, or returns NoSuchEntity.
func (s *Service) getPolicy(ctx context.Context, r store.Reader, arn string) (*managedPolicyRec, error) {
	account, _, name, ok := parsePolicyARN(arn)
	if !ok || account != s.AccountID {
		return nil, errNoPolicy(arn)
	}
	var p managedPolicyRec
	if err := getJSON(ctx, r, KindPolicy, lower(name), &p); err != nil {
		if isNotFound(err) {
			return nil, errNoPolicy(arn)
		}
		return nil, err
	}
	if p.ARN != arn {
		return nil, errNoPolicy(arn)
	}
	return &p, nil
}

// policyTarget reads PolicyArn, authorizes action on it and loads the
// policy.
func (c *call) policyTarget(action string) (*managedPolicyRec, string, error) {
	arn, err := c.policyArnParam()
	if err != nil {
		return nil, "", err
	}
	if err := c.auth(action, arn); err != nil {
		return nil, "", err
	}
	p, err := c.s.getPolicy(c.ctx(), c.s.Store, arn)
	return p, arn, err
}

func opCreatePolicy(c *call) (any, error) {
	name, err := c.name("PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	doc, err := c.policyDocument("PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	desc := c.str("Description")
	if len(desc) > 1000 {
		return nil, constraint("description", desc, false, "Member must have length less than or equal to 1000")
	}
	tags, err := c.tags()
	if err != nil {
		return nil, err
	}
	arn := c.s.policyARN(path, name)
	if err := c.auth("iam:CreatePolicy", arn); err != nil {
		return nil, err
	}
	if err := checkIdentityPolicy(doc); err != nil {
		return nil, err
	}
	if policySize(doc) > maxManagedPolicySize {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	now := c.s.now().UTC()
	p := managedPolicyRec{Name: name, ID: newPolicyID(), Path: path, ARN: arn, Description: desc,
		DefaultVersion: "v1", NextVersion: 2, Created: now, Updated: now, Tags: tags}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		if err := createJSON(c.ctx(), tx, KindPolicy, lower(name), p); err != nil {
			if errors.Is(err, store.ErrExists) {
				return entityExists("A policy called %s already exists. Duplicate names are not allowed.", name)
			}
			return err
		}
		return putJSON(c.ctx(), tx, KindPolicyVersion, lower(name)+"/v1", policyVersionRec{ID: "v1", Document: doc, Created: now})
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Policy policyXML `xml:"Policy"`
	}{p.xml(true)}, nil
}

func opGetPolicy(c *call) (any, error) {
	p, _, err := c.policyTarget("iam:GetPolicy")
	if err != nil {
		return nil, err
	}
	return struct {
		Policy policyXML `xml:"Policy"`
	}{p.xml(true)}, nil
}

type listPoliciesResult struct {
	Policies    members[policyXML] `xml:"Policies"`
	IsTruncated bool               `xml:"IsTruncated"`
	Marker      string             `xml:"Marker,omitempty"`
}

func opListPolicies(c *call) (any, error) {
	scope := c.str("Scope")
	switch scope {
	case "", "All", "AWS", "Local":
	default:
		return nil, constraint("scope", scope, false, "Member must satisfy enum value set: [All, AWS, Local]")
	}
	prefix, err := c.pathPrefix()
	if err != nil {
		return nil, err
	}
	onlyAttached := c.boolParam("OnlyAttached")
	if err := c.auth("iam:ListPolicies", c.s.arn("policy", prefix, "")); err != nil {
		return nil, err
	}
	var pols []managedPolicyRec
	if scope != "AWS" { // apigw has no AWS managed policies
		all, err := listJSON[managedPolicyRec](c.ctx(), c.s.Store, KindPolicy, "")
		if err != nil {
			return nil, err
		}
		for _, p := range all {
			if strings.HasPrefix(p.Path, prefix) && (!onlyAttached || p.Attachments > 0) {
				pols = append(pols, p)
			}
		}
	}
	pg, marker, err := page(c, pols, func(p managedPolicyRec) string { return lower(p.Name) })
	if err != nil {
		return nil, err
	}
	res := listPoliciesResult{IsTruncated: marker != "", Marker: marker}
	res.Policies.Member = []policyXML{}
	for i := range pg {
		res.Policies.Member = append(res.Policies.Member, pg[i].xml(false))
	}
	return res, nil
}

func opDeletePolicy(c *call) (any, error) {
	p, arn, err := c.policyTarget("iam:DeletePolicy")
	if err != nil {
		return nil, err
	}
	key := lower(p.Name)
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		ctx := c.ctx()
		cur, err := c.s.getPolicy(ctx, tx, arn)
		if err != nil {
			return err
		}
		if cur.Attachments > 0 {
			return deleteConflict("Cannot delete a policy attached to entities.")
		}
		versions, err := tx.List(ctx, KindPolicyVersion, key+"/")
		if err != nil {
			return err
		}
		if len(versions) > 1 {
			return deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		for _, v := range versions {
			if err := tx.Delete(ctx, KindPolicyVersion, v.Key); err != nil {
				return err
			}
		}
		return tx.Delete(ctx, KindPolicy, key)
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return nil, nil
}

// versionNumber is the number of a version id "vN", or 0.
func versionNumber(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "v"))
	if err != nil || !strings.HasPrefix(id, "v") {
		return 0
	}
	return n
}

func (c *call) versionIDParam() (string, error) {
	id, err := c.required("VersionId", "versionId")
	if err != nil {
		return "", err
	}
	if versionNumber(id) < 1 {
		return "", constraint("versionId", id, false, `Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	}
	return id, nil
}

func errNoVersion(arn, id string) *APIError {
	return noSuchEntity("Policy %s version %s does not exist or is not attachable.", arn, id)
}

func opCreatePolicyVersion(c *call) (any, error) {
	doc, err := c.policyDocument("PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	setDefault := c.boolParam("SetAsDefault")
	p, arn, err := c.policyTarget("iam:CreatePolicyVersion")
	if err != nil {
		return nil, err
	}
	if err := checkIdentityPolicy(doc); err != nil {
		return nil, err
	}
	if policySize(doc) > maxManagedPolicySize {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	var v policyVersionRec
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		ctx := c.ctx()
		cur, err := c.s.getPolicy(ctx, tx, arn)
		if err != nil {
			return err
		}
		versions, err := tx.List(ctx, KindPolicyVersion, lower(p.Name)+"/")
		if err != nil {
			return err
		}
		if len(versions) >= maxPolicyVersions {
			return limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
		}
		now := c.s.now().UTC()
		v = policyVersionRec{ID: "v" + strconv.Itoa(cur.NextVersion), Document: doc, Created: now}
		cur.NextVersion++
		cur.Updated = now
		if setDefault {
			cur.DefaultVersion = v.ID
		}
		if err := putJSON(ctx, tx, KindPolicyVersion, lower(cur.Name)+"/"+v.ID, v); err != nil {
			return err
		}
		return putJSON(ctx, tx, KindPolicy, lower(cur.Name), cur)
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return struct {
		PolicyVersion policyVersionXML `xml:"PolicyVersion"`
	}{policyVersionXML{VersionID: v.ID, IsDefaultVersion: setDefault, CreateDate: awsTime(v.Created)}}, nil
}

func opGetPolicyVersion(c *call) (any, error) {
	id, err := c.versionIDParam()
	if err != nil {
		return nil, err
	}
	p, arn, err := c.policyTarget("iam:GetPolicyVersion")
	if err != nil {
		return nil, err
	}
	var v policyVersionRec
	if err := getJSON(c.ctx(), c.s.Store, KindPolicyVersion, lower(p.Name)+"/"+id, &v); err != nil {
		if isNotFound(err) {
			return nil, errNoVersion(arn, id)
		}
		return nil, err
	}
	return struct {
		PolicyVersion policyVersionXML `xml:"PolicyVersion"`
	}{policyVersionXML{Document: encodeDocument(v.Document), VersionID: v.ID, IsDefaultVersion: v.ID == p.DefaultVersion, CreateDate: awsTime(v.Created)}}, nil
}

type listPolicyVersionsResult struct {
	Versions    members[policyVersionXML] `xml:"Versions"`
	IsTruncated bool                      `xml:"IsTruncated"`
	Marker      string                    `xml:"Marker,omitempty"`
}

func opListPolicyVersions(c *call) (any, error) {
	p, _, err := c.policyTarget("iam:ListPolicyVersions")
	if err != nil {
		return nil, err
	}
	versions, err := listJSON[policyVersionRec](c.ctx(), c.s.Store, KindPolicyVersion, lower(p.Name)+"/")
	if err != nil {
		return nil, err
	}
	// Newest first, as IAM lists them.
	sort.Slice(versions, func(i, j int) bool { return versionNumber(versions[i].ID) > versionNumber(versions[j].ID) })
	pg, marker, err := page(c, versions, func(v policyVersionRec) string {
		return strconv.Itoa(1_000_000_000 - versionNumber(v.ID))
	})
	if err != nil {
		return nil, err
	}
	res := listPolicyVersionsResult{IsTruncated: marker != "", Marker: marker}
	res.Versions.Member = []policyVersionXML{}
	for _, v := range pg {
		res.Versions.Member = append(res.Versions.Member,
			policyVersionXML{VersionID: v.ID, IsDefaultVersion: v.ID == p.DefaultVersion, CreateDate: awsTime(v.Created)})
	}
	return res, nil
}

func opDeletePolicyVersion(c *call) (any, error) {
	id, err := c.versionIDParam()
	if err != nil {
		return nil, err
	}
	p, arn, err := c.policyTarget("iam:DeletePolicyVersion")
	if err != nil {
		return nil, err
	}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		cur, err := c.s.getPolicy(c.ctx(), tx, arn)
		if err != nil {
			return err
		}
		if cur.DefaultVersion == id {
			return deleteConflict("Cannot delete the default version of a policy.")
		}
		err = tx.Delete(c.ctx(), KindPolicyVersion, lower(p.Name)+"/"+id)
		if isNotFound(err) {
			return errNoVersion(arn, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return nil, nil
}

func opSetDefaultPolicyVersion(c *call) (any, error) {
	id, err := c.versionIDParam()
	if err != nil {
		return nil, err
	}
	p, arn, err := c.policyTarget("iam:SetDefaultPolicyVersion")
	if err != nil {
		return nil, err
	}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		cur, err := c.s.getPolicy(c.ctx(), tx, arn)
		if err != nil {
			return err
		}
		if _, err := tx.Get(c.ctx(), KindPolicyVersion, lower(p.Name)+"/"+id); err != nil {
			if isNotFound(err) {
				return errNoVersion(arn, id)
			}
			return err
		}
		if cur.DefaultVersion == id {
			return nil
		}
		cur.DefaultVersion = id
		cur.Updated = c.s.now().UTC()
		return putJSON(c.ctx(), tx, KindPolicy, lower(cur.Name), cur)
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return nil, nil
}

// Attachments.

// attachOwner describes to whom managed policies are attached.
type attachOwner struct {
	kind  string // "user" or "role"
	param string
	field string
	quota string
	verb  string // "User" or "Role", in action names
}

var (
	userAttach = attachOwner{"user", "UserName", "userName", "PoliciesPerUser", "User"}
	roleAttach = attachOwner{"role", "RoleName", "roleName", "PoliciesPerRole", "Role"}
)

func (o attachOwner) target(c *call, action string) (string, error) {
	return inlineOwner{kind: o.kind, param: o.param, field: o.field}.target(c, action)
}

func (o attachOwner) attach(c *call) (any, error) {
	arn, err := c.policyArnParam()
	if err != nil {
		return nil, err
	}
	owner, err := o.target(c, "iam:Attach"+o.verb+"Policy")
	if err != nil {
		return nil, err
	}
	prefix := o.kind + "/" + lower(owner) + "/"
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		ctx := c.ctx()
		if err := c.s.ownerExists(ctx, tx, o.kind, owner); err != nil {
			return err
		}
		p, err := c.s.getPolicy(ctx, tx, arn)
		if err != nil {
			return err
		}
		key := prefix + lower(p.Name)
		if _, err := tx.Get(ctx, KindAttachment, key); err == nil {
			return nil // attached already
		} else if !isNotFound(err) {
			return err
		}
		atts, err := tx.List(ctx, KindAttachment, prefix)
		if err != nil {
			return err
		}
		if len(atts) >= maxAttachedPolicies {
			return limitExceeded("Cannot exceed quota for %s: %d", o.quota, maxAttachedPolicies)
		}
		p.Attachments++
		if err := putJSON(ctx, tx, KindPolicy, lower(p.Name), p); err != nil {
			return err
		}
		return putJSON(ctx, tx, KindAttachment, key, attachmentRec{PolicyName: p.Name, PolicyARN: p.ARN})
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return nil, nil
}

func (o attachOwner) detach(c *call) (any, error) {
	arn, err := c.policyArnParam()
	if err != nil {
		return nil, err
	}
	owner, err := o.target(c, "iam:Detach"+o.verb+"Policy")
	if err != nil {
		return nil, err
	}
	_, _, name, _ := parsePolicyARN(arn)
	key := o.kind + "/" + lower(owner) + "/" + lower(name)
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		ctx := c.ctx()
		var a attachmentRec
		if err := getJSON(ctx, tx, KindAttachment, key, &a); err != nil {
			if isNotFound(err) {
				return noSuchEntity("Policy %s was not found.", arn)
			}
			return err
		}
		if a.PolicyARN != arn {
			return noSuchEntity("Policy %s was not found.", arn)
		}
		if err := tx.Delete(ctx, KindAttachment, key); err != nil {
			return err
		}
		var p managedPolicyRec
		if err := getJSON(ctx, tx, KindPolicy, lower(name), &p); err == nil && p.ARN == arn && p.Attachments > 0 {
			p.Attachments--
			return putJSON(ctx, tx, KindPolicy, lower(name), p)
		} else if err != nil && !isNotFound(err) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return nil, nil
}

type attachedPolicyXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedResult struct {
	AttachedPolicies members[attachedPolicyXML] `xml:"AttachedPolicies"`
	IsTruncated      bool                       `xml:"IsTruncated"`
	Marker           string                     `xml:"Marker,omitempty"`
}

func (o attachOwner) list(c *call) (any, error) {
	prefix, err := c.pathPrefix()
	if err != nil {
		return nil, err
	}
	owner, err := o.target(c, "iam:ListAttached"+o.verb+"Policies")
	if err != nil {
		return nil, err
	}
	all, err := listJSON[attachmentRec](c.ctx(), c.s.Store, KindAttachment, o.kind+"/"+lower(owner)+"/")
	if err != nil {
		return nil, err
	}
	var atts []attachmentRec
	for _, a := range all {
		if _, path, _, ok := parsePolicyARN(a.PolicyARN); ok && strings.HasPrefix(path, prefix) {
			atts = append(atts, a)
		}
	}
	pg, marker, err := page(c, atts, func(a attachmentRec) string { return lower(a.PolicyName) })
	if err != nil {
		return nil, err
	}
	res := listAttachedResult{IsTruncated: marker != "", Marker: marker}
	res.AttachedPolicies.Member = []attachedPolicyXML{}
	for _, a := range pg {
		res.AttachedPolicies.Member = append(res.AttachedPolicies.Member, attachedPolicyXML{a.PolicyName, a.PolicyARN})
	}
	return res, nil
}
