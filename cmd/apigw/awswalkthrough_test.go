package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeAWSWalkthrough runs the README's DynamoDB walk-through (the
// "sh walkthrough-aws" block) against a real apigw binary started with
// --aws-endpoint dynamodb=..., and moto_server as DynamoDB.
func TestReadmeAWSWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end walk-through; skipped with -short")
	}
	for _, tool := range []string{"aws", "curl", "moto_server"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; skipping the README's DynamoDB walk-through", tool)
		}
	}
	blocks := readmeBlocksTagged(t, "walkthrough-aws")
	dir := t.TempDir()
	bin := filepath.Join(dir, "apigw")
	build(t, "./cmd/apigw", bin)
	data, admin, moto := freePort(t), freePort(t), freePort(t)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="}
	if pe := os.Getenv("PYENV_ROOT"); pe != "" {
		env = append(env, "PYENV_ROOT="+pe)
	}

	var motoOut syncBuffer
	motoCmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", moto[strings.LastIndexByte(moto, ':')+1:])
	motoCmd.Env, motoCmd.Stdout, motoCmd.Stderr = env, &motoOut, &motoOut
	if err := motoCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { motoCmd.Process.Kill(); motoCmd.Wait() })

	var serveOut syncBuffer
	serve := exec.Command(bin, "serve", "--listen", data, "--admin-listen", admin, "--aws-endpoint", "dynamodb=http://"+moto)
	serve.Dir, serve.Env, serve.Stdout, serve.Stderr = dir, env, &serveOut, &serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	waitHTTP(t, "http://"+admin+"/_apigw/health")
	waitHTTP(t, "http://"+moto+"/moto-api/")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataPort := data[strings.LastIndexByte(data, ':')+1:]
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", strings.NewReplacer(
		"127.0.0.1:8081", admin,
		"127.0.0.1:8080", data,
		"localhost:8080", "localhost:"+dataPort,
		"127.0.0.1:8000", moto,
	).Replace(strings.Join(blocks, "\n")))
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through failed: %v\n%s\n--- apigw:\n%s\n--- moto:\n%s", err, out, serveOut.String(), motoOut.String())
	}
	want := `{"saved": true}
{"saved": true}
[{"title": "Memories of Murder", "director": "Bong Joon-ho"}, {"title": "Oldboy", "director": "Park Chan-wook"}]
`
	if string(out) != want {
		t.Errorf("walk-through printed\n%s\nwant\n%s\n--- apigw:\n%s", out, want, serveOut.String())
	}
}
