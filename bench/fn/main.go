// Command fn is the load harness's Lambda function: a provided.al2023
// bootstrap built with aws-lambda-go that answers every API Gateway proxy
// event with the backend's /small body (128 bytes of JSON), so the
// AWS_PROXY row of bench/run.sh returns what the HTTP rows return.
package main

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// body is {"data":"xxxx..."} padded to 128 bytes, as the backend's /small.
var body = `{"data":"` + strings.Repeat("x", 128-len(`{"data":""}`)) + `"}`

var headers = map[string]string{"Content-Type": "application/json"}

func handle(_ context.Context, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200, Headers: headers, Body: body}, nil
}

func main() { lambda.Start(handle) }
