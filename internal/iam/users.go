package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/apigw/apigw/internal/store"
)

// IAM users, access keys and inline user policies.

const (
	statusActive   = "Active"
	statusInactive = "Inactive"

	maxAccessKeysPerUser = 2
	maxUserPolicySize    = 2048
	maxRolePolicySize    = 10240
	maxManagedPolicySize = 6144
	maxTrustPolicySize   = 2048
	maxAttachedPolicies  = 10
	maxPolicyVersions    = 5
)

func (s *Service) arn(kind, path, name string) string {
	return "arn:aws:iam::" + s.AccountID + ":" + kind + path + name
}

func (s *Service) userARN(path, name string) string { return s.arn("user", path, name) }
func (s *Service) roleARN(path, name string) string { return s.arn("role", path, name) }
func (s *Service) policyARN(path, name string) string {
	return s.arn("policy", path, name)
}

func (c *call) ctx() context.Context { return c.r.Context() }

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func tagsXML(tags []tag) *members[tagXML] {
	if len(tags) == 0 {
		return nil
	}
	m := &members[tagXML]{}
	for _, t := range tags {
		m.Member = append(m.Member, tagXML(t))
	}
	return m
}

type userXML struct {
	Path       string           `xml:"Path,omitempty"`
	UserName   string           `xml:"UserName,omitempty"`
	UserID     string           `xml:"UserId"`
	Arn        string           `xml:"Arn"`
	CreateDate awsTime          `xml:"CreateDate"`
	Tags       *members[tagXML] `xml:"Tags,omitempty"`
}

func (u *userRec) xml(withTags bool) userXML {
	x := userXML{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: awsTime(u.Created)}
	if withTags {
		x.Tags = tagsXML(u.Tags)
	}
	return x
}

type userResult struct {
	User userXML `xml:"User"`
}

// getUser loads a user, or returns NoSuchEntity.
func (s *Service) getUser(ctx context.Context, r store.Reader, name string) (*userRec, error) {
	var u userRec
	if err := getJSON(ctx, r, KindUser, lower(name), &u); err != nil {
		if isNotFound(err) {
			return nil, noSuchEntity("The user with name %s cannot be found.", name)
		}
		return nil, err
	}
	return &u, nil
}

// userTarget loads the user an operation names and authorizes action on it:
// on its ARN when it exists, else on the ARN it would have with path "/"
// (AWS authorizes before it looks; a caller not allowed learns nothing).
func (c *call) userTarget(action, name string) (*userRec, error) {
	u, err := c.s.getUser(c.ctx(), c.s.Store, name)
	var ae *APIError
	if err != nil && !errors.As(err, &ae) {
		return nil, err
	}
	arn := c.s.userARN("/", name)
	if u != nil {
		arn = u.ARN
	}
	if aerr := c.auth(action, arn); aerr != nil {
		return nil, aerr
	}
	return u, err
}

// userNameOrCaller returns the UserName parameter, or the calling user's
// name when absent.
func (c *call) userNameOrCaller() (string, error) {
	if c.has("UserName") {
		return c.name("UserName", "userName", 64)
	}
	if c.p.Kind == PrincipalUser {
		return c.p.Name, nil
	}
	return "", validationError("Must specify userName when calling with non-User credentials")
}

