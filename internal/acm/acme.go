package acm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
	"go.uber.org/zap"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// LetsEncryptDirectory is the ACME directory RequestCertificate uses by
// default: Let's Encrypt's production CA.
const LetsEncryptDirectory = certmagic.LetsEncryptProductionCA

// The ACME challenges apigw answers, on its own listeners.
const (
	ChallengeHTTP01    = acme.ChallengeTypeHTTP01    // on the data listener(s), port 80 to the CA
	ChallengeTLSALPN01 = acme.ChallengeTypeTLSALPN01 // on the TLS listener, port 443 to the CA
)

// acmeChallengePath starts the URL path of HTTP-01 requests.
const acmeChallengePath = "/.well-known/acme-challenge/"

// ACME obtains the certificates RequestCertificate asks for from an ACME
// CA (certmagic does the protocol) and renews them before they expire.
// Its state (account, challenges in flight, locks) is in the store, so
// every node of a cluster answers challenges and one node at a time works
// on a certificate. Run does the work; HTTPChallenges and TLSChallenges
// answer the CA on apigw's listeners.
type ACME struct {
	Store store.Store
	// Directory is the ACME directory URL (LetsEncryptDirectory if "").
	Directory string
	Email     string
	// Roots verify the ACME server's HTTPS certificate (nil: the system's).
	Roots *x509.CertPool
	// HTTPAddr is the data listener's address (HTTP-01), TLSAddr the TLS
	// listener's ("" if none: then every certificate uses HTTP-01).
	HTTPAddr, TLSAddr string
	Seal              func(plaintext []byte, aad string) ([]byte, error)
	Open              func(sealed []byte, aad string) ([]byte, error)
	// Committed runs after a certificate changed (the server serves it).
	Committed func(ctx context.Context)
	Log       *slog.Logger
	Now       func() time.Time

	initOnce sync.Once
	initErr  error
	storage  *Storage
	magic    *certmagic.Config
	cache    *certmagic.Cache
	issuers  map[string]*certmagic.ACMEIssuer // challenge type → its issuer
	wake     chan struct{}
}

func (a *ACME) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *ACME) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Init sets certmagic up; the other methods call it too.
func (a *ACME) Init() error {
	a.initOnce.Do(func() { a.initErr = a.init() })
	return a.initErr
}

func (a *ACME) init() error {
	a.wake = make(chan struct{}, 1)
	a.storage = &Storage{Records: a.Store, Seal: a.Seal, Open: a.Open, Now: a.Now}
	var magic *certmagic.Config
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return magic, nil },
		Logger:           zap.NewNop(),
	})
	magic = certmagic.New(a.cache, certmagic.Config{Storage: a.storage, Logger: zap.NewNop()})
	dir := a.Directory
	if dir == "" {
		dir = LetsEncryptDirectory
	}
	a.issuers = map[string]*certmagic.ACMEIssuer{}
	for _, ch := range []string{ChallengeHTTP01, ChallengeTLSALPN01} {
		addr := a.HTTPAddr
		if ch == ChallengeTLSALPN01 {
			addr = a.TLSAddr
		}
		if addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("acme: listener address %q: %w", addr, err)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = ""
		}
		p, _ := strconv.Atoi(port)
		// The listener is apigw's own, bound already: certmagic sees the
		// port taken and leaves answering to HTTPChallenges/TLSChallenges.
		tmpl := certmagic.ACMEIssuer{CA: dir, TestCA: dir, Email: a.Email, Agreed: true, TrustedRoots: a.Roots,
			ListenHost: host, DisableHTTPChallenge: ch != ChallengeHTTP01, DisableTLSALPNChallenge: ch != ChallengeTLSALPN01,
			Logger: zap.NewNop()}
		if ch == ChallengeHTTP01 {
			tmpl.AltHTTPPort = p
		} else {
			tmpl.AltTLSALPNPort = p
		}
		a.issuers[ch] = certmagic.NewACMEIssuer(magic, tmpl)
	}
	if a.issuers[ChallengeHTTP01] == nil {
		return errors.New("acme: no data listener to answer HTTP-01 on")
	}
	issuers := []certmagic.Issuer{a.issuers[ChallengeHTTP01]}
	if iss := a.issuers[ChallengeTLSALPN01]; iss != nil {
		issuers = append(issuers, iss)
	}
	magic.Issuers = issuers
	a.magic = magic
	return nil
}

