package iam_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/policy"
)

func TestInlinePolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bob")})
	must(t, err)
	doc := `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}]
}`
	_, err = e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("read"), PolicyDocument: aws.String(doc)})
	must(t, err)
	got, err := e.root.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("read")})
	must(t, err)
	// IAM returns the document URL-encoded (RFC 3986), as written.
	enc := aws.ToString(got.PolicyDocument)
	if dec, err := url.PathUnescape(enc); err != nil || dec != doc {
		t.Fatalf("document %q decodes to %q", enc, dec)
	}
	if enc[:9] != "%7B%0A%20" {
		t.Fatalf("document not encoded as AWS does: %q", enc)
	}
	names, err := e.root.ListUserPolicies(ctx, &awsiam.ListUserPoliciesInput{UserName: aws.String("bob")})
	must(t, err)
	if len(names.PolicyNames) != 1 || names.PolicyNames[0] != "read" {
		t.Fatalf("policy names %v", names.PolicyNames)
	}

	cases := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"malformed", func() error {
			_, err := e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("x"), PolicyDocument: aws.String(`{"Version":`)})
			return err
		}, "MalformedPolicyDocument", 400, "Syntax errors in policy."},
		{"principal in identity policy", func() error {
			_, err := e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("x"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:*","Resource":"*"}]}`)})
			return err
		}, "MalformedPolicyDocument", 400, "Policy document should not specify a principal."},
		{"no such user", func() error {
			_, err := e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("x"), PolicyDocument: aws.String(doc)})
			return err
		}, "NoSuchEntity", 404, "The user with name nobody cannot be found."},
		{"no such policy", func() error {
			_, err := e.root.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("write")})
			return err
		}, "NoSuchEntity", 404, "The user policy with name write cannot be found."},
		{"too large", func() error {
			big := `{"Version":"2012-10-17","Statement":[`
			for i := 0; i < 60; i++ {
				if i > 0 {
					big += ","
				}
				big += `{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}`
			}
			big += `]}`
			_, err := e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("big"), PolicyDocument: aws.String(big)})
			return err
		}, "LimitExceeded", 409, "Maximum policy size of 2048 bytes exceeded for user bob"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.call(), c.code, c.status, c.msg) })
	}

	_, err = e.root.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("read")})
	must(t, err)
	_, err = e.root.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("read")})
	wantErr(t, err, "NoSuchEntity", 404, "The user policy with name read cannot be found.")
}

