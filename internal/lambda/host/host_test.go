package host

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/lambda"
)

// ---- helpers ----

// newHost returns a host whose Close runs at the end of the test, and which
// then checks that none of its worker processes is left.
func newHost(t *testing.T) *Host {
	t.Helper()
	h := New(t.TempDir(), slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
	h.trackPIDs = true
	h.Region = "eu-west-3"
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		h.mu.Lock()
		pids := append([]int(nil), h.pids...)
		h.mu.Unlock()
		assertNoProcesses(t, pids)
	})
	return h
}

// assertNoProcesses checks in /proc that no process is left in the process
// groups of the given workers, and that the test process has no child left.
func assertNoProcesses(t *testing.T, pgids []int) {
	t.Helper()
	groups := map[int]bool{}
	for _, p := range pgids {
		groups[p] = true
	}
	self := os.Getpid()
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; {
		left = left[:0]
		entries, err := os.ReadDir("/proc")
		if err != nil {
			t.Skipf("no /proc: %v", err)
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			ppid, pgrp, state, comm, ok := procStat(pid)
			if !ok || (state == "Z" && ppid != self) {
				continue // gone, or dead and left to init to reap
			}
			if groups[pgrp] || (ppid == self && groups[pid]) {
				left = append(left, fmt.Sprintf("pid %d (%s) ppid %d pgrp %d", pid, comm, ppid, pgrp))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling /proc until the deadline
	}
	if len(left) > 0 {
		t.Errorf("processes left after Close: %v", left)
	}
}

func procStat(pid int) (ppid, pgrp int, state, comm string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, "", "", false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, "", "", false
	}
	comm = s[strings.IndexByte(s, '(')+1 : i]
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return 0, 0, "", "", false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgrp, _ = strconv.Atoi(f[2])
	return ppid, pgrp, f[0], comm, true
}

func processAlive(pid int) bool {
	_, _, state, _, ok := procStat(pid)
	return ok && state != "Z"
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

func writeCode(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func function(name, rt, handler, dir string) *Function {
	return &Function{
		Name:     name,
		ARN:      "arn:aws:lambda:eu-west-3:123456789012:function:" + name,
		Runtime:  rt,
		Handler:  handler,
		CodeDir:  dir,
		Timeout:  10 * time.Second,
		MemoryMB: 128,
		Version:  "1",
	}
}

func invoke(t *testing.T, h *Host, fn *Function, payload string) *Result {
	t.Helper()
	res, err := h.Invoke(context.Background(), fn, newRequestID(), []byte(payload), time.Time{}, "")
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return res
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload %q: %v", b, err)
	}
	return m
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
}

// The tutorial's function, exactly.
const tutorialPython = `import json
def lambda_handler(event, context):
    body = "Hello from 5minslearn!"
    statusCode = 200
    return {"statusCode": statusCode, "body": json.dumps(body), "headers": {"Content-Type": "application/json"}}
`

const toolsPython = `import json, logging, os, sys, time
print("init output from tools")

def fail(event, context):
    raise ValueError("bad thing happened")

def ctx(event, context):
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity_id": context.identity.cognito_identity_id,
        "client_custom": cc.custom if cc else None,
        "client_app_title": cc.client.app_title if cc and cc.client else None,
        "cwd": os.getcwd(),
        "event": event,
        "env": {k: os.environ.get(k) for k in (
            "AWS_REGION", "AWS_DEFAULT_REGION", "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV", "TZ",
            "AWS_LAMBDA_RUNTIME_API", "PYTHONPATH", "MY_SETTING", "_X_AMZN_TRACE_ID")},
    }

def sleepy(event, context):
    if event.get("child"):
        import subprocess
        subprocess.Popen(["sleep", "60"])
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"pid": os.getpid()}

def crash(event, context):
    how = event.get("crash")
    if how:
        print("about to crash", flush=True)
        if how == "kill":
            os.kill(os.getpid(), 9)
        os._exit(0 if how == "exit0" else 1)
    return {"pid": os.getpid()}

def talk(event, context):
    print("out:" + context.aws_request_id)
    print("err:" + context.aws_request_id, file=sys.stderr)
    logging.getLogger().warning("warned")
    return {"pid": os.getpid()}

def unserializable(event, context):
    return {1, 2}

def big(event, context):
    return "x" * (7 * 1024 * 1024)

not_callable = 3
`

// ---- managed runtime: Python ----

func TestPython(t *testing.T) {
	needPython(t)
	h := newHost(t)
	dir := writeCode(t, map[string]string{
		"lambda_function.py": tutorialPython,
		"tools.py":           toolsPython,
		"broken.py":          "def (:\n",
		"pkg/mod.py":         "def handler(event, context):\n    return {'nested': True}\n",
		"raising_init.py":    "raise RuntimeError('init went wrong')\n",
	})
	clientContext := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"},"client":{"app_title":"app"}}`))

	cases := []struct {
		name    string
		handler string
		payload string
		ctx     string
		check   func(t *testing.T, res *Result, id string, fn *Function)
	}{
		{"tutorial hello", "lambda_function.lambda_handler", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			if res.FunctionError != "" {
				t.Fatalf("function error: %s", res.Payload)
			}
			got := decode(t, res.Payload)
			want := map[string]any{"statusCode": float64(200), "body": `"Hello from 5minslearn!"`,
				"headers": map[string]any{"Content-Type": "application/json"}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("payload = %v, want %v", got, want)
			}
		}},
		{"exception", "tools.fail", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			if res.FunctionError != "Unhandled" {
				t.Fatalf("FunctionError = %q", res.FunctionError)
			}
			doc := decode(t, res.Payload)
			if doc["errorType"] != "ValueError" || doc["errorMessage"] != "bad thing happened" || doc["requestId"] != id {
				t.Errorf("error document = %s", res.Payload)
			}
			st, _ := doc["stackTrace"].([]any)
			if len(st) != 1 || !strings.Contains(fmt.Sprint(st[0]), `tools.py", line 5, in fail`) {
				t.Errorf("stackTrace = %v", doc["stackTrace"])
			}
			if !strings.Contains(string(res.Log), "[ERROR] ValueError: bad thing happened\rTraceback (most recent call last):\r") {
				t.Errorf("log has no error line:\n%s", res.Log)
			}
		}},
		{"import error", "missing_module.handler", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if res.FunctionError != "Unhandled" || doc["errorType"] != "Runtime.ImportModuleError" ||
				doc["errorMessage"] != "Unable to import module 'missing_module': No module named 'missing_module'" {
				t.Errorf("result = %q %s", res.FunctionError, res.Payload)
			}
			if !strings.Contains(string(res.Log), "INIT_REPORT Init Duration: ") ||
				!strings.Contains(string(res.Log), "Status: error\tError Type: Runtime.ImportModuleError") {
				t.Errorf("log:\n%s", res.Log)
			}
		}},
		{"handler not found", "tools.nope", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if doc["errorType"] != "Runtime.HandlerNotFound" || doc["errorMessage"] != "Handler 'nope' missing on module 'tools'" {
				t.Errorf("result = %s", res.Payload)
			}
		}},
		{"malformed handler", "nodot", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if doc["errorType"] != "Runtime.MalformedHandlerName" || !strings.HasPrefix(fmt.Sprint(doc["errorMessage"]), "Bad handler 'nodot': ") {
				t.Errorf("result = %s", res.Payload)
			}
		}},
		{"syntax error", "broken.h", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if doc["errorType"] != "Runtime.UserCodeSyntaxError" || !strings.HasPrefix(fmt.Sprint(doc["errorMessage"]), "Syntax error in module 'broken': ") {
				t.Errorf("result = %s", res.Payload)
			}
		}},
		{"exception at import", "raising_init.h", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if doc["errorType"] != "RuntimeError" || doc["errorMessage"] != "init went wrong" {
				t.Errorf("result = %s", res.Payload)
			}
		}},
		{"module path with slash", "pkg/mod.handler", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			if string(res.Payload) != `{"nested":true}` {
				t.Errorf("payload = %s", res.Payload)
			}
		}},
		{"unserializable result", "tools.unserializable", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if doc["errorType"] != "Runtime.MarshalError" || !strings.HasPrefix(fmt.Sprint(doc["errorMessage"]), "Unable to marshal response: ") {
				t.Errorf("result = %s", res.Payload)
			}
		}},
		{"response too large", "tools.big", `{}`, "", func(t *testing.T, res *Result, id string, fn *Function) {
			want := `{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes)."}`
			if res.FunctionError != "Unhandled" || string(res.Payload) != want {
				t.Errorf("result = %q %s", res.FunctionError, res.Payload)
			}
		}},
		{"context and environment", "tools.ctx", `{"a":[1,2]}`, clientContext, func(t *testing.T, res *Result, id string, fn *Function) {
			if res.FunctionError != "" {
				t.Fatalf("function error: %s", res.Payload)
			}
			got := decode(t, res.Payload)
			env, _ := got["env"].(map[string]any)
			want := map[string]any{
				"function_name":        fn.Name,
				"function_version":     "$LATEST",
				"invoked_function_arn": fn.ARN,
				"memory_limit_in_mb":   "256",
				"aws_request_id":       id,
				"log_group_name":       "/aws/lambda/" + fn.Name,
				"identity_id":          nil,
				"client_custom":        map[string]any{"k": "v"},
				"client_app_title":     "app",
				"cwd":                  fn.CodeDir,
				"event":                map[string]any{"a": []any{float64(1), float64(2)}},
			}
			for k, v := range want {
				if fmt.Sprint(got[k]) != fmt.Sprint(v) {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			if r, _ := got["remaining"].(float64); r <= 0 || r > 10000 {
				t.Errorf("remaining = %v", got["remaining"])
			}
			if s, _ := got["log_stream_name"].(string); !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(s) || env["AWS_LAMBDA_LOG_STREAM_NAME"] != s {
				t.Errorf("log_stream_name = %q", s)
			}
			wantEnv := map[string]any{
				"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-west-3", "_HANDLER": "tools.ctx",
				"LAMBDA_TASK_ROOT": fn.CodeDir, "AWS_LAMBDA_FUNCTION_NAME": fn.Name,
				"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
				"AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + fn.Name, "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
				"TZ": ":UTC", "PYTHONPATH": fn.CodeDir, "MY_SETTING": "on",
			}
			for k, v := range wantEnv {
				if env[k] != v {
					t.Errorf("env %s = %v, want %v", k, env[k], v)
				}
			}
			if s, _ := env["AWS_LAMBDA_RUNTIME_API"].(string); !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(s) {
				t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", s)
			}
			if s, _ := env["LAMBDA_RUNTIME_DIR"].(string); s == "" {
				t.Errorf("LAMBDA_RUNTIME_DIR is empty")
			}
			if s, _ := env["_X_AMZN_TRACE_ID"].(string); !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`).MatchString(s) {
				t.Errorf("_X_AMZN_TRACE_ID = %q", s)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fn := function("py-"+strings.ReplaceAll(c.name, " ", "-"), "python3.12", c.handler, dir)
			fn.MemoryMB = 256
			fn.Env = map[string]string{"MY_SETTING": "on", "AWS_REGION": "overridden"}
			id := newRequestID()
			res, err := h.Invoke(context.Background(), fn, id, []byte(c.payload), time.Time{}, c.ctx)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			c.check(t, res, id, fn)
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "__pycache__")); !os.IsNotExist(err) {
		t.Errorf("the host wrote into the function's package: %v", err)
	}
}

// ---- custom runtime: a Go function built with aws-lambda-go ----

var (
	goFnOnce sync.Once
	goFnDir  string
	goFnErr  error
)

// goFunction builds testdata/gofn as a provided.al2023 package.
func goFunction(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not installed")
	}
	goFnOnce.Do(func() {
		goFnDir, goFnErr = os.MkdirTemp("", "apigw-gofn-")
		if goFnErr != nil {
			return
		}
		cmd := exec.Command(goTool, "build", "-o", filepath.Join(goFnDir, "bootstrap"), "./testdata/gofn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			goFnErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if goFnErr != nil {
		t.Fatal(goFnErr)
	}
	return goFnDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if goFnDir != "" {
		os.RemoveAll(goFnDir)
	}
	os.Exit(code)
}

func TestGoFunction(t *testing.T) {
	dir := goFunction(t)
	h := newHost(t)
	for _, rt := range []struct{ runtime, handler string }{{"provided.al2023", "bootstrap"}, {"provided.al2", "ignored"}, {"go1.x", "bootstrap"}} {
		t.Run(rt.runtime, func(t *testing.T) {
			fn := function("gofn-"+strings.ReplaceAll(rt.runtime, ".", "-"), rt.runtime, rt.handler, dir)
			cases := []struct {
				name    string
				payload string
				check   func(t *testing.T, res *Result, id string)
			}{
				{"hello", `{"name":"gopher"}`, func(t *testing.T, res *Result, id string) {
					if res.FunctionError != "" {
						t.Fatalf("function error: %s", res.Payload)
					}
					got := decode(t, res.Payload)
					if got["body"] != "Hello gopher" || got["requestId"] != id || got["arn"] != fn.ARN ||
						got["function"] != fn.Name || got["memory"] != float64(128) || got["region"] != "eu-west-3" {
						t.Errorf("payload = %s", res.Payload)
					}
					if dl, _ := got["deadlineMs"].(float64); dl < float64(time.Now().UnixMilli()) {
						t.Errorf("deadline %v is past", dl)
					}
					if !strings.Contains(string(res.Log), "go function called for "+id+"\n") {
						t.Errorf("log:\n%s", res.Log)
					}
				}},
				{"error", `{"fail":true}`, func(t *testing.T, res *Result, id string) {
					doc := decode(t, res.Payload)
					if res.FunctionError != "Unhandled" || doc["errorMessage"] != "go function failed" || doc["errorType"] != "errorString" {
						t.Errorf("result = %q %s", res.FunctionError, res.Payload)
					}
				}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					id := newRequestID()
					res, err := h.Invoke(context.Background(), fn, id, []byte(c.payload), time.Time{}, "")
					if err != nil {
						t.Fatal(err)
					}
					c.check(t, res, id)
				})
			}
		})
	}
}

// ---- managed runtime: Node.js ----

func TestNode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the Node.js runtime is not tested")
	}
	h := newHost(t)
	dir := writeCode(t, map[string]string{
		"index.js": `console.log('init output from index');
exports.asyncHandler = async (event, context) => ({
  statusCode: 200,
  body: JSON.stringify({ hello: event.name }),
  id: context.awsRequestId,
  fn: context.functionName,
  version: context.functionVersion,
  arn: context.invokedFunctionArn,
  memory: context.memoryLimitInMB,
  group: context.logGroupName,
  remaining: context.getRemainingTimeInMillis(),
  custom: context.clientContext && context.clientContext.custom,
});
exports.callbackHandler = (event, context, callback) => {
  console.log('callback style for', event.name);
  setTimeout(() => callback(null, { style: 'callback', name: event.name }), 10);
};
exports.throws = async () => { throw new TypeError('node failed'); };
exports.callbackError = (event, context, callback) => callback(new Error('callback failed'));
exports.notAFunction = 3;
module.exports.nested = { handler: async () => 'nested' };
`,
		"esm/app.mjs": `export const handler = async (event) => ({ esm: true, name: event.name });
`,
	})
	clientContext := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))
	cases := []struct {
		name, handler, payload string
		check                  func(t *testing.T, res *Result, id string, fn *Function)
	}{
		{"async", "index.asyncHandler", `{"name":"node"}`, func(t *testing.T, res *Result, id string, fn *Function) {
			got := decode(t, res.Payload)
			want := map[string]any{"statusCode": float64(200), "body": `{"hello":"node"}`, "id": id, "fn": fn.Name,
				"version": "$LATEST", "arn": fn.ARN, "memory": "128", "group": "/aws/lambda/" + fn.Name,
				"custom": map[string]any{"k": "v"}}
			for k, v := range want {
				if fmt.Sprint(got[k]) != fmt.Sprint(v) {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			if r, _ := got["remaining"].(float64); r <= 0 {
				t.Errorf("remaining = %v", got["remaining"])
			}
			if !strings.Contains(string(res.Log), "\tundefined\tINFO\tinit output from index\n") {
				t.Errorf("log:\n%s", res.Log)
			}
		}},
		{"callback", "index.callbackHandler", `{"name":"cb"}`, func(t *testing.T, res *Result, id string, fn *Function) {
			if string(res.Payload) != `{"style":"callback","name":"cb"}` {
				t.Errorf("payload = %s", res.Payload)
			}
			if !regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t` + id + `\tINFO\tcallback style for cb\n`).Match(res.Log) {
				t.Errorf("log:\n%s", res.Log)
			}
		}},
		{"nested export", "index.nested.handler", `{}`, func(t *testing.T, res *Result, id string, fn *Function) {
			if string(res.Payload) != `"nested"` {
				t.Errorf("payload = %s", res.Payload)
			}
		}},
		{"es module", "esm/app.handler", `{"name":"esm"}`, func(t *testing.T, res *Result, id string, fn *Function) {
			if string(res.Payload) != `{"esm":true,"name":"esm"}` {
				t.Errorf("payload = %s", res.Payload)
			}
		}},
		{"thrown error", "index.throws", `{}`, func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			trace, _ := doc["trace"].([]any)
			if res.FunctionError != "Unhandled" || doc["errorType"] != "TypeError" || doc["errorMessage"] != "node failed" ||
				len(trace) == 0 || trace[0] != "TypeError: node failed" {
				t.Errorf("result = %q %s", res.FunctionError, res.Payload)
			}
		}},
		{"callback error", "index.callbackError", `{}`, func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if res.FunctionError != "Unhandled" || doc["errorType"] != "Error" || doc["errorMessage"] != "callback failed" {
				t.Errorf("result = %q %s", res.FunctionError, res.Payload)
			}
		}},
		{"handler not exported", "index.nope", `{}`, func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if doc["errorType"] != "Runtime.HandlerNotFound" || doc["errorMessage"] != "index.nope is undefined or not exported" {
				t.Errorf("result = %s", res.Payload)
			}
		}},
		{"handler not a function", "index.notAFunction", `{}`, func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if doc["errorType"] != "Runtime.HandlerNotFound" || doc["errorMessage"] != "index.notAFunction is not a function" {
				t.Errorf("result = %s", res.Payload)
			}
		}},
		{"missing module", "missing.handler", `{}`, func(t *testing.T, res *Result, id string, fn *Function) {
			doc := decode(t, res.Payload)
			if doc["errorType"] != "Runtime.ImportModuleError" || !strings.HasPrefix(fmt.Sprint(doc["errorMessage"]), "Error: Cannot find module 'missing'") {
				t.Errorf("result = %s", res.Payload)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fn := function("node-"+strings.ReplaceAll(c.name, " ", "-"), "nodejs20.x", c.handler, dir)
			id := newRequestID()
			res, err := h.Invoke(context.Background(), fn, id, []byte(c.payload), time.Time{}, clientContext)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, res, id, fn)
		})
	}
	t.Run("warm worker", func(t *testing.T) {
		fn := function("node-warm", "nodejs22.x", "index.callbackHandler", dir)
		for i := 0; i < 3; i++ {
			res := invoke(t, h, fn, fmt.Sprintf(`{"name":"n%d"}`, i))
			if want := fmt.Sprintf(`{"style":"callback","name":"n%d"}`, i); string(res.Payload) != want {
				t.Errorf("invocation %d: payload = %s, want %s", i, res.Payload, want)
			}
		}
		h.mu.Lock()
		peak := h.pools[fn.ARN].peak
		h.mu.Unlock()
		if peak != 1 {
			t.Errorf("%d workers for sequential invocations", peak)
		}
	})
}