// Challenge is the ACME challenge a certificate asked for with
// validationMethod is validated by: HTTP-01 for HTTP, else TLS-ALPN-01
// when there is a TLS listener (AWS's DNS and EMAIL have no ACME
// equivalent apigw can answer by itself).
func (a *ACME) Challenge(validationMethod string) string {
	if validationMethod == "HTTP" || a.TLSAddr == "" {
		return ChallengeHTTP01
	}
	return ChallengeTLSALPN01
}

// Wake makes Run look at the certificates now (one was requested).
func (a *ACME) Wake() {
	if a.Init() != nil {
		return
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// HTTPChallenges answers the CA's HTTP-01 requests
// (/.well-known/acme-challenge/{token}, for a challenge of this node or
// another one) before next sees them.
func (a *ACME) HTTPChallenges(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, acmeChallengePath) && a.Init() == nil &&
			a.issuers[ChallengeHTTP01].HandleHTTPChallenge(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TLSChallenges wraps a listener's GetConfigForClient: a handshake of the
// CA's TLS-ALPN-01 validation (ALPN acme-tls/1 alone, RFC 8737) gets the
// challenge's certificate; every other handshake goes to next.
func (a *ACME) TLSChallenges(next func(*tls.ClientHelloInfo) (*tls.Config, error)) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if hello.ServerName != "" && len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmez.ACMETLS1Protocol &&
			a.Init() == nil {
			return &tls.Config{NextProtos: []string{acmez.ACMETLS1Protocol}, MinVersion: tls.VersionTLS12,
				GetCertificate: a.magic.GetCertificate}, nil
		}
		return next(hello)
	}
}

// Run obtains requested certificates and renews issued ones until ctx
// ends: at once for a new request (Wake), else when the next one is due.
func (a *ACME) Run(ctx context.Context) {
	if err := a.Init(); err != nil {
		a.log().Error("acme: not started", "err", err)
		return
	}
	defer a.cache.Stop()
	for {
		next := a.pass(ctx)
		wait := min(max(next.Sub(a.now()), time.Second), 10*time.Minute)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// dueAt is when a requested certificate needs work: now while pending,
// at certmagic's renewal window (the last third of its life) when
// issued, and again some time after a failed renewal.
func dueAt(rec *model.CertificateRecord) (time.Time, bool) {
	st := rec.ACME
	switch {
	case st == nil || st.Status == "FAILED":
		return time.Time{}, false
	case st.Status == "PENDING_VALIDATION":
		return time.Time{}, true
	}
	life := time.Duration(rec.NotAfter-rec.NotBefore) * time.Second
	due := time.Unix(rec.NotAfter, 0).Add(-time.Duration(float64(life) * certmagic.DefaultRenewalWindowRatio))
	if st.RenewalStatus == "FAILED" {
		retry := time.Unix(st.RenewalUpdatedAt, 0).Add(min(max(life/10, time.Second), time.Hour))
		if retry.After(due) {
			due = retry
		}
	}
	return due, true
}

// pass works on every due certificate and tells when the next is due.
func (a *ACME) pass(ctx context.Context) time.Time {
	next := a.now().Add(10 * time.Minute)
	items, err := a.Store.List(ctx, model.KindCertificate, "")
	if err != nil {
		a.log().Error("acme: list certificates", "err", err)
		return a.now().Add(time.Minute)
	}
	for _, it := range items {
		rec := new(model.CertificateRecord)
		if json.Unmarshal(it.Value, rec) != nil {
			continue
		}
		due, ok := dueAt(rec)
		if !ok {
			continue
		}
		if !due.After(a.now()) {
			if worked := a.obtain(ctx, rec.ID); !worked {
				// Another node has it; look again when its lock may be gone.
				due = a.now().Add(a.storage.lease())
			} else if rec, err := a.load(ctx, rec.ID); err == nil {
				due, ok = dueAt(rec)
				if !ok {
					continue
				}
			}
		}
		if due.Before(next) {
			next = due
		}
	}
	return next
}

func (a *ACME) load(ctx context.Context, id string) (*model.CertificateRecord, error) {
	b, err := a.Store.Get(ctx, model.KindCertificate, id)
	if err != nil {
		return nil, err
	}
	rec := new(model.CertificateRecord)
	return rec, json.Unmarshal(b, rec)
}

// obtain gets certificate id from the CA if it is still due, under the
// certificate's lock; false means another worker holds the lock.
func (a *ACME) obtain(ctx context.Context, id string) bool {
	lock := "acm-certificate-" + id
	ok, err := a.storage.TryLock(ctx, lock)
	if err != nil {
		a.log().Error("acme: lock", "certificate", id, "err", err)
		return false
	}
	if !ok {
		return false
	}
	defer a.storage.Unlock(ctx, lock)
	rec, err := a.load(ctx, id)
	if err != nil {
		return true // deleted meanwhile
	}
	if due, ok := dueAt(rec); !ok || due.After(a.now()) {
		return true // done by another node meanwhile
	}
	renewal := rec.ACME.Status == "ISSUED"
	if renewal {
		a.save(ctx, id, func(r *model.CertificateRecord) {
			r.ACME.RenewalStatus, r.ACME.RenewalStatusReason, r.ACME.RenewalUpdatedAt = "PENDING_AUTO_RENEWAL", "", a.now().Unix()
		})
	}
	imp, err := a.issue(ctx, rec)
	if err != nil {
		reason := failureReason(err)
		a.log().Error("acme: certificate not obtained", "certificate", rec.Arn, "names", rec.ACME.Names,
			"challenge", rec.ACME.Challenge, "renewal", renewal, "failureReason", reason, "err", err)
		a.save(ctx, id, func(r *model.CertificateRecord) {
			if renewal {
				r.ACME.RenewalStatus, r.ACME.RenewalStatusReason, r.ACME.RenewalUpdatedAt = "FAILED", reason, a.now().Unix()
			} else {
				r.ACME.Status, r.ACME.FailureReason = "FAILED", reason
			}
		})
		return true
	}
	a.save(ctx, id, func(r *model.CertificateRecord) {
		st := *r.ACME
		st.Status, st.FailureReason, st.IssuedAt = "ISSUED", "", a.now().Unix()
		if renewal {
			st.RenewalStatus, st.RenewalStatusReason, st.RenewalUpdatedAt = "SUCCESS", "", a.now().Unix()
		}
		next := imp.record(r.ID, r.Arn)
		next.DomainName, next.SubjectAlternativeNames = st.Names[0], append([]string{}, st.Names...)
		next.CreatedAt, next.Tags, next.ACME = r.CreatedAt, r.Tags, &st
		sealed, err := a.Seal(imp.KeyDER, model.CertificateAAD(r.ID))
		if err != nil {
			a.log().Error("acme: seal the certificate's key", "certificate", r.Arn, "err", err)
			return
		}
		next.SealedPrivateKey = sealed
		*r = *next
	})
	a.log().Info("acme: certificate obtained", "certificate", rec.Arn, "names", rec.ACME.Names, "challenge", rec.ACME.Challenge,
		"renewal", renewal, "notAfter", imp.Leaf.NotAfter)
	return true
}

// save changes certificate id in the store (if it still exists) and makes
// the change live.
func (a *ACME) save(ctx context.Context, id string, change func(r *model.CertificateRecord)) {
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(ctx, model.KindCertificate, id)
		if err != nil {
			return err
		}
		rec := new(model.CertificateRecord)
		if err := json.Unmarshal(b, rec); err != nil {
			return err
		}
		if rec.ACME == nil {
			return errors.New("no longer a requested certificate")
		}
		change(rec)
		if b, err = json.Marshal(rec); err != nil {
			return err
		}
		return tx.Put(ctx, model.KindCertificate, id, b)
	})
	if errors.Is(err, store.ErrNotFound) {
		return // deleted while we worked
	}
	if err != nil {
		a.log().Error("acme: save certificate", "certificate", id, "err", err)
		return
	}
	if a.Committed != nil {
		a.Committed(ctx)
	}
}

// issue makes a key and asks the CA for a certificate of rec's names.
func (a *ACME) issue(ctx context.Context, rec *model.CertificateRecord) (*Import, error) {
	st := rec.ACME
	iss := a.issuers[st.Challenge]
	if iss == nil {
		return nil, fmt.Errorf("acme: %s cannot be answered here (no listener for it)", st.Challenge)
	}
	key, err := newKey(st.KeyAlgorithm)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{DNSNames: st.Names}
	if len(st.Names[0]) <= 64 {
		tmpl.Subject = pkix.Name{CommonName: st.Names[0]}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("acme: CSR: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("acme: CSR: %w", err)
	}
	ic, err := iss.Issue(ctx, csr)
	if err != nil {
		return nil, err
	}
	var leaf *x509.Certificate
	var leafPEM, chain strings.Builder
	for rest := ic.Certificate; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if leaf == nil {
			if leaf, err = x509.ParseCertificate(b.Bytes); err != nil {
				return nil, fmt.Errorf("acme: the CA's certificate: %w", err)
			}
			pem.Encode(&leafPEM, b)
			continue
		}
		pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes})
	}
	if leaf == nil {
		return nil, errors.New("acme: the CA sent no certificate")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Import{Leaf: leaf, CertPEM: leafPEM.String(), ChainPEM: strings.TrimSuffix(chain.String(), "\n"), KeyDER: keyDER}, nil
}