func opCreateUser(c *call) (any, error) {
	name, err := c.name("UserName", "userName", 64)
	if err != nil {
		return nil, err
	}
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	tags, err := c.tags()
	if err != nil {
		return nil, err
	}
	arn := c.s.userARN(path, name)
	if err := c.auth("iam:CreateUser", arn); err != nil {
		return nil, err
	}
	u := userRec{Name: name, ID: newUserID(), Path: path, ARN: arn, Created: c.s.now().UTC(), Tags: tags}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		err := createJSON(c.ctx(), tx, KindUser, lower(name), u)
		if errors.Is(err, store.ErrExists) {
			return entityExists("User with name %s already exists.", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return userResult{u.xml(true)}, nil
}

func opGetUser(c *call) (any, error) {
	if !c.has("UserName") {
		switch c.p.Kind {
		case PrincipalRoot:
			if err := c.auth("iam:GetUser", c.p.ARN); err != nil {
				return nil, err
			}
			return userResult{userXML{UserID: c.s.AccountID, Arn: c.p.ARN, CreateDate: awsTime(c.s.now())}}, nil
		case PrincipalAssumedRole:
			return nil, validationError("Must specify userName when calling with non-User credentials")
		}
	}
	name, err := c.userNameOrCaller()
	if err != nil {
		return nil, err
	}
	u, err := c.userTarget("iam:GetUser", name)
	if err != nil {
		return nil, err
	}
	return userResult{u.xml(true)}, nil
}

type listUsersResult struct {
	Users       members[userXML] `xml:"Users"`
	IsTruncated bool             `xml:"IsTruncated"`
	Marker      string           `xml:"Marker,omitempty"`
}

func opListUsers(c *call) (any, error) {
	prefix, err := c.pathPrefix()
	if err != nil {
		return nil, err
	}
	if err := c.auth("iam:ListUsers", c.s.arn("user", prefix, "")); err != nil {
		return nil, err
	}
	all, err := listJSON[userRec](c.ctx(), c.s.Store, KindUser, "")
	if err != nil {
		return nil, err
	}
	var users []userRec
	for _, u := range all {
		if strings.HasPrefix(u.Path, prefix) {
			users = append(users, u)
		}
	}
	pg, marker, err := page(c, users, func(u userRec) string { return lower(u.Name) })
	if err != nil {
		return nil, err
	}
	res := listUsersResult{IsTruncated: marker != "", Marker: marker}
	res.Users.Member = []userXML{}
	for i := range pg {
		res.Users.Member = append(res.Users.Member, pg[i].xml(false))
	}
	return res, nil
}

func opDeleteUser(c *call) (any, error) {
	name, err := c.name("UserName", "userName", 64)
	if err != nil {
		return nil, err
	}
	if _, err := c.userTarget("iam:DeleteUser", name); err != nil {
		return nil, err
	}
	key := lower(name)
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		ctx := c.ctx()
		if _, err := c.s.getUser(ctx, tx, name); err != nil {
			return err
		}
		if keys, err := tx.List(ctx, KindUserKey, key+"/"); err != nil {
			return err
		} else if len(keys) > 0 {
			return deleteConflict("Cannot delete entity, must delete access keys first.")
		}
		if pols, err := tx.List(ctx, KindUserPolicy, key+"/"); err != nil {
			return err
		} else if len(pols) > 0 {
			return deleteConflict("Cannot delete entity, must delete policies first.")
		}
		if atts, err := tx.List(ctx, KindAttachment, "user/"+key+"/"); err != nil {
			return err
		} else if len(atts) > 0 {
			return deleteConflict("Cannot delete entity, must detach all policies first.")
		}
		return tx.Delete(ctx, KindUser, key)
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return nil, nil
}

// Access keys.

type accessKeyXML struct {
	UserName        string  `xml:"UserName,omitempty"`
	AccessKeyID     string  `xml:"AccessKeyId"`
	Status          string  `xml:"Status"`
	SecretAccessKey string  `xml:"SecretAccessKey,omitempty"`
	CreateDate      awsTime `xml:"CreateDate"`
}

func opCreateAccessKey(c *call) (any, error) {
	if !c.has("UserName") && c.p.Kind == PrincipalRoot {
		return nil, validationError("apigw: the root access key is set by APIGW_ROOT_ACCESS_KEY_ID and APIGW_ROOT_SECRET_ACCESS_KEY; specify userName")
	}
	name, err := c.userNameOrCaller()
	if err != nil {
		return nil, err
	}
	if _, err := c.userTarget("iam:CreateAccessKey", name); err != nil {
		return nil, err
	}
	aead, err := c.s.cipher()
	if err != nil {
		return nil, err
	}
	secret := newSecret()
	var k accessKeyRec
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		ctx := c.ctx()
		u, err := c.s.getUser(ctx, tx, name)
		if err != nil {
			return err
		}
		keys, err := tx.List(ctx, KindUserKey, lower(u.Name)+"/")
		if err != nil {
			return err
		}
		if len(keys) >= maxAccessKeysPerUser {
			return limitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeysPerUser)
		}
		k = accessKeyRec{ID: newAccessKeyID(), UserName: u.Name, UserID: u.ID, UserARN: u.ARN, Status: statusActive, Created: c.s.now().UTC()}
		if k.Secret, err = seal(aead, secret, KindAccessKey+"/"+k.ID); err != nil {
			return err
		}
		if err := createJSON(ctx, tx, KindAccessKey, k.ID, k); err != nil {
			return err
		}
		return tx.Put(ctx, KindUserKey, lower(u.Name)+"/"+k.ID, []byte("{}"))
	})
	if err != nil {
		return nil, err
	}
	return struct {
		AccessKey accessKeyXML `xml:"AccessKey"`
	}{accessKeyXML{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, SecretAccessKey: secret, CreateDate: awsTime(k.Created)}}, nil
}

type listAccessKeysResult struct {
	AccessKeyMetadata members[accessKeyXML] `xml:"AccessKeyMetadata"`
	IsTruncated       bool                  `xml:"IsTruncated"`
	Marker            string                `xml:"Marker,omitempty"`
}

