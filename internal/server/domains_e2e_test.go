package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// testCA signs leaf certificates for the names a test asks for.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: x509.NewCertPool()}
	ca.pool.AddCert(c)
	return ca
}

// leaf is a certificate for names, its PEM and its key's PEM.
func (ca *testCA) leaf(t *testing.T, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

func acmClient(in *apigwtest.Instance, c aws.Credentials) *acm.Client {
	return acm.New(acm.Options{Region: apigwtest.Region, BaseEndpoint: aws.String(in.AdminURL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")})
}

var rootCreds = aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: apigwtest.SecretAccessKey}

// echoAPI makes an API whose every path is an HTTP_PROXY to a backend
// that answers what the gateway saw: the API's name, $context.domainName,
// $context.path, the resource path, the stage and the path it was sent.
// auth is the methods' authorization type.
func echoAPI(t *testing.T, in *apigwtest.Instance, name, auth string) string {
	t.Helper()
	ctx := t.Context()
	c := in.Client
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header
		io.WriteString(w, strings.Join([]string{name, h.Get("X-Domain"), h.Get("X-Path"), h.Get("X-Resource"), h.Get("X-Stage"), r.URL.Path}, " "))
	}))
	t.Cleanup(backend.Close)
	api := iaMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String(name)}))(t)
	res := iaMust(c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id}))(t)
	root := res.Items[0].Id
	proxy := iaMust(c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: root, PathPart: aws.String("{proxy+}")}))(t)
	for _, id := range []*string{root, proxy.Id} {
		mapping := map[string]string{"integration.request.header.x-domain": "context.domainName", "integration.request.header.x-path": "context.path",
			"integration.request.header.x-resource": "context.resourcePath", "integration.request.header.x-stage": "context.stage"}
		var params map[string]bool
		uri := backend.URL + "/"
		if id == proxy.Id {
			params = map[string]bool{"method.request.path.proxy": true}
			mapping["integration.request.path.proxy"] = "method.request.path.proxy"
			uri = backend.URL + "/{proxy}"
		}
		iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: id, HttpMethod: aws.String("ANY"), AuthorizationType: aws.String(auth), RequestParameters: params}))(t)
		iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: id, HttpMethod: aws.String("ANY"),
			Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("ANY"), Uri: aws.String(uri), RequestParameters: mapping}))(t)
	}
	iaMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))(t)
	return aws.ToString(api.Id)
}

