package server_test

// End-to-end tests of what every answer of the admin listener carries: an
// AWS-shaped error for odd paths and bad page tokens (never a redirect),
// and a request id the AWS SDKs read, on success and on every error.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/apigw/apigw/internal/apigwtest"
)

var aaUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// aaSend sends a request to the admin listener signed for service with the
// root key (secret "" is the right secret, "-" leaves it unsigned), and
// returns the answer with its body read. signedPath, when set, is the path
// the signature covers: SigV4 signs a path with its "." and ".." segments
// and empty segments removed, as the AWS SDKs but Go's compute it.
func aaSend(t *testing.T, in *apigwtest.Instance, service, method, path, signedPath string, header http.Header, body []byte, secret string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, in.AdminURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sent := req.URL.Path
	if signedPath != "" {
		req.URL.Path = signedPath
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if secret != "-" {
		if secret == "" {
			secret = apigwtest.SecretAccessKey
		}
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), service, apigwtest.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	req.URL.Path = sent
	// No redirect is followed: the test sees what apigw answered.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

func aaWantRequestID(t *testing.T, resp *http.Response) string {
	t.Helper()
	ids := resp.Header.Values("x-amzn-RequestId")
	if len(ids) != 1 || !aaUUID.MatchString(ids[0]) {
		t.Errorf("x-amzn-RequestId = %q, want one UUID v4", ids)
		return ""
	}
	return ids[0]
}

func TestAdminOddPaths(t *testing.T) {
	in := apigwtest.Start(t)
	for _, tc := range []struct {
		service, method, path, signed string
		status                        int
		errType, msg                  string
	}{
		{"apigateway", "GET", "/restapis/../restapis", "/restapis", 404, "UnknownOperationException", "Unknown operation: GET /restapis/../restapis"},
		{"apigateway", "GET", "/restapis/x/..", "/restapis/", 404, "UnknownOperationException", "Unknown operation: GET /restapis/x/.."},
		{"apigateway", "GET", "/restapis/./x", "/restapis/x", 404, "UnknownOperationException", "Unknown operation: GET /restapis/./x"},
		{"apigateway", "GET", "//restapis", "/restapis", 404, "UnknownOperationException", "Unknown operation: GET //restapis"},
		{"apigateway", "GET", "/restapis//resources", "/restapis/resources", 404, "UnknownOperationException", "Unknown operation: GET /restapis//resources"},
		{"apigateway", "GET", "/restapis/", "", 404, "UnknownOperationException", "Unknown operation: GET /restapis/"},
		{"apigateway", "DELETE", "/restapis//", "/restapis/", 404, "UnknownOperationException", "Unknown operation: DELETE /restapis//"},
		{"apigateway", "GET", "/nothing/here", "", 404, "UnknownOperationException", "Unknown operation: GET /nothing/here"},
		{"apigateway", "PUT", "/restapis", "", 404, "UnknownOperationException", "Unknown operation: PUT /restapis"},
		// Encoded dots are an identifier like any other, never a traversal.
		{"apigateway", "GET", "/restapis/%2e%2e", "", 404, "NotFoundException", "Invalid API identifier specified"},
		{"lambda", "GET", "/2015-03-31/functions/../functions", "/2015-03-31/functions", 404, "UnknownOperationException", "Unknown operation: GET /2015-03-31/functions/../functions"},
		{"lambda", "GET", "/2015-03-31//functions", "/2015-03-31/functions", 404, "UnknownOperationException", "Unknown operation: GET /2015-03-31//functions"},
		{"lambda", "GET", "/2015-03-31/functions/x/./configuration", "/2015-03-31/functions/x/configuration", 404, "UnknownOperationException", "Unknown operation: GET /2015-03-31/functions/x/./configuration"},
		{"lambda", "GET", "/2015-03-31/nothing", "", 404, "UnknownOperationException", "Unknown operation: GET /2015-03-31/nothing"},
	} {
		t.Run(tc.service+" "+tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := aaSend(t, in, tc.service, tc.method, tc.path, tc.signed, nil, nil, "")
			mgWantRawErr(t, resp, body, tc.status, tc.errType, tc.msg)
			aaWantRequestID(t, resp)
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("Location = %q: an AWS API never redirects", loc)
			}
		})
	}
	t.Run("health", func(t *testing.T) {
		resp, body := aaSend(t, in, "", "GET", "/_apigw/health", "", nil, nil, "-")
		if resp.StatusCode != 200 || string(body) != `{"status":"ok","store":{"type":"sqlite","status":"ok"}}` {
			t.Errorf("health = %d %s", resp.StatusCode, body)
		}
	})
}

