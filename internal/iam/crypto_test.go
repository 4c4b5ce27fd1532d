package iam_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/sigv4"
)

// Secrets never reach the database in plain text: not the secret access
// keys, nor the secrets and tokens of sessions.
func TestSecretsEncryptedAtRest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob := e.user("bob")
	sess, err := bob.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	must(t, err)
	roleARN := e.role("r", trust(bob.arn), 0)
	ar, err := bob.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s0")})
	must(t, err)

	var db []byte
	files, _ := filepath.Glob(filepath.Join(e.dir, "apigw.db*")) // the database, its WAL and shared memory
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		db = append(db, b...)
	}
	if !bytes.Contains(db, []byte(bob.id)) || !bytes.Contains(db, []byte(aws.ToString(ar.Credentials.AccessKeyId))) {
		t.Fatal("the access key ids are not in the database files: not reading the right files")
	}
	for name, secret := range map[string]string{
		"user secret":            bob.secret,
		"session secret":         aws.ToString(sess.Credentials.SecretAccessKey),
		"session token":          aws.ToString(sess.Credentials.SessionToken),
		"assumed role secret":    aws.ToString(ar.Credentials.SecretAccessKey),
		"assumed role token":     aws.ToString(ar.Credentials.SessionToken),
		"user secret, base64":    base64.StdEncoding.EncodeToString([]byte(bob.secret)),
		"session token, base64":  base64.StdEncoding.EncodeToString([]byte(aws.ToString(sess.Credentials.SessionToken))),
		"assumed secret, base64": base64.StdEncoding.EncodeToString([]byte(aws.ToString(ar.Credentials.SecretAccessKey))),
	} {
		if bytes.Contains(db, []byte(secret)) {
			t.Errorf("%s found in plain text in the database", name)
		}
	}

	// With another master key the secrets cannot be read: the keys fail
	// (as an internal error, not as an unknown key).
	other := &iam.Service{Store: e.svc.Store, AccountID: account, Key: bytes.Repeat([]byte{7}, 32)}
	if _, err := other.Lookup(ctx, bob.id); err == nil || err == sigv4.ErrUnknownKey {
		t.Fatalf("lookup under a wrong master key: %v", err)
	}
	cred, err := e.svc.Lookup(ctx, bob.id)
	must(t, err)
	if cred.SecretAccessKey != bob.secret {
		t.Fatal("decrypted secret differs")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	t.Setenv(iam.MasterKeyEnv, "")
	dir := t.TempDir()
	k1, err := iam.LoadOrCreateKey(dir)
	must(t, err)
	if len(k1) != 32 {
		t.Fatalf("key of %d bytes", len(k1))
	}
	fi, err := os.Stat(filepath.Join(dir, "master.key"))
	must(t, err)
	if fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("master.key mode %v size %d", fi.Mode().Perm(), fi.Size())
	}
	k2, err := iam.LoadOrCreateKey(dir)
	must(t, err)
	if !bytes.Equal(k1, k2) {
		t.Fatal("the key changed between loads")
	}

	// A missing data directory is created.
	sub := filepath.Join(t.TempDir(), "a", "b")
	if _, err := iam.LoadOrCreateKey(sub); err != nil {
		t.Fatal(err)
	}

	envKey := bytes.Repeat([]byte{0x42}, 32)
	cases := []struct {
		name    string
		env     string
		file    []byte // written to a fresh dir's master.key when set
		want    []byte
		wantErr string
	}{
		{"environment wins", base64.StdEncoding.EncodeToString(envKey), k1, envKey, ""},
		{"environment url base64", base64.RawURLEncoding.EncodeToString(envKey), nil, envKey, ""},
		{"environment too short", base64.StdEncoding.EncodeToString([]byte("short")), nil, nil, "must be 32 bytes"},
		{"environment not base64", "!!!", nil, nil, "not valid base64"},
		{"file in base64", "", []byte(base64.StdEncoding.EncodeToString(envKey) + "\n"), envKey, ""},
		{"file of the wrong size", "", []byte("0123456789"), nil, "master key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(iam.MasterKeyEnv, c.env)
			d := t.TempDir()
			if c.file != nil {
				must(t, os.WriteFile(filepath.Join(d, "master.key"), c.file, 0o600))
			}
			k, err := iam.LoadOrCreateKey(d)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			must(t, err)
			if !bytes.Equal(k, c.want) {
				t.Fatalf("key %x, want %x", k, c.want)
			}
			if c.env != "" && c.file == nil {
				if _, err := os.Stat(filepath.Join(d, "master.key")); !os.IsNotExist(err) {
					t.Fatal("a key file was written although the environment gave the key")
				}
			}
		})
	}
}

func TestSealSecret(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	sealed, err := iam.SealSecret(key, "s3cret", "meta/root")
	must(t, err)
	if bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatal("plain text in the sealed secret")
	}
	got, err := iam.OpenSecret(key, sealed, "meta/root")
	if err != nil || got != "s3cret" {
		t.Fatalf("open: %q, %v", got, err)
	}
	for name, try := range map[string]func() (string, error){
		"other record": func() (string, error) { return iam.OpenSecret(key, sealed, "meta/other") },
		"other key":    func() (string, error) { return iam.OpenSecret(bytes.Repeat([]byte{2}, 32), sealed, "meta/root") },
		"truncated":    func() (string, error) { return iam.OpenSecret(key, sealed[:10], "meta/root") },
		"short key":    func() (string, error) { return iam.OpenSecret(key[:16], sealed, "meta/root") },
	} {
		if _, err := try(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}
