package server_test

import (
	"os/exec"
	"testing"

	"github.com/apigw/apigw/internal/apigwtest"
)

// awsCLI returns a runner of the AWS CLI for one service against in's admin
// listener (apigwtest.Instance.ServiceCLI, in a directory of the test's
// own). It skips the test where the CLI is absent or with -short.
func awsCLI(t *testing.T, in *apigwtest.Instance, service string) func(wantErr bool, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed: skipping the CLI walk-through")
	}
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start: skipped with -short")
	}
	return in.ServiceCLI(t, t.TempDir(), service)
}