func opListAccessKeys(c *call) (any, error) {
	if !c.has("UserName") && c.p.Kind == PrincipalRoot {
		// The root's key is configuration, not an IAM key.
		res := listAccessKeysResult{}
		res.AccessKeyMetadata.Member = []accessKeyXML{}
		return res, nil
	}
	name, err := c.userNameOrCaller()
	if err != nil {
		return nil, err
	}
	u, err := c.userTarget("iam:ListAccessKeys", name)
	if err != nil {
		return nil, err
	}
	idx, err := c.s.Store.List(c.ctx(), KindUserKey, lower(u.Name)+"/")
	if err != nil {
		return nil, err
	}
	var keys []accessKeyRec
	for _, it := range idx {
		var k accessKeyRec
		id := it.Key[strings.LastIndexByte(it.Key, '/')+1:]
		if err := getJSON(c.ctx(), c.s.Store, KindAccessKey, id, &k); err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		keys = append(keys, k)
	}
	pg, marker, err := page(c, keys, func(k accessKeyRec) string { return k.ID })
	if err != nil {
		return nil, err
	}
	res := listAccessKeysResult{IsTruncated: marker != "", Marker: marker}
	res.AccessKeyMetadata.Member = []accessKeyXML{}
	for _, k := range pg {
		res.AccessKeyMetadata.Member = append(res.AccessKeyMetadata.Member,
			accessKeyXML{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, CreateDate: awsTime(k.Created)})
	}
	return res, nil
}

// accessKeyTarget resolves the key an operation names (AccessKeyId and
// optional UserName), authorizing action on its user.
func (c *call) accessKeyTarget(action string) (*accessKeyRec, error) {
	id, err := c.required("AccessKeyId", "accessKeyId")
	if err != nil {
		return nil, err
	}
	if len(id) < 16 || len(id) > 128 {
		return nil, constraint("accessKeyId", id, false, "Member must have length greater than or equal to 16")
	}
	var k accessKeyRec
	kerr := getJSON(c.ctx(), c.s.Store, KindAccessKey, id, &k)
	if kerr != nil && !isNotFound(kerr) {
		return nil, kerr
	}
	found := kerr == nil
	var name string
	switch {
	case c.has("UserName"):
		if name, err = c.name("UserName", "userName", 64); err != nil {
			return nil, err
		}
	case c.p.Kind == PrincipalUser:
		name = c.p.Name
	case c.p.Kind == PrincipalRoot && found:
		// The root's own keys are not IAM keys: the root names a user's
		// key by its id alone.
		name = k.UserName
	default:
		return nil, noSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	if _, err := c.userTarget(action, name); err != nil {
		return nil, err
	}
	if !found || !strings.EqualFold(k.UserName, name) {
		return nil, noSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	return &k, nil
}

func opUpdateAccessKey(c *call) (any, error) {
	status, err := c.required("Status", "status")
	if err != nil {
		return nil, err
	}
	if status != statusActive && status != statusInactive {
		return nil, constraint("status", status, false, "Member must satisfy enum value set: [Active, Inactive]")
	}
	k, err := c.accessKeyTarget("iam:UpdateAccessKey")
	if err != nil {
		return nil, err
	}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		var cur accessKeyRec
		if err := getJSON(c.ctx(), tx, KindAccessKey, k.ID, &cur); err != nil {
			if isNotFound(err) {
				return noSuchEntity("The Access Key with id %s cannot be found.", k.ID)
			}
			return err
		}
		if cur.Status == status {
			return nil
		}
		cur.Status = status
		return putJSON(c.ctx(), tx, KindAccessKey, k.ID, cur)
	})
	c.s.invalidateCreds(k.ID)
	if err != nil {
		return nil, err
	}
	return nil, nil
}

func opDeleteAccessKey(c *call) (any, error) {
	k, err := c.accessKeyTarget("iam:DeleteAccessKey")
	if err != nil {
		return nil, err
	}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		if err := tx.Delete(c.ctx(), KindAccessKey, k.ID); err != nil {
			if isNotFound(err) {
				return noSuchEntity("The Access Key with id %s cannot be found.", k.ID)
			}
			return err
		}
		if err := tx.Delete(c.ctx(), KindUserKey, lower(k.UserName)+"/"+k.ID); err != nil && !isNotFound(err) {
			return err
		}
		return nil
	})
	c.s.invalidateCreds(k.ID)
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// Inline policies of users and roles.

// inlineOwner describes whose inline policies an operation handles.
type inlineOwner struct {
	kind    string // "user" or "role"
	param   string // UserName or RoleName
	field   string // userName or roleName
	recKind string // KindUserPolicy or KindRolePolicy
	maxSize int
}