// ---- failures ----

func TestTimeout(t *testing.T) {
	needPython(t)
	h := newHost(t)
	fn := function("sleepy", "python3.12", "tools.sleepy", writeCode(t, map[string]string{"tools.py": toolsPython}))
	fn.Timeout = time.Second

	first := decode(t, invoke(t, h, fn, `{}`).Payload)
	pid := int(first["pid"].(float64))

	id := newRequestID()
	began := time.Now()
	res, err := h.Invoke(context.Background(), fn, id, []byte(`{"sleep":30,"child":true}`), time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < time.Second || took > 10*time.Second {
		t.Errorf("the timed-out invocation took %v", took)
	}
	want := `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ` + id + ` Error: Task timed out after 1.00 seconds"}`
	if res.FunctionError != "Unhandled" || string(res.Payload) != want {
		t.Errorf("result = %q %s, want %s", res.FunctionError, res.Payload, want)
	}
	log := string(res.Log)
	if !regexp.MustCompile(`\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `+id+` Task timed out after 1\.00 seconds\nEND RequestId: `+id+`\n`).MatchString(log) ||
		!strings.Contains(log, "\tStatus: timeout\n") {
		t.Errorf("log:\n%s", log)
	}
	if processAlive(pid) {
		t.Errorf("worker %d still runs after the timeout", pid)
	}
	assertNoProcesses(t, []int{pid}) // nor the child it started
	next := decode(t, invoke(t, h, fn, `{}`).Payload)
	if int(next["pid"].(float64)) == pid {
		t.Errorf("the next invocation ran on the killed worker")
	}
}

func TestCrash(t *testing.T) {
	needPython(t)
	h := newHost(t)
	fn := function("crashy", "python3.12", "tools.crash", writeCode(t, map[string]string{"tools.py": toolsPython}))
	cases := []struct {
		name, payload, reason string
	}{
		{"exit 1", `{"crash":"exit1"}`, "Runtime exited with error: exit status 1"},
		{"exit 0", `{"crash":"exit0"}`, "Runtime exited without providing a reason"},
		{"killed", `{"crash":"kill"}`, "Runtime exited with error: signal: killed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := decode(t, invoke(t, h, fn, `{}`).Payload)
			pid := int(first["pid"].(float64))

			id := newRequestID()
			res, err := h.Invoke(context.Background(), fn, id, []byte(c.payload), time.Time{}, "")
			if err != nil {
				t.Fatal(err)
			}
			want := `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: ` + id + ` Error: ` + c.reason + `"}`
			if res.FunctionError != "Unhandled" || string(res.Payload) != want {
				t.Errorf("result = %q %s, want %s", res.FunctionError, res.Payload, want)
			}
			wantLog := "about to crash\nRequestId: " + id + " Error: " + c.reason + "\nRuntime.ExitError\nEND RequestId: " + id + "\n"
			if !strings.Contains(string(res.Log), wantLog) || !strings.Contains(string(res.Log), "\tStatus: error\tError Type: Runtime.ExitError\n") {
				t.Errorf("log:\n%s", res.Log)
			}
			next := decode(t, invoke(t, h, fn, `{}`).Payload)
			if int(next["pid"].(float64)) == pid {
				t.Errorf("the next invocation ran on the crashed worker")
			}
		})
	}
}

