// Package lambda is apigw's Lambda service: the Lambda management API
// (service "lambda" on the admin listener), functions hosted on this machine
// by package host, and calls to remote Lambda-compatible endpoints.
package lambda

import (
	"context"
	"fmt"
)

// Invoker runs functions. The gateway's AWS_PROXY integration and Lambda
// authorizers call functions through it.
type Invoker interface {
	Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResult, error)
}

// InvokeRequest is one invocation, as the Invoke API describes it.
type InvokeRequest struct {
	// FunctionName is a name, a full or partial ARN, optionally with a
	// ":qualifier" (version or alias).
	FunctionName   string
	Qualifier      string
	Payload        []byte
	InvocationType string // "RequestResponse" (default), "Event" or "DryRun"
	LogType        string // "None" (default) or "Tail"
	ClientContext  string // base64 JSON, passed to the function

	// Who calls, for the function's resource policy (AddPermission):
	// empty for a signed Invoke API call (the caller's IAM policies apply
	// instead), or e.g. Principal "apigateway.amazonaws.com" with SourceARN
	// the method ARN "arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}".
	Principal     string
	SourceARN     string
	SourceAccount string
}

// InvokeResult is what Invoke returns.
type InvokeResult struct {
	StatusCode      int    // 200 RequestResponse, 202 Event, 204 DryRun
	Payload         []byte // the function's response, or its error document
	FunctionError   string // "" on success, "Unhandled" (or "Handled") on a function error
	LogResult       string // base64 of the last 4 KB of the invocation's log, when LogType is Tail
	ExecutedVersion string
}

// Error is a Lambda service error, in the REST-JSON shape of the Lambda API
// (x-amzn-ErrorType, {"Type": "User", "message": ...}).
type Error struct {
	Status  int
	Type    string // e.g. "ResourceNotFoundException"
	Message string
	// Reason is the throttle reason of a TooManyRequestsException (e.g.
	// "ReservedFunctionConcurrentInvocationLimitExceeded"), or "".
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Type, e.Message) }