func TestManagedPolicies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob := e.user("bob")
	created, err := e.root.CreatePolicy(ctx, &awsiam.CreatePolicyInput{
		PolicyName: aws.String("readers"), Path: aws.String("/team/"), Description: aws.String("read users"),
		PolicyDocument: aws.String(allow("iam:ListUsers", "*")),
	})
	must(t, err)
	p := created.Policy
	arn := aws.ToString(p.Arn)
	if arn != "arn:aws:iam::"+account+":policy/team/readers" || aws.ToString(p.DefaultVersionId) != "v1" ||
		len(aws.ToString(p.PolicyId)) != 21 || aws.ToString(p.PolicyId)[:4] != "ANPA" || !p.IsAttachable {
		t.Fatalf("created %+v", p)
	}
	_, err = e.root.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("readers"), PolicyDocument: aws.String(allow("iam:ListUsers", "*"))})
	wantErr(t, err, "EntityAlreadyExists", 409, "A policy called readers already exists. Duplicate names are not allowed.")
	_, err = e.root.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::" + account + ":policy/readers")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy arn:aws:iam::"+account+":policy/readers does not exist or is not attachable.")

	// Not attached yet: bob may not list users.
	_, err = bob.iam.ListUsers(ctx, &awsiam.ListUsersInput{})
	wantErr(t, err, "AccessDenied", 403, "User: "+bob.arn+" is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::"+account+
		":user/ because no identity-based policy allows the iam:ListUsers action")
	_, err = e.root.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(arn)})
	must(t, err)
	_, err = bob.iam.ListUsers(ctx, &awsiam.ListUsersInput{})
	must(t, err)

	got, err := e.root.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String(arn)})
	must(t, err)
	if aws.ToInt32(got.Policy.AttachmentCount) != 1 || aws.ToString(got.Policy.Description) != "read users" {
		t.Fatalf("get policy %+v", got.Policy)
	}
	att, err := e.root.ListAttachedUserPolicies(ctx, &awsiam.ListAttachedUserPoliciesInput{UserName: aws.String("bob")})
	must(t, err)
	if len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyArn) != arn {
		t.Fatalf("attached %+v", att.AttachedPolicies)
	}
	local, err := e.root.ListPolicies(ctx, &awsiam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal})
	must(t, err)
	if len(local.Policies) != 1 || aws.ToString(local.Policies[0].Arn) != arn {
		t.Fatalf("local policies %+v", local.Policies)
	}
	awsScope, err := e.root.ListPolicies(ctx, &awsiam.ListPoliciesInput{Scope: types.PolicyScopeTypeAws})
	must(t, err)
	if len(awsScope.Policies) != 0 {
		t.Fatalf("AWS policies %+v", awsScope.Policies)
	}

	// A new default version changes what bob may do at once.
	v2, err := e.root.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arn),
		PolicyDocument: aws.String(allow("iam:ListRoles", "*")), SetAsDefault: true})
	must(t, err)
	if aws.ToString(v2.PolicyVersion.VersionId) != "v2" || !v2.PolicyVersion.IsDefaultVersion {
		t.Fatalf("v2 %+v", v2.PolicyVersion)
	}
	_, err = bob.iam.ListUsers(ctx, &awsiam.ListUsersInput{})
	wantErr(t, err, "AccessDenied", 403, "")
	_, err = bob.iam.ListRoles(ctx, &awsiam.ListRolesInput{})
	must(t, err)

	versions, err := e.root.ListPolicyVersions(ctx, &awsiam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	must(t, err)
	if len(versions.Versions) != 2 || aws.ToString(versions.Versions[0].VersionId) != "v2" || !versions.Versions[0].IsDefaultVersion ||
		versions.Versions[1].IsDefaultVersion {
		t.Fatalf("versions %+v", versions.Versions)
	}
	v1, err := e.root.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
	must(t, err)
	if dec, _ := url.PathUnescape(aws.ToString(v1.PolicyVersion.Document)); dec != allow("iam:ListUsers", "*") {
		t.Fatalf("v1 document %q", dec)
	}
	_, err = e.root.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v9")})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+arn+" version v9 does not exist or is not attachable.")
	_, err = e.root.DeletePolicyVersion(ctx, &awsiam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete the default version of a policy.")

	// Back to v1.
	_, err = e.root.SetDefaultPolicyVersion(ctx, &awsiam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
	must(t, err)
	_, err = bob.iam.ListUsers(ctx, &awsiam.ListUsersInput{})
	must(t, err)

	// At most five versions.
	for i := 3; i <= 5; i++ {
		_, err = e.root.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(allow("iam:GetUser", "*"))})
		must(t, err)
	}
	_, err = e.root.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(allow("iam:GetUser", "*"))})
	wantErr(t, err, "LimitExceeded", 409, "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")

	// An explicit deny inline beats the managed allow.
	_, err = e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("deny"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}]}`)})
	must(t, err)
	_, err = bob.iam.ListUsers(ctx, &awsiam.ListUsersInput{})
	wantErr(t, err, "AccessDenied", 403, "User: "+bob.arn+" is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::"+account+
		":user/ with an explicit deny in an identity-based policy")

	// Deletion rules.
	_, err = e.root.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete a policy attached to entities.")
	_, err = e.root.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("nobody")})
	wantErr(t, err, "NoSuchEntity", 404, "")
	_, err = e.root.DetachUserPolicy(ctx, &awsiam.DetachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(arn)})
	must(t, err)
	_, err = e.root.DetachUserPolicy(ctx, &awsiam.DetachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "Policy "+arn+" was not found.")
	_, err = e.root.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "DeleteConflict", 409, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	for _, v := range []string{"v2", "v3", "v4", "v5"} {
		_, err = e.root.DeletePolicyVersion(ctx, &awsiam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(v)})
		must(t, err)
	}
	_, err = e.root.DeletePolicy(ctx, &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	must(t, err)
	_, err = e.root.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String(arn)})
	wantErr(t, err, "NoSuchEntity", 404, "")
}

// A user allowed only iam:GetUser is refused iam:CreateUser with AWS's text.
func TestAccessDeniedText(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user("limited", allow("iam:GetUser", "*"))
	_, err := u.iam.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("limited")})
	must(t, err)
	_, err = u.iam.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("eve")})
	wantErr(t, err, "AccessDenied", 403,
		"User: arn:aws:iam::123456789012:user/limited is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/eve because no identity-based policy allows the iam:CreateUser action")
	// Refused before anything is looked at: the user was not created.
	_, err = e.root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("eve")})
	wantErr(t, err, "NoSuchEntity", 404, "")
}

// Authorize decisions, with the global condition keys of RequestContext.
func TestAuthorize(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := "arn:aws:execute-api:us-east-1:" + account + ":a1b2c3d4e5"
	u := e.user("carol",
		`{"Version":"2012-10-17","Statement":[
		  {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+api+`/*/GET/sample"},
		  {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+api+`/*/POST/*",
		   "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}},
		  {"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::`+account+`:user/${aws:username}"},
		  {"Effect":"Allow","Action":"apigateway:GET","Resource":"arn:aws:apigateway:us-east-1::/restapis/*",
		   "Condition":{"DateLessThan":{"aws:CurrentTime":"2000-01-01T00:00:00Z"}}},
		  {"Effect":"Deny","Action":"execute-api:Invoke","Resource":"`+api+`/prod/*"}]}`)
	cred, err := e.svc.Lookup(ctx, u.id)
	must(t, err)
	p := cred.Principal.(*iam.Principal)
	if p.Kind != iam.PrincipalUser || p.ARN != u.arn || p.Name != "carol" {
		t.Fatalf("principal %+v", p)
	}
	now := time.Now()
	cases := []struct {
		name     string
		action   string
		resource string
		ip       string
		secure   bool
		want     string // "" allowed, else the AccessDenied text's tail
	}{
		{"allowed path", "execute-api:Invoke", api + "/dev/GET/sample", "192.0.2.1", false, ""},
		{"other path", "execute-api:Invoke", api + "/dev/GET/other", "192.0.2.1", false, " because no identity-based policy allows the execute-api:Invoke action"},
		{"explicit deny", "execute-api:Invoke", api + "/prod/GET/sample", "192.0.2.1", false, " with an explicit deny in an identity-based policy"},
		{"ip and tls", "execute-api:Invoke", api + "/dev/POST/items", "10.1.2.3", true, ""},
		{"wrong ip", "execute-api:Invoke", api + "/dev/POST/items", "192.0.2.1", true, " because no identity-based policy allows the execute-api:Invoke action"},
		{"no tls", "execute-api:Invoke", api + "/dev/POST/items", "10.1.2.3", false, " because no identity-based policy allows the execute-api:Invoke action"},
		{"own user", "iam:GetUser", u.arn, "", false, ""},
		{"other user", "iam:GetUser", "arn:aws:iam::" + account + ":user/dave", "", false, " because no identity-based policy allows the iam:GetUser action"},
		{"time condition", "apigateway:GET", "arn:aws:apigateway:us-east-1::/restapis/x", "", false, " because no identity-based policy allows the apigateway:GET action"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.svc.Authorize(ctx, p, c.action, c.resource, iam.RequestContext(p, c.ip, c.secure, now, nil))
			if c.want == "" {
				must(t, err)
				return
			}
			var ad *iam.AccessDenied
			if !errors.As(err, &ad) {
				t.Fatalf("want AccessDenied, got %v", err)
			}
			want := "User: " + u.arn + " is not authorized to perform: " + c.action + " on resource: " + c.resource + c.want
			if ad.Error() != want {
				t.Fatalf("message\n got %q\nwant %q", ad.Error(), want)
			}
		})
	}

	// Decide, for the data plane, which combines it with resource policies.
	for _, c := range []struct {
		resource string
		want     policy.Effect
	}{
		{api + "/dev/GET/sample", policy.Allow},
		{api + "/dev/GET/other", policy.NotApplicable},
		{api + "/prod/GET/sample", policy.Deny},
	} {
		d, err := e.svc.Decide(ctx, p, "execute-api:Invoke", c.resource, iam.RequestContext(p, "", false, now, nil))
		must(t, err)
		if d.Effect() != c.want {
			t.Errorf("Decide %s: %v, want %v", c.resource, d.Effect(), c.want)
		}
	}

	// The root may do anything.
	root, err := e.svc.Lookup(ctx, rootKeyID)
	must(t, err)
	if err := e.svc.Authorize(ctx, root.Principal.(*iam.Principal), "iam:DeleteUser", "*", nil); err != nil {
		t.Fatal(err)
	}

	// Global condition keys.
	rc := iam.RequestContext(p, "10.0.0.1", true, time.Unix(1700000000, 0), map[string][]string{"aws:SourceVpce": {"vpce-1"}})
	for key, want := range map[string]string{
		"aws:username": "carol", "aws:userid": p.UserID, "aws:PrincipalArn": u.arn, "aws:principalaccount": account,
		"aws:SourceIp": "10.0.0.1", "aws:SecureTransport": "true", "aws:CurrentTime": "2023-11-14T22:13:20Z",
		"aws:EpochTime": "1700000000", "aws:PrincipalType": "User", "AWS:SOURCEVPCE": "vpce-1",
	} {
		if v, ok := rc(key); !ok || len(v) != 1 || v[0] != want {
			t.Errorf("%s = %v, %v; want %s", key, v, ok, want)
		}
	}
	if _, ok := rc("aws:TokenIssueTime"); ok {
		t.Error("aws:TokenIssueTime set for long-term credentials")
	}
}
