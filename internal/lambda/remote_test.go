package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/sigv4"
	"github.com/apigw/apigw/internal/store/sqlite"
)

const (
	remoteAccount = "111122223333"
	remoteRegion  = "eu-west-1"
	remoteKey     = "AKIAREMOTEEXAMPLE123"
	remoteSecret  = "remote/secret/key"
)

// remoteLambda is a second Lambda service, reached over HTTP with SigV4
// verified by internal/sigv4.
type remoteLambda struct {
	svc    *Service
	runner *fakeRunner
	srv    *httptest.Server
	mu     sync.Mutex
	scopes []string // service/region of each verified call
}

func newRemote(t *testing.T) *remoteLambda {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "remote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rl := &remoteLambda{runner: &fakeRunner{prefix: "remote:"}}
	rl.svc = &Service{Store: st, AccountID: remoteAccount, Region: remoteRegion, Runner: rl.runner, DataDir: t.TempDir()}
	t.Cleanup(rl.svc.Wait)
	root := rootPrincipal(remoteAccount)
	v := &sigv4.Verifier{Lookup: func(_ context.Context, id string) (sigv4.Credential, error) {
		if id != remoteKey {
			return sigv4.Credential{}, sigv4.ErrUnknownKey
		}
		return sigv4.Credential{AccessKeyID: id, SecretAccessKey: remoteSecret, Principal: root}, nil
	}}
	h := rl.svc.Handler()
	rl.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, err := v.Verify(r.Context(), r, body)
		if err != nil {
			var se *sigv4.Error
			if !errors.As(err, &se) {
				WriteError(w, errInternal)
				return
			}
			WriteError(w, &Error{Status: se.Status, Type: se.Code, Message: se.Message})
			return
		}
		rl.mu.Lock()
		rl.scopes = append(rl.scopes, res.Service+"/"+res.Region)
		rl.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r.WithContext(iam.WithPrincipal(r.Context(), root)))
	}))
	t.Cleanup(rl.srv.Close)
	// Its function, created through the real SDK client (signed).
	client := sdkClient(rl.srv, remoteRegion, remoteKey, remoteSecret)
	if _, err := client.CreateFunction(context.Background(), &lambdasdk.CreateFunctionInput{
		FunctionName: aws.String("remote-fn"), Runtime: "nodejs20.x", Role: aws.String("arn:aws:iam::" + remoteAccount + ":role/r"),
		Handler: aws.String("index.handler"), Code: codeOf(makeZip(t, zipEntry{name: "index.js", body: "exports.handler = async e => e;"})),
	}); err != nil {
		t.Fatalf("CreateFunction on the remote: %v", err)
	}
	return rl
}

func remoteARN(name string) string {
	return "arn:aws:lambda:" + remoteRegion + ":" + remoteAccount + ":function:" + name
}

