package edge

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// ClientCertificateValidity is how long a generated client certificate is
// valid: a year, as on AWS.
const ClientCertificateValidity = 365 * 24 * time.Hour

// clientSubject is the subject (and, self-signed, the issuer) of the client
// certificates API Gateway generates.
var clientSubject = pkix.Name{
	Country:            []string{"US"},
	Province:           []string{"Washington"},
	Locality:           []string{"Seattle"},
	Organization:       []string{"Amazon.com"},
	OrganizationalUnit: []string{"API Gateway"},
	CommonName:         "ApiGateway",
}

// NewClientCertificate makes what GenerateClientCertificate hands out: an
// RSA 2048 key pair and a self-signed certificate for it, valid a year from
// now. certPEM is public (pemEncodedCertificate); keyDER (PKCS #8) must be
// kept sealed.
func NewClientCertificate(now time.Time) (certPEM string, keyDER []byte, notAfter time.Time, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	now = now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      clientSubject,
		NotBefore:    now,
		NotAfter:     now.Add(ClientCertificateValidity),
		// CertSign: a backend trusts the certificate as its own issuer
		// (SSLCACertificateFile, ssl_client_certificate), and OpenSSL takes
		// a certificate as self-signed only when its key may sign
		// certificates.
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	if keyDER, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
		return "", nil, time.Time{}, err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), keyDER, tmpl.NotAfter, nil
}

// ClientTLSCertificate joins a client certificate's PEM and its PKCS #8 key
// into what a TLS client presents.
func ClientTLSCertificate(certPEM string, keyDER []byte) (*tls.Certificate, error) {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("edge: client certificate: no PEM certificate")
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("edge: client certificate: %w", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("edge: client certificate key: %w", err)
	}
	c := &tls.Certificate{Certificate: [][]byte{b.Bytes}, PrivateKey: key, Leaf: leaf}
	return c, nil
}
