package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	"github.com/apigw/apigw/internal/acm"
)

// setupACME gives RequestCertificate its ACME worker, answering the CA's
// challenges on the listeners bound already: HTTP-01 on the data
// listener, TLS-ALPN-01 on the TLS listener (when there is one). Without
// an ACME directory there is none and RequestCertificate is refused.
func (s *Server) setupACME() error {
	if s.cfg.ACMEDirectory == "" {
		return nil // RequestCertificate is refused
	}
	roots, err := certPool("ACME CA file", s.cfg.ACMECAFile)
	if err != nil {
		return err
	}
	key := s.masterKey
	s.ACM.ACME = &acm.ACME{Store: s.Store, Directory: s.cfg.ACMEDirectory, Email: s.cfg.ACMEEmail, Roots: roots,
		HTTPAddr: s.DataAddr(), TLSAddr: s.TLSAddr(), Seal: masterSealer{key}.Seal, Open: masterSealer{key}.Open,
		Committed: s.Control.Committed, Log: s.cfg.Log}
	return s.ACM.ACME.Init()
}

// dataHandler is what a plain-HTTP data listener serves: ACME's HTTP-01
// answers before the gateway.
func (s *Server) dataHandler() http.Handler {
	if s.ACM == nil || s.ACM.ACME == nil {
		return s.Gateway
	}
	return s.ACM.ACME.HTTPChallenges(s.Gateway)
}

// withACMEChallenges lets ACME's TLS-ALPN-01 handshakes through before
// the listener's own choice of certificate.
func (s *Server) withACMEChallenges(cfg *tls.Config) *tls.Config {
	if s.ACM != nil && s.ACM.ACME != nil && cfg.GetConfigForClient != nil {
		cfg.GetConfigForClient = s.ACM.ACME.TLSChallenges(cfg.GetConfigForClient)
	}
	return cfg
}

// certPool is the system's roots plus the PEM bundle in file (what names
// the flag in errors), or nil (the system's) without a file.
func certPool(what, file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s %s: no PEM certificate in it", what, file)
	}
	return pool, nil
}
