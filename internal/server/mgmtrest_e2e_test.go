package server_test

// End-to-end tests of tags, the account and documentation through
// aws-sdk-go-v2 and the AWS CLI.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
)

func TestTags(t *testing.T) {
	in := apigwtest.Start(t)
	c := in.Client
	ctx := t.Context()
	arn := func(path string) *string { return aws.String("arn:aws:apigateway:" + apigwtest.Region + "::" + path) }

	api := mgMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("tagged"), Tags: map[string]string{"team": "a"}}))(t)
	mrMockMethod(t, c, *api.Id, *api.RootResourceId)
	dep := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}))(t)
	stage := mgMust(c.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api.Id, StageName: aws.String("prod"), DeploymentId: dep.Id, Tags: map[string]string{"env": "prod"}}))(t)
	key := mgMust(c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Tags: map[string]string{"owner": "b"}}))(t)
	plan := mgMust(c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), Tags: map[string]string{"tier": "gold"}}))(t)
	cert := mgMust(c.GenerateClientCertificate(ctx, &apigateway.GenerateClientCertificateInput{Tags: map[string]string{"use": "mtls"}}))(t)

	for _, tc := range []struct {
		name   string
		arn    *string
		tags   map[string]string
		getTag func() map[string]string // what the resource's Get operation returns
	}{
		{"rest api", arn("/restapis/" + *api.Id), map[string]string{"team": "a"}, func() map[string]string {
			return mgMust(c.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id}))(t).Tags
		}},
		{"stage", arn("/restapis/" + *api.Id + "/stages/" + *stage.StageName), map[string]string{"env": "prod"}, func() map[string]string {
			return mgMust(c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api.Id, StageName: stage.StageName}))(t).Tags
		}},
		{"api key", arn("/apikeys/" + *key.Id), map[string]string{"owner": "b"}, func() map[string]string {
			return mgMust(c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: key.Id}))(t).Tags
		}},
		{"usage plan", arn("/usageplans/" + *plan.Id), map[string]string{"tier": "gold"}, func() map[string]string {
			return mgMust(c.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: plan.Id}))(t).Tags
		}},
		{"client certificate", arn("/clientcertificates/" + *cert.ClientCertificateId), map[string]string{"use": "mtls"}, func() map[string]string {
			return mgMust(c.GetClientCertificate(ctx, &apigateway.GetClientCertificateInput{ClientCertificateId: cert.ClientCertificateId}))(t).Tags
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mgMust(c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: tc.arn}))(t).Tags; !maps.Equal(got, tc.tags) {
				t.Fatalf("GetTags after creation = %v, want %v", got, tc.tags)
			}
			mgMust(c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: tc.arn, Tags: map[string]string{"added": "1", "empty": ""}}))(t)
			want := maps.Clone(tc.tags)
			want["added"], want["empty"] = "1", ""
			if got := mgMust(c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: tc.arn}))(t).Tags; !maps.Equal(got, want) {
				t.Fatalf("GetTags after TagResource = %v, want %v", got, want)
			}
			if got := tc.getTag(); !maps.Equal(got, want) {
				t.Fatalf("Get operation's tags = %v, want %v", got, want)
			}
			mgMust(c.UntagResource(ctx, &apigateway.UntagResourceInput{ResourceArn: tc.arn, TagKeys: append(slices.Collect(maps.Keys(tc.tags)), "added", "never-set")}))(t)
			if got := mgMust(c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: tc.arn}))(t).Tags; !maps.Equal(got, map[string]string{"empty": ""}) {
				t.Fatalf("GetTags after UntagResource = %v", got)
			}
		})
	}

	// The stage still serves after its tags changed.
	in.WaitServing(t, *api.Id, "prod", *dep.Id)

	t.Run("limits", func(t *testing.T) {
		a := arn("/restapis/" + *api.Id)
		many := map[string]string{}
		for i := range 51 {
			many[fmt.Sprintf("k%02d", i)] = "v"
		}
		_, err := c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: a, Tags: many})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Too many tags: a resource can have at most 50 tags")
		delete(many, "k50")
		delete(many, "k49")
		mgMust(c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: a, Tags: many}))(t) // 49 + "empty"
		_, err = c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: a, Tags: map[string]string{"one-too-many": ""}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Too many tags: a resource can have at most 50 tags")
		_, err = c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: a, Tags: map[string]string{"aws:owner": "x"}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Tag keys must not start with 'aws:' (a prefix reserved for AWS use): aws:owner")
		_, err = c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: a, Tags: map[string]string{strings.Repeat("k", 129): "x"}})
		apigwtest.WantAPIError(t, err, 400, "ValidationException", "1 validation error detected: Value '"+strings.Repeat("k", 129)+"' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]")
		_, err = c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: a, Tags: map[string]string{"k": strings.Repeat("v", 257)}})
		apigwtest.WantAPIError(t, err, 400, "ValidationException", "1 validation error detected: Value '"+strings.Repeat("v", 257)+"' at 'tags.k' failed to satisfy constraint: Member must have length less than or equal to 256")
		_, err = c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k2"), Tags: map[string]string{"aws:x": "y"}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Tag keys must not start with 'aws:'...")
		_, err = c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("tagged"), Tags: map[string]string{"aws:x": "y"}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Tag keys must not start with 'aws:'...")
		many["k49"], many["k50"] = "v", "v"
		_, err = c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("tagged"), Tags: many})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Too many tags: a resource can have at most 50 tags")
	})

	t.Run("unknown resources", func(t *testing.T) {
		acct := in.Server.AccountID
		_, err := c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: arn("/restapis/nope")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid API identifier specified "+acct+":nope")
		_, err = c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: arn("/restapis/" + *api.Id + "/stages/nope"), Tags: map[string]string{"a": "b"}})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid stage identifier specified")
		_, err = c.UntagResource(ctx, &apigateway.UntagResourceInput{ResourceArn: arn("/apikeys/nope"), TagKeys: []string{"a"}})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid API Key identifier specified")
		for _, bad := range []string{"nope", "arn:aws:apigateway:eu-west-1::/restapis/" + *api.Id, "arn:aws:apigateway:" + apigwtest.Region + "::/restapis/" + *api.Id + "/resources/x", "arn:aws:lambda:us-east-1:123456789012:function:f"} {
			_, err = c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String(bad)})
			apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid resource ARN specified: "+bad)
		}
	})
}

