// Command gofn is a Lambda function for the host's tests, built with
// aws-lambda-go as a provided.al2023 bootstrap.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Name  string  `json:"name"`
	Fail  bool    `json:"fail"`
	Sleep float64 `json:"sleep"`
}

func handle(ctx context.Context, ev event) (map[string]any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("go function called for %s\n", lc.AwsRequestID)
	if ev.Sleep > 0 {
		time.Sleep(time.Duration(ev.Sleep * float64(time.Second)))
	}
	if ev.Fail {
		return nil, errors.New("go function failed")
	}
	deadline, _ := ctx.Deadline()
	return map[string]any{
		"statusCode": 200,
		"body":       "Hello " + ev.Name,
		"requestId":  lc.AwsRequestID,
		"arn":        lc.InvokedFunctionArn,
		"function":   lambdacontext.FunctionName,
		"memory":     lambdacontext.MemoryLimitInMB,
		"region":     os.Getenv("AWS_REGION"),
		"deadlineMs": deadline.UnixMilli(),
		"pid":        os.Getpid(),
	}, nil
}

func main() { lambda.Start(handle) }
