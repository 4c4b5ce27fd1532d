// Package acm serves the part of AWS Certificate Manager that API Gateway
// custom domains need: certificates imported as PEM (any CA), described,
// listed, exported without their key and deleted, on the admin listener
// (JSON 1.1, X-Amz-Target: CertificateManager.{Operation}). Private keys
// are sealed at rest with the master key.
package acm

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/edge"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/pagetoken"
	"github.com/apigw/apigw/internal/store"
)

// MaxBodyBytes bounds a request body (a certificate, its chain and key).
const MaxBodyBytes = 1 << 20

// Service is the ACM API over the store.
type Service struct {
	Store     store.Store
	AccountID string
	Region    string
	// Seal encrypts a private key at rest, bound to aad.
	Seal func(plaintext []byte, aad string) ([]byte, error)
	// Authorize checks that the caller of r may do action ("acm:...") on
	// resource; nil allows everything.
	Authorize func(r *http.Request, action, resource string) error
	// Committed, if set, runs after a change and before its answer (the
	// server makes the change live at once).
	Committed func(ctx context.Context)
	Now       func() time.Time
	Log       *slog.Logger
	// ACME obtains what RequestCertificate asks for; nil refuses it.
	ACME *ACME
}

// Error is an ACM error: its type (the __type of the body) and message.
type Error struct {
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func validation(msg string) *Error { return &Error{"ValidationException", msg} }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// operation is one ACM operation: its IAM action is "acm:" + its name.
type operation func(s *Service, r *http.Request, body []byte) (any, error)

var operations = map[string]operation{
	"ImportCertificate":   (*Service).importCertificate,
	"DescribeCertificate": (*Service).describeCertificate,
	"ListCertificates":    (*Service).listCertificates,
	"GetCertificate":      (*Service).getCertificate,
	"DeleteCertificate":   (*Service).deleteCertificate,
	"RequestCertificate":  (*Service).requestCertificate,
}

// Handler serves the ACM operations; the caller is authenticated already.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		name, ok := strings.CutPrefix(target, "CertificateManager.")
		op := operations[name]
		if r.Method != http.MethodPost || !ok || op == nil {
			writeError(w, http.StatusBadRequest, &Error{"UnknownOperationException", "Unknown operation " + target})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, validation("Request body too large"))
			return
		}
		if s.Authorize != nil {
			if err := s.Authorize(r, "acm:"+name, s.resourceOf(body)); err != nil {
				writeError(w, http.StatusBadRequest, &Error{"AccessDeniedException", err.Error()})
				return
			}
		}
		out, err := op(s, r, body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				s.log().ErrorContext(r.Context(), "acm operation failed", "operation", name, "err", err)
				writeError(w, http.StatusInternalServerError, &Error{"InternalFailure", "Internal server error"})
				return
			}
			writeError(w, http.StatusBadRequest, e)
			return
		}
		if name != "ListCertificates" && name != "DescribeCertificate" && name != "GetCertificate" && s.Committed != nil {
			s.Committed(r.Context())
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if out == nil {
			out = struct{}{}
		}
		b, _ := json.Marshal(out)
		w.Write(b)
	})
}

// resourceOf is the ARN an operation acts on: the certificate named in the
// body, else every certificate of the account.
func (s *Service) resourceOf(body []byte) string {
	var in struct{ CertificateArn string }
	if json.Unmarshal(body, &in) == nil && in.CertificateArn != "" {
		return in.CertificateArn
	}
	return "arn:aws:acm:" + s.Region + ":" + s.AccountID + ":certificate/*"
}

func writeError(w http.ResponseWriter, status int, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	w.Write(b)
}

func decode(body []byte, v any) error {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{"SerializationException", "Start of structure or map found where not expected."}
	}
	return nil
}

func (s *Service) arn(id string) string {
	return "arn:aws:acm:" + s.Region + ":" + s.AccountID + ":certificate/" + id
}