func TestAccount(t *testing.T) {
	in := apigwtest.Start(t)
	c := in.Client
	ctx := t.Context()
	acc := mgMust(c.GetAccount(ctx, &apigateway.GetAccountInput{}))(t)
	if acc.ThrottleSettings == nil || acc.ThrottleSettings.RateLimit != 10000 || acc.ThrottleSettings.BurstLimit != 5000 ||
		!slices.Equal(acc.Features, []string{"UsagePlans"}) || aws.ToString(acc.ApiKeyVersion) != "4" || acc.CloudwatchRoleArn != nil {
		t.Fatalf("GetAccount = %+v %+v", acc, acc.ThrottleSettings)
	}
	role := "arn:aws:iam::" + in.Server.AccountID + ":role/apigw-logs"
	up := mgMust(c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{PatchOperations: mgOps(
		mgOp(types.OpReplace, "/cloudwatchRoleArn", role), mgOp(types.OpAdd, "/features", "UsagePlans"))}))(t)
	if aws.ToString(up.CloudwatchRoleArn) != role {
		t.Fatalf("UpdateAccount = %+v", up)
	}
	if got := mgMust(c.GetAccount(ctx, &apigateway.GetAccountInput{}))(t); aws.ToString(got.CloudwatchRoleArn) != role {
		t.Fatalf("GetAccount after UpdateAccount: cloudwatchRoleArn = %v", got.CloudwatchRoleArn)
	}
	for _, tc := range []struct {
		op         types.PatchOperation
		code, text string
	}{
		{mgOp(types.OpReplace, "/cloudwatchRoleArn", "not-an-arn"), "BadRequestException", "The role ARN is not well formed"},
		{mgOp(types.OpReplace, "/name", "x"), "BadRequestException", "Invalid patch path /name"},
		{mgOp(types.OpRemove, "/features", "UsagePlans"), "BadRequestException", "Usage plans cannot be disabled"},
		{mgOp(types.OpAdd, "/features", "Other"), "BadRequestException", "Invalid feature specified: Other. Valid values are [UsagePlans]"},
		{mgOp(types.OpReplace, "/throttle/rateLimit", "0"), "BadRequestException", "The account's throttle burst and rate limits must be greater than 0"},
	} {
		_, err := c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{PatchOperations: mgOps(tc.op)})
		apigwtest.WantAPIError(t, err, 400, tc.code, tc.text)
	}

	// A changed account throttle is enforced at once, without a restart.
	apiID := upAPI(t, in, "dev")
	plan := mgMust(c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}}}))(t)
	_, keyValue := upKey(t, c, "k", "", *plan.Id)
	url := in.InvokeURL(apiID, "dev", "/hello")
	for i := range 5 {
		if r := upCall(t, url, keyValue); r.status != 200 {
			t.Fatalf("call %d under the default account throttle: %+v", i, r)
		}
	}
	up = mgMust(c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{PatchOperations: mgOps(
		mgOp(types.OpReplace, "/throttle/rateLimit", "0.001"), mgOp(types.OpReplace, "/throttle/burstLimit", "1"))}))(t)
	if up.ThrottleSettings.RateLimit != 0.001 || up.ThrottleSettings.BurstLimit != 1 {
		t.Fatalf("UpdateAccount throttle = %+v", up.ThrottleSettings)
	}
	throttled := 0
	for range 5 {
		if r := upCall(t, url, keyValue); r.status == 429 && r.errorType == "TooManyRequestsException" {
			throttled++
		}
	}
	if throttled < 4 {
		t.Fatalf("%d of 5 calls throttled after the account throttle went to burst 1, rate 0.001; want at least 4", throttled)
	}
	back := mgMust(c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{PatchOperations: mgOps(mgOp(types.OpRemove, "/throttle"))}))(t)
	if back.ThrottleSettings.RateLimit != 10000 || back.ThrottleSettings.BurstLimit != 5000 {
		t.Fatalf("after remove /throttle: %+v, want the flags' 10000/5000", back.ThrottleSettings)
	}

	// The stored throttle outlives a restart.
	mgMust(c.UpdateAccount(ctx, &apigateway.UpdateAccountInput{PatchOperations: mgOps(mgOp(types.OpReplace, "/throttle/rateLimit", "42"))}))(t)
	in = in.Restart(t)
	if got := mgMust(in.Client.GetAccount(ctx, &apigateway.GetAccountInput{}))(t); got.ThrottleSettings.RateLimit != 42 || got.ThrottleSettings.BurstLimit != 5000 {
		t.Fatalf("GetAccount after restart = %+v", got.ThrottleSettings)
	}
}

