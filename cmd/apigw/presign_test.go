package main

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

// TestPresignCommand: `apigw presign` takes credentials from the
// environment and prints a URL presigned for execute-api.
func TestPresignCommand(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	var out bytes.Buffer
	cmd := rootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"presign", "--region", "eu-west-1", "--expires", "90s", "http://abc.execute-api.localhost:8080/dev/sample"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("output is not a URL: %q", out.String())
	}
	q := u.Query()
	if u.Host != "abc.execute-api.localhost:8080" || u.Path != "/dev/sample" {
		t.Errorf("URL %s: host or path changed", u)
	}
	if got := q.Get("X-Amz-Credential"); !strings.HasPrefix(got, "AKIAIOSFODNN7EXAMPLE/") || !strings.HasSuffix(got, "/eu-west-1/execute-api/aws4_request") {
		t.Errorf("X-Amz-Credential = %q", got)
	}
	if q.Get("X-Amz-Expires") != "90" || len(q.Get("X-Amz-Signature")) != 64 {
		t.Errorf("X-Amz-Expires = %q, X-Amz-Signature = %q", q.Get("X-Amz-Expires"), q.Get("X-Amz-Signature"))
	}
}
