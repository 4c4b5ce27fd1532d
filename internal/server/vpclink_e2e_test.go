package server_test

// End-to-end tests of VPC links: the management API through aws-sdk-go-v2
// and VPC_LINK integrations reaching a backend only through the link's
// target address (--vpc-link-target).

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

const (
	vlMappedARN   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/orders/50dc6c495c0c9188"
	vlSecureARN   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/secure/8f1e9a2b3c4d5e6f"
	vlUnmappedARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/nowhere/0000000000000000"
	// vlHost is the host name the integrations' URIs name; it resolves
	// nowhere, so a request that reaches a backend went through the link.
	vlHost = "orders.internal.invalid"
)

func vlWaitSettled(t *testing.T, c *apigateway.Client, id string) *apigateway.GetVpcLinkOutput {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := mgMust(c.GetVpcLink(t.Context(), &apigateway.GetVpcLinkInput{VpcLinkId: aws.String(id)}))(t)
		if l.Status != types.VpcLinkStatusPending {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("VPC link %s still PENDING after 10s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestVpcLinks(t *testing.T) {
	backend := newDPBackend(t, "orders", nil)
	other := newDPBackend(t, "other", nil) // a stage variable's link leads here
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("secure " + r.Host + " " + r.RequestURI))
	}))
	t.Cleanup(secure.Close)
	const otherARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/other/1111111111111111"
	in := apigwtest.Start(t, func(cfg *server.Config) {
		cfg.VpcLinkTargets = map[string]string{
			vlMappedARN: backend.hostPort(),
			otherARN:    other.hostPort(),
			vlSecureARN: strings.TrimPrefix(secure.URL, "https://"),
		}
	})
	c := in.Client
	ctx := t.Context()

	created := mgMust(c.CreateVpcLink(ctx, &apigateway.CreateVpcLinkInput{Name: aws.String("orders-nlb"),
		Description: aws.String("to the orders service"), TargetArns: []string{vlMappedARN}, Tags: map[string]string{"team": "orders"}}))(t)
	if created.Status != types.VpcLinkStatusPending || *created.Name != "orders-nlb" || len(*created.Id) != 6 {
		t.Fatalf("CreateVpcLink = %+v, want a PENDING link with a 6-character id", created)
	}
	link := vlWaitSettled(t, c, *created.Id)
	if link.Status != types.VpcLinkStatusAvailable || *link.StatusMessage != "Your vpc link is ready for use" || link.Tags["team"] != "orders" {
		t.Fatalf("settled link = status %s, message %q, tags %v", link.Status, aws.ToString(link.StatusMessage), link.Tags)
	}
	failed := mgMust(c.CreateVpcLink(ctx, &apigateway.CreateVpcLinkInput{Name: aws.String("nowhere"), TargetArns: []string{vlUnmappedARN}}))(t)
	if l := vlWaitSettled(t, c, *failed.Id); l.Status != types.VpcLinkStatusFailed || !strings.Contains(*l.StatusMessage, "--vpc-link-target "+vlUnmappedARN+"=host:port") {
		t.Fatalf("unmapped link = status %s, message %q; want FAILED naming the flag", l.Status, aws.ToString(l.StatusMessage))
	}
	otherLink := mgMust(c.CreateVpcLink(ctx, &apigateway.CreateVpcLinkInput{Name: aws.String("other"), TargetArns: []string{otherARN}}))(t)
	vlWaitSettled(t, c, *otherLink.Id)
	secureLink := mgMust(c.CreateVpcLink(ctx, &apigateway.CreateVpcLinkInput{Name: aws.String("secure"), TargetArns: []string{vlSecureARN}}))(t)
	vlWaitSettled(t, c, *secureLink.Id)

	t.Run("management", func(t *testing.T) {
		_, err := c.CreateVpcLink(ctx, &apigateway.CreateVpcLinkInput{Name: aws.String("two"), TargetArns: []string{vlMappedARN, otherARN}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Exactly one target ARN must be specified...")
		_, err = c.GetVpcLink(ctx, &apigateway.GetVpcLinkInput{VpcLinkId: aws.String("nosuch")})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid Vpc Link identifier specified")
		up := mgMust(c.UpdateVpcLink(ctx, &apigateway.UpdateVpcLinkInput{VpcLinkId: created.Id, PatchOperations: []types.PatchOperation{
			mgOp(types.OpReplace, "/name", "orders"), mgOp(types.OpReplace, "/description", "renamed")}}))(t)
		if *up.Name != "orders" || *up.Description != "renamed" || up.Status != types.VpcLinkStatusAvailable {
			t.Fatalf("UpdateVpcLink = %+v", up)
		}
		_, err = c.UpdateVpcLink(ctx, &apigateway.UpdateVpcLinkInput{VpcLinkId: created.Id, PatchOperations: []types.PatchOperation{
			mgOp(types.OpReplace, "/targetArns", otherARN)}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid patch path...")
		page1 := mgMust(c.GetVpcLinks(ctx, &apigateway.GetVpcLinksInput{Limit: aws.Int32(2)}))(t)
		page2 := mgMust(c.GetVpcLinks(ctx, &apigateway.GetVpcLinksInput{Limit: aws.Int32(2), Position: page1.Position}))(t)
		if len(page1.Items) != 2 || len(page2.Items) != 2 || page2.Position != nil {
			t.Fatalf("GetVpcLinks pages: %d items then %d (position %v), want 2 and 2, then none", len(page1.Items), len(page2.Items), page2.Position)
		}
		arn := aws.String("arn:aws:apigateway:" + apigwtest.Region + "::/vpclinks/" + *created.Id)
		mgMust(c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"env": "prod"}}))(t)
		if tags := mgMust(c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: arn}))(t).Tags; tags["env"] != "prod" || tags["team"] != "orders" {
			t.Fatalf("GetTags of the link = %v", tags)
		}
	})

	api := mgMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("private backends")}))(t)
	put := func(t *testing.T, path, typ, uri, connectionID string, insecure bool) (string, error) {
		t.Helper()
		res := mgMust(c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String(path)}))(t)
		mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))(t)
		in := &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			Type: types.IntegrationType(typ), IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(uri),
			ConnectionType: types.ConnectionTypeVpcLink, ConnectionId: aws.String(connectionID)}
		if insecure {
			in.TlsConfig = &types.TlsConfig{InsecureSkipVerification: true}
		}
		_, err := c.PutIntegration(ctx, in)
		if err == nil && typ == "HTTP" {
			mgMust(c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}))(t)
			mgMust(c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}))(t)
		}
		return *res.Id, err
	}
	proxied := mgMust(put(t, "proxied", "HTTP_PROXY", "http://"+vlHost+"/orders", *created.Id, false))(t)
	mgMust(put(t, "mapped", "HTTP", "http://"+vlHost+":8080/list", *created.Id, false))(t)
	mgMust(put(t, "staged", "HTTP_PROXY", "http://"+vlHost+"/staged", "${stageVariables.link}", false))(t)
	mgMust(put(t, "unstaged", "HTTP_PROXY", "http://"+vlHost+"/unstaged", "${stageVariables.nolink}", false))(t)
	mgMust(put(t, "failed", "HTTP_PROXY", "http://"+vlHost+"/failed", *failed.Id, false))(t)
	// httptest's certificate names example.com: the name verified is the
	// URI's, the address dialled the link's.
	mgMust(put(t, "secure", "HTTP_PROXY", "https://example.com/tls", *secureLink.Id, true))(t)
	// A link id that names no link is refused, by PutIntegration and
	// UpdateIntegration alike.
	res, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("unknown")})
	if err != nil {
		t.Fatal(err)
	}
	mgMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))(t)
	_, err = c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
		Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String("http://" + vlHost + "/"),
		ConnectionType: types.ConnectionTypeVpcLink, ConnectionId: aws.String("abc123")})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid Vpc Link identifier specified")
	mgMust(c.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: api.Id, ResourceId: res.Id}))(t)
	_, err = c.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(proxied), HttpMethod: aws.String("GET"),
		PatchOperations: []types.PatchOperation{mgOp(types.OpReplace, "/connectionId", "abc123")}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid Vpc Link identifier specified")

	dep := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod"),
		Variables: map[string]string{"link": *otherLink.Id}}))(t)
	in.WaitServing(t, *api.Id, "prod", *dep.Id)

	t.Run("data plane", func(t *testing.T) {
		got := dpGet(t, in.InvokeURL(*api.Id, "prod", "/proxied?x=1"))
		if got.status != 200 || got.body != "orders /orders?x=1" {
			t.Fatalf("through the link: %d %q", got.status, got.body)
		}
		if h := backend.last(t).Host; h != vlHost {
			t.Errorf("backend saw Host %q, want the URI's %q", h, vlHost)
		}
		if got := dpGet(t, in.InvokeURL(*api.Id, "prod", "/mapped")); got.status != 200 || got.body != "orders /list" {
			t.Fatalf("HTTP through the link: %d %q", got.status, got.body)
		}
		if h := backend.last(t).Host; h != vlHost+":8080" {
			t.Errorf("backend saw Host %q, want %q", h, vlHost+":8080")
		}
		if got := dpGet(t, in.InvokeURL(*api.Id, "prod", "/staged")); got.status != 200 || got.body != "other /staged" {
			t.Fatalf("link named by a stage variable: %d %q", got.status, got.body)
		}
		if got := dpGet(t, in.InvokeURL(*api.Id, "prod", "/secure")); got.status != 200 || got.body != "secure example.com /tls" {
			t.Fatalf("https through the link: %d %q", got.status, got.body)
		}
		before := backend.count() + other.count()
		dpWantError(t, dpGet(t, in.InvokeURL(*api.Id, "prod", "/failed")), 500, "", "Internal server error")
		dpWantError(t, dpGet(t, in.InvokeURL(*api.Id, "prod", "/unstaged")), 500, "", "Internal server error")
		if n := backend.count() + other.count(); n != before {
			t.Errorf("a call through an unusable link reached a backend (%d calls, was %d)", n, before)
		}
	})

	t.Run("delete", func(t *testing.T) {
		_, err := c.DeleteVpcLink(ctx, &apigateway.DeleteVpcLinkInput{VpcLinkId: created.Id})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Cannot delete vpc link. Vpc link '"+*created.Id+"', is referenced in [...")
		mgMust(c.DeleteVpcLink(ctx, &apigateway.DeleteVpcLinkInput{VpcLinkId: otherLink.Id}))(t) // named by a stage variable only
		_, err = c.GetVpcLink(ctx, &apigateway.GetVpcLinkInput{VpcLinkId: otherLink.Id})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid Vpc Link identifier specified")
		dpEventually(t, "a deleted link is no longer reached", func() bool {
			return dpGet(t, in.InvokeURL(*api.Id, "prod", "/staged")).status == 500
		})
	})
}

