package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestInvokeAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "echo", func(in *lambdasdk.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"KEY": "v"}}
		in.Timeout = aws.Int32(7)
		in.MemorySize = aws.Int32(256)
	})
	cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"a":"b"}}`))
	tests := []struct {
		name        string
		in          lambdasdk.InvokeInput
		status      int32
		payload     string
		funcErr     string
		version     string
		tail        bool
		runnerCalls int
	}{
		{"request response", lambdasdk.InvokeInput{Payload: []byte(`{"a":1}`)}, 200, `{"a":1}`, "", "$LATEST", false, 1},
		{"empty payload", lambdasdk.InvokeInput{}, 200, `{}`, "", "$LATEST", false, 1},
		{"tail", lambdasdk.InvokeInput{Payload: []byte(`[1]`), LogType: types.LogTypeTail}, 200, `[1]`, "", "$LATEST", true, 1},
		{"function error", lambdasdk.InvokeInput{Payload: []byte(`"fail"`), LogType: types.LogTypeTail}, 200,
			`{"errorMessage":"boom","errorType":"Exception"}`, "Unhandled", "$LATEST", true, 1},
		{"dry run", lambdasdk.InvokeInput{InvocationType: types.InvocationTypeDryRun}, 204, "", "", "", false, 0},
		{"event", lambdasdk.InvokeInput{InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"async":true}`)}, 202, "", "", "", false, 1},
		{"client context", lambdasdk.InvokeInput{ClientContext: aws.String(cc), Payload: []byte(`1`)}, 200, `1`, "", "$LATEST", false, 1},
	}
	names := []string{"echo", testARN("echo"), testAccount + ":function:echo", "echo:$LATEST", testARN("echo") + ":$LATEST"}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.runner.Calls())
			in := tt.in
			in.FunctionName = aws.String(names[i%len(names)])
			out, err := e.client.Invoke(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			e.svc.Wait()
			if out.StatusCode != tt.status || string(out.Payload) != tt.payload || aws.ToString(out.FunctionError) != tt.funcErr ||
				aws.ToString(out.ExecutedVersion) != tt.version {
				t.Errorf("Invoke = %d %q error %q version %q", out.StatusCode, out.Payload, aws.ToString(out.FunctionError), aws.ToString(out.ExecutedVersion))
			}
			calls := e.runner.Calls()
			if len(calls)-before != tt.runnerCalls {
				t.Fatalf("runner called %d times, want %d", len(calls)-before, tt.runnerCalls)
			}
			if tt.tail {
				log, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
				if err != nil {
					t.Fatal(err)
				}
				id := calls[len(calls)-1].requestID
				for _, want := range []string{"START RequestId: " + id + " Version: $LATEST\n", "hello from echo\n", "END RequestId: " + id + "\n", "REPORT RequestId: " + id + "\tDuration: "} {
					if !strings.Contains(string(log), want) {
						t.Errorf("log %q lacks %q", log, want)
					}
				}
			} else if out.LogResult != nil {
				t.Errorf("LogResult %q without Tail", aws.ToString(out.LogResult))
			}
			if tt.runnerCalls == 0 {
				return
			}
			c := calls[len(calls)-1]
			if c.fn.Name != "echo" || c.fn.ARN != testARN("echo") || c.fn.Runtime != "python3.12" || c.fn.Handler != "lambda_function.lambda_handler" ||
				c.fn.Env["KEY"] != "v" || c.fn.Timeout != 7*time.Second || c.fn.MemoryMB != 256 || c.fn.Version != "$LATEST" ||
				len(c.files) != 1 || c.fn.Revision == "" {
				t.Errorf("runner got %+v", c)
			}
			if !uuidRE.MatchString(c.requestID) {
				t.Errorf("request id %q", c.requestID)
			}
			if got := c.deadline.Sub(e.now); got != 2*(InitAllowance+7*time.Second) {
				t.Errorf("deadline in %v, want twice the init allowance plus the function's timeout (a wait for a worker, then the run)", got)
			}
			if tt.in.ClientContext != nil && c.clientContext != `{"custom":{"a":"b"}}` {
				t.Errorf("client context %q", c.clientContext)
			}
		})
	}
}

func TestInvokeLogTailIsLast4KB(t *testing.T) {
	long := []byte(strings.Repeat("a", 5000) + "END RequestId: x\n")
	got, _ := base64.StdEncoding.DecodeString(logTail(long))
	if len(got) != 4096 || !strings.HasSuffix(string(got), "END RequestId: x\n") {
		t.Errorf("tail of %d bytes ends %q", len(got), got[len(got)-20:])
	}
}