func TestMissingBootstrap(t *testing.T) {
	h := newHost(t)
	dir := writeCode(t, map[string]string{"readme.txt": "no bootstrap here"})
	fn := function("nobootstrap", "provided.al2023", "bootstrap", dir)
	id := newRequestID()
	res, err := h.Invoke(context.Background(), fn, id, nil, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errorType":"Runtime.InvalidEntrypoint","errorMessage":"RequestId: ` + id + ` Error: Couldn't find valid bootstrap(s): [` + filepath.Join(dir, "bootstrap") + `]"}`
	if res.FunctionError != "Unhandled" || string(res.Payload) != want {
		t.Errorf("result = %q %s, want %s", res.FunctionError, res.Payload, want)
	}
	if _, err := h.Invoke(context.Background(), function("java", "java21", "x", dir), "", nil, time.Time{}, ""); err == nil {
		t.Errorf("an unknown runtime was accepted")
	} else if le := (*lambda.Error)(nil); !errors.As(err, &le) || le.Type != "InvalidRuntimeException" {
		t.Errorf("unknown runtime: %v", err)
	}
	big := make([]byte, MaxRequestSize+1)
	if _, err := h.Invoke(context.Background(), fn, "", big, time.Time{}, ""); err == nil {
		t.Errorf("a payload over 6 MB was accepted")
	} else if le := (*lambda.Error)(nil); !errors.As(err, &le) || le.Status != 413 || le.Type != "RequestTooLargeException" {
		t.Errorf("large payload: %v", err)
	}
}

// ---- concurrency ----

// holdPython blocks each invocation until the barrier file exists, so that
// the invocations are surely concurrent whatever the machine's speed.
const holdPython = `import os, time
def hold(event, context):
    while not os.path.exists(event["barrier"]):
        time.sleep(0.005)
    return {"pid": os.getpid()}
`

func holdFunction(t *testing.T, name string) (*Function, string) {
	t.Helper()
	fn := function(name, "python3.12", "hold.hold", writeCode(t, map[string]string{"hold.py": holdPython}))
	fn.Timeout = 120 * time.Second
	barrier := filepath.Join(t.TempDir(), "go")
	return fn, `{"barrier":"` + barrier + `"}`
}

func openBarrier(t *testing.T, payload string) {
	t.Helper()
	var p struct{ Barrier string }
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.Barrier, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *Host) admitted(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running[name]
}

func (h *Host) waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.queue)
}