func TestDocumentation(t *testing.T) {
	in := apigwtest.Start(t)
	c := in.Client
	ctx := t.Context()
	apiID, rootID := mgNewAPI(t, c, "docs")
	loc := func(typ, path, method, status, name string) *types.DocumentationPartLocation {
		l := &types.DocumentationPartLocation{Type: types.DocumentationPartType(typ)}
		if path != "" {
			l.Path = aws.String(path)
		}
		if method != "" {
			l.Method = aws.String(method)
		}
		if status != "" {
			l.StatusCode = aws.String(status)
		}
		if name != "" {
			l.Name = aws.String(name)
		}
		return l
	}
	create := func(l *types.DocumentationPartLocation, props string) (*apigateway.CreateDocumentationPartOutput, error) {
		return c.CreateDocumentationPart(ctx, &apigateway.CreateDocumentationPartInput{RestApiId: aws.String(apiID), Location: l, Properties: aws.String(props)})
	}
	apiPart := mgMust(create(loc("API", "", "", "", ""), `{"info":{"description":"the API"}}`))(t)
	if len(aws.ToString(apiPart.Id)) != 6 || apiPart.Location.Type != types.DocumentationPartTypeApi {
		t.Fatalf("CreateDocumentationPart = %+v", apiPart)
	}
	method := mgMust(create(loc("METHOD", "/pets", "", "", ""), `{"summary":"list pets"}`))(t)
	if aws.ToString(method.Location.Method) != "*" || aws.ToString(method.Location.Path) != "/pets" {
		t.Fatalf("METHOD location = %+v, want method * filled in", method.Location)
	}
	mgMust(create(loc("QUERY_PARAMETER", "/pets", "GET", "", "limit"), `{"description":"page size"}`))(t)
	mgMust(create(loc("MODEL", "", "", "", "Pet"), `{}`))(t)
	resp := mgMust(create(loc("RESPONSE", "/pets", "GET", "", ""), `{"description":"ok"}`))(t)
	if aws.ToString(resp.Location.StatusCode) != "*" {
		t.Fatalf("RESPONSE location = %+v, want statusCode *", resp.Location)
	}

	_, err := create(loc("METHOD", "/pets", "*", "", ""), `{}`)
	apigwtest.WantAPIError(t, err, 409, "ConflictException", "Documentation part already exists for the specified location: type 'METHOD', path '/pets', method '*'.")
	_, err = create(loc("API", "/", "", "", ""), `{}`)
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid location: 'path' is not a valid field for type API")
	_, err = create(loc("MODEL", "", "", "", ""), `{}`)
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid location: 'name' is required for type MODEL")
	_, err = create(loc("RESOURCE", "/a", "", "", ""), `not json`)
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid documentation content specified: properties must be a JSON object")
	_, err = create(loc("STAGE", "", "", "", ""), `{}`)
	apigwtest.WantAPIError(t, err, 400, "ValidationException", "1 validation error detected: Value 'STAGE' at 'createDocumentationPartInput.location.type' failed to satisfy constraint: Member must satisfy enum value set: [RESPONSE_BODY, RESPONSE, METHOD, MODEL, AUTHORIZER, RESPONSE_HEADER, RESOURCE, PATH_PARAMETER, REQUEST_BODY, QUERY_PARAMETER, API, REQUEST_HEADER]")
	_, err = c.CreateDocumentationPart(ctx, &apigateway.CreateDocumentationPartInput{RestApiId: aws.String("nope"), Location: loc("API", "", "", "", ""), Properties: aws.String("{}")})
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid API identifier specified "+in.Server.AccountID+":nope")

	list := func(in *apigateway.GetDocumentationPartsInput) []string {
		t.Helper()
		in.RestApiId = aws.String(apiID)
		var got []string
		for _, p := range mgMust(c.GetDocumentationParts(ctx, in))(t).Items {
			got = append(got, string(p.Location.Type))
		}
		slices.Sort(got)
		return got
	}
	for _, tc := range []struct {
		name string
		in   *apigateway.GetDocumentationPartsInput
		want []string
	}{
		{"all", &apigateway.GetDocumentationPartsInput{}, []string{"API", "METHOD", "MODEL", "QUERY_PARAMETER", "RESPONSE"}},
		{"type", &apigateway.GetDocumentationPartsInput{Type: types.DocumentationPartTypeMethod}, []string{"METHOD"}},
		{"path", &apigateway.GetDocumentationPartsInput{Path: aws.String("/pets")}, []string{"METHOD", "QUERY_PARAMETER", "RESPONSE"}},
		{"name", &apigateway.GetDocumentationPartsInput{NameQuery: aws.String("lim")}, []string{"QUERY_PARAMETER"}},
		{"documented", &apigateway.GetDocumentationPartsInput{LocationStatus: types.LocationStatusTypeDocumented}, []string{"API", "METHOD", "QUERY_PARAMETER", "RESPONSE"}},
		{"undocumented", &apigateway.GetDocumentationPartsInput{LocationStatus: types.LocationStatusTypeUndocumented}, []string{"MODEL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("GetDocumentationParts = %v, want %v", got, tc.want)
			}
		})
	}
	// Pages of 2 hold all 5 parts.
	var seen []string
	var pos *string
	for {
		p := mgMust(c.GetDocumentationParts(ctx, &apigateway.GetDocumentationPartsInput{RestApiId: aws.String(apiID), Limit: aws.Int32(2), Position: pos}))(t)
		for _, it := range p.Items {
			seen = append(seen, *it.Id)
		}
		if pos = p.Position; pos == nil {
			break
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %v, want 5 parts", seen)
	}

	upd := mgMust(c.UpdateDocumentationPart(ctx, &apigateway.UpdateDocumentationPartInput{RestApiId: aws.String(apiID), DocumentationPartId: method.Id,
		PatchOperations: mgOps(mgOp(types.OpReplace, "/properties", `{"summary":"all pets"}`))}))(t)
	if aws.ToString(upd.Properties) != `{"summary":"all pets"}` {
		t.Fatalf("UpdateDocumentationPart = %+v", upd)
	}
	_, err = c.UpdateDocumentationPart(ctx, &apigateway.UpdateDocumentationPartInput{RestApiId: aws.String(apiID), DocumentationPartId: method.Id,
		PatchOperations: mgOps(mgOp(types.OpReplace, "/location/path", "/x"))})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid patch path  '/location/path' specified for op 'replace'. Must be one of: [/properties]")
	got := mgMust(c.GetDocumentationPart(ctx, &apigateway.GetDocumentationPartInput{RestApiId: aws.String(apiID), DocumentationPartId: method.Id}))(t)
	if aws.ToString(got.Properties) != `{"summary":"all pets"}` {
		t.Fatalf("GetDocumentationPart = %+v", got)
	}

	// A version keeps the parts as they were.
	v1 := mgMust(c.CreateDocumentationVersion(ctx, &apigateway.CreateDocumentationVersionInput{RestApiId: aws.String(apiID), DocumentationVersion: aws.String("1.0"), Description: aws.String("first")}))(t)
	if aws.ToString(v1.Version) != "1.0" || v1.CreatedDate == nil || time.Since(*v1.CreatedDate) > time.Minute {
		t.Fatalf("CreateDocumentationVersion = %+v", v1)
	}
	_, err = c.CreateDocumentationVersion(ctx, &apigateway.CreateDocumentationVersionInput{RestApiId: aws.String(apiID), DocumentationVersion: aws.String("1.0")})
	apigwtest.WantAPIError(t, err, 409, "ConflictException", "Documentation version already exists: 1.0")
	_, err = c.CreateDocumentationVersion(ctx, &apigateway.CreateDocumentationVersionInput{RestApiId: aws.String(apiID), DocumentationVersion: aws.String("2.0"), StageName: aws.String("nope")})
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid stage identifier specified")
	mrMockMethod(t, c, apiID, rootID)
	mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(apiID), StageName: aws.String("dev")}))(t)
	mgMust(c.CreateDocumentationVersion(ctx, &apigateway.CreateDocumentationVersionInput{RestApiId: aws.String(apiID), DocumentationVersion: aws.String("2.0"), StageName: aws.String("dev")}))(t)
	if st := mgMust(c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(apiID), StageName: aws.String("dev")}))(t); aws.ToString(st.DocumentationVersion) != "2.0" {
		t.Fatalf("stage documentationVersion = %v, want 2.0", st.DocumentationVersion)
	}
	uv := mgMust(c.UpdateDocumentationVersion(ctx, &apigateway.UpdateDocumentationVersionInput{RestApiId: aws.String(apiID), DocumentationVersion: aws.String("1.0"),
		PatchOperations: mgOps(mgOp(types.OpReplace, "/description", "renamed"))}))(t)
	if aws.ToString(uv.Description) != "renamed" {
		t.Fatalf("UpdateDocumentationVersion = %+v", uv)
	}
	vs := mgMust(c.GetDocumentationVersions(ctx, &apigateway.GetDocumentationVersionsInput{RestApiId: aws.String(apiID)}))(t)
	if len(vs.Items) != 2 || aws.ToString(vs.Items[0].Version) != "1.0" || aws.ToString(vs.Items[0].Description) != "renamed" {
		t.Fatalf("GetDocumentationVersions = %+v", vs.Items)
	}
	mgMust(c.DeleteDocumentationVersion(ctx, &apigateway.DeleteDocumentationVersionInput{RestApiId: aws.String(apiID), DocumentationVersion: aws.String("2.0")}))(t)
	_, err = c.GetDocumentationVersion(ctx, &apigateway.GetDocumentationVersionInput{RestApiId: aws.String(apiID), DocumentationVersion: aws.String("2.0")})
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Documentation version not found: 2.0")

	// Import: merge replaces the properties at a known location and adds the
	// others; overwrite replaces everything.
	doc := func(parts ...string) []byte {
		return []byte(`{"swagger":"2.0","info":{"title":"docs","version":"1"},"paths":{},"x-amazon-apigateway-documentation":{"version":"3.0","documentationParts":[` + strings.Join(parts, ",") + `]}}`)
	}
	merged := mgMust(c.ImportDocumentationParts(ctx, &apigateway.ImportDocumentationPartsInput{RestApiId: aws.String(apiID), Body: doc(
		`{"location":{"type":"API"},"properties":{"info":{"description":"imported"}}}`,
		`{"location":{"type":"RESOURCE","path":"/pets"},"properties":{"description":"pets"}}`,
		`{"location":{"type":"RESOURCE","method":"GET"},"properties":{"description":"bad"}}`)}))(t)
	if len(merged.Ids) != 2 || merged.Ids[0] != *apiPart.Id || len(merged.Warnings) != 1 {
		t.Fatalf("ImportDocumentationParts merge = %+v", merged)
	}
	if got := mgMust(c.GetDocumentationPart(ctx, &apigateway.GetDocumentationPartInput{RestApiId: aws.String(apiID), DocumentationPartId: apiPart.Id}))(t); aws.ToString(got.Properties) != `{"info":{"description":"imported"}}` {
		t.Fatalf("API part after merge = %s", aws.ToString(got.Properties))
	}
	if n := len(list(&apigateway.GetDocumentationPartsInput{})); n != 6 {
		t.Fatalf("%d parts after merge, want 6", n)
	}
	_, err = c.ImportDocumentationParts(ctx, &apigateway.ImportDocumentationPartsInput{RestApiId: aws.String(apiID), FailOnWarnings: true, Mode: types.PutModeOverwrite, Body: doc(
		`{"location":{"type":"RESOURCE","method":"GET"},"properties":{}}`)})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Import failed with warnings: Documentation part 0 skipped: Invalid location: 'method' is not a valid field for type RESOURCE")
	over := mgMust(c.ImportDocumentationParts(ctx, &apigateway.ImportDocumentationPartsInput{RestApiId: aws.String(apiID), Mode: types.PutModeOverwrite, Body: doc(
		`{"location":{"type":"MODEL","name":"Pet"},"properties":{"description":"a pet"}}`)}))(t)
	if len(over.Ids) != 1 {
		t.Fatalf("ImportDocumentationParts overwrite = %+v", over)
	}
	if got := list(&apigateway.GetDocumentationPartsInput{}); !slices.Equal(got, []string{"MODEL"}) {
		t.Fatalf("parts after overwrite = %v", got)
	}

	mgMust(c.DeleteDocumentationPart(ctx, &apigateway.DeleteDocumentationPartInput{RestApiId: aws.String(apiID), DocumentationPartId: aws.String(over.Ids[0])}))(t)
	_, err = c.DeleteDocumentationPart(ctx, &apigateway.DeleteDocumentationPartInput{RestApiId: aws.String(apiID), DocumentationPartId: aws.String(over.Ids[0])})
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Documentation part identifier specified")
}

