package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
)

// clientLeaf is a client certificate ca signs for cn (extended key usage
// clientAuth), ready for a tls.Config, and its parsed form.
func (ca *testCA) clientLeaf(t *testing.T, cn string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"Callers Inc"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, c
}

// expiredCA is the PEM of a CA certificate that expired yesterday.
func expiredCA(t *testing.T) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Old CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// mtlsResult is what a call got: the status and body, or the error of a
// handshake the gateway refused; asked says whether the server asked for
// a client certificate.
type mtlsResult struct {
	status int
	body   string
	err    error
	asked  bool
	conn   *tls.ConnectionState
	reused bool
}

// mtlsClient is one client (its own connection pool) to the TLS listener.
type mtlsClient struct {
	c     *http.Client
	asked bool
}

func newMTLSClient(in *apigwtest.Instance, roots *x509.CertPool, cert *tls.Certificate) *mtlsClient {
	mc := &mtlsClient{c: httpsClient(roots, in.Server.TLSAddr(), nil)}
	tr := mc.c.Transport.(*http.Transport)
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		mc.asked = true
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	return mc
}

func (mc *mtlsClient) get(t *testing.T, sni, host, path string) mtlsResult {
	t.Helper()
	var r mtlsResult
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { r.reused = i.Reused }})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+sni+path, nil)
	if host != "" {
		req.Host = host
	}
	mc.asked = false
	resp, err := mc.c.Do(req)
	r.asked = mc.asked
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r.status, r.body, r.conn = resp.StatusCode, string(b), resp.TLS
	return r
}

// mtlsAPI makes an API with GET /whoami (MOCK, answering the
// $context.identity.clientCert variables) and GET /fn (AWS_PROXY to a
// Python function answering the event's requestContext.identity.clientCert),
// deployed to prod with an access log of the certificate's subject.
func mtlsAPI(t *testing.T, in *apigwtest.Instance, withLambda bool) string {
	t.Helper()
	ctx := t.Context()
	c := in.Client
	api := iaMust(c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("mtls")}))(t)
	who := iaMust(c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("whoami")}))(t)
	iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: who.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))(t)
	iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: who.Id, HttpMethod: aws.String("GET"), Type: types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))(t)
	iaMust(c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: who.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}))(t)
	const tmpl = `#set($cc = $context.identity.clientCert)` +
		`#if($cc)subject=$cc.subjectDN|issuer=$cc.issuerDN|serial=$cc.serialNumber|from=$cc.validity.notBefore|to=$cc.validity.notAfter|` +
		`pem=$cc.clientCertPem.startsWith("-----BEGIN CERTIFICATE-----")|dotted=$context.identity.clientCert.subjectDN#{else}no certificate#end`
	iaMust(c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: who.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
		ResponseTemplates: map[string]string{"application/json": tmpl}}))(t)
	if withLambda {
		fn := lmCreate(t, in, lmFn{name: "mtlsEcho", runtime: lambdatypes.RuntimePython312, handler: "lambda_function.handler",
			zip: lfZip(t, map[string]string{"lambda_function.py": "import json\n\ndef handler(event, context):\n" +
				"    return {'statusCode': 200, 'body': json.dumps(event['requestContext']['identity'].get('clientCert'))}\n"})})
		res := iaMust(c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("fn")}))(t)
		iaMust(c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))(t)
		iaMust(c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			Type: types.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(lmInvocationURI(fn))}))(t)
		lmGrant(t, in, fn, aws.ToString(api.Id))
	}
	iaMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))(t)
	iaMust(c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api.Id, StageName: aws.String("prod"), PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/accessLogSettings/destinationArn"), Value: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:mtls")},
		{Op: types.OpReplace, Path: aws.String("/accessLogSettings/format"), Value: aws.String(`{"path":"$context.path","subject":"$context.identity.clientCert.subjectDN","serial":"$context.identity.clientCert.serialNumber","notAfter":"$context.identity.clientCert.validity.notAfter"}`)},
	}}))(t)
	return aws.ToString(api.Id)
}