// requestKeyAlgorithms are the key algorithms RequestCertificate takes
// (ACME CAs issue for these; Let's Encrypt refuses P-521 and RSA 1024).
var requestKeyAlgorithms = []string{"RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1"}

func newKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "RSA_2048", "":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "RSA_3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "RSA_4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	case "EC_prime256v1":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EC_secp384r1":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	return nil, fmt.Errorf("acme: key algorithm %s not supported", alg)
}

// failureReason is ACM's FailureReason for an ACME error.
func failureReason(err error) string {
	var p acme.Problem
	if !errors.As(err, &p) {
		var pp *acme.Problem
		if !errors.As(err, &pp) || pp == nil {
			return "OTHER"
		}
		p = *pp
	}
	types := []string{p.Type}
	for _, sub := range p.Subproblems {
		types = append(types, sub.Type)
	}
	for _, t := range types {
		switch t {
		case acme.ProblemTypeRejectedIdentifier, acme.ProblemTypeUnsupportedIdentifier:
			return "DOMAIN_NOT_ALLOWED"
		case acme.ProblemTypeCAA:
			return "CAA_ERROR"
		case acme.ProblemTypeUnauthorized, acme.ProblemTypeIncorrectResponse, acme.ProblemTypeConnection,
			acme.ProblemTypeDNS, acme.ProblemTypeTLS:
			return "DOMAIN_VALIDATION_DENIED"
		case acme.ProblemTypeInvalidContact, acme.ProblemTypeUnsupportedContact:
			return "NO_AVAILABLE_CONTACTS"
		case acme.ProblemTypeUserActionRequired, acme.ProblemTypeExternalAccountRequired:
			return "ADDITIONAL_VERIFICATION_REQUIRED"
		}
	}
	return "OTHER"
}