func TestAdminInvalidPageTokens(t *testing.T) {
	in := apigwtest.Start(t)
	c, ctx := in.Client, t.Context()
	apiID, _ := mgNewAPI(t, c, "tokens")
	plan := mgMust(c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p")}))(t)
	bad := aws.String("garbage")
	const msg = "Invalid position parameter"
	for name, call := range map[string]func() error{
		"GetRestApis": func() error { _, err := c.GetRestApis(ctx, &apigateway.GetRestApisInput{Position: bad}); return err },
		"GetResources": func() error {
			_, err := c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String(apiID), Position: bad})
			return err
		},
		"GetDeployments": func() error {
			_, err := c.GetDeployments(ctx, &apigateway.GetDeploymentsInput{RestApiId: aws.String(apiID), Position: bad})
			return err
		},
		"GetAuthorizers": func() error {
			_, err := c.GetAuthorizers(ctx, &apigateway.GetAuthorizersInput{RestApiId: aws.String(apiID), Position: bad})
			return err
		},
		"GetApiKeys": func() error { _, err := c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{Position: bad}); return err },
		"GetUsagePlans": func() error {
			_, err := c.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{Position: bad})
			return err
		},
		"GetUsagePlanKeys": func() error {
			_, err := c.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: plan.Id, Position: bad})
			return err
		},
		"GetUsage": func() error {
			day := time.Now().UTC().Format("2006-01-02")
			_, err := c.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: plan.Id, StartDate: aws.String(day), EndDate: aws.String(day), Position: bad})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			apigwtest.WantAPIError(t, call(), 400, "BadRequestException", msg)
		})
	}
	t.Run("limit", func(t *testing.T) {
		for _, limit := range []string{"0", "501", "-1", "x"} {
			resp, body := aaSend(t, in, "apigateway", "GET", "/restapis?limit="+limit, "", nil, nil, "")
			mgWantRawErr(t, resp, body, 400, "BadRequestException", "Invalid limit")
		}
	})
	t.Run("a token handed out still works", func(t *testing.T) {
		mgNewAPI(t, c, "tokens-2")
		first := mgMust(c.GetRestApis(ctx, &apigateway.GetRestApisInput{Limit: aws.Int32(1)}))(t)
		if first.Position == nil {
			t.Fatal("no position after the first of two APIs")
		}
		next := mgMust(c.GetRestApis(ctx, &apigateway.GetRestApisInput{Limit: aws.Int32(1), Position: first.Position}))(t)
		if len(next.Items) != 1 || aws.ToString(next.Items[0].Id) == aws.ToString(first.Items[0].Id) {
			t.Errorf("second page = %+v after %+v", next.Items, first.Items)
		}
	})

	lc := lfClient(in)
	mgMust(lc.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("tokens"), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code: &lambdatypes.FunctionCode{ZipFile: lfZip(t, map[string]string{"app.py": "def handler(e, c):\n    return e\n"})},
	}))(t)
	t.Run("ListFunctions", func(t *testing.T) {
		_, err := lc.ListFunctions(ctx, &awslambda.ListFunctionsInput{Marker: bad})
		apigwtest.WantAPIError(t, err, 400, "InvalidParameterValueException", "Invalid pagination marker: garbage")
	})
	t.Run("ListVersionsByFunction", func(t *testing.T) {
		_, err := lc.ListVersionsByFunction(ctx, &awslambda.ListVersionsByFunctionInput{FunctionName: aws.String("tokens"), Marker: bad})
		apigwtest.WantAPIError(t, err, 400, "InvalidParameterValueException", "Invalid pagination marker: garbage")
	})
	t.Run("IAM ListUsers", func(t *testing.T) {
		_, err := iaIAM(in, aaRoot).ListUsers(ctx, &iam.ListUsersInput{Marker: bad})
		apigwtest.WantAPIError(t, err, 400, "InvalidInput", "Invalid Marker.")
	})
}

var aaRoot = aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: apigwtest.SecretAccessKey}

// aaSDKRequestID is the request id an aws-sdk-go-v2 client read from an
// answer: from the result's metadata, or from the error.
func aaSDKRequestID(t *testing.T, md middleware.Metadata, err error) string {
	t.Helper()
	if err != nil {
		var re *awshttp.ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("error without an HTTP response: %v", err)
		}
		return re.ServiceRequestID()
	}
	id, _ := awsmiddleware.GetRequestIDMetadata(md)
	return id
}