func regional() *types.EndpointConfiguration {
	return &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}}
}

func writeFile(t *testing.T, name string, parts ...[]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, bytes.Join(parts, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Mutual TLS on a custom domain: the handshake of its name asks for a
// client certificate its truststore verifies, other names ask for none;
// the certificate reaches templates, the access log and the Lambda event
// through that domain only; a Host other than the SNI is misdirected;
// disableExecuteApiEndpoint leaves the custom domains only; certificate
// and truststore changes reach new handshakes while open connections go on.
func TestMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	withLambda := true
	if _, err := exec.LookPath("python3"); err != nil {
		t.Log("python3 is not installed: the Lambda event part is skipped")
		withLambda = false
	}
	accessLog := filepath.Join(t.TempDir(), "access.log")
	in := apigwtest.Start(t, func(c *server.Config) { c.TLSListen = "127.0.0.1:0"; c.AccessLog = accessLog })
	ctx := t.Context()
	c := in.Client
	srvCA, cliCA, otherCA := newTestCA(t, "Server CA"), newTestCA(t, "Client CA"), newTestCA(t, "Other CA")
	am := acmClient(in, rootCreds)
	certPEM, keyPEM := srvCA.leaf(t, "mtls.example.test", "plain.example.test")
	arn := aws.ToString(iaMust(am.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM}))(t).CertificateArn)
	good, goodX := cliCA.clientLeaf(t, "caller-1")
	wrong, _ := otherCA.clientLeaf(t, "intruder")
	trustFile := writeFile(t, "truststore.pem", cliCA.pem, expiredCA(t))
	trustURI := "file://" + trustFile

	t.Run("validation", func(t *testing.T) {
		mtls := &types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(trustURI)}
		// The domain's rules come before the truststore is read.
		_, err := c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("mtls.example.test"), CertificateArn: &arn,
			MutualTlsAuthentication: &types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("file:///nonexistent/ts.pem")}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Mutual TLS authentication is only supported for REGIONAL domain names")
		_, err = c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("mtls.example.test"), RegionalCertificateArn: &arn,
			EndpointConfiguration: regional(), SecurityPolicy: types.SecurityPolicyTls10, MutualTlsAuthentication: mtls})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Mutual TLS authentication requires a security policy of TLS 1.2 or later; TLS_1_0 allows TLS 1.0")
		for _, tc := range []struct{ uri, version, want string }{
			{"file:///nonexistent/ts.pem", "", "Unable to read the truststore at file:///nonexistent/ts.pem: no such file or directory"},
			{"file://" + writeFile(t, "junk.pem", []byte("not a certificate")), "", "Invalid truststore: it holds no PEM-encoded certificate"},
			{"file://" + writeFile(t, "old.pem", expiredCA(t)), "", "Invalid truststore: it holds no valid certificate (Certificate 1 in the truststore (subject \"CN=Old CA\", serial 07) has expired ("},
			{"ftp://example.test/ts.pem", "", "Invalid truststore URI: ftp://example.test/ts.pem (apigw reads s3://bucket-name/key-name, https:// and file:// truststores)"},
			{trustURI, "3", "A truststore version can only be given for an s3:// truststore URI"},
		} {
			_, err := c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("mtls.example.test"), RegionalCertificateArn: &arn,
				EndpointConfiguration: regional(), MutualTlsAuthentication: &types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(tc.uri), TruststoreVersion: aws.String(tc.version)}})
			if tc.version == "" {
				_, err = c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("mtls.example.test"), RegionalCertificateArn: &arn,
					EndpointConfiguration: regional(), MutualTlsAuthentication: &types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(tc.uri)}})
			}
			if err == nil || !strings.Contains(err.Error(), "BadRequestException") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("truststore %s: %v, want BadRequestException %q", tc.uri, err, tc.want)
			}
		}
	})

	d := iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("mtls.example.test"), RegionalCertificateArn: &arn,
		EndpointConfiguration: regional(), MutualTlsAuthentication: &types.MutualTlsAuthenticationInput{TruststoreUri: aws.String(trustURI)}}))(t)
	if m := d.MutualTlsAuthentication; m == nil || aws.ToString(m.TruststoreUri) != trustURI || len(m.TruststoreWarnings) != 1 ||
		!strings.Contains(m.TruststoreWarnings[0], `(subject "CN=Old CA", serial 07) has expired`) {
		t.Errorf("CreateDomainName mutualTlsAuthentication: %+v", d.MutualTlsAuthentication)
	}
	if g := iaMust(c.GetDomainName(ctx, &apigateway.GetDomainNameInput{DomainName: aws.String("mtls.example.test")}))(t); g.MutualTlsAuthentication == nil ||
		aws.ToString(g.MutualTlsAuthentication.TruststoreUri) != trustURI {
		t.Errorf("GetDomainName mutualTlsAuthentication: %+v", g.MutualTlsAuthentication)
	}
	iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("plain.example.test"), RegionalCertificateArn: &arn, EndpointConfiguration: regional()}))(t)
	apiID := mtlsAPI(t, in, withLambda)
	for _, name := range []string{"mtls.example.test", "plain.example.test"} {
		iaMust(c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String(name), RestApiId: &apiID, Stage: aws.String("prod")}))(t)
	}

	t.Run("handshake", func(t *testing.T) {
		if r := newMTLSClient(in, srvCA.pool, nil).get(t, "mtls.example.test", "", "/whoami"); r.err == nil || !r.asked {
			t.Errorf("without a certificate: %d %q (asked %v), want a refused handshake", r.status, r.body, r.asked)
		}
		if r := newMTLSClient(in, srvCA.pool, &wrong).get(t, "mtls.example.test", "", "/whoami"); r.err == nil {
			t.Errorf("with another CA's certificate: %d %q, want a refused handshake", r.status, r.body)
		}
		r := newMTLSClient(in, srvCA.pool, &good).get(t, "mtls.example.test", "", "/whoami")
		want := "subject=" + goodX.Subject.String() + "|issuer=" + goodX.Issuer.String() + "|serial=" + serialColons(goodX) +
			"|from=" + goodX.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT") + "|to=" + goodX.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT") +
			"|pem=true|dotted=" + goodX.Subject.String()
		if r.err != nil || r.status != 200 || r.body != want {
			t.Errorf("with the right certificate: %d %q %v\nwant %q", r.status, r.body, r.err, want)
		}
		if goodX.Subject.String() != "CN=caller-1,O=Callers Inc" {
			t.Errorf("subject %q", goodX.Subject.String())
		}
		// Another domain on the same listener asks for no certificate and
		// passes none on.
		r = newMTLSClient(in, srvCA.pool, &good).get(t, "plain.example.test", "", "/whoami")
		if r.err != nil || r.status != 200 || r.body != "no certificate" || r.asked {
			t.Errorf("plain domain: %d %q %v (asked %v)", r.status, r.body, r.err, r.asked)
		}
	})

	t.Run("host and SNI", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			sni, host string
			cert      *tls.Certificate
			status    int
		}{
			{"plain SNI, mtls Host", "plain.example.test", "mtls.example.test", nil, 421},
			{"mtls SNI, plain Host", "mtls.example.test", "plain.example.test", &good, 421},
			{"mtls SNI, execute-api Host", "mtls.example.test", apiID + ".execute-api.localhost", &good, 421},
			{"no SNI, mtls Host", "127.0.0.1", "mtls.example.test", nil, 421},
		} {
			t.Run(tc.name, func(t *testing.T) {
				roots := srvCA.pool
				if tc.sni == "127.0.0.1" {
					roots = readPool(t, in.Server.LocalCA.CertFile)
				}
				path := "/whoami"
				if strings.Contains(tc.host, ".execute-api.") {
					path = "/prod/whoami"
				}
				r := newMTLSClient(in, roots, tc.cert).get(t, tc.sni, tc.host, path)
				if r.err != nil || r.status != tc.status || !strings.Contains(r.body, `"message":"Misdirected Request"`) {
					t.Errorf("%d %q %v, want %d Misdirected Request", r.status, r.body, r.err, tc.status)
				}
			})
		}
		// Plain HTTP never reaches a mutual-TLS domain.
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.DataURL+"/whoami", nil)
		req.Host = "mtls.example.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(b), `"message":"Forbidden"`) {
			t.Errorf("plain HTTP to the mutual-TLS domain: %d %s", resp.StatusCode, b)
		}
		req.Host = "plain.example.test"
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("plain HTTP to the other domain: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
	})

	t.Run("access log", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(accessLog)
			var found, plain bool
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var e map[string]string
				if json.Unmarshal([]byte(line), &e) != nil {
					continue
				}
				if e["subject"] == goodX.Subject.String() && e["serial"] == serialColons(goodX) &&
					e["notAfter"] == goodX.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT") {
					found = true
				}
				if e["subject"] == "-" {
					plain = true
				}
			}
			if found && plain {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("access log has no line with the certificate and one without:\n%s", b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("lambda event", func(t *testing.T) {
		if !withLambda {
			t.Skip("python3 is not installed")
		}
		r := newMTLSClient(in, srvCA.pool, &good).get(t, "mtls.example.test", "", "/fn")
		var cc map[string]any
		if r.err != nil || r.status != 200 || json.Unmarshal([]byte(r.body), &cc) != nil {
			t.Fatalf("GET /fn through the mutual-TLS domain: %d %q %v", r.status, r.body, r.err)
		}
		validity, _ := cc["validity"].(map[string]any)
		if cc["subjectDN"] != goodX.Subject.String() || cc["issuerDN"] != goodX.Issuer.String() || cc["serialNumber"] != serialColons(goodX) ||
			!strings.HasPrefix(cc["clientCertPem"].(string), "-----BEGIN CERTIFICATE-----\n") ||
			validity["notBefore"] != goodX.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT") || validity["notAfter"] != goodX.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT") {
			t.Errorf("requestContext.identity.clientCert = %v", cc)
		}
		if r := newMTLSClient(in, srvCA.pool, nil).get(t, "plain.example.test", "", "/fn"); r.status != 200 || r.body != "null" {
			t.Errorf("GET /fn through the plain domain: %d %q %v, want null", r.status, r.body, r.err)
		}
	})

	t.Run("disableExecuteApiEndpoint", func(t *testing.T) {
		defaultURLs := []string{in.InvokeURL(apiID, "prod", "/whoami"), in.DataURL + "/_aws/execute-api/" + apiID + "/prod/whoami"}
		status := func(u string) (int, string) {
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		set := func(v string) {
			iaMust(c.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: &apiID,
				PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/disableExecuteApiEndpoint"), Value: aws.String(v)}}}))(t)
		}
		for _, u := range defaultURLs {
			if s, b := status(u); s != 200 {
				t.Errorf("%s before: %d %s", u, s, b)
			}
		}
		set("true")
		for _, u := range defaultURLs {
			if s, b := status(u); s != 403 || b != `{"message":"Forbidden"}` {
				t.Errorf("%s disabled: %d %s, want 403 Forbidden", u, s, b)
			}
		}
		if r := newMTLSClient(in, srvCA.pool, &good).get(t, "mtls.example.test", "", "/whoami"); r.status != 200 {
			t.Errorf("mutual-TLS domain with the default endpoint disabled: %d %q %v", r.status, r.body, r.err)
		}
		if r := newMTLSClient(in, srvCA.pool, nil).get(t, "plain.example.test", "", "/whoami"); r.status != 200 {
			t.Errorf("plain domain with the default endpoint disabled: %d %q %v", r.status, r.body, r.err)
		}
		set("false")
		for _, u := range defaultURLs {
			if s, b := status(u); s != 200 {
				t.Errorf("%s enabled again: %d %s", u, s, b)
			}
		}
	})

	t.Run("changes keep open connections", func(t *testing.T) {
		// One keep-alive connection opened before every change.
		open := newMTLSClient(in, srvCA.pool, &good)
		if r := open.get(t, "mtls.example.test", "", "/whoami"); r.status != 200 {
			t.Fatalf("first call: %d %q %v", r.status, r.body, r.err)
		}
		stillOpen := func(when string) {
			t.Helper()
			if r := open.get(t, "mtls.example.test", "", "/whoami"); r.status != 200 || !r.reused {
				t.Errorf("%s: the open connection got %d %q %v (reused %v)", when, r.status, r.body, r.err, r.reused)
			}
		}

		// The truststore now trusts the other CA only (the same file,
		// read again by an update naming it).
		if err := os.WriteFile(trustFile, otherCA.pem, 0o644); err != nil {
			t.Fatal(err)
		}
		u := iaMust(c.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("mtls.example.test"), PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/mutualTlsAuthentication/truststoreUri"), Value: aws.String(trustURI)}}}))(t)
		if u.MutualTlsAuthentication == nil || len(u.MutualTlsAuthentication.TruststoreWarnings) != 0 {
			t.Errorf("UpdateDomainName mutualTlsAuthentication: %+v", u.MutualTlsAuthentication)
		}
		stillOpen("after the truststore changed")
		if r := newMTLSClient(in, srvCA.pool, &good).get(t, "mtls.example.test", "", "/whoami"); r.err == nil {
			t.Errorf("new connection with a certificate the truststore no longer trusts: %d %q", r.status, r.body)
		}
		if r := newMTLSClient(in, srvCA.pool, &wrong).get(t, "mtls.example.test", "", "/whoami"); r.status != 200 {
			t.Errorf("new connection with the newly trusted CA: %d %q %v", r.status, r.body, r.err)
		}
		if err := os.WriteFile(trustFile, cliCA.pem, 0o644); err != nil {
			t.Fatal(err)
		}
		iaMust(c.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("mtls.example.test"), PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/mutualTlsAuthentication/truststoreUri"), Value: aws.String(trustURI)}}}))(t)

		// The certificate re-imported under the same ARN, from another CA.
		srvCA2 := newTestCA(t, "Server CA 2")
		cert2, key2 := srvCA2.leaf(t, "mtls.example.test", "plain.example.test")
		iaMust(am.ImportCertificate(ctx, &acm.ImportCertificateInput{CertificateArn: &arn, Certificate: cert2, PrivateKey: key2}))(t)
		stillOpen("after the certificate was re-imported")
		if r := newMTLSClient(in, srvCA2.pool, &good).get(t, "mtls.example.test", "", "/whoami"); r.status != 200 {
			t.Errorf("new connection after the re-import: %d %q %v", r.status, r.body, r.err)
		}

		// The domain switched to another certificate.
		srvCA3 := newTestCA(t, "Server CA 3")
		cert3, key3 := srvCA3.leaf(t, "mtls.example.test")
		arn3 := aws.ToString(iaMust(am.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: cert3, PrivateKey: key3}))(t).CertificateArn)
		iaMust(c.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("mtls.example.test"), PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/regionalCertificateArn"), Value: aws.String(arn3)}}}))(t)
		stillOpen("after the domain switched certificates")
		if r := newMTLSClient(in, srvCA3.pool, &good).get(t, "mtls.example.test", "", "/whoami"); r.status != 200 {
			t.Errorf("new connection after the switch: %d %q %v", r.status, r.body, r.err)
		}
		if r := newMTLSClient(in, srvCA2.pool, &good).get(t, "mtls.example.test", "", "/whoami"); r.err == nil {
			t.Error("new connection after the switch still got the old certificate")
		}

		_, err := c.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("mtls.example.test"), PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/securityPolicy"), Value: aws.String("TLS_1_0")}}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Mutual TLS authentication requires a security policy of TLS 1.2 or later; TLS_1_0 allows TLS 1.0")

		// Mutual TLS turned off (an empty truststoreUri, as on AWS): no
		// certificate asked, none passed on.
		u = iaMust(c.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("mtls.example.test"), PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/mutualTlsAuthentication/truststoreUri"), Value: aws.String("")}}}))(t)
		if u.MutualTlsAuthentication != nil {
			t.Errorf("mutualTlsAuthentication after turning it off: %+v", u.MutualTlsAuthentication)
		}
		if r := newMTLSClient(in, srvCA3.pool, nil).get(t, "mtls.example.test", "", "/whoami"); r.status != 200 || r.body != "no certificate" || r.asked {
			t.Errorf("after turning mutual TLS off: %d %q %v (asked %v)", r.status, r.body, r.err, r.asked)
		}
	})
}

// serialColons is a serial number as AWS writes it: hex bytes, colons.
func serialColons(c *x509.Certificate) string {
	var parts []string
	for _, b := range c.SerialNumber.Bytes() {
		parts = append(parts, fmt.Sprintf("%02x", b))
	}
	return strings.Join(parts, ":")
}

var s3Creds = aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

// An s3:// truststore is read through --aws-endpoint s3=URL with a SigV4
// signature, at the object version the domain names (moto_server stands
// for S3).
func TestMutualTLSS3Truststore(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	moto, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed; skipping the s3:// truststore test")
	}
	port := freePort(t)
	startServer(t, port, "", moto, "-H", "127.0.0.1", "-p", port)
	s3URL := "http://127.0.0.1:" + port
	s3do := func(method, path string, body []byte) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, s3URL+path, bytes.NewReader(body))
		sum := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		if err := iaSigner().SignHTTP(t.Context(), s3Creds, req, hex.EncodeToString(sum[:]), "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("S3 %s %s: %s", method, path, resp.Status)
		}
		return resp
	}
	cliCA, otherCA, srvCA := newTestCA(t, "Client CA"), newTestCA(t, "Other CA"), newTestCA(t, "Server CA")
	s3do("PUT", "/trust", nil)
	s3do("PUT", "/trust?versioning", []byte(`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>`))
	v1 := s3do("PUT", "/trust/ca/bundle.pem", cliCA.pem).Header.Get("X-Amz-Version-Id")
	v2 := s3do("PUT", "/trust/ca/bundle.pem", otherCA.pem).Header.Get("X-Amz-Version-Id")
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("object versions %q %q", v1, v2)
	}

	in := apigwtest.Start(t, func(c *server.Config) {
		c.TLSListen = "127.0.0.1:0"
		c.AWSEndpoints = map[string]string{"s3": s3URL}
		c.RemoteCredentials = credentials.StaticCredentialsProvider{Value: s3Creds}
	})
	ctx := t.Context()
	c := in.Client
	certPEM, keyPEM := srvCA.leaf(t, "s3.example.test")
	arn := aws.ToString(iaMust(acmClient(in, rootCreds).ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM}))(t).CertificateArn)

	_, err = c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("s3.example.test"), RegionalCertificateArn: &arn, EndpointConfiguration: regional(),
		MutualTlsAuthentication: &types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("s3://trust/nope.pem")}})
	if err == nil || !strings.Contains(err.Error(), "Unable to read the truststore at s3://trust/nope.pem: 404 Not Found (NoSuchKey)") {
		t.Errorf("missing object: %v", err)
	}
	d := iaMust(c.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("s3.example.test"), RegionalCertificateArn: &arn, EndpointConfiguration: regional(),
		MutualTlsAuthentication: &types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("s3://trust/ca/bundle.pem"), TruststoreVersion: aws.String(v1)}}))(t)
	if m := d.MutualTlsAuthentication; m == nil || aws.ToString(m.TruststoreVersion) != v1 || aws.ToString(m.TruststoreUri) != "s3://trust/ca/bundle.pem" {
		t.Errorf("mutualTlsAuthentication: %+v", d.MutualTlsAuthentication)
	}
	apiID := mtlsAPI(t, in, false)
	iaMust(c.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("s3.example.test"), RestApiId: &apiID, Stage: aws.String("prod")}))(t)

	good, _ := cliCA.clientLeaf(t, "caller")
	other, _ := otherCA.clientLeaf(t, "other")
	// Version 1 trusts the client CA, not the other one, though the
	// object's current version is the other CA's.
	if r := newMTLSClient(in, srvCA.pool, &good).get(t, "s3.example.test", "", "/whoami"); r.status != 200 {
		t.Errorf("version 1, client CA: %d %q %v", r.status, r.body, r.err)
	}
	if r := newMTLSClient(in, srvCA.pool, &other).get(t, "s3.example.test", "", "/whoami"); r.err == nil {
		t.Errorf("version 1, other CA: %d %q, want a refused handshake", r.status, r.body)
	}
	iaMust(c.UpdateDomainName(ctx, &apigateway.UpdateDomainNameInput{DomainName: aws.String("s3.example.test"), PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/mutualTlsAuthentication/truststoreVersion"), Value: aws.String(v2)}}}))(t)
	if r := newMTLSClient(in, srvCA.pool, &other).get(t, "s3.example.test", "", "/whoami"); r.status != 200 {
		t.Errorf("version 2, other CA: %d %q %v", r.status, r.body, r.err)
	}
	if r := newMTLSClient(in, srvCA.pool, &good).get(t, "s3.example.test", "", "/whoami"); r.err == nil {
		t.Errorf("version 2, client CA: %d %q, want a refused handshake", r.status, r.body)
	}
}

// The README's walk-through, run as written: openssl makes the client CA
// and certificate, the AWS CLI makes the mutual-TLS domain, curl calls it
// with and without the certificate.
func TestMutualTLSReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start: skipped with -short")
	}
	for _, tool := range []string{"aws", "openssl", "curl", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: skipping the README's mutual TLS walk-through", tool)
		}
	}
	in := apigwtest.Start(t, func(c *server.Config) { c.TLSListen = "127.0.0.1:0" })
	ctx := t.Context()
	dir := t.TempDir()
	srvCA := newTestCA(t, "Server CA")
	certPEM, keyPEM := srvCA.leaf(t, "api.example.test")
	if err := os.WriteFile(filepath.Join(dir, "server-ca.pem"), srvCA.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(iaMust(acmClient(in, rootCreds).ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM}))(t).CertificateArn)
	apiID := mtlsAPI(t, in, false)
	_, port, _ := strings.Cut(in.Server.TLSAddr(), ":")

	// The README's lines, with the listener's port for 8443.
	script := `set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=My client CA" -keyout ca.key -out truststore.pem
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=caller-1" \
    -keyout client.key -out client.csr
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA truststore.pem -CAkey ca.key -CAcreateserial -days 90 \
    -extfile client.ext -out client.pem

aws apigateway create-domain-name --endpoint-url $APIGW --domain-name api.example.test \
    --regional-certificate-arn $ARN --endpoint-configuration types=REGIONAL --security-policy TLS_1_2 \
    --mutual-tls-authentication truststoreUri=file://$PWD/truststore.pem
aws apigateway create-base-path-mapping --endpoint-url $APIGW --domain-name api.example.test \
    --rest-api-id $API --stage prod

curl -sS --resolve api.example.test:$PORT:127.0.0.1 --cacert server-ca.pem \
    --cert client.pem --key client.key https://api.example.test:$PORT/whoami > with.txt
if curl -sS --resolve api.example.test:$PORT:127.0.0.1 --cacert server-ca.pem \
    https://api.example.test:$PORT/whoami > without.txt 2> without.err; then
  echo "without a certificate: answered"; exit 1
fi
`
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "APIGW="+in.AdminURL, "ARN="+arn, "API="+apiID, "PORT="+port,
		"HOME="+home, "AWS_CONFIG_FILE="+home+"/none", "AWS_SHARED_CREDENTIALS_FILE="+home+"/none",
		"AWS_ACCESS_KEY_ID="+apigwtest.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+apigwtest.SecretAccessKey,
		"AWS_DEFAULT_REGION="+apigwtest.Region, "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "NO_PROXY=127.0.0.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"truststoreUri": "file://`+dir) {
		t.Errorf("create-domain-name answered no mutualTlsAuthentication:\n%s", out)
	}
	with, _ := os.ReadFile(filepath.Join(dir, "with.txt"))
	if !strings.HasPrefix(string(with), "subject=CN=caller-1|issuer=CN=My client CA|") {
		t.Errorf("curl with the certificate: %q", with)
	}
	// Without a certificate curl fails (the script checks its exit code);
	// under TLS 1.3 the refusal comes after curl's side of the handshake,
	// so its message varies ("certificate required", a reset).
	if b, _ := os.ReadFile(filepath.Join(dir, "without.txt")); len(b) != 0 {
		t.Errorf("curl without a certificate got an answer: %q", b)
	}
}