// load reads the certificate arn names, refusing an ARN that is not one.
func (s *Service) load(ctx context.Context, rd store.Reader, arn string) (*model.CertificateRecord, error) {
	if arn == "" {
		return nil, validation("1 validation error detected: Value null at 'certificateArn' failed to satisfy constraint: Member must not be null")
	}
	id := model.CertificateIDFromArn(arn)
	if id == "" {
		return nil, &Error{"InvalidArnException", fmt.Sprintf("String '%s' is not a valid ARN.", arn)}
	}
	b, err := rd.Get(ctx, model.KindCertificate, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.notFound(arn)
	}
	if err != nil {
		return nil, err
	}
	rec := new(model.CertificateRecord)
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("acm: decode certificate %s: %w", id, err)
	}
	if rec.Arn != arn {
		return nil, s.notFound(arn) // another region's or account's ARN
	}
	return rec, nil
}

func (s *Service) notFound(arn string) *Error {
	return &Error{"ResourceNotFoundException", fmt.Sprintf("Could not find certificate %s.", arn)}
}

type tag struct {
	Key   string
	Value string `json:",omitempty"`
}

func (s *Service) importCertificate(r *http.Request, body []byte) (any, error) {
	var in struct {
		CertificateArn   string
		Certificate      []byte
		PrivateKey       []byte
		CertificateChain []byte
		Tags             []tag
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	parsed, err := ParseImport(in.Certificate, in.PrivateKey, in.CertificateChain)
	if err != nil {
		return nil, err
	}
	if in.CertificateArn != "" && len(in.Tags) > 0 {
		return nil, &Error{"InvalidParameterException", "Tags cannot be applied while reimporting a certificate."}
	}
	if s.Seal == nil {
		return nil, errors.New("acm: no sealer for private keys")
	}
	ctx := r.Context()
	now := s.now().Unix()
	var rec *model.CertificateRecord
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		if in.CertificateArn != "" {
			old, err := s.load(ctx, tx, in.CertificateArn)
			if err != nil {
				return err
			}
			if old.ACME != nil {
				return validation("Certificate " + old.Arn + " was issued by ACM (RequestCertificate): only an imported certificate can be reimported.")
			}
			rec = parsed.record(old.ID, old.Arn)
			rec.CreatedAt, rec.Tags = old.CreatedAt, old.Tags
		} else {
			id := newUUID()
			rec = parsed.record(id, s.arn(id))
			rec.CreatedAt = now
			for _, t := range in.Tags {
				if rec.Tags == nil {
					rec.Tags = map[string]string{}
				}
				rec.Tags[t.Key] = t.Value
			}
		}
		rec.ImportedAt = now
		sealed, err := s.Seal(parsed.KeyDER, model.CertificateAAD(rec.ID))
		if err != nil {
			return err
		}
		rec.SealedPrivateKey = sealed
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return tx.Put(ctx, model.KindCertificate, rec.ID, b)
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"CertificateArn": rec.Arn}, nil
}

// detail is ACM's CertificateDetail.
type detail struct {
	CertificateArn          string
	DomainName              string
	SubjectAlternativeNames []string           `json:",omitempty"`
	DomainValidationOptions []domainValidation `json:",omitempty"`
	Serial                  string             `json:",omitempty"`
	Subject                 string             `json:",omitempty"`
	Issuer                  string             `json:",omitempty"`
	CreatedAt               int64
	ImportedAt              int64 `json:",omitempty"`
	IssuedAt                int64 `json:",omitempty"`
	Status                  string
	FailureReason           string `json:",omitempty"`
	NotBefore               int64  `json:",omitempty"`
	NotAfter                int64  `json:",omitempty"`
	KeyAlgorithm            string
	SignatureAlgorithm      string `json:",omitempty"`
	InUseBy                 []string
	Type                    string
	RenewalSummary          *renewalSummary `json:",omitempty"`
	KeyUsages               []nameField     `json:",omitempty"`
	ExtendedKeyUsages       []eku           `json:",omitempty"`
	RenewalEligibility      string
	Options                 map[string]string
}

// domainValidation is ACM's DomainValidation: apigw validates each name
// by the ACME challenge on its own listener, so there is no DNS record or
// email to show.
type domainValidation struct {
	DomainName       string
	ValidationDomain string
	ValidationStatus string
	ValidationMethod string
}

