package edge

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testSealer is AES-GCM with a random key, as the master key seals.
type testSealer struct{ aead cipher.AEAD }

func newTestSealer(t *testing.T) *testSealer {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	b, _ := aes.NewCipher(k)
	g, _ := cipher.NewGCM(b)
	return &testSealer{g}
}

func (s *testSealer) Seal(p []byte, aad string) ([]byte, error) {
	n := make([]byte, s.aead.NonceSize())
	rand.Read(n)
	return s.aead.Seal(n, n, p, []byte(aad)), nil
}

func (s *testSealer) Open(b []byte, aad string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(b) < n {
		return nil, errors.New("short")
	}
	return s.aead.Open(nil, b[:n], b[n:], []byte(aad))
}

func TestPolicies(t *testing.T) {
	want := []string{"SecurityPolicy_TLS12_2018_EDGE", "SecurityPolicy_TLS12_PFS_2025_EDGE", "SecurityPolicy_TLS13_1_2_2021_06",
		"SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09", "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09", "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
		"SecurityPolicy_TLS13_1_2_PQ_2025_09", "SecurityPolicy_TLS13_1_3_2025_09", "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
		"SecurityPolicy_TLS13_2025_EDGE", "TLS_1_0", "TLS_1_2"}
	got := PolicyNames()
	if len(got) != len(want) {
		t.Fatalf("PolicyNames = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("PolicyNames[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	for _, tc := range []struct {
		name string
		min  uint16
		has  uint16 // a suite the policy offers
		not  uint16 // one it must not
	}{
		{"TLS_1_0", tls.VersionTLS10, tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
		{"TLS_1_2", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA},
		{"SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256},
		{"SecurityPolicy_TLS12_2018_EDGE", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256},
		{"SecurityPolicy_TLS13_1_3_2025_09", tls.VersionTLS13, 0, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := Policy(tc.name)
			if !ok || p.MinVersion != tc.min || p.MaxVersion != tls.VersionTLS13 {
				t.Fatalf("Policy(%s) = %+v, %v", tc.name, p, ok)
			}
			in := func(id uint16) bool {
				for _, s := range p.suites {
					if s == id {
						return true
					}
				}
				return false
			}
			if tc.has != 0 && !in(tc.has) {
				t.Errorf("%s lacks %s", tc.name, tls.CipherSuiteName(tc.has))
			}
			if in(tc.not) {
				t.Errorf("%s offers %s", tc.name, tls.CipherSuiteName(tc.not))
			}
		})
	}
	if _, ok := Policy("TLS_1_3"); ok {
		t.Error("TLS_1_3 is not an AWS policy")
	}
}

// testCA makes a local CA in a temp dir, sealed.
func testCA(t *testing.T) *LocalCA {
	t.Helper()
	ca, created, err := LoadOrCreateLocalCA(t.TempDir(), newTestSealer(t))
	if err != nil || !created {
		t.Fatalf("LoadOrCreateLocalCA = %v, %v", created, err)
	}
	return ca
}

func TestLocalCA(t *testing.T) {
	dir := t.TempDir()
	s := newTestSealer(t)
	ca, created, err := LoadOrCreateLocalCA(dir, s)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateLocalCA = %v, %v", created, err)
	}
	keyPath := filepath.Join(dir, "local-ca", "root.key")
	fi, err := os.Stat(keyPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", fi.Mode(), err)
	}
	kb, _ := os.ReadFile(keyPath)
	if blk, _ := pem.Decode(kb); blk == nil || blk.Type != sealedKeyBlock {
		t.Fatalf("key file is not sealed: %q", kb[:40])
	}
	again, created, err := LoadOrCreateLocalCA(dir, s)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateLocalCA = %v, %v", created, err)
	}
	if !bytes.Equal(again.Cert.Raw, ca.Cert.Raw) {
		t.Fatal("the CA was made again")
	}
	if _, _, err := LoadOrCreateLocalCA(dir, newTestSealer(t)); err == nil {
		t.Fatal("another master key opened the CA key")
	}
	// The leaf verifies against the CA for every default name.
	leaf, err := again.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, name := range []string{"localhost", "abc123defg.execute-api.localhost", "127.0.0.1", "::1"} {
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("leaf for %s: %v", name, err)
		}
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "example.com"}); err == nil {
		t.Error("leaf verified for example.com")
	}
	// Past two thirds of its life the leaf is issued again.
	again.Now = func() time.Time { return time.Now().Add(300 * 24 * time.Hour) }
	renewed, _ := again.GetCertificate(nil)
	if renewed == leaf {
		t.Error("the leaf was not renewed")
	}
}

func TestLocalCAHalfMissing(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LoadOrCreateLocalCA(dir, nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "local-ca", "root.crt"))
	if _, _, err := LoadOrCreateLocalCA(dir, nil); err == nil {
		t.Fatal("a CA with its certificate missing was accepted")
	}
}

// serve runs a TLS echo of the negotiated state on loopback.
func serve(t *testing.T, certs *Certificates) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", certs.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(addr, name string, roots *x509.CertPool, maxVersion uint16) (*tls.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{
		ServerName: name, RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}, MaxVersion: maxVersion,
		MinVersion: tls.VersionTLS10})
}

