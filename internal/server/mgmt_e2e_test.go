package server_test

// End-to-end tests of the management API: a real apigw on loopback, driven
// through the aws-sdk-go-v2 apigateway client (and raw HTTP where the SDK
// cannot send what is tested), with AWS's shapes, statuses and texts.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
)

// ---- helpers ----

// mgMust fails the test on err: mgMust(c.Op(ctx, in))(t) is the operation's output.
func mgMust[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func mgOp(o types.Op, path string, value ...string) types.PatchOperation {
	p := types.PatchOperation{Op: o, Path: aws.String(path)}
	if len(value) > 0 {
		p.Value = aws.String(value[0])
	}
	return p
}

func mgOps(o ...types.PatchOperation) []types.PatchOperation { return o }

// mgNewAPI creates a REST API and returns its id and root resource id.
func mgNewAPI(t *testing.T, c *apigateway.Client, name string) (string, string) {
	t.Helper()
	out := mgMust(c.CreateRestApi(t.Context(), &apigateway.CreateRestApiInput{Name: aws.String(name)}))(t)
	return aws.ToString(out.Id), aws.ToString(out.RootResourceId)
}

func mgNewResource(t *testing.T, c *apigateway.Client, apiID, parentID, part string) *apigateway.CreateResourceOutput {
	t.Helper()
	return mgMust(c.CreateResource(t.Context(), &apigateway.CreateResourceInput{
		RestApiId: aws.String(apiID), ParentId: aws.String(parentID), PathPart: aws.String(part),
	}))(t)
}

// mgPutMock gives resID a method answering 200 with body through a MOCK
// integration.
func mgPutMock(t *testing.T, c *apigateway.Client, apiID, resID, method, body string) {
	t.Helper()
	ctx := t.Context()
	mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{
		RestApiId: aws.String(apiID), ResourceId: aws.String(resID), HttpMethod: aws.String(method),
		AuthorizationType: aws.String("NONE"),
	}))(t)
	mgMust(c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
		RestApiId: aws.String(apiID), ResourceId: aws.String(resID), HttpMethod: aws.String(method),
		StatusCode: aws.String("200"),
	}))(t)
	mgMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{
		RestApiId: aws.String(apiID), ResourceId: aws.String(resID), HttpMethod: aws.String(method),
		Type:             types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
	}))(t)
	mgMust(c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{
		RestApiId: aws.String(apiID), ResourceId: aws.String(resID), HttpMethod: aws.String(method),
		StatusCode:        aws.String("200"),
		ResponseTemplates: map[string]string{"application/json": body},
	}))(t)
}

