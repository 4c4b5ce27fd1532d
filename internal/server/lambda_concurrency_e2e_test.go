package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/apigwtest"
)

// lfBarrierPython holds every invocation until the file named by BARRIER
// exists, so that calls are surely concurrent whatever the machine's speed,
// then answers its worker's pid and process group.
const lfBarrierPython = `import json, os, time

def handler(event, context):
    while not os.path.exists(os.environ["BARRIER"]):
        time.sleep(0.005)
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid(), "pgid": os.getpgid(0)})}
`

func lfNeedPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; skipping the Python function test")
	}
}

// lfBarrierFunction creates the holding function and returns its ARN and
// its barrier file.
func lfBarrierFunction(t *testing.T, lc *awslambda.Client, name string) (string, string) {
	t.Helper()
	barrier := filepath.Join(t.TempDir(), "open")
	fn, err := lc.CreateFunction(context.Background(), &awslambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      lambdatypes.RuntimePython312,
		Handler:      aws.String("lambda_function.handler"),
		Role:         aws.String("arn:aws:iam::123456789012:role/lambda"),
		Timeout:      aws.Int32(120), // how long a call may wait in line, too
		Environment:  &lambdatypes.Environment{Variables: map[string]string{"BARRIER": barrier}},
		Code:         &lambdatypes.FunctionCode{ZipFile: lfZip(t, map[string]string{"lambda_function.py": lfBarrierPython})},
	})
	if err != nil {
		t.Fatal(err)
	}
	return *fn.FunctionArn, barrier
}

func lfOpen(t *testing.T, barrier string) {
	t.Helper()
	if err := os.WriteFile(barrier, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// lfWrote is a context whose HTTP request, once fully sent, counts in n.
func lfWrote(n *atomic.Int64) context.Context {
	return httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { n.Add(1) },
	})
}

func lfPoll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

// lfProcessesIn lists the live processes of the given process groups.
func lfProcessesIn(groups map[int]bool) []string {
	var left []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		if pgrp, _ := strconv.Atoi(f[2]); groups[pgrp] || groups[pid] {
			left = append(left, fmt.Sprintf("pid %d %s", pid, s[:i+1]))
		}
	}
	return left
}

// 200 concurrent calls to a Python function with the default settings are
// all served, through the gateway (AWS_PROXY) and through the Invoke API:
// the host runs as many workers as the machine allows and the others wait.
// No worker process is left once apigw stops.
func TestLambdaBurstIsServed(t *testing.T) {
	lfNeedPython(t)
	const n = 200
	in := apigwtest.Start(t)
	lc := lfClient(in)
	var mu sync.Mutex
	groups := map[int]bool{}
	note := func(body []byte) error {
		var out struct{ PID, PGID int }
		if err := json.Unmarshal(body, &out); err != nil || out.PID == 0 {
			return fmt.Errorf("body %q: %v", body, err)
		}
		mu.Lock()
		groups[out.PGID], groups[out.PID] = true, true
		mu.Unlock()
		return nil
	}

	t.Run("AWS_PROXY", func(t *testing.T) {
		arn, barrier := lfBarrierFunction(t, lc, "burst-proxy")
		url := in.InvokeURL(lfProxyAPI(t, in, arn), "dev", "/hello")
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
		t.Cleanup(client.CloseIdleConnections)
		var wrote atomic.Int64
		statuses := make(chan string, n)
		for range n {
			go func() {
				req, _ := http.NewRequestWithContext(lfWrote(&wrote), "GET", url, nil)
				resp, err := client.Do(req)
				if err != nil {
					statuses <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					statuses <- fmt.Sprintf("%d %s", resp.StatusCode, body)
					return
				}
				if err := note(body); err != nil {
					statuses <- err.Error()
					return
				}
				statuses <- "200"
			}()
		}
		// No call can be answered 200 before the barrier opens: once all
		// are sent, all 200 are in flight at once.
		lfPoll(t, "all requests to be sent", func() bool { return wrote.Load() == n })
		lfOpen(t, barrier)
		counts := map[string]int{}
		for range n {
			counts[<-statuses]++
		}
		if counts["200"] != n {
			t.Errorf("answers: %v", counts)
		}
	})

	t.Run("Invoke", func(t *testing.T) {
		_, barrier := lfBarrierFunction(t, lc, "burst-invoke")
		var wrote atomic.Int64
		errs := make(chan error, n)
		for range n {
			go func() {
				out, err := lc.Invoke(lfWrote(&wrote), &awslambda.InvokeInput{FunctionName: aws.String("burst-invoke")})
				switch {
				case err != nil:
				case out.FunctionError != nil:
					err = fmt.Errorf("function error %s", out.Payload)
				default:
					var proxy struct{ Body string }
					if err = json.Unmarshal(out.Payload, &proxy); err == nil {
						err = note([]byte(proxy.Body))
					}
				}
				errs <- err
			}()
		}
		lfPoll(t, "all requests to be sent", func() bool { return wrote.Load() == n })
		lfOpen(t, barrier)
		failed := 0
		for range n {
			if err := <-errs; err != nil {
				if failed++; failed <= 3 {
					t.Errorf("Invoke: %v", err)
				}
			}
		}
		if failed > 0 {
			t.Errorf("%d of %d invocations failed", failed, n)
		}
	})

	mu.Lock()
	workers := len(groups)
	mu.Unlock()
	t.Logf("%d calls served by %d worker processes", 2*n, workers)
	in.Stop(t)
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		if left = lfProcessesIn(groups); len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling /proc with a deadline
	}
	if len(left) > 0 {
		t.Errorf("worker processes left after stop: %v", left)
	}
}