// A burst larger than the host's workers is served in full by fewer
// workers: calls wait for a worker instead of being throttled.
func TestConcurrencyWaitsAndLeavesNothing(t *testing.T) {
	needPython(t)
	goroutines := runtime.NumGoroutine()
	h := New(t.TempDir(), nil)
	h.trackPIDs = true
	h.MaxWorkers = 3
	fn, payload := holdFunction(t, "burst")

	const n = 40
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		served int
		pids   = map[int]bool{}
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.Invoke(context.Background(), fn, "", []byte(payload), time.Time{}, "")
			if err != nil || res.FunctionError != "" {
				t.Errorf("Invoke: %v %+v", err, res)
				return
			}
			var out struct{ PID int }
			_ = json.Unmarshal(res.Payload, &out)
			mu.Lock()
			served++
			pids[out.PID] = true
			mu.Unlock()
		}()
	}
	// Every call is in: 3 hold a worker, the others wait in line.
	waitFor(t, "the burst to be admitted", 30*time.Second, func() bool { return h.admitted(fn.Name) == n && h.waiting() == n-3 })
	openBarrier(t, payload)
	wg.Wait()

	h.mu.Lock()
	peak, total := h.peak, h.total
	h.mu.Unlock()
	t.Logf("served %d with %d workers, peak %d", served, len(pids), peak)
	if served != n {
		t.Errorf("served %d of %d", served, n)
	}
	if len(pids) > 3 || peak > 3 || total > 3 {
		t.Errorf("%d workers served (peak %d, now %d), limit 3", len(pids), peak, total)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	started := append([]int(nil), h.pids...)
	h.mu.Unlock()
	assertNoProcesses(t, started)
	for pid := range pids {
		if processAlive(pid) {
			t.Errorf("worker %d runs after Close", pid)
		}
	}
	waitFor(t, "the host's goroutines to end", 5*time.Second, func() bool { return runtime.NumGoroutine() <= goroutines })
	if _, err := h.Invoke(context.Background(), fn, "", nil, time.Time{}, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v", err)
	}
}

