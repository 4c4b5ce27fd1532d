package server_test

// End-to-end tests of models and request validators (issue 11, items 3 and
// 4): written through aws-sdk-go-v2 and the AWS CLI, enforced by the data
// plane, bad configuration refused when it is written.

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
)

const petSchema = `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","required":["name"],"properties":{"name":{"type":"string"},"price":{"type":"number","minimum":0}}}`

func TestValidatedPost(t *testing.T) {
	in := apigwtest.Start(t)
	ctx := t.Context()
	c := in.Client
	backend := newDPBackend(t, "pets", nil)
	a := newDPAPI(t, in, "validated")

	// Every new API has AWS's Empty and Error models.
	models := mgMust(c.GetModels(ctx, &apigateway.GetModelsInput{RestApiId: aws.String(a.id)}))(t)
	var names []string
	for _, m := range models.Items {
		names = append(names, aws.ToString(m.Name)+": "+aws.ToString(m.Description))
	}
	if strings.Join(names, "; ") != "Empty: This is a default empty schema model; Error: This is a default error schema model" {
		t.Errorf("default models: %v", names)
	}

	mgMust(c.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: aws.String(a.id), Name: aws.String("Pet"),
		ContentType: aws.String("application/json"), Schema: aws.String(petSchema)}))(t)
	_, err := c.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: aws.String(a.id), Name: aws.String("Pet"),
		ContentType: aws.String("application/json"), Schema: aws.String(petSchema)})
	apigwtest.WantAPIError(t, err, 409, "ConflictException", "Model name already exists for this REST API")
	tpl := mgMust(c.GetModelTemplate(ctx, &apigateway.GetModelTemplateInput{RestApiId: aws.String(a.id), ModelName: aws.String("Pet")}))(t)
	if want := "#set($inputRoot = $input.path('$'))\n{\n  \"name\" : \"foo\",\n  \"price\" : 3.1415\n}"; aws.ToString(tpl.Value) != want {
		t.Errorf("template %q, want %q", aws.ToString(tpl.Value), want)
	}
	v := mgMust(c.CreateRequestValidator(ctx, &apigateway.CreateRequestValidatorInput{RestApiId: aws.String(a.id),
		Name: aws.String("all"), ValidateRequestBody: true, ValidateRequestParameters: true}))(t)

	pets := a.resource("/pets")
	// Unknown validators and models are refused when the method is written.
	_, err = c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(a.id), ResourceId: aws.String(pets), HttpMethod: aws.String("POST"),
		AuthorizationType: aws.String("NONE"), RequestValidatorId: aws.String("nope42")})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid Request Validator identifier specified")
	_, err = c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(a.id), ResourceId: aws.String(pets), HttpMethod: aws.String("POST"),
		AuthorizationType: aws.String("NONE"), RequestModels: map[string]string{"application/json": "Dog"}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid model identifier specified: Dog")

	mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(a.id), ResourceId: aws.String(pets), HttpMethod: aws.String("POST"),
		AuthorizationType: aws.String("NONE"), RequestValidatorId: v.Id,
		RequestModels:     map[string]string{"application/json": "Pet"},
		RequestParameters: map[string]bool{"method.request.querystring.owner": true}}))(t)
	_, err = c.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: aws.String(a.id), ResourceId: aws.String(pets), HttpMethod: aws.String("POST"),
		PatchOperations: mgOps(mgOp(types.OpReplace, "/requestValidatorId", "nope42"))})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid Request Validator identifier specified")
	_, err = c.DeleteModel(ctx, &apigateway.DeleteModelInput{RestApiId: aws.String(a.id), ModelName: aws.String("Pet")})
	apigwtest.WantAPIError(t, err, 409, "ConflictException", "Cannot delete model 'Pet', is referenced in method request: /pets/POST")

	// Mapping expressions are refused when written, not at call time.
	_, err = c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: aws.String(a.id), ResourceId: aws.String(pets), HttpMethod: aws.String("POST"),
		Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(backend.URL + "/pets"),
		RequestParameters: map[string]string{"integration.request.header.X-Owner": "bogus"}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: bogus]")
	_, err = c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: aws.String(a.id), ResourceId: aws.String(pets), HttpMethod: aws.String("POST"),
		Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(backend.URL + "/pets"),
		ConnectionType: types.ConnectionTypeVpcLink, ConnectionId: aws.String("abc123")})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid Vpc Link identifier specified")

	// A method without an integration cannot be deployed.
	_, err = c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(a.id), StageName: aws.String("dev")})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "No integration defined for method")

	a.integration("/pets", "POST", &apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttpProxy,
		IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(backend.URL + "/pets"),
		RequestParameters: map[string]string{"integration.request.header.X-Owner": "method.request.querystring.owner"}})
	_, err = c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: aws.String(a.id), ResourceId: aws.String(pets), HttpMethod: aws.String("POST"),
		StatusCode: aws.String("200"), ResponseParameters: map[string]string{"method.response.header.X-A": "integration.bogus"}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: integration.bogus]")
	a.deploy("dev", nil)
	_, err = c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("dev"),
		PatchOperations: mgOps(mgOp(types.OpReplace, "/clientCertificateId", "nope42"))})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid client certificate identifier specified")

	post := func(query, body string) dpAnswer {
		req := dpRequest(t, "POST", a.url("dev", "/pets")+query, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return dpCall(t, req)
	}
	got := post("?owner=ann", `{"name":"rex","price":3}`)
	if got.status != 200 || backend.last(t).Body != `{"name":"rex","price":3}` || backend.last(t).Header.Get("X-Owner") != "ann" {
		t.Fatalf("valid POST: %d %s; backend saw %+v", got.status, got.body, backend.last(t))
	}
	seen := backend.count()
	dpWantError(t, post("?owner=ann", `{"price":-1}`), 400, "BadRequestException", "Invalid request body")
	dpWantError(t, post("", `{"name":"rex"}`), 400, "BadRequestException", "Missing required request parameters: [owner]")
	if backend.count() != seen {
		t.Errorf("the backend received %d refused requests", backend.count()-seen)
	}
}

