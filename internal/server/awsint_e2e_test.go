package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// AWS service integrations end to end: moto_server stands for DynamoDB,
// apigw calls it with --aws-endpoint dynamodb=..., signing as a role its
// own STS lets API Gateway assume.

// awsMoto starts moto_server on a free loopback port and returns its URL.
// It skips the test when moto_server is not installed.
func awsMoto(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with moto_server; skipped with -short")
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed (pip install 'moto[server]'); skipping the AWS integration test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := dpClient.Get(u + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer within 30s: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// motoCLI runs the AWS CLI against endpoint with moto's dummy keys.
func motoCLI(t *testing.T, endpoint string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed; skipping")
	}
	cmd := exec.Command("aws", append([]string{"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The movie list of seed 001 ("API Gateway -> DynamoDB, data: movies").
var awsMovies = []struct{ year, title, director string }{
	{"2019", "Parasite", "Bong Joon-ho"},
	{"2003", "Oldboy", "Park Chan-wook"},
	{"2003", "Memories of Murder", "Bong Joon-ho"},
	{"2016", "Train to Busan", "Yeon Sang-ho"},
	{"2022", "Decision to Leave", "Park Chan-wook"},
}

const (
	awsPutItemTemplate = `#set($m = $input.path('$'))
{"TableName": "Movies", "Item": {"year": {"N": "$m.year"}, "title": {"S": "$util.escapeJavaScript($m.title)"}, "director": {"S": "$m.director"}, "addedBy": {"S": "$context.requestId"}}}`
	awsQueryTemplate = `{"TableName": "$stageVariables.table", "KeyConditionExpression": "#y = :y", "ExpressionAttributeNames": {"#y": "year"}, "ExpressionAttributeValues": {":y": {"N": "$input.params('year')"}}}`
	awsListTemplate  = `#set($r = $input.path('$'))
{"count": $r.Count, "movies": [#foreach($i in $r.Items){"title": "$i.title.S", "director": "$i.director.S", "year": $i.year.N}#if($foreach.hasNext),#end#end]}`
	awsErrorTemplate = `{"error": "$input.path('$.message')"}`
)

func TestAWSIntegrationDynamoDB(t *testing.T) {
	moto := awsMoto(t)
	logs := new(apigwtest.LogBuffer)
	in := apigwtest.Start(t, func(c *server.Config) {
		c.AWSEndpoints = map[string]string{"dynamodb": moto}
		c.Log = slog.New(slog.NewTextHandler(logs, nil))
	})
	ctx := t.Context()

	motoCLI(t, moto, "dynamodb", "create-table", "--table-name", "Movies",
		"--attribute-definitions", "AttributeName=year,AttributeType=N", "AttributeName=title,AttributeType=S",
		"--key-schema", "AttributeName=year,KeyType=HASH", "AttributeName=title,KeyType=RANGE",
		"--billing-mode", "PAY_PER_REQUEST")

	// The role API Gateway assumes, as on AWS: it trusts apigateway.amazonaws.com.
	// Another trusts only Lambda: API Gateway may not assume it.
	im := iaIAM(in, iaRoot)
	role := iaMust(im.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("apigw-movies"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}))(t)
	lambdaRole := iaMust(im.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("lambda-only"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}))(t)
	roleARN := aws.ToString(role.Role.Arn)

	a := newDPAPI(t, in, "movies")
	dynamo := func(path, method, action, roleARN, template string) {
		a.integration(path, method, &apigateway.PutIntegrationInput{
			Type: types.IntegrationTypeAws, IntegrationHttpMethod: aws.String("POST"),
			Uri:         aws.String("arn:aws:apigateway:us-east-1:dynamodb:action/" + action),
			Credentials: aws.String(roleARN), PassthroughBehavior: aws.String("WHEN_NO_TEMPLATES"),
			RequestTemplates: map[string]string{"application/json": template},
		})
	}
	a.method("/movies", "POST", false)
	dynamo("/movies", "POST", "PutItem", roleARN, awsPutItemTemplate)
	a.response("/movies", "POST", "200", "", nil, map[string]string{"application/json": `{"saved": true}`})
	a.response("/movies", "POST", "400", `4\d{2}`, nil, map[string]string{"application/json": awsErrorTemplate})

	a.method("/movies/{year}", "GET", false, "method.request.path.year")
	dynamo("/movies/{year}", "GET", "Query", roleARN, awsQueryTemplate)
	a.response("/movies/{year}", "GET", "200", "", nil, map[string]string{"application/json": awsListTemplate})
	a.response("/movies/{year}", "GET", "400", `4\d{2}`, nil, map[string]string{"application/json": awsErrorTemplate})

	a.method("/movie_list", "GET", false)
	dynamo("/movie_list", "GET", "Scan", roleARN, `{"TableName": "Movies"}`)
	a.response("/movie_list", "GET", "200", "", nil, map[string]string{"application/json": awsListTemplate})

	a.method("/wrongrole", "GET", false)
	dynamo("/wrongrole", "GET", "Scan", aws.ToString(lambdaRole.Role.Arn), `{"TableName": "Movies"}`)
	a.response("/wrongrole", "GET", "200", "", nil, nil)
	a.method("/norole", "GET", false)
	dynamo("/norole", "GET", "Scan", "arn:aws:iam::"+in.Server.AccountID+":role/does-not-exist", `{"TableName": "Movies"}`)
	a.response("/norole", "GET", "200", "", nil, nil)
	a.deploy("prod", map[string]string{"table": "Movies"})
	a.deploy("broken", map[string]string{"table": "NoSuchTable"})

	for _, m := range awsMovies {
		body := fmt.Sprintf(`{"year": %s, "title": %q, "director": %q}`, m.year, m.title, m.director)
		r := dpDo(t, "POST", a.url("prod", "/movies"), map[string]string{"Content-Type": "application/json"}, body)
		if r.status != 200 || r.body != `{"saved": true}` {
			t.Fatalf("PutItem %s: %d %s", m.title, r.status, r.body)
		}
	}

	// The items are in moto's table, put there by the gateway.
	var scan struct {
		Items []map[string]map[string]string
	}
	if err := json.Unmarshal([]byte(motoCLI(t, moto, "dynamodb", "scan", "--table-name", "Movies")), &scan); err != nil {
		t.Fatal(err)
	}
	if len(scan.Items) != len(awsMovies) {
		t.Fatalf("moto's table holds %v", scan.Items)
	}
	for _, it := range scan.Items {
		// $context.requestId, rendered by the PutItem template.
		if !dpUUID.MatchString(it["addedBy"]["S"]) || it["title"]["S"] == "" {
			t.Errorf("item %v", it)
		}
	}

	t.Run("Query through the gateway", func(t *testing.T) {
		r := dpDo(t, "GET", a.url("prod", "/movies/2003"), nil, "")
		var got struct {
			Count  int
			Movies []struct{ Title, Director string }
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		if got.Count != 2 || len(got.Movies) != 2 || got.Movies[0].Title != "Memories of Murder" || got.Movies[1].Title != "Oldboy" ||
			got.Movies[1].Director != "Park Chan-wook" {
			t.Errorf("got %s", r.body)
		}
	})

	t.Run("the movie list (Scan)", func(t *testing.T) {
		r := dpDo(t, "GET", a.url("prod", "/movie_list"), nil, "")
		var got struct {
			Count  int
			Movies []struct{ Title string }
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil || got.Count != len(awsMovies) {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})

	t.Run("DynamoDB's error status is mapped by the selection pattern", func(t *testing.T) {
		r := dpDo(t, "GET", a.url("broken", "/movies/2003"), nil, "")
		if r.status != 400 || !strings.Contains(r.body, `"error": "Requested resource not found`) {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})

	t.Run("a role API Gateway may not assume is a 500", func(t *testing.T) {
		for _, p := range []string{"/wrongrole", "/norole"} {
			r := dpDo(t, "GET", a.url("prod", p), nil, "")
			if r.status != 500 || r.body != `{"message":"Internal server error"}` || r.header.Get("X-Amzn-Errortype") != "InternalServerErrorException" {
				t.Errorf("%s: got %d %s %v", p, r.status, r.body, r.header)
			}
		}
		// The test invocation's execution log says why, as the console's does.
		out, err := in.Client.TestInvokeMethod(ctx, &apigateway.TestInvokeMethodInput{RestApiId: aws.String(a.id),
			ResourceId: aws.String(a.resource("/wrongrole")), HttpMethod: aws.String("GET"), PathWithQueryString: aws.String("/wrongrole")})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != 500 || !strings.Contains(aws.ToString(out.Log), "Execution failed due to configuration error: API Gateway does not have permission to assume the provided role") {
			t.Errorf("TestInvokeMethod: %d\n%s", out.Status, aws.ToString(out.Log))
		}
		// So does apigw's log.
		if got := logs.String(); !strings.Contains(got, "API Gateway does not have permission to assume the provided role "+aws.ToString(lambdaRole.Role.Arn)) ||
			!strings.Contains(got, "role/does-not-exist") {
			t.Errorf("the log does not give the reason:\n%s", got)
		}
	})

	t.Run("TestInvokeMethod runs the AWS integration", func(t *testing.T) {
		out, err := in.Client.TestInvokeMethod(ctx, &apigateway.TestInvokeMethodInput{RestApiId: aws.String(a.id),
			ResourceId: aws.String(a.resource("/movies/{year}")), HttpMethod: aws.String("GET"),
			PathWithQueryString: aws.String("/movies/2019"), StageVariables: map[string]string{"table": "Movies"}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != 200 || !strings.Contains(aws.ToString(out.Body), `"title": "Parasite"`) {
			t.Errorf("got %d %s", out.Status, aws.ToString(out.Body))
		}
	})

	t.Run("an AWS_IAM method calls DynamoDB as its caller", func(t *testing.T) {
		res := a.resource("/mine")
		if _, err := in.Client.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(a.id), ResourceId: aws.String(res),
			HttpMethod: aws.String("GET"), AuthorizationType: aws.String("AWS_IAM")}); err != nil {
			t.Fatal(err)
		}
		a.integration("/mine", "GET", &apigateway.PutIntegrationInput{
			Type: types.IntegrationTypeAws, IntegrationHttpMethod: aws.String("POST"),
			Uri:         aws.String("arn:aws:apigateway:us-east-1:dynamodb:action/Scan"),
			Credentials: aws.String("arn:aws:iam::*:user/*"), RequestTemplates: map[string]string{"application/json": `{"TableName": "Movies"}`},
		})
		a.response("/mine", "GET", "200", "", nil, map[string]string{"application/json": awsListTemplate})
		a.deploy("iam", map[string]string{"table": "Movies"})
		req, _ := http.NewRequest("GET", a.url("iam", "/mine"), nil)
		sum := sha256.Sum256(nil)
		if err := iaSigner().SignHTTP(ctx, iaRoot, req, hex.EncodeToString(sum[:]), "execute-api", apigwtest.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := dpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), fmt.Sprintf(`"count": %d`, len(awsMovies))) {
			t.Errorf("signed call: %d %s", resp.StatusCode, b)
		}
		// Unsigned, the method refuses before any call.
		if r := dpDo(t, "GET", a.url("iam", "/mine"), nil, ""); r.status != 403 {
			t.Errorf("unsigned call: %d %s", r.status, r.body)
		}
	})
}

// dpDo sends one request to the data plane.
func dpDo(t *testing.T, method, url string, header map[string]string, body string) lmResp {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := dpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return lmResp{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// A Node function behind Lambda's non-proxy integration: the request
// template is its event, and its error is mapped to 400 by a selection
// pattern on errorMessage.
const awsGreeter = `exports.handler = async (event) => {
  if (!event.name) {
    throw new Error("[BadRequest] name is required");
  }
  return { message: "hello " + event.name, source: event.source };
};
`

func TestLambdaNonProxyIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end Lambda test; skipped with -short")
	}
	lmNeed(t, "node")
	in := apigwtest.Start(t)
	fn := lmCreate(t, in, lmFn{name: "greeter", runtime: lambdatypes.RuntimeNodejs20x, handler: "index.handler",
		zip: lfZip(t, map[string]string{"index.js": awsGreeter})})
	a := newDPAPI(t, in, "greeter")
	lmGrant(t, in, fn, a.id)
	a.method("/hello", "GET", false)
	a.integration("/hello", "GET", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeAws, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(lmInvocationURI(fn)),
		RequestTemplates: map[string]string{"application/json": `{"name": "$!input.params('name')", "source": "$context.accountId"}`},
	})
	a.response("/hello", "GET", "200", "", nil, map[string]string{"application/json": `{"greeting": "$input.path('$.message')", "account": "$input.path('$.source')"}`})
	a.response("/hello", "GET", "400", `\[BadRequest\].*`, nil, map[string]string{"application/json": `{"error": "$input.path('$.errorMessage')"}`})
	a.deploy("dev", nil)

	r := dpDo(t, "GET", a.url("dev", "/hello?name=ana"), nil, "")
	if want := `{"greeting": "hello ana", "account": "` + in.Server.AccountID + `"}`; r.status != 200 || r.body != want {
		t.Errorf("success: %d %s, want %s", r.status, r.body, want)
	}
	r = dpDo(t, "GET", a.url("dev", "/hello"), nil, "")
	if r.status != 400 || r.body != `{"error": "[BadRequest] name is required"}` {
		t.Errorf("function error: %d %s", r.status, r.body)
	}

	out, err := in.Client.TestInvokeMethod(t.Context(), &apigateway.TestInvokeMethodInput{RestApiId: aws.String(a.id),
		ResourceId: aws.String(a.resource("/hello")), HttpMethod: aws.String("GET"), PathWithQueryString: aws.String("/hello")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != 400 || !strings.Contains(aws.ToString(out.Body), "name is required") {
		t.Errorf("TestInvokeMethod: %d %s", out.Status, aws.ToString(out.Body))
	}
}
