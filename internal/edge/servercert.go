package edge

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ServerCertificate joins an imported certificate, its chain (PEM, leaf's
// issuer first) and its PKCS #8 key into what the TLS listener serves.
func ServerCertificate(certPEM, chainPEM string, keyDER []byte) (*tls.Certificate, error) {
	leaf, err := onePEMCertificate([]byte(certPEM))
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("edge: certificate key: %w", err)
	}
	c := &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	rest := []byte(chainPEM)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			c.Certificate = append(c.Certificate, b.Bytes)
		}
	}
	return c, nil
}

func onePEMCertificate(p []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(p)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("edge: no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// KeyMatches reports whether key is the private half of pub.
func KeyMatches(pub crypto.PublicKey, key crypto.PrivateKey) bool {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k.PublicKey.Equal(pub)
	case *ecdsa.PrivateKey:
		return k.PublicKey.Equal(pub)
	case ed25519.PrivateKey:
		return k.Public().(ed25519.PublicKey).Equal(pub)
	}
	return false
}