func TestCertificatesBySNI(t *testing.T) {
	ca := testCA(t)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	certs := &Certificates{}
	if err := certs.SetDefault(Certificate{GetCertificate: ca.GetCertificate}); err != nil {
		t.Fatal(err)
	}
	one, _ := ca.Issue([]string{"api.one.test"}, time.Now())
	two, _ := ca.Issue([]string{"*.two.test"}, time.Now())
	if err := certs.Put("api.one.test", Certificate{Cert: one}); err != nil {
		t.Fatal(err)
	}
	if err := certs.Put("*.two.test", Certificate{Cert: two, Policy: "TLS_1_0"}); err != nil {
		t.Fatal(err)
	}
	if err := certs.Put("a.*.test", Certificate{Cert: two}); err == nil {
		t.Error("a wildcard inside a name was accepted")
	}
	if err := certs.Put("x.test", Certificate{Cert: two, Policy: "TLS_9"}); err == nil {
		t.Error("an unknown policy was accepted")
	}
	addr := serve(t, certs)

	for _, tc := range []struct{ sni, want string }{
		{"api.one.test", "api.one.test"},
		{"API.ONE.TEST", "api.one.test"},
		{"x.two.test", "*.two.test"},
		{"abc.execute-api.localhost", "localhost"},
		{"", "localhost"}, // an IP address: no SNI
	} {
		t.Run(tc.sni, func(t *testing.T) {
			name := tc.sni
			if name == "" {
				name = "127.0.0.1"
			}
			c, err := dial(addr, name, roots, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cs := c.ConnectionState()
			if got := cs.PeerCertificates[0].DNSNames[0]; got != tc.want {
				t.Errorf("certificate for %q = %s, want %s", tc.sni, got, tc.want)
			}
			if cs.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN = %q, want h2", cs.NegotiatedProtocol)
			}
		})
	}

	t.Run("TLS 1.1 refused under TLS_1_2", func(t *testing.T) {
		if c, err := dial(addr, "api.one.test", roots, tls.VersionTLS11); err == nil {
			c.Close()
			t.Fatal("TLS 1.1 handshake succeeded")
		}
	})
	t.Run("TLS 1.1 accepted under TLS_1_0", func(t *testing.T) {
		c, err := dial(addr, "x.two.test", roots, tls.VersionTLS11)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if v := c.ConnectionState().Version; v != tls.VersionTLS11 {
			t.Errorf("version = %x", v)
		}
	})

	// A refused name (a mutual-TLS domain that cannot be served) fails its
	// handshakes instead of falling back to the wildcard above it.
	t.Run("refused name does not fall back", func(t *testing.T) {
		certs.Refuse("locked.two.test")
		if c, err := dial(addr, "locked.two.test", roots, 0); err == nil {
			c.Close()
			t.Fatal("a refused name got the wildcard's handshake")
		}
		if c, err := dial(addr, "open.two.test", roots, 0); err != nil {
			t.Fatalf("a sibling of the refused name: %v", err)
		} else {
			c.Close()
		}
		one2, _ := ca.Issue([]string{"locked.two.test"}, time.Now())
		if err := certs.Put("locked.two.test", Certificate{Cert: one2}); err != nil {
			t.Fatal(err)
		}
		c, err := dial(addr, "locked.two.test", roots, 0)
		if err != nil {
			t.Fatalf("after Put: %v", err)
		}
		c.Close()
		certs.Refuse("locked.two.test")
		certs.Remove("locked.two.test")
		if c, err := dial(addr, "locked.two.test", roots, 0); err != nil {
			t.Fatalf("after Remove the wildcard serves it again: %v", err)
		} else {
			c.Close()
		}
	})

	t.Run("replaced without dropping open connections", func(t *testing.T) {
		open, err := dial(addr, "api.one.test", roots, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer open.Close()
		renewed, _ := ca.Issue([]string{"api.one.test", "renewed.one.test"}, time.Now())
		if err := certs.Put("api.one.test", Certificate{Cert: renewed}); err != nil {
			t.Fatal(err)
		}
		c, err := dial(addr, "api.one.test", roots, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(renewed.Leaf.SerialNumber) != 0 {
			t.Errorf("new handshake got serial %v, want the renewed certificate", got)
		}
		open.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := open.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(open, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("open connection: %q, %v", buf, err)
		}
		certs.Remove("api.one.test")
		c2, err := dial(addr, "api.one.test", roots, 0)
		if err == nil {
			c2.Close()
			t.Fatal("a removed name still verified (the default does not cover it)")
		}
	})
}

func TestNewClientCertificate(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	certPEM, keyDER, notAfter, err := NewClientCertificate(now)
	if err != nil {
		t.Fatal(err)
	}
	if !notAfter.Equal(now.Add(365 * 24 * time.Hour)) {
		t.Errorf("notAfter = %v", notAfter)
	}
	c, err := ClientTLSCertificate(certPEM, keyDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Leaf
	if got := leaf.Subject.String(); got != "CN=ApiGateway,OU=API Gateway,O=Amazon.com,L=Seattle,ST=Washington,C=US" {
		t.Errorf("subject = %s", got)
	}
	if leaf.Issuer.String() != leaf.Subject.String() {
		t.Errorf("issuer %s is not the subject", leaf.Issuer)
	}
	if k, ok := c.PrivateKey.(*rsa.PrivateKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("key = %T", c.PrivateKey)
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if _, err := ClientTLSCertificate("nope", keyDER); err == nil {
		t.Error("a bad PEM was accepted")
	}
}
