package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/apigwtest"
)

// TestNodeSignedInvoke drives the node clients of seed 001, the real npm
// packages aws-api-gateway-client 0.3.7 and aws4 (testdata/node-sigv4),
// against AWS_IAM methods on a port other than 80. aws-api-gateway-client
// signs the Host without its port; aws4 signs it with the port.
func TestNodeSignedInvoke(t *testing.T) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian: apt-get install nodejs npm): %v", tool, err)
		}
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "invoke.js"} {
		b, err := os.ReadFile(filepath.Join("testdata", "node-sigv4", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Skipf("npm ci failed, is the npm registry reachable? %v\n%s", err, out)
	}

	in := apigwtest.Start(t)
	apiID, backend := iaIAMAPI(t, in)
	url := in.InvokeURL(apiID, iaStage, "/sample")

	type job struct {
		Client          string `json:"client"`
		URL             string `json:"url"`
		Method          string `json:"method"`
		Body            any    `json:"body"`
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
		Region          string `json:"region"`
	}
	run := func(t *testing.T, j job) (int, string) {
		t.Helper()
		b, _ := json.Marshal(j)
		cmd := exec.CommandContext(ctx, "node", "invoke.js")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "JOB="+string(b), "NO_PROXY=*", "no_proxy=*")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node invoke.js: %v\n%s", err, stderr.String())
		}
		var got struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("node printed %q: %v", out, err)
		}
		return got.Status, got.Body
	}

	payload := map[string]any{"title": "Parasite", "year": 2019, "tags": []string{"drama", "thriller"}}
	wantBody, _ := json.Marshal(payload)
	for _, client := range []string{"aws-api-gateway-client", "aws4"} {
		t.Run(client+"/GET", func(t *testing.T) {
			status, body := run(t, job{Client: client, URL: url, Method: "GET",
				AccessKeyID: iaRoot.AccessKeyID, SecretAccessKey: iaRoot.SecretAccessKey, Region: iaRegion})
			if status != 200 || body != "GET /sample" {
				t.Fatalf("got %d %q, want 200 %q", status, body, "GET /sample")
			}
		})
		t.Run(client+"/POST-JSON", func(t *testing.T) {
			status, body := run(t, job{Client: client, URL: url, Method: "POST", Body: payload,
				AccessKeyID: iaRoot.AccessKeyID, SecretAccessKey: iaRoot.SecretAccessKey, Region: iaRegion})
			if status != 200 || body != "POST /sample" {
				t.Fatalf("got %d %q, want 200 %q", status, body, "POST /sample")
			}
			if got := backend.last(t).Body; got != string(wantBody) {
				t.Errorf("backend received %q, want %q", got, wantBody)
			}
		})
		t.Run(client+"/wrong-secret", func(t *testing.T) {
			status, body := run(t, job{Client: client, URL: url, Method: "GET",
				AccessKeyID: iaRoot.AccessKeyID, SecretAccessKey: "not-the-secret-not-the-secret-not-the-sec", Region: iaRegion})
			if status != 403 || !strings.Contains(body, "The request signature we calculated does not match") {
				t.Fatalf("got %d %q, want 403 with a signature mismatch", status, body)
			}
		})
	}
}
