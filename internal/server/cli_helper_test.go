package server_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/apigwtest"
)

// awsCLI returns a function that runs the AWS CLI against in's admin
// listener for one service, as the root user, with no configuration of
// the machine's. It skips the test where the CLI is absent or with -short.
// The function fails the test when the command's success is not wantErr's
// opposite, and returns its combined output.
func awsCLI(t *testing.T, in *apigwtest.Instance, service string) func(wantErr bool, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed: skipping the CLI walk-through")
	}
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start: skipped with -short")
	}
	home := t.TempDir()
	return func(wantErr bool, args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", in.AdminURL, "--output", "json", service}, args...)...)
		cmd.Env = append(os.Environ(),
			"HOME="+home, "AWS_CONFIG_FILE="+home+"/none", "AWS_SHARED_CREDENTIALS_FILE="+home+"/none",
			"AWS_ACCESS_KEY_ID="+apigwtest.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+apigwtest.SecretAccessKey,
			"AWS_DEFAULT_REGION="+apigwtest.Region, "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "NO_PROXY=127.0.0.1")
		out, err := cmd.CombinedOutput()
		if (err != nil) != wantErr {
			t.Fatalf("aws %s %s: %v\n%s", service, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}