// With reserved concurrency 2, two calls run and the others get AWS's
// answer at once: 429 TooManyRequestsException from the Invoke API, 500
// from an AWS_PROXY method. 0 throttles every call; deleting it lifts it.
func TestLambdaReservedConcurrency(t *testing.T) {
	lfNeedPython(t)
	ctx := context.Background()
	in := apigwtest.Start(t)
	lc := lfClient(in)
	arn, barrier := lfBarrierFunction(t, lc, "reserved")
	url := in.InvokeURL(lfProxyAPI(t, in, arn), "dev", "/hello")
	put, err := lc.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("reserved"), ReservedConcurrentExecutions: aws.Int32(2)})
	if err != nil || aws.ToInt32(put.ReservedConcurrentExecutions) != 2 {
		t.Fatalf("PutFunctionConcurrency: %v %v", put, err)
	}
	got, err := lc.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("reserved")})
	if err != nil || got.Concurrency == nil || aws.ToInt32(got.Concurrency.ReservedConcurrentExecutions) != 2 {
		t.Fatalf("GetFunction Concurrency: %+v %v", got, err)
	}

	const n = 10
	type answer struct {
		status int
		body   string
		header http.Header
	}
	answers := make(chan answer, n)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	t.Cleanup(client.CloseIdleConnections)
	for range n {
		go func() {
			resp, err := client.Get(url)
			if err != nil {
				answers <- answer{body: err.Error()}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{resp.StatusCode, string(body), resp.Header}
		}()
	}
	// Two calls hold the reservation until the barrier opens: the other
	// eight are answered first, and all with the throttle.
	for range n - 2 {
		a := <-answers
		var body struct{ Message string }
		_ = json.Unmarshal([]byte(a.body), &body)
		if a.status != 500 || body.Message != "Internal server error" || a.header.Get("x-amzn-ErrorType") != "InternalServerErrorException" {
			t.Errorf("throttled call: %d %q %v", a.status, a.body, a.header)
		}
	}
	// The Invoke API is throttled too while the two run.
	_, err = lc.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("reserved")})
	var tm *lambdatypes.TooManyRequestsException
	if !errors.As(err, &tm) || tm.Reason != lambdatypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded ||
		aws.ToString(tm.Message) != "Rate Exceeded." || aws.ToString(tm.Type) != "User" {
		t.Errorf("Invoke beyond the reservation: %v", err)
	}
	lfOpen(t, barrier)
	for range 2 {
		if a := <-answers; a.status != 200 {
			t.Errorf("admitted call: %d %q", a.status, a.body)
		}
	}

	if _, err := lc.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("reserved"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = lc.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("reserved")})
	apigwtest.WantAPIError(t, err, 429, "TooManyRequestsException", "Rate Exceeded.")
	if resp, err := client.Get(url); err != nil || resp.StatusCode != 500 {
		t.Errorf("AWS_PROXY with reserved concurrency 0: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	if _, err := lc.DeleteFunctionConcurrency(ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("reserved")}); err != nil {
		t.Fatal(err)
	}
	g, err := lc.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("reserved")})
	if err != nil || g.ReservedConcurrentExecutions != nil {
		t.Errorf("GetFunctionConcurrency after delete: %v %v", g, err)
	}
	if out, err := lc.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("reserved")}); err != nil || out.FunctionError != nil {
		t.Errorf("Invoke after DeleteFunctionConcurrency: %v", err)
	}
}

