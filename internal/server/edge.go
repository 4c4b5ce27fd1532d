package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/apigw/apigw/internal/edge"
	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// masterSealer seals the edge's secrets (the local CA's key) with the
// master key, as IAM secrets are.
type masterSealer struct{ key []byte }

func (m masterSealer) Seal(p []byte, aad string) ([]byte, error) {
	return iam.SealSecret(m.key, string(p), aad)
}

func (m masterSealer) Open(b []byte, aad string) ([]byte, error) {
	s, err := iam.OpenSecret(m.key, b, aad)
	return []byte(s), err
}

// loadClientCertificate reads a client certificate and opens its key.
func loadClientCertificate(ctx context.Context, st store.Store, key []byte, id string) (*tls.Certificate, error) {
	rec := new(model.ClientCertificateRecord)
	b, err := st.Get(ctx, model.KindClientCertificate, id)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s: %w", id, err)
	}
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("client certificate %s: %w", id, err)
	}
	der, err := masterSealer{key}.Open(rec.SealedPrivateKey, model.ClientCertificateAAD(id))
	if err != nil {
		return nil, fmt.Errorf("client certificate %s: %w", id, err)
	}
	return edge.ClientTLSCertificate(rec.PemEncodedCertificate, der)
}

// backendRoots are the system's roots plus the PEM bundle in file.
func backendRoots(file string) (*x509.CertPool, error) { return certPool("backend CA file", file) }

// setupTLS binds the TLS data listener and fills the certificate set: the
// configured certificate, else one from the local CA (made on first use).
func (s *Server) setupTLS() error {
	cfg := s.cfg
	if s.Certificates == nil {
		s.Certificates = &edge.Certificates{}
	}
	switch {
	case cfg.TLSCertFile != "" || cfg.TLSKeyFile != "":
		if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
			return errors.New("TLS: set both the certificate and the key file, or neither")
		}
		c, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		if err := s.Certificates.SetDefault(edge.Certificate{Cert: &c}); err != nil {
			return err
		}
	default:
		ca, created, err := edge.LoadOrCreateLocalCA(cfg.DataDir, masterSealer{s.masterKey})
		if err != nil {
			return err
		}
		if host, _, err := net.SplitHostPort(cfg.TLSListen); err == nil && host != "" && !contains(ca.Names, host) {
			if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
				ca.Names = append(append([]string{}, ca.Names...), host)
			}
		}
		s.LocalCA = ca
		if err := s.Certificates.SetDefault(edge.Certificate{GetCertificate: ca.GetCertificate}); err != nil {
			return err
		}
		if created {
			fmt.Fprintf(cfg.Out, "apigw: created a local certificate authority for the TLS listener.\n"+
				"  Trust it: curl --cacert %s https://{apiId}.execute-api.localhost:%s/{stage}/...\n"+
				"  (browsers: import it as a trusted authority; see README, \"HTTPS\")\n", ca.CertFile, portOf(cfg.TLSListen))
		}
	}
	ln, err := net.Listen("tcp", cfg.TLSListen)
	if err != nil {
		return fmt.Errorf("TLS data listener: %w", err)
	}
	s.tlsLn = ln
	return nil
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TLSAddr is the TLS data listener's address, or "".
func (s *Server) TLSAddr() string {
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// serveDomainCertificates puts each custom domain's certificate in the TLS
// listener's set, under the domain's name and with its security policy,
// and removes the names of domains that are gone. Gateway.Sync calls it
// when domains or certificates change: new handshakes see the change, open
// connections keep theirs.
func (s *Server) serveDomainCertificates(ctx context.Context, domains []*model.DomainName) {
	if s.Certificates == nil {
		return
	}
	served := make(map[string]bool, len(domains))
	for _, d := range domains {
		c, err := loadServerCertificate(ctx, s.Store, s.masterKey, d.ServedCertificateArn())
		var ts *edge.Truststore
		if err == nil && d.MutualTLSAuthentication != nil {
			ts, err = loadTruststore(ctx, s.Store, d.DomainName)
		}
		if err == nil {
			err = s.Certificates.Put(d.DomainName, edge.Certificate{Cert: c, Policy: d.SecurityPolicy, Truststore: ts})
		}
		if err != nil {
			s.cfg.Log.Error("custom domain not served over TLS", "domain", d.DomainName, "err", err)
			if d.MutualTLSAuthentication != nil {
				// Its handshakes fail rather than fall back to a wildcard's
				// truststore (or none); the gateway refuses its requests on
				// other names' handshakes.
				s.Certificates.Refuse(d.DomainName)
				served[d.DomainName] = true // removed from the set once deleted
			}
			continue
		}
		served[d.DomainName] = true
	}
	s.domainCertsMu.Lock()
	defer s.domainCertsMu.Unlock()
	for name := range s.domainCerts {
		if !served[name] {
			s.Certificates.Remove(name)
		}
	}
	s.domainCerts = served
}

// loadTruststore reads a mutual-TLS domain's truststore as control stored
// it when the domain was created or updated. Every node reads the same
// copy from the store: none fetches the truststore URI again, so a file://
// truststore need only exist on the node that served the change, and an
// S3 object that changes takes effect when the domain is updated, as on
// AWS.
func loadTruststore(ctx context.Context, st store.Store, domain string) (*edge.Truststore, error) {
	b, err := st.Get(ctx, model.KindTruststore, domain)
	if err != nil {
		return nil, fmt.Errorf("truststore of %s: %w", domain, err)
	}
	rec := new(model.Truststore)
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("truststore of %s: %w", domain, err)
	}
	ts, _, err := edge.ParseTruststore([]byte(rec.PEM), time.Now())
	if err != nil {
		return nil, fmt.Errorf("truststore of %s (%s): %w", domain, rec.URI, err)
	}
	return ts, nil
}

// loadServerCertificate reads an imported ACM certificate and opens its key.
func loadServerCertificate(ctx context.Context, st store.Store, key []byte, arn string) (*tls.Certificate, error) {
	id := model.CertificateIDFromArn(arn)
	if id == "" {
		return nil, fmt.Errorf("certificate %q: not an ACM ARN", arn)
	}
	b, err := st.Get(ctx, model.KindCertificate, id)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", arn, err)
	}
	rec := new(model.CertificateRecord)
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("certificate %s: %w", arn, err)
	}
	if rec.ACME != nil && rec.ACME.Status != "ISSUED" {
		return nil, fmt.Errorf("certificate %s is %s, not issued", arn, rec.ACME.Status)
	}
	der, err := masterSealer{key}.Open(rec.SealedPrivateKey, model.CertificateAAD(id))
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", arn, err)
	}
	return edge.ServerCertificate(rec.Certificate, rec.CertificateChain, der)
}
