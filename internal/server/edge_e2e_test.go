package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/edge"
	"github.com/apigw/apigw/internal/server"
)

// httpsClient trusts roots and dials addr whatever the URL's host, so
// that {apiId}.execute-api.localhost needs no resolver.
func httpsClient(roots *x509.CertPool, addr string, cert *tls.Certificate) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	cfg := &tls.Config{RootCAs: roots}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: true,
	}}
}

func readPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", file)
	}
	return pool
}

// The TLS listener out of the box: a certificate from the local CA made
// once in the data dir, trusted through its file; HTTP/2 by ALPN; TLS 1.1
// refused; backends told the call came over HTTPS.
func TestTLSListenerLocalCA(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.TLSListen = "127.0.0.1:0" })
	caFile := filepath.Join(in.DataDir, "local-ca", "root.crt")
	if in.Server.LocalCA == nil || in.Server.LocalCA.CertFile != caFile {
		t.Fatalf("local CA = %+v, want its certificate in %s", in.Server.LocalCA, caFile)
	}
	fi, err := os.Stat(filepath.Join(in.DataDir, "local-ca", "root.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key: %v, %v", fi, err)
	}
	backend := newDPBackend(t, "b", nil)
	a := newDPAPI(t, in, "tls")
	a.proxy("/hello", "GET", backend.URL+"/hi", nil)
	a.deploy("s", nil)

	addr := in.Server.TLSAddr()
	client := httpsClient(readPool(t, caFile), addr, nil)
	_, port, _ := net.SplitHostPort(addr)
	for _, u := range []string{
		"https://" + a.id + ".execute-api.localhost:" + port + "/s/hello",
		"https://127.0.0.1:" + port + "/_aws/execute-api/" + a.id + "/s/hello",
	} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
			t.Errorf("GET %s = %d over %s, want 200 over HTTP/2", u, resp.StatusCode, resp.Proto)
		}
		if got := backend.last(t).Header.Get("X-Forwarded-Proto"); got != "https" {
			t.Errorf("backend saw X-Forwarded-Proto %q", got)
		}
	}
	// HTTP/1.1 when the client offers only that.
	h1 := httpsClient(readPool(t, caFile), addr, nil)
	h1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	h1.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"http/1.1"}
	resp, err := h1.Get("https://" + a.id + ".execute-api.localhost:" + port + "/s/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Proto != "HTTP/1.1" || resp.StatusCode != 200 {
		t.Errorf("HTTP/1.1 client: %d over %s", resp.StatusCode, resp.Proto)
	}

	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: readPool(t, caFile), ServerName: "localhost",
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded (default policy TLS_1_2)")
	}

	// The CA is made once: a restart serves a leaf of the same CA.
	before, _ := os.ReadFile(caFile)
	in = in.Restart(t)
	after, _ := os.ReadFile(caFile)
	if !bytes.Equal(before, after) {
		t.Error("the local CA was made again on restart")
	}
	c, err := tls.Dial("tcp", in.Server.TLSAddr(), &tls.Config{RootCAs: readPool(t, caFile), ServerName: "x.execute-api.localhost"})
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	c.Close()
}

// selfSigned makes a certificate for names, as a user's own.
func selfSigned(t *testing.T, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}