// TestValidatedPostCLI writes the same validated POST with the AWS CLI.
func TestValidatedPostCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed; skipping the CLI walk-through")
	}
	in := apigwtest.Start(t)
	backend := newDPBackend(t, "pets", nil)
	cli := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", in.AdminURL, "--region", apigwtest.Region, "--output", "json", "apigateway"}, args...)...)
		cmd.Env = append(cmd.Environ(), "AWS_ACCESS_KEY_ID="+apigwtest.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+apigwtest.SecretAccessKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		var v map[string]any
		if len(out) > 0 {
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return v
	}
	api := cli("create-rest-api", "--name", "cli-validated")
	id := api["id"].(string)
	root := api["rootResourceId"].(string)
	res := cli("create-resource", "--rest-api-id", id, "--parent-id", root, "--path-part", "pets")["id"].(string)
	cli("create-model", "--rest-api-id", id, "--name", "Pet", "--content-type", "application/json", "--schema", petSchema)
	v := cli("create-request-validator", "--rest-api-id", id, "--name", "all", "--validate-request-body", "--validate-request-parameters")["id"].(string)
	cli("put-method", "--rest-api-id", id, "--resource-id", res, "--http-method", "POST", "--authorization-type", "NONE",
		"--request-validator-id", v, "--request-models", "application/json=Pet", "--request-parameters", "method.request.querystring.owner=true")
	cli("put-integration", "--rest-api-id", id, "--resource-id", res, "--http-method", "POST", "--type", "HTTP_PROXY",
		"--integration-http-method", "POST", "--uri", backend.URL+"/pets")
	dep := cli("create-deployment", "--rest-api-id", id, "--stage-name", "dev")["id"].(string)
	in.WaitServing(t, id, "dev", dep)
	if got := cli("get-request-validators", "--rest-api-id", id)["items"].([]any); len(got) != 1 {
		t.Errorf("get-request-validators: %v", got)
	}

	post := func(query, body string) dpAnswer {
		req := dpRequest(t, "POST", in.InvokeURL(id, "dev", "/pets")+query, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return dpCall(t, req)
	}
	if got := post("?owner=ann", `{"name":"rex"}`); got.status != http.StatusOK {
		t.Fatalf("valid POST: %d %s", got.status, got.body)
	}
	seen := backend.count()
	dpWantError(t, post("?owner=ann", `{"price":1}`), 400, "BadRequestException", "Invalid request body")
	dpWantError(t, post("", `{"name":"rex"}`), 400, "BadRequestException", "Missing required request parameters: [owner]")
	if backend.count() != seen {
		t.Errorf("the backend received %d refused requests", backend.count()-seen)
	}
}
