package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"go.yaml.in/yaml/v4"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/model"
)

// importAndDeploy imports doc, deploys it to stage and waits until it is
// served.
func importAndDeploy(t *testing.T, in *apigwtest.Instance, doc []byte, stage string) string {
	t.Helper()
	ctx := t.Context()
	api, err := in.Client.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc, FailOnWarnings: true})
	if err != nil {
		t.Fatalf("ImportRestApi: %v", err)
	}
	dep, err := in.Client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String(stage)})
	if err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	in.WaitServing(t, aws.ToString(api.Id), stage, aws.ToString(dep.Id))
	return aws.ToString(api.Id)
}

func export(t *testing.T, in *apigwtest.Instance, apiID, stage, typ, accept string) []byte {
	t.Helper()
	out, err := in.Client.GetExport(t.Context(), &apigateway.GetExportInput{RestApiId: aws.String(apiID), StageName: aws.String(stage),
		ExportType: aws.String(typ), Accepts: aws.String(accept), Parameters: map[string]string{"extensions": "apigateway"}})
	if err != nil {
		t.Fatalf("GetExport %s %s: %v", typ, accept, err)
	}
	return out.Body
}

// TestOpenAPIPetStore: AWS's PetStore sample, its backend pointed at a local
// one, answers through the gateway; its export imported again exports the
// same document, apart from the API id and info.version.
func TestOpenAPIPetStore(t *testing.T) {
	in := apigwtest.Start(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"path":"`+r.URL.Path+`","query":"`+r.URL.RawQuery+`"}`)
	}))
	t.Cleanup(backend.Close)
	doc, err := os.ReadFile("../openapi/testdata/petstore.json")
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.ReplaceAll(doc, []byte("http://petstore-demo-endpoint.execute-api.com"), []byte(backend.URL))
	id := importAndDeploy(t, in, doc, "prod")

	for _, c := range []struct{ path, want string }{
		{"/pets?type=dog&page=2", `{"path":"/petstore/pets","query":"page=2&type=dog"}`},
		{"/pets/7", `{"path":"/petstore/pets/7","query":""}`},
		{"/", `<html><body>Welcome to your Pet Store API</body></html>`},
	} {
		resp, err := http.Get(in.InvokeURL(id, "prod", c.path))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != c.want {
			t.Errorf("GET %s: %d %s, want 200 %s", c.path, resp.StatusCode, b, c.want)
		}
	}
	// The request validator and the model came along: a bad body is 400.
	resp, err := http.Post(in.InvokeURL(id, "prod", "/pets"), "application/json", strings.NewReader(`{"type":"dragon"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("POST /pets with a bad body: %d (CORS %q), want 400 with the gateway response's header", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	for _, c := range []struct{ typ, accept string }{{"oas30", "application/json"}, {"swagger", "application/json"}, {"oas30", "application/yaml"}} {
		first := export(t, in, id, "prod", c.typ, c.accept)
		id2 := importAndDeploy(t, in, first, "prod")
		second := export(t, in, id2, "prod", c.typ, c.accept)
		if got := strings.ReplaceAll(string(second), id2, id); got != string(first) {
			t.Errorf("%s %s: export of the re-imported export differs:\nfirst:\n%s\nsecond:\n%s", c.typ, c.accept, first, got)
		}
	}
}

// TestOpenAPIImportErrors: AWS's texts for a body that is not a document,
// for what the management API refuses, and for warnings with
// failonwarnings.
func TestOpenAPIImportErrors(t *testing.T) {
	in := apigwtest.Start(t)
	ctx := context.Background()
	_, err := in.Client.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte("not a document")})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid OpenAPI input.")

	// Schemas nested 4000 deep took 48 s to read before the import was
	// bounded.
	deep := `{"swagger":"2.0","info":{"title":"x","version":"1"},"paths":{},"definitions":{"A":` +
		strings.Repeat(`{"type":"object","properties":{"a":`, 4000) + `{"type":"string"}` + strings.Repeat(`}}`, 4000) + `}}`
	_, err = in.Client.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(deep)})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid OpenAPI input: The document nests deeper than 128 levels")

	bad := `{"openapi":"3.0.1","info":{"title":"bad","version":"1"},"paths":{"/a":{"get":{"responses":{},
	  "x-amazon-apigateway-integration":{"type":"http","httpMethod":"GET","uri":"not-a-url"}}}}}`
	_, err = in.Client.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(bad)})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Errors found during import:\n\tUnable to put integration on 'GET' for resource at path '/a': Invalid HTTP endpoint specified for URI")

	warn := `{"openapi":"3.0.1","info":{"title":"warn","version":"1"},"paths":{"/a":{"get":{"responses":{},"security":[{"nope":[]}],
	  "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"}}}}}}`
	_, err = in.Client.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(warn), FailOnWarnings: true})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Warnings found during import:\n\tUnable to find security definition 'nope' for 'GET /a'")
	api, err := in.Client.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(warn),
		Parameters: map[string]string{"endpointConfigurationTypes": "REGIONAL", "basepath": "prepend"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(api.Warnings) != 1 || api.EndpointConfiguration == nil || api.EndpointConfiguration.Types[0] != "REGIONAL" {
		t.Errorf("ImportRestApi: warnings %q, endpoint %+v", api.Warnings, api.EndpointConfiguration)
	}

	// PutRestApi: merge keeps /a and adds /b; overwrite leaves /b only.
	b := `{"openapi":"3.0.1","info":{"title":"warn","version":"2"},"paths":{"/b":{"get":{"responses":{},
	  "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"}}}}}}`
	paths := func() string {
		rs, err := in.Client.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id})
		if err != nil {
			t.Fatal(err)
		}
		var ps []string
		for _, r := range rs.Items {
			ps = append(ps, aws.ToString(r.Path))
		}
		return strings.Join(sortStrings(ps), " ")
	}
	if _, err := in.Client.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Body: []byte(b), Mode: "merge"}); err != nil {
		t.Fatal(err)
	}
	if got := paths(); got != "/ /a /b" {
		t.Errorf("after merge: %s", got)
	}
	if _, err := in.Client.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Body: []byte(b), Mode: "overwrite"}); err != nil {
		t.Fatal(err)
	}
	if got := paths(); got != "/ /b" {
		t.Errorf("after overwrite: %s", got)
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// docsDoc is a document with x-amazon-apigateway-documentation: three
// parts AWS takes and one it skips with a warning.
const docsDoc = `{"openapi":"3.0.1","info":{"title":"docs","version":"1"},
 "paths":{"/pets":{"get":{"responses":{"200":{"description":"200 response"}},
   "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"},
     "responses":{"default":{"statusCode":"200"}}}}}},
 "x-amazon-apigateway-documentation":{"version":"1.0","documentationParts":[
   {"location":{"type":"API"},"properties":{"description":"The pet API"}},
   {"location":{"type":"METHOD","path":"/pets","method":"GET"},"properties":{"summary":"List pets","description":"Every pet","tags":["pets"]}},
   {"location":{"type":"RESPONSE","path":"/pets","method":"GET","statusCode":"200"},"properties":{"description":"The pets"}},
   {"location":{"type":"NOPE"},"properties":{}}]}}`

// TestOpenAPIDocumentation: ImportRestApi and PutRestApi store the
// document's documentation parts and version (not with
// ignore=documentation); GetExport of a stage with that version puts the
// parts' summary and descriptions into the document and, with the
// apigateway extensions, the parts into x-amazon-apigateway-documentation;
// the export imports and exports again the same; DeleteRestApi deletes the
// parts and versions.
func TestOpenAPIDocumentation(t *testing.T) {
	in := apigwtest.Start(t)
	ctx := t.Context()
	imp := func(params map[string]string) (string, []string) {
		t.Helper()
		api, err := in.Client.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(docsDoc), Parameters: params})
		if err != nil {
			t.Fatalf("ImportRestApi: %v", err)
		}
		return aws.ToString(api.Id), api.Warnings
	}
	parts := func(id string) int {
		t.Helper()
		ps, err := in.Client.GetDocumentationParts(ctx, &apigateway.GetDocumentationPartsInput{RestApiId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return len(ps.Items)
	}
	id, warnings := imp(nil)
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "Documentation part 3 skipped: 1 validation error detected: Value 'NOPE' at 'documentationParts.location.type'") {
		t.Errorf("warnings %q", warnings)
	}
	if n := parts(id); n != 3 {
		t.Errorf("%d documentation parts, want 3", n)
	}
	if v, err := in.Client.GetDocumentationVersion(ctx, &apigateway.GetDocumentationVersionInput{RestApiId: aws.String(id), DocumentationVersion: aws.String("1.0")}); err != nil {
		t.Errorf("GetDocumentationVersion 1.0: %v %+v", err, v)
	}
	_, err := in.Client.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(docsDoc), FailOnWarnings: true})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Warnings found during import:\n\tDocumentation part 3 skipped: 1 validation error detected: Value 'NOPE' at 'documentationParts.location.type' failed to satisfy constraint: Member must satisfy enum value set: [RESPONSE_BODY, RESPONSE, METHOD, MODEL, AUTHORIZER, RESPONSE_HEADER, RESOURCE, PATH_PARAMETER, REQUEST_BODY, QUERY_PARAMETER, API, REQUEST_HEADER]")
	if ignored, _ := imp(map[string]string{"ignore": "documentation"}); parts(ignored) != 0 {
		t.Errorf("ignore=documentation imported %d parts", parts(ignored))
	}

	// PutRestApi overwrite replaces the parts; merge keeps the others.
	one := strings.Replace(docsDoc, `"version":"1.0"`, `"version":"1.1"`, 1)
	one = one[:strings.Index(one, `{"location":{"type":"METHOD"`)] + `{"location":{"type":"RESOURCE","path":"/pets"},"properties":{"description":"Pets"}}]}}`
	if _, err := in.Client.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: aws.String(id), Body: []byte(one), Mode: "merge"}); err != nil {
		t.Fatal(err)
	}
	if n := parts(id); n != 4 {
		t.Errorf("after merge: %d parts, want 4", n)
	}
	if _, err := in.Client.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: aws.String(id), Body: []byte(one), Mode: "overwrite"}); err != nil {
		t.Fatal(err)
	}
	if n := parts(id); n != 2 {
		t.Errorf("after overwrite: %d parts, want 2", n)
	}
	if _, err := in.Client.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: aws.String(id), Body: []byte(docsDoc), Mode: "overwrite"}); err != nil {
		t.Fatal(err)
	}

	deploy := func(id string) {
		t.Helper()
		dep, err := in.Client.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Client.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(id), StageName: aws.String("prod"),
			DeploymentId: dep.Id, DocumentationVersion: aws.String("1.0")}); err != nil {
			t.Fatal(err)
		}
	}
	deploy(id)
	first := export(t, in, id, "prod", "oas30", "application/json")
	var doc struct {
		Paths map[string]map[string]struct {
			Summary, Description string
			Responses            map[string]struct{ Description string }
		}
		Docs struct {
			Version string
			Parts   []any `json:"documentationParts"`
		} `json:"x-amazon-apigateway-documentation"`
	}
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatal(err)
	}
	get := doc.Paths["/pets"]["get"]
	if get.Summary != "List pets" || get.Description != "Every pet" || get.Responses["200"].Description != "The pets" || doc.Docs.Version != "1.0" || len(doc.Docs.Parts) != 3 {
		t.Errorf("export:\n%s", first)
	}
	id2, _ := imp(nil)
	if _, err := in.Client.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: aws.String(id2), Body: first, Mode: "overwrite"}); err != nil {
		t.Fatal(err)
	}
	deploy(id2)
	if second := export(t, in, id2, "prod", "oas30", "application/json"); strings.ReplaceAll(string(second), id2, id) != string(first) {
		t.Errorf("export of the re-imported export differs:\nfirst:\n%s\nsecond:\n%s", first, second)
	}

	if _, err := in.Client.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{model.KindDocumentationPart, model.KindDocumentationVersion} {
		if left, err := in.Server.Store.List(ctx, kind, model.ApiPrefix(id)); err != nil || len(left) != 0 {
			t.Errorf("after DeleteRestApi: %d %s records left (%v)", len(left), kind, err)
		}
	}
}

