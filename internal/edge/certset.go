// Package edge is apigw's internet edge: the TLS data listener's
// certificates chosen by SNI, API Gateway's security policies, apigw's
// local certificate authority, and the client certificates stages present
// to their backends.
package edge

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Certificate is what the TLS listener serves one name with: a certificate
// chain and key, and the security policy of the handshake.
type Certificate struct {
	// Cert is the chain and key; GetCertificate, when set instead, is asked
	// at each handshake (the local CA renews its leaf that way).
	Cert           *tls.Certificate
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Policy is a security policy name; "" means DefaultPolicy.
	Policy string
	// Truststore, when set, makes the handshake mutual: the client must
	// present a certificate the truststore verifies, or it is refused.
	Truststore *Truststore
}

// Certificates is the set of certificates the TLS listener serves, chosen
// by the name the client asks for (SNI): an exact name, else a wildcard
// one label up ("*.example.com" for "api.example.com"), else the default.
// Changes take effect for the next handshake; connections already open
// keep what they negotiated. Custom domains and imported or ACME
// certificates fill it; it is safe for concurrent use.
type Certificates struct {
	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[certTable]
}

type certTable struct {
	names map[string]*tls.Config // lower-case name or "*.parent" → its handshake
	// refused are names whose handshakes fail: a mutual-TLS domain that
	// cannot be served must not fall back to a wildcard's or the default
	// handshake, which would verify its callers against another truststore
	// or none.
	refused map[string]bool
	def     *tls.Config
}

// nextProtos are offered on every handshake: HTTP/2 first, by ALPN.
var nextProtos = []string{"h2", "http/1.1"}

func compileCert(c Certificate) (*tls.Config, error) {
	if c.Cert == nil && c.GetCertificate == nil {
		return nil, errors.New("edge: a certificate needs Cert or GetCertificate")
	}
	name := c.Policy
	if name == "" {
		name = DefaultPolicy
	}
	p, ok := Policy(name)
	if !ok {
		return nil, fmt.Errorf("edge: unknown security policy %q", c.Policy)
	}
	cfg := &tls.Config{NextProtos: nextProtos, GetCertificate: c.GetCertificate}
	if c.Cert != nil {
		cfg.Certificates = []tls.Certificate{*c.Cert}
	}
	p.apply(cfg)
	if ts := c.Truststore; ts != nil {
		if err := requireClientCert(cfg, ts); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// requireClientCert makes cfg's handshakes mutual. Session tickets carry
// the client's certificate, so cfg gets session ticket keys of its own:
// a ticket issued for another domain, or before this domain's truststore
// or certificate changed, does not decrypt and the client goes through a
// full handshake (and the new truststore). The chain is checked in
// VerifyConnection, which runs on resumed sessions too, rather than by
// ClientAuth's own verification. ClientCAs tells clients which
// authorities are wanted.
func requireClientCert(cfg *tls.Config, ts *Truststore) error {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return fmt.Errorf("edge: session ticket key: %w", err)
	}
	cfg.SetSessionTicketKeys([][32]byte{key})
	cfg.ClientAuth = tls.RequireAnyClientCert
	cfg.ClientCAs = ts.pool
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return ts.VerifyClient(cs.PeerCertificates, time.Now())
	}
	return nil
}

func (s *Certificates) table() *certTable {
	if t := s.cur.Load(); t != nil {
		return t
	}
	return &certTable{}
}

// update copies the table, lets f change the copy and publishes it.
func (s *Certificates) update(f func(t *certTable)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.table()
	t := &certTable{names: make(map[string]*tls.Config, len(old.names)+1), refused: make(map[string]bool, len(old.refused)), def: old.def}
	for k, v := range old.names {
		t.names[k] = v
	}
	for k := range old.refused {
		t.refused[k] = true
	}
	f(t)
	s.cur.Store(t)
}

// Put serves name ("api.example.com", or "*.example.com" for one label
// below it) with c, replacing what served it.
func (s *Certificates) Put(name string, c Certificate) error {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || strings.Count(name, "*") > 1 || (strings.Contains(name, "*") && !strings.HasPrefix(name, "*.")) {
		return fmt.Errorf("edge: invalid certificate name %q", name)
	}
	cfg, err := compileCert(c)
	if err != nil {
		return err
	}
	s.update(func(t *certTable) { t.names[name] = cfg; delete(t.refused, name) })
	return nil
}

// Refuse makes every handshake for exactly name fail, with no fallback to
// a wildcard or the default, until name is Put or Removed.
func (s *Certificates) Refuse(name string) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	s.update(func(t *certTable) { delete(t.names, name); t.refused[name] = true })
}

// Remove stops serving name; clients asking for it get the default.
func (s *Certificates) Remove(name string) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	s.update(func(t *certTable) { delete(t.names, name); delete(t.refused, name) })
}

// SetDefault serves c to clients whose name matches nothing, and to those
// that send no name (an IP address).
func (s *Certificates) SetDefault(c Certificate) error {
	cfg, err := compileCert(c)
	if err != nil {
		return err
	}
	s.update(func(t *certTable) { t.def = cfg })
	return nil
}

// ConfigForClient is the listener's tls.Config.GetConfigForClient: the
// handshake (certificate, versions, suites) of the name the client asked
// for.
func (s *Certificates) ConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	t := s.table()
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" {
		if cfg := t.names[name]; cfg != nil {
			return cfg, nil
		}
		if t.refused[name] {
			return nil, fmt.Errorf("edge: %q is a mutual TLS domain that cannot be served now", hello.ServerName)
		}
		if _, parent, ok := strings.Cut(name, "."); ok {
			if cfg := t.names["*."+parent]; cfg != nil {
				return cfg, nil
			}
		}
	}
	if t.def != nil {
		return t.def, nil
	}
	return nil, fmt.Errorf("edge: no certificate for %q", hello.ServerName)
}

// TLSConfig is the listener's configuration: every handshake is decided by
// ConfigForClient.
func (s *Certificates) TLSConfig() *tls.Config {
	return &tls.Config{NextProtos: nextProtos, GetConfigForClient: s.ConfigForClient, MinVersion: tls.VersionTLS10}
}