// tlsGet calls path on the TLS listener, asking for host by SNI and in
// the Host header; the client trusts pool only.
func tlsGet(t *testing.T, in *apigwtest.Instance, pool *x509.CertPool, host, path string, sign *aws.Credentials) (int, string, *tls.ConnectionState) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+host+path, nil)
	if sign != nil {
		req = iaSign(t, req, "", *sign, time.Now())
	}
	resp, err := httpsClient(pool, in.Server.TLSAddr(), nil).Do(req)
	if err != nil {
		t.Fatalf("GET https://%s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.TLS
}

// Two custom domains with certificates of two CAs, imported through ACM:
// SNI picks each one's certificate, base path mappings route to two APIs,
// and an AWS_IAM method is reached through a domain with a signature over
// the domain's host by a user whose policy writes the action in lower case.
func TestCustomDomains(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.TLSListen = "127.0.0.1:0"; c.DomainTarget = "gw.example.net" })
	ctx := t.Context()
	caA, caB := newTestCA(t, "CA A"), newTestCA(t, "CA B")
	am := acmClient(in, rootCreds)
	certA, keyA := caA.leaf(t, "api.example.test")
	certB, keyB := caB.leaf(t, "*.shop.test")
	impA := iaMust(am.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certA, PrivateKey: keyA, CertificateChain: caA.pem}))(t)
	impB := iaMust(am.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certB, PrivateKey: keyB}))(t)
	arnA, arnB := aws.ToString(impA.CertificateArn), aws.ToString(impB.CertificateArn)
	if !strings.HasPrefix(arnA, "arn:aws:acm:us-east-1:") || !strings.Contains(arnA, ":certificate/") {
		t.Fatalf("certificate ARN %q", arnA)
	}

	t.Run("acm", func(t *testing.T) {
		_, err := am.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certA, PrivateKey: keyB})
		var ve interface{ ErrorCode() string }
		if !errors.As(err, &ve) || ve.ErrorCode() != "ValidationException" || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("key of another certificate: %v", err)
		}
		d := iaMust(am.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: &arnA}))(t).Certificate
		if aws.ToString(d.DomainName) != "api.example.test" || d.Type != acmtypes.CertificateTypeImported || d.Status != acmtypes.CertificateStatusIssued ||
			d.KeyAlgorithm != acmtypes.KeyAlgorithmEcPrime256v1 || aws.ToString(d.Issuer) != "CA A" {
			t.Errorf("DescribeCertificate: %+v", d)
		}
		g := iaMust(am.GetCertificate(ctx, &acm.GetCertificateInput{CertificateArn: &arnA}))(t)
		if strings.TrimSpace(aws.ToString(g.Certificate)) != strings.TrimSpace(string(certA)) || strings.TrimSpace(aws.ToString(g.CertificateChain)) != strings.TrimSpace(string(caA.pem)) {
			t.Errorf("GetCertificate: %q / %q", aws.ToString(g.Certificate), aws.ToString(g.CertificateChain))
		}
		// Without keyTypes ACM lists RSA certificates only.
		if l := iaMust(am.ListCertificates(ctx, &acm.ListCertificatesInput{}))(t); len(l.CertificateSummaryList) != 0 {
			t.Errorf("ListCertificates without key types: %d", len(l.CertificateSummaryList))
		}
		l := iaMust(am.ListCertificates(ctx, &acm.ListCertificatesInput{Includes: &acmtypes.Filters{KeyTypes: []acmtypes.KeyAlgorithm{acmtypes.KeyAlgorithmEcPrime256v1}}}))(t)
		if len(l.CertificateSummaryList) != 2 {
			t.Errorf("ListCertificates: %d certificates, want 2", len(l.CertificateSummaryList))
		}
		bad := arnA[:len(arnA)-4] + "0000"
		if _, err := am.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: &bad}); !errors.As(err, new(*acmtypes.ResourceNotFoundException)) {
			t.Errorf("unknown certificate: %v", err)
		}
		if _, err := am.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("x.example.test")}); err == nil || !strings.Contains(err.Error(), "ImportCertificate") {
			t.Errorf("RequestCertificate: %v", err)
		}
	})

	apiA, apiB := echoAPI(t, in, "A", "AWS_IAM"), echoAPI(t, in, "B", "NONE")
	c := in.Client
	dA := iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("api.example.test"), RegionalCertificateArn: &arnA,
		EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}}, SecurityPolicy: types.SecurityPolicyTls12}))(t)
	if aws.ToString(dA.RegionalDomainName) != "gw.example.net" || aws.ToString(dA.RegionalCertificateName) != "api.example.test" || dA.DomainNameStatus != types.DomainNameStatusAvailable {
		t.Errorf("CreateDomainName: %+v", dA)
	}
	iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("*.shop.test"), CertificateArn: &arnB,
		SecurityPolicy: types.SecurityPolicy("SecurityPolicy_TLS13_2025_EDGE")}))(t)
	_, err := c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("api.example.test"), RegionalCertificateArn: &arnA,
		EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}}})
	apigwtest.WantAPIError(t, err, 409, "ConflictException", "The domain name you provided already exists.")
	_, err = c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("other.test"), RegionalCertificateArn: &arnA,
		EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "The certificate "+arnA+" does not cover the domain name other.test")

	iaMust(c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("api.example.test"), RestApiId: &apiA, Stage: aws.String("prod")}))(t)
	iaMust(c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("api.example.test"), RestApiId: &apiB, Stage: aws.String("prod"), BasePath: aws.String("shop")}))(t)
	iaMust(c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("*.shop.test"), RestApiId: &apiB, BasePath: aws.String("v1")}))(t)
	_, err = c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("api.example.test"), RestApiId: &apiB, BasePath: aws.String("shop")})
	apigwtest.WantAPIError(t, err, 409, "ConflictException", "Base path already exists for this domain name")
	_, err = c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("api.example.test"), RestApiId: &apiB, BasePath: aws.String("x"), Stage: aws.String("nope")})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid stage identifier specified")
	ms := iaMust(c.GetBasePathMappings(ctx, &apigateway.GetBasePathMappingsInput{DomainName: aws.String("api.example.test")}))(t)
	if len(ms.Items) != 2 || aws.ToString(ms.Items[0].BasePath) != "(none)" || aws.ToString(ms.Items[1].BasePath) != "shop" {
		t.Errorf("GetBasePathMappings: %+v", ms.Items)
	}
	iaMust(c.GetBasePathMapping(ctx, &apigateway.GetBasePathMappingInput{DomainName: aws.String("api.example.test"), BasePath: aws.String("(none)")}))(t)

	if _, err := am.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: &arnA}); !errors.As(err, new(*acmtypes.ResourceInUseException)) {
		t.Errorf("DeleteCertificate of a certificate in use: %v", err)
	}

	t.Run("sni and base paths", func(t *testing.T) {
		status, body, cs := tlsGet(t, in, caB.pool, "x.shop.test", "/v1/prod/items/1", nil)
		if status != 200 || body != "B x.shop.test /v1/prod/items/1 /{proxy+} prod /items/1" {
			t.Errorf("x.shop.test: %d %q", status, body)
		}
		if cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != "h2" {
			t.Errorf("x.shop.test: TLS %x %q, want 1.3 (SecurityPolicy_TLS13_2025_EDGE) over h2", cs.Version, cs.NegotiatedProtocol)
		}
		status, body, _ = tlsGet(t, in, caA.pool, "api.example.test", "/shop/", nil)
		if status != 200 || body != "B api.example.test /shop/ / prod /" {
			t.Errorf("api.example.test/shop/: %d %q", status, body)
		}
		// The certificate of the other domain is not trusted by CA A's pool.
		if _, err := httpsClient(caA.pool, in.Server.TLSAddr(), nil).Get("https://x.shop.test/v1/prod/"); err == nil {
			t.Error("x.shop.test served a certificate CA A signed")
		}
	})

	t.Run("AWS_IAM through the domain", func(t *testing.T) {
		ic := iaIAM(in, rootCreds)
		user := iaNewUser(t, ic, "seed000", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:invoke","Resource":"arn:aws:execute-api:*:*:`+apiA+`/prod/GET/*"}]}`)
		status, body, _ := tlsGet(t, in, caA.pool, "api.example.test", "/2", &user)
		if status != 200 || body != "A api.example.test /2 /{proxy+} prod /2" {
			t.Errorf("signed GET /2: %d %q", status, body)
		}
		status, _, _ = tlsGet(t, in, caA.pool, "api.example.test", "/2", nil)
		if status != 403 {
			t.Errorf("unsigned GET /2: %d, want 403", status)
		}
	})

	t.Run("changes without a restart", func(t *testing.T) {
		// Re-import a certificate for api.example.test from CA B under the
		// same ARN: new handshakes get it.
		certA2, keyA2 := caB.leaf(t, "api.example.test")
		iaMust(am.ImportCertificate(ctx, &acm.ImportCertificateInput{CertificateArn: &arnA, Certificate: certA2, PrivateKey: keyA2}))(t)
		if status, _, _ := tlsGet(t, in, caB.pool, "api.example.test", "/shop/", nil); status != 200 {
			t.Errorf("after re-import: %d", status)
		}
		iaMust(c.UpdateBasePathMapping(ctx, &apigateway.UpdateBasePathMappingInput{DomainName: aws.String("api.example.test"), BasePath: aws.String("shop"),
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/basePath"), Value: aws.String("store")}}}))(t)
		if status, body, _ := tlsGet(t, in, caB.pool, "api.example.test", "/store/a", nil); status != 200 || !strings.HasPrefix(body, "B ") {
			t.Errorf("after renaming the base path: %d %q", status, body)
		}
		iaMust(c.DeleteBasePathMapping(ctx, &apigateway.DeleteBasePathMappingInput{DomainName: aws.String("*.shop.test"), BasePath: aws.String("v1")}))(t)
		if status, _, _ := tlsGet(t, in, caB.pool, "x.shop.test", "/v1/prod/", nil); status != 403 {
			t.Errorf("after deleting the mapping: %d, want 403", status)
		}
		iaMust(c.DeleteDomainName(ctx, &apigateway.DeleteDomainNameInput{DomainName: aws.String("*.shop.test")}))(t)
		iaMust(am.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: &arnB}))(t)
		_, err := c.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("*.shop.test")})
		apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid domain name identifier specified")
	})
}