// TestVpcLinksCLI runs the VPC link commands of the AWS CLI.
func TestVpcLinksCLI(t *testing.T) {
	backend := newDPBackend(t, "orders", nil)
	in := apigwtest.Start(t, func(cfg *server.Config) { cfg.VpcLinkTargets = map[string]string{vlMappedARN: backend.hostPort()} })
	cli := awsCLI(t, in, "apigateway")
	var link struct{ ID, Status string }
	if err := json.Unmarshal([]byte(cli(false, "create-vpc-link", "--name", "orders", "--target-arns", vlMappedARN)), &link); err != nil || link.Status != "PENDING" {
		t.Fatalf("create-vpc-link: %+v %v", link, err)
	}
	vlWaitSettled(t, in.Client, link.ID)
	if out := cli(false, "get-vpc-links", "--query", "items[0].status", "--output", "text"); strings.TrimSpace(out) != "AVAILABLE" {
		t.Fatalf("get-vpc-links status: %q", out)
	}
	cli(false, "update-vpc-link", "--vpc-link-id", link.ID, "--patch-operations", "op=replace,path=/name,value=renamed")
	if out := cli(false, "get-vpc-link", "--vpc-link-id", link.ID, "--query", "name", "--output", "text"); strings.TrimSpace(out) != "renamed" {
		t.Fatalf("get-vpc-link name: %q", out)
	}
	cli(false, "delete-vpc-link", "--vpc-link-id", link.ID)
	if out := cli(true, "get-vpc-link", "--vpc-link-id", link.ID); !strings.Contains(out, "Invalid Vpc Link identifier specified") {
		t.Fatalf("get-vpc-link after delete: %s", out)
	}
}
