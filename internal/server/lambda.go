package server

import (
	"context"
	"time"

	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/lambda/host"
)

// hostRunner runs the Lambda service's functions on the local host
// (lambda.Runner); host imports lambda, so the adapter lives here.
type hostRunner struct{ h *host.Host }

var _ lambda.Runner = hostRunner{}

func (r hostRunner) Invoke(ctx context.Context, fn *lambda.Function, id string, payload []byte, deadline time.Time, clientContext string) (*lambda.RunResult, error) {
	res, err := r.h.Invoke(ctx, &host.Function{
		Name: fn.Name, ARN: fn.ARN, Runtime: fn.Runtime, Handler: fn.Handler, CodeDir: fn.CodeDir, Env: fn.Env,
		Timeout: fn.Timeout, MemoryMB: fn.MemoryMB, Version: fn.Revision, MaxConcurrency: fn.MaxConcurrency,
		ReservedConcurrency: fn.ReservedConcurrency,
	}, id, payload, deadline, clientContext)
	if err != nil {
		return nil, err
	}
	return &lambda.RunResult{Payload: res.Payload, FunctionError: res.FunctionError, Log: res.Log, Duration: res.Duration}, nil
}

func (r hostRunner) Drop(arn string) { r.h.Drop(arn) }
