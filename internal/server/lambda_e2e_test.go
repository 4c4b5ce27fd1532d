package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// lfZip packs files into a deployment package.
func lfZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func lfClient(in *apigwtest.Instance) *awslambda.Client {
	return awslambda.New(awslambda.Options{
		Region:           apigwtest.Region,
		BaseEndpoint:     aws.String(in.AdminURL),
		Credentials:      credentials.NewStaticCredentialsProvider(apigwtest.AccessKeyID, apigwtest.SecretAccessKey, ""),
		RetryMaxAttempts: 1,
	})
}

// The tutorial's function, exactly as seed 004 writes it.
const lfTutorialPython = `import json

def lambda_handler(event, context):
    body = "Hello from 5minslearn!"
    statusCode = 200
    return {
        "statusCode": statusCode,
        "body": json.dumps(body),
        "headers": {
            "Content-Type": "application/json"
        }
    }
`

// lfProxyAPI integrates GET /hello with the function through AWS_PROXY,
// grants apigateway the permission (the console's "Add permission"),
// deploys to dev and returns the API id.
func lfProxyAPI(t *testing.T, in *apigwtest.Instance, fnARN string) string {
	t.Helper()
	ctx := context.Background()
	c := in.Client
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("DemoAPI")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}); err != nil {
		t.Fatal(err)
	}
	uri := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fnARN + "/invocations"
	if _, err := c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
		Type: types.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(uri)}); err != nil {
		t.Fatal(err)
	}
	account := strings.Split(fnARN, ":")[4]
	if _, err := lfClient(in).AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String(fnARN), StatementId: aws.String("apigw-" + *api.Id),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"),
		SourceArn: aws.String("arn:aws:execute-api:us-east-1:" + account + ":" + *api.Id + "/*/GET/hello")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	return *api.Id
}

func TestLambdaTutorialPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; skipping the Python function test")
	}
	ctx := context.Background()
	in := apigwtest.Start(t)
	lc := lfClient(in)
	fn, err := lc.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("DemoFunction"),
		Runtime:      lambdatypes.RuntimePython312,
		Handler:      aws.String("lambda_function.lambda_handler"),
		Role:         aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code:         &lambdatypes.FunctionCode{ZipFile: lfZip(t, map[string]string{"lambda_function.py": lfTutorialPython})},
	})
	if err != nil {
		t.Fatal(err)
	}
	apiID := lfProxyAPI(t, in, *fn.FunctionArn)
	resp, err := http.Get(in.InvokeURL(apiID, "dev", "/hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `"Hello from 5minslearn!"` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /dev/hello: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	// The console's Test button.
	out, err := in.Client.TestInvokeMethod(ctx, &apigateway.TestInvokeMethodInput{RestApiId: aws.String(apiID),
		ResourceId: lfResourceID(t, in, apiID, "/hello"), HttpMethod: aws.String("GET"), PathWithQueryString: aws.String("/hello")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != 200 || aws.ToString(out.Body) != `"Hello from 5minslearn!"` {
		t.Fatalf("TestInvokeMethod: %d %q", out.Status, aws.ToString(out.Body))
	}

	// The Invoke API with a tail of the log.
	inv, err := lc.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("DemoFunction"), Payload: []byte(`{}`), LogType: lambdatypes.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(inv.Payload, &got); err != nil || got["statusCode"] != float64(200) {
		t.Fatalf("Invoke payload %s: %v", inv.Payload, err)
	}
	if inv.LogResult == nil || inv.FunctionError != nil {
		t.Fatalf("Invoke: LogResult %v FunctionError %v", inv.LogResult, inv.FunctionError)
	}
}

func lfResourceID(t *testing.T, in *apigwtest.Instance, apiID, path string) *string {
	t.Helper()
	res, err := in.Client.GetResources(context.Background(), &apigateway.GetResourcesInput{RestApiId: aws.String(apiID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Items {
		if aws.ToString(r.Path) == path {
			return r.Id
		}
	}
	t.Fatalf("no resource %s", path)
	return nil
}

// TestLambdaRemoteFunction: a function ARN mapped to another Lambda
// endpoint (here a second apigw) is invoked there, signed with SigV4.
func TestLambdaRemoteFunction(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; skipping the remote function test")
	}
	ctx := context.Background()
	remote := apigwtest.Start(t)
	fn, err := lfClient(remote).CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("RemoteFunction"),
		Runtime:      lambdatypes.RuntimePython312,
		Handler:      aws.String("lambda_function.lambda_handler"),
		Role:         aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code:         &lambdatypes.FunctionCode{ZipFile: lfZip(t, map[string]string{"lambda_function.py": lfTutorialPython})},
	})
	if err != nil {
		t.Fatal(err)
	}
	prefix := strings.TrimSuffix(*fn.FunctionArn, "RemoteFunction")
	local := apigwtest.Start(t, func(c *server.Config) {
		c.LambdaRemotes = map[string]string{prefix: remote.AdminURL}
		c.RemoteCredentials = credentials.NewStaticCredentialsProvider(apigwtest.AccessKeyID, apigwtest.SecretAccessKey, "")
	})
	api, err := local.Client.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("remote")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := local.Client.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Client.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
		Type: types.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"),
		Uri: aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + *fn.FunctionArn + "/invocations")}); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(local.InvokeURL(*api.Id, "dev", "/hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `"Hello from 5minslearn!"` {
		t.Fatalf("remote function through AWS_PROXY: %d %q", resp.StatusCode, body)
	}
}
