package lambda

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestFunctionConcurrency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn")
	if _, err := e.client.PublishVersion(ctx, &lambdasdk.PublishVersionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	reserved := func() *int32 {
		t.Helper()
		out, err := e.client.GetFunctionConcurrency(ctx, &lambdasdk.GetFunctionConcurrencyInput{FunctionName: aws.String("fn")})
		if err != nil {
			t.Fatalf("GetFunctionConcurrency: %v", err)
		}
		return out.ReservedConcurrentExecutions
	}
	// What the runner is told, for $LATEST and for a version.
	runnerSees := func(qualifier string) *int {
		t.Helper()
		if _, err := e.client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("fn"), Qualifier: aws.String(qualifier)}); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		calls := e.runner.Calls()
		return calls[len(calls)-1].fn.ReservedConcurrency
	}
	if r := reserved(); r != nil {
		t.Errorf("a new function has reserved concurrency %d", *r)
	}
	if r := runnerSees("$LATEST"); r != nil {
		t.Errorf("runner told reserved concurrency %d for a function without", *r)
	}

	put, err := e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String(testARN("fn")), ReservedConcurrentExecutions: aws.Int32(5)})
	if err != nil || aws.ToInt32(put.ReservedConcurrentExecutions) != 5 {
		t.Fatalf("PutFunctionConcurrency: %v %v", put, err)
	}
	if r := reserved(); aws.ToInt32(r) != 5 {
		t.Errorf("GetFunctionConcurrency = %v", r)
	}
	got, err := e.client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("fn")})
	if err != nil || got.Concurrency == nil || aws.ToInt32(got.Concurrency.ReservedConcurrentExecutions) != 5 {
		t.Errorf("GetFunction Concurrency = %+v (%v)", got.Concurrency, err)
	}
	for _, q := range []string{"$LATEST", "1"} {
		if r := runnerSees(q); r == nil || *r != 5 {
			t.Errorf("runner told reserved concurrency %v for %s", r, q)
		}
	}
	// 0 is a reservation too: it throttles every invocation.
	if _, err := e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String("fn"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if r := reserved(); r == nil || *r != 0 {
		t.Errorf("GetFunctionConcurrency after 0 = %v", r)
	}
	if r := runnerSees("$LATEST"); r == nil || *r != 0 {
		t.Errorf("runner told %v after 0", r)
	}

	if _, err := e.client.DeleteFunctionConcurrency(ctx, &lambdasdk.DeleteFunctionConcurrencyInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	if r := reserved(); r != nil {
		t.Errorf("GetFunctionConcurrency after delete = %d", *r)
	}
	got, err = e.client.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("fn")})
	if err != nil || got.Concurrency != nil {
		t.Errorf("GetFunction Concurrency after delete = %+v (%v)", got.Concurrency, err)
	}
	if r := runnerSees("$LATEST"); r != nil {
		t.Errorf("runner told %d after delete", *r)
	}
}

func TestFunctionConcurrencyErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn")
	e.create(t, "other")
	if _, err := e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String("other"), ReservedConcurrentExecutions: aws.Int32(100)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		call    func() error
		code    string
		status  int
		message string
	}{
		{"negative", func() error {
			_, err := e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String("fn"), ReservedConcurrentExecutions: aws.Int32(-1)})
			return err
		}, ValidationError, 400, "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"unknown function", func() error {
			_, err := e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String("nope"), ReservedConcurrentExecutions: aws.Int32(1)})
			return err
		}, ResourceNotFound, 404, "Function not found: " + testARN("nope")},
		{"get unknown function", func() error {
			_, err := e.client.GetFunctionConcurrency(ctx, &lambdasdk.GetFunctionConcurrencyInput{FunctionName: aws.String("nope")})
			return err
		}, ResourceNotFound, 404, "Function not found: " + testARN("nope")},
		{"delete unknown function", func() error {
			_, err := e.client.DeleteFunctionConcurrency(ctx, &lambdasdk.DeleteFunctionConcurrencyInput{FunctionName: aws.String("nope")})
			return err
		}, ResourceNotFound, 404, "Function not found: " + testARN("nope")},
		{"version", func() error {
			_, err := e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String("fn:1"), ReservedConcurrentExecutions: aws.Int32(1)})
			return err
		}, InvalidParameterValue, 400, "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."},
		{"account's unreserved minimum", func() error {
			_, err := e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String("fn"), ReservedConcurrentExecutions: aws.Int32(801)})
			return err
		}, InvalidParameterValue, 400, "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, m, s := apiError(tt.call())
			if c != tt.code || s != tt.status || m != tt.message {
				t.Errorf("got %s %d %q\nwant %s %d %q", c, s, m, tt.code, tt.status, tt.message)
			}
		})
	}
	// Up to the minimum is fine, and a function's own reservation is
	// replaced, not added.
	for _, n := range []int32{800, 800, 3} {
		if _, err := e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String("fn"), ReservedConcurrentExecutions: aws.Int32(n)}); err != nil {
			t.Errorf("PutFunctionConcurrency %d: %v", n, err)
		}
	}
	// The wire paths, as botocore's model has them; the SDKs check for a
	// missing value before sending, other clients may not.
	for _, c := range []struct {
		method, path, body string
		status             int
		message            string
	}{
		{"GET", "/2019-09-30/functions/fn/concurrency", "", 200, ""},
		{"PUT", "/2015-03-31/functions/fn/concurrency", `{"ReservedConcurrentExecutions":1}`, 404, "Unknown operation: PUT /2015-03-31/functions/fn/concurrency"},
		{"PUT", "/2017-10-31/functions/fn/concurrency", `{}`, 400,
			"1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null"},
	} {
		req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Message string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.status || body.Message != c.message {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, resp.StatusCode, body.Message, c.status, c.message)
		}
	}
}

func TestFunctionConcurrencyAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "f")
	var calls []string
	e.svc.Authorize = func(r *http.Request, action, resource string) error {
		calls = append(calls, action+" "+resource)
		return nil
	}
	e.client.PutFunctionConcurrency(ctx, &lambdasdk.PutFunctionConcurrencyInput{FunctionName: aws.String("f"), ReservedConcurrentExecutions: aws.Int32(1)})
	e.client.GetFunctionConcurrency(ctx, &lambdasdk.GetFunctionConcurrencyInput{FunctionName: aws.String("f")})
	e.client.DeleteFunctionConcurrency(ctx, &lambdasdk.DeleteFunctionConcurrencyInput{FunctionName: aws.String(testARN("f"))})
	want := []string{
		"lambda:PutFunctionConcurrency " + testARN("f"),
		"lambda:GetFunctionConcurrency " + testARN("f"),
		"lambda:DeleteFunctionConcurrency " + testARN("f"),
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("Authorize calls\n%v\nwant\n%v", calls, want)
	}
}

// A throttle carries its Reason, as Lambda answers it.
func TestThrottleErrorShape(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, &Error{Status: 429, Type: TooManyRequests, Message: "Rate Exceeded.", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"})
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}
	if rec.Code != 429 || rec.Header().Get("x-amzn-ErrorType") != TooManyRequests || !reflect.DeepEqual(body, want) {
		t.Errorf("%d %s %v", rec.Code, rec.Header().Get("x-amzn-ErrorType"), body)
	}
}