// The AWS CLI's reserved concurrency commands, and IAM authorization of the
// lambda:*FunctionConcurrency actions.
func TestLambdaConcurrencyCLIAndIAM(t *testing.T) {
	ctx := context.Background()
	in := apigwtest.Start(t)
	lc := lfClient(in)
	if _, err := lc.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("cli"),
		Runtime:      lambdatypes.RuntimePython312,
		Handler:      aws.String("lambda_function.lambda_handler"),
		Role:         aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code:         &lambdatypes.FunctionCode{ZipFile: lfZip(t, map[string]string{"lambda_function.py": lfTutorialPython})},
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("IAM", func(t *testing.T) {
		acct := iaAccount(t, in)
		fnARN := "arn:aws:lambda:" + apigwtest.Region + ":" + acct + ":function:cli"
		creds := iaNewUser(t, iaIAM(in, iaRoot), "reader", iaAllow("lambda:GetFunctionConcurrency", fnARN))
		user := awslambda.New(awslambda.Options{Region: apigwtest.Region, BaseEndpoint: aws.String(in.AdminURL),
			Credentials: iaCredsProvider(creds), RetryMaxAttempts: 1})
		if _, err := user.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("cli")}); err != nil {
			t.Errorf("allowed GetFunctionConcurrency: %v", err)
		}
		userARN := "arn:aws:iam::" + acct + ":user/reader"
		_, err := user.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("cli"), ReservedConcurrentExecutions: aws.Int32(1)})
		apigwtest.WantAPIError(t, err, 403, "AccessDeniedException", "User: "+userARN+" is not authorized to perform: lambda:PutFunctionConcurrency on resource: "+fnARN+" because no identity-based policy allows the lambda:PutFunctionConcurrency action")
		_, err = user.DeleteFunctionConcurrency(ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("cli")})
		apigwtest.WantAPIError(t, err, 403, "AccessDeniedException", "User: "+userARN+" is not authorized to perform: lambda:DeleteFunctionConcurrency on resource: "+fnARN+" because no identity-based policy allows the lambda:DeleteFunctionConcurrency action")
	})

	t.Run("CLI", func(t *testing.T) {
		if _, err := exec.LookPath("aws"); err != nil {
			t.Skip("the AWS CLI (aws) is not installed: skipping the CLI walk-through")
		}
		home := t.TempDir()
		run := func(args ...string) map[string]any {
			t.Helper()
			cmd := exec.Command("aws", append([]string{"--endpoint-url", in.AdminURL, "--output", "json", "lambda"}, args...)...)
			cmd.Env = append(os.Environ(),
				"HOME="+home, "AWS_CONFIG_FILE="+home+"/none", "AWS_SHARED_CREDENTIALS_FILE="+home+"/none",
				"AWS_ACCESS_KEY_ID="+apigwtest.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+apigwtest.SecretAccessKey,
				"AWS_DEFAULT_REGION="+apigwtest.Region, "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "NO_PROXY=127.0.0.1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("aws lambda %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			v := map[string]any{}
			if len(strings.TrimSpace(string(out))) > 0 {
				if err := json.Unmarshal(out, &v); err != nil {
					t.Fatalf("aws lambda %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			return v
		}
		if got := run("put-function-concurrency", "--function-name", "cli", "--reserved-concurrent-executions", "3"); got["ReservedConcurrentExecutions"] != float64(3) {
			t.Errorf("put-function-concurrency: %v", got)
		}
		if got := run("get-function-concurrency", "--function-name", "cli"); got["ReservedConcurrentExecutions"] != float64(3) {
			t.Errorf("get-function-concurrency: %v", got)
		}
		if c, _ := run("get-function", "--function-name", "cli")["Concurrency"].(map[string]any); c["ReservedConcurrentExecutions"] != float64(3) {
			t.Errorf("get-function Concurrency: %v", c)
		}
		run("delete-function-concurrency", "--function-name", "cli")
		if got := run("get-function-concurrency", "--function-name", "cli"); len(got) != 0 {
			t.Errorf("get-function-concurrency after delete: %v", got)
		}
	})
}
