package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const wrkOutput = `Running 10s test @ http://127.0.0.1:41121/bench/mock
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms    1.10ms  30.12ms   90.00%
    Req/Sec    28.61k     1.20k   31.00k    70.00%
  Latency Distribution
     50%  940.00us
     75%    1.10ms
     90%    1.50ms
     99%    8.51ms
  284894 requests in 10.01s, 60.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 179820
Requests/sec:  28465.12
Transfer/sec:      6.00MB
`

func TestParseWrk(t *testing.T) {
	var r result
	if err := parseWrk(&r, wrkOutput); err != nil {
		t.Fatal(err)
	}
	if r.requests != 284894 || r.rate != 28465.12 || r.non2xx != 179820 {
		t.Errorf("requests %d rate %v non2xx %d", r.requests, r.rate, r.non2xx)
	}
	if r.p50 != 940*time.Microsecond || r.p99 != 8510*time.Microsecond {
		t.Errorf("p50 %v p99 %v", r.p50, r.p99)
	}
	if r.sockTotal != 3 || r.sockErrors != "read 2, timeout 1" {
		t.Errorf("socket errors %d %q", r.sockTotal, r.sockErrors)
	}
	if got := r.okRate(); got < 10497 || got > 10499 {
		t.Errorf("2xx rate %v", got)
	}
	if err := parseWrk(&r, "Running 10s test\n"); err == nil {
		t.Error("no error for output without results")
	}
}

func TestSplice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	os.WriteFile(path, []byte("# Benchmarks\n\nother section"), 0o644)
	sec := func(v string) string { return startMarker + "\n" + v + "\n" + endMarker + "\n" }
	if err := splice(path, sec("one")); err != nil {
		t.Fatal(err)
	}
	if err := splice(path, sec("two")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if want := "# Benchmarks\n\nother section\n\n" + sec("two"); string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
	os.WriteFile(path, []byte("a\n"+startMarker+"\nold\n"+endMarker+"\nafter\n"), 0o644)
	if err := splice(path, sec("new")); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if want := "a\n" + sec("new") + "after\n"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
	os.WriteFile(path, []byte(startMarker+"\n"), 0o644)
	if err := splice(path, sec("x")); err == nil || !strings.Contains(err.Error(), "only one") {
		t.Errorf("half-marked file: %v", err)
	}
}

func TestTLSTargets(t *testing.T) {
	if got := tlsTargets(map[string]*result{}); got != "" {
		t.Errorf("without HTTPS rows: %q", got)
	}
	rs := map[string]*result{
		"tls/nginx":          {id: "14", rate: 1000, requests: 1000},
		"tls/apigw-proxy":    {id: "15", rate: 800, requests: 1000},
		"tlsnew/nginx":       {id: "16", rate: 400, requests: 400},
		"tlsnew/apigw-proxy": {id: "17", rate: 300, requests: 400, non2xx: 100},
	}
	got := tlsTargets(rs)
	for _, want := range []string{"over HTTPS (TLS 1.3, keep-alive): 0.80 (target ≥ 0.75): met\n", "apigw 225, nginx 400 (0.56 × nginx)"} {
		if !strings.Contains(got, want) {
			t.Errorf("tlsTargets: %q lacks %q", got, want)
		}
	}
	rs["tls/apigw-proxy"].rate = 700
	if got := tlsTargets(rs); !strings.Contains(got, "0.70 (target ≥ 0.75): **missed**") {
		t.Errorf("below the target: %q", got)
	}
}
