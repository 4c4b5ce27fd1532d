package acm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"
)

func testPair(t testing.TB, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: cn, Organization: []string{"Test CA"}},
		DNSNames: []string{cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

func TestParseImport(t *testing.T) {
	cert, key := testPair(t, "api.example.test")
	cert2, key2 := testPair(t, "other.example.test")
	for _, tc := range []struct {
		name             string
		cert, key, chain []byte
		wantMsg          string
	}{
		{"ok", cert, key, cert2, ""},
		{"no certificate", nil, key, nil, "1 validation error detected: Value null at 'certificate' failed to satisfy constraint: Member must not be null"},
		{"not PEM", []byte("hello"), key, nil, "Unable to parse certificate. Please ensure the certificate is in PEM format."},
		{"two certificates", append(append([]byte{}, cert...), cert2...), key, nil, "The certificate field contains more than one certificate. You can specify only one certificate in this field."},
		{"key of another certificate", cert, key2, nil, "The private key does not match the public key in the certificate."},
		{"encrypted key", cert, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), nil, "Your private key should not be encrypted."},
		{"bad key", cert, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), nil, "The private key is not supported."},
		{"bad chain", cert, key, []byte("-----BEGIN X-----\nAA==\n-----END X-----\n"), "The certificate chain provided is not in a valid PEM format."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseImport(tc.cert, tc.key, tc.chain)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				rec := p.record("id", "arn")
				if rec.DomainName != "api.example.test" || rec.KeyAlgorithm != "EC_prime256v1" || rec.SignatureAlgorithm != "SHA256WITHECDSA" || rec.Serial != "2a" || rec.Issuer != "Test CA" {
					t.Errorf("record: %+v", rec)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Message != tc.wantMsg || e.Type != "ValidationException" {
				t.Errorf("got %v, want ValidationException %q", err, tc.wantMsg)
			}
		})
	}
}

func FuzzParseImport(f *testing.F) {
	cert, key := testPair(f, "api.example.test")
	f.Add(cert, key, cert)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), key, []byte{})
	f.Fuzz(func(t *testing.T, c, k, ch []byte) {
		ParseImport(c, k, ch)
	})
}