// Tags, the account and documentation with the AWS CLI.
func TestMgmtRestCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed: skipping the CLI walk-through")
	}
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start: skipped with -short")
	}
	in := apigwtest.Start(t)
	home := t.TempDir()
	cli := in.CLI(t, home)
	apiID, _ := mgNewAPI(t, in.Client, "cli")
	arn := "arn:aws:apigateway:" + apigwtest.Region + "::/restapis/" + apiID
	cli(false, "tag-resource", "--resource-arn", arn, "--tags", "team=web,env=dev")
	var tags struct{ Tags map[string]string }
	if err := json.Unmarshal([]byte(cli(false, "get-tags", "--resource-arn", arn)), &tags); err != nil || !maps.Equal(tags.Tags, map[string]string{"team": "web", "env": "dev"}) {
		t.Fatalf("get-tags: %v %v", tags, err)
	}
	cli(false, "untag-resource", "--resource-arn", arn, "--tag-keys", "env")
	if out := cli(false, "get-tags", "--resource-arn", arn, "--query", "tags.env", "--output", "text"); strings.TrimSpace(out) != "None" {
		t.Fatalf("get-tags after untag-resource: %q", out)
	}
	if out := cli(true, "tag-resource", "--resource-arn", arn, "--tags", "aws:x=1"); !strings.Contains(out, "BadRequestException") || !strings.Contains(out, "Tag keys must not start with 'aws:'") {
		t.Fatalf("tag-resource aws:x: %s", out)
	}

	if out := cli(false, "get-account", "--query", "throttleSettings.burstLimit", "--output", "text"); strings.TrimSpace(out) != "5000" {
		t.Fatalf("get-account: %q", out)
	}
	if out := cli(false, "update-account", "--patch-operations", "op=replace,path=/throttle/burstLimit,value=100", "--query", "throttleSettings.burstLimit", "--output", "text"); strings.TrimSpace(out) != "100" {
		t.Fatalf("update-account: %q", out)
	}

	id := strings.TrimSpace(cli(false, "create-documentation-part", "--rest-api-id", apiID, "--location", "type=METHOD,path=/pets,method=GET",
		"--properties", `{"summary":"list pets"}`, "--query", "id", "--output", "text"))
	if out := cli(false, "get-documentation-parts", "--rest-api-id", apiID, "--type", "METHOD", "--query", "items[].id", "--output", "text"); strings.TrimSpace(out) != id {
		t.Fatalf("get-documentation-parts: %q, want %q", out, id)
	}
	body := t.TempDir() + "/doc.json"
	if err := os.WriteFile(body, []byte(`{"swagger":"2.0","x-amazon-apigateway-documentation":{"documentationParts":[{"location":{"type":"API"},"properties":{"description":"d"}}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := cli(false, "import-documentation-parts", "--rest-api-id", apiID, "--mode", "merge", "--body", "fileb://"+body, "--query", "length(ids)"); strings.TrimSpace(out) != "1" {
		t.Fatalf("import-documentation-parts: %q", out)
	}
	cli(false, "create-documentation-version", "--rest-api-id", apiID, "--documentation-version", "v1")
	if out := cli(false, "get-documentation-versions", "--rest-api-id", apiID, "--query", "items[].version", "--output", "text"); strings.TrimSpace(out) != "v1" {
		t.Fatalf("get-documentation-versions: %q", out)
	}
	if out := cli(true, "get-documentation-part", "--rest-api-id", apiID, "--documentation-part-id", "nope"); !strings.Contains(out, "NotFoundException") {
		t.Fatalf("get-documentation-part nope: %s", out)
	}
}

// mrMockMethod puts a GET with a MOCK integration on a resource, so that
// the API can be deployed.
func mrMockMethod(t *testing.T, c *apigateway.Client, apiID, resID string) {
	t.Helper()
	ctx := t.Context()
	mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(apiID), ResourceId: aws.String(resID), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))(t)
	mgMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: aws.String(apiID), ResourceId: aws.String(resID), HttpMethod: aws.String("GET"),
		Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))(t)
}
