// Package apigwtest starts real apigw servers on loopback for end-to-end
// tests, with an aws-sdk-go-v2 apigateway client pointed at them.
package apigwtest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/smithy-go"

	"github.com/apigw/apigw/internal/server"
)

// Root credentials of test instances.
const (
	AccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	Region          = "us-east-1"
)

// Instance is a running apigw.
type Instance struct {
	Server   *server.Server
	DataDir  string
	DataURL  string // http://127.0.0.1:port
	AdminURL string
	Client   *apigateway.Client

	opts   []func(*server.Config)
	cancel context.CancelFunc
	done   chan error
}

// Start runs an apigw on loopback with a fresh data dir. It stops at the end
// of the test. Options adjust the configuration.
func Start(t testing.TB, opts ...func(*server.Config)) *Instance {
	t.Helper()
	return StartIn(t, t.TempDir(), opts...)
}

// StartIn runs an apigw on dataDir, which may hold a previous instance's state.
func StartIn(t testing.TB, dataDir string, opts ...func(*server.Config)) *Instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := server.Config{
		DataDir:             dataDir,
		Listen:              "127.0.0.1:0",
		AdminListen:         "127.0.0.1:0",
		Region:              Region,
		RootAccessKeyID:     AccessKeyID,
		RootSecretAccessKey: SecretAccessKey,
		ShutdownTimeout:     10 * time.Second,
		Out:                 io.Discard,
		Log:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start apigw: %v", err)
	}
	in := &Instance{
		opts:     opts,
		Server:   s,
		DataDir:  dataDir,
		DataURL:  "http://" + s.DataAddr(),
		AdminURL: "http://" + s.AdminAddr(),
		cancel:   cancel,
		done:     make(chan error, 1),
	}
	in.Client = apigateway.New(apigateway.Options{
		Region:           Region,
		BaseEndpoint:     aws.String(in.AdminURL),
		Credentials:      credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		RetryMaxAttempts: 1,
	})
	go func() { in.done <- s.Run(ctx) }()
	t.Cleanup(func() { in.Stop(t) })
	return in
}

// Stop shuts the instance down gracefully and waits for it. Calling it
// twice is harmless.
func (in *Instance) Stop(t testing.TB) {
	t.Helper()
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	select {
	case err := <-in.done:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("apigw stopped with: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("apigw did not stop within 30s")
	}
}

// Restart stops the instance and starts a new one on the same data dir.
func (in *Instance) Restart(t testing.TB) *Instance {
	t.Helper()
	in.Stop(t)
	return StartIn(t, in.DataDir, in.opts...)
}

// InvokeURL is the path-style URL of a stage path.
func (in *Instance) InvokeURL(apiID, stage, path string) string {
	return in.DataURL + "/_aws/execute-api/" + apiID + "/" + stage + path
}

// WaitServing waits until the data plane serves deploymentID on the stage.
// It polls with a deadline; it does not sleep for a fixed time.
func (in *Instance) WaitServing(t testing.TB, apiID, stage, deploymentID string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st := in.Server.Gateway.Stage(apiID, stage); st != nil && (deploymentID == "" || st.Deployment.ID == deploymentID) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stage %s/%s not serving deployment %q within 10s", apiID, stage, deploymentID)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// WantAPIError checks that err is an AWS API error with the HTTP status,
// error code and message. A message ending in "..." is matched as a prefix.
func WantAPIError(t testing.TB, err error, status int, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %d %s %q", status, code, msg)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error is not an API error: %v", err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code = %q, want %q (message %q)", ae.ErrorCode(), code, ae.ErrorMessage())
	}
	if p, ok := strings.CutSuffix(msg, "..."); ok {
		if !strings.HasPrefix(ae.ErrorMessage(), p) {
			t.Errorf("error message = %q, want prefix %q", ae.ErrorMessage(), p)
		}
	} else if ae.ErrorMessage() != msg {
		t.Errorf("error message = %q, want %q", ae.ErrorMessage(), msg)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error carries no HTTP response: %v", err)
	}
	if re.HTTPStatusCode() != status {
		t.Errorf("HTTP status = %d, want %d", re.HTTPStatusCode(), status)
	}
}

// LogBuffer is a destination for apigw's log (server.Config.Log) that a
// test reads while apigw writes to it.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// CLI returns a runner of `aws apigateway` commands against in, with the
// root credentials and no configuration of the user's, in dir (also the
// CLI's HOME). It fails the test when the command's failure is not
// wantErr, and returns what the command wrote. The caller skips where the
// CLI is absent.
func (in *Instance) CLI(t testing.TB, dir string) func(wantErr bool, args ...string) string {
	return in.ServiceCLI(t, dir, "apigateway")
}

// ServiceCLI is CLI for another service of the admin listener (acm, iam,
// lambda, apigatewayv2, ...).
func (in *Instance) ServiceCLI(t testing.TB, dir, service string) func(wantErr bool, args ...string) string {
	return func(wantErr bool, args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", in.AdminURL, "--output", "json", service}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"HOME="+dir, "AWS_CONFIG_FILE="+dir+"/none", "AWS_SHARED_CREDENTIALS_FILE="+dir+"/none",
			"AWS_ACCESS_KEY_ID="+AccessKeyID, "AWS_SECRET_ACCESS_KEY="+SecretAccessKey,
			"AWS_DEFAULT_REGION="+Region, "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "NO_PROXY=127.0.0.1")
		out, err := cmd.CombinedOutput()
		if (err != nil) != wantErr {
			t.Fatalf("aws %s %s: %v\n%s", service, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}
