package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/store/sqlite"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

func testARN(name string) string {
	return "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:" + name
}

// fakeRunner echoes the payload; a payload containing "fail" makes the
// function fail as an unhandled exception would.
type fakeRunner struct {
	mu      sync.Mutex
	calls   []fakeCall
	dropped []string
	prefix  string // prepended to echoed payloads
}

type fakeCall struct {
	fn            Function
	requestID     string
	payload       string
	deadline      time.Time
	clientContext string
	files         []string // what CodeDir held
}

func (f *fakeRunner) Invoke(_ context.Context, fn *Function, id string, payload []byte, deadline time.Time, cc string) (*RunResult, error) {
	var files []string
	filepath.WalkDir(fn.CodeDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(fn.CodeDir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{*fn, id, string(payload), deadline, cc, files})
	f.mu.Unlock()
	log := []byte("hello from " + fn.Name + "\n")
	if bytes.Contains(payload, []byte("fail")) {
		return &RunResult{Payload: []byte(`{"errorMessage":"boom","errorType":"Exception"}`), FunctionError: "Unhandled", Log: log}, nil
	}
	return &RunResult{Payload: append([]byte(f.prefix), payload...), Log: log}, nil
}

func (f *fakeRunner) Drop(arn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropped = append(f.dropped, arn)
}

func (f *fakeRunner) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func (f *fakeRunner) Dropped() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.dropped...)
}

// env is a Service behind an httptest server, with an SDK client.
type env struct {
	svc    *Service
	runner *fakeRunner
	srv    *httptest.Server
	client *lambdasdk.Client
	now    time.Time
}

func rootPrincipal(account string) *iam.Principal {
	return &iam.Principal{Kind: iam.PrincipalRoot, ARN: "arn:aws:iam::" + account + ":root", UserID: account, Name: "root", AccountID: account}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "apigw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{runner: &fakeRunner{}, now: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)}
	e.svc = &Service{Store: st, AccountID: testAccount, Region: testRegion, Runner: e.runner, DataDir: t.TempDir(),
		Now: func() time.Time { return e.now }}
	h := e.svc.Handler()
	root := rootPrincipal(testAccount)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(iam.WithPrincipal(r.Context(), root)))
	}))
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.svc.Wait)
	e.client = sdkClient(e.srv, testRegion, "AKIDEXAMPLE", "secret")
	return e
}

func sdkClient(srv *httptest.Server, region, akid, secret string) *lambdasdk.Client {
	return lambdasdk.New(lambdasdk.Options{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, ""),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

type zipEntry struct {
	name string
	body string
	mode fs.FileMode
}

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const pythonHandler = `def lambda_handler(event, context):
    return {"statusCode": 200, "body": "Hello from 5minslearn!"}
`

func pythonZip(t testing.TB) []byte {
	return makeZip(t, zipEntry{name: "lambda_function.py", body: pythonHandler, mode: 0o644})
}

func (e *env) create(t *testing.T, name string, mod ...func(*lambdasdk.CreateFunctionInput)) *lambdasdk.CreateFunctionOutput {
	t.Helper()
	in := &lambdasdk.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      "python3.12",
		Role:         aws.String("arn:aws:iam::" + testAccount + ":role/lambda-exec"),
		Handler:      aws.String("lambda_function.lambda_handler"),
	}
	in.Code = codeOf(pythonZip(t))
	for _, m := range mod {
		m(in)
	}
	out, err := e.client.CreateFunction(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return out
}

// apiError unpacks an SDK error into its code, message and HTTP status.
func apiError(err error) (code, msg string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s || strings.HasPrefix(v, s) {
			return true
		}
	}
	return false
}
