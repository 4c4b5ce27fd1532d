package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Stage is the stage every benchmark route is deployed to.
const Stage = "bench"

// smallBody is the backend's /small answer, which MOCK and the function
// return too.
var smallBody = `{"data":"` + strings.Repeat("x", 128-len(`{"data":""}`)) + `"}`

// setup creates, through the admin API:
//
//   - REST API "bench", stage "bench", with GET methods:
//     /proxy  HTTP_PROXY to {backend}/small, no auth
//     /key    the same, apiKeyRequired (a usage plan whose limits are never reached)
//     /iam    the same, AWS_IAM (an IAM user allowed execute-api:Invoke on it)
//     /mock   MOCK answering 200 with the /small body
//     /lambda AWS_PROXY to a provided.al2023 function (the zip of -bootstrap)
//     /large  HTTP_PROXY to {backend}/large, no auth
//
// It calls each route once as wrk will, checks the answer is 200 with the
// expected body size, and writes the values the script needs as shell
// assignments to -out.
func setup(args []string) error {
	fs := flag.NewFlagSet("setup", flag.ExitOnError)
	admin := fs.String("admin", "", "apigw admin URL")
	data := fs.String("data", "", "apigw data URL")
	backend := fs.String("backend", "", "backend URL")
	bootstrap := fs.String("bootstrap", "", "the function's bootstrap executable")
	ak := fs.String("ak", os.Getenv("APIGW_ROOT_ACCESS_KEY_ID"), "root access key id")
	sk := fs.String("sk", os.Getenv("APIGW_ROOT_SECRET_ACCESS_KEY"), "root secret access key")
	region := fs.String("region", "us-east-1", "region")
	out := fs.String("out", "", "file to write shell assignments to")
	fs.Parse(args)
	if *admin == "" || *data == "" || *backend == "" || *bootstrap == "" || *ak == "" || *sk == "" || *out == "" {
		return errors.New("-admin, -data, -backend, -bootstrap, -ak, -sk and -out are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := &builder{ctx: ctx, region: *region}
	creds := credentials.NewStaticCredentialsProvider(*ak, *sk, "")
	b.gw = apigateway.New(apigateway.Options{Region: *region, BaseEndpoint: aws.String(*admin), Credentials: creds, RetryMaxAttempts: 1})
	lc := awslambda.New(awslambda.Options{Region: *region, BaseEndpoint: aws.String(*admin), Credentials: creds, RetryMaxAttempts: 1})
	ic := iam.New(iam.Options{Region: *region, BaseEndpoint: aws.String(*admin), Credentials: creds, RetryMaxAttempts: 1})
	sc := sts.New(sts.Options{Region: *region, BaseEndpoint: aws.String(*admin), Credentials: creds, RetryMaxAttempts: 1})

	who, err := sc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("GetCallerIdentity: %w", err)
	}
	account := aws.ToString(who.Account)

	// The function first: its ARN goes into the integration.
	zipped, err := zipBootstrap(*bootstrap)
	if err != nil {
		return err
	}
	fn, err := lc.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("bench-fn"),
		Runtime:      lambdatypes.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Role:         aws.String("arn:aws:iam::" + account + ":role/bench-fn"),
		Code:         &lambdatypes.FunctionCode{ZipFile: zipped},
	})
	if err != nil {
		return fmt.Errorf("CreateFunction: %w", err)
	}
	fnARN := aws.ToString(fn.FunctionArn)

	api, err := b.gw.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("bench")})
	if err != nil {
		return fmt.Errorf("CreateRestApi: %w", err)
	}
	b.api, b.root = aws.ToString(api.Id), aws.ToString(api.RootResourceId)
	small, large := strings.TrimSuffix(*backend, "/")+"/small", strings.TrimSuffix(*backend, "/")+"/large"
	b.httpProxy("proxy", "NONE", false, small)
	b.httpProxy("key", "NONE", true, small)
	b.httpProxy("iam", "AWS_IAM", false, small)
	b.httpProxy("large", "NONE", false, large)
	b.mock("mock", smallBody)
	b.awsProxy("lambda", fnARN)
	if b.err != nil {
		return b.err
	}
	if _, err := lc.AddPermission(ctx, &awslambda.AddPermissionInput{
		FunctionName: aws.String(fnARN), StatementId: aws.String("apigw-bench"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com"),
		SourceArn: aws.String(fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/*/GET/lambda", *region, account, b.api)),
	}); err != nil {
		return fmt.Errorf("AddPermission: %w", err)
	}
	if _, err := b.gw.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(b.api), StageName: aws.String(Stage)}); err != nil {
		return fmt.Errorf("CreateDeployment: %w", err)
	}

	// A usage plan whose limits are never reached at any rate this machine
	// can serve, and a key in it.
	plan, err := b.gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{
		Name:      aws.String("bench"),
		Throttle:  &types.ThrottleSettings{RateLimit: 1_000_000, BurstLimit: 1_000_000},
		Quota:     &types.QuotaSettings{Limit: 2_000_000_000, Period: types.QuotaPeriodTypeMonth},
		ApiStages: []types.ApiStage{{ApiId: aws.String(b.api), Stage: aws.String(Stage)}},
	})
	if err != nil {
		return fmt.Errorf("CreateUsagePlan: %w", err)
	}
	key, err := b.gw.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("bench"), Enabled: true})
	if err != nil {
		return fmt.Errorf("CreateApiKey: %w", err)
	}
	if _, err := b.gw.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: key.Id, KeyType: aws.String("API_KEY")}); err != nil {
		return fmt.Errorf("CreateUsagePlanKey: %w", err)
	}

	// An IAM user (not the root) allowed to invoke GET /iam, so the policy
	// engine runs as it would for a real caller.
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bench")}); err != nil {
		return fmt.Errorf("CreateUser: %w", err)
	}
	resource := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/GET/iam", *region, account, b.api, Stage)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + resource + `"}]}`
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bench"), PolicyName: aws.String("invoke"), PolicyDocument: aws.String(policy)}); err != nil {
		return fmt.Errorf("PutUserPolicy: %w", err)
	}
	ck, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bench")})
	if err != nil {
		return fmt.Errorf("CreateAccessKey: %w", err)
	}
	userCreds := aws.Credentials{AccessKeyID: aws.ToString(ck.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(ck.AccessKey.SecretAccessKey)}

	// Call every route as wrk will. The deployment is served before
	// CreateDeployment answers, but plan and user changes may take a
	// moment: retry for a few seconds.
	host := b.api + ".execute-api." + *region + ".amazonaws.com"
	base := strings.TrimSuffix(*data, "/") + "/" + Stage
	checks := []struct {
		path   string
		size   int
		header map[string]string
		signed bool
	}{
		{"/proxy", 128, nil, false},
		{"/key", 128, map[string]string{"x-api-key": aws.ToString(key.Value)}, false},
		{"/iam", 128, nil, true},
		{"/mock", 128, nil, false},
		{"/lambda", 128, nil, false},
		{"/large", 4096, nil, false},
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for _, c := range checks {
		var last string
		ok := false
		for try := 0; try < 50 && !ok; try++ {
			if try > 0 {
				time.Sleep(100 * time.Millisecond)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+c.path, nil)
			req.Host = host
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			if c.signed {
				if err := signRequest(ctx, req, userCreds, *region, time.Now()); err != nil {
					return err
				}
			}
			resp, err := client.Do(req)
			if err != nil {
				last = err.Error()
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && len(body) == c.size {
				ok = true
			} else {
				last = fmt.Sprintf("%d, %d bytes: %.200s", resp.StatusCode, len(body), body)
			}
		}
		if !ok {
			return fmt.Errorf("GET %s (Host %s): want 200 with %d bytes, got %s", base+c.path, host, c.size, last)
		}
	}

	env := fmt.Sprintf("API_ID='%s'\nAPI_HOST='%s'\nSTAGE='%s'\nAPI_KEY='%s'\nIAM_ACCESS_KEY_ID='%s'\nIAM_SECRET_ACCESS_KEY='%s'\nFUNCTION_ARN='%s'\n",
		b.api, host, Stage, aws.ToString(key.Value), userCreds.AccessKeyID, userCreds.SecretAccessKey, fnARN)
	if strings.Count(env, "'") != 14 {
		return errors.New("a value contains a quote")
	}
	return os.WriteFile(*out, []byte(env), 0o600)
}

// builder creates resources of one API, keeping the first error.
type builder struct {
	ctx       context.Context
	gw        *apigateway.Client
	region    string
	api, root string
	err       error
}

func (b *builder) resource(part string) *string {
	if b.err != nil {
		return nil
	}
	res, err := b.gw.CreateResource(b.ctx, &apigateway.CreateResourceInput{RestApiId: aws.String(b.api), ParentId: aws.String(b.root), PathPart: aws.String(part)})
	if err != nil {
		b.err = fmt.Errorf("CreateResource %s: %w", part, err)
		return nil
	}
	return res.Id
}

func (b *builder) method(res *string, auth string, apiKey bool) {
	if b.err != nil {
		return
	}
	if _, err := b.gw.PutMethod(b.ctx, &apigateway.PutMethodInput{RestApiId: aws.String(b.api), ResourceId: res,
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String(auth), ApiKeyRequired: apiKey}); err != nil {
		b.err = fmt.Errorf("PutMethod: %w", err)
	}
}

func (b *builder) integration(res *string, in *apigateway.PutIntegrationInput) {
	if b.err != nil {
		return
	}
	in.RestApiId, in.ResourceId, in.HttpMethod = aws.String(b.api), res, aws.String("GET")
	if _, err := b.gw.PutIntegration(b.ctx, in); err != nil {
		b.err = fmt.Errorf("PutIntegration: %w", err)
	}
}

func (b *builder) httpProxy(part, auth string, apiKey bool, uri string) {
	res := b.resource(part)
	b.method(res, auth, apiKey)
	b.integration(res, &apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(uri)})
}

func (b *builder) mock(part, body string) {
	res := b.resource(part)
	b.method(res, "NONE", false)
	b.integration(res, &apigateway.PutIntegrationInput{Type: types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}})
	if b.err != nil {
		return
	}
	if _, err := b.gw.PutMethodResponse(b.ctx, &apigateway.PutMethodResponseInput{RestApiId: aws.String(b.api), ResourceId: res,
		HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
		b.err = fmt.Errorf("PutMethodResponse: %w", err)
		return
	}
	if _, err := b.gw.PutIntegrationResponse(b.ctx, &apigateway.PutIntegrationResponseInput{RestApiId: aws.String(b.api), ResourceId: res,
		HttpMethod: aws.String("GET"), StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": body}}); err != nil {
		b.err = fmt.Errorf("PutIntegrationResponse: %w", err)
	}
}

func (b *builder) awsProxy(part, fnARN string) {
	res := b.resource(part)
	b.method(res, "NONE", false)
	uri := "arn:aws:apigateway:" + b.region + ":lambda:path/2015-03-31/functions/" + fnARN + "/invocations"
	b.integration(res, &apigateway.PutIntegrationInput{Type: types.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(uri)})
}

// zipBootstrap packs the executable as "bootstrap", mode 0755.
func zipBootstrap(path string) ([]byte, error) {
	exe, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(exe); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// emptySHA256 is the payload hash of a GET without a body.
var emptySHA256 = func() string { h := sha256.Sum256(nil); return hex.EncodeToString(h[:]) }()

func signRequest(ctx context.Context, req *http.Request, c aws.Credentials, region string, at time.Time) error {
	if err := v4.NewSigner().SignHTTP(ctx, c, req, emptySHA256, "execute-api", region, at); err != nil {
		return fmt.Errorf("SignHTTP: %w", err)
	}
	return nil
}

// sign prints the headers of a signed GET, one "Name: value" a line, for
// wrk's -H. The signature is valid for as long as apigw accepts its
// X-Amz-Date: 5 minutes either way.
func sign(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ExitOnError)
	url := fs.String("url", "", "URL wrk calls")
	host := fs.String("host", "", "Host header wrk sends (default: the URL's)")
	ak := fs.String("ak", "", "access key id")
	sk := fs.String("sk", "", "secret access key")
	region := fs.String("region", "us-east-1", "region")
	fs.Parse(args)
	if *url == "" || *ak == "" || *sk == "" {
		return errors.New("-url, -ak and -sk are required")
	}
	req, err := http.NewRequest(http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	if *host != "" {
		req.Host = *host
	}
	if err := signRequest(context.Background(), req, aws.Credentials{AccessKeyID: *ak, SecretAccessKey: *sk}, *region, time.Now()); err != nil {
		return err
	}
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"} {
		if v := req.Header.Get(k); v != "" {
			fmt.Printf("%s: %s\n", k, v)
		}
	}
	return nil
}