type renewalSummary struct {
	RenewalStatus           string
	DomainValidationOptions []domainValidation
	RenewalStatusReason     string `json:",omitempty"`
	UpdatedAt               int64
}

// certType is AMAZON_ISSUED for a requested certificate, else IMPORTED.
func certType(rec *model.CertificateRecord) string {
	if rec.ACME != nil {
		return "AMAZON_ISSUED"
	}
	return "IMPORTED"
}

func renewalEligibility(rec *model.CertificateRecord) string {
	if rec.ACME != nil && rec.ACME.Status == "ISSUED" {
		return "ELIGIBLE"
	}
	return "INELIGIBLE"
}

func validations(st *model.ACMEState, status string) []domainValidation {
	out := make([]domainValidation, len(st.Names))
	for i, n := range st.Names {
		out[i] = domainValidation{DomainName: n, ValidationDomain: n, ValidationStatus: status, ValidationMethod: st.ValidationMethod}
	}
	return out
}

type nameField struct{ Name string }

type eku struct {
	Name string
	OID  string
}

func status(rec *model.CertificateRecord, now time.Time) string {
	if rec.ACME != nil && rec.ACME.Status != "ISSUED" {
		return rec.ACME.Status
	}
	if now.Unix() > rec.NotAfter {
		return "EXPIRED"
	}
	return "ISSUED"
}