// With reserved concurrency N, the N+1th concurrent call (of any version of
// the function) is throttled at once with Lambda's answer; 0 throttles all.
func TestReservedConcurrency(t *testing.T) {
	needPython(t)
	h := newHost(t)
	fn, payload := holdFunction(t, "reserved")
	two := 2
	fn.ReservedConcurrency = &two
	v1 := *fn
	v1.ARN += ":1"

	results := make(chan error, 2)
	for _, f := range []*Function{fn, &v1} {
		go func() {
			res, err := h.Invoke(context.Background(), f, "", []byte(payload), time.Time{}, "")
			if err == nil && res.FunctionError != "" {
				err = fmt.Errorf("function error %s", res.Payload)
			}
			results <- err
		}()
	}
	waitFor(t, "two invocations to be admitted", 30*time.Second, func() bool { return h.admitted(fn.Name) == 2 })
	for _, f := range []*Function{fn, &v1} {
		_, err := h.Invoke(context.Background(), f, "", []byte(payload), time.Time{}, "")
		var le *lambda.Error
		if !errors.As(err, &le) || le.Status != 429 || le.Type != "TooManyRequestsException" || le.Message != "Rate Exceeded." ||
			le.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
			t.Errorf("third invocation of %s: %v (%+v)", f.ARN, err, le)
		}
	}
	// Another function is not limited by this one's reservation.
	other := *fn
	other.Name, other.ARN, other.ReservedConcurrency = "other", fn.ARN+"-other", nil
	go func() {
		_, err := h.Invoke(context.Background(), &other, "", []byte(payload), time.Time{}, "")
		results <- err
	}()
	waitFor(t, "the other function to be admitted", 30*time.Second, func() bool { return h.admitted("other") == 1 })
	openBarrier(t, payload)
	for range 3 {
		if err := <-results; err != nil {
			t.Errorf("held invocation: %v", err)
		}
	}
	// The slots are free again.
	if res := invoke(t, h, fn, payload); res.FunctionError != "" {
		t.Errorf("after the burst: %s", res.Payload)
	}

	zero := 0
	fn.ReservedConcurrency = &zero
	_, err := h.Invoke(context.Background(), fn, "", []byte(payload), time.Time{}, "")
	var le *lambda.Error
	if !errors.As(err, &le) || le.Status != 429 || le.Reason != ReasonReserved {
		t.Errorf("reserved concurrency 0: %v", err)
	}
}

