package server_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// Seed 000's signed call, signed by PHP: php-async-aws-core's SigV4 signer
// over the custom domain's host, for a user whose policy writes the action
// "execute-api:invoke" in lower case, as the seed does. The domain's
// (none) mapping has no stage, so the URL names it: /prod/2.
func TestCustomDomainSignedByPHP(t *testing.T) {
	if _, err := exec.LookPath("php"); err != nil {
		t.Skip("php is not installed: skipping the PHP signer (.ci/run installs php-cli and php-async-aws-core)")
	}
	if _, err := os.Stat("/usr/share/php/AsyncAws/Core/Signer/SignerV4.php"); err != nil {
		t.Skip("php-async-aws-core is not installed: skipping the PHP signer")
	}
	in := apigwtest.Start(t, func(c *server.Config) { c.TLSListen = "127.0.0.1:0" })
	ctx := t.Context()
	ca := newTestCA(t, "PHP CA")
	cert, key := ca.leaf(t, "api.example.test")
	imp := iaMust(acmClient(in, rootCreds).ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: cert, PrivateKey: key}))(t)
	c := in.Client
	iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("api.example.test"), RegionalCertificateArn: imp.CertificateArn,
		EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}}, SecurityPolicy: types.SecurityPolicyTls12}))(t)
	api := echoAPI(t, in, "A", "AWS_IAM")
	iaMust(c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("api.example.test"), RestApiId: &api}))(t)
	user := iaNewUser(t, iaIAM(in, rootCreds), "seed000php",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:invoke","Resource":"arn:aws:execute-api:*:*:`+api+`/prod/GET/*"}]}`)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(in.Server.TLSAddr())
	url := "https://api.example.test:" + port + "/prod/2"
	php := func(secret string) (string, string) {
		t.Helper()
		out, err := exec.CommandContext(ctx, "php", "testdata/sigv4_invoke.php", url, "127.0.0.1", caFile, user.AccessKeyID, secret).CombinedOutput()
		if err != nil {
			t.Fatalf("php: %v\n%s", err, out)
		}
		status, body, _ := strings.Cut(string(out), "\n")
		return status, body
	}
	if status, body := php(user.SecretAccessKey); status != "200" || body != "A api.example.test /prod/2 /{proxy+} prod /2" {
		t.Errorf("signed by PHP: %s %q", status, body)
	}
	if status, body := php("wrong" + user.SecretAccessKey[5:]); status != "403" || !strings.Contains(body, "The request signature we calculated does not match") {
		t.Errorf("signed with a wrong secret: %s %q", status, body)
	}
}