func (s *Service) describeCertificate(r *http.Request, body []byte) (any, error) {
	var in struct{ CertificateArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	rec, err := s.load(ctx, s.Store, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	users, err := InUseBy(ctx, s.Store, rec.Arn, s.Region, s.AccountID)
	if err != nil {
		return nil, err
	}
	d := &detail{CertificateArn: rec.Arn, DomainName: rec.DomainName, SubjectAlternativeNames: rec.SubjectAlternativeNames,
		Serial: rec.Serial, Subject: rec.Subject, Issuer: rec.Issuer, CreatedAt: rec.CreatedAt, ImportedAt: rec.ImportedAt,
		Status: status(rec, s.now()), NotBefore: rec.NotBefore, NotAfter: rec.NotAfter, KeyAlgorithm: rec.KeyAlgorithm,
		SignatureAlgorithm: rec.SignatureAlgorithm, InUseBy: users, Type: certType(rec), RenewalEligibility: renewalEligibility(rec),
		Options: map[string]string{"CertificateTransparencyLoggingPreference": "DISABLED"}}
	if st := rec.ACME; st != nil {
		vs := map[string]string{"PENDING_VALIDATION": "PENDING_VALIDATION", "ISSUED": "SUCCESS", "FAILED": "FAILED"}[st.Status]
		d.DomainValidationOptions = validations(st, vs)
		d.IssuedAt, d.FailureReason = st.IssuedAt, st.FailureReason
		if st.RenewalStatus != "" {
			rvs := map[string]string{"PENDING_AUTO_RENEWAL": "PENDING_VALIDATION", "SUCCESS": "SUCCESS", "FAILED": "FAILED"}[st.RenewalStatus]
			d.RenewalSummary = &renewalSummary{RenewalStatus: st.RenewalStatus, DomainValidationOptions: validations(st, rvs),
				RenewalStatusReason: st.RenewalStatusReason, UpdatedAt: st.RenewalUpdatedAt}
		}
	}
	for _, k := range rec.KeyUsages {
		d.KeyUsages = append(d.KeyUsages, nameField{k})
	}
	for _, k := range rec.ExtendedKeyUsages {
		d.ExtendedKeyUsages = append(d.ExtendedKeyUsages, eku{k, ekuOIDs[k]})
	}
	return map[string]any{"Certificate": d}, nil
}

// InUseBy lists the ARNs of the custom domain names that serve the
// certificate arn, sorted.
func InUseBy(ctx context.Context, rd store.Reader, arn, region, account string) ([]string, error) {
	items, err := rd.List(ctx, model.KindDomainName, "")
	if err != nil {
		return nil, err
	}
	users := []string{}
	for _, it := range items {
		var d model.DomainName
		if err := json.Unmarshal(it.Value, &d); err != nil {
			return nil, fmt.Errorf("acm: decode domain name %s: %w", it.Key, err)
		}
		if d.CertificateArn == arn || d.RegionalCertificateArn == arn {
			users = append(users, "arn:aws:apigateway:"+region+"::/domainnames/"+d.DomainName)
		}
	}
	sort.Strings(users)
	return users, nil
}

func (s *Service) listCertificates(r *http.Request, body []byte) (any, error) {
	var in struct {
		CertificateStatuses []string
		Includes            struct {
			KeyTypes []string `json:"keyTypes"`
		}
		NextToken string
		MaxItems  *int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit := 1000
	if in.MaxItems != nil {
		if *in.MaxItems < 1 || *in.MaxItems > 1000 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", *in.MaxItems))
		}
		limit = *in.MaxItems
	}
	// Without keyTypes ACM lists RSA certificates of 1024 and 2048 bits only.
	keyTypes := in.Includes.KeyTypes
	if len(keyTypes) == 0 {
		keyTypes = []string{"RSA_1024", "RSA_2048"}
	}
	ctx := r.Context()
	items, err := s.Store.List(ctx, model.KindCertificate, "")
	if err != nil {
		return nil, err
	}
	var after string
	if in.NextToken != "" {
		var ok bool
		if after, ok = pagetoken.Decode(in.NextToken); !ok {
			return nil, &Error{"InvalidNextTokenException", "The nextToken is invalid."}
		}
	}
	now := s.now()
	type summary struct {
		CertificateArn                  string
		DomainName                      string
		SubjectAlternativeNameSummaries []string
		Status                          string
		Type                            string
		KeyAlgorithm                    string
		InUse                           bool
		RenewalEligibility              string
		NotBefore                       int64 `json:",omitempty"`
		NotAfter                        int64 `json:",omitempty"`
		CreatedAt                       int64
		ImportedAt                      int64 `json:",omitempty"`
		IssuedAt                        int64 `json:",omitempty"`
	}
	out := struct {
		CertificateSummaryList []summary
		NextToken              string `json:",omitempty"`
	}{CertificateSummaryList: []summary{}}
	sort.Slice(items, func(i, j int) bool { return items[i].Key < items[j].Key })
	last := ""
	for _, it := range items {
		if it.Key <= after && after != "" {
			continue
		}
		rec := new(model.CertificateRecord)
		if err := json.Unmarshal(it.Value, rec); err != nil {
			return nil, fmt.Errorf("acm: decode certificate %s: %w", it.Key, err)
		}
		st := status(rec, now)
		if len(in.CertificateStatuses) > 0 && !contains(in.CertificateStatuses, st) || !contains(keyTypes, rec.KeyAlgorithm) {
			continue
		}
		if len(out.CertificateSummaryList) == limit {
			out.NextToken = pagetoken.Encode(last)
			break
		}
		last = it.Key
		users, err := InUseBy(ctx, s.Store, rec.Arn, s.Region, s.AccountID)
		if err != nil {
			return nil, err
		}
		out.CertificateSummaryList = append(out.CertificateSummaryList, summary{CertificateArn: rec.Arn, DomainName: rec.DomainName,
			SubjectAlternativeNameSummaries: rec.SubjectAlternativeNames, Status: st, Type: certType(rec), KeyAlgorithm: rec.KeyAlgorithm,
			InUse: len(users) > 0, RenewalEligibility: renewalEligibility(rec), NotBefore: rec.NotBefore, NotAfter: rec.NotAfter,
			CreatedAt: rec.CreatedAt, ImportedAt: rec.ImportedAt, IssuedAt: issuedAt(rec)})
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Service) getCertificate(r *http.Request, body []byte) (any, error) {
	var in struct{ CertificateArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	rec, err := s.load(r.Context(), s.Store, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	switch status(rec, s.now()) {
	case "PENDING_VALIDATION":
		return nil, &Error{"RequestInProgressException", "Certificate " + rec.Arn + " is not yet issued, its request is in progress."}
	case "FAILED":
		return nil, &Error{"InvalidStateException", "Certificate " + rec.Arn + " failed to be issued: " + rec.ACME.FailureReason}
	}
	out := map[string]string{"Certificate": rec.Certificate}
	if rec.CertificateChain != "" {
		out["CertificateChain"] = rec.CertificateChain
	}
	return out, nil
}

func (s *Service) deleteCertificate(r *http.Request, body []byte) (any, error) {
	var in struct{ CertificateArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := s.load(ctx, tx, in.CertificateArn)
		if err != nil {
			return err
		}
		users, err := InUseBy(ctx, tx, rec.Arn, s.Region, s.AccountID)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return &Error{"ResourceInUseException", fmt.Sprintf("Certificate %s in use.", rec.Arn)}
		}
		return tx.Delete(ctx, model.KindCertificate, rec.ID)
	})
	return nil, err
}

// Import is a certificate checked for ImportCertificate.
type Import struct {
	Leaf     *x509.Certificate
	CertPEM  string
	ChainPEM string
	KeyDER   []byte // PKCS #8
}

// ParseImport checks what ImportCertificate was given, with ACM's
// complaints: one PEM certificate, an unencrypted key of a supported
// algorithm that matches it, and a chain of PEM certificates.
func ParseImport(certPEM, keyPEM, chainPEM []byte) (*Import, error) {
	if len(certPEM) == 0 {
		return nil, validation("1 validation error detected: Value null at 'certificate' failed to satisfy constraint: Member must not be null")
	}
	if len(keyPEM) == 0 {
		return nil, validation("1 validation error detected: Value null at 'privateKey' failed to satisfy constraint: Member must not be null")
	}
	b, rest := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, validation("Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, validation("The certificate field contains more than one certificate. You can specify only one certificate in this field.")
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, validation("Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, validation("Unable to parse key. Please ensure the key is in PEM format.")
	}
	if kb.Type == "ENCRYPTED PRIVATE KEY" || kb.Headers["Proc-Type"] != "" {
		return nil, validation("Your private key should not be encrypted.")
	}
	var key any
	switch kb.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	default:
		err = errors.New("unknown key type")
	}
	if err != nil {
		return nil, validation("The private key is not supported.")
	}
	if _, ok := key.(ed25519.PrivateKey); ok {
		return nil, validation("The private key is not supported.")
	}
	if !edge.KeyMatches(leaf.PublicKey, key) {
		return nil, validation("The private key does not match the public key in the certificate.")
	}
	if k, ok := key.(*rsa.PrivateKey); ok && k.N.BitLen() < 1024 {
		return nil, validation("The private key length is not supported for key algorithm.")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, validation("The private key is not supported.")
	}
	var chain strings.Builder
	for rest := chainPEM; len(strings.TrimSpace(string(rest))) > 0; {
		var cb *pem.Block
		cb, rest = pem.Decode(rest)
		if cb == nil || cb.Type != "CERTIFICATE" {
			return nil, validation("The certificate chain provided is not in a valid PEM format.")
		}
		if _, err := x509.ParseCertificate(cb.Bytes); err != nil {
			return nil, validation("Unable to parse certificate chain. Please ensure the certificate chain is in PEM format.")
		}
		chain.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cb.Bytes}))
	}
	return &Import{Leaf: leaf, CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})),
		ChainPEM: strings.TrimSuffix(chain.String(), "\n"), KeyDER: keyDER}, nil
}

