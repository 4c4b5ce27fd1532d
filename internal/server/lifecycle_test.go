package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// TestShutdownFinishesRequestsInFlight stops apigw while a request waits on
// its backend: the request still completes, and new connections are refused.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	ctx := context.Background()
	arrived := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "finished")
	}))
	t.Cleanup(srv.Close)
	backend := srv.URL

	in := apigwtest.Start(t)
	c := in.Client
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("shutdown")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("slow")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
		Type: "HTTP_PROXY", IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(backend + "/slow")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(in.InvokeURL(*api.Id, "dev", "/slow"))
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{resp.StatusCode, string(b), err}
	}()
	<-arrived

	stopped := make(chan struct{})
	go func() { in.Stop(t); close(stopped) }()

	// The listener closes at once: a new connection is refused while the
	// first request is still in flight.
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr := &http.Transport{DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr, Timeout: time.Second}).Get(in.InvokeURL(*api.Id, "dev", "/slow"))
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("data listener still accepts connections during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-stopped:
		t.Fatal("shutdown completed while a request was in flight")
	default:
	}
	close(release)
	r := <-done
	if r.err != nil || r.status != 200 || r.body != "finished" {
		t.Fatalf("request in flight: status %d body %q err %v; want 200 finished", r.status, r.body, r.err)
	}
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("shutdown did not complete after the last request finished")
	}
}

// TestDataDirLock: New refuses a data dir that a running server holds, with
// a *DataDirInUseError naming the holder; after the holder stops, the dir
// can be served again.
func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	first := apigwtest.StartIn(t, dir)
	_, err := server.New(context.Background(), server.Config{DataDir: dir, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
		Out: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var inUse *server.DataDirInUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() {
		t.Fatalf("second server on a data dir in use: %v, want a DataDirInUseError with pid %d", err, os.Getpid())
	}
	if want := fmt.Sprintf("data dir %s is in use by another apigw process (pid %d)", dir, os.Getpid()); err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	// The refused server left the holder's pid in place.
	if b, err := os.ReadFile(filepath.Join(dir, "apigw.lock")); err != nil || string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Fatalf("lock file holds %q (%v)", b, err)
	}
	first.Stop(t)
	apigwtest.StartIn(t, dir).Stop(t)
}

// --aws-endpoint values are checked at start.
func TestAWSEndpointFlagChecked(t *testing.T) {
	for _, eps := range []map[string]string{{"dynamodb": "127.0.0.1:8000"}, {"dynamodb": "ftp://h"}, {"": "http://h"}, {"s3": "http://h/?x=1"}} {
		_, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
			AWSEndpoints: eps, Out: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil || !strings.Contains(err.Error(), "--aws-endpoint") {
			t.Errorf("%v: got %v", eps, err)
		}
	}
}
