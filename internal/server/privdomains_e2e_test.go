package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// A private custom domain reached through two VPC endpoint listeners: only
// an associated endpoint whose call the domain's policy allows gets to the
// private API behind it; associating, changing the policy, rejecting and
// deleting take effect on the next call, without a restart.
func TestPrivateCustomDomains(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) {
		c.VPCEndpoints = map[string]string{"vpce-0abc": "127.0.0.1:0", "vpce-0other": "127.0.0.1:0"}
	})
	ctx, c := t.Context(), in.Client
	acct := iaAccount(t, in)
	const name = "private.example.test"

	apiPolicy := iaPolicy(`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}`)
	apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{
		Name: aws.String("private"), Policy: aws.String(apiPolicy),
		EndpointConfiguration: &agtypes.EndpointConfiguration{Types: []agtypes.EndpointType{agtypes.EndpointTypePrivate}},
	}, nil, iaMethod{"/sample", "GET", "NONE"})
	regional := iaNewAPI(t, in, &apigateway.CreateRestApiInput{Name: aws.String("regional")}, nil, iaMethod{"/sample", "GET", "NONE"})

	ca := newTestCA(t, "Private CA")
	cert, key := ca.leaf(t, name)
	certArn := aws.ToString(iaMust(acmClient(in, rootCreds).ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: cert, PrivateKey: key}))(t).CertificateArn)

	// allowOnly is a domain policy admitting calls through the given
	// endpoints only, written as AWS's documentation writes it.
	allowOnly := func(vpces ...string) string {
		list, _ := json.Marshal(vpces)
		return iaPolicy(`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*"]}`,
			`{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*"],"Condition":{"StringNotEquals":{"aws:SourceVpce":`+string(list)+`}}}`)
	}
	private := &agtypes.EndpointConfiguration{Types: []agtypes.EndpointType{agtypes.EndpointTypePrivate}}
	d := iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name), CertificateArn: &certArn,
		EndpointConfiguration: private, SecurityPolicy: agtypes.SecurityPolicyTls12, Policy: aws.String(allowOnly("vpce-0abc", "vpce-0other"))}))(t)
	id := aws.ToString(d.DomainNameId)
	domainArn := "arn:aws:apigateway:" + iaRegion + ":" + acct + ":/domainnames/" + name + "+" + id
	if len(id) == 0 || aws.ToString(d.DomainNameArn) != domainArn || aws.ToString(d.Policy) == "" || d.DomainNameStatus != agtypes.DomainNameStatusAvailable {
		t.Fatalf("CreateDomainName: id %q arn %q status %s policy %q", id, aws.ToString(d.DomainNameArn), d.DomainNameStatus, aws.ToString(d.Policy))
	}

	t.Run("management", func(t *testing.T) {
		if _, err := c.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String(name)}); err == nil {
			t.Error("GetDomainName without domainNameId found the private domain")
		}
		_, err := c.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String(name + "+" + id)})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid domain name identifier specified")
		g := iaMust(c.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String(name), DomainNameId: &id}))(t)
		if aws.ToString(g.DomainNameArn) != domainArn {
			t.Errorf("GetDomainName: %q", aws.ToString(g.DomainNameArn))
		}
		_, err = c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name), CertificateArn: &certArn,
			EndpointConfiguration: private, SecurityPolicy: agtypes.SecurityPolicyTls10})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Security policy TLS_1_0 is not supported for PRIVATE endpoints")
		_, err = c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(name), CertificateArn: &certArn, EndpointConfiguration: private})
		apigwtest.WantAPIError(t, err, 409, "ConflictException", "The domain name you provided already exists.")
		_, err = c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("other.example.test"), CertificateArn: &certArn,
			EndpointConfiguration: private, Policy: aws.String("{not json")})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid policy document. Please check the policy syntax and try again.")
		_, err = c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String(name), DomainNameId: &id, RestApiId: &regional, Stage: aws.String(iaStage)})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Only PRIVATE REST APIs can be mapped to a PRIVATE domain name")

		_, err = c.CreateDomainNameAccessAssociation(ctx, &apigateway.CreateDomainNameAccessAssociationInput{DomainNameArn: &domainArn,
			AccessAssociationSource: aws.String("not-an-endpoint"), AccessAssociationSourceType: agtypes.AccessAssociationSourceTypeVpce})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid VPC endpoint identifier specified: not-an-endpoint")
		bogus := domainArn[:len(domainArn)-2] + "zz"
		_, err = c.CreateDomainNameAccessAssociation(ctx, &apigateway.CreateDomainNameAccessAssociationInput{DomainNameArn: &bogus,
			AccessAssociationSource: aws.String("vpce-0abc"), AccessAssociationSourceType: agtypes.AccessAssociationSourceTypeVpce})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid domain name identifier specified")
	})

	iaMust(c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String(name), DomainNameId: &id, RestApiId: &apiID, Stage: aws.String(iaStage)}))(t)
	if ms := iaMust(c.GetBasePathMappings(ctx, &apigateway.GetBasePathMappingsInput{DomainName: aws.String(name), DomainNameId: &id}))(t); len(ms.Items) != 1 || aws.ToString(ms.Items[0].RestApiId) != apiID {
		t.Fatalf("GetBasePathMappings: %+v", ms.Items)
	}

	call := func(t *testing.T, vpce, host string) iaAnswer {
		t.Helper()
		base := "http://" + in.Server.VPCEndpointAddr(vpce)
		if vpce == "" {
			base = in.DataURL
		}
		return iaDo(t, iaReq(t, "GET", base+"/sample", host, ""))
	}
	forbidden := func(t *testing.T, got iaAnswer) {
		t.Helper()
		iaWantError(t, got, http.StatusForbidden, "ForbiddenException", "message", "Forbidden")
	}
	// eventually polls until the call answers want's status: changes reach
	// the data plane with the next sync.
	eventually := func(t *testing.T, vpce string, status int) iaAnswer {
		t.Helper()
		var got iaAnswer
		for range 200 {
			if got = call(t, vpce, name); got.status == status {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		return got
	}

	assoc := iaMust(c.CreateDomainNameAccessAssociation(ctx, &apigateway.CreateDomainNameAccessAssociationInput{DomainNameArn: &domainArn,
		AccessAssociationSource: aws.String("vpce-0abc"), AccessAssociationSourceType: agtypes.AccessAssociationSourceTypeVpce,
		Tags: map[string]string{"team": "payments"}}))(t)
	assocArn := "arn:aws:apigateway:" + iaRegion + ":" + acct + ":/domainnameaccessassociations/domainname/" + name + "+" + id + "/vpcesource/vpce-0abc"
	if aws.ToString(assoc.DomainNameAccessAssociationArn) != assocArn || aws.ToString(assoc.DomainNameArn) != domainArn || assoc.Tags["team"] != "payments" {
		t.Fatalf("CreateDomainNameAccessAssociation: %+v", assoc)
	}

	t.Run("associated endpoint", func(t *testing.T) {
		iaWantOK(t, eventually(t, "vpce-0abc", 200), "mock")
	})
	t.Run("endpoint without association", func(t *testing.T) {
		forbidden(t, call(t, "vpce-0other", name))
	})
	t.Run("public listener", func(t *testing.T) {
		forbidden(t, call(t, "", name))
	})
	t.Run("unknown host through the endpoint", func(t *testing.T) {
		forbidden(t, call(t, "vpce-0abc", "nothing.example.test"))
	})
	t.Run("associations", func(t *testing.T) {
		_, err := c.CreateDomainNameAccessAssociation(ctx, &apigateway.CreateDomainNameAccessAssociationInput{DomainNameArn: &domainArn,
			AccessAssociationSource: aws.String("vpce-0abc"), AccessAssociationSourceType: agtypes.AccessAssociationSourceTypeVpce})
		apigwtest.WantAPIError(t, err, 409, "ConflictException", "A domain name access association already exists for this domain name and access association source")
		l := iaMust(c.GetDomainNameAccessAssociations(ctx, &apigateway.GetDomainNameAccessAssociationsInput{ResourceOwner: agtypes.ResourceOwnerSelf}))(t)
		if len(l.Items) != 1 || aws.ToString(l.Items[0].DomainNameAccessAssociationArn) != assocArn {
			t.Errorf("GetDomainNameAccessAssociations SELF: %+v", l.Items)
		}
		if l := iaMust(c.GetDomainNameAccessAssociations(ctx, &apigateway.GetDomainNameAccessAssociationsInput{ResourceOwner: agtypes.ResourceOwnerOtherAccounts}))(t); len(l.Items) != 0 {
			t.Errorf("GetDomainNameAccessAssociations OTHER_ACCOUNTS: %+v", l.Items)
		}
		tags := iaMust(c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: &assocArn}))(t)
		if tags.Tags["team"] != "payments" {
			t.Errorf("GetTags: %v", tags.Tags)
		}
		iaMust(c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: &domainArn, Tags: map[string]string{"env": "test"}}))(t)
		if tags := iaMust(c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: &domainArn}))(t); tags.Tags["env"] != "test" {
			t.Errorf("GetTags of the domain: %v", tags.Tags)
		}
		if g := iaMust(c.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String(name), DomainNameId: &id}))(t); g.Tags["env"] != "test" {
			t.Errorf("GetDomainName tags: %v", g.Tags)
		}
	})

	iaMust(c.CreateDomainNameAccessAssociation(ctx, &apigateway.CreateDomainNameAccessAssociationInput{DomainNameArn: &domainArn,
		AccessAssociationSource: aws.String("vpce-0other"), AccessAssociationSourceType: agtypes.AccessAssociationSourceTypeVpce}))(t)
	t.Run("second endpoint associated", func(t *testing.T) {
		iaWantOK(t, eventually(t, "vpce-0other", 200), "mock")
	})

	iaMust(c.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String(name), DomainNameId: &id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/policy"), Value: aws.String(allowOnly("vpce-0abc"))}}}))(t)
	t.Run("policy denies the second endpoint", func(t *testing.T) {
		forbidden(t, eventually(t, "vpce-0other", 403))
		iaWantOK(t, call(t, "vpce-0abc", name), "mock")
	})

	iaMust(c.RejectDomainNameAccessAssociation(ctx, &apigateway.RejectDomainNameAccessAssociationInput{DomainNameArn: &domainArn, DomainNameAccessAssociationArn: &assocArn}))(t)
	t.Run("rejected", func(t *testing.T) {
		forbidden(t, eventually(t, "vpce-0abc", 403))
		_, err := c.RejectDomainNameAccessAssociation(ctx, &apigateway.RejectDomainNameAccessAssociationInput{DomainNameArn: &domainArn, DomainNameAccessAssociationArn: &assocArn})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid domain name access association identifier specified")
	})

	iaMust(c.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String(name), DomainNameId: &id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/policy"), Value: aws.String(allowOnly("vpce-0abc", "vpce-0other"))}}}))(t)
	iaWantOK(t, eventually(t, "vpce-0other", 200), "mock")
	otherArn := strings.Replace(assocArn, "vpce-0abc", "vpce-0other", 1)
	iaMust(c.DeleteDomainNameAccessAssociation(ctx, &apigateway.DeleteDomainNameAccessAssociationInput{DomainNameAccessAssociationArn: &otherArn}))(t)
	t.Run("deleted", func(t *testing.T) {
		forbidden(t, eventually(t, "vpce-0other", 403))
	})

	iaMust(c.DeleteDomainName(ctx, &apigateway.DeleteDomainNameInput{DomainName: aws.String(name), DomainNameId: &id}))(t)
	if l := iaMust(c.GetDomainNameAccessAssociations(ctx, &apigateway.GetDomainNameAccessAssociationsInput{}))(t); len(l.Items) != 0 {
		t.Errorf("associations left after DeleteDomainName: %+v", l.Items)
	}
}

// The AWS CLI walk-through of README's "Private custom domain names": a
// PRIVATE domain with a policy, a base path mapping by domainNameId, an
// access association, a call through the endpoint; then the association
// deleted.
func TestPrivateCustomDomainsCLI(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.VPCEndpoints = map[string]string{"vpce-0abc": "127.0.0.1:0"} })
	acmCLI, agCLI := awsCLI(t, in, "acm"), awsCLI(t, in, "apigateway")
	run := func(cli func(bool, ...string) string, wantErr bool, args ...string) string {
		t.Helper()
		return strings.TrimSpace(cli(wantErr, append(args, "--output", "text")...))
	}
	const name = "private.example.test"
	ca := newTestCA(t, "CLI CA")
	certPEM, keyPEM := ca.leaf(t, name)
	dir := t.TempDir()
	for f, b := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	apiID := iaNewAPI(t, in, &apigateway.CreateRestApiInput{
		Name: aws.String("private"), Policy: aws.String(iaPolicy(`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}`)),
		EndpointConfiguration: &agtypes.EndpointConfiguration{Types: []agtypes.EndpointType{agtypes.EndpointTypePrivate}},
	}, nil, iaMethod{"/sample", "GET", "NONE"})

	arn := run(acmCLI, false, "import-certificate", "--certificate", "fileb://"+dir+"/cert.pem", "--private-key", "fileb://"+dir+"/key.pem", "--query", "CertificateArn")
	pol := iaPolicy(`{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*"],"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0abc"}}}`)
	out := run(agCLI, false, "create-domain-name", "--domain-name", name, "--certificate-arn", arn, "--endpoint-configuration", "types=PRIVATE",
		"--security-policy", "TLS_1_2", "--policy", pol, "--query", "[domainNameId,domainNameArn,endpointConfiguration.types[0]]")
	f := strings.Split(out, "\t")
	if len(f) != 3 || f[2] != "PRIVATE" || !strings.HasSuffix(f[1], ":/domainnames/"+name+"+"+f[0]) {
		t.Fatalf("create-domain-name: %q", out)
	}
	id, domainArn := f[0], f[1]
	out = run(agCLI, true, "get-domain-name", "--domain-name", name)
	if !strings.Contains(out, "(NotFoundException) when calling the GetDomainName operation: Invalid domain name identifier specified") {
		t.Errorf("get-domain-name without --domain-name-id: %s", out)
	}
	run(agCLI, false, "create-base-path-mapping", "--domain-name", name, "--domain-name-id", id, "--rest-api-id", apiID, "--stage", iaStage)

	out = run(agCLI, true, "create-domain-name-access-association", "--domain-name-arn", domainArn,
		"--access-association-source", "vpce-0abc", "--access-association-source-type", "VPC")
	if !strings.Contains(out, "Invalid access association source type VPC") {
		t.Errorf("create-domain-name-access-association with type VPC: %s", out)
	}
	assocArn := run(agCLI, false, "create-domain-name-access-association", "--domain-name-arn", domainArn,
		"--access-association-source", "vpce-0abc", "--access-association-source-type", "VPCE", "--query", "domainNameAccessAssociationArn")
	if !strings.HasSuffix(assocArn, ":/domainnameaccessassociations/domainname/"+name+"+"+id+"/vpcesource/vpce-0abc") {
		t.Errorf("create-domain-name-access-association: %q", assocArn)
	}
	if got := run(agCLI, false, "get-domain-name-access-associations", "--resource-owner", "SELF", "--query", "items[].[accessAssociationSource,domainNameArn]"); got != "vpce-0abc\t"+domainArn {
		t.Errorf("get-domain-name-access-associations: %q", got)
	}

	call := func() iaAnswer {
		return iaDo(t, iaReq(t, "GET", "http://"+in.Server.VPCEndpointAddr("vpce-0abc")+"/sample", name, ""))
	}
	got := call()
	for i := 0; i < 200 && got.status != 200; i++ {
		time.Sleep(10 * time.Millisecond)
		got = call()
	}
	iaWantOK(t, got, "mock")

	run(agCLI, false, "delete-domain-name-access-association", "--domain-name-access-association-arn", assocArn)
	got = call()
	for i := 0; i < 200 && got.status != 403; i++ {
		time.Sleep(10 * time.Millisecond)
		got = call()
	}
	iaWantError(t, got, http.StatusForbidden, "ForbiddenException", "message", "Forbidden")
	if got := run(agCLI, false, "get-domain-name-access-associations", "--query", "length(items)"); got != "0" {
		t.Errorf("get-domain-name-access-associations after delete: %q", got)
	}
}