func (p *Import) record(id, arn string) *model.CertificateRecord {
	l := p.Leaf
	rec := &model.CertificateRecord{ID: id, Arn: arn, DomainName: l.Subject.CommonName,
		SubjectAlternativeNames: append([]string{}, l.DNSNames...), Serial: serial(l.SerialNumber.Bytes()),
		Subject: l.Subject.String(), Issuer: issuerName(l), NotBefore: l.NotBefore.Unix(), NotAfter: l.NotAfter.Unix(),
		KeyAlgorithm: keyAlgorithm(l), SignatureAlgorithm: signatureAlgorithm(l.SignatureAlgorithm),
		Certificate: strings.TrimSuffix(p.CertPEM, "\n"), CertificateChain: p.ChainPEM}
	if rec.DomainName == "" && len(l.DNSNames) > 0 {
		rec.DomainName = l.DNSNames[0]
	}
	for bit, name := range keyUsageNames {
		if l.KeyUsage&bit != 0 {
			rec.KeyUsages = append(rec.KeyUsages, name)
		}
	}
	sort.Strings(rec.KeyUsages)
	for _, u := range l.ExtKeyUsage {
		if n, ok := ekuNames[u]; ok {
			rec.ExtendedKeyUsages = append(rec.ExtendedKeyUsages, n)
		}
	}
	return rec
}

