package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readmeBlocks returns the README's code blocks whose info string is
// "sh walkthrough": the commands a user types, run here as written.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	return readmeBlocksTagged(t, "walkthrough")
}

// readmeBlocksTagged returns the README's code blocks whose info string is
// "sh {tag}".
func readmeBlocksTagged(t *testing.T, tag string) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh "+tag:
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if len(blocks) == 0 {
		t.Fatalf("README.md has no ```sh %s block", tag)
	}
	return blocks
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func build(t *testing.T, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not up: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadmeWalkthrough runs the README's AWS CLI walk-through against a
// real apigw binary and the README's backend, on free ports.
func TestReadmeWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed; skipping the README walk-through")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; skipping the README walk-through")
	}
	blocks := readmeBlocks(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "apigw")
	backendBin := filepath.Join(dir, "backend")
	build(t, "./cmd/apigw", bin)
	build(t, "./bench/backend", backendBin)

	data, admin, backendAddr := freePort(t), freePort(t), freePort(t)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="}
	if pe := os.Getenv("PYENV_ROOT"); pe != "" {
		env = append(env, "PYENV_ROOT="+pe)
	}

	backend := exec.Command(backendBin, "-listen", backendAddr)
	if err := backend.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Process.Kill(); backend.Wait() })

	var serveOut syncBuffer
	serve := exec.Command(bin, "serve", "--listen", data, "--admin-listen", admin)
	serve.Dir = dir
	serve.Env = env
	serve.Stdout, serve.Stderr = &serveOut, &serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() { serve.Process.Kill() })
	waitHTTP(t, "http://"+admin+"/_apigw/health")
	waitHTTP(t, "http://"+backendAddr+"/small")

	if _, err := os.Stat(filepath.Join(dir, "apigw-data", "credentials")); err != nil {
		t.Fatalf("first start did not write apigw-data/credentials: %v\n%s", err, serveOut.String())
	}
	if !strings.Contains(serveOut.String(), "generated root credentials") {
		t.Errorf("first start did not announce the generated credentials:\n%s", serveOut.String())
	}

	// The blocks run in one shell, in order, as a reader types them; a
	// marker line separates their outputs.
	dataPort := data[strings.LastIndexByte(data, ':')+1:]
	const marker = "=== end of block"
	var script strings.Builder
	for _, b := range blocks {
		script.WriteString(b + "\necho '" + marker + "'\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", strings.NewReplacer(
		"127.0.0.1:8081", admin,
		"127.0.0.1:8080", data,
		"localhost:8080", "localhost:"+dataPort,
		"127.0.0.1:9000", backendAddr,
	).Replace(script.String()))
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through failed: %v\n%s\n--- apigw:\n%s", err, out, serveOut.String())
	}
	outputs := strings.Split(string(out), marker)
	if len(outputs) != len(blocks)+1 {
		t.Fatalf("walk-through: %d block outputs for %d blocks:\n%s", len(outputs)-1, len(blocks), out)
	}
	checks := []func(string) error{checkHTTPWalkthrough, checkUsagePlanWalkthrough, checkCORSWalkthrough, checkTemplatesWalkthrough}
	if len(blocks) != len(checks) {
		t.Fatalf("README has %d walk-through blocks; this test knows how to check %d", len(blocks), len(checks))
	}
	for i, check := range checks {
		if err := check(outputs[i]); err != nil {
			t.Errorf("walk-through block %d: %v\n%s", i+1, err, outputs[i])
		}
	}

	// SIGTERM: apigw shuts down cleanly and exits 0.
	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("apigw exited with %v after SIGTERM\n%s", err, serveOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("apigw did not exit within 30s of SIGTERM")
	}
}

// checkHTTPWalkthrough: both invoke URLs reached the backend's /echo.
func checkHTTPWalkthrough(out string) error {
	if n := strings.Count(out, `"path":"/echo"`); n != 2 {
		return fmt.Errorf("want 2 answers from the backend's /echo, got %d", n)
	}
	if !strings.Contains(out, `"method":"GET"`) {
		return fmt.Errorf("the backend did not see a GET")
	}
	return nil
}

var usageFigure = regexp.MustCompile(`\[\s*1,\s*999\s*\]`)

// checkUsagePlanWalkthrough: 403 without the key, the backend with it, and
// get-usage reporting one request used of 1000.
func checkUsagePlanWalkthrough(out string) error {
	forbidden := strings.Index(out, `{"message":"Forbidden"}`)
	echo := strings.Index(out, `"path":"/echo"`)
	if forbidden < 0 || echo < forbidden {
		return fmt.Errorf("want Forbidden without the key, then the backend's answer with it")
	}
	if strings.Count(out, `"path":"/echo"`) != 1 {
		return fmt.Errorf("want exactly one call to reach the backend")
	}
	if !usageFigure.MatchString(out) {
		return fmt.Errorf("get-usage does not report [1, 999]")
	}
	return nil
}

// checkCORSWalkthrough: the missing route's 403 and the keyless call's 403
// carry the CORS header after the redeploy; the customised missing route
// answers 404 with its template.
func checkCORSWalkthrough(out string) error {
	answers := strings.Split(out, "HTTP/1.1 ")[1:]
	if len(answers) != 3 {
		return fmt.Errorf("want 3 HTTP answers, got %d", len(answers))
	}
	for i, want := range []string{`{"message":"Missing Authentication Token"}`, `{"message":"Forbidden"}`} {
		a := answers[i]
		if !strings.HasPrefix(a, "403") || !strings.Contains(a, "Access-Control-Allow-Origin: *") || !strings.Contains(a, want) {
			return fmt.Errorf("answer %d: want 403 %s with Access-Control-Allow-Origin: *", i+1, want)
		}
	}
	if a := answers[2]; !strings.HasPrefix(a, "404") || !strings.Contains(a, `{"error":"no route","requestId":"`) || strings.Contains(a, "Access-Control-Allow-Origin") {
		return fmt.Errorf("answer 3: want 404 with the custom template and no CORS header")
	}
	return nil
}

// checkTemplatesWalkthrough: the MOCK answers by the query parameter, the
// HTTP integration's templates reshape both ways, NEVER refuses XML.
func checkTemplatesWalkthrough(out string) error {
	want := []string{
		`{"id": "1", "name": "Rex"} 200`,
		`{"message": "no such pet"} 404`,
		`{"displayName": "Ana Lima", "tenant": "acme", "tags": 2} 200`,
		`{"message":"Unsupported Media Type"} 415`,
	}
	at := 0
	for _, w := range want {
		i := strings.Index(out[at:], w)
		if i < 0 {
			return fmt.Errorf("want %s (in this order)", w)
		}
		at += i + len(w)
	}
	return nil
}

// syncBuffer is a bytes.Buffer that the child's output copier and the test
// may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
