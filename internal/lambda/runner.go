package lambda

import (
	"context"
	"time"
)

// Runner runs functions on this machine: the function host (package host)
// seen through a thin adapter, or a fake in tests.
type Runner interface {
	// Invoke runs one invocation of fn and returns what the function
	// answered. A function error (an exception, a timeout, a crash) is a
	// result with FunctionError set, not an error; an error means the
	// invocation could not be run at all. An error that is a *Error is
	// answered to the caller as is.
	Invoke(ctx context.Context, fn *Function, requestID string, payload []byte, deadline time.Time, clientContext string) (*RunResult, error)
	// Drop stops the warm workers of a function (by its ARN, qualified for
	// a published version), so that the next invocation starts afresh with
	// the function's new code or configuration.
	Drop(fnARN string)
}

// Function is what a Runner needs to know to run a function.
type Function struct {
	Name string
	// ARN identifies the workers: the unqualified ARN for $LATEST, the
	// qualified one ("...:function:name:3") for a published version.
	ARN     string
	Runtime string
	Handler string
	// CodeDir is where the deployment package is unpacked (LAMBDA_TASK_ROOT).
	CodeDir  string
	Env      map[string]string
	Timeout  time.Duration
	MemoryMB int
	Version  string // "$LATEST" or a published version number
	// MaxConcurrency bounds concurrent workers; 0 lets the runner decide.
	// Calls beyond it wait for a worker.
	MaxConcurrency int
	// ReservedConcurrency is the function's reserved concurrency
	// (PutFunctionConcurrency), nil when it has none: at most that many
	// invocations of the function, all versions together, run at once, and
	// the runner throttles the excess at once (TooManyRequestsException).
	ReservedConcurrency *int
	// CodeSha256 is the deployment package's hash (base64 of its SHA-256).
	CodeSha256 string
	// Revision identifies the code and configuration being run: it changes
	// whenever anything the function's workers depend on changes (code,
	// runtime, handler, environment, timeout, memory), so a runner may
	// refuse to reuse a worker started for another Revision.
	Revision string
}

// RunResult is what a Runner returns for one invocation.
type RunResult struct {
	Payload []byte
	// FunctionError is "" on success, "Unhandled" (or "Handled") when the
	// function failed; Payload is then the error document
	// ({"errorMessage": ..., "errorType": ...}).
	FunctionError string
	// Log is the invocation's log (stdout and stderr of the function).
	Log []byte
	// Duration is the function's run time (Lambda's Duration metric), or
	// 0 when the runner does not know it; the service then counts the
	// whole call.
	Duration time.Duration
}
