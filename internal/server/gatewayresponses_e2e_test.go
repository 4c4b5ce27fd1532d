package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/apigwtest"
)

const grDefaultTemplate = `{"message":$context.error.messageString}`

var grCORS = map[string]string{"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}

// TestGatewayResponsesManagement: the five operations through the SDK,
// with AWS's defaults, validation texts and pagination.
func TestGatewayResponsesManagement(t *testing.T) {
	ctx := context.Background()
	in := apigwtest.Start(t)
	c := in.Client
	api := newDPAPI(t, in, "responses")
	id := aws.String(api.id)

	all, err := c.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{RestApiId: id, Limit: aws.Int32(500)})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 21 || all.Position != nil {
		t.Fatalf("GetGatewayResponses: %d items, position %v; want every type of the 21", len(all.Items), all.Position)
	}
	want := map[types.GatewayResponseType]string{"DEFAULT_4XX": "", "DEFAULT_5XX": "", "MISSING_AUTHENTICATION_TOKEN": "403", "UNAUTHORIZED": "401",
		"THROTTLED": "429", "INTEGRATION_FAILURE": "504", "UNSUPPORTED_MEDIA_TYPE": "415", "REQUEST_TOO_LARGE": "413", "WAF_FILTERED": "403"}
	for _, gr := range all.Items {
		if !gr.DefaultResponse || gr.ResponseTemplates["application/json"] != grDefaultTemplate || gr.ResponseParameters == nil {
			t.Errorf("%s: %+v, want a default response with AWS's template", gr.ResponseType, gr)
		}
		if s, ok := want[gr.ResponseType]; ok && aws.ToString(gr.StatusCode) != s {
			t.Errorf("%s: statusCode %q, want %q", gr.ResponseType, aws.ToString(gr.StatusCode), s)
		}
	}
	// Pages of 8: 8, 8, 5, each type once.
	seen := map[types.GatewayResponseType]bool{}
	var pos *string
	for pages := 0; ; pages++ {
		p, err := c.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{RestApiId: id, Limit: aws.Int32(8), Position: pos})
		if err != nil {
			t.Fatal(err)
		}
		for _, gr := range p.Items {
			if seen[gr.ResponseType] {
				t.Errorf("%s listed twice", gr.ResponseType)
			}
			seen[gr.ResponseType] = true
		}
		if pos = p.Position; pos == nil || pages > 5 {
			break
		}
	}
	if len(seen) != 21 {
		t.Errorf("pages listed %d types", len(seen))
	}

	// Put fills in what it leaves out with the type's defaults.
	put, err := c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "DEFAULT_4XX", ResponseParameters: grCORS})
	if err != nil {
		t.Fatal(err)
	}
	if put.DefaultResponse || put.StatusCode != nil || put.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"] != "'*'" || put.ResponseTemplates["application/json"] != grDefaultTemplate {
		t.Errorf("PutGatewayResponse DEFAULT_4XX: %+v", put)
	}
	put, err = c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "THROTTLED"})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.StatusCode) != "429" {
		t.Errorf("PutGatewayResponse THROTTLED without a status code: %q, want the default 429", aws.ToString(put.StatusCode))
	}
	got, err := c.GetGatewayResponse(ctx, &apigateway.GetGatewayResponseInput{RestApiId: id, ResponseType: "DEFAULT_4XX"})
	if err != nil {
		t.Fatal(err)
	}
	if got.DefaultResponse || got.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"] != "'*'" {
		t.Errorf("GetGatewayResponse DEFAULT_4XX: %+v", got)
	}

	// Update: status code, a header, a template; a default type becomes
	// customised.
	upd, err := c.UpdateGatewayResponse(ctx, &apigateway.UpdateGatewayResponseInput{RestApiId: id, ResponseType: "MISSING_AUTHENTICATION_TOKEN",
		PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/statusCode"), Value: aws.String("404")},
			{Op: types.OpAdd, Path: aws.String("/responseParameters/gatewayresponse.header.X-Why"), Value: aws.String("context.error.responseType")},
			{Op: types.OpAdd, Path: aws.String("/responseTemplates/text~1plain"), Value: aws.String("no route")},
			{Op: types.OpRemove, Path: aws.String("/responseTemplates/application~1json")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.DefaultResponse || aws.ToString(upd.StatusCode) != "404" || upd.ResponseParameters["gatewayresponse.header.X-Why"] != "context.error.responseType" ||
		upd.ResponseTemplates["text/plain"] != "no route" || len(upd.ResponseTemplates) != 1 {
		t.Errorf("UpdateGatewayResponse: %+v", upd)
	}

	// Delete brings the default back.
	if _, err := c.DeleteGatewayResponse(ctx, &apigateway.DeleteGatewayResponseInput{RestApiId: id, ResponseType: "MISSING_AUTHENTICATION_TOKEN"}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetGatewayResponse(ctx, &apigateway.GetGatewayResponseInput{RestApiId: id, ResponseType: "MISSING_AUTHENTICATION_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.DefaultResponse || aws.ToString(got.StatusCode) != "403" || len(got.ResponseParameters) != 0 {
		t.Errorf("after DeleteGatewayResponse: %+v", got)
	}

	// cloneFrom copies the customised responses.
	clone, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("clone"), CloneFrom: id})
	if err != nil {
		t.Fatal(err)
	}
	got, err = c.GetGatewayResponse(ctx, &apigateway.GetGatewayResponseInput{RestApiId: clone.Id, ResponseType: "DEFAULT_4XX"})
	if err != nil {
		t.Fatal(err)
	}
	if got.DefaultResponse || got.ResponseParameters["gatewayresponse.header.Access-Control-Allow-Origin"] != "'*'" {
		t.Errorf("cloned DEFAULT_4XX: %+v", got)
	}

	t.Run("Errors", func(t *testing.T) {
		_, err := c.GetGatewayResponse(ctx, &apigateway.GetGatewayResponseInput{RestApiId: id, ResponseType: "NOT_A_TYPE"})
		apigwtest.WantAPIError(t, err, 400, "ValidationException", "1 validation error detected: Value 'NOT_A_TYPE' at 'responseType' failed to satisfy constraint: Member must satisfy enum value set: [DEFAULT_4XX, DEFAULT_5XX, RESOURCE_NOT_FOUND, ...")
		_, err = c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "DEFAULT_4XX", StatusCode: aws.String("99")})
		apigwtest.WantAPIError(t, err, 400, "ValidationException", `1 validation error detected: Value '99' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\d\d`)
		_, err = c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "DEFAULT_4XX",
			ResponseParameters: map[string]string{"method.response.header.X": "'a'"}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression parameter specified: method.response.header.X]")
		_, err = c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "DEFAULT_4XX",
			ResponseParameters: map[string]string{"gatewayresponse.header.X": "bogus"}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: bogus]")
		_, err = c.UpdateGatewayResponse(ctx, &apigateway.UpdateGatewayResponseInput{RestApiId: id, ResponseType: "DEFAULT_4XX",
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/responseType"), Value: aws.String("THROTTLED")}}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid patch path /responseType")
		_, err = c.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{RestApiId: aws.String("nosuchapi0")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid API identifier specified ...")
	})
}