// TestOpenAPIModelChain: a document of 1000 models, each referring to the
// next, imports in one pass over its models (it took 40 s when each model
// was checked in a set of its own, 4000 models more than 9 minutes).
func TestOpenAPIModelChain(t *testing.T) {
	in := apigwtest.Start(t)
	const n = 1000
	var sb strings.Builder
	sb.WriteString(`{"openapi":"3.0.1","info":{"title":"chain","version":"1"},"paths":{},"components":{"schemas":{`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `"M%d":{"type":"object","properties":{"a":{"$ref":"#/components/schemas/M%d"}}},`, i, i+1)
	}
	fmt.Fprintf(&sb, `"M%d":{"type":"string"}}}}`, n)
	api, err := in.Client.ImportRestApi(t.Context(), &apigateway.ImportRestApiInput{Body: []byte(sb.String())})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"M0", fmt.Sprintf("M%d", n)} {
		if _, err := in.Client.GetModel(t.Context(), &apigateway.GetModelInput{RestApiId: api.Id, ModelName: aws.String(name)}); err != nil {
			t.Errorf("GetModel %s: %v", name, err)
		}
	}
}

// TestOpenAPICLI: import-rest-api, put-rest-api and get-export through the
// AWS CLI, with its parameter syntax and file arguments; the export the CLI
// writes is the one the Go SDK gets.
func TestOpenAPICLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed: skipping the CLI walk-through")
	}
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start: skipped with -short")
	}
	in := apigwtest.Start(t)
	dir := t.TempDir()
	cli := in.CLI(t, dir)
	write := func(name, body string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return "fileb://" + name
	}
	mock := func(path string) string {
		return `"` + path + `":{"get":{"responses":{"200":{"description":"200 response"}},
		  "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"},
		    "responses":{"default":{"statusCode":"200","responseTemplates":{"application/json":"{\"path\":\"$context.resourcePath\"}"}}}}}}`
	}
	doc := func(paths ...string) string {
		return `{"openapi":"3.0.1","info":{"title":"cli","version":"1"},"servers":[{"url":"https://example.com/v1"}],"paths":{` + strings.Join(paths, ",") + `}}`
	}
	yamlDoc := "openapi: 3.0.1\ninfo: {title: cli, version: '1'}\npaths:\n  /b:\n    get:\n      responses: {'200': {description: 200 response}}\n" +
		"      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{\"statusCode\":200}'}, responses: {default: {statusCode: '200'}}}\n"

	var api struct {
		ID                    string `json:"id"`
		EndpointConfiguration struct{ Types []string }
		Warnings              []string
	}
	out := cli(false, "import-rest-api", "--body", write("a.json", doc(mock("/a"))),
		"--parameters", "endpointConfigurationTypes=REGIONAL,basepath=prepend", "--fail-on-warnings")
	if err := json.Unmarshal([]byte(out), &api); err != nil || api.ID == "" || len(api.EndpointConfiguration.Types) != 1 || api.EndpointConfiguration.Types[0] != "REGIONAL" {
		t.Fatalf("import-rest-api: %v\n%s", err, out)
	}
	paths := func() string {
		t.Helper()
		return strings.Join(strings.Fields(cli(false, "get-resources", "--rest-api-id", api.ID, "--query", "sort(items[].path)", "--output", "text")), " ")
	}
	if got := paths(); got != "/ /v1 /v1/a" {
		t.Errorf("after import with basepath=prepend: %s", got)
	}
	warn := strings.Replace(doc(mock("/w")), `"responses":{"200"`, `"security":[{"nope":[]}],"responses":{"200"`, 1)
	if out := cli(true, "import-rest-api", "--body", write("w.json", warn), "--fail-on-warnings"); !strings.Contains(out, "BadRequestException") || !strings.Contains(out, "Warnings found during import:") || !strings.Contains(out, "Unable to find security definition 'nope' for 'GET /w'") {
		t.Errorf("import-rest-api --fail-on-warnings: %s", out)
	}

	cli(false, "put-rest-api", "--rest-api-id", api.ID, "--mode", "merge", "--body", write("b.yaml", yamlDoc))
	if got := paths(); got != "/ /b /v1 /v1/a" {
		t.Errorf("after put-rest-api --mode merge: %s", got)
	}
	cli(false, "put-rest-api", "--rest-api-id", api.ID, "--mode", "overwrite", "--body", "fileb://b.yaml")
	if got := paths(); got != "/ /b" {
		t.Errorf("after put-rest-api --mode overwrite: %s", got)
	}
	cli(false, "put-rest-api", "--rest-api-id", api.ID, "--mode", "merge", "--parameters", "basepath=split", "--body", write("c.json", doc(mock("/c"))))
	if got := paths(); got != "/ /b /c" {
		t.Errorf("after put-rest-api --parameters basepath=split: %s", got)
	}
	cli(false, "create-deployment", "--rest-api-id", api.ID, "--stage-name", "prod")

	for _, c := range []struct{ typ, accept, ext string }{
		{"oas30", "application/yaml", "integrations"},
		{"swagger", "application/yaml", "integrations"},
		{"oas30", "application/json", "apigateway"},
		{"swagger", "application/json", "authorizers"},
	} {
		file := c.typ + "-" + c.ext + ".out"
		cli(false, "get-export", "--rest-api-id", api.ID, "--stage-name", "prod", "--export-type", c.typ,
			"--accepts", c.accept, "--parameters", "extensions="+c.ext, file)
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		sdk, err := in.Client.GetExport(t.Context(), &apigateway.GetExportInput{RestApiId: aws.String(api.ID), StageName: aws.String("prod"),
			ExportType: aws.String(c.typ), Accepts: aws.String(c.accept), Parameters: map[string]string{"extensions": c.ext}})
		if err != nil {
			t.Fatal(err)
		}
		// The Go SDK always sends Accept: application/json (its
		// customisation replaces the input's Accepts, as AWS's SDKs for
		// JavaScript and Java did), so it gets JSON where the CLI asks
		// for YAML: the same document.
		same := string(got) == string(sdk.Body)
		if c.accept == "application/yaml" {
			same = !strings.HasPrefix(string(got), "{") && sameDocument(t, got, sdk.Body)
		}
		if !same || !strings.Contains(string(got), "/c") {
			t.Errorf("get-export %s %s %s: the CLI wrote\n%s\nthe SDK got\n%s", c.typ, c.accept, c.ext, got, sdk.Body)
		}
		if strings.Contains(string(got), "x-amazon-apigateway-integration") != (c.ext != "authorizers") {
			t.Errorf("get-export %s extensions=%s: x-amazon-apigateway-integration present: %v", c.typ, c.ext, !strings.Contains(string(got), "x-amazon-apigateway-integration"))
		}
	}
	if out := cli(true, "get-export", "--rest-api-id", api.ID, "--stage-name", "prod", "--export-type", "pdf", "x.out"); !strings.Contains(out, "Invalid export type specified: pdf") {
		t.Errorf("get-export pdf: %s", out)
	}

	// Round trip in YAML, which only the CLI asks for: the YAML export
	// imported into a new API exports the same YAML.
	for _, typ := range []string{"oas30", "swagger"} {
		first := typ + "-integrations.out"
		out := cli(false, "import-rest-api", "--body", "fileb://"+first, "--fail-on-warnings", "--query", "id", "--output", "text")
		id2 := strings.TrimSpace(out)
		cli(false, "create-deployment", "--rest-api-id", id2, "--stage-name", "prod")
		cli(false, "get-export", "--rest-api-id", id2, "--stage-name", "prod", "--export-type", typ,
			"--accepts", "application/yaml", "--parameters", "extensions=integrations", "again.out")
		a, _ := os.ReadFile(filepath.Join(dir, first))
		b, _ := os.ReadFile(filepath.Join(dir, "again.out"))
		if got := strings.ReplaceAll(string(b), id2, api.ID); got != string(a) {
			t.Errorf("%s YAML round trip:\nfirst:\n%s\nsecond:\n%s", typ, a, got)
		}
	}
}

// sameDocument reports whether the YAML document y and the JSON document j
// hold the same values.
func sameDocument(t *testing.T, y, j []byte) bool {
	t.Helper()
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(y, &fromYAML); err != nil {
		t.Fatalf("the export is not YAML: %v", err)
	}
	b, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(j, &fromJSON); err != nil {
		t.Fatalf("the SDK's export is not JSON: %v", err)
	}
	return reflect.DeepEqual(fromYAML, fromJSON)
}
