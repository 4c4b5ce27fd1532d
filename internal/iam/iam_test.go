package iam_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bob"), Path: aws.String("/eng/"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("api")}}})
	must(t, err)
	u := out.User
	if got, want := aws.ToString(u.Arn), "arn:aws:iam::"+account+":user/eng/bob"; got != want {
		t.Fatalf("arn %s, want %s", got, want)
	}
	if id := aws.ToString(u.UserId); len(id) != 21 || !strings.HasPrefix(id, "AIDA") {
		t.Fatalf("user id %q", id)
	}
	if aws.ToString(u.Path) != "/eng/" || u.CreateDate == nil || len(u.Tags) != 1 {
		t.Fatalf("user %+v", u)
	}

	got, err := e.root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("bob")})
	must(t, err)
	if aws.ToString(got.User.UserId) != aws.ToString(u.UserId) || aws.ToString(got.User.Arn) != aws.ToString(u.Arn) {
		t.Fatalf("get user %+v", got.User)
	}
	me, err := e.root.GetUser(ctx, &awsiam.GetUserInput{})
	must(t, err)
	if aws.ToString(me.User.Arn) != "arn:aws:iam::"+account+":root" || aws.ToString(me.User.UserId) != account {
		t.Fatalf("root GetUser %+v", me.User)
	}

	_, err = e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("carol")})
	must(t, err)
	list, err := e.root.ListUsers(ctx, &awsiam.ListUsersInput{})
	must(t, err)
	if len(list.Users) != 2 || aws.ToString(list.Users[0].UserName) != "bob" || list.IsTruncated {
		t.Fatalf("list users %+v", list.Users)
	}
	list, err = e.root.ListUsers(ctx, &awsiam.ListUsersInput{PathPrefix: aws.String("/eng/")})
	must(t, err)
	if len(list.Users) != 1 {
		t.Fatalf("list /eng/ users: %d", len(list.Users))
	}
	page1, err := e.root.ListUsers(ctx, &awsiam.ListUsersInput{MaxItems: aws.Int32(1)})
	must(t, err)
	if !page1.IsTruncated || page1.Marker == nil || len(page1.Users) != 1 {
		t.Fatalf("page 1: %+v", page1)
	}
	page2, err := e.root.ListUsers(ctx, &awsiam.ListUsersInput{MaxItems: aws.Int32(1), Marker: page1.Marker})
	must(t, err)
	if page2.IsTruncated || len(page2.Users) != 1 || aws.ToString(page2.Users[0].UserName) != "carol" {
		t.Fatalf("page 2: %+v", page2)
	}

	// Errors, with AWS's codes, statuses and texts.
	errCases := []struct {
		name   string
		call   func() error
		code   string
		status int
		msg    string
	}{
		{"create existing", func() error {
			_, err := e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bob")})
			return err
		}, "EntityAlreadyExists", 409, "User with name bob already exists."},
		{"names ignore case", func() error {
			_, err := e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("BOB")})
			return err
		}, "EntityAlreadyExists", 409, "User with name BOB already exists."},
		{"get missing", func() error {
			_, err := e.root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alice")})
			return err
		}, "NoSuchEntity", 404, "The user with name alice cannot be found."},
		{"delete missing", func() error {
			_, err := e.root.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("alice")})
			return err
		}, "NoSuchEntity", 404, "The user with name alice cannot be found."},
		{"bad name", func() error {
			_, err := e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bad name")})
			return err
		}, "ValidationError", 400, `1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"bad path", func() error {
			_, err := e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("dan"), Path: aws.String("eng")})
			return err
		}, "ValidationError", 400, ""},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.call(), c.code, c.status, c.msg) })
	}

	// A user with keys or policies cannot be deleted.
	k, err := e.root.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("bob")})
	must(t, err)
	_, err = e.root.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("bob")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete access keys first.")
	_, err = e.root.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: k.AccessKey.AccessKeyId})
	must(t, err)
	_, err = e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(allow("iam:GetUser", "*"))})
	must(t, err)
	_, err = e.root.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("bob")})
	wantErr(t, err, "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
	_, err = e.root.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p")})
	must(t, err)
	_, err = e.root.DeleteUser(ctx, &awsiam.DeleteUserInput{UserName: aws.String("bob")})
	must(t, err)
	_, err = e.root.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("bob")})
	wantErr(t, err, "NoSuchEntity", 404, "The user with name bob cannot be found.")
}

func TestQueryProtocol(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name       string
		service    string
		form       url.Values
		status     int
		contains   []string
		notContain []string
	}{
		{"result shape", "iam", url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"}, "UserName": {"zed"}}, 200,
			[]string{`<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`, `<CreateUserResult><User>`,
				`<UserName>zed</UserName>`, `<Arn>arn:aws:iam::123456789012:user/zed</Arn>`, `<ResponseMetadata><RequestId>`}, nil},
		{"empty result", "iam", url.Values{"Action": {"DeleteUser"}, "Version": {"2010-05-08"}, "UserName": {"zed"}}, 200,
			[]string{`<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>`}, []string{"DeleteUserResult"}},
		{"error shape", "iam", url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}, "UserName": {"zed"}}, 404,
			[]string{`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name zed cannot be found.</Message></Error><RequestId>`}, nil},
		{"missing parameter", "iam", url.Values{"Action": {"CreateUser"}, "Version": {"2010-05-08"}}, 400,
			[]string{`<Code>ValidationError</Code>`, `<Message>1 validation error detected: Value null at &#39;userName&#39; failed to satisfy constraint: Member must not be null</Message>`}, nil},
		{"unknown action", "iam", url.Values{"Action": {"Frobnicate"}, "Version": {"2010-05-08"}}, 400,
			[]string{`<Code>InvalidAction</Code>`, `Could not find operation Frobnicate for version 2010-05-08`}, nil},
		{"sts shape", "sts", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, 200,
			[]string{`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`,
				`<Arn>arn:aws:iam::123456789012:root</Arn>`, `<Account>123456789012</Account>`}, nil},
		{"sts error", "sts", url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::123456789012:role/x"}, "RoleSessionName": {"s"}}, 400,
			[]string{`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`, `<Code>ValidationError</Code>`}, nil},
		{"bad signature", "iam", url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}, "X": {"tampered"}}, 403,
			[]string{`<Code>SignatureDoesNotMatch</Code>`}, nil},
		{"unknown key", "iam", url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}, 403,
			[]string{`<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message>`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, secret := rootKeyID, rootSecret
			if c.name == "unknown key" {
				id = "AKIAAAAAAAAAAAAAAAAA"
			}
			r := e.raw(c.service, c.form, id, secret, "")
			if c.name == "bad signature" {
				// Changed after signing.
				body := c.form.Encode() + "&Y=1"
				r.Body = ioNopCloser(body)
				r.ContentLength = int64(len(body))
			}
			status, body := send(t, r)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			for _, s := range c.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %s:\n%s", s, body)
				}
			}
			for _, s := range c.notContain {
				if strings.Contains(body, s) {
					t.Errorf("body has %s:\n%s", s, body)
				}
			}
		})
	}
}