// A certificate made in the test, given with --tls-cert/--tls-key, and one
// more put in the certificate set while apigw runs: SNI picks each.
func TestTLSListenerOwnCertificate(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t, "gw.example.test")
	os.WriteFile(filepath.Join(dir, "gw.crt"), certPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "gw.key"), keyPEM, 0o600)
	in := apigwtest.Start(t, func(c *server.Config) {
		c.TLSListen = "127.0.0.1:0"
		c.TLSCertFile, c.TLSKeyFile = filepath.Join(dir, "gw.crt"), filepath.Join(dir, "gw.key")
	})
	if in.Server.LocalCA != nil {
		t.Error("a local CA was made though a certificate was given")
	}
	a := newDPAPI(t, in, "own")
	a.mock("/m", "GET", `{"ok":true}`)
	a.deploy("s", nil)
	addr := in.Server.TLSAddr()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	resp, err := httpsClient(pool, addr, nil).Get("https://gw.example.test/_aws/execute-api/" + a.id + "/s/m")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"ok":true}` {
		t.Fatalf("GET = %d %s", resp.StatusCode, body)
	}

	// Another domain, added without a restart.
	otherPEM, otherKey := selfSigned(t, "api.other.test")
	other, err := tls.X509KeyPair(otherPEM, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Server.Certificates.Put("api.other.test", edge.Certificate{Cert: &other, Policy: "SecurityPolicy_TLS13_1_3_2025_09"}); err != nil {
		t.Fatal(err)
	}
	otherPool := x509.NewCertPool()
	otherPool.AppendCertsFromPEM(otherPEM)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: otherPool, ServerName: "api.other.test"})
	if err != nil {
		t.Fatalf("api.other.test: %v", err)
	}
	if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("api.other.test negotiated %x, want TLS 1.3", v)
	}
	c.Close()
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: otherPool, ServerName: "api.other.test", MaxVersion: tls.VersionTLS12}); err == nil {
		c.Close()
		t.Error("TLS 1.2 accepted under SecurityPolicy_TLS13_1_3_2025_09")
	}
	// The first name still gets its own certificate.
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "gw.example.test"}); err != nil {
		t.Errorf("gw.example.test after the change: %v", err)
	} else {
		c.Close()
	}
}

// The client certificate operations through aws-sdk-go-v2, with AWS's
// shapes and texts.
func TestClientCertificatesSDK(t *testing.T) {
	in := apigwtest.Start(t)
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	gen, err := in.Client.GenerateClientCertificate(ctx, &apigateway.GenerateClientCertificateInput{
		Description: aws.String("for the backend"), Tags: map[string]string{"team": "edge"}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(gen.ClientCertificateId)
	if len(id) != 6 || aws.ToString(gen.Description) != "for the backend" || gen.Tags["team"] != "edge" {
		t.Errorf("GenerateClientCertificate = %+v", gen)
	}
	if gen.CreatedDate.Before(before) || !gen.ExpirationDate.Equal(gen.CreatedDate.Add(365*24*time.Hour)) {
		t.Errorf("created %v, expires %v: want a year", gen.CreatedDate, gen.ExpirationDate)
	}
	blk, _ := pem.Decode([]byte(aws.ToString(gen.PemEncodedCertificate)))
	if blk == nil {
		t.Fatalf("pemEncodedCertificate = %q", aws.ToString(gen.PemEncodedCertificate))
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || cert.Subject.CommonName != "ApiGateway" || cert.Issuer.String() != cert.Subject.String() {
		t.Errorf("certificate: %v, %v", cert.Subject, err)
	}
	got, err := in.Client.GetClientCertificate(ctx, &apigateway.GetClientCertificateInput{ClientCertificateId: aws.String(id)})
	if err != nil || aws.ToString(got.PemEncodedCertificate) != aws.ToString(gen.PemEncodedCertificate) {
		t.Fatalf("GetClientCertificate = %+v, %v", got, err)
	}
	// No private key in any answer, nor in the store in the clear.
	raw := doRawGet(t, in, "/clientcertificates/"+id)
	if strings.Contains(raw, "PRIVATE") || strings.Contains(raw, "sealed") {
		t.Errorf("GetClientCertificate shows the key: %s", raw)
	}

	for i := 0; i < 2; i++ {
		if _, err := in.Client.GenerateClientCertificate(ctx, &apigateway.GenerateClientCertificateInput{}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	var pos *string
	for pages := 0; ; pages++ {
		out, err := in.Client.GetClientCertificates(ctx, &apigateway.GetClientCertificatesInput{Limit: aws.Int32(2), Position: pos})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range out.Items {
			seen[aws.ToString(c.ClientCertificateId)] = true
		}
		if out.Position == nil {
			if pages != 1 {
				t.Errorf("3 certificates in %d pages of 2", pages+1)
			}
			break
		}
		pos = out.Position
	}
	if len(seen) != 3 || !seen[id] {
		t.Errorf("GetClientCertificates saw %v", seen)
	}

	up, err := in.Client.UpdateClientCertificate(ctx, &apigateway.UpdateClientCertificateInput{ClientCertificateId: aws.String(id),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/description"), Value: aws.String("renamed")}}})
	if err != nil || aws.ToString(up.Description) != "renamed" {
		t.Errorf("UpdateClientCertificate = %+v, %v", up, err)
	}
	_, err = in.Client.UpdateClientCertificate(ctx, &apigateway.UpdateClientCertificateInput{ClientCertificateId: aws.String(id),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/pemEncodedCertificate"), Value: aws.String("x")}}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid patch path /pemEncodedCertificate")

	// A stage takes only a certificate that exists.
	a := newDPAPI(t, in, "cc")
	a.mock("/m", "GET", `{}`)
	a.deploy("s", nil)
	setCert := func(cert string) error {
		_, err := in.Client.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("s"),
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/clientCertificateId"), Value: aws.String(cert)}}})
		return err
	}
	apigwtest.WantAPIError(t, setCert("nosuch"), 400, "BadRequestException", "Invalid client certificate identifier specified")
	if err := setCert(id); err != nil {
		t.Fatal(err)
	}

	if _, err := in.Client.DeleteClientCertificate(ctx, &apigateway.DeleteClientCertificateInput{ClientCertificateId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_, err = in.Client.GetClientCertificate(ctx, &apigateway.GetClientCertificateInput{ClientCertificateId: aws.String(id)})
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Client Certificate identifier specified")
	_, err = in.Client.DeleteClientCertificate(ctx, &apigateway.DeleteClientCertificateInput{ClientCertificateId: aws.String(id)})
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid Client Certificate identifier specified")
}

// doRawGet is a signed GET on the admin listener, answered as text.
func doRawGet(t *testing.T, in *apigwtest.Instance, path string) string {
	t.Helper()
	out, err := in.Client.GetClientCertificate(t.Context(), &apigateway.GetClientCertificateInput{
		ClientCertificateId: aws.String(strings.TrimPrefix(path, "/clientcertificates/"))})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// clientCertBackend is an HTTPS backend that requires a client certificate
// from those in caPEM: a real Apache or nginx, or Go's own.
type clientCertBackend struct {
	url string // https://127.0.0.1:port
	// refusesInHandshake: a call without the certificate fails the
	// handshake (Apache, Go); otherwise the server answers 400 (nginx).
	refusesInHandshake bool
}

// backendTLS is what every backend test shares: a CA that apigw trusts
// through --backend-ca-file and the backend's server certificate from it.
type backendTLS struct {
	dir              string
	caFile           string
	certFile, keyFil string
	roots            *x509.CertPool
}

func newBackendTLS(t *testing.T) *backendTLS {
	t.Helper()
	// A directory others may read: Apache's children drop root.
	dir, err := os.MkdirTemp("", "apigw-backend-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	ca, _, err := edge.LoadOrCreateLocalCA(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := &backendTLS{dir: dir, caFile: ca.CertFile, certFile: filepath.Join(dir, "server.crt"), keyFil: filepath.Join(dir, "server.key")}
	var chain []byte
	for _, der := range leaf.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	k, _ := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	os.WriteFile(b.certFile, chain, 0o644)
	os.WriteFile(b.keyFil, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), 0o600)
	b.roots = x509.NewCertPool()
	b.roots.AddCert(ca.Cert)
	return b
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

func findProgram(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// startServer runs a server program in the foreground until the test ends
// and waits for its port to accept connections.
func startServer(t *testing.T, port string, logFile string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			logged, _ := os.ReadFile(logFile)
			t.Fatalf("%s exited: %s\n%s", name, out.String(), logged)
		default:
		}
		if time.Now().After(deadline) {
			logged, _ := os.ReadFile(logFile)
			t.Fatalf("%s did not listen on %s within 15s: %s\n%s", name, port, out.String(), logged)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startApache runs Debian's apache2 with mod_ssl and seed 000's three lines.
func startApache(t *testing.T, b *backendTLS, caPEM string) *clientCertBackend {
	t.Helper()
	bin := findProgram("apache2")
	mods := "/usr/lib/apache2/modules"
	if bin == "" || !fileExists(filepath.Join(mods, "mod_ssl.so")) {
		t.Skip("apache2 with mod_ssl is not installed (apt-get install apache2): skipping seed 000's Apache backend")
	}
	dir, err := os.MkdirTemp(b.dir, "apache-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	os.MkdirAll(filepath.Join(dir, "htdocs"), 0o755)
	os.WriteFile(filepath.Join(dir, "htdocs", "hello.txt"), []byte("hello from apache\n"), 0o644)
	// /etc/apache2/ssl/apigateway.pem in the seed.
	os.WriteFile(filepath.Join(dir, "apigateway.pem"), []byte(caPEM), 0o644)
	port := freePort(t)
	conf := fmt.Sprintf(`ServerRoot %[1]s