// A full host makes room for another function by stopping an idle worker.
func TestFullHostStopsAnIdleWorker(t *testing.T) {
	needPython(t)
	h := newHost(t)
	h.MaxWorkers = 1
	h.IdleTimeout = time.Hour
	dir := writeCode(t, map[string]string{"tools.py": toolsPython})
	a := function("a", "python3.12", "tools.sleepy", dir)
	b := function("b", "python3.12", "tools.sleepy", dir)
	b.Timeout = 60 * time.Second
	pidA := int(decode(t, invoke(t, h, a, `{}`).Payload)["pid"].(float64))
	pidB := int(decode(t, invoke(t, h, b, `{}`).Payload)["pid"].(float64))
	if pidA == pidB {
		t.Fatal("one worker served two functions")
	}
	waitFor(t, "a's idle worker to stop", 5*time.Second, func() bool { return !processAlive(pidA) })
	h.mu.Lock()
	peak := h.peak
	h.mu.Unlock()
	if peak > 1 {
		t.Errorf("peak %d workers, limit 1", peak)
	}
}

// A call waits for a worker no longer than a cold start may take, or its
// deadline (then Lambda's throttle), or its context.
func TestWaitIsBounded(t *testing.T) {
	needPython(t)
	h := newHost(t)
	h.MaxWorkers = 1
	holder, payload := holdFunction(t, "holder")
	done := make(chan error, 1)
	go func() {
		_, err := h.Invoke(context.Background(), holder, "", []byte(payload), time.Time{}, "")
		done <- err
	}()
	waitFor(t, "the holder to be admitted", 30*time.Second, func() bool { return h.admitted(holder.Name) == 1 })

	fn := function("late", "python3.12", "tools.sleepy", writeCode(t, map[string]string{"tools.py": toolsPython}))
	fn.Timeout = time.Minute
	// The wait ends with InitTimeout and the function's timeout, or with the
	// caller's deadline when it comes first.
	_, err := h.Invoke(context.Background(), fn, "", nil, time.Now().Add(200*time.Millisecond), "")
	var le *lambda.Error
	if !errors.As(err, &le) || le.Status != 429 || le.Reason != ReasonConcurrent || le.Message != "Rate Exceeded." {
		t.Errorf("call past its deadline in line: %v", err)
	}
	if n := h.waiting(); n != 0 {
		t.Errorf("%d calls left in line", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := h.Invoke(ctx, fn, "", nil, time.Time{}, "")
		errc <- err
	}()
	waitFor(t, "the call to wait", 30*time.Second, func() bool { return h.waiting() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call in line: %v", err)
	}
	if n := h.waiting(); n != 0 {
		t.Errorf("%d calls left in line", n)
	}
	if n := h.admitted(fn.Name); n != 0 {
		t.Errorf("%d invocations of the cancelled function still counted", n)
	}
	openBarrier(t, payload)
	if err := <-done; err != nil {
		t.Errorf("holder: %v", err)
	}
	// The worker's slot is free again for the other function.
	if res := invoke(t, h, fn, `{}`); res.FunctionError != "" {
		t.Errorf("after the holder: %s", res.Payload)
	}
}

// ---- workers: reuse, revisions, Drop, idle reaping, context ----

func TestWorkerReuse(t *testing.T) {
	needPython(t)
	h := newHost(t)
	h.IdleTimeout = time.Hour
	fn := function("reuse", "python3.12", "tools.sleepy", writeCode(t, map[string]string{"tools.py": toolsPython}))
	pidOf := func() int {
		t.Helper()
		return int(decode(t, invoke(t, h, fn, `{}`).Payload)["pid"].(float64))
	}
	a := pidOf()
	if b := pidOf(); b != a {
		t.Fatalf("a warm worker was not reused: %d then %d", a, b)
	}

	fn2 := *fn
	fn2.Version = "2"
	fn = &fn2
	b := pidOf()
	if b == a {
		t.Fatalf("a worker of another revision was reused")
	}
	waitFor(t, "the old revision's worker to stop", 5*time.Second, func() bool { return !processAlive(a) })

	h.Drop(fn.ARN)
	waitFor(t, "Drop to stop the worker", 5*time.Second, func() bool { return !processAlive(b) })
	if c := pidOf(); c == b {
		t.Fatalf("a dropped worker was reused")
	}

	h2 := newHost(t)
	h2.IdleTimeout = 50 * time.Millisecond
	res := invoke(t, h2, fn, `{}`)
	pid := int(decode(t, res.Payload)["pid"].(float64))
	waitFor(t, "the idle worker to be reaped", 5*time.Second, func() bool {
		h2.mu.Lock()
		defer h2.mu.Unlock()
		return len(h2.pools) == 0 && !processAlive(pid)
	})
}

func TestContextEndsFirst(t *testing.T) {
	needPython(t)
	h := newHost(t)
	fn := function("ctx", "python3.12", "tools.sleepy", writeCode(t, map[string]string{"tools.py": toolsPython}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := h.Invoke(ctx, fn, "", []byte(`{"sleep":0.5}`), time.Time{}, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Invoke = %v, want the context's error", err)
	}
	// A shorter deadline than the function's timeout shortens the invocation.
	id := newRequestID()
	res, err := h.Invoke(context.Background(), fn, id, []byte(`{"sleep":5}`), time.Now().Add(500*time.Millisecond), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Payload), `"Sandbox.Timedout"`) {
		t.Errorf("payload = %s", res.Payload)
	}
}

// ---- logs ----

func TestLogCapture(t *testing.T) {
	needPython(t)
	h := newHost(t)
	fn := function("talker", "python3.12", "tools.talk", writeCode(t, map[string]string{"tools.py": toolsPython}))
	report := `REPORT RequestId: %s\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB`
	for i := 0; i < 3; i++ {
		id := newRequestID()
		res, err := h.Invoke(context.Background(), fn, id, nil, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		want := "START RequestId: " + id + " Version: $LATEST\n" +
			"out:" + id + "\n" +
			"err:" + id + "\n"
		log := string(res.Log)
		if !strings.Contains(log, want) {
			t.Errorf("invocation %d: log lacks %q:\n%s", i, want, log)
		}
		if !regexp.MustCompile(`\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t` + id + `\twarned\n`).MatchString(log) {
			t.Errorf("invocation %d: no logging line:\n%s", i, log)
		}
		cold := ""
		if i == 0 {
			cold = `\tInit Duration: \d+\.\d\d ms`
			if !strings.HasPrefix(log, "init output from tools\nSTART RequestId: ") {
				t.Errorf("the initialisation output does not come before START:\n%s", log)
			}
		} else if strings.Contains(log, "init output") || strings.Contains(log, "Init Duration") {
			t.Errorf("a warm invocation has initialisation output:\n%s", log)
		}
		if !regexp.MustCompile("END RequestId: " + id + "\n" + fmt.Sprintf(report, id) + cold + "\n$").MatchString(log) {
			t.Errorf("invocation %d: END/REPORT lines:\n%q", i, log)
		}
		if n := strings.Count(log, "out:"); n != 1 {
			t.Errorf("invocation %d: %d invocations' output in one log:\n%s", i, n, log)
		}
	}
}

// ---- the Runtime API itself ----

// protocolBootstrap is a custom runtime that probes the Runtime API and
// reports what it answered.
const protocolBootstrap = `#!/usr/bin/env python3
import http.client, json, os
API = os.environ["AWS_LAMBDA_RUNTIME_API"]

def call(method, path, body=None, headers=None):
    c = http.client.HTTPConnection(API)
    c.request(method, "/2018-06-01/runtime" + path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        doc = json.loads(data)
    except Exception:
        doc = data.decode()
    return {"status": r.status, "body": doc}, r.headers

seen = {"early_response": call("POST", "/invocation/x/response", b"{}")[0]}
while True:
    nxt, headers = call("GET", "/invocation/next")
    rid = headers["Lambda-Runtime-Aws-Request-Id"]
    event = nxt["body"]
    mode = event.get("mode")
    if mode == "probe":
        seen["headers"] = {k: headers.get(k) for k in (
            "Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn",
            "Lambda-Runtime-Trace-Id", "Lambda-Runtime-Client-Context", "Content-Type")}
        seen["wrong_id"] = call("POST", "/invocation/not-this-one/response", b"{}")[0]
        seen["next_while_running"] = call("GET", "/invocation/next")[0]
        seen["late_init_error"] = call("POST", "/init/error", b"{}")[0]
        seen["response"] = call("POST", "/invocation/%s/response" % rid, b'{"probed":true}')[0]
        seen["second_response"] = call("POST", "/invocation/%s/response" % rid, b"{}")[0]
    elif mode == "big":
        seen["big"] = call("POST", "/invocation/%s/response" % rid, b"x" * (6291556 + 1))[0]
    elif mode == "error":
        seen["error"] = call("POST", "/invocation/%s/error" % rid, b'{"errorMessage":"custom","errorType":"MyError"}',
                             {"Lambda-Runtime-Function-Error-Type": "MyError"})[0]
    elif mode == "empty_error":
        call("POST", "/invocation/%s/error" % rid, b"", {"Lambda-Runtime-Function-Error-Type": "Unhandled.Thing"})
    else:
        call("POST", "/invocation/%s/response" % rid, json.dumps(seen).encode())
`

func TestRuntimeAPI(t *testing.T) {
	needPython(t)
	h := newHost(t)
	fn := function("protocol", "provided.al2023", "bootstrap", writeCode(t, map[string]string{"bootstrap": protocolBootstrap}))
	probeID := newRequestID()
	res, err := h.Invoke(context.Background(), fn, probeID, []byte(`{"mode":"probe"}`), time.Time{},
		base64.StdEncoding.EncodeToString([]byte(`{"custom": {"a": 1}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Payload) != `{"probed":true}` || res.FunctionError != "" {
		t.Fatalf("probe result = %q %s", res.FunctionError, res.Payload)
	}
	bigRes := invoke(t, h, fn, `{"mode":"big"}`)
	if want := `{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes)."}`; string(bigRes.Payload) != want || bigRes.FunctionError != "Unhandled" {
		t.Errorf("oversized response = %q %s", bigRes.FunctionError, bigRes.Payload)
	}
	errRes := invoke(t, h, fn, `{"mode":"error"}`)
	if string(errRes.Payload) != `{"errorMessage":"custom","errorType":"MyError"}` || errRes.FunctionError != "Unhandled" {
		t.Errorf("error = %q %s", errRes.FunctionError, errRes.Payload)
	}
	emptyRes := invoke(t, h, fn, `{"mode":"empty_error"}`)
	if string(emptyRes.Payload) != `{"errorType":"Unhandled.Thing","errorMessage":""}` {
		t.Errorf("empty error = %s", emptyRes.Payload)
	}
	seen := decode(t, invoke(t, h, fn, `{"mode":"report"}`).Payload)

	status := func(name string) (float64, any) {
		m, _ := seen[name].(map[string]any)
		return m["status"].(float64), m["body"]
	}
	stateErr := func(from, to string) string {
		return fmt.Sprint(map[string]any{"errorType": "InvalidStateTransition",
			"errorMessage": "State transition from " + from + " to " + to + " failed for runtime. Error: State transition is not allowed"})
	}
	cases := []struct {
		name   string
		status float64
		body   string
	}{
		{"early_response", 403, stateErr("Started", "InvocationResponse")},
		{"wrong_id", 400, fmt.Sprint(map[string]any{"errorType": "InvalidRequestID", "errorMessage": "Invalid request ID"})},
		{"next_while_running", 403, stateErr("Running", "Ready")},
		{"late_init_error", 403, stateErr("Running", "InitError")},
		{"response", 202, fmt.Sprint(map[string]any{"status": "OK"})},
		{"second_response", 403, stateErr("RuntimeResponseSentState", "InvocationResponse")},
		{"big", 413, fmt.Sprint(map[string]any{"errorType": "RequestEntityTooLarge", "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes)."})},
		{"error", 202, fmt.Sprint(map[string]any{"status": "OK"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, body := status(c.name)
			if st != c.status || fmt.Sprint(body) != c.body {
				t.Errorf("%s: %v %v, want %v %v", c.name, st, body, c.status, c.body)
			}
		})
	}

	hd, _ := seen["headers"].(map[string]any)
	if hd["Lambda-Runtime-Aws-Request-Id"] != probeID || hd["Lambda-Runtime-Invoked-Function-Arn"] != fn.ARN ||
		hd["Lambda-Runtime-Client-Context"] != `{"custom":{"a":1}}` || hd["Content-Type"] != "application/json" {
		t.Errorf("event headers = %v", hd)
	}
	ms, err := strconv.ParseInt(fmt.Sprint(hd["Lambda-Runtime-Deadline-Ms"]), 10, 64)
	if now := time.Now().UnixMilli(); err != nil || ms < now-20_000 || ms > now+20_000 {
		t.Errorf("Lambda-Runtime-Deadline-Ms = %v", hd["Lambda-Runtime-Deadline-Ms"])
	}
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`).MatchString(fmt.Sprint(hd["Lambda-Runtime-Trace-Id"])) {
		t.Errorf("Lambda-Runtime-Trace-Id = %v", hd["Lambda-Runtime-Trace-Id"])
	}
}

func TestFrame(t *testing.T) {
	got := string(frame([]byte("init"), "id-1", []byte("hello"), []string{"extra"}, 1234567*time.Nanosecond, 0, 128, 42, ""))
	want := "init\nSTART RequestId: id-1 Version: $LATEST\nhello\nextra\nEND RequestId: id-1\n" +
		"REPORT RequestId: id-1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 42 MB\n"
	if got != want {
		t.Errorf("frame =\n%q\nwant\n%q", got, want)
	}
	if !bytes.Contains(frame(nil, "x", nil, nil, time.Millisecond, 2*time.Millisecond, 1, 1, "Status: timeout"), []byte("\tInit Duration: 2.00 ms\tStatus: timeout\n")) {
		t.Errorf("init duration and status are not reported")
	}
}