func TestResourcePolicyEnforcement(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "api")
	e.create(t, "acct")
	const methodARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/hello"
	gw := func(fn, source, account string) *InvokeRequest {
		return &InvokeRequest{FunctionName: testARN(fn), Payload: []byte(`{}`), Principal: "apigateway.amazonaws.com", SourceARN: source, SourceAccount: account}
	}
	invoke := func(req *InvokeRequest) error {
		_, err := e.svc.Invoke(ctx, req)
		return err
	}
	denied := func(t *testing.T, err error) {
		t.Helper()
		var le *Error
		if !errors.As(err, &le) || le.Status != http.StatusForbidden || le.Type != AccessDenied {
			t.Fatalf("got %v, want AccessDeniedException 403", err)
		}
	}
	// No policy: apigateway may not invoke; a signed Invoke API call may.
	denied(t, invoke(gw("api", methodARN, testAccount)))
	if err := invoke(&InvokeRequest{FunctionName: "api"}); err != nil {
		t.Fatalf("invocation without a principal: %v", err)
	}

	out, err := e.client.AddPermission(ctx, &lambdasdk.AddPermissionInput{
		FunctionName: aws.String("api"), StatementId: aws.String("apigateway-get-hello"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("apigateway.amazonaws.com"), SourceArn: aws.String("arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/hello"),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantStatement := `{"Sid":"apigateway-get-hello","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` +
		testARN("api") + `","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/hello"}}}`
	if aws.ToString(out.Statement) != wantStatement {
		t.Errorf("Statement\n%s\nwant\n%s", aws.ToString(out.Statement), wantStatement)
	}
	pol, err := e.client.GetPolicy(ctx, &lambdasdk.GetPolicyInput{FunctionName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Version":"2012-10-17","Id":"default","Statement":[` + wantStatement + `]}`; aws.ToString(pol.Policy) != want {
		t.Errorf("Policy\n%s\nwant\n%s", aws.ToString(pol.Policy), want)
	}

	if _, err := e.client.AddPermission(ctx, &lambdasdk.AddPermissionInput{
		FunctionName: aws.String("acct"), StatementId: aws.String("by-account"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("apigateway.amazonaws.com"), SourceAccount: aws.String(testAccount),
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		req   *InvokeRequest
		allow bool
	}{
		{"matching source ARN", gw("api", methodARN, ""), true},
		{"other stage matches the wildcard", gw("api", "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/hello", ""), true},
		{"other API", gw("api", "arn:aws:execute-api:us-east-1:123456789012:zzz999/prod/GET/hello", ""), false},
		{"other method", gw("api", "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/hello", ""), false},
		{"no source ARN", gw("api", "", testAccount), false},
		{"other service", &InvokeRequest{FunctionName: "api", Principal: "s3.amazonaws.com", SourceARN: methodARN}, false},
		{"source account", gw("acct", methodARN, testAccount), true},
		{"other source account", gw("acct", methodARN, "999999999999"), false},
		{"no source account", gw("acct", methodARN, ""), false},
		{"signed Invoke call", &InvokeRequest{FunctionName: "acct"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := invoke(tt.req)
			if tt.allow && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.allow {
				denied(t, err)
			}
		})
	}

	if _, err := e.client.RemovePermission(ctx, &lambdasdk.RemovePermissionInput{FunctionName: aws.String("api"), StatementId: aws.String("apigateway-get-hello")}); err != nil {
		t.Fatal(err)
	}
	denied(t, invoke(gw("api", methodARN, "")))
	_, err = e.client.GetPolicy(ctx, &lambdasdk.GetPolicyInput{FunctionName: aws.String("api")})
	if c, _, _ := apiError(err); c != ResourceNotFound {
		t.Errorf("GetPolicy after the last RemovePermission: %v", err)
	}
}

func TestGatewayEventInvocation(t *testing.T) {
	e := newEnv(t)
	e.create(t, "bg")
	res, err := e.svc.Invoke(context.Background(), &InvokeRequest{FunctionName: "bg", InvocationType: Event, Payload: []byte(`{"n":1}`)})
	if err != nil || res.StatusCode != 202 || res.Payload != nil {
		t.Fatalf("Event: %+v %v", res, err)
	}
	e.svc.Wait()
	if calls := e.runner.Calls(); len(calls) != 1 || calls[0].payload != `{"n":1}` {
		t.Errorf("runner calls %+v", calls)
	}
	_, err = e.svc.Invoke(context.Background(), &InvokeRequest{FunctionName: "bg", InvocationType: Event, Payload: []byte(`"` + strings.Repeat("x", MaxEventPayloadBytes) + `"`)})
	var le *Error
	if !errors.As(err, &le) || le.Status != 413 || le.Message != "1048578 byte payload is too large for the Event invocation type (limit 1048576 bytes)" {
		t.Errorf("large Event payload: %v", err)
	}
	_, err = e.svc.Invoke(context.Background(), &InvokeRequest{FunctionName: "bg", InvocationType: "Later"})
	if !errors.As(err, &le) || le.Type != ValidationError {
		t.Errorf("unknown invocation type: %v", err)
	}
}

func TestResponseTooLarge(t *testing.T) {
	e := newEnv(t)
	e.create(t, "big")
	e.runner.prefix = `{"pad":"` + strings.Repeat("p", MaxResponseBytes) + `"}`
	res, err := e.svc.Invoke(context.Background(), &InvokeRequest{FunctionName: "big"})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]string
	json.Unmarshal(res.Payload, &doc)
	if res.FunctionError != "Unhandled" || doc["errorType"] != "Function.ResponseSizeTooLarge" ||
		doc["errorMessage"] != "Response payload size exceeded maximum allowed payload size (6291556 bytes)." {
		t.Errorf("oversized response: %s %s", res.FunctionError, res.Payload)
	}
}
