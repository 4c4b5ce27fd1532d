package iam_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The AWS CLI against the IAM and STS APIs: what users will type.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed: skipping the CLI walk-through")
	}
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start: skipped with -short")
	}
	e := newEnv(t)
	home := t.TempDir()
	run := func(id, secret, token string, args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", e.srv.URL, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(),
			"HOME="+home, "AWS_CONFIG_FILE="+home+"/none", "AWS_SHARED_CREDENTIALS_FILE="+home+"/none",
			"AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN="+token,
			"AWS_DEFAULT_REGION="+region, "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var v map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return v
	}
	root := func(args ...string) map[string]any { return run(rootKeyID, rootSecret, "", args...) }

	u := root("iam", "create-user", "--user-name", "cli")["User"].(map[string]any)
	if u["Arn"] != "arn:aws:iam::"+account+":user/cli" {
		t.Fatalf("create-user: %v", u)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`
	root("iam", "put-user-policy", "--user-name", "cli", "--policy-name", "p", "--policy-document", doc)
	// The CLI decodes the URL-encoded document into JSON.
	pol := root("iam", "get-user-policy", "--user-name", "cli", "--policy-name", "p")
	stmt := pol["PolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	if stmt["Action"] != "iam:GetUser" {
		t.Fatalf("get-user-policy: %v", pol)
	}
	key := root("iam", "create-access-key", "--user-name", "cli")["AccessKey"].(map[string]any)
	id, secret := key["AccessKeyId"].(string), key["SecretAccessKey"].(string)

	who := run(id, secret, "", "sts", "get-caller-identity")
	if who["Arn"] != "arn:aws:iam::"+account+":user/cli" {
		t.Fatalf("get-caller-identity: %v", who)
	}
	root("iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+account+`:user/cli"},"Action":"sts:AssumeRole"}]}`)
	creds := run(id, secret, "", "sts", "assume-role", "--role-arn", "arn:aws:iam::"+account+":role/cli-role",
		"--role-session-name", "cli-session")["Credentials"].(map[string]any)
	who = run(creds["AccessKeyId"].(string), creds["SecretAccessKey"].(string), creds["SessionToken"].(string), "sts", "get-caller-identity")
	if who["Arn"] != "arn:aws:sts::"+account+":assumed-role/cli-role/cli-session" {
		t.Fatalf("get-caller-identity of the session: %v", who)
	}
}
