package edge

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Sealer encrypts secrets at rest, bound to the name of what holds them
// (apigw's master key, as for IAM secrets).
type Sealer interface {
	Seal(plaintext []byte, aad string) ([]byte, error)
	Open(sealed []byte, aad string) ([]byte, error)
}

// LocalCA is apigw's own certificate authority, created once in the data
// dir, as Caddy's local CA and mkcert make one: it signs the certificate
// the TLS listener serves for localhost and *.execute-api.localhost when no
// other certificate is configured. Trust its certificate (CertFile) and
// curl and browsers accept the listener.
type LocalCA struct {
	// CertFile is the CA certificate's path, for curl --cacert and trust
	// stores.
	CertFile string
	Cert     *x509.Certificate
	key      crypto.Signer
	// Names are what the leaf certificate covers (DNS names and IPs).
	Names []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	leaf *tls.Certificate
}

const (
	localCADir     = "local-ca"
	localCACert    = "root.crt"
	localCAKey     = "root.key"
	sealedKeyBlock = "APIGW SEALED PRIVATE KEY"
	caValidity     = 10 * 365 * 24 * time.Hour
	// leafValidity stays under the 398 days browsers allow a leaf.
	leafValidity = 397 * 24 * time.Hour
)

// DefaultLocalNames are the names the local CA's leaf covers.
var DefaultLocalNames = []string{"localhost", "*.execute-api.localhost", "127.0.0.1", "::1"}

// LoadOrCreateLocalCA reads the local CA of dataDir ({dataDir}/local-ca/
// root.crt and root.key), or creates one (key mode 0600, sealed with s when
// s is not nil). created reports a new CA.
func LoadOrCreateLocalCA(dataDir string, s Sealer) (ca *LocalCA, created bool, err error) {
	dir := filepath.Join(dataDir, localCADir)
	certPath, keyPath := filepath.Join(dir, localCACert), filepath.Join(dir, localCAKey)
	ca = &LocalCA{CertFile: certPath, Names: DefaultLocalNames}
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	switch {
	case cerr == nil && kerr == nil:
		if err := ca.load(certPEM, keyPEM, s); err != nil {
			return nil, false, fmt.Errorf("local CA in %s: %w", dir, err)
		}
		return ca, false, nil
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
	case cerr != nil && !errors.Is(cerr, fs.ErrNotExist):
		return nil, false, fmt.Errorf("local CA: %w", cerr)
	case kerr != nil && !errors.Is(kerr, fs.ErrNotExist):
		return nil, false, fmt.Errorf("local CA: %w", kerr)
	default:
		return nil, false, fmt.Errorf("local CA in %s: one of %s and %s is missing; remove the other to make a new CA", dir, localCACert, localCAKey)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, false, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{"apigw local CA"}, CommonName: "apigw local CA " + now.UTC().Format("2006-01-02")},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, false, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, err
	}
	keyBlock := &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}
	if s != nil {
		sealed, err := s.Seal(pkcs8, localCADir+"/"+localCAKey)
		if err != nil {
			return nil, false, err
		}
		keyBlock = &pem.Block{Type: sealedKeyBlock, Bytes: sealed}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	// The key first, exclusively: two processes never make two CAs.
	if err := writeExclusive(keyPath, pem.EncodeToMemory(keyBlock), 0o600); err != nil {
		return nil, false, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeExclusive(certPath, certPEM, 0o644); err != nil {
		return nil, false, err
	}
	ca.Cert, _ = x509.ParseCertificate(der)
	ca.key = key
	return ca, true, nil
}

func writeExclusive(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func (ca *LocalCA) load(certPEM, keyPEM []byte, s Sealer) error {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return errors.New(localCACert + " holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return errors.New(localCAKey + " holds no PEM key")
	}
	der := kb.Bytes
	switch kb.Type {
	case "PRIVATE KEY":
	case sealedKeyBlock:
		if s == nil {
			return errors.New(localCAKey + " is sealed and no master key was given")
		}
		if der, err = s.Open(kb.Bytes, localCADir+"/"+localCAKey); err != nil {
			return fmt.Errorf("%s: %w", localCAKey, err)
		}
	default:
		return fmt.Errorf("%s: unexpected PEM block %q", localCAKey, kb.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return errors.New(localCAKey + " is not a signing key")
	}
	ca.Cert, ca.key = cert, signer
	return nil
}

func (ca *LocalCA) now() time.Time {
	if ca.Now != nil {
		return ca.Now()
	}
	return time.Now()
}

// GetCertificate serves the leaf for Names, issuing it on first use and
// again once two thirds of its life have passed.
func (ca *LocalCA) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	now := ca.now()
	if ca.leaf != nil {
		l := ca.leaf.Leaf
		if now.Before(l.NotBefore.Add(l.NotAfter.Sub(l.NotBefore) * 2 / 3)) {
			return ca.leaf, nil
		}
	}
	leaf, err := ca.Issue(ca.Names, now)
	if err != nil {
		return nil, err
	}
	ca.leaf = leaf
	return leaf, nil
}

// Issue signs a server certificate for names (DNS names, wildcards, IPs).
func (ca *LocalCA) Issue(names []string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Organization: []string{"apigw local CA"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if len(tmpl.DNSNames) > 0 {
		tmpl.Subject.CommonName = tmpl.DNSNames[0]
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}
