package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
)

// pebbleValidity is the life of Pebble's certificates in the test, short
// enough that apigw renews them (in their last third) while it runs.
const pebbleValidity = 15 // seconds

// findTool is a Go program installed on PATH or in $(go env GOPATH)/bin.
func findTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s is not installed (go install github.com/letsencrypt/pebble/v2/cmd/%s@v2.10.3)", name, name)
	return ""
}

// serverFiles are a certificate for 127.0.0.1 and localhost from ca, written
// as PEM files in dir.
func (ca *testCA) serverFiles(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
	return certFile, keyFile
}

// startProcess runs a program until the test ends; its output is logged
// if the test fails.
func startProcess(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out := new(apigwtest.LogBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
}

// waitFor polls f until it is true or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pebble is a running Pebble ACME server whose validation authority
// resolves every name to 127.0.0.1 (pebble-challtestsrv's DNS) and
// validates on apigw's listeners.
type pebble struct {
	directory string
	https     *http.Client // trusts Pebble's HTTPS
	mgmt      string       // the management endpoint's URL
}

// startPebble runs pebble-challtestsrv and Pebble (serving HTTPS with a
// certificate of httpsCA), which validates HTTP-01 on httpPort and
// TLS-ALPN-01 on tlsPort of 127.0.0.1.
func startPebble(t *testing.T, httpsCA *testCA, port, httpPort, tlsPort string) *pebble {
	t.Helper()
	pebbleBin, challBin := findTool(t, "pebble"), findTool(t, "pebble-challtestsrv")
	dir := t.TempDir()
	certFile, keyFile := httpsCA.serverFiles(t, dir)

	dnsPort := freePort(t)
	startProcess(t, nil, challBin, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", "127.0.0.1:"+dnsPort, "-management", "127.0.0.1:"+freePort(t),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")

	mgmtPort := freePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  "127.0.0.1:" + port,
		"managementListenAddress":        "127.0.0.1:" + mgmtPort,
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       atoi(t, httpPort),
		"tlsPort":                        atoi(t, tlsPort),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"domainBlocklist":                []string{"blocked.example.test"},
		"retryAfter":                     map[string]int{"authz": 0, "order": 0},
		"profiles": map[string]any{"default": map[string]any{
			"description": "short-lived, so that the test sees a renewal", "validityPeriod": pebbleValidity}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	os.WriteFile(cfgFile, b, 0o600)
	// The validation authority really validates (no PEBBLE_VA_ALWAYS_VALID),
	// at once, and every order validates again (no reused authorizations).
	startProcess(t, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		pebbleBin, "-config", cfgFile, "-dnsserver", "127.0.0.1:"+dnsPort)

	p := &pebble{directory: "https://127.0.0.1:" + port + "/dir",
		https: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: httpsCA.pool}}},
		mgmt:  "https://127.0.0.1:" + mgmtPort}
	waitFor(t, 20*time.Second, "Pebble's directory", func() bool {
		resp, err := p.https.Get(p.directory)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

// root is Pebble's issuing root (management endpoint /roots/0).
func (p *pebble) root(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := p.https.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("Pebble's /roots/0: no PEM certificate: %s", b)
	}
	return pool
}

// waitIssued polls DescribeCertificate until the certificate leaves
// PENDING_VALIDATION, and wants ISSUED.
func waitIssued(t *testing.T, am *acm.Client, arn string) *acmtypes.CertificateDetail {
	t.Helper()
	var d *acmtypes.CertificateDetail
	waitFor(t, 30*time.Second, "certificate "+arn+" to be issued", func() bool {
		out, err := am.DescribeCertificate(t.Context(), &acm.DescribeCertificateInput{CertificateArn: &arn})
		if err != nil {
			t.Fatal(err)
		}
		d = out.Certificate
		return d.Status != acmtypes.CertificateStatusPendingValidation
	})
	if d.Status != acmtypes.CertificateStatusIssued {
		t.Fatalf("certificate %s: status %s, failure reason %s", arn, d.Status, d.FailureReason)
	}
	return d
}

// servedLeaf is the certificate the TLS listener serves for host, verified
// against roots (the handshake fails otherwise).
func servedLeaf(t *testing.T, in *apigwtest.Instance, roots *x509.CertPool, host string) (*x509.Certificate, error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", in.Server.TLSAddr(),
		&tls.Config{ServerName: host, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// RequestCertificate against a real ACME server (Pebble) whose validation
// authority reaches apigw's own listeners: one certificate validated by
// HTTP-01 on the data listener, one by TLS-ALPN-01 on the TLS listener;
// each is served by SNI on a custom domain, verified against Pebble's
// root, and renewed (a new serial, served without a restart).
func TestRequestCertificateACME(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Pebble")
	}
	findTool(t, "pebble")
	findTool(t, "pebble-challtestsrv")
	// apigw trusts Pebble's HTTPS through --acme-ca-file, read at start.
	httpsCA := newTestCA(t, "Pebble HTTPS test CA")
	caFile := filepath.Join(t.TempDir(), "acme-ca.pem")
	os.WriteFile(caFile, httpsCA.pem, 0o600)
	pebblePort := freePort(t)
	logs := new(apigwtest.LogBuffer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("apigw's log:\n%s", logs)
		}
	})
	in := apigwtest.Start(t, func(c *server.Config) {
		c.Log = slog.New(slog.NewTextHandler(logs, nil))
		c.TLSListen = "127.0.0.1:0"
		c.ACMEDirectory = "https://127.0.0.1:" + pebblePort + "/dir"
		c.ACMECAFile = caFile
		c.ACMEEmail = "ops@example.test"
	})
	portOf := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	p := startPebble(t, httpsCA, pebblePort, portOf(in.Server.DataAddr()), portOf(in.Server.TLSAddr()))
	ctx := t.Context()
	am := acmClient(in, rootCreds)
	apiID := echoAPI(t, in, "A", "NONE")
	roots := p.root(t)

	cases := []struct {
		challenge, method string
		names             []string
	}{
		{"http-01", "HTTP", []string{"acme-http.example.test", "www.acme-http.example.test"}},
		{"tls-alpn-01", "DNS", []string{"acme-alpn.example.test"}},
	}
	arns := make([]string, len(cases))
	for i, tc := range cases {
		out, err := am.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: &tc.names[0],
			SubjectAlternativeNames: tc.names[1:], ValidationMethod: acmtypes.ValidationMethod(tc.method),
			KeyAlgorithm: acmtypes.KeyAlgorithmEcPrime256v1, Tags: []acmtypes.Tag{{Key: aws.String("case"), Value: aws.String(tc.challenge)}}})
		if err != nil {
			t.Fatal(err)
		}
		arns[i] = aws.ToString(out.CertificateArn)
		d := iaMust(am.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: out.CertificateArn}))(t).Certificate
		if d.Type != acmtypes.CertificateTypeAmazonIssued || d.Status != acmtypes.CertificateStatusPendingValidation && d.Status != acmtypes.CertificateStatusIssued {
			t.Errorf("%s: just requested: type %s status %s", tc.challenge, d.Type, d.Status)
		}
	}
	t.Run("idempotency token", func(t *testing.T) {
		in := &acm.RequestCertificateInput{DomainName: aws.String("blocked.example.test"), IdempotencyToken: aws.String("tok1")}
		a, b := iaMust(am.RequestCertificate(ctx, in))(t), iaMust(am.RequestCertificate(ctx, in))(t)
		if aws.ToString(a.CertificateArn) != aws.ToString(b.CertificateArn) {
			t.Errorf("same token, two certificates: %s %s", *a.CertificateArn, *b.CertificateArn)
		}
		// Pebble refuses the name: FAILED, with ACM's reason.
		var d *acmtypes.CertificateDetail
		waitFor(t, 30*time.Second, "the blocked name's certificate to fail", func() bool {
			d = iaMust(am.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: a.CertificateArn}))(t).Certificate
			return d.Status != acmtypes.CertificateStatusPendingValidation
		})
		if d.Status != acmtypes.CertificateStatusFailed || d.FailureReason != acmtypes.FailureReasonDomainNotAllowed {
			t.Errorf("blocked name: status %s reason %s", d.Status, d.FailureReason)
		}
		_, err := am.GetCertificate(ctx, &acm.GetCertificateInput{CertificateArn: a.CertificateArn})
		if err == nil {
			t.Error("GetCertificate of a failed certificate answered")
		}
	})

	serials := make([]string, len(cases))
	for i, tc := range cases {
		t.Run(tc.challenge, func(t *testing.T) {
			d := waitIssued(t, am, arns[i])
			if d.Issuer == nil || *d.Issuer == "" || d.NotBefore == nil || d.NotAfter == nil ||
				d.NotAfter.Sub(*d.NotBefore) > pebbleValidity*time.Second || d.RenewalEligibility != acmtypes.RenewalEligibilityEligible ||
				d.KeyAlgorithm != acmtypes.KeyAlgorithmEcPrime256v1 || d.Serial == nil {
				t.Errorf("issued certificate: %+v", d)
			}
			if len(d.DomainValidationOptions) != len(tc.names) {
				t.Fatalf("DomainValidationOptions = %+v", d.DomainValidationOptions)
			}
			for j, v := range d.DomainValidationOptions {
				if *v.DomainName != tc.names[j] || v.ValidationStatus != acmtypes.DomainStatusSuccess || string(v.ValidationMethod) != tc.method {
					t.Errorf("DomainValidationOptions[%d] = %+v", j, v)
				}
			}
			// GetCertificate: the leaf and Pebble's intermediate, which
			// lead to Pebble's root.
			g := iaMust(am.GetCertificate(ctx, &acm.GetCertificateInput{CertificateArn: &arns[i]}))(t)
			leaf := parsePEMCert(t, aws.ToString(g.Certificate))
			inter := x509.NewCertPool()
			if !inter.AppendCertsFromPEM([]byte(aws.ToString(g.CertificateChain))) {
				t.Fatalf("no chain: %q", aws.ToString(g.CertificateChain))
			}
			for _, n := range tc.names {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: n, Roots: roots, Intermediates: inter}); err != nil {
					t.Errorf("GetCertificate's chain for %s: %v", n, err)
				}
			}

			host := tc.names[0]
			iaMust(in.Client.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: &host, RegionalCertificateArn: &arns[i],
				EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}}}))(t)
			iaMust(in.Client.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: &host, RestApiId: &apiID, Stage: aws.String("prod")}))(t)
			var served *x509.Certificate
			waitFor(t, 10*time.Second, "the TLS listener to serve "+host, func() bool {
				c, err := servedLeaf(t, in, roots, host)
				served = c
				return err == nil
			})
			if served.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
				t.Errorf("served serial %x, issued %x", served.SerialNumber, leaf.SerialNumber)
			}
			status, body, _ := tlsGet(t, in, roots, host, "/orders", nil)
			if status != 200 || !strings.HasPrefix(body, "A "+host+" ") {
				t.Errorf("GET https://%s/orders = %d %q", host, status, body)
			}
			if _, err := am.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: &arns[i]}); !errorsAs[*acmtypes.ResourceInUseException](err) {
				t.Errorf("DeleteCertificate of a certificate in use: %v", err)
			}
			serials[i] = leaf.SerialNumber.String()
		})
	}
	if t.Failed() {
		return
	}

	// Pebble's certificates live 15 s; apigw renews them in their last
	// third, and the listener serves the new one without a restart.
	for i, tc := range cases {
		t.Run("renewal "+tc.challenge, func(t *testing.T) {
			host := tc.names[0]
			var served *x509.Certificate
			waitFor(t, 40*time.Second, "a renewed certificate for "+host, func() bool {
				c, err := servedLeaf(t, in, roots, host)
				if err != nil {
					t.Fatalf("handshake for %s: %v", host, err)
				}
				served = c
				return c.SerialNumber.String() != serials[i]
			})
			d := iaMust(am.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: &arns[i]}))(t).Certificate
			if d.RenewalSummary == nil || d.RenewalSummary.RenewalStatus != acmtypes.RenewalStatusSuccess && d.RenewalSummary.RenewalStatus != acmtypes.RenewalStatusPendingAutoRenewal {
				t.Errorf("RenewalSummary = %+v", d.RenewalSummary)
			}
			if d.Status != acmtypes.CertificateStatusIssued {
				t.Errorf("status after renewal: %s", d.Status)
			}
			status, body, _ := tlsGet(t, in, roots, host, "/orders", nil)
			if status != 200 || !strings.HasPrefix(body, "A "+host+" ") {
				t.Errorf("after renewal: GET https://%s/orders = %d %q", host, status, body)
			}
			_ = served
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func errorsAs[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

func parsePEMCert(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("not PEM: %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRequestCertificateACMECluster: two nodes on one PostgreSQL store,
// node B in a process of its own (certmagic keeps the challenges it
// presents in its process's memory too: a node in the test's process
// would find them there). Node A is asked for the certificates and
// obtains them; the CA validates on node B's listeners, which answers from
// the challenges A put in the shared store, and B serves the certificates.
func TestRequestCertificateACMECluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Pebble")
	}
	findTool(t, "pebble")
	findTool(t, "pebble-challtestsrv")
	url := pgtest.URL(t)
	httpsCA := newTestCA(t, "Pebble HTTPS test CA")
	caFile := filepath.Join(t.TempDir(), "acme-ca.pem")
	os.WriteFile(caFile, httpsCA.pem, 0o600)
	pebblePort := freePort(t)
	directory := "https://127.0.0.1:" + pebblePort + "/dir"
	logs := new(apigwtest.LogBuffer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node A's log:\n%s", logs)
		}
	})
	a := apigwtest.Start(t, func(c *server.Config) {
		c.Store = url
		c.TLSListen = "127.0.0.1:0"
		c.ACMEDirectory, c.ACMECAFile = directory, caFile
		c.Log = slog.New(slog.NewTextHandler(logs, nil))
	})

	bin := filepath.Join(t.TempDir(), "apigw")
	build := exec.Command("go", "build", "-o", bin, "./cmd/apigw")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bData, bTLS, bAdmin := freePort(t), freePort(t), freePort(t)
	startProcess(t, []string{"APIGW_ROOT_ACCESS_KEY_ID=" + apigwtest.AccessKeyID, "APIGW_ROOT_SECRET_ACCESS_KEY=" + apigwtest.SecretAccessKey},
		bin, "serve", "--store", url, "--secret-key-file", filepath.Join(a.DataDir, "master.key"), "--data-dir", t.TempDir(),
		"--listen", "127.0.0.1:"+bData, "--tls-listen", "127.0.0.1:"+bTLS, "--admin-listen", "127.0.0.1:"+bAdmin,
		"--acme-directory", directory, "--acme-ca-file", caFile)
	waitFor(t, 20*time.Second, "node B", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + bAdmin + "/_apigw/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})

	p := startPebble(t, httpsCA, pebblePort, bData, bTLS)
	ctx := t.Context()
	am := acmClient(a, rootCreds)
	roots := p.root(t)
	apiID := echoAPI(t, a, "A", "NONE")
	bClient := httpsClient(roots, "127.0.0.1:"+bTLS, nil)
	for _, tc := range []struct{ host, method string }{{"cluster-http.example.test", "HTTP"}, {"cluster-alpn.example.test", "DNS"}} {
		t.Run(tc.method, func(t *testing.T) {
			out := iaMust(am.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String(tc.host),
				ValidationMethod: acmtypes.ValidationMethod(tc.method)}))(t)
			waitIssued(t, am, aws.ToString(out.CertificateArn))
			// (A logs it just after saving it.)
			waitFor(t, 5*time.Second, "node A to have obtained "+aws.ToString(out.CertificateArn)+" itself", func() bool {
				return strings.Contains(logs.String(), `msg="acme: certificate obtained" certificate=`+aws.ToString(out.CertificateArn))
			})
			iaMust(a.Client.CreateDomainName(ctx, &apigateway.CreateDomainNameInput{DomainName: aws.String(tc.host), RegionalCertificateArn: out.CertificateArn,
				EndpointConfiguration: &types.EndpointConfiguration{Types: []types.EndpointType{types.EndpointTypeRegional}}}))(t)
			iaMust(a.Client.CreateBasePathMapping(ctx, &apigateway.CreateBasePathMappingInput{DomainName: aws.String(tc.host), RestApiId: &apiID, Stage: aws.String("prod")}))(t)
			// B serves the certificate (verified against Pebble's root) and
			// routes the domain once it has seen both changes.
			var status int
			var body string
			waitFor(t, 10*time.Second, "node B to serve "+tc.host, func() bool {
				resp, err := bClient.Get("https://" + tc.host + "/x")
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				status, body = resp.StatusCode, string(b)
				return status == 200
			})
			if !strings.HasPrefix(body, "A "+tc.host+" ") {
				t.Errorf("GET https://%s/x through node B = %d %q", tc.host, status, body)
			}
		})
	}
}