// mgInvoke sends a plain GET to the data plane.
func mgInvoke(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// mgRawAdmin sends a request to the admin API, signed with the root
// credentials unless secret is "-" (unsigned); other secrets sign with that
// secret instead of the right one.
func mgRawAdmin(t *testing.T, in *apigwtest.Instance, method, path string, body []byte, secret string) (*http.Response, []byte) {
	t.Helper()
	var h http.Header
	if body != nil {
		h = http.Header{"Content-Type": {"application/json"}}
	}
	return aaSend(t, in, "apigateway", method, path, "", h, body, secret)
}

// mgWantRawErr checks a raw error response: status, x-amzn-ErrorType (any
// non-empty value when errType is "") and a JSON body with a message.
func mgWantRawErr(t *testing.T, resp *http.Response, body []byte, status int, errType, msgPrefix string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	got := resp.Header.Get("x-amzn-ErrorType")
	if got == "" || (errType != "" && got != errType) {
		t.Errorf("x-amzn-ErrorType = %q, want %q", got, errType)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var m struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Message == nil {
		t.Fatalf("body %q is not {\"message\": ...}", body)
	}
	if !strings.HasPrefix(*m.Message, msgPrefix) {
		t.Errorf("message = %q, want prefix %q", *m.Message, msgPrefix)
	}
}

// ---- REST APIs ----

func TestMgmtRestApiLifecycle(t *testing.T) {
	in := apigwtest.Start(t)
	c, ctx := in.Client, t.Context()
	const policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}]}`

	created := mgMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{
		Name:             aws.String("pets"),
		Description:      aws.String("the pet store"),
		BinaryMediaTypes: []string{"image/jpeg"},
		EndpointConfiguration: &types.EndpointConfiguration{
			Types: []types.EndpointType{types.EndpointTypeRegional},
		},
		ApiKeySource: types.ApiKeySourceTypeAuthorizer,
		Policy:       aws.String(policy),
		Tags:         map[string]string{"team": "zoo", "env": "test"},
	}))(t)
	id := aws.ToString(created.Id)

	t.Run("create", func(t *testing.T) {
		if len(id) != 10 || strings.ToLower(id) != id {
			t.Errorf("id = %q, want 10 lowercase alphanumerics", id)
		}
		if aws.ToString(created.Name) != "pets" || aws.ToString(created.Description) != "the pet store" {
			t.Errorf("name/description = %q/%q", aws.ToString(created.Name), aws.ToString(created.Description))
		}
		if !slices.Equal(created.BinaryMediaTypes, []string{"image/jpeg"}) {
			t.Errorf("binaryMediaTypes = %v", created.BinaryMediaTypes)
		}
		if ec := created.EndpointConfiguration; ec == nil || !slices.Equal(ec.Types, []types.EndpointType{types.EndpointTypeRegional}) || ec.IpAddressType != types.IpAddressTypeIpv4 {
			t.Errorf("endpointConfiguration = %+v, want REGIONAL ipv4", ec)
		}
		if created.ApiKeySource != types.ApiKeySourceTypeAuthorizer {
			t.Errorf("apiKeySource = %q", created.ApiKeySource)
		}
		if aws.ToString(created.Policy) != policy {
			t.Errorf("policy = %q, want it as given", aws.ToString(created.Policy))
		}
		if len(created.Tags) != 2 || created.Tags["team"] != "zoo" || created.Tags["env"] != "test" {
			t.Errorf("tags = %v", created.Tags)
		}
		if created.CreatedDate == nil || time.Since(*created.CreatedDate) > time.Hour {
			t.Errorf("createdDate = %v", created.CreatedDate)
		}
		if aws.ToString(created.RootResourceId) == "" {
			t.Errorf("no rootResourceId")
		}
	})

	t.Run("defaults", func(t *testing.T) {
		out := mgMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("bare")}))(t)
		if out.ApiKeySource != types.ApiKeySourceTypeHeader {
			t.Errorf("apiKeySource = %q, want HEADER", out.ApiKeySource)
		}
		if ec := out.EndpointConfiguration; ec == nil || !slices.Equal(ec.Types, []types.EndpointType{types.EndpointTypeEdge}) || ec.IpAddressType != types.IpAddressTypeIpv4 {
			t.Errorf("endpointConfiguration = %+v, want EDGE ipv4", ec)
		}
		if out.DisableExecuteApiEndpoint {
			t.Errorf("disableExecuteApiEndpoint = true")
		}
		priv := mgMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("private"),
			EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypePrivate}}}))(t)
		if ec := priv.EndpointConfiguration; ec == nil || ec.IpAddressType != types.IpAddressTypeDualstack {
			t.Errorf("private endpointConfiguration = %+v, want dualstack", ec)
		}
	})

	t.Run("create errors", func(t *testing.T) {
		create := func(ec *types.EndpointConfiguration) error {
			_, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("bad"), EndpointConfiguration: ec})
			return err
		}
		cases := []struct {
			name   string
			err    error
			status int
			code   string
			msg    string
		}{
			{"two endpoint types", create(&types.EndpointConfiguration{Types: []types.EndpointType{"EDGE", "REGIONAL"}}), 400, "BadRequestException", "Cannot create an api with multiple Endpoint Types."},
			{"invalid endpoint type", create(&types.EndpointConfiguration{Types: []types.EndpointType{"wrong"}}), 400, "ValidationException",
				"1 validation error detected: Value '[wrong]' at 'createRestApiInput.endpointConfiguration.types' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [PRIVATE, EDGE, REGIONAL]]"},
			{"invalid ip address type", create(&types.EndpointConfiguration{Types: []types.EndpointType{"EDGE"}, IpAddressType: "wrong"}), 400, "ValidationException",
				"1 validation error detected: Value 'wrong' at 'createRestApiInput.endpointConfiguration.ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [ipv4, dualstack]"},
			{"private ipv4", create(&types.EndpointConfiguration{Types: []types.EndpointType{"PRIVATE"}, IpAddressType: "ipv4"}), 400, "BadRequestException", "Only dualstack ipAddressType is supported for Private APIs."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { apigwtest.WantAPIError(t, tc.err, tc.status, tc.code, tc.msg) })
		}
	})

	t.Run("root resource", func(t *testing.T) {
		res := mgMust(c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String(id)}))(t)
		if len(res.Items) != 1 {
			t.Fatalf("resources = %d, want just the root", len(res.Items))
		}
		root := res.Items[0]
		if aws.ToString(root.Id) != aws.ToString(created.RootResourceId) || aws.ToString(root.Path) != "/" || root.ParentId != nil || root.PathPart != nil {
			t.Errorf("root = id %q path %q parent %v part %v", aws.ToString(root.Id), aws.ToString(root.Path), root.ParentId, root.PathPart)
		}
	})

	t.Run("get", func(t *testing.T) {
		got := mgMust(c.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)}))(t)
		if aws.ToString(got.Id) != id || aws.ToString(got.Name) != "pets" || aws.ToString(got.Policy) != policy ||
			got.ApiKeySource != types.ApiKeySourceTypeAuthorizer || got.Tags["team"] != "zoo" ||
			aws.ToString(got.RootResourceId) != aws.ToString(created.RootResourceId) {
			t.Errorf("get = %+v, want what was created", got)
		}
		if !got.CreatedDate.Equal(*created.CreatedDate) {
			t.Errorf("createdDate %v != %v", got.CreatedDate, created.CreatedDate)
		}
	})

	t.Run("update", func(t *testing.T) {
		steps := []struct {
			name  string
			ops   []types.PatchOperation
			check func(t *testing.T, a *apigateway.UpdateRestApiOutput)
		}{
			{"name and description", mgOps(mgOp(types.OpReplace, "/name", "pets2"), mgOp(types.OpReplace, "/description", "new")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if aws.ToString(a.Name) != "pets2" || aws.ToString(a.Description) != "new" {
						t.Errorf("name/description = %q/%q", aws.ToString(a.Name), aws.ToString(a.Description))
					}
				}},
			{"add binary media type", mgOps(mgOp(types.OpAdd, "/binaryMediaTypes/image~1png")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if !slices.Equal(a.BinaryMediaTypes, []string{"image/jpeg", "image/png"}) {
						t.Errorf("binaryMediaTypes = %v", a.BinaryMediaTypes)
					}
				}},
			{"replace binary media type", mgOps(mgOp(types.OpReplace, "/binaryMediaTypes/image~1jpeg", "image/gif")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					// AWS removes the old value and appends the new one.
					if !slices.Equal(a.BinaryMediaTypes, []string{"image/png", "image/gif"}) {
						t.Errorf("binaryMediaTypes = %v", a.BinaryMediaTypes)
					}
				}},
			{"remove binary media type", mgOps(mgOp(types.OpRemove, "/binaryMediaTypes/image~1png")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if !slices.Equal(a.BinaryMediaTypes, []string{"image/gif"}) {
						t.Errorf("binaryMediaTypes = %v", a.BinaryMediaTypes)
					}
				}},
			{"apiKeySource", mgOps(mgOp(types.OpReplace, "/apiKeySource", "HEADER")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if a.ApiKeySource != types.ApiKeySourceTypeHeader {
						t.Errorf("apiKeySource = %q", a.ApiKeySource)
					}
				}},
			{"minimumCompressionSize", mgOps(mgOp(types.OpReplace, "/minimumCompressionSize", "1024")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if aws.ToInt32(a.MinimumCompressionSize) != 1024 {
						t.Errorf("minimumCompressionSize = %v", a.MinimumCompressionSize)
					}
				}},
			{"minimumCompressionSize zero", mgOps(mgOp(types.OpReplace, "/minimumCompressionSize", "0")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if a.MinimumCompressionSize == nil || *a.MinimumCompressionSize != 0 {
						t.Errorf("minimumCompressionSize = %v, want 0", a.MinimumCompressionSize)
					}
				}},
			{"minimumCompressionSize disabled", mgOps(mgOp(types.OpReplace, "/minimumCompressionSize", "")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if a.MinimumCompressionSize != nil {
						t.Errorf("minimumCompressionSize = %v, want none", *a.MinimumCompressionSize)
					}
				}},
			{"endpoint type and ip address type", mgOps(mgOp(types.OpReplace, "/endpointConfiguration/types/REGIONAL", "EDGE"), mgOp(types.OpReplace, "/endpointConfiguration/ipAddressType", "dualstack")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if ec := a.EndpointConfiguration; ec == nil || !slices.Equal(ec.Types, []types.EndpointType{types.EndpointTypeEdge}) || ec.IpAddressType != types.IpAddressTypeDualstack {
						t.Errorf("endpointConfiguration = %+v, want EDGE dualstack", ec)
					}
				}},
			{"remove description", mgOps(mgOp(types.OpRemove, "/description")),
				func(t *testing.T, a *apigateway.UpdateRestApiOutput) {
					if a.Description != nil {
						t.Errorf("description = %q, want none", *a.Description)
					}
				}},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				out := mgMust(c.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: s.ops}))(t)
				s.check(t, out)
			})
		}
		got := mgMust(c.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)}))(t)
		if aws.ToString(got.Name) != "pets2" || !slices.Equal(got.BinaryMediaTypes, []string{"image/gif"}) || got.ApiKeySource != types.ApiKeySourceTypeHeader {
			t.Errorf("after updates get = name %q types %v source %q", aws.ToString(got.Name), got.BinaryMediaTypes, got.ApiKeySource)
		}
	})

	t.Run("update errors", func(t *testing.T) {
		const cmp = "Invalid minimum compression size, must be between 0 and 10485760"
		cases := []struct {
			name   string
			ops    []types.PatchOperation
			status int
			code   string
			msg    string
		}{
			{"unknown path", mgOps(mgOp(types.OpReplace, "/nope", "x")), 400, "BadRequestException", "Invalid patch path /nope"},
			{"binaryMediaTypes alone", mgOps(mgOp(types.OpAdd, "/binaryMediaTypes", "image/gif")), 400, "BadRequestException", "Invalid patch path /binaryMediaTypes"},
			{"no path", mgOps(types.PatchOperation{Op: types.OpReplace, Value: aws.String("x")}), 400, "BadRequestException", "Invalid patch path null"},
			{"compression add", mgOps(mgOp(types.OpAdd, "/minimumCompressionSize", "10")), 400, "BadRequestException", "Invalid patch operation specified. Must be one of: [replace]"},
			{"compression negative", mgOps(mgOp(types.OpReplace, "/minimumCompressionSize", "-1")), 400, "BadRequestException", cmp},
			{"compression not a number", mgOps(mgOp(types.OpReplace, "/minimumCompressionSize", "test")), 400, "BadRequestException", cmp},
			{"wrong endpoint type", mgOps(mgOp(types.OpReplace, "/endpointConfiguration/types/REGIONAL", "wrong")), 400, "BadRequestException", "Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE"},
			{"wrong ip address type", mgOps(mgOp(types.OpReplace, "/endpointConfiguration/ipAddressType", "wrong")), 400, "BadRequestException", "ipAddressType must be either ipv4 or dualstack."},
			{"add ip address type", mgOps(mgOp(types.OpAdd, "/endpointConfiguration/ipAddressType", "ipv4")), 400, "BadRequestException", "Invalid patch operation specified. Must be one of: [replace]"},
			{"bad op", mgOps(mgOp("wrong-op", "/name", "x")), 400, "ValidationException",
				"1 validation error detected: Value 'wrong-op' at 'updateRestApiInput.patchOperations.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"},
			{"two bad ops", mgOps(mgOp("wrong", "/name", "x"), mgOp(types.OpReplace, "/name", "y"), mgOp("bad", "/description")), 400, "ValidationException",
				"2 validation errors detected: Value 'wrong' at 'updateRestApiInput.patchOperations.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]; " +
					"Value 'bad' at 'updateRestApiInput.patchOperations.3.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: tc.ops})
				apigwtest.WantAPIError(t, err, tc.status, tc.code, tc.msg)
			})
		}
		// A failed update changes nothing.
		got := mgMust(c.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)}))(t)
		if aws.ToString(got.Name) != "pets2" {
			t.Errorf("name = %q after failed updates", aws.ToString(got.Name))
		}
	})

	t.Run("delete", func(t *testing.T) {
		mgMust(c.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(id)}))(t)
		want := fmt.Sprintf("Invalid API identifier specified %s:%s", in.Server.AccountID, id)
		_, err := c.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)})
		var nf *types.NotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("get after delete: %v, want NotFoundException", err)
		}
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", want)
		_, err = c.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(id)})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", want)
		_, err = c.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: mgOps(mgOp(types.OpReplace, "/name", "x"))})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", want)
		_, err = c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String(id)})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", want)
	})
}

func TestMgmtRestApiPagination(t *testing.T) {
	in := apigwtest.Start(t)
	c, ctx := in.Client, t.Context()
	want := map[string]bool{}
	for i := range 7 {
		id, _ := mgNewAPI(t, c, fmt.Sprintf("api-%d", i))
		want[id] = true
	}
	seen := map[string]int{}
	var sizes []int
	var pos *string
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatalf("pagination does not end")
		}
		out := mgMust(c.GetRestApis(ctx, &apigateway.GetRestApisInput{Limit: aws.Int32(3), Position: pos}))(t)
		sizes = append(sizes, len(out.Items))
		for _, a := range out.Items {
			seen[aws.ToString(a.Id)]++
		}
		if out.Position == nil {
			break
		}
		if aws.ToString(out.Position) == "" {
			t.Fatalf("empty position on page %d", page)
		}
		pos = out.Position
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("page sizes = %v, want [3 3 1]", sizes)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("api %s seen %d times", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("saw %d apis, want %d", len(seen), len(want))
	}

	t.Run("default limit", func(t *testing.T) {
		out := mgMust(c.GetRestApis(ctx, &apigateway.GetRestApisInput{}))(t)
		if len(out.Items) != 7 || out.Position != nil {
			t.Errorf("items = %d position %v, want 7 and none", len(out.Items), out.Position)
		}
	})
	t.Run("exact multiple", func(t *testing.T) {
		// 7 items with limit 7: one page, no position.
		out := mgMust(c.GetRestApis(ctx, &apigateway.GetRestApisInput{Limit: aws.Int32(7)}))(t)
		if len(out.Items) != 7 || out.Position != nil {
			t.Errorf("items = %d position %v, want 7 and none", len(out.Items), out.Position)
		}
	})
	t.Run("paginator", func(t *testing.T) {
		p := apigateway.NewGetRestApisPaginator(c, &apigateway.GetRestApisInput{Limit: aws.Int32(2)})
		n := 0
		for p.HasMorePages() {
			out := mgMust(p.NextPage(ctx))(t)
			n += len(out.Items)
		}
		if n != 7 {
			t.Errorf("paginator saw %d apis, want 7", n)
		}
	})
}

// ---- resources ----

func TestMgmtResources(t *testing.T) {
	in := apigwtest.Start(t)
	c, ctx := in.Client, t.Context()
	apiID, rootID := mgNewAPI(t, c, "tree")
	api := aws.String(apiID)

	items := mgNewResource(t, c, apiID, rootID, "items")
	item := mgNewResource(t, c, apiID, aws.ToString(items.Id), "{id}")
	detail := mgNewResource(t, c, apiID, aws.ToString(item.Id), "detail")
	proxy := mgNewResource(t, c, apiID, rootID, "{proxy+}")

	path := func(t *testing.T, id string) string {
		t.Helper()
		return aws.ToString(mgMust(c.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: api, ResourceId: aws.String(id)}))(t).Path)
	}

	t.Run("create", func(t *testing.T) {
		cases := []struct {
			name             string
			out              *apigateway.CreateResourceOutput
			parent, part, pa string
		}{
			{"literal", items, rootID, "items", "/items"},
			{"variable", item, aws.ToString(items.Id), "{id}", "/items/{id}"},
			{"nested", detail, aws.ToString(item.Id), "detail", "/items/{id}/detail"},
			{"greedy", proxy, rootID, "{proxy+}", "/{proxy+}"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if aws.ToString(tc.out.ParentId) != tc.parent || aws.ToString(tc.out.PathPart) != tc.part || aws.ToString(tc.out.Path) != tc.pa {
					t.Errorf("created parent %q part %q path %q, want %q %q %q",
						aws.ToString(tc.out.ParentId), aws.ToString(tc.out.PathPart), aws.ToString(tc.out.Path), tc.parent, tc.part, tc.pa)
				}
				if got := path(t, aws.ToString(tc.out.Id)); got != tc.pa {
					t.Errorf("get path = %q, want %q", got, tc.pa)
				}
			})
		}
	})

	mgPutMock(t, c, apiID, aws.ToString(items.Id), "GET", `{"ok":true}`)

	t.Run("list with embedded methods", func(t *testing.T) {
		out := mgMust(c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api, Embed: []string{"methods"}}))(t)
		if len(out.Items) != 5 {
			t.Fatalf("resources = %d, want 5", len(out.Items))
		}
		for _, r := range out.Items {
			if aws.ToString(r.Id) != aws.ToString(items.Id) {
				if len(r.ResourceMethods) != 0 {
					t.Errorf("%s has methods %v", aws.ToString(r.Path), r.ResourceMethods)
				}
				continue
			}
			m, ok := r.ResourceMethods["GET"]
			if !ok {
				t.Fatalf("/items has no GET: %v", r.ResourceMethods)
			}
			if aws.ToString(m.HttpMethod) != "GET" || aws.ToString(m.AuthorizationType) != "NONE" {
				t.Errorf("embedded method = %+v", m)
			}
			if m.MethodIntegration == nil || m.MethodIntegration.Type != types.IntegrationTypeMock {
				t.Fatalf("embedded integration = %+v, want MOCK", m.MethodIntegration)
			}
			if ir := m.MethodIntegration.IntegrationResponses["200"]; ir.ResponseTemplates["application/json"] != `{"ok":true}` {
				t.Errorf("embedded integration response = %+v", ir)
			}
			if mr := m.MethodResponses["200"]; aws.ToString(mr.StatusCode) != "200" {
				t.Errorf("embedded method response = %+v", mr)
			}
		}
	})

	t.Run("list without embed", func(t *testing.T) {
		out := mgMust(c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api}))(t)
		for _, r := range out.Items {
			if aws.ToString(r.Id) == aws.ToString(items.Id) {
				m, ok := r.ResourceMethods["GET"]
				if !ok || m.MethodIntegration != nil || m.HttpMethod != nil {
					t.Errorf("without embed GET = %+v (present %v), want an empty object", m, ok)
				}
			}
		}
	})

	t.Run("list paginated", func(t *testing.T) {
		seen := map[string]bool{}
		var pos *string
		for range 10 {
			out := mgMust(c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api, Limit: aws.Int32(2), Position: pos}))(t)
			for _, r := range out.Items {
				if seen[aws.ToString(r.Id)] {
					t.Errorf("resource %s seen twice", aws.ToString(r.Id))
				}
				seen[aws.ToString(r.Id)] = true
			}
			if pos = out.Position; pos == nil {
				break
			}
		}
		if len(seen) != 5 {
			t.Errorf("saw %d resources, want 5", len(seen))
		}
	})

	t.Run("get with embed", func(t *testing.T) {
		out := mgMust(c.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: api, ResourceId: items.Id, Embed: []string{"methods"}}))(t)
		if m := out.ResourceMethods["GET"]; m.MethodIntegration == nil {
			t.Errorf("GetResource embed=methods: GET = %+v", m)
		}
	})

	t.Run("update pathPart", func(t *testing.T) {
		out := mgMust(c.UpdateResource(ctx, &apigateway.UpdateResourceInput{RestApiId: api, ResourceId: items.Id,
			PatchOperations: mgOps(mgOp(types.OpReplace, "/pathPart", "things"))}))(t)
		if aws.ToString(out.Path) != "/things" || aws.ToString(out.PathPart) != "things" {
			t.Errorf("updated = path %q part %q", aws.ToString(out.Path), aws.ToString(out.PathPart))
		}
		if got := path(t, aws.ToString(item.Id)); got != "/things/{id}" {
			t.Errorf("child path = %q", got)
		}
		if got := path(t, aws.ToString(detail.Id)); got != "/things/{id}/detail" {
			t.Errorf("grandchild path = %q", got)
		}
		// Methods stay with the resource.
		m := mgMust(c.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api, ResourceId: items.Id, HttpMethod: aws.String("GET")}))(t)
		if m.MethodIntegration == nil {
			t.Errorf("method lost its integration after rename")
		}
	})

	other := mgNewResource(t, c, apiID, rootID, "other")
	t.Run("update parentId", func(t *testing.T) {
		out := mgMust(c.UpdateResource(ctx, &apigateway.UpdateResourceInput{RestApiId: api, ResourceId: item.Id,
			PatchOperations: mgOps(mgOp(types.OpReplace, "/parentId", aws.ToString(other.Id)))}))(t)
		if aws.ToString(out.Path) != "/other/{id}" || aws.ToString(out.ParentId) != aws.ToString(other.Id) {
			t.Errorf("moved = path %q parent %q", aws.ToString(out.Path), aws.ToString(out.ParentId))
		}
		if got := path(t, aws.ToString(detail.Id)); got != "/other/{id}/detail" {
			t.Errorf("descendant path = %q", got)
		}
	})

	dup := mgNewResource(t, c, apiID, aws.ToString(items.Id), "other")
	t.Run("errors", func(t *testing.T) {
		const partText = "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."
		create := func(parent, part string) error {
			_, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api, ParentId: aws.String(parent), PathPart: aws.String(part)})
			return err
		}
		update := func(id string, o ...types.PatchOperation) error {
			_, err := c.UpdateResource(ctx, &apigateway.UpdateResourceInput{RestApiId: api, ResourceId: aws.String(id), PatchOperations: o})
			return err
		}
		cases := []struct {
			name   string
			err    error
			status int
			code   string
			msg    string
		}{
			{"duplicate pathPart", create(rootID, "things"), 409, "ConflictException", "Another resource with the same parent already has this name: things"},
			{"invalid pathPart space", create(rootID, "a b"), 400, "BadRequestException", partText},
			{"invalid pathPart brace", create(rootID, "{open"), 400, "BadRequestException", partText},
			{"invalid pathPart slash", create(rootID, "a/b"), 400, "BadRequestException", partText},
			{"child of greedy", create(aws.ToString(proxy.Id), "x"), 400, "BadRequestException", "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
			{"variable child of greedy", create(aws.ToString(proxy.Id), "{x}"), 400, "BadRequestException", "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
			{"second variable sibling", create(rootID, "{other}"), 400, "BadRequestException", "A sibling ({proxy+}) of this resource already has a variable path part -- only one is allowed"},
			{"unknown parent", create("nope123456", "x"), 404, "NotFoundException", "Invalid Resource identifier specified"},
			{"cycle", update(aws.ToString(other.Id), mgOp(types.OpReplace, "/parentId", aws.ToString(detail.Id))), 400, "BadRequestException", "Resources cannot be cyclical."},
			{"parent is self", update(aws.ToString(other.Id), mgOp(types.OpReplace, "/parentId", aws.ToString(other.Id))), 400, "BadRequestException", "Resources cannot be cyclical."},
			{"unknown new parent", update(aws.ToString(other.Id), mgOp(types.OpReplace, "/parentId", "fake-parent")), 404, "NotFoundException", "Invalid Resource identifier specified"},
			{"move onto existing name", update(aws.ToString(dup.Id), mgOp(types.OpReplace, "/parentId", rootID)), 409, "ConflictException", "Another resource with the same parent already has this name: other"},
			{"move under greedy", update(aws.ToString(dup.Id), mgOp(types.OpReplace, "/parentId", aws.ToString(proxy.Id))), 400, "BadRequestException", "Cannot create a child of a resource with a greedy path variable: {proxy+}"},
			{"rename onto existing name", update(aws.ToString(other.Id), mgOp(types.OpReplace, "/pathPart", "things")), 409, "ConflictException", "Another resource with the same parent already has this name: things"},
			{"rename invalid", update(aws.ToString(other.Id), mgOp(types.OpReplace, "/pathPart", "a b")), 400, "BadRequestException", partText},
			{"unknown resource", update("fake-resource", mgOp(types.OpReplace, "/pathPart", "dogs")), 404, "NotFoundException", "Invalid Resource identifier specified"},
			{"bad patch path", update(aws.ToString(other.Id), mgOp(types.OpReplace, "/invalid", "dogs")), 400, "BadRequestException", "Invalid patch path  '/invalid' specified for op 'replace'. Must be one of: [/parentId, /pathPart]"},
			{"add pathPart", update(aws.ToString(other.Id), mgOp(types.OpAdd, "/pathPart", "x")), 400, "BadRequestException", "Invalid patch path  '/pathPart' specified for op 'add'. Please choose supported operations"},
			{"remove pathPart", update(aws.ToString(other.Id), mgOp(types.OpRemove, "/pathPart")), 400, "BadRequestException", "Invalid patch path  '/pathPart' specified for op 'remove'. Please choose supported operations"},
			{"root pathPart", update(rootID, mgOp(types.OpReplace, "/pathPart", "x")), 400, "BadRequestException", "Root resource cannot update its pathPart."},
			{"root parentId", update(rootID, mgOp(types.OpReplace, "/parentId", aws.ToString(other.Id))), 400, "BadRequestException", "Root resource cannot update its parentId."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { apigwtest.WantAPIError(t, tc.err, tc.status, tc.code, tc.msg) })
		}
		// Nothing changed.
		if got := path(t, aws.ToString(detail.Id)); got != "/other/{id}/detail" {
			t.Errorf("after failed updates detail path = %q", got)
		}
		_, err := c.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: api, ResourceId: aws.String("nope123456")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Resource identifier specified")
		_, err = c.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: api, ResourceId: aws.String(rootID)})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Cannot delete root resource")
	})

	t.Run("delete recursively", func(t *testing.T) {
		mgMust(c.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: api, ResourceId: other.Id}))(t)
		for _, id := range []*string{other.Id, item.Id, detail.Id} {
			_, err := c.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: api, ResourceId: id})
			apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Resource identifier specified")
		}
		_, err := c.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: api, ResourceId: item.Id})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Resource identifier specified")
		out := mgMust(c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api}))(t)
		var paths []string
		for _, r := range out.Items {
			paths = append(paths, aws.ToString(r.Path))
		}
		sort.Strings(paths)
		if !slices.Equal(paths, []string{"/", "/things", "/things/other", "/{proxy+}"}) {
			t.Errorf("paths after delete = %v", paths)
		}
	})
}

// ---- methods, method responses, integrations, integration responses ----

func TestMgmtMethods(t *testing.T) {
	in := apigwtest.Start(t)
	c, ctx := in.Client, t.Context()
	apiID, rootID := mgNewAPI(t, c, "methods")
	res := mgNewResource(t, c, apiID, rootID, "items")
	api, rid, get := aws.String(apiID), res.Id, aws.String("GET")

	t.Run("method", func(t *testing.T) {
		put := mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{
			RestApiId: api, ResourceId: rid, HttpMethod: get,
			AuthorizationType: aws.String("NONE"),
			OperationName:     aws.String("ListItems"),
			RequestParameters: map[string]bool{"method.request.querystring.q": true, "method.request.header.X-Opt": false},
		}))(t)
		if aws.ToString(put.HttpMethod) != "GET" || aws.ToString(put.AuthorizationType) != "NONE" || aws.ToBool(put.ApiKeyRequired) ||
			aws.ToString(put.OperationName) != "ListItems" || len(put.RequestParameters) != 2 || !put.RequestParameters["method.request.querystring.q"] {
			t.Errorf("put = %+v", put)
		}
		got := mgMust(c.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get}))(t)
		if aws.ToString(got.OperationName) != "ListItems" || got.RequestParameters["method.request.header.X-Opt"] || got.MethodIntegration != nil {
			t.Errorf("get = %+v", got)
		}
		upd := mgMust(c.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get, PatchOperations: mgOps(
			mgOp(types.OpReplace, "/operationName", "GetItems"),
			mgOp(types.OpReplace, "/apiKeyRequired", "true"),
			mgOp(types.OpAdd, "/requestParameters/method.request.header.X-New", "true"),
			mgOp(types.OpRemove, "/requestParameters/method.request.querystring.q"),
			mgOp(types.OpAdd, "/requestModels/application~1json", "Empty"),
		)}))(t)
		if aws.ToString(upd.OperationName) != "GetItems" || !aws.ToBool(upd.ApiKeyRequired) ||
			!upd.RequestParameters["method.request.header.X-New"] || len(upd.RequestParameters) != 2 ||
			upd.RequestModels["application/json"] != "Empty" {
			t.Errorf("update = %+v", upd)
		}
		// AWS reads any value other than "true" as false.
		upd = mgMust(c.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get,
			PatchOperations: mgOps(mgOp(types.OpReplace, "/apiKeyRequired", "whatever"))}))(t)
		if aws.ToBool(upd.ApiKeyRequired) {
			t.Errorf("apiKeyRequired after 'whatever' = true")
		}
	})

	t.Run("method response", func(t *testing.T) {
		put := mgMust(c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
			RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("200"),
			ResponseParameters: map[string]bool{"method.response.header.X-Bar": false},
			ResponseModels:     map[string]string{"application/json": "Empty"},
		}))(t)
		if aws.ToString(put.StatusCode) != "200" || len(put.ResponseParameters) != 1 || put.ResponseModels["application/json"] != "Empty" {
			t.Errorf("put = %+v", put)
		}
		upd := mgMust(c.UpdateMethodResponse(ctx, &apigateway.UpdateMethodResponseInput{
			RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("200"),
			PatchOperations: mgOps(mgOp(types.OpAdd, "/responseParameters/method.response.header.X-Baz", "true")),
		}))(t)
		if !upd.ResponseParameters["method.response.header.X-Baz"] || len(upd.ResponseParameters) != 2 {
			t.Errorf("update = %+v", upd.ResponseParameters)
		}
		got := mgMust(c.GetMethodResponse(ctx, &apigateway.GetMethodResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("200")}))(t)
		if !got.ResponseParameters["method.response.header.X-Baz"] {
			t.Errorf("get = %+v", got)
		}
		mgMust(c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("404")}))(t)
		mgMust(c.DeleteMethodResponse(ctx, &apigateway.DeleteMethodResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("404")}))(t)
		_, err := c.GetMethodResponse(ctx, &apigateway.GetMethodResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("404")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Response status code specified")
		m := mgMust(c.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get}))(t)
		if len(m.MethodResponses) != 1 {
			t.Errorf("method responses = %v, want only 200", m.MethodResponses)
		}
	})

	t.Run("integration", func(t *testing.T) {
		put := mgMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{
			RestApiId: api, ResourceId: rid, HttpMethod: get,
			Type:                  types.IntegrationTypeHttp,
			IntegrationHttpMethod: aws.String("POST"),
			Uri:                   aws.String("https://backend.example.com/items"),
			RequestParameters:     map[string]string{"integration.request.header.X-Up": "method.request.header.X-New"},
			RequestTemplates:      map[string]string{"application/json": `{"q":"$input.params('q')"}`},
			CacheKeyParameters:    []string{"method.request.header.X-New"},
			CacheNamespace:        aws.String("items-ns"),
		}))(t)
		if put.Type != types.IntegrationTypeHttp || aws.ToString(put.HttpMethod) != "POST" || aws.ToString(put.Uri) != "https://backend.example.com/items" {
			t.Errorf("put = type %q method %q uri %q", put.Type, aws.ToString(put.HttpMethod), aws.ToString(put.Uri))
		}
		if put.TimeoutInMillis != 29000 {
			t.Errorf("timeoutInMillis = %d, want default 29000", put.TimeoutInMillis)
		}
		if aws.ToString(put.PassthroughBehavior) != "WHEN_NO_MATCH" {
			t.Errorf("passthroughBehavior = %q, want default WHEN_NO_MATCH", aws.ToString(put.PassthroughBehavior))
		}
		if aws.ToString(put.CacheNamespace) != "items-ns" || !slices.Equal(put.CacheKeyParameters, []string{"method.request.header.X-New"}) {
			t.Errorf("cache = %q %v", aws.ToString(put.CacheNamespace), put.CacheKeyParameters)
		}
		if put.RequestParameters["integration.request.header.X-Up"] != "method.request.header.X-New" || put.RequestTemplates["application/json"] == "" {
			t.Errorf("mappings = %v %v", put.RequestParameters, put.RequestTemplates)
		}
		if put.ConnectionType != types.ConnectionTypeInternet {
			t.Errorf("connectionType = %q, want INTERNET", put.ConnectionType)
		}

		upd := mgMust(c.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api, ResourceId: rid, HttpMethod: get, PatchOperations: mgOps(
			mgOp(types.OpReplace, "/timeoutInMillis", "5000"),
			mgOp(types.OpReplace, "/uri", "https://other.example.com/v2"),
			mgOp(types.OpReplace, "/requestTemplates/application~1json", "{}"),
			mgOp(types.OpAdd, "/cacheKeyParameters/method.request.querystring.page"),
			mgOp(types.OpRemove, "/requestParameters/integration.request.header.X-Up"),
			mgOp(types.OpReplace, "/passthroughBehavior", "NEVER"),
		)}))(t)
		if upd.TimeoutInMillis != 5000 || aws.ToString(upd.Uri) != "https://other.example.com/v2" || upd.RequestTemplates["application/json"] != "{}" ||
			len(upd.CacheKeyParameters) != 2 || len(upd.RequestParameters) != 0 || aws.ToString(upd.PassthroughBehavior) != "NEVER" {
			t.Errorf("update = timeout %d uri %q templates %v cache %v params %v passthrough %q", upd.TimeoutInMillis, aws.ToString(upd.Uri),
				upd.RequestTemplates, upd.CacheKeyParameters, upd.RequestParameters, aws.ToString(upd.PassthroughBehavior))
		}
		got := mgMust(c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api, ResourceId: rid, HttpMethod: get}))(t)
		if got.TimeoutInMillis != 5000 || aws.ToString(got.Uri) != "https://other.example.com/v2" {
			t.Errorf("get = timeout %d uri %q", got.TimeoutInMillis, aws.ToString(got.Uri))
		}
	})

	t.Run("integration response", func(t *testing.T) {
		put := mgMust(c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{
			RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("200"),
			SelectionPattern:   aws.String(""),
			ResponseParameters: map[string]string{"method.response.header.X-Bar": "integration.response.header.X-Up"},
			ResponseTemplates:  map[string]string{"application/json": `{"items":[]}`},
		}))(t)
		if aws.ToString(put.StatusCode) != "200" || put.ResponseParameters["method.response.header.X-Bar"] != "integration.response.header.X-Up" ||
			put.ResponseTemplates["application/json"] != `{"items":[]}` {
			t.Errorf("put = %+v", put)
		}
		mgMust(c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("400")}))(t)
		put4 := mgMust(c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{
			RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("400"),
			SelectionPattern: aws.String(`4\d{2}`),
		}))(t)
		if aws.ToString(put4.SelectionPattern) != `4\d{2}` {
			t.Errorf("selectionPattern = %q", aws.ToString(put4.SelectionPattern))
		}
		upd := mgMust(c.UpdateIntegrationResponse(ctx, &apigateway.UpdateIntegrationResponseInput{
			RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("400"),
			PatchOperations: mgOps(
				mgOp(types.OpReplace, "/selectionPattern", `4(00|04)`),
				mgOp(types.OpAdd, "/responseTemplates/application~1json", `{"error":true}`),
			),
		}))(t)
		if aws.ToString(upd.SelectionPattern) != `4(00|04)` || upd.ResponseTemplates["application/json"] != `{"error":true}` {
			t.Errorf("update = %+v", upd)
		}
		got := mgMust(c.GetIntegrationResponse(ctx, &apigateway.GetIntegrationResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("400")}))(t)
		if aws.ToString(got.SelectionPattern) != `4(00|04)` {
			t.Errorf("get = %+v", got)
		}
		integ := mgMust(c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api, ResourceId: rid, HttpMethod: get}))(t)
		if len(integ.IntegrationResponses) != 2 {
			t.Errorf("integration responses = %v", integ.IntegrationResponses)
		}
		mgMust(c.DeleteIntegrationResponse(ctx, &apigateway.DeleteIntegrationResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("400")}))(t)
		_, err := c.GetIntegrationResponse(ctx, &apigateway.GetIntegrationResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("400")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Response status code specified")
		_, err = c.DeleteIntegrationResponse(ctx, &apigateway.DeleteIntegrationResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("400")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Response status code specified")
	})

	t.Run("integration types", func(t *testing.T) {
		cases := []struct {
			typ    types.IntegrationType
			method string
			uri    string
		}{
			{types.IntegrationTypeHttpProxy, "ANY", "http://backend.example.com/{proxy}"},
			{types.IntegrationTypeHttp, "GET", "https://backend.example.com/"},
			{types.IntegrationTypeMock, "", ""},
			{types.IntegrationTypeAws, "POST", "arn:aws:apigateway:us-east-1:sqs:path/123456789012/queue"},
			{types.IntegrationTypeAwsProxy, "POST", "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations"},
		}
		for _, tc := range cases {
			t.Run(string(tc.typ), func(t *testing.T) {
				r := mgNewResource(t, c, apiID, rootID, strings.ToLower(strings.ReplaceAll(string(tc.typ), "_", "-")))
				mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api, ResourceId: r.Id, HttpMethod: aws.String("POST"), AuthorizationType: aws.String("NONE")}))(t)
				in := &apigateway.PutIntegrationInput{RestApiId: api, ResourceId: r.Id, HttpMethod: aws.String("POST"), Type: tc.typ}
				if tc.method != "" {
					in.IntegrationHttpMethod = aws.String(tc.method)
					in.Uri = aws.String(tc.uri)
				}
				mgMust(c.PutIntegration(ctx, in))(t)
				got := mgMust(c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api, ResourceId: r.Id, HttpMethod: aws.String("POST")}))(t)
				if got.Type != tc.typ || aws.ToString(got.Uri) != tc.uri || aws.ToString(got.HttpMethod) != tc.method || got.TimeoutInMillis != 29000 {
					t.Errorf("stored = type %q uri %q method %q timeout %d", got.Type, aws.ToString(got.Uri), aws.ToString(got.HttpMethod), got.TimeoutInMillis)
				}
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		bare := mgNewResource(t, c, apiID, rootID, "bare")
		mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api, ResourceId: bare.Id, HttpMethod: aws.String("POST"), AuthorizationType: aws.String("NONE")}))(t)
		putInteg := func(in apigateway.PutIntegrationInput) error {
			in.RestApiId, in.ResourceId, in.HttpMethod = api, bare.Id, aws.String("POST")
			_, err := c.PutIntegration(ctx, &in)
			return err
		}
		updMethod := func(o ...types.PatchOperation) error {
			_, err := c.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get, PatchOperations: o})
			return err
		}
		const badOp = "1 validation error detected: Value 'wrong-op' at 'updateMethodInput.patchOperations.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"
		_, errPut := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get, AuthorizationType: aws.String("NONE")})
		_, errBadMethod := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: aws.String("FETCH"), AuthorizationType: aws.String("NONE")})
		_, errCustom := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api, ResourceId: bare.Id, HttpMethod: aws.String("PUT"), AuthorizationType: aws.String("CUSTOM")})
		_, errNoAPI := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String("fakeapi123"), ResourceId: rid, HttpMethod: get, AuthorizationType: aws.String("NONE")})
		_, errNoRes := c.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api, ResourceId: aws.String("fakeres123"), HttpMethod: get})
		_, errNoMethod := c.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: aws.String("DELETE")})
		_, errNoInteg := c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api, ResourceId: bare.Id, HttpMethod: aws.String("POST")})
		_, errNoIntegAPI := c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: aws.String("fakeapi123"), ResourceId: rid, HttpMethod: get})
		_, errIRNoInteg := c.GetIntegrationResponse(ctx, &apigateway.GetIntegrationResponseInput{RestApiId: api, ResourceId: bare.Id, HttpMethod: aws.String("POST"), StatusCode: aws.String("200")})
		_, errDelIRNoInteg := c.DeleteIntegrationResponse(ctx, &apigateway.DeleteIntegrationResponseInput{RestApiId: api, ResourceId: bare.Id, HttpMethod: aws.String("POST"), StatusCode: aws.String("200")})
		_, errDelInteg := c.DeleteIntegration(ctx, &apigateway.DeleteIntegrationInput{RestApiId: api, ResourceId: bare.Id, HttpMethod: aws.String("POST")})
		_, errMRStatus := c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("wrong")})
		_, errIRStatus := c.GetIntegrationResponse(ctx, &apigateway.GetIntegrationResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("wrong")})
		_, errUpdMR := c.UpdateMethodResponse(ctx, &apigateway.UpdateMethodResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("200"),
			PatchOperations: mgOps(mgOp(types.OpAdd, "/wrong/method.response.header.my-header", "true"))})
		_, errUpdMRMissing := c.UpdateMethodResponse(ctx, &apigateway.UpdateMethodResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("201"),
			PatchOperations: mgOps(mgOp(types.OpAdd, "/responseParameters/method.response.header.X", "true"))})
		_, errUpdInteg := c.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api, ResourceId: rid, HttpMethod: get, PatchOperations: mgOps(mgOp(types.OpReplace, "/nope", "x"))})
		_, errUpdIntegTimeout := c.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api, ResourceId: rid, HttpMethod: get, PatchOperations: mgOps(mgOp(types.OpReplace, "/timeoutInMillis", "30000"))})
		_, errUpdIR := c.UpdateIntegrationResponse(ctx, &apigateway.UpdateIntegrationResponseInput{RestApiId: api, ResourceId: rid, HttpMethod: get, StatusCode: aws.String("200"),
			PatchOperations: mgOps(mgOp(types.OpReplace, "/statusCode", "201"))})
		const authText = "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer."

		cases := []struct {
			name   string
			err    error
			status int
			code   string
			msg    string
		}{
			{"method exists", errPut, 409, "ConflictException", "Method already exists for this resource"},
			{"invalid http method", errBadMethod, 400, "BadRequestException", "Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY"},
			{"custom without authorizer", errCustom, 400, "BadRequestException", authText},
			{"method on unknown api", errNoAPI, 404, "NotFoundException", "Invalid Resource identifier specified"},
			{"method on unknown resource", errNoRes, 404, "NotFoundException", "Invalid Resource identifier specified"},
			{"unknown method", errNoMethod, 404, "NotFoundException", "Invalid Method identifier specified"},
			{"unknown integration", errNoInteg, 404, "NotFoundException", "Invalid Integration identifier specified"},
			{"integration on unknown api", errNoIntegAPI, 404, "NotFoundException", "Invalid Resource identifier specified"},
			{"integration response without integration", errIRNoInteg, 404, "NotFoundException", "Invalid Integration identifier specified"},
			{"delete integration response without integration", errDelIRNoInteg, 404, "NotFoundException", "Invalid Integration identifier specified"},
			{"delete unknown integration", errDelInteg, 404, "NotFoundException", "Invalid Integration identifier specified"},
			{"method response bad status", errMRStatus, 400, "ValidationException", `1 validation error detected: Value 'wrong' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\d\d`},
			{"integration response bad status", errIRStatus, 400, "ValidationException", `1 validation error detected: Value 'wrong' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\d\d`},
			{"http without uri", putInteg(apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttp, IntegrationHttpMethod: aws.String("GET")}), 400, "BadRequestException", "Invalid HTTP endpoint specified for URI"},
			{"http bad uri", putInteg(apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String("not a url")}), 400, "BadRequestException", "Invalid HTTP endpoint specified for URI"},
			{"http without method", putInteg(apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttp, Uri: aws.String("https://example.com")}), 400, "BadRequestException", "Enumeration value for HttpMethod must be non-empty"},
			{"timeout too small", putInteg(apigateway.PutIntegrationInput{Type: types.IntegrationTypeMock, TimeoutInMillis: aws.Int32(49)}), 400, "BadRequestException", "Timeout should be between 50 ms and 29000 ms"},
			{"timeout too large", putInteg(apigateway.PutIntegrationInput{Type: types.IntegrationTypeMock, TimeoutInMillis: aws.Int32(29001)}), 400, "BadRequestException", "Timeout should be between 50 ms and 29000 ms"},
			{"invalid integration type", putInteg(apigateway.PutIntegrationInput{Type: "LAMBDA"}), 400, "ValidationException",
				"1 validation error detected: Value 'LAMBDA' at 'putIntegrationInput.type' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, MOCK, AWS_PROXY, HTTP_PROXY, AWS]"},
			{"method bad patch path", updMethod(mgOp(types.OpAdd, "/httpMethod", "PUT")), 400, "BadRequestException", "Invalid patch path /httpMethod"},
			{"method patch map alone", updMethod(mgOp(types.OpReplace, "/requestParameters", "x")), 400, "BadRequestException", "Invalid patch path /requestParameters"},
			{"method patch unescaped", updMethod(mgOp(types.OpAdd, "/requestModels/application/json", "Empty")), 400, "BadRequestException", "Invalid patch path /requestModels/application/json"},
			{"method patch add scalar", updMethod(mgOp(types.OpAdd, "/operationName", "x")), 400, "BadRequestException", "Invalid patch operation specified. Must be one of: [replace]"},
			{"method invalid patch op", updMethod(mgOp("wrong-op", "/operationName", "x")), 400, "ValidationException", badOp},
			{"method custom without authorizer", updMethod(mgOp(types.OpReplace, "/authorizationType", "CUSTOM")), 400, "BadRequestException", authText},
			{"method response bad patch path", errUpdMR, 400, "BadRequestException", "Invalid patch path /wrong/method.response.header.my-header"},
			{"unknown method response", errUpdMRMissing, 404, "NotFoundException", "Invalid Response status code specified"},
			{"integration bad patch path", errUpdInteg, 400, "BadRequestException", "Invalid patch path /nope"},
			{"integration patch timeout", errUpdIntegTimeout, 400, "BadRequestException", "Timeout should be between 50 ms and 29000 ms"},
			{"integration response bad patch path", errUpdIR, 400, "BadRequestException", "Invalid patch path /statusCode"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { apigwtest.WantAPIError(t, tc.err, tc.status, tc.code, tc.msg) })
		}
		// Failed updates left the method and integration as they were.
		m := mgMust(c.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get}))(t)
		if aws.ToString(m.AuthorizationType) != "NONE" || m.MethodIntegration == nil || m.MethodIntegration.TimeoutInMillis != 5000 {
			t.Errorf("after failed updates method = auth %q integration %+v", aws.ToString(m.AuthorizationType), m.MethodIntegration)
		}
	})

	t.Run("delete", func(t *testing.T) {
		mgMust(c.DeleteIntegration(ctx, &apigateway.DeleteIntegrationInput{RestApiId: api, ResourceId: rid, HttpMethod: get}))(t)
		_, err := c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api, ResourceId: rid, HttpMethod: get})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Integration identifier specified")
		mgMust(c.DeleteMethod(ctx, &apigateway.DeleteMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get}))(t)
		_, err = c.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Method identifier specified")
		_, err = c.DeleteMethod(ctx, &apigateway.DeleteMethodInput{RestApiId: api, ResourceId: rid, HttpMethod: get})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Method identifier specified")
	})
}

// ---- deployments ----

func TestMgmtDeployments(t *testing.T) {
	in := apigwtest.Start(t)
	c, ctx := in.Client, t.Context()
	apiID, rootID := mgNewAPI(t, c, "deploy")
	api := aws.String(apiID)
	res := mgNewResource(t, c, apiID, rootID, "hello")

	t.Run("no methods", func(t *testing.T) {
		_, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "The REST API doesn't contain any methods")
	})
	mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))(t)
	t.Run("method without integration", func(t *testing.T) {
		_, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("dev")})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "No integration defined for method")
		// The failed deployment did not create its stage.
		_, err = c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api, StageName: aws.String("dev")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid stage identifier specified")
	})
	mgMust(c.DeleteMethod(ctx, &apigateway.DeleteMethodInput{RestApiId: api, ResourceId: res.Id, HttpMethod: aws.String("GET")}))(t)
	mgPutMock(t, c, apiID, aws.ToString(res.Id), "GET", `{"v":1}`)

	d1 := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api, Description: aws.String("first")}))(t)
	d2 := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("dev"), Description: aws.String("second")}))(t)

	t.Run("create", func(t *testing.T) {
		if aws.ToString(d1.Id) == "" || aws.ToString(d1.Description) != "first" || d1.CreatedDate == nil {
			t.Errorf("d1 = %+v", d1)
		}
		if len(d1.ApiSummary) != 0 {
			t.Errorf("apiSummary present without embed: %v", d1.ApiSummary)
		}
		st := mgMust(c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api, StageName: aws.String("dev")}))(t)
		if aws.ToString(st.DeploymentId) != aws.ToString(d2.Id) {
			t.Errorf("stage dev deployment = %q, want %q", aws.ToString(st.DeploymentId), aws.ToString(d2.Id))
		}
	})

	t.Run("get", func(t *testing.T) {
		got := mgMust(c.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: api, DeploymentId: d1.Id}))(t)
		if aws.ToString(got.Id) != aws.ToString(d1.Id) || aws.ToString(got.Description) != "first" {
			t.Errorf("get = %+v", got)
		}
		sum := mgMust(c.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: api, DeploymentId: d1.Id, Embed: []string{"apisummary"}}))(t)
		if m, ok := sum.ApiSummary["/hello"]["GET"]; !ok || aws.ToString(m.AuthorizationType) != "NONE" {
			t.Errorf("apiSummary = %+v", sum.ApiSummary)
		}
		_, err := c.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: api, DeploymentId: aws.String("nope12")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Deployment identifier specified")
	})

	t.Run("list", func(t *testing.T) {
		out := mgMust(c.GetDeployments(ctx, &apigateway.GetDeploymentsInput{RestApiId: api}))(t)
		var ids []string
		for _, d := range out.Items {
			ids = append(ids, aws.ToString(d.Id))
		}
		want := []string{aws.ToString(d1.Id), aws.ToString(d2.Id)}
		sort.Strings(ids)
		sort.Strings(want)
		if !slices.Equal(ids, want) {
			t.Errorf("deployments = %v, want %v", ids, want)
		}
	})

	t.Run("update", func(t *testing.T) {
		out := mgMust(c.UpdateDeployment(ctx, &apigateway.UpdateDeploymentInput{RestApiId: api, DeploymentId: d1.Id,
			PatchOperations: mgOps(mgOp(types.OpReplace, "/description", "first, renamed"))}))(t)
		if aws.ToString(out.Description) != "first, renamed" {
			t.Errorf("description = %q", aws.ToString(out.Description))
		}
		_, err := c.UpdateDeployment(ctx, &apigateway.UpdateDeploymentInput{RestApiId: api, DeploymentId: d1.Id,
			PatchOperations: mgOps(mgOp(types.OpReplace, "/id", "x"))})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid patch path /id")
	})

	t.Run("delete", func(t *testing.T) {
		_, err := c.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: api, DeploymentId: d2.Id})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Active stages pointing to this deployment must be moved or deleted")
		mgMust(c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api, StageName: aws.String("dev"),
			PatchOperations: mgOps(mgOp(types.OpReplace, "/deploymentId", aws.ToString(d1.Id)))}))(t)
		mgMust(c.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: api, DeploymentId: d2.Id}))(t)
		_, err = c.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: api, DeploymentId: d2.Id})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Deployment identifier specified")
		_, err = c.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: api, DeploymentId: d2.Id})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Deployment identifier specified")
	})

	t.Run("snapshot is immutable", func(t *testing.T) {
		in.WaitServing(t, apiID, "dev", aws.ToString(d1.Id))
		url := in.InvokeURL(apiID, "dev", "/hello")
		if status, body := mgInvoke(t, url); status != 200 || body != `{"v":1}` {
			t.Fatalf("GET %s = %d %q, want 200 {\"v\":1}", url, status, body)
		}
		// Change the API after deploying: the stage keeps serving the
		// deployed snapshot.
		mgMust(c.UpdateIntegrationResponse(ctx, &apigateway.UpdateIntegrationResponseInput{
			RestApiId: api, ResourceId: res.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
			PatchOperations: mgOps(mgOp(types.OpReplace, "/responseTemplates/application~1json", `{"v":2}`)),
		}))(t)
		extra := mgNewResource(t, c, apiID, rootID, "extra")
		mgPutMock(t, c, apiID, aws.ToString(extra.Id), "GET", `{"extra":true}`)
		if status, body := mgInvoke(t, url); status != 200 || body != `{"v":1}` {
			t.Errorf("after change, before redeploy: GET = %d %q, want the old {\"v\":1}", status, body)
		}
		if status, _ := mgInvoke(t, in.InvokeURL(apiID, "dev", "/extra")); status != 403 {
			t.Errorf("undeployed /extra = %d, want 403", status)
		}
		// Another stage created from the old deployment serves the old API too.
		mgMust(c.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api, StageName: aws.String("old"), DeploymentId: d1.Id}))(t)
		in.WaitServing(t, apiID, "old", aws.ToString(d1.Id))
		if status, body := mgInvoke(t, in.InvokeURL(apiID, "old", "/hello")); status != 200 || body != `{"v":1}` {
			t.Errorf("stage old: GET = %d %q", status, body)
		}

		d3 := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("dev")}))(t)
		in.WaitServing(t, apiID, "dev", aws.ToString(d3.Id))
		if status, body := mgInvoke(t, url); status != 200 || body != `{"v":2}` {
			t.Errorf("after redeploy: GET = %d %q, want {\"v\":2}", status, body)
		}
		if status, body := mgInvoke(t, in.InvokeURL(apiID, "dev", "/extra")); status != 200 || body != `{"extra":true}` {
			t.Errorf("after redeploy: GET /extra = %d %q", status, body)
		}
		if status, body := mgInvoke(t, in.InvokeURL(apiID, "old", "/hello")); status != 200 || body != `{"v":1}` {
			t.Errorf("stage old after redeploying dev: GET = %d %q", status, body)
		}
	})
}

// ---- stages ----

func TestMgmtStages(t *testing.T) {
	in := apigwtest.Start(t)
	c, ctx := in.Client, t.Context()
	apiID, rootID := mgNewAPI(t, c, "stages")
	api := aws.String(apiID)
	res := mgNewResource(t, c, apiID, rootID, "items")
	mgPutMock(t, c, apiID, aws.ToString(res.Id), "GET", `{}`)
	dep := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("dev")}))(t)
	dep2 := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api}))(t)

	created := mgMust(c.CreateStage(ctx, &apigateway.CreateStageInput{
		RestApiId: api, StageName: aws.String("beta"), DeploymentId: dep.Id,
		Description: aws.String("beta stage"),
		Variables:   map[string]string{"x": "1", "backend": "example.com"},
	}))(t)

	t.Run("create", func(t *testing.T) {
		if aws.ToString(created.StageName) != "beta" || aws.ToString(created.DeploymentId) != aws.ToString(dep.Id) ||
			aws.ToString(created.Description) != "beta stage" || created.Variables["x"] != "1" {
			t.Errorf("created = %+v", created)
		}
		if created.MethodSettings == nil || len(created.MethodSettings) != 0 {
			t.Errorf("methodSettings = %v, want {}", created.MethodSettings)
		}
		if created.CacheClusterEnabled || created.CacheClusterStatus != types.CacheClusterStatusNotAvailable || created.TracingEnabled {
			t.Errorf("cache %v status %q tracing %v", created.CacheClusterEnabled, created.CacheClusterStatus, created.TracingEnabled)
		}
		if created.CreatedDate == nil || created.LastUpdatedDate == nil {
			t.Errorf("dates = %v %v", created.CreatedDate, created.LastUpdatedDate)
		}
	})

	t.Run("get", func(t *testing.T) {
		got := mgMust(c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api, StageName: aws.String("beta")}))(t)
		if aws.ToString(got.Description) != "beta stage" || got.Variables["backend"] != "example.com" {
			t.Errorf("get = %+v", got)
		}
	})

	t.Run("list", func(t *testing.T) {
		out := mgMust(c.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: api}))(t)
		var names []string
		for _, s := range out.Item {
			names = append(names, aws.ToString(s.StageName))
		}
		sort.Strings(names)
		if !slices.Equal(names, []string{"beta", "dev"}) {
			t.Errorf("stages = %v", names)
		}
		out = mgMust(c.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: api, DeploymentId: dep2.Id}))(t)
		if len(out.Item) != 0 {
			t.Errorf("stages of an unused deployment = %d", len(out.Item))
		}
	})

	t.Run("update", func(t *testing.T) {
		up := func(t *testing.T, o ...types.PatchOperation) *apigateway.UpdateStageOutput {
			t.Helper()
			return mgMust(c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api, StageName: aws.String("beta"), PatchOperations: o}))(t)
		}
		t.Run("description", func(t *testing.T) {
			if out := up(t, mgOp(types.OpReplace, "/description", "new")); aws.ToString(out.Description) != "new" {
				t.Errorf("description = %q", aws.ToString(out.Description))
			}
		})
		t.Run("deploymentId", func(t *testing.T) {
			if out := up(t, mgOp(types.OpReplace, "/deploymentId", aws.ToString(dep2.Id))); aws.ToString(out.DeploymentId) != aws.ToString(dep2.Id) {
				t.Errorf("deploymentId = %q", aws.ToString(out.DeploymentId))
			}
		})
		t.Run("variables", func(t *testing.T) {
			out := up(t, mgOp(types.OpReplace, "/variables/x", "2"), mgOp(types.OpAdd, "/variables/y", "3"), mgOp(types.OpRemove, "/variables/backend"))
			if len(out.Variables) != 2 || out.Variables["x"] != "2" || out.Variables["y"] != "3" {
				t.Errorf("variables = %v", out.Variables)
			}
			out = up(t, mgOp(types.OpRemove, "/variables/x"))
			if len(out.Variables) != 1 || out.Variables["y"] != "3" {
				t.Errorf("variables = %v", out.Variables)
			}
		})
		t.Run("method settings", func(t *testing.T) {
			out := up(t,
				mgOp(types.OpReplace, "/*/*/throttling/rateLimit", "100"),
				mgOp(types.OpReplace, "/~1items/GET/throttling/burstLimit", "50"),
			)
			all, ok := out.MethodSettings["*/*"]
			if !ok {
				t.Fatalf("methodSettings = %v, want key */*", out.MethodSettings)
			}
			want := types.MethodSetting{
				ThrottlingRateLimit: 100, ThrottlingBurstLimit: 5000,
				CacheTtlInSeconds: 300, RequireAuthorizationForCacheControl: true,
				UnauthorizedCacheControlHeaderStrategy: types.UnauthorizedCacheControlHeaderStrategySucceedWithResponseHeader,
			}
			if all != want {
				t.Errorf("*/* = %+v, want %+v", all, want)
			}
			items, ok := out.MethodSettings["~1items/GET"]
			if !ok {
				t.Fatalf("methodSettings = %v, want key ~1items/GET", out.MethodSettings)
			}
			want.ThrottlingRateLimit, want.ThrottlingBurstLimit = 10000, 50
			if items != want {
				t.Errorf("~1items/GET = %+v, want %+v", items, want)
			}
			if items.LoggingLevel != nil {
				t.Errorf("loggingLevel = %q, want none", *items.LoggingLevel)
			}
			got := mgMust(c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api, StageName: aws.String("beta")}))(t)
			if len(got.MethodSettings) != 2 || got.MethodSettings["~1items/GET"].ThrottlingBurstLimit != 50 {
				t.Errorf("stored methodSettings = %+v", got.MethodSettings)
			}
		})
	})

	t.Run("errors", func(t *testing.T) {
		const pathsText = "Invalid method setting path: /nope. Must be one of: [/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, /accessLogSettings/destinationArn, /accessLogSettings/format, " +
			"/{resourcePath}/{httpMethod}/metrics/enabled, /{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/logging/loglevel, " +
			"/{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit/{resourcePath}/{httpMethod}/caching/ttlInSeconds, " +
			"/{resourcePath}/{httpMethod}/caching/enabled, /{resourcePath}/{httpMethod}/caching/dataEncrypted, /{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, " +
			"/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel, " +
			"/*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, /*/*/caching/enabled, /*/*/caching/dataEncrypted, " +
			"/*/*/caching/requireAuthorizationForCacheControl, /*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name}, /tracingEnabled]"
		create := func(name, depID string) error {
			_, err := c.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api, StageName: aws.String(name), DeploymentId: aws.String(depID)})
			return err
		}
		update := func(o ...types.PatchOperation) error {
			_, err := c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api, StageName: aws.String("beta"), PatchOperations: o})
			return err
		}
		_, errGet := c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api, StageName: aws.String("nope")})
		cases := []struct {
			name   string
			err    error
			status int
			code   string
			msg    string
		}{
			{"exists", create("beta", aws.ToString(dep.Id)), 409, "ConflictException", "Stage already exists"},
			{"invalid name", create("bad name!", aws.ToString(dep.Id)), 400, "BadRequestException", "Stage name only allows a-zA-Z0-9_-"},
			{"unknown deployment", create("gamma", "nope12"), 404, "NotFoundException", "Invalid Deployment identifier specified"},
			{"unknown stage", errGet, 404, "NotFoundException", "Invalid stage identifier specified"},
			{"bad patch path", update(mgOp(types.OpReplace, "/nope", "x")), 400, "BadRequestException", pathsText},
			{"bad variable name", update(mgOp(types.OpAdd, "/variables/a-b", "x")), 400, "BadRequestException", "Stage variable name a-b does not match the regular expression [a-zA-Z0-9_]+"},
			{"invalid patch op", update(mgOp("wrong-op", "/description", "x")), 400, "ValidationException",
				"1 validation error detected: Value 'wrong-op' at 'updateStageInput.patchOperations.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { apigwtest.WantAPIError(t, tc.err, tc.status, tc.code, tc.msg) })
		}
	})

	t.Run("delete", func(t *testing.T) {
		mgMust(c.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: api, StageName: aws.String("beta")}))(t)
		_, err := c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api, StageName: aws.String("beta")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid stage identifier specified")
		_, err = c.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: api, StageName: aws.String("beta")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid stage identifier specified")
		out := mgMust(c.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: api}))(t)
		if len(out.Item) != 1 || aws.ToString(out.Item[0].StageName) != "dev" {
			t.Errorf("stages after delete = %+v", out.Item)
		}
		// With beta gone, its deployment can go too.
		mgMust(c.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: api, DeploymentId: dep2.Id}))(t)
	})
}

// ---- authentication of the admin API ----

func TestMgmtAuth(t *testing.T) {
	in := apigwtest.Start(t)

	t.Run("unsigned", func(t *testing.T) {
		resp, body := mgRawAdmin(t, in, http.MethodGet, "/restapis", nil, "-")
		mgWantRawErr(t, resp, body, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
	})

	client := func(key, secret string) *apigateway.Client {
		return apigateway.New(apigateway.Options{
			Region:           apigwtest.Region,
			BaseEndpoint:     aws.String(in.AdminURL),
			Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
			RetryMaxAttempts: 1,
		})
	}
	cases := []struct {
		name, key, secret, code, msg string
	}{
		{"wrong secret", apigwtest.AccessKeyID, "not-the-secret", "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details...."},
		{"unknown access key", "AKIAUNKNOWNKEY000000", apigwtest.SecretAccessKey, "UnrecognizedClientException",
			"The security token included in the request is invalid."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(tc.key, tc.secret).GetRestApis(t.Context(), &apigateway.GetRestApisInput{})
			apigwtest.WantAPIError(t, err, 403, tc.code, tc.msg)
			_, err = client(tc.key, tc.secret).CreateRestApi(t.Context(), &apigateway.CreateRestApiInput{Name: aws.String("x")})
			apigwtest.WantAPIError(t, err, 403, tc.code, tc.msg)
		})
	}
	t.Run("wrong secret raw", func(t *testing.T) {
		resp, body := mgRawAdmin(t, in, http.MethodGet, "/restapis", nil, "wrong")
		mgWantRawErr(t, resp, body, 403, "InvalidSignatureException", "The request signature we calculated does not match")
	})
	// Nothing was created by the refused requests.
	out := mgMust(in.Client.GetRestApis(t.Context(), &apigateway.GetRestApisInput{}))(t)
	if len(out.Items) != 0 {
		t.Errorf("refused requests created %d apis", len(out.Items))
	}
}

// ---- bad input on the wire ----

func TestMgmtBadInput(t *testing.T) {
	in := apigwtest.Start(t)
	apiID, rootID := mgNewAPI(t, in.Client, "input")

	cases := []struct {
		name, method, path string
		body               []byte
		status             int
		errType, msg       string
	}{
		{"malformed json", http.MethodPost, "/restapis", []byte(`{"name":`), 400, "SerializationException", ""},
		{"not an object", http.MethodPost, "/restapis", []byte(`[1,2]`), 400, "SerializationException", ""},
		{"trailing data", http.MethodPost, "/restapis", []byte(`{"name":"a"} {}`), 400, "SerializationException", ""},
		{"wrong type", http.MethodPost, "/restapis", []byte(`{"name":true}`), 400, "SerializationException", ""},
		{"unknown field", http.MethodPost, "/restapis", []byte(`{"name":"a","bogus":1}`), 400, "", ""},
		{"malformed patch", http.MethodPatch, "/restapis/" + apiID, []byte(`{"patchOperations":[{"op":`), 400, "SerializationException", ""},
		{"oversized body", http.MethodPost, "/restapis", bytes.Repeat([]byte(" "), 10<<20+1), 413, "", ""},
		{"unknown api", http.MethodGet, "/restapis/nope123456", nil, 404, "NotFoundException", "Invalid API identifier specified " + in.Server.AccountID + ":nope123456"},
		{"unknown resource", http.MethodGet, "/restapis/" + apiID + "/resources/nope123456", nil, 404, "NotFoundException", "Invalid Resource identifier specified"},
		{"unknown method", http.MethodGet, "/restapis/" + apiID + "/resources/" + rootID + "/methods/GET", nil, 404, "NotFoundException", "Invalid Method identifier specified"},
		{"unknown deployment", http.MethodGet, "/restapis/" + apiID + "/deployments/nope12", nil, 404, "NotFoundException", "Invalid Deployment identifier specified"},
		{"unknown stage", http.MethodGet, "/restapis/" + apiID + "/stages/nope", nil, 404, "NotFoundException", "Invalid stage identifier specified"},
		{"unknown operation", http.MethodGet, "/nothing/here", nil, 404, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := mgRawAdmin(t, in, tc.method, tc.path, tc.body, "")
			mgWantRawErr(t, resp, body, tc.status, tc.errType, tc.msg)
		})
	}
	// The API is untouched by the refused requests.
	out := mgMust(in.Client.GetRestApis(t.Context(), &apigateway.GetRestApisInput{}))(t)
	if len(out.Items) != 1 {
		t.Errorf("apis = %d, want 1", len(out.Items))
	}
}

// ---- restart ----

func TestMgmtRestart(t *testing.T) {
	in := apigwtest.Start(t)
	c, ctx := in.Client, t.Context()
	apiID, rootID := mgNewAPI(t, c, "durable")
	api := aws.String(apiID)
	res := mgNewResource(t, c, apiID, rootID, "hello")
	mgPutMock(t, c, apiID, aws.ToString(res.Id), "GET", `{"hello":"world"}`)
	dep := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("prod"), Description: aws.String("v1")}))(t)
	mgMust(c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api, StageName: aws.String("prod"),
		PatchOperations: mgOps(mgOp(types.OpAdd, "/variables/color", "blue"))}))(t)
	in.WaitServing(t, apiID, "prod", aws.ToString(dep.Id))
	if status, body := mgInvoke(t, in.InvokeURL(apiID, "prod", "/hello")); status != 200 || body != `{"hello":"world"}` {
		t.Fatalf("before restart: GET = %d %q", status, body)
	}
	account := in.Server.AccountID

	in2 := in.Restart(t)
	c2 := in2.Client

	t.Run("account", func(t *testing.T) {
		if in2.Server.AccountID != account {
			t.Errorf("account id changed: %s -> %s", account, in2.Server.AccountID)
		}
	})
	t.Run("api", func(t *testing.T) {
		got := mgMust(c2.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api}))(t)
		if aws.ToString(got.Name) != "durable" || aws.ToString(got.RootResourceId) != rootID {
			t.Errorf("api = %+v", got)
		}
	})
	t.Run("resources and methods", func(t *testing.T) {
		out := mgMust(c2.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api, Embed: []string{"methods"}}))(t)
		if len(out.Items) != 2 {
			t.Fatalf("resources = %d, want 2", len(out.Items))
		}
		integ := mgMust(c2.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api, ResourceId: res.Id, HttpMethod: aws.String("GET")}))(t)
		if integ.Type != types.IntegrationTypeMock || integ.IntegrationResponses["200"].ResponseTemplates["application/json"] != `{"hello":"world"}` {
			t.Errorf("integration = %+v", integ)
		}
	})
	t.Run("deployment and stage", func(t *testing.T) {
		d := mgMust(c2.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: api, DeploymentId: dep.Id}))(t)
		if aws.ToString(d.Description) != "v1" {
			t.Errorf("deployment = %+v", d)
		}
		st := mgMust(c2.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api, StageName: aws.String("prod")}))(t)
		if aws.ToString(st.DeploymentId) != aws.ToString(dep.Id) || st.Variables["color"] != "blue" {
			t.Errorf("stage = %+v", st)
		}
	})
	t.Run("serves", func(t *testing.T) {
		in2.WaitServing(t, apiID, "prod", aws.ToString(dep.Id))
		if status, body := mgInvoke(t, in2.InvokeURL(apiID, "prod", "/hello")); status != 200 || body != `{"hello":"world"}` {
			t.Errorf("after restart: GET = %d %q", status, body)
		}
	})
	t.Run("still writable", func(t *testing.T) {
		_, err := c2.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api, StageName: aws.String("prod"), DeploymentId: dep.Id})
		apigwtest.WantAPIError(t, err, 409, "ConflictException", "Stage already exists")
		mgMust(c2.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api, StageName: aws.String("canary"), DeploymentId: dep.Id}))(t)
	})
}
