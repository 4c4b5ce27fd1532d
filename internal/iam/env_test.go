package iam_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/sigv4"
	"github.com/apigw/apigw/internal/store/sqlite"
)

const (
	account    = "123456789012"
	region     = "us-east-1"
	rootKeyID  = "AKIAIOSFODNN7EXAMPLE"
	rootSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// clock is a settable test clock: real time plus an offset.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// env is a Service on a SQLite store in a temporary directory, served by an
// httptest.Server that verifies SigV4 with Service.Lookup as the admin
// listener does.
type env struct {
	t     testing.TB
	dir   string
	svc   *iam.Service
	srv   *httptest.Server
	clock *clock
	root  *awsiam.Client
	rootS *sts.Client
}

func newEnv(t testing.TB) *env {
	return newEnvIn(t, t.TempDir())
}

func newEnvIn(t testing.TB, dir string) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "apigw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := iam.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, clock: &clock{}}
	e.svc = &iam.Service{
		Store: st, AccountID: account, Region: region, Key: key, Now: e.clock.Now,
		RootAccessKeyID: rootKeyID, RootSecret: rootSecret,
	}
	verifier := &sigv4.Verifier{Lookup: e.svc.Lookup}
	iamH, stsH := e.svc.IAMHandler(nil), e.svc.STSHandler(nil)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			iam.WriteError(w, "iam", err)
			return
		}
		service := "iam"
		if sc, err := sigv4.ParseScope(r); err == nil {
			service = sc.Service
		}
		res, err := verifier.Verify(r.Context(), r, body)
		if err != nil {
			var se *sigv4.Error
			if errors.As(err, &se) {
				iam.WriteAuthError(w, service, se)
				return
			}
			iam.WriteError(w, service, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r = r.WithContext(iam.WithPrincipal(r.Context(), res.Credential.Principal.(*iam.Principal)))
		if res.Service == "sts" {
			stsH.ServeHTTP(w, r)
			return
		}
		iamH.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.root = e.iam(rootKeyID, rootSecret, "")
	e.rootS = e.sts(rootKeyID, rootSecret, "")
	return e
}

func (e *env) iam(id, secret, token string) *awsiam.Client {
	return awsiam.New(awsiam.Options{
		Region:           region,
		BaseEndpoint:     aws.String(e.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		RetryMaxAttempts: 1,
	})
}

func (e *env) sts(id, secret, token string) *sts.Client {
	return sts.New(sts.Options{
		Region:           region,
		BaseEndpoint:     aws.String(e.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, token),
		RetryMaxAttempts: 1,
	})
}

// raw signs a Query request for service with the given credentials and
// returns it unsent.
func (e *env) raw(service string, form url.Values, id, secret, token string) *http.Request {
	e.t.Helper()
	body := form.Encode()
	r, err := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token},
		r, hex.EncodeToString(sum[:]), service, region, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func send(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// user creates an IAM user with an access key and returns its clients.
type userCreds struct {
	name, id, secret, arn string
	iam                   *awsiam.Client
	sts                   *sts.Client
}

func (e *env) user(name string, policies ...string) *userCreds {
	e.t.Helper()
	ctx := context.Background()
	out, err := e.root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	for i, p := range policies {
		if _, err := e.root.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{
			UserName: aws.String(name), PolicyName: aws.String("p" + string(rune('0'+i))), PolicyDocument: aws.String(p),
		}); err != nil {
			e.t.Fatalf("put policy of %s: %v", name, err)
		}
	}
	k, err := e.root.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		e.t.Fatalf("create key of %s: %v", name, err)
	}
	id, secret := aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)
	return &userCreds{name: name, id: id, secret: secret, arn: aws.ToString(out.User.Arn),
		iam: e.iam(id, secret, ""), sts: e.sts(id, secret, "")}
}

// wantErr checks an AWS error's code, HTTP status and (when not empty)
// message.
func wantErr(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got success", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s error, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %q (%s), want %q", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && status != 0 && re.HTTPStatusCode() != status {
		t.Fatalf("%s: status %d, want %d", code, re.HTTPStatusCode(), status)
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("%s message:\n got %q\nwant %q", code, ae.ErrorMessage(), msg)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func allow(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

func ioNopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
