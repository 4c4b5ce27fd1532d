package iam_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func trust(principals ...string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["` +
		strings.Join(principals, `","`) + `"]},"Action":"sts:AssumeRole"}]}`
}

func (e *env) role(name, trustPolicy string, maxSession int32, policies ...string) string {
	e.t.Helper()
	ctx := context.Background()
	in := &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustPolicy)}
	if maxSession > 0 {
		in.MaxSessionDuration = aws.Int32(maxSession)
	}
	out, err := e.root.CreateRole(ctx, in)
	if err != nil {
		e.t.Fatalf("create role %s: %v", name, err)
	}
	for i, p := range policies {
		if _, err := e.root.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String(name),
			PolicyName: aws.String("p" + string(rune('0'+i))), PolicyDocument: aws.String(p)}); err != nil {
			e.t.Fatal(err)
		}
	}
	return aws.ToString(out.Role.Arn)
}

func sessionClients(e *env, c *ststypes.Credentials) (*awsiam.Client, *sts.Client) {
	id, secret, token := aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)
	return e.iam(id, secret, token), e.sts(id, secret, token)
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	doc := trust("arn:aws:iam::" + account + ":root")
	out, err := e.root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("deployer"), Path: aws.String("/ci/"),
		AssumeRolePolicyDocument: aws.String(doc), Description: aws.String("deploys")})
	must(t, err)
	r := out.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::"+account+":role/ci/deployer" || aws.ToString(r.RoleId)[:4] != "AROA" ||
		len(aws.ToString(r.RoleId)) != 21 || aws.ToInt32(r.MaxSessionDuration) != 3600 {
		t.Fatalf("role %+v", r)
	}
	got, err := e.root.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("deployer")})
	must(t, err)
	if !strings.HasPrefix(aws.ToString(got.Role.AssumeRolePolicyDocument), "%7B%22Version%22%3A%222012-10-17%22") {
		t.Fatalf("trust policy not URL-encoded: %q", aws.ToString(got.Role.AssumeRolePolicyDocument))
	}
	roles, err := e.root.ListRoles(ctx, &awsiam.ListRolesInput{})
	must(t, err)
	if len(roles.Roles) != 1 {
		t.Fatalf("roles %+v", roles.Roles)
	}
	pol, err := e.root.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("ro"), PolicyDocument: aws.String(allow("iam:Get*", "*"))})
	must(t, err)

	cases := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"exists", func() error {
			_, err := e.root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("Deployer"), AssumeRolePolicyDocument: aws.String(doc)})
			return err
		}, "EntityAlreadyExists", 409, "Role with name Deployer already exists."},
		{"missing", func() error {
			_, err := e.root.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("nope")})
			return err
		}, "NoSuchEntity", 404, "The role with name nope cannot be found."},
		{"trust without principal", func() error {
			_, err := e.root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(allow("sts:AssumeRole", "*"))})
			return err
		}, "MalformedPolicyDocument", 400, ""},
		{"session too long", func() error {
			_, err := e.root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(doc), MaxSessionDuration: aws.Int32(50000)})
			return err
		}, "ValidationError", 400, "1 validation error detected: Value '50000' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"role policy missing", func() error {
			_, err := e.root.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: aws.String("deployer"), PolicyName: aws.String("p")})
			return err
		}, "NoSuchEntity", 404, "The role policy with name p cannot be found."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.call(), c.code, c.status, c.msg) })
	}

	_, err = e.root.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("deployer"), PolicyName: aws.String("p"), PolicyDocument: aws.String(allow("iam:*", "*"))})
	must(t, err)
	rp, err := e.root.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: aws.String("deployer")})
	must(t, err)
	if len(rp.PolicyNames) != 1 {
		t.Fatalf("role policies %v", rp.PolicyNames)
	}
	_, err = e.root.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String("deployer"), PolicyArn: pol.Policy.Arn})
	must(t, err)
	ar, err := e.root.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String("deployer")})
	must(t, err)
	if len(ar.AttachedPolicies) != 1 {
		t.Fatalf("attached %+v", ar.AttachedPolicies)
	}
	_, err = e.root.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("deployer")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
	_, err = e.root.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: aws.String("deployer"), PolicyName: aws.String("p")})
	must(t, err)
	_, err = e.root.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("deployer")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")
	_, err = e.root.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: aws.String("deployer"), PolicyArn: pol.Policy.Arn})
	must(t, err)
	_, err = e.root.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("deployer")})
	must(t, err)
}

func TestAssumeRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	userARN := func(n string) string { return "arn:aws:iam::" + account + ":user/" + n }
	alice := e.user("alice")                                                                     // named by the trust policy, no identity policy
	carol := e.user("carol", allow("sts:AssumeRole", "arn:aws:iam::"+account+":role/delegated")) // identity policy only
	dave := e.user("dave")                                                                       // nothing
	rolePolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetRole","iam:ListRoles","iam:ListUsers","sts:AssumeRole"],"Resource":"*"}]}`
	direct := e.role("direct", trust(userARN("alice")), 0, rolePolicy)
	delegated := e.role("delegated", trust(account), 0, rolePolicy)
	chained := e.role("chained", trust(direct), 43200, rolePolicy)

	denied := func(who, role string) string {
		return "User: " + who + " is not authorized to perform: sts:AssumeRole on resource: " + role
	}
	cases := []struct {
		name   string
		client *sts.Client
		role   string
		dur    int32
		code   string
		msg    string
	}{
		{"trust names the user", alice.sts, direct, 0, "", ""},
		{"not trusted", dave.sts, direct, 0, "AccessDenied", denied(dave.arn, direct)},
		{"trusted account, identity policy allows", carol.sts, delegated, 0, "", ""},
		{"trusted account, no identity policy", dave.sts, delegated, 0, "AccessDenied", denied(dave.arn, delegated)},
		{"trusted account, named user has no identity policy", alice.sts, delegated, 0, "AccessDenied", denied(alice.arn, delegated)},
		{"identity policy is not enough", carol.sts, direct, 0, "AccessDenied", denied(carol.arn, direct)},
		{"no such role", alice.sts, "arn:aws:iam::" + account + ":role/none", 0, "AccessDenied", denied(alice.arn, "arn:aws:iam::"+account+":role/none")},
		{"root", e.rootS, direct, 0, "AccessDenied", "Roles may not be assumed by root accounts."},
		{"longer than the role allows", alice.sts, direct, 7200, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"too short", alice.sts, direct, 60, "ValidationError", "1 validation error detected: Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &sts.AssumeRoleInput{RoleArn: aws.String(c.role), RoleSessionName: aws.String("s1")}
			if c.dur != 0 {
				in.DurationSeconds = aws.Int32(c.dur)
			}
			out, err := c.client.AssumeRole(ctx, in)
			if c.code != "" {
				wantErr(t, err, c.code, 0, c.msg)
				return
			}
			must(t, err)
			if id := aws.ToString(out.Credentials.AccessKeyId); len(id) != 20 || !strings.HasPrefix(id, "ASIA") {
				t.Fatalf("temporary key %q", id)
			}
			if out.Credentials.SessionToken == nil || len(aws.ToString(out.Credentials.SecretAccessKey)) != 40 {
				t.Fatalf("credentials %+v", out.Credentials)
			}
			if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 59*time.Minute || d > 61*time.Minute {
				t.Fatalf("expires in %v", d)
			}
			roleName := c.role[strings.LastIndexByte(c.role, '/')+1:]
			if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::"+account+":assumed-role/"+roleName+"/s1"; got != want {
				t.Fatalf("assumed role ARN %s, want %s", got, want)
			}
			if !strings.HasPrefix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), "AROA") || !strings.HasSuffix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), ":s1") {
				t.Fatalf("assumed role id %q", aws.ToString(out.AssumedRoleUser.AssumedRoleId))
			}
		})
	}

	// A session acts with the role's policies.
	out, err := alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("work")})
	must(t, err)
	sIAM, sSTS := sessionClients(e, out.Credentials)
	who, err := sSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
	if aws.ToString(who.Arn) != "arn:aws:sts::"+account+":assumed-role/direct/work" || aws.ToString(who.Account) != account ||
		aws.ToString(who.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Fatalf("caller identity %+v", who)
	}
	_, err = sIAM.ListUsers(ctx, &awsiam.ListUsersInput{})
	must(t, err)
	_, err = sIAM.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("x")})
	wantErr(t, err, "AccessDenied", 403, "User: arn:aws:sts::"+account+":assumed-role/direct/work is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+account+
		":user/x because no identity-based policy allows the iam:CreateUser action")
	_, err = sIAM.GetUser(ctx, &awsiam.GetUserInput{})
	wantErr(t, err, "ValidationError", 400, "Must specify userName when calling with non-User credentials")

	// A session policy narrows the role's permissions to their intersection.
	narrow, err := alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("narrow"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetRole","iam:CreateUser"],"Resource":"*"}]}`)})
	must(t, err)
	nIAM, _ := sessionClients(e, narrow.Credentials)
	_, err = nIAM.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("direct")})
	must(t, err) // both allow
	_, err = nIAM.ListUsers(ctx, &awsiam.ListUsersInput{})
	wantErr(t, err, "AccessDenied", 403, "User: arn:aws:sts::"+account+":assumed-role/direct/narrow is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::"+account+
		":user/ because no session policy allows the iam:ListUsers action")
	_, err = nIAM.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("x")})
	wantErr(t, err, "AccessDenied", 403, "User: arn:aws:sts::"+account+":assumed-role/direct/narrow is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+account+
		":user/x because no identity-based policy allows the iam:CreateUser action")
	_, err = alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("bad"), Policy: aws.String(`{"Statement":`)})
	wantErr(t, err, "MalformedPolicyDocument", 400, "")

	// Role chaining: a session of "direct" assumes "chained" (whose trust
	// policy names the role), for at most one hour.
	_, err = sSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(chained), RoleSessionName: aws.String("chain"), DurationSeconds: aws.Int32(7200)})
	wantErr(t, err, "ValidationError", 400, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	ch, err := sSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(chained), RoleSessionName: aws.String("chain")})
	must(t, err)
	if aws.ToString(ch.AssumedRoleUser.Arn) != "arn:aws:sts::"+account+":assumed-role/chained/chain" {
		t.Fatalf("chained %+v", ch.AssumedRoleUser)
	}
	// The narrowed session's policy does not allow sts:AssumeRole: a trust
	// policy naming the role does not lift the session policy's limit.
	_, nSTS := sessionClients(e, narrow.Credentials)
	_, err = nSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(chained), RoleSessionName: aws.String("chain")})
	wantErr(t, err, "AccessDenied", 403, denied("arn:aws:sts::"+account+":assumed-role/direct/narrow", chained))

	// An explicit deny in the caller's policies wins over the trust policy.
	_, err = e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("no"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}`)})
	must(t, err)
	_, err = alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(direct), RoleSessionName: aws.String("s2")})
	wantErr(t, err, "AccessDenied", 403, denied(alice.arn, direct))

	// Deleting the role leaves its sessions without permissions.
	for _, n := range []string{"p0"} {
		_, err = e.root.DeleteRolePolicy(ctx, &awsiam.DeleteRolePolicyInput{RoleName: aws.String("direct"), PolicyName: aws.String(n)})
		must(t, err)
	}
	_, err = e.root.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("direct")})
	must(t, err)
	_, err = sIAM.ListUsers(ctx, &awsiam.ListUsersInput{})
	wantErr(t, err, "AccessDenied", 403, "")
}

func TestGetSessionToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob := e.user("bob", allow("iam:ListUsers", "*"))

	for _, c := range []struct {
		dur int32
		msg string
	}{
		{100, "1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{200000, "1 validation error detected: Value '200000' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600"},
	} {
		_, err := bob.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(c.dur)})
		wantErr(t, err, "ValidationError", 400, c.msg)
	}

	out, err := bob.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	must(t, err)
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 11*time.Hour+59*time.Minute || d > 12*time.Hour+time.Minute {
		t.Fatalf("default duration: expires in %v", d)
	}
	if !strings.HasPrefix(aws.ToString(out.Credentials.AccessKeyId), "ASIA") {
		t.Fatalf("key %q", aws.ToString(out.Credentials.AccessKeyId))
	}
	sIAM, sSTS := sessionClients(e, out.Credentials)
	who, err := sSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
	if aws.ToString(who.Arn) != bob.arn {
		t.Fatalf("session identity %+v", who)
	}
	// Without MFA, GetSessionToken credentials cannot call IAM, nor ask for
	// another session.
	_, err = sIAM.ListUsers(ctx, &awsiam.ListUsersInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, "")
	_, err = sSTS.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	wantErr(t, err, "AccessDenied", 403, "Cannot call GetSessionToken with session credentials")

	// A wrong token is refused.
	bad := e.sts(aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), "forged")
	_, err = bad.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, "")

	// The root's sessions last an hour at most.
	root, err := e.rootS.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	must(t, err)
	if d := time.Until(aws.ToTime(root.Credentials.Expiration)); d > time.Hour+time.Minute {
		t.Fatalf("root session expires in %v", d)
	}
}

func TestExpiredCredentials(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob := e.user("bob")
	out, err := bob.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	must(t, err)
	_, sSTS := sessionClients(e, out.Credentials)
	_, err = sSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}) // cached now
	must(t, err)

	roleARN := e.role("r", trust(bob.arn), 0)
	ar, err := bob.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s0"), DurationSeconds: aws.Int32(900)})
	must(t, err)
	_, rSTS := sessionClients(e, ar.Credentials)

	e.clock.Advance(15*time.Minute + time.Second)
	for name, c := range map[string]*sts.Client{"session token": sSTS, "assumed role": rSTS} {
		t.Run(name, func(t *testing.T) {
			_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			wantErr(t, err, "ExpiredToken", 403, "The security token included in the request is expired")
		})
	}
	// Long-term keys are unaffected.
	_, err = bob.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
}

// A service principal (API Gateway, for an integration's credentials)
// assumes a role only when the role's trust policy names the service; the
// session's keys then sign as the role.
func TestAssumeRoleForService(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	serviceTrust := func(svc string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + svc + `"},"Action":"sts:AssumeRole"}]}`
	}
	apigwRole := e.role("apigw-dynamodb", serviceTrust("apigateway.amazonaws.com"), 0)
	lambdaRole := e.role("lambda-exec", serviceTrust("lambda.amazonaws.com"), 0)
	userRole := e.role("for-users", trust(account), 0)
	denyRole := e.role("denied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}`, 0)

	ss, err := e.svc.AssumeRoleForService(ctx, apigwRole, "apigateway.amazonaws.com", "BackplaneAssumeRoleSession")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ss.AccessKeyID, "ASIA") || ss.SecretAccessKey == "" || ss.SessionToken == "" || ss.Expires.Before(e.clock.Now().Add(50*time.Minute)) {
		t.Errorf("session %+v", ss)
	}
	_, s := sessionClients(e, &ststypes.Credentials{AccessKeyId: &ss.AccessKeyID, SecretAccessKey: &ss.SecretAccessKey, SessionToken: &ss.SessionToken})
	who, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sts::" + account + ":assumed-role/apigw-dynamodb/BackplaneAssumeRoleSession"; aws.ToString(who.Arn) != want {
		t.Errorf("the session is %s, want %s", aws.ToString(who.Arn), want)
	}

	for _, role := range []string{lambdaRole, userRole, denyRole, "arn:aws:iam::" + account + ":role/none", "arn:aws:iam::999999999999:role/apigw-dynamodb", "not an arn"} {
		if _, err := e.svc.AssumeRoleForService(ctx, role, "apigateway.amazonaws.com", "BackplaneAssumeRoleSession"); err == nil ||
			!strings.Contains(err.Error(), "not authorized to perform: sts:AssumeRole") {
			t.Errorf("%s: got %v", role, err)
		}
	}
}