func TestRemoteInvoke(t *testing.T) {
	rl := newRemote(t)
	e := newEnv(t)
	e.svc.HTTPClient = rl.srv.Client()
	e.svc.Remote = map[string]RemoteEndpoint{
		"arn:aws:lambda:eu-west-1:111122223333:function:": {URL: rl.srv.URL, Credentials: credentials.NewStaticCredentialsProvider(remoteKey, remoteSecret, "")},
	}
	ctx := context.Background()
	tests := []struct {
		name    string
		req     InvokeRequest
		status  int
		payload string
		funcErr string
		tail    bool
		errType string
		errMsg  string
	}{
		{"request response", InvokeRequest{FunctionName: remoteARN("remote-fn"), Payload: []byte(`{"q":1}`)}, 200, `remote:{"q":1}`, "", false, "", ""},
		{"tail", InvokeRequest{FunctionName: remoteARN("remote-fn"), Payload: []byte(`2`), LogType: LogTail}, 200, `remote:2`, "", true, "", ""},
		{"function error", InvokeRequest{FunctionName: remoteARN("remote-fn"), Payload: []byte(`"fail"`)}, 200,
			`{"errorMessage":"boom","errorType":"Exception"}`, "Unhandled", false, "", ""},
		{"qualifier", InvokeRequest{FunctionName: remoteARN("remote-fn"), Qualifier: "$LATEST", Payload: []byte(`3`)}, 200, `remote:3`, "", false, "", ""},
		{"event", InvokeRequest{FunctionName: remoteARN("remote-fn"), InvocationType: Event, Payload: []byte(`4`)}, 202, ``, "", false, "", ""},
		{"gateway principal", InvokeRequest{FunctionName: remoteARN("remote-fn"), Payload: []byte(`5`), Principal: "apigateway.amazonaws.com",
			SourceARN: "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/x"}, 200, `remote:5`, "", false, "", ""},
		{"missing", InvokeRequest{FunctionName: remoteARN("ghost")}, 404, "", "", false, ResourceNotFound,
			"Function not found: arn:aws:lambda:eu-west-1:111122223333:function:ghost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.svc.Invoke(ctx, &tt.req)
			if tt.errType != "" {
				var le *Error
				if !errors.As(err, &le) || le.Status != tt.status || le.Type != tt.errType || le.Message != tt.errMsg {
					t.Fatalf("got %v, want %s %d %q", err, tt.errType, tt.status, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || string(res.Payload) != tt.payload || res.FunctionError != tt.funcErr {
				t.Errorf("got %d %q %q", res.StatusCode, res.Payload, res.FunctionError)
			}
			if tt.status == 200 && res.ExecutedVersion != "$LATEST" {
				t.Errorf("ExecutedVersion %q", res.ExecutedVersion)
			}
			if tt.tail {
				log, _ := base64.StdEncoding.DecodeString(res.LogResult)
				if !strings.Contains(string(log), "hello from remote-fn") {
					t.Errorf("log %q", log)
				}
			}
		})
	}
	rl.svc.Wait()
	if len(e.runner.Calls()) != 0 {
		t.Error("a remote function ran locally")
	}
	if n := len(rl.runner.Calls()); n != 6 {
		t.Errorf("remote runner called %d times, want 6", n)
	}
	rl.mu.Lock()
	for _, s := range rl.scopes {
		if s != "lambda/eu-west-1" {
			t.Errorf("a call was signed for %s", s)
		}
	}
	rl.mu.Unlock()

	// Through the local Invoke API, with the ARN as the function name.
	out, err := e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String(remoteARN("remote-fn")), Payload: []byte(`"api"`), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Payload) != `remote:"api"` || out.LogResult == nil || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Errorf("API invoke of a remote function: %q", out.Payload)
	}

	// Wrong credentials: the remote's signature check refuses the call.
	e.svc.Remote = map[string]RemoteEndpoint{
		remoteARN("remote-fn"): {URL: rl.srv.URL, Region: remoteRegion, Credentials: credentials.NewStaticCredentialsProvider(remoteKey, "wrong", "")},
	}
	_, err = e.svc.Invoke(ctx, &InvokeRequest{FunctionName: remoteARN("remote-fn")})
	var le *Error
	if !errors.As(err, &le) || le.Status != http.StatusForbidden || le.Type != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestRemoteFor(t *testing.T) {
	s := &Service{AccountID: testAccount, Region: testRegion, Remote: map[string]RemoteEndpoint{
		"arn:aws:lambda:eu-west-1:111122223333:function:":          {URL: "prefix"},
		"arn:aws:lambda:eu-west-1:111122223333:function:special":   {URL: "exact"},
		"arn:aws:lambda:eu-west-1:111122223333:function:spec*":     {URL: "name prefix"},
		"arn:aws:lambda:us-east-1:123456789012:function:proxied-*": {URL: "local prefix"},
	}}
	tests := []struct{ name, qualifier, want string }{
		{remoteARN("anything"), "", "prefix"},
		{remoteARN("special"), "", "exact"},
		{remoteARN("special") + ":3", "", "exact"},
		{remoteARN("special"), "$LATEST", "exact"},
		{remoteARN("specialist"), "", "name prefix"},
		{remoteARN("spe"), "", "prefix"},
		{"proxied-one", "", "local prefix"},
		{"local", "", ""},
		{"arn:aws:lambda:eu-west-1:999999999999:function:x", "", ""},
	}
	for _, tt := range tests {
		ep, ok := s.remoteFor(tt.name, tt.qualifier)
		if ep.URL != tt.want || ok != (tt.want != "") {
			t.Errorf("remoteFor(%q, %q) = %q %v, want %q", tt.name, tt.qualifier, ep.URL, ok, tt.want)
		}
	}
}