ServerName 127.0.0.1
Listen 127.0.0.1:%[2]s
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
LogLevel info ssl:info
DefaultRuntimeDir %[1]s
Mutex file:%[1]s default
LoadModule mpm_event_module %[3]s/mod_mpm_event.so
LoadModule authz_core_module %[3]s/mod_authz_core.so
LoadModule socache_shmcb_module %[3]s/mod_socache_shmcb.so
LoadModule ssl_module %[3]s/mod_ssl.so
DocumentRoot %[1]s/htdocs
<Directory %[1]s/htdocs>
    Require all granted
</Directory>
<VirtualHost 127.0.0.1:%[2]s>
    SSLEngine on
    SSLCertificateFile %[4]s
    SSLCertificateKeyFile %[5]s
    SSLVerifyClient require
    SSLVerifyDepth 1
    SSLCACertificateFile %[1]s/apigateway.pem
</VirtualHost>
`, dir, port, mods, b.certFile, b.keyFil)
	confFile := filepath.Join(dir, "httpd.conf")
	os.WriteFile(confFile, []byte(conf), 0o644)
	startServer(t, port, filepath.Join(dir, "error.log"), bin, "-f", confFile, "-DFOREGROUND")
	return &clientCertBackend{url: "https://127.0.0.1:" + port, refusesInHandshake: true}
}

// startNginx runs nginx with ssl_verify_client on.
func startNginx(t *testing.T, b *backendTLS, caPEM string) *clientCertBackend {
	t.Helper()
	bin := findProgram("nginx")
	if bin == "" {
		t.Skip("nginx is not installed (apt-get install nginx): skipping the nginx backend")
	}
	dir, err := os.MkdirTemp(b.dir, "nginx-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	os.MkdirAll(filepath.Join(dir, "htdocs"), 0o755)
	os.WriteFile(filepath.Join(dir, "htdocs", "hello.txt"), []byte("hello from nginx\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "apigateway.pem"), []byte(caPEM), 0o644)
	port := freePort(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp;
    proxy_temp_path %[1]s/tmp;
    fastcgi_temp_path %[1]s/tmp;
    uwsgi_temp_path %[1]s/tmp;
    scgi_temp_path %[1]s/tmp;
    server {
        listen 127.0.0.1:%[2]s ssl;
        ssl_certificate %[3]s;
        ssl_certificate_key %[4]s;
        ssl_client_certificate %[1]s/apigateway.pem;
        ssl_verify_client on;
        ssl_verify_depth 1;
        root %[1]s/htdocs;
    }
}
`, dir, port, b.certFile, b.keyFil)
	confFile := filepath.Join(dir, "nginx.conf")
	os.WriteFile(confFile, []byte(conf), 0o644)
	startServer(t, port, filepath.Join(dir, "error.log"), bin, "-c", confFile, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	return &clientCertBackend{url: "https://127.0.0.1:" + port}
}