var (
	userInline = inlineOwner{"user", "UserName", "userName", KindUserPolicy, maxUserPolicySize}
	roleInline = inlineOwner{"role", "RoleName", "roleName", KindRolePolicy, maxRolePolicySize}
)

// target loads the owner and authorizes action on it; it returns the
// owner's canonical name.
func (o inlineOwner) target(c *call, action string) (string, error) {
	name, err := c.name(o.param, o.field, 64)
	if err != nil {
		return "", err
	}
	if o.kind == "user" {
		u, err := c.userTarget(action, name)
		if err != nil {
			return "", err
		}
		return u.Name, nil
	}
	r, err := c.roleTarget(action, name)
	if err != nil {
		return "", err
	}
	return r.Name, nil
}

func (o inlineOwner) notFound(policyName string) *APIError {
	return noSuchEntity("The %s policy with name %s cannot be found.", o.kind, policyName)
}

func (o inlineOwner) put(c *call) (any, error) {
	policyName, err := c.name("PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	doc, err := c.policyDocument("PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	action := "iam:PutUserPolicy"
	if o.kind == "role" {
		action = "iam:PutRolePolicy"
	}
	owner, err := o.target(c, action)
	if err != nil {
		return nil, err
	}
	if err := checkIdentityPolicy(doc); err != nil {
		return nil, err
	}
	if policySize(doc) > o.maxSize {
		return nil, limitExceeded("Maximum policy size of %d bytes exceeded for %s %s", o.maxSize, o.kind, owner)
	}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		if err := c.s.ownerExists(c.ctx(), tx, o.kind, owner); err != nil {
			return err
		}
		return putJSON(c.ctx(), tx, o.recKind, lower(owner)+"/"+lower(policyName), inlinePolicyRec{Name: policyName, Document: doc})
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return nil, nil
}

func (s *Service) ownerExists(ctx context.Context, r store.Reader, kind, name string) error {
	if kind == "user" {
		_, err := s.getUser(ctx, r, name)
		return err
	}
	_, err := s.getRole(ctx, r, name)
	return err
}

func (o inlineOwner) get(c *call) (any, error) {
	policyName, err := c.name("PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	action := "iam:GetUserPolicy"
	if o.kind == "role" {
		action = "iam:GetRolePolicy"
	}
	owner, err := o.target(c, action)
	if err != nil {
		return nil, err
	}
	var ip inlinePolicyRec
	if err := getJSON(c.ctx(), c.s.Store, o.recKind, lower(owner)+"/"+lower(policyName), &ip); err != nil {
		if isNotFound(err) {
			return nil, o.notFound(policyName)
		}
		return nil, err
	}
	if o.kind == "user" {
		return struct {
			UserName       string `xml:"UserName"`
			PolicyName     string `xml:"PolicyName"`
			PolicyDocument string `xml:"PolicyDocument"`
		}{owner, ip.Name, encodeDocument(ip.Document)}, nil
	}
	return struct {
		RoleName       string `xml:"RoleName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{owner, ip.Name, encodeDocument(ip.Document)}, nil
}

type listPolicyNamesResult struct {
	PolicyNames members[string] `xml:"PolicyNames"`
	IsTruncated bool            `xml:"IsTruncated"`
	Marker      string          `xml:"Marker,omitempty"`
}

func (o inlineOwner) list(c *call) (any, error) {
	action := "iam:ListUserPolicies"
	if o.kind == "role" {
		action = "iam:ListRolePolicies"
	}
	owner, err := o.target(c, action)
	if err != nil {
		return nil, err
	}
	pols, err := listJSON[inlinePolicyRec](c.ctx(), c.s.Store, o.recKind, lower(owner)+"/")
	if err != nil {
		return nil, err
	}
	pg, marker, err := page(c, pols, func(p inlinePolicyRec) string { return lower(p.Name) })
	if err != nil {
		return nil, err
	}
	res := listPolicyNamesResult{IsTruncated: marker != "", Marker: marker}
	res.PolicyNames.Member = []string{}
	for _, p := range pg {
		res.PolicyNames.Member = append(res.PolicyNames.Member, p.Name)
	}
	return res, nil
}

func (o inlineOwner) delete(c *call) (any, error) {
	policyName, err := c.name("PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	action := "iam:DeleteUserPolicy"
	if o.kind == "role" {
		action = "iam:DeleteRolePolicy"
	}
	owner, err := o.target(c, action)
	if err != nil {
		return nil, err
	}
	err = c.s.Store.Update(c.ctx(), func(tx store.Tx) error {
		err := tx.Delete(c.ctx(), o.recKind, lower(owner)+"/"+lower(policyName))
		if isNotFound(err) {
			return o.notFound(policyName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	c.s.invalidatePolicies()
	return nil, nil
}
