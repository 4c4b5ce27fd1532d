package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Transports are the connection pools for https:// backends of one TLS
// client identity: the roots that verify backends and the client
// certificate presented to them. A stage with a client certificate has
// its own, so that no connection made with one stage's certificate serves
// another stage.
type Transports struct {
	// Verified checks the backend's chain against the roots and its name.
	Verified *http.Transport
	// Insecure serves tlsConfig.insecureSkipVerification: as on AWS, the
	// chain may be untrusted (self-signed, a private CA), but the name
	// must match and the certificate must be within its validity.
	Insecure *http.Transport

	roots *x509.CertPool
	cert  *tls.Certificate
	// linked are the pools of the same identity that dial one VPC link
	// target whatever the URL's host, by target address.
	linked sync.Map // string → *Transports
}

// NewTransports makes the pools of one client identity. roots nil means
// the system's roots; cert nil presents no client certificate.
func NewTransports(roots *x509.CertPool, cert *tls.Certificate) *Transports {
	return newTransports(roots, cert, "")
}

func newTransports(roots *x509.CertPool, cert *tls.Certificate, target string) *Transports {
	return &Transports{Verified: newTransport(roots, cert, false, target), Insecure: newTransport(roots, cert, true, target),
		roots: roots, cert: cert}
}

// to returns the pools of t's identity that connect to target (host:port)
// for every URL, as a VPC link reaches its load balancer: the URL's host
// is still the Host field, the TLS server name and the name verified.
// Each target has pools of its own, so a connection to one link's target
// never serves another's request for the same host name.
func (t *Transports) to(target string) *Transports {
	if v, ok := t.linked.Load(target); ok {
		return v.(*Transports)
	}
	v, _ := t.linked.LoadOrStore(target, newTransports(t.roots, t.cert, target))
	return v.(*Transports)
}

// CloseIdleConnections closes both pools' idle connections; connections
// in use finish their exchange first.
func (t *Transports) CloseIdleConnections() {
	t.Verified.CloseIdleConnections()
	t.Insecure.CloseIdleConnections()
	t.linked.Range(func(_, v any) bool { v.(*Transports).CloseIdleConnections(); return true })
}

func (t *Transports) pick(insecure bool) http.RoundTripper {
	if insecure {
		return t.Insecure
	}
	return t.Verified
}

func newTransport(roots *x509.CertPool, cert *tls.Certificate, insecure bool, target string) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	if target != "" {
		dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, target)
		}
	}
	cfg := &tls.Config{RootCAs: roots}
	if cert != nil {
		// Always presented, whatever CA names the backend lists: a backend
		// that trusts the certificate itself may list none or others.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	t := &http.Transport{
		Proxy:                 nil, // a gateway calls its backends directly
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Pass the client's Accept-Encoding and the backend's encoding
		// through untouched instead of negotiating gzip on our own.
		DisableCompression: true,
		TLSClientConfig:    cfg,
	}
	if insecure {
		// The name to check is the one dialled, which the TLS state does
		// not carry for an IP address: the handshake is made here.
		cfg.NextProtos = []string{"h2", "http/1.1"}
		t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			raw, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c := cfg.Clone()
			c.ServerName = host
			c.InsecureSkipVerify = true //nolint:gosec // the chain is not checked; VerifyConnection checks the rest
			c.VerifyConnection = func(cs tls.ConnectionState) error { return verifyNameAndDates(cs.PeerCertificates, host) }
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			tc := tls.Client(raw, c)
			if err := tc.HandshakeContext(hctx); err != nil {
				raw.Close()
				return nil, err
			}
			return tc, nil
		}
	}
	return t
}

// verifyNameAndDates is AWS's "basic certificate validation" when
// insecureSkipVerification is set: the leaf's name and validity dates.
func verifyNameAndDates(certs []*x509.Certificate, host string) error {
	if len(certs) == 0 {
		return errors.New("integration: the backend sent no certificate")
	}
	leaf := certs[0]
	now := time.Now()
	var err error
	switch {
	case now.Before(leaf.NotBefore) || now.After(leaf.NotAfter):
		err = x509.CertificateInvalidError{Cert: leaf, Reason: x509.Expired}
	default:
		err = leaf.VerifyHostname(host)
	}
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}