// startGoBackend is Go's own HTTPS server requiring the certificate.
func startGoBackend(t *testing.T, b *backendTLS, caPEM string) *clientCertBackend {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	cert, err := tls.LoadX509KeyPair(b.certFile, b.keyFil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from go, "+r.TLS.PeerCertificates[0].Subject.CommonName+"\n")
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &clientCertBackend{url: "https://" + ln.Addr().String(), refusesInHandshake: true}
}

// Seed 000: the backend admits only the gateway. The stage's client
// certificate (from get-client-certificate) is the backend's
// SSLCACertificateFile; apigw presents it; a call without it is refused; a
// stage without it gets AWS's 500; a new certificate on the stage is used
// for the next connection at once.
func TestSeed000ClientCertificateBackends(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(*testing.T, *backendTLS, string) *clientCertBackend
		body  string
	}{
		{"apache", startApache, "hello from apache\n"},
		{"nginx", startNginx, "hello from nginx\n"},
		{"go", startGoBackend, "hello from go, ApiGateway\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackendTLS(t)
			in := apigwtest.Start(t, func(c *server.Config) { c.BackendCAFile = b.caFile })
			ctx := t.Context()
			gen := func() (string, string) {
				t.Helper()
				out, err := in.Client.GenerateClientCertificate(ctx, &apigateway.GenerateClientCertificateInput{Description: aws.String("seed 000")})
				if err != nil {
					t.Fatal(err)
				}
				got, err := in.Client.GetClientCertificate(ctx, &apigateway.GetClientCertificateInput{ClientCertificateId: out.ClientCertificateId})
				if err != nil {
					t.Fatal(err)
				}
				return aws.ToString(out.ClientCertificateId), aws.ToString(got.PemEncodedCertificate)
			}
			certID, certPEM := gen()
			backend := tc.start(t, b, certPEM)

			a := newDPAPI(t, in, "seed000")
			a.proxy("/hello", "GET", backend.url+"/hello.txt", nil)
			a.deploy("prod", nil)
			a.deploy("nocert", nil)
			setCert := func(id string) {
				t.Helper()
				_, err := in.Client.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("prod"),
					PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/clientCertificateId"), Value: aws.String(id)}}})
				if err != nil {
					t.Fatal(err)
				}
			}
			setCert(certID)
			dpEventually(t, "the stage presents its certificate", func() bool {
				st := in.Server.Gateway.Stage(a.id, "prod")
				return st != nil && st.Stage.ClientCertificateID == certID
			})

			got := dpGet(t, a.url("prod", "/hello"))
			if got.status != 200 || got.body != tc.body {
				t.Fatalf("through apigw with the certificate: %d %q, want 200 %q", got.status, got.body, tc.body)
			}

			// Directly, without a certificate: refused.
			direct := httpsClient(b.roots, strings.TrimPrefix(backend.url, "https://"), nil)
			resp, err := direct.Get(backend.url + "/hello.txt")
			switch {
			case backend.refusesInHandshake && err == nil:
				resp.Body.Close()
				t.Errorf("direct call without a certificate: %d, want a refused handshake", resp.StatusCode)
			case !backend.refusesInHandshake && (err != nil || resp.StatusCode != 400):
				t.Errorf("direct call without a certificate: %v %v, want nginx's 400", resp, err)
			}
			if resp != nil {
				resp.Body.Close()
			}

			// A stage without the certificate.
			got = dpGet(t, a.url("nocert", "/hello"))
			if backend.refusesInHandshake {
				// Under TLS 1.3 the server checks the client's certificate
				// after the client has finished its handshake: apigw reads
				// the backend's alert (500, a configuration error, as AWS)
				// or, when the backend's close overtakes it, a reset (502).
				// Both are AWS's 5xx with its body.
				if got.status == 502 {
					got.status = 500
				}
				dpWantError(t, got, 500, "", "Internal server error")
			} else if got.status != 400 || !strings.Contains(got.body, "No required SSL certificate was sent") {
				// nginx answers the request itself; HTTP_PROXY passes it on.
				t.Errorf("stage without a certificate: %d %q, want nginx's 400", got.status, got.body)
			}

			// Rotation: another certificate, which the backend does not
			// trust yet, takes effect at once; back to the first, 200.
			otherID, _ := gen()
			setCert(otherID)
			dpEventually(t, "the stage presents the new certificate", func() bool {
				return in.Server.Gateway.Stage(a.id, "prod").Stage.ClientCertificateID == otherID
			})
			got = dpGet(t, a.url("prod", "/hello"))
			if got.status == 200 {
				t.Errorf("with a certificate the backend does not trust: 200 %q", got.body)
			}
			setCert(certID)
			dpEventually(t, "the stage presents the first certificate again", func() bool {
				return in.Server.Gateway.Stage(a.id, "prod").Stage.ClientCertificateID == certID
			})
			if got = dpGet(t, a.url("prod", "/hello")); got.status != 200 {
				t.Errorf("back to the trusted certificate: %d %q", got.status, got.body)
			}
		})
	}
}

