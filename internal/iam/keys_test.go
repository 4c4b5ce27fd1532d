package iam_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/apigw/apigw/internal/sigv4"
)

const msgInvalidToken = "The security token included in the request is invalid."

func TestAccessKeyLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob := e.user("bob", allow("iam:GetUser", "arn:aws:iam::"+account+":user/${aws:username}"))

	if len(bob.id) != 20 || !strings.HasPrefix(bob.id, "AKIA") || len(bob.secret) != 40 {
		t.Fatalf("key %q secret %q", bob.id, bob.secret)
	}
	k2, err := e.root.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("bob")})
	must(t, err)
	_, err = e.root.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("bob")})
	wantErr(t, err, "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")

	list, err := e.root.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String("bob")})
	must(t, err)
	if len(list.AccessKeyMetadata) != 2 {
		t.Fatalf("keys: %+v", list.AccessKeyMetadata)
	}
	for _, m := range list.AccessKeyMetadata {
		if m.Status != types.StatusTypeActive || aws.ToString(m.UserName) != "bob" {
			t.Fatalf("key %+v", m)
		}
	}

	// The user signs with its key: GetUser with no name is the caller.
	me, err := bob.iam.GetUser(ctx, &awsiam.GetUserInput{})
	must(t, err)
	if aws.ToString(me.User.UserName) != "bob" {
		t.Fatalf("GetUser as bob: %+v", me.User)
	}
	// Its own keys, without a user name.
	_, err = bob.iam.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{})
	wantErr(t, err, "AccessDenied", 403, "User: "+bob.arn+" is not authorized to perform: iam:ListAccessKeys on resource: "+bob.arn+
		" because no identity-based policy allows the iam:ListAccessKeys action")

	steps := []struct {
		name   string
		status types.StatusType
		code   string // of bob's next call; "" = success
	}{
		{"deactivate", types.StatusTypeInactive, "InvalidClientTokenId"},
		{"reactivate", types.StatusTypeActive, ""},
		{"deactivate again", types.StatusTypeInactive, "InvalidClientTokenId"},
		{"active", types.StatusTypeActive, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			_, err := e.root.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(bob.id), Status: s.status})
			must(t, err)
			_, err = bob.iam.GetUser(ctx, &awsiam.GetUserInput{})
			if s.code == "" {
				must(t, err)
				return
			}
			wantErr(t, err, s.code, 403, msgInvalidToken)
		})
	}

	// A request signed while the key was active, sent after it was
	// deactivated, is refused.
	form := url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}}
	signed := e.raw("iam", form, bob.id, bob.secret, "")
	_, err = e.root.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(bob.id), Status: types.StatusTypeInactive})
	must(t, err)
	if status, body := send(t, signed); status != 403 || !strings.Contains(body, "<Code>InvalidClientTokenId</Code>") {
		t.Fatalf("signed before deactivation: %d %s", status, body)
	}
	// And the Lookup itself says so.
	if _, err := e.svc.Lookup(ctx, bob.id); err != sigv4.ErrUnknownKey {
		t.Fatalf("lookup of an inactive key: %v", err)
	}

	// Errors naming keys.
	_, err = e.root.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA"), Status: types.StatusTypeActive})
	wantErr(t, err, "NoSuchEntity", 404, "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found.")
	_, err = e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("eve")})
	must(t, err)
	_, err = e.root.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{UserName: aws.String("eve"), AccessKeyId: aws.String(bob.id)})
	wantErr(t, err, "NoSuchEntity", 404, "The Access Key with id "+bob.id+" cannot be found.")
	_, err = e.root.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(bob.id), Status: "Paused"})
	wantErr(t, err, "ValidationError", 400, "1 validation error detected: Value 'Paused' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]")

	// Deleting the second key: it stops working at once.
	k2id, k2secret := aws.ToString(k2.AccessKey.AccessKeyId), aws.ToString(k2.AccessKey.SecretAccessKey)
	second := e.iam(k2id, k2secret, "")
	_, err = second.GetUser(ctx, &awsiam.GetUserInput{})
	must(t, err)
	_, err = e.root.DeleteAccessKey(ctx, &awsiam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(k2id)})
	must(t, err)
	_, err = second.GetUser(ctx, &awsiam.GetUserInput{})
	wantErr(t, err, "InvalidClientTokenId", 403, msgInvalidToken)
	list, err = e.root.ListAccessKeys(ctx, &awsiam.ListAccessKeysInput{UserName: aws.String("bob")})
	must(t, err)
	if len(list.AccessKeyMetadata) != 1 || list.AccessKeyMetadata[0].Status != types.StatusTypeInactive {
		t.Fatalf("keys after delete: %+v", list.AccessKeyMetadata)
	}
}

// A key deactivated by another process sharing the store (another apigw
// node) is refused once Run has seen the change.
func TestRunFollowsOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	a := newEnvIn(t, dir)
	b := newEnvIn(t, dir) // a second Store on the same file: another node
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.svc.Run(ctx) }()

	bob := a.user("bob", allow("iam:GetUser", "*"))
	viaA := a.iam(bob.id, bob.secret, "")
	_, err := viaA.GetUser(ctx, &awsiam.GetUserInput{}) // cached in a now
	must(t, err)

	_, err = b.root.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(bob.id), Status: types.StatusTypeInactive})
	must(t, err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = viaA.GetUser(ctx, &awsiam.GetUserInput{})
		if err != nil {
			wantErr(t, err, "InvalidClientTokenId", 403, msgInvalidToken)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node a still accepts a key deactivated through node b")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Policies changed elsewhere are followed too.
	_, err = b.root.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String(bob.id), Status: types.StatusTypeActive})
	must(t, err)
	_, err = b.root.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p0")})
	must(t, err)
	for {
		// Until a sees both changes, bob may still be refused as inactive.
		_, err = viaA.GetUser(ctx, &awsiam.GetUserInput{})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node a still applies a policy deleted through node b")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