func TestAdminRequestIDs(t *testing.T) {
	in := apigwtest.Start(t)
	ctx := t.Context()
	wrong := aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: "not-the-secret"}
	unknown := aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: "x"}
	type call func(c aws.Credentials) (middleware.Metadata, error)
	services := map[string]struct{ ok, fails call }{
		"apigateway": {
			ok: func(c aws.Credentials) (middleware.Metadata, error) {
				out, err := iaAPIGW(in, c).GetRestApis(ctx, &apigateway.GetRestApisInput{})
				if err != nil {
					return middleware.Metadata{}, err
				}
				return out.ResultMetadata, nil
			},
			fails: func(c aws.Credentials) (middleware.Metadata, error) {
				_, err := iaAPIGW(in, c).GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String("nope")})
				return middleware.Metadata{}, err
			},
		},
		"lambda": {
			ok: func(c aws.Credentials) (middleware.Metadata, error) {
				out, err := aaLambda(in, c).ListFunctions(ctx, &awslambda.ListFunctionsInput{})
				if err != nil {
					return middleware.Metadata{}, err
				}
				return out.ResultMetadata, nil
			},
			fails: func(c aws.Credentials) (middleware.Metadata, error) {
				_, err := aaLambda(in, c).GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("nope")})
				return middleware.Metadata{}, err
			},
		},
		"iam": {
			ok: func(c aws.Credentials) (middleware.Metadata, error) {
				out, err := iaIAM(in, c).ListUsers(ctx, &iam.ListUsersInput{})
				if err != nil {
					return middleware.Metadata{}, err
				}
				return out.ResultMetadata, nil
			},
			fails: func(c aws.Credentials) (middleware.Metadata, error) {
				_, err := iaIAM(in, c).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nope")})
				return middleware.Metadata{}, err
			},
		},
		"sts": {
			ok: func(c aws.Credentials) (middleware.Metadata, error) {
				out, err := iaSTS(in, c).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil {
					return middleware.Metadata{}, err
				}
				return out.ResultMetadata, nil
			},
			fails: func(c aws.Credentials) (middleware.Metadata, error) {
				_, err := iaSTS(in, c).AssumeRole(ctx, &sts.AssumeRoleInput{
					RoleArn: aws.String("arn:aws:iam::123456789012:role/nope"), RoleSessionName: aws.String("s")})
				return middleware.Metadata{}, err
			},
		},
	}
	for name, svc := range services {
		for _, tc := range []struct {
			name    string
			f       call
			creds   aws.Credentials
			wantErr bool
		}{
			{"success", svc.ok, aaRoot, false},
			{"operation error", svc.fails, aaRoot, true},
			{"bad signature", svc.ok, wrong, true},
			{"unknown key", svc.ok, unknown, true},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				md, err := tc.f(tc.creds)
				if (err != nil) != tc.wantErr {
					t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
				}
				if id := aaSDKRequestID(t, md, err); !aaUUID.MatchString(id) {
					t.Errorf("SDK request id = %q, want a UUID v4 (err %v)", id, err)
				}
			})
		}
	}

	// The Query APIs name the id in the body too: the same as the header.
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, tc := range []struct {
		name, service, body, secret, wantPath string
	}{
		{"iam success", "iam", "Action=ListUsers&Version=2010-05-08", "", "ListUsersResponse>ResponseMetadata>RequestId"},
		{"iam error", "iam", "Action=GetUser&UserName=nope&Version=2010-05-08", "", "ErrorResponse>RequestId"},
		{"iam bad signature", "iam", "Action=ListUsers&Version=2010-05-08", "wrong", "ErrorResponse>RequestId"},
		{"iam unsigned", "iam", "Action=ListUsers&Version=2010-05-08", "-", "ErrorResponse>RequestId"},
		{"sts success", "sts", "Action=GetCallerIdentity&Version=2011-06-15", "", "GetCallerIdentityResponse>ResponseMetadata>RequestId"},
		{"sts unsigned", "sts", "Action=GetCallerIdentity&Version=2011-06-15", "-", "ErrorResponse>RequestId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := aaSend(t, in, tc.service, "POST", "/", "", form, []byte(tc.body), tc.secret)
			header := aaWantRequestID(t, resp)
			var doc struct {
				XMLName   xml.Name
				RequestID string `xml:"RequestId"`
				Metadata  struct {
					RequestID string `xml:"RequestId"`
				} `xml:"ResponseMetadata"`
			}
			if err := xml.Unmarshal(body, &doc); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			inBody := doc.RequestID
			if strings.Contains(tc.wantPath, "ResponseMetadata") {
				inBody = doc.Metadata.RequestID
			}
			if root := strings.Split(tc.wantPath, ">")[0]; doc.XMLName.Local != root {
				t.Errorf("root element %q, want %q (body %s)", doc.XMLName.Local, root, body)
			}
			if inBody == "" || inBody != header {
				t.Errorf("%s = %q, header %q: want the same id (body %s)", tc.wantPath, inBody, header, body)
			}
		})
	}

	// REST-JSON refusals before routing, and answers outside the SDKs.
	for _, tc := range []struct{ name, service, path, secret string }{
		{"apigateway unsigned", "apigateway", "/restapis", "-"},
		{"lambda unsigned", "lambda", "/2015-03-31/functions", "-"},
		{"apigateway bad signature", "apigateway", "/restapis", "wrong"},
		{"unknown service", "ec2", "/", ""},
		{"health", "", "/_apigw/health", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := aaSend(t, in, tc.service, "GET", tc.path, "", nil, nil, tc.secret)
			aaWantRequestID(t, resp)
		})
	}
	t.Run("one id per request", func(t *testing.T) {
		a, _ := aaSend(t, in, "apigateway", "GET", "/restapis", "", nil, nil, "")
		b, _ := aaSend(t, in, "apigateway", "GET", "/restapis", "", nil, nil, "")
		if x, y := aaWantRequestID(t, a), aaWantRequestID(t, b); x == y {
			t.Errorf("two requests, one id %q", x)
		}
	})
}

