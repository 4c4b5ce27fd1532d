package server_test

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

func v2Client(in *apigwtest.Instance) *apigatewayv2.Client {
	return apigatewayv2.New(apigatewayv2.Options{Region: apigwtest.Region, BaseEndpoint: aws.String(in.AdminURL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(apigwtest.AccessKeyID, apigwtest.SecretAccessKey, "")})
}

// wantV2NotFound checks an apigatewayv2 NotFoundException and the
// resource type it names.
func wantV2NotFound(t *testing.T, err error, msg, resourceType string) {
	t.Helper()
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", msg)
	var nf *v2types.NotFoundException
	if errors.As(err, &nf) && aws.ToString(nf.ResourceType) != resourceType {
		t.Errorf("resourceType = %q, want %q", aws.ToString(nf.ResourceType), resourceType)
	}
}

// API mappings of apigatewayv2 over the same records as v1's base path
// mappings: multi-level keys, the longest one routing, segment
// boundaries, and what the API and a Lambda function see of the path.
func TestApiMappings(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.TLSListen = "127.0.0.1:0"; c.DomainTarget = "gw.example.net" })
	ctx := t.Context()
	ca := newTestCA(t, "CA")
	am := acmClient(in, rootCreds)
	cert, key := ca.leaf(t, "api.example.test", "edge.example.test")
	arn := iaMust(am.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: cert, PrivateKey: key}))(t).CertificateArn
	c, v2 := in.Client, v2Client(in)
	const domain = "api.example.test"
	iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(domain), RegionalCertificateArn: arn,
		EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}}, SecurityPolicy: types.SecurityPolicyTls12}))(t)
	iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("edge.example.test"), CertificateArn: arn}))(t)
	apiV1, apiOrders := echoAPI(t, in, "V1", "NONE"), echoAPI(t, in, "ORDERS", "NONE")

	mV1 := iaMust(v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(domain), ApiId: &apiV1, Stage: aws.String("prod"), ApiMappingKey: aws.String("v1")}))(t)
	mOrders := iaMust(v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(domain), ApiId: &apiOrders, Stage: aws.String("prod"), ApiMappingKey: aws.String("v1/orders")}))(t)
	if aws.ToString(mOrders.ApiId) != apiOrders || aws.ToString(mOrders.ApiMappingKey) != "v1/orders" || aws.ToString(mOrders.Stage) != "prod" ||
		aws.ToString(mOrders.ApiMappingId) == "" || aws.ToString(mOrders.ApiMappingId) == aws.ToString(mV1.ApiMappingId) {
		t.Fatalf("CreateApiMapping: %+v (other id %q)", mOrders, aws.ToString(mV1.ApiMappingId))
	}

	t.Run("validation", func(t *testing.T) {
		_, err := v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(domain), ApiId: &apiV1, Stage: aws.String("prod"), ApiMappingKey: aws.String("v1/orders")})
		apigwtest.WantAPIError(t, err, 409, "ConflictException", "ApiMapping key already exists for this domain name")
		for _, k := range []string{"v1//x", "/v1", "v1/", "a b", "v1/ü", strings.Repeat("a", 301)} {
			_, err := v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(domain), ApiId: &apiV1, Stage: aws.String("prod"), ApiMappingKey: aws.String(k)})
			apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid API mapping key...")
		}
		_, err = v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String("edge.example.test"), ApiId: &apiV1, Stage: aws.String("prod"), ApiMappingKey: aws.String("a/b")})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Multi-level API mappings (a key with a slash) are only supported for REGIONAL domain names with a TLS 1.2 security policy")
		_, err = v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String("nope.example.test"), ApiId: &apiV1, Stage: aws.String("prod")})
		wantV2NotFound(t, err, "Invalid domain name identifier specified", "DomainName")
		_, err = v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(domain), ApiId: &apiV1, Stage: aws.String("nope"), ApiMappingKey: aws.String("x")})
		wantV2NotFound(t, err, "Invalid stage identifier specified", "Stage")
		_, err = v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(domain), ApiId: aws.String("0000000000"), Stage: aws.String("prod"), ApiMappingKey: aws.String("x")})
		wantV2NotFound(t, err, "Invalid API identifier specified "+in.Server.AccountID+":0000000000", "Api")
		_, err = v2.GetApiMapping(ctx, &apigatewayv2.GetApiMappingInput{DomainName: aws.String(domain), ApiMappingId: aws.String("zzzzzz")})
		wantV2NotFound(t, err, "Invalid API mapping identifier specified", "ApiMapping")

		// The v1 API refuses a slash with AWS's text, and lists and finds
		// only single-level mappings.
		_, err = c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String(domain), RestApiId: &apiV1, BasePath: aws.String("a/b")})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "API Gateway V1 doesn't support the slash character (/) in base path mappings. To create a multi-level base path mapping, use API Gateway V2.")
		ms := iaMust(c.GetBasePathMappings(ctx, &apigateway.GetBasePathMappingsInput{DomainName: aws.String(domain)}))(t)
		if len(ms.Items) != 1 || aws.ToString(ms.Items[0].BasePath) != "v1" || aws.ToString(ms.Items[0].RestApiId) != apiV1 {
			t.Errorf("v1 GetBasePathMappings: %+v", ms.Items)
		}
		_, err = c.GetBasePathMapping(ctx, &apigateway.GetBasePathMappingInput{DomainName: aws.String(domain), BasePath: aws.String("v1/orders")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid base path mapping identifier specified")
	})

	t.Run("v1 and v2 see the same mappings", func(t *testing.T) {
		iaMust(c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String(domain), RestApiId: &apiV1, Stage: aws.String("prod"), BasePath: aws.String("shop")}))(t)
		l := iaMust(v2.GetApiMappings(ctx, &apigatewayv2.GetApiMappingsInput{DomainName: aws.String(domain)}))(t)
		keys := map[string]v2types.ApiMapping{}
		for _, m := range l.Items {
			keys[aws.ToString(m.ApiMappingKey)] = m
		}
		if len(l.Items) != 3 || aws.ToString(keys["shop"].ApiMappingId) == "" || aws.ToString(keys["v1/orders"].ApiMappingId) != aws.ToString(mOrders.ApiMappingId) {
			t.Fatalf("GetApiMappings: %+v", l.Items)
		}
		page := iaMust(v2.GetApiMappings(ctx, &apigatewayv2.GetApiMappingsInput{DomainName: aws.String(domain), MaxResults: aws.String("2")}))(t)
		rest := iaMust(v2.GetApiMappings(ctx, &apigatewayv2.GetApiMappingsInput{DomainName: aws.String(domain), NextToken: page.NextToken}))(t)
		if len(page.Items) != 2 || page.NextToken == nil || len(rest.Items) != 1 || rest.NextToken != nil {
			t.Errorf("pages: %d items, next %v; then %d, next %v", len(page.Items), page.NextToken, len(rest.Items), rest.NextToken)
		}
		// A mapping made by v1 is updated by v2 and keeps its id.
		shopID := keys["shop"].ApiMappingId
		u := iaMust(v2.UpdateApiMapping(ctx, &apigatewayv2.UpdateApiMappingInput{DomainName: aws.String(domain), ApiMappingId: shopID, ApiId: &apiOrders, ApiMappingKey: aws.String("shop/cart")}))(t)
		if aws.ToString(u.ApiMappingId) != aws.ToString(shopID) || aws.ToString(u.ApiMappingKey) != "shop/cart" || aws.ToString(u.ApiId) != apiOrders || aws.ToString(u.Stage) != "prod" {
			t.Errorf("UpdateApiMapping: %+v", u)
		}
		_, err := v2.UpdateApiMapping(ctx, &apigatewayv2.UpdateApiMappingInput{DomainName: aws.String(domain), ApiMappingId: shopID, ApiId: &apiOrders, ApiMappingKey: aws.String("v1")})
		apigwtest.WantAPIError(t, err, 409, "ConflictException", "ApiMapping key already exists for this domain name")
		g := iaMust(v2.GetApiMapping(ctx, &apigatewayv2.GetApiMappingInput{DomainName: aws.String(domain), ApiMappingId: shopID}))(t)
		if aws.ToString(g.ApiMappingKey) != "shop/cart" {
			t.Errorf("GetApiMapping: %+v", g)
		}
		if status, body, _ := tlsGet(t, in, ca.pool, domain, "/shop/cart/x", nil); status != 200 || body != "ORDERS api.example.test /shop/cart/x /{proxy+} prod /x" {
			t.Errorf("after UpdateApiMapping: %d %q", status, body)
		}
		iaMust(v2.DeleteApiMapping(ctx, &apigatewayv2.DeleteApiMappingInput{DomainName: aws.String(domain), ApiMappingId: shopID}))(t)
		_, err = v2.GetApiMapping(ctx, &apigatewayv2.GetApiMappingInput{DomainName: aws.String(domain), ApiMappingId: shopID})
		wantV2NotFound(t, err, "Invalid API mapping identifier specified", "ApiMapping")
		if status, _, _ := tlsGet(t, in, ca.pool, domain, "/shop/cart/x", nil); status != 403 {
			t.Errorf("after DeleteApiMapping: %d, want 403", status)
		}
	})

	t.Run("domain names", func(t *testing.T) {
		d := iaMust(v2.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String(domain)}))(t)
		if len(d.DomainNameConfigurations) != 1 || aws.ToString(d.ApiMappingSelectionExpression) != "$request.basepath" {
			t.Fatalf("GetDomainName: %+v", d)
		}
		cfg := d.DomainNameConfigurations[0]
		if cfg.EndpointType != v2types.EndpointTypeRegional || aws.ToString(cfg.ApiGatewayDomainName) != "gw.example.net" || aws.ToString(cfg.CertificateArn) != aws.ToString(arn) ||
			cfg.SecurityPolicy != v2types.SecurityPolicyTls12 || cfg.DomainNameStatus != v2types.DomainNameStatusAvailable || cfg.CertificateUploadDate == nil {
			t.Errorf("domainNameConfigurations: %+v", cfg)
		}
		l := iaMust(v2.GetDomainNames(ctx, &apigatewayv2.GetDomainNamesInput{}))(t)
		if len(l.Items) != 2 || l.Items[1].DomainNameConfigurations[0].EndpointType != v2types.EndpointTypeEdge {
			t.Errorf("GetDomainNames: %+v", l.Items)
		}
		_, err := v2.GetDomainName(ctx, &apigatewayv2.GetDomainNameInput{DomainName: aws.String("nope.example.test")})
		wantV2NotFound(t, err, "Invalid domain name identifier specified", "DomainName")
	})

	t.Run("longest base path", func(t *testing.T) {
		for _, tc := range []struct{ path, want string }{
			{"/v1/orders/items/1", "ORDERS api.example.test /v1/orders/items/1 /{proxy+} prod /items/1"},
			{"/v1/orders", "ORDERS api.example.test /v1/orders / prod /"},
			{"/v1/orders/", "ORDERS api.example.test /v1/orders/ / prod /"},
			{"/v1/ordersX/1", "V1 api.example.test /v1/ordersX/1 /{proxy+} prod /ordersX/1"},
			{"/v1/items", "V1 api.example.test /v1/items /{proxy+} prod /items"},
			{"/v1", "V1 api.example.test /v1 / prod /"},
			// An encoded slash is part of a segment below the base path
			// (the echo shows the backend's path decoded).
			{"/v1/orders/a%2Fb", "ORDERS api.example.test /v1/orders/a/b /{proxy+} prod /a/b"},
		} {
			if status, body, _ := tlsGet(t, in, ca.pool, domain, tc.path, nil); status != 200 || body != tc.want {
				t.Errorf("GET %s: %d %q, want %q", tc.path, status, body, tc.want)
			}
		}
		// Nothing maps /v2, nor a first segment that only begins with v1,
		// nor "v1/orders" written with an encoded slash.
		for _, p := range []string{"/v2/x", "/v1x/orders", "/v1%2Forders/1", "/"} {
			if status, _, _ := tlsGet(t, in, ca.pool, domain, p, nil); status != 403 {
				t.Errorf("GET %s: %d, want 403", p, status)
			}
		}
	})

	t.Run("resource policy", func(t *testing.T) {
		// The policy names the path below the base path.
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/prod/GET/items/*"}]}`
		iaMust(c.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: &apiOrders,
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/policy"), Value: aws.String(policy)}}}))(t)
		dep := iaMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: &apiOrders, StageName: aws.String("prod")}))(t)
		in.WaitServing(t, apiOrders, "prod", aws.ToString(dep.Id))
		if status, body, _ := tlsGet(t, in, ca.pool, domain, "/v1/orders/items/1", nil); status != 200 || !strings.HasPrefix(body, "ORDERS ") {
			t.Errorf("allowed path: %d %q", status, body)
		}
		status, body, _ := tlsGet(t, in, ca.pool, domain, "/v1/orders/other", nil)
		wantMsg := "User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:" + in.Server.AccountID + ":" + apiOrders + "/prod/GET/other"
		if status != 403 || !strings.Contains(body, wantMsg) {
			t.Errorf("path the policy does not allow: %d %q, want 403 %q", status, body, wantMsg)
		}
	})

	t.Run("lambda event", func(t *testing.T) { apiMappingLambdaEvent(t, in, ca, v2, domain) })
}

// apiMappingLambdaEvent checks the proxy event of a function reached
// through the multi-level mapping "fn/echo": path and requestContext.path
// hold the client's path with the base path, resource and resourcePath the
// API's template, as on AWS.
func apiMappingLambdaEvent(t *testing.T, in *apigwtest.Instance, ca *testCA, v2 *apigatewayv2.Client, domain string) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; skipping the Lambda event through a custom domain")
	}
	ctx := t.Context()
	fn := iaMust(lfClient(in).CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("EchoEvent"), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("f.handler"),
		Role: aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code: &lambdatypes.FunctionCode{ZipFile: lfZip(t, map[string]string{"f.py": `import json
def handler(event, context):
    rc = event["requestContext"]
    return {"statusCode": 200, "body": json.dumps({"path": event["path"], "resource": event["resource"], "proxy": event["pathParameters"]["proxy"],
        "rcPath": rc["path"], "rcResourcePath": rc["resourcePath"], "domainName": rc["domainName"], "domainPrefix": rc["domainPrefix"], "stage": rc["stage"]})}
`})},
	}))(t)
	c := in.Client
	api := iaMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("fn")}))(t)
	res := iaMust(c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("{proxy+}")}))(t)
	iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("ANY"), AuthorizationType: aws.String("NONE")}))(t)
	iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("ANY"), Type: types.IntegrationTypeAwsProxy,
		IntegrationHttpMethod: aws.String("POST"), Uri: aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + aws.ToString(fn.FunctionArn) + "/invocations")}))(t)
	iaMust(lfClient(in).AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: fn.FunctionArn, StatementId: aws.String("apigw"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com")}))(t)
	iaMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("live")}))(t)
	iaMust(v2.CreateApiMapping(ctx, &apigatewayv2.CreateApiMappingInput{DomainName: aws.String(domain), ApiId: api.Id, Stage: aws.String("live"), ApiMappingKey: aws.String("fn/echo")}))(t)

	status, body, _ := tlsGet(t, in, ca.pool, domain, "/fn/echo/a/b", nil)
	var ev map[string]string
	if status != 200 || json.Unmarshal([]byte(body), &ev) != nil {
		t.Fatalf("GET /fn/echo/a/b: %d %q", status, body)
	}
	want := map[string]string{"path": "/fn/echo/a/b", "resource": "/{proxy+}", "proxy": "a/b", "rcPath": "/fn/echo/a/b", "rcResourcePath": "/{proxy+}",
		"domainName": domain, "domainPrefix": "api", "stage": "live"}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("event %s = %q, want %q", k, ev[k], v)
		}
	}
}
