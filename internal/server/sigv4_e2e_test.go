package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// End-to-end tests of the SigV4 credential scope's region and of presigned
// URL lifetimes, on the admin listener and the data plane, with the SDK's
// own clients and signer.

// scopeCall calls one admin service, with its SDK client signing for region.
type scopeCall func(ctx context.Context, in *apigwtest.Instance, region string) error

var scopeCalls = map[string]scopeCall{
	"apigateway": func(ctx context.Context, in *apigwtest.Instance, region string) error {
		c := apigateway.New(apigateway.Options{Region: region, BaseEndpoint: aws.String(in.AdminURL), Credentials: iaCredsProvider(iaRoot), RetryMaxAttempts: 1})
		_, err := c.GetRestApis(ctx, &apigateway.GetRestApisInput{})
		return err
	},
	"lambda": func(ctx context.Context, in *apigwtest.Instance, region string) error {
		c := lambda.New(lambda.Options{Region: region, BaseEndpoint: aws.String(in.AdminURL), Credentials: iaCredsProvider(iaRoot), RetryMaxAttempts: 1})
		_, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
		return err
	},
	"iam": func(ctx context.Context, in *apigwtest.Instance, region string) error {
		c := iam.New(iam.Options{Region: region, BaseEndpoint: aws.String(in.AdminURL), Credentials: iaCredsProvider(iaRoot), RetryMaxAttempts: 1})
		_, err := c.ListUsers(ctx, &iam.ListUsersInput{})
		return err
	},
	"sts": func(ctx context.Context, in *apigwtest.Instance, region string) error {
		c := sts.New(sts.Options{Region: region, BaseEndpoint: aws.String(in.AdminURL), Credentials: iaCredsProvider(iaRoot), RetryMaxAttempts: 1})
		_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	},
}

func TestAdminCredentialScopeRegion(t *testing.T) {
	tests := []struct {
		name      string
		apigwAt   string // apigw's --region
		service   string
		signedFor string
		code, msg string // "" = accepted
	}{
		{"apigateway-same", "us-east-1", "apigateway", "us-east-1", "", ""},
		{"apigateway-other", "us-east-1", "apigateway", "eu-west-1", "InvalidSignatureException",
			"Credential should be scoped to a valid region, not 'eu-west-1'. "},
		{"lambda-other", "us-east-1", "lambda", "eu-west-1", "InvalidSignatureException",
			"Credential should be scoped to a valid region, not 'eu-west-1'. "},
		{"iam-other", "us-east-1", "iam", "eu-west-1", "SignatureDoesNotMatch",
			"Credential should be scoped to a valid region, not 'eu-west-1'. "},
		{"sts-other", "us-east-1", "sts", "eu-west-1", "SignatureDoesNotMatch",
			"Credential should be scoped to a valid region. "},
		{"apigateway-regional-only", "eu-west-1", "apigateway", "us-east-1", "InvalidSignatureException",
			"Credential should be scoped to a valid region, not 'us-east-1'. "},
		{"lambda-at-eu-west-1", "eu-west-1", "lambda", "eu-west-1", "", ""},
		// IAM and STS are global: us-east-1 is their signing region
		// whatever apigw's region, which a client for that region may use too.
		{"iam-global-region", "eu-west-1", "iam", "us-east-1", "", ""},
		{"iam-apigw-region", "eu-west-1", "iam", "eu-west-1", "", ""},
		{"iam-third-region", "eu-west-1", "iam", "ap-south-1", "SignatureDoesNotMatch",
			"Credential should be scoped to a valid region, not 'ap-south-1'. "},
		{"sts-global-region", "eu-west-1", "sts", "us-east-1", "", ""},
		{"sts-apigw-region", "eu-west-1", "sts", "eu-west-1", "", ""},
		{"sts-third-region", "eu-west-1", "sts", "ap-south-1", "SignatureDoesNotMatch",
			"Credential should be scoped to a valid region. "},
	}
	instances := map[string]*apigwtest.Instance{}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		instances[region] = apigwtest.Start(t, func(c *server.Config) { c.Region = region })
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := instances[tc.apigwAt]
			err := scopeCalls[tc.service](t.Context(), in, tc.signedFor)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			apigwtest.WantAPIError(t, err, http.StatusForbidden, tc.code, tc.msg)
		})
	}
}

func TestDataPlaneCredentialScope(t *testing.T) {
	in := apigwtest.Start(t)
	apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{Name: aws.String("scope")}, nil, iaMethod{"/sample", "GET", "AWS_IAM"})
	url := in.InvokeURL(apiID, iaStage, "/sample")
	now := time.Now()

	t.Run("signed-for-the-gateway-region", func(t *testing.T) {
		iaWantOK(t, iaDo(t, iaSign(t, iaReq(t, "GET", url, "", ""), "", iaRoot, now)), "mock")
	})
	t.Run("signed-for-another-region", func(t *testing.T) {
		req := iaReq(t, "GET", url, "", "")
		if err := iaSigner().SignHTTP(t.Context(), iaRoot, req, iaEmptySHA, iaService, "eu-west-1", now); err != nil {
			t.Fatal(err)
		}
		iaWantError(t, iaDo(t, req), http.StatusForbidden, "InvalidSignatureException", "message",
			"Credential should be scoped to a valid region, not 'eu-west-1'. ")
	})
	t.Run("presigned-for-another-region", func(t *testing.T) {
		req := iaReq(t, "GET", url+"?X-Amz-Expires=60", "", "")
		u, _, err := iaSigner().PresignHTTP(t.Context(), iaRoot, req, iaEmptySHA, iaService, "eu-west-1", now)
		if err != nil {
			t.Fatal(err)
		}
		iaWantError(t, iaGetURL(t, u, ""), http.StatusForbidden, "InvalidSignatureException", "message",
			"Credential should be scoped to a valid region, not 'eu-west-1'. ")
	})

	expires := []struct {
		name    string
		expires int
		errType string
		msg     string
	}{
		{"expires-zero", 0, "InvalidSignatureException", "Signature expired: ..."},
		{"expires-negative", -1, "IncompleteSignatureException", "X-Amz-Expires must be non-negative"},
		{"expires-past-a-week", 604801, "IncompleteSignatureException",
			"X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"},
		{"expires-one-second", 1, "", ""},
		{"expires-a-week", 604800, "", ""},
	}
	for _, tc := range expires {
		t.Run(tc.name, func(t *testing.T) {
			// Dated ahead (within the clock skew allowed), so that a
			// one-second URL is still valid when it arrives.
			got := iaGetURL(t, iaPresign(t, url, "", iaRoot, time.Now().Add(4*time.Minute), tc.expires), "")
			if tc.errType == "" {
				iaWantOK(t, got, "mock")
				return
			}
			iaWantError(t, got, http.StatusForbidden, tc.errType, "message", tc.msg)
		})
	}
}