// The client certificate operations with the AWS CLI, as seed 000's reader
// would type them.
func TestClientCertificatesCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not installed: skipping the CLI walk-through")
	}
	if testing.Short() {
		t.Skip("the AWS CLI is slow to start: skipped with -short")
	}
	in := apigwtest.Start(t)
	home := t.TempDir()
	aws := in.CLI(t, home)
	var gen map[string]any
	if err := json.Unmarshal([]byte(aws(false, "generate-client-certificate", "--description", "seed 000", "--tags", "env=prod")), &gen); err != nil {
		t.Fatal(err)
	}
	id, _ := gen["clientCertificateId"].(string)
	if id == "" || gen["description"] != "seed 000" || gen["tags"].(map[string]any)["env"] != "prod" {
		t.Fatalf("generate-client-certificate: %v", gen)
	}
	pemText := aws(false, "get-client-certificate", "--client-certificate-id", id, "--query", "pemEncodedCertificate", "--output", "text")
	if blk, _ := pem.Decode([]byte(pemText)); blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("get-client-certificate --query pemEncodedCertificate: %q", pemText)
	}
	aws(false, "generate-client-certificate")
	// The CLI pages through position on its own.
	if got := strings.Fields(aws(false, "get-client-certificates", "--page-size", "1", "--query", "items[].clientCertificateId", "--output", "text")); len(got) != 2 {
		t.Errorf("get-client-certificates: %q, want 2 ids", got)
	}
	if got := aws(false, "update-client-certificate", "--client-certificate-id", id, "--patch-operations", "op=replace,path=/description,value=renamed",
		"--query", "description", "--output", "text"); strings.TrimSpace(got) != "renamed" {
		t.Errorf("update-client-certificate: %q", got)
	}
	a := newDPAPI(t, in, "cli")
	a.mock("/m", "GET", `{}`)
	a.deploy("prod", nil)
	out := aws(true, "update-stage", "--rest-api-id", a.id, "--stage-name", "prod", "--patch-operations", "op=replace,path=/clientCertificateId,value=nosuch")
	if !strings.Contains(out, "(BadRequestException) when calling the UpdateStage operation: Invalid client certificate identifier specified") {
		t.Errorf("update-stage with an unknown certificate: %s", out)
	}
	if got := aws(false, "update-stage", "--rest-api-id", a.id, "--stage-name", "prod", "--patch-operations", "op=replace,path=/clientCertificateId,value="+id,
		"--query", "clientCertificateId", "--output", "text"); strings.TrimSpace(got) != id {
		t.Errorf("update-stage: %q", got)
	}
	aws(false, "delete-client-certificate", "--client-certificate-id", id)
	out = aws(true, "get-client-certificate", "--client-certificate-id", id)
	if !strings.Contains(out, "(NotFoundException) when calling the GetClientCertificate operation: Invalid Client Certificate identifier specified") {
		t.Errorf("get-client-certificate after delete: %s", out)
	}
}
