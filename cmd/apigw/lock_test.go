package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondServeOnDataDirRefused: a second `apigw serve` on a data dir in
// use exits non-zero with a clear error naming the first one's pid; once the
// first stops, or crashes, a new one starts on the same dir.
func TestSecondServeOnDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "apigw")
	build(t, "./cmd/apigw", bin)
	data := filepath.Join(dir, "apigw-data")
	serve := func() (*exec.Cmd, string) {
		admin := freePort(t)
		cmd := exec.Command(bin, "serve", "--data-dir", data, "--listen", freePort(t), "--admin-listen", admin)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, "http://" + admin + "/_apigw/health"
	}
	stop := func(cmd *exec.Cmd) {
		t.Helper()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("apigw serve stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("apigw serve did not stop on SIGTERM")
		}
	}

	first, health := serve()
	waitHTTP(t, health)

	second := exec.Command(bin, "serve", "--data-dir", data, "--listen", freePort(t), "--admin-listen", freePort(t))
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = second.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		second.Process.Kill()
		<-done
		t.Fatalf("a second apigw serve on a data dir in use kept running:\n%s", out)
	}
	want := fmt.Sprintf("apigw: data dir %s is in use by another apigw process (pid %d)\n", data, first.Process.Pid)
	if code := second.ProcessState.ExitCode(); err == nil || code == 0 || !strings.HasSuffix(string(out), want) {
		t.Fatalf("second apigw serve: exit code %d, output:\n%s\nwant a non-zero exit and %q", code, out, want)
	}

	stop(first)
	third, health := serve()
	waitHTTP(t, health)

	// A crash leaves the lock file behind; it does not block the next start.
	third.Process.Kill()
	third.Wait()
	fourth, health := serve()
	waitHTTP(t, health)
	stop(fourth)
}