// issuerName is the issuer's organization, as ACM reports it, else its
// common name.
func issuerName(l *x509.Certificate) string {
	if len(l.Issuer.Organization) > 0 {
		return l.Issuer.Organization[0]
	}
	return l.Issuer.CommonName
}

func serial(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	return strings.Join(parts, ":")
}

// signatureAlgorithm is ACM's name of a signature algorithm
// ("SHA256WITHRSA", "SHA384WITHECDSA").
func signatureAlgorithm(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.SHA256WithRSA, x509.SHA256WithRSAPSS:
		return "SHA256WITHRSA"
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS:
		return "SHA384WITHRSA"
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS:
		return "SHA512WITHRSA"
	case x509.ECDSAWithSHA256:
		return "SHA256WITHECDSA"
	case x509.ECDSAWithSHA384:
		return "SHA384WITHECDSA"
	case x509.ECDSAWithSHA512:
		return "SHA512WITHECDSA"
	}
	return strings.ToUpper(strings.ReplaceAll(a.String(), "-", "WITH"))
}

func keyAlgorithm(l *x509.Certificate) string {
	switch k := l.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA_%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return "EC_prime256v1"
		case 384:
			return "EC_secp384r1"
		case 521:
			return "EC_secp521r1"
		}
	}
	return "UNKNOWN"
}

var keyUsageNames = map[x509.KeyUsage]string{
	x509.KeyUsageDigitalSignature: "DIGITAL_SIGNATURE", x509.KeyUsageContentCommitment: "NON_REPUDIATION",
	x509.KeyUsageKeyEncipherment: "KEY_ENCIPHERMENT", x509.KeyUsageDataEncipherment: "DATA_ENCIPHERMENT",
	x509.KeyUsageKeyAgreement: "KEY_AGREEMENT", x509.KeyUsageCertSign: "CERTIFICATE_SIGNING",
	x509.KeyUsageCRLSign: "CRL_SIGNING", x509.KeyUsageEncipherOnly: "ENCIPHER_ONLY", x509.KeyUsageDecipherOnly: "DECIPHER_ONLY",
}

var ekuNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageServerAuth: "TLS_WEB_SERVER_AUTHENTICATION", x509.ExtKeyUsageClientAuth: "TLS_WEB_CLIENT_AUTHENTICATION",
	x509.ExtKeyUsageCodeSigning: "CODE_SIGNING", x509.ExtKeyUsageEmailProtection: "EMAIL_PROTECTION",
	x509.ExtKeyUsageTimeStamping: "TIME_STAMPING", x509.ExtKeyUsageOCSPSigning: "OCSP_SIGNING",
}

var ekuOIDs = map[string]string{
	"TLS_WEB_SERVER_AUTHENTICATION": "1.3.6.1.5.5.7.3.1", "TLS_WEB_CLIENT_AUTHENTICATION": "1.3.6.1.5.5.7.3.2",
	"CODE_SIGNING": "1.3.6.1.5.5.7.3.3", "EMAIL_PROTECTION": "1.3.6.1.5.5.7.3.4",
	"TIME_STAMPING": "1.3.6.1.5.5.7.3.8", "OCSP_SIGNING": "1.3.6.1.5.5.7.3.9",
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
