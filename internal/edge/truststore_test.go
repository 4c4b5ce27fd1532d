package edge

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// ca is a test certificate authority.
type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

func newCA(t testing.TB, cn string, key crypto.Signer, sig x509.SignatureAlgorithm, notBefore, notAfter time.Time) *ca {
	t.Helper()
	if key == nil {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x0a0b), Subject: pkix.Name{CommonName: cn}, NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SignatureAlgorithm: sig}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func goodCA(t testing.TB, cn string) *ca {
	return newCA(t, cn, nil, 0, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// client is a certificate the CA signs for cn, with the given usages.
func (a *ca) client(t testing.TB, cn string, eku ...x509.ExtKeyUsage) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if eku == nil {
		eku = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, c
}

func TestParseTruststore(t *testing.T) {
	now := time.Now()
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	good := goodCA(t, "Good CA")
	expired := newCA(t, "Expired CA", nil, 0, now.Add(-2*time.Hour), now.Add(-time.Hour))
	future := newCA(t, "Future CA", nil, 0, now.Add(time.Hour), now.Add(2*time.Hour))
	weakKey := newCA(t, "Weak CA", rsa1024, x509.SHA256WithRSA, now.Add(-time.Hour), now.Add(time.Hour))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	fine384 := newCA(t, "P384 CA", p384, 0, now.Add(-time.Hour), now.Add(time.Hour))
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	odd := newCA(t, "P521 CA", p521, 0, now.Add(-time.Hour), now.Add(time.Hour))

	bundle := bytes.Join([][]byte{good.pem, expired.pem, future.pem, weakKey.pem, fine384.pem, odd.pem,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("ignored")})}, []byte("\n"))
	ts, warnings, err := ParseTruststore(bundle, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.Certificates) != 2 || ts.Certificates[0].Subject.CommonName != "Good CA" || ts.Certificates[1].Subject.CommonName != "P384 CA" {
		t.Errorf("certificates kept: %d", len(ts.Certificates))
	}
	want := []string{
		`Certificate 2 in the truststore (subject "CN=Expired CA", serial 0a:0b) has expired (`,
		`Certificate 3 in the truststore (subject "CN=Future CA", serial 0a:0b) is not valid yet (`,
		`Certificate 4 in the truststore (subject "CN=Weak CA", serial 0a:0b) has a weak key (RSA 1024 bits; at least 2048 are required)`,
		`Certificate 6 in the truststore (subject "CN=P521 CA", serial 0a:0b) has an unsupported key (ECDSA P-521; P-256 or P-384 are supported)`,
		`Certificate 7 in the truststore could not be parsed: `,
	}
	if len(warnings) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(warnings, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(warnings[i], w) {
			t.Errorf("warning %d = %q, want %q…", i, warnings[i], w)
		}
	}

	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "Invalid truststore: it holds no PEM-encoded certificate"},
		{"text", "hello", "Invalid truststore: it holds no PEM-encoded certificate"},
		{"only expired", string(expired.pem), "Invalid truststore: it holds no valid certificate (Certificate 1 in the truststore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseTruststore([]byte(tc.in), now)
			var te *TruststoreError
			if !errors.As(err, &te) || !strings.HasPrefix(te.Message, tc.want) {
				t.Errorf("ParseTruststore = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestVerifyClient(t *testing.T) {
	root := goodCA(t, "Root")
	other := goodCA(t, "Other")
	ts, _, err := ParseTruststore(root.pem, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// An intermediate the client sends with its certificate.
	ikey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	itmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Intermediate"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	ider, _ := x509.CreateCertificate(rand.Reader, itmpl, root.cert, &ikey.PublicKey, root.key)
	icert, _ := x509.ParseCertificate(ider)
	inter := &ca{cert: icert, key: ikey}

	_, leaf := root.client(t, "direct")
	_, viaInter := inter.client(t, "via intermediate")
	_, server := root.client(t, "server only", x509.ExtKeyUsageServerAuth)
	_, stranger := other.client(t, "stranger")
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
		ok    bool
	}{
		{"signed by the root", []*x509.Certificate{leaf}, true},
		{"through an intermediate", []*x509.Certificate{viaInter, icert}, true},
		{"intermediate missing", []*x509.Certificate{viaInter}, false},
		{"server-only usage", []*x509.Certificate{server}, false},
		{"another CA", []*x509.Certificate{stranger}, false},
		{"the root itself (self-signed)", []*x509.Certificate{root.cert}, false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ts.VerifyClient(tc.chain, time.Now()); (err == nil) != tc.ok {
				t.Errorf("VerifyClient = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// A mutual-TLS name asks for a certificate its truststore verifies, other
// names ask for none; a truststore change applies to resumed sessions too,
// and a session of one mutual-TLS name does not resume on another.
func TestCertificatesMutualTLS(t *testing.T) {
	lca := testCA(t)
	roots := x509.NewCertPool()
	roots.AddCert(lca.Cert)
	certs := &Certificates{}
	srvA, _ := lca.Issue([]string{"a.test"}, time.Now())
	srvB, _ := lca.Issue([]string{"b.test"}, time.Now())
	srvP, _ := lca.Issue([]string{"plain.test"}, time.Now())
	one, two := goodCA(t, "One"), goodCA(t, "Two")
	tsOne, _, _ := ParseTruststore(one.pem, time.Now())
	tsTwo, _, _ := ParseTruststore(two.pem, time.Now())
	put := func(name string, c *tls.Certificate, ts *Truststore) {
		t.Helper()
		if err := certs.Put(name, Certificate{Cert: c, Truststore: ts}); err != nil {
			t.Fatal(err)
		}
	}
	put("a.test", srvA, tsOne)
	put("b.test", srvB, tsTwo)
	put("plain.test", srvP, nil)
	addr := serve(t, certs)
	cliOne, _ := one.client(t, "one")
	cliTwo, _ := two.client(t, "two")
	cache := tls.NewLRUClientSessionCache(8)

	// call handshakes and echoes one byte, which in TLS 1.3 is where a
	// refused client certificate shows. It reports whether the session was
	// resumed and whether a certificate was asked for.
	call := func(name string, cert *tls.Certificate) (resumed, asked bool, err error) {
		cfg := &tls.Config{ServerName: name, RootCAs: roots, ClientSessionCache: cache,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				asked = true
				if cert == nil {
					return &tls.Certificate{}, nil
				}
				return cert, nil
			}}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
		if err != nil {
			return false, asked, err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte{1}); err != nil {
			return false, asked, err
		}
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			return false, asked, err
		}
		return c.ConnectionState().DidResume, asked, nil
	}
	if _, asked, err := call("a.test", nil); err == nil || !asked {
		t.Errorf("a.test without a certificate: %v (asked %v)", err, asked)
	}
	if _, _, err := call("a.test", &cliTwo); err == nil {
		t.Error("a.test accepted a certificate of another CA")
	}
	if _, asked, err := call("plain.test", nil); err != nil || asked {
		t.Errorf("plain.test: %v (asked %v)", err, asked)
	}
	if _, _, err := call("a.test", &cliOne); err != nil {
		t.Fatalf("a.test with its CA's certificate: %v", err)
	}
	if resumed, _, err := call("a.test", &cliOne); err != nil || !resumed {
		t.Fatalf("a.test again: resumed %v, %v (the rest of the test needs resumption)", resumed, err)
	}
	// Once a.test trusts Two only, One's session (still in the client's
	// cache) neither resumes nor passes, and Two's certificate gets in
	// with a full handshake although the client offers the old ticket.
	put("a.test", srvA, tsTwo)
	if resumed, _, err := call("a.test", &cliOne); err == nil {
		t.Errorf("a.test resumed (%v) a session whose certificate its new truststore does not trust", resumed)
	}
	if resumed, asked, err := call("a.test", &cliTwo); err != nil || resumed || !asked {
		t.Errorf("a.test with the newly trusted CA: resumed %v, asked %v, %v", resumed, asked, err)
	}
	if resumed, _, err := call("a.test", &cliTwo); err != nil || !resumed {
		t.Errorf("a.test's new session: resumed %v, %v", resumed, err)
	}
}

func TestFetchTruststore(t *testing.T) {
	good := goodCA(t, "Good")
	dir := t.TempDir()
	file := filepath.Join(dir, "ts.pem")
	os.WriteFile(file, good.pem, 0o644)
	big := filepath.Join(dir, "big.pem")
	os.WriteFile(big, bytes.Repeat([]byte("x"), MaxTruststoreBytes+1), 0o644)

	var seen *http.Request
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		switch r.URL.Path {
		case "/ts.pem", "/bucket/ca/ts.pem":
			w.Write(good.pem)
		case "/big.pem":
			w.Write(bytes.Repeat([]byte("x"), MaxTruststoreBytes+10))
		default:
			w.WriteHeader(404)
			io.WriteString(w, `<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>`)
		}
	}))
	t.Cleanup(srv.Close)
	creds := credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}}
	f := &TruststoreFetcher{S3Endpoint: srv.URL, Region: "eu-west-3", Credentials: creds, Client: srv.Client()}
	for _, tc := range []struct {
		uri, version, err string
	}{
		{"file://" + file, "", ""},
		{"file://" + filepath.Join(dir, "nope.pem"), "", "Unable to read the truststore at file://" + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"file://" + big, "", "is larger than 4194304 bytes"},
		{"file://relative/ts.pem", "", "a file:// URI names an absolute path"},
		{srv.URL + "/ts.pem", "", ""},
		{srv.URL + "/big.pem", "", "is larger than"},
		{srv.URL + "/missing.pem", "", ": 404 Not Found (NoSuchKey)"},
		{"s3://bucket/ca/ts.pem", "v1", ""},
		{"s3://bucket/other.pem", "", ": 404 Not Found (NoSuchKey)"},
		{"s3://bucket", "", "expected s3://bucket-name/key-name"},
		{"http://example.test/ts.pem", "", "Invalid truststore URI"},
		{"%zz", "", "Invalid truststore URI"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			b, err := f.Fetch(t.Context(), tc.uri, tc.version)
			if tc.err == "" {
				if err != nil || !bytes.Equal(b, good.pem) {
					t.Fatalf("Fetch = %d bytes, %v", len(b), err)
				}
				return
			}
			var te *TruststoreError
			if !errors.As(err, &te) || !strings.Contains(te.Message, tc.err) {
				t.Errorf("Fetch = %v, want %q", err, tc.err)
			}
		})
	}
	// The S3 request is path-style at the endpoint, at the version asked,
	// signed for s3 in the region.
	if _, err := f.Fetch(t.Context(), "s3://bucket/ca/ts.pem", "v 1"); err != nil {
		t.Fatal(err)
	}
	if seen.URL.Path != "/bucket/ca/ts.pem" || seen.URL.Query().Get("versionId") != "v 1" ||
		!strings.HasPrefix(seen.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") ||
		!strings.Contains(seen.Header.Get("Authorization"), "/eu-west-3/s3/aws4_request") || seen.Header.Get("X-Amz-Content-Sha256") != emptySHA256 {
		t.Errorf("S3 request: %s %v", seen.URL, seen.Header)
	}
}

func FuzzParseTruststore(f *testing.F) {
	good := goodCA(f, "Fuzz CA")
	f.Add(good.pem)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, warnings, err := ParseTruststore(b, time.Now())
		if err == nil && (ts == nil || len(ts.Certificates) == 0) {
			t.Fatalf("no error and no certificate (%d warnings)", len(warnings))
		}
		if err != nil && ts != nil {
			t.Fatal("a truststore with an error")
		}
	})
}