// Two nodes on one PostgreSQL store: the truststore node A read from a
// file serves on node B, which never reads the file (it is gone by then).
func TestPostgresMutualTLS(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	tlsOn := func(c *server.Config) { c.TLSListen = "127.0.0.1:0" }
	a := apigwtest.StartIn(t, dir, pgStore(url), tlsOn)
	b := apigwtest.StartIn(t, dir, pgStore(url), tlsOn)
	ctx := t.Context()
	srvCA, cliCA, otherCA := newTestCA(t, "Server CA"), newTestCA(t, "Client CA"), newTestCA(t, "Other CA")
	certPEM, keyPEM := srvCA.leaf(t, "cluster.example.test")
	arn := aws.ToString(iaMust(acmClient(a, rootCreds).ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM}))(t).CertificateArn)
	trustFile := writeFile(t, "truststore.pem", cliCA.pem)
	iaMust(a.Client.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String("cluster.example.test"), RegionalCertificateArn: &arn,
		EndpointConfiguration: regional(), MutualTlsAuthentication: &types.MutualTlsAuthenticationInput{TruststoreUri: aws.String("file://" + trustFile)}}))(t)
	apiID := mtlsAPI(t, a, false)
	iaMust(a.Client.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String("cluster.example.test"), RestApiId: &apiID, Stage: aws.String("prod")}))(t)
	if err := os.Remove(trustFile); err != nil {
		t.Fatal(err)
	}
	good, _ := cliCA.clientLeaf(t, "caller")
	other, _ := otherCA.clientLeaf(t, "other")
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := newMTLSClient(b, srvCA.pool, &good).get(t, "cluster.example.test", "", "/whoami")
		if r.status == 200 && strings.HasPrefix(r.body, "subject=CN=caller") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node B never served the mutual-TLS domain: %d %q %v", r.status, r.body, r.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, in := range []*apigwtest.Instance{a, b} {
		if r := newMTLSClient(in, srvCA.pool, &other).get(t, "cluster.example.test", "", "/whoami"); r.err == nil {
			t.Errorf("a node admitted a certificate of another CA: %d %q", r.status, r.body)
		}
		if r := newMTLSClient(in, srvCA.pool, nil).get(t, "cluster.example.test", "", "/whoami"); r.err == nil {
			t.Errorf("a node admitted a caller without a certificate: %d %q", r.status, r.body)
		}
	}
}