func aaLambda(in *apigwtest.Instance, c aws.Credentials) *awslambda.Client {
	return awslambda.New(awslambda.Options{Region: apigwtest.Region, BaseEndpoint: aws.String(in.AdminURL),
		Credentials: iaCredsProvider(c), RetryMaxAttempts: 1})
}

// boto3 reads ResponseMetadata.RequestId on successes and on ClientErrors.
const aaBoto3Script = `
import json, os, sys
import boto3, botocore.exceptions
kw = dict(endpoint_url=os.environ["APIGW"], region_name="us-east-1",
          aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"])
out = {}
def rid(name, f):
    try:
        out[name] = f()["ResponseMetadata"].get("RequestId", "")
    except botocore.exceptions.ClientError as e:
        out[name] = e.response["ResponseMetadata"].get("RequestId", "")
apigw, lam = boto3.client("apigateway", **kw), boto3.client("lambda", **kw)
iam, sts = boto3.client("iam", **kw), boto3.client("sts", **kw)
rid("apigateway ok", apigw.get_rest_apis)
rid("apigateway error", lambda: apigw.get_rest_api(restApiId="nope"))
rid("lambda ok", lam.list_functions)
rid("lambda error", lambda: lam.get_function(FunctionName="nope"))
rid("iam ok", iam.list_users)
rid("iam error", lambda: iam.get_user(UserName="nope"))
rid("sts ok", sts.get_caller_identity)
bad = dict(kw, aws_secret_access_key="wrong")
rid("apigateway bad signature", boto3.client("apigateway", **bad).get_rest_apis)
rid("iam bad signature", boto3.client("iam", **bad).list_users)
rid("sts bad signature", boto3.client("sts", **bad).get_caller_identity)
json.dump(out, sys.stdout)
`

func TestAdminRequestIDsBoto3(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed; skipping the boto3 request id check")
	}
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		t.Skip("boto3 is not installed for python3; skipping the boto3 request id check")
	}
	in := apigwtest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", aaBoto3Script)
	cmd.Env = append(os.Environ(), "APIGW="+in.AdminURL, "KEY="+apigwtest.AccessKeyID, "SECRET="+apigwtest.SecretAccessKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 script: %v\n%s", err, stderr.Bytes())
	}
	var ids map[string]string
	if err := json.Unmarshal(out, &ids); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	if len(ids) != 10 {
		t.Errorf("script reported %d calls, want 10: %v", len(ids), ids)
	}
	for name, id := range ids {
		if !aaUUID.MatchString(id) {
			t.Errorf("%s: ResponseMetadata.RequestId = %q, want a UUID v4", name, id)
		}
	}
}
