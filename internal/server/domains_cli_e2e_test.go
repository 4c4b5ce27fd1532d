package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// A custom domain set up with the AWS CLI as the AWS documentation walks
// through it: a certificate imported into ACM, a REGIONAL domain name, base
// path mappings of v1 and a multi-level API mapping of apigatewayv2; then
// HTTPS calls through the domain.
func TestCustomDomainsCLI(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.TLSListen = "127.0.0.1:0"; c.DomainTarget = "gw.example.net" })
	clis := map[string]func(bool, ...string) string{}
	for _, service := range []string{"acm", "apigateway", "apigatewayv2"} {
		clis[service] = awsCLI(t, in, service)
	}
	// aws runs "aws SERVICE ARGS... --output text", trimmed.
	aws := func(wantErr bool, service string, args ...string) string {
		t.Helper()
		return strings.TrimSpace(clis[service](wantErr, append(args, "--output", "text")...))
	}
	ca := newTestCA(t, "CLI CA")
	certPEM, keyPEM := ca.leaf(t, "api.example.test")
	dir := t.TempDir()
	for name, b := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM, "chain.pem": ca.pem} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	apiA, apiB := echoAPI(t, in, "A", "NONE"), echoAPI(t, in, "B", "NONE")
	const domain = "api.example.test"

	arn := aws(false, "acm", "import-certificate", "--certificate", "fileb://"+dir+"/cert.pem", "--private-key", "fileb://"+dir+"/key.pem",
		"--certificate-chain", "fileb://"+dir+"/chain.pem", "--query", "CertificateArn")
	if !strings.HasPrefix(arn, "arn:aws:acm:us-east-1:") {
		t.Fatalf("import-certificate: %q", arn)
	}
	if got := aws(false, "acm", "describe-certificate", "--certificate-arn", arn, "--query", "[Certificate.DomainName,Certificate.Status,Certificate.Type,Certificate.Issuer]"); got != "api.example.test\tISSUED\tIMPORTED\tCLI CA" {
		t.Errorf("describe-certificate: %q", got)
	}
	if got := aws(false, "acm", "list-certificates", "--includes", "keyTypes=EC_prime256v1", "--query", "CertificateSummaryList[].CertificateArn"); got != arn {
		t.Errorf("list-certificates: %q", got)
	}
	if got := aws(false, "acm", "get-certificate", "--certificate-arn", arn, "--query", "Certificate"); got != strings.TrimSpace(string(certPEM)) {
		t.Errorf("get-certificate: %q", got)
	}

	got := aws(false, "apigateway", "create-domain-name", "--domain-name", domain, "--regional-certificate-arn", arn,
		"--endpoint-configuration", "types=REGIONAL", "--security-policy", "TLS_1_2", "--query", "[regionalDomainName,regionalCertificateName,securityPolicy,domainNameStatus]")
	if got != "gw.example.net\tapi.example.test\tTLS_1_2\tAVAILABLE" {
		t.Errorf("create-domain-name: %q", got)
	}
	if got := aws(false, "apigateway", "get-domain-name", "--domain-name", domain, "--query", "endpointConfiguration.types"); got != "REGIONAL" {
		t.Errorf("get-domain-name: %q", got)
	}
	if got := aws(false, "apigateway", "update-domain-name", "--domain-name", domain, "--patch-operations", "op=replace,path=/securityPolicy,value=TLS_1_0",
		"--query", "securityPolicy"); got != "TLS_1_0" {
		t.Errorf("update-domain-name: %q", got)
	}
	// Multi-level mappings need TLS 1.2.
	out := aws(true, "apigatewayv2", "create-api-mapping", "--domain-name", domain, "--api-mapping-key", "v1/orders", "--api-id", apiB, "--stage", "prod")
	if !strings.Contains(out, "(BadRequestException) when calling the CreateApiMapping operation: Multi-level API mappings") {
		t.Errorf("create-api-mapping under TLS_1_0: %s", out)
	}
	aws(false, "apigateway", "update-domain-name", "--domain-name", domain, "--patch-operations", "op=replace,path=/securityPolicy,value=TLS_1_2")
	out = aws(true, "acm", "delete-certificate", "--certificate-arn", arn)
	if !strings.Contains(out, "(ResourceInUseException) when calling the DeleteCertificate operation") {
		t.Errorf("delete-certificate of a certificate in use: %s", out)
	}

	// The empty base path, answered as (none), then renamed.
	if got := aws(false, "apigateway", "create-base-path-mapping", "--domain-name", domain, "--rest-api-id", apiA, "--stage", "prod", "--query", "[basePath,restApiId,stage]"); got != "(none)\t"+apiA+"\tprod" {
		t.Errorf("create-base-path-mapping: %q", got)
	}
	if got := aws(false, "apigateway", "get-base-path-mapping", "--domain-name", domain, "--base-path", "(none)", "--query", "restApiId"); got != apiA {
		t.Errorf("get-base-path-mapping (none): %q", got)
	}
	if got := aws(false, "apigateway", "update-base-path-mapping", "--domain-name", domain, "--base-path", "(none)",
		"--patch-operations", "op=replace,path=/basePath,value=shop", "--query", "basePath"); got != "shop" {
		t.Errorf("update-base-path-mapping: %q", got)
	}
	out = aws(true, "apigateway", "create-base-path-mapping", "--domain-name", domain, "--rest-api-id", apiB, "--stage", "prod", "--base-path", "v1/orders")
	if !strings.Contains(out, "API Gateway V1 doesn't support the slash character (/) in base path mappings") {
		t.Errorf("v1 create-base-path-mapping v1/orders: %s", out)
	}

	id := aws(false, "apigatewayv2", "create-api-mapping", "--domain-name", domain, "--api-mapping-key", "v1/orders", "--api-id", apiB, "--stage", "prod", "--query", "ApiMappingId")
	if id == "" {
		t.Fatal("create-api-mapping: no ApiMappingId")
	}
	if got := aws(false, "apigatewayv2", "get-api-mapping", "--domain-name", domain, "--api-mapping-id", id, "--query", "[ApiMappingKey,ApiId,Stage]"); got != "v1/orders\t"+apiB+"\tprod" {
		t.Errorf("get-api-mapping: %q", got)
	}
	if got := aws(false, "apigatewayv2", "get-api-mappings", "--domain-name", domain, "--query", "sort(Items[].ApiMappingKey)"); got != "shop\tv1/orders" {
		t.Errorf("get-api-mappings: %q", got)
	}
	if got := aws(false, "apigatewayv2", "get-domain-name", "--domain-name", domain, "--query", "DomainNameConfigurations[0].[EndpointType,ApiGatewayDomainName,SecurityPolicy]"); got != "REGIONAL\tgw.example.net\tTLS_1_2" {
		t.Errorf("apigatewayv2 get-domain-name: %q", got)
	}
	if got := aws(false, "apigateway", "get-base-path-mappings", "--domain-name", domain, "--query", "items[].basePath"); got != "shop" {
		t.Errorf("v1 get-base-path-mappings lists single-level mappings only: %q", got)
	}

	for _, c := range []struct{ path, want string }{
		{"/shop/cart", "A api.example.test /shop/cart /{proxy+} prod /cart"},
		{"/v1/orders/7", "B api.example.test /v1/orders/7 /{proxy+} prod /7"},
	} {
		if status, body, _ := tlsGet(t, in, ca.pool, domain, c.path, nil); status != 200 || body != c.want {
			t.Errorf("GET https://%s%s: %d %q, want %q", domain, c.path, status, body, c.want)
		}
	}
	// The mapping moved to API A: the next calls go there.
	aws(false, "apigatewayv2", "update-api-mapping", "--domain-name", domain, "--api-mapping-id", id, "--api-id", apiA, "--stage", "prod")
	if status, body, _ := tlsGet(t, in, ca.pool, domain, "/v1/orders/7", nil); status != 200 || !strings.HasPrefix(body, "A ") {
		t.Errorf("after update-api-mapping: %d %q", status, body)
	}

	aws(false, "apigatewayv2", "delete-api-mapping", "--domain-name", domain, "--api-mapping-id", id)
	if status, _, _ := tlsGet(t, in, ca.pool, domain, "/v1/orders/7", nil); status != 403 {
		t.Errorf("after delete-api-mapping: %d, want 403", status)
	}
	aws(false, "apigateway", "delete-base-path-mapping", "--domain-name", domain, "--base-path", "shop")
	out = aws(true, "apigateway", "get-base-path-mapping", "--domain-name", domain, "--base-path", "shop")
	if !strings.Contains(out, "(NotFoundException) when calling the GetBasePathMapping operation: Invalid base path mapping identifier specified") {
		t.Errorf("get-base-path-mapping after delete: %s", out)
	}
	aws(false, "apigateway", "delete-domain-name", "--domain-name", domain)
	aws(false, "acm", "delete-certificate", "--certificate-arn", arn)
	out = aws(true, "acm", "describe-certificate", "--certificate-arn", arn)
	if !strings.Contains(out, "(ResourceNotFoundException) when calling the DescribeCertificate operation") {
		t.Errorf("describe-certificate after delete: %s", out)
	}
}