// TestGatewayResponsesDataPlane: customisations take effect on the next
// deployment and apply to the gateway's own errors only.
func TestGatewayResponsesDataPlane(t *testing.T) {
	ctx := context.Background()
	in := apigwtest.Start(t)
	c := in.Client
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"backend":"not found"}`))
	}))
	t.Cleanup(backend.Close)
	api := newDPAPI(t, in, "cors")
	api.mock("/hello", "GET", `{"hello":"world"}`)
	api.proxy("/backend", "GET", backend.URL+"/x", nil)
	api.deploy("dev", map[string]string{"origin": "https~3a~2f~2fexample.com"})
	id := aws.String(api.id)

	if _, err := c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "DEFAULT_4XX", ResponseParameters: grCORS}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "DEFAULT_5XX",
		ResponseParameters: map[string]string{"gatewayresponse.header.Access-Control-Allow-Origin": "'*'", "gatewayresponse.header.X-Stage": "context.stage"}}); err != nil {
		t.Fatal(err)
	}
	// Not deployed yet: the stage still answers with the defaults.
	r := dpGet(t, api.url("dev", "/nowhere"))
	if r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("before the redeploy: %d %v", r.status, r.header)
	}
	api.deploy("dev", nil)

	r = dpGet(t, api.url("dev", "/nowhere"))
	dpWantError(t, r, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("a 403 from a missing route: Access-Control-Allow-Origin %q, want *", r.header.Get("Access-Control-Allow-Origin"))
	}
	// A backend's own 404 through a proxy integration is not the gateway's.
	r = dpGet(t, api.url("dev", "/backend"))
	if r.status != 404 || r.body != `{"backend":"not found"}` || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("backend answer: %d %s %v", r.status, r.body, r.header)
	}
	// The methods that work are untouched.
	if r = dpGet(t, api.url("dev", "/hello")); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET /hello: %d %v", r.status, r.header)
	}

	// MISSING_AUTHENTICATION_TOKEN as a 404 with its own template; the
	// DEFAULT_4XX header no longer reaches it.
	if _, err := c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "MISSING_AUTHENTICATION_TOKEN", StatusCode: aws.String("404"),
		ResponseTemplates: map[string]string{"application/json": `{"error":"no such route","path":"$context.path","requestId":"$context.requestId"}`}}); err != nil {
		t.Fatal(err)
	}
	// THROTTLED with Retry-After and a burst of 1 on the stage.
	if _, err := c.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: id, ResponseType: "THROTTLED",
		ResponseParameters: map[string]string{"gatewayresponse.header.Retry-After": "'60'"},
		ResponseTemplates:  map[string]string{"application/json": `{"message":"slow down","type":"$context.error.responseType"}`}}); err != nil {
		t.Fatal(err)
	}
	api.deploy("dev", nil)
	r = dpGet(t, api.url("dev", "/nowhere"))
	if want := `{"error":"no such route","path":"/dev/nowhere","requestId":"` + r.header.Get("x-amzn-RequestId") + `"}`; r.status != 404 || r.body != want ||
		r.header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("customised MISSING_AUTHENTICATION_TOKEN: %d %s %v, want 404 %s", r.status, r.body, r.header, want)
	}

	if _, err := c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: id, StageName: aws.String("dev"), PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/*/*/throttling/burstLimit"), Value: aws.String("1")},
		{Op: types.OpReplace, Path: aws.String("/*/*/throttling/rateLimit"), Value: aws.String("0.001")},
	}}); err != nil {
		t.Fatal(err)
	}
	var throttled *dpAnswer
	for i := 0; i < 20 && throttled == nil; i++ {
		if r := dpGet(t, api.url("dev", "/hello")); r.status == 429 {
			throttled = &r
		}
	}
	if throttled == nil {
		t.Fatal("burst 1: no request was throttled")
	}
	if throttled.body != `{"message":"slow down","type":"THROTTLED"}` || throttled.header.Get("Retry-After") != "60" || throttled.header.Get("x-amzn-ErrorType") != "TooManyRequestsException" {
		t.Errorf("customised THROTTLED: %s %v", throttled.body, throttled.header)
	}
}

// TestGatewayResponsesLambdaAuthorizer: UNAUTHORIZED from a Lambda TOKEN
// authorizer carries a WWW-Authenticate header.
func TestGatewayResponsesLambdaAuthorizer(t *testing.T) {
	lmNeed(t, "python3")
	ctx := context.Background()
	in := apigwtest.Start(t)
	zipped := lfZip(t, map[string]string{"lmtoken.py": lmTokenAuthorizer, "lmecho.py": lmEchoPython})
	env := map[string]string{"LM_LOG": filepath.Join(t.TempDir(), "authorizer-events.jsonl")}
	tokenFn := lmCreate(t, in, lmFn{name: "grTokenAuth", runtime: lambdatypes.RuntimePython312, handler: "lmtoken.handler", zip: zipped, env: env})
	echoFn := lmCreate(t, in, lmFn{name: "grEcho", runtime: lambdatypes.RuntimePython312, handler: "lmecho.handler", zip: zipped})
	api := lmNewAPI(t, in, "www-authenticate", "")
	api.authorizer("token", types.AuthorizerTypeToken, tokenFn, "method.request.header.Authorization", "", 0)
	api.method(lmMethod{path: "/private", fn: echoFn, authorizer: "token"})
	for _, fn := range []string{tokenFn, echoFn} {
		lmGrant(t, in, fn, api.id)
	}
	if _, err := in.Client.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: aws.String(api.id), ResponseType: "UNAUTHORIZED",
		ResponseParameters: map[string]string{"gatewayresponse.header.WWW-Authenticate": `'Bearer realm="example"'`}}); err != nil {
		t.Fatal(err)
	}
	api.deploy()
	for _, hdr := range []map[string]string{{"Authorization": "Bearer unauthorized"}, {}} {
		r := lmGet(t, api.url("/private"), hdr)
		lmWantError(t, r, 401, "UnauthorizedException", `{"message":"Unauthorized"}`)
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="example"` {
			t.Errorf("%v: WWW-Authenticate %q", hdr, got)
		}
	}
	if r := lmGet(t, api.url("/private"), map[string]string{"Authorization": "Bearer allow"}); r.status != 200 || r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("allowed call: %s", r)
	}
}
