package acm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// domainNamePattern is ACM's DomainNameString pattern, as its errors quote
// it (Go's regexp has no look-ahead: validDomainName checks the same).
const domainNamePattern = `^(\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])$`

var labelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func validDomainName(n string) bool {
	n = strings.TrimPrefix(n, "*.")
	labels := strings.Split(n, ".")
	if len(n) < 1 || len(n) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	return true
}

var idempotencyRE = regexp.MustCompile(`^\w{1,32}$`)

// requestCertificate records a certificate PENDING_VALIDATION and answers
// its ARN; the ACME worker obtains it (ISSUED, or FAILED with a reason).
func (s *Service) requestCertificate(r *http.Request, body []byte) (any, error) {
	var in struct {
		DomainName              *string
		SubjectAlternativeNames []string
		ValidationMethod        string
		IdempotencyToken        string
		KeyAlgorithm            string
		CertificateAuthorityArn string
		Tags                    []tag
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var errs []string
	if in.DomainName == nil {
		errs = append(errs, "Value null at 'domainName' failed to satisfy constraint: Member must not be null")
	} else if !validDomainName(*in.DomainName) {
		errs = append(errs, fmt.Sprintf("Value '%s' at 'domainName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", *in.DomainName, domainNamePattern))
	}
	if len(in.SubjectAlternativeNames) > 100 {
		errs = append(errs, "Value at 'subjectAlternativeNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	for i, n := range in.SubjectAlternativeNames {
		if !validDomainName(n) {
			errs = append(errs, fmt.Sprintf("Value '%s' at 'subjectAlternativeNames.%d.member' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", n, i+1, domainNamePattern))
		}
	}
	switch in.ValidationMethod {
	case "", "DNS", "EMAIL", "HTTP":
	default:
		errs = append(errs, fmt.Sprintf("Value '%s' at 'validationMethod' failed to satisfy constraint: Member must satisfy enum value set: [EMAIL, DNS, HTTP]", in.ValidationMethod))
	}
	if in.IdempotencyToken != "" && !idempotencyRE.MatchString(in.IdempotencyToken) {
		errs = append(errs, fmt.Sprintf("Value '%s' at 'idempotencyToken' failed to satisfy constraint: Member must satisfy regular expression pattern: \\w+", in.IdempotencyToken))
	}
	switch in.KeyAlgorithm {
	case "", "RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1":
	default:
		errs = append(errs, fmt.Sprintf("Value '%s' at 'keyAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSA_1024, RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, EC_secp384r1, EC_secp521r1]", in.KeyAlgorithm))
	}
	if len(errs) > 0 {
		return nil, validation(fmt.Sprintf("%d validation error%s detected: %s", len(errs), plural(len(errs)), strings.Join(errs, "; ")))
	}
	if s.ACME == nil {
		return nil, &Error{"InvalidParameterException", "RequestCertificate is not available on this apigw (started without an ACME directory: apigw serve --acme-directory URL): import the certificate with ImportCertificate."}
	}
	if in.CertificateAuthorityArn != "" {
		return nil, &Error{"InvalidParameterException", "apigw has no AWS Private CA: leave CertificateAuthorityArn out (a private CA can issue through ACME: apigw serve --acme-directory)."}
	}
	if in.KeyAlgorithm == "" {
		in.KeyAlgorithm = "RSA_2048"
	}
	if !contains(requestKeyAlgorithms, in.KeyAlgorithm) {
		return nil, &Error{"InvalidParameterException", fmt.Sprintf("The key algorithm %s is not supported for RequestCertificate; use one of %s.", in.KeyAlgorithm, strings.Join(requestKeyAlgorithms, ", "))}
	}
	if in.ValidationMethod == "" {
		in.ValidationMethod = "DNS"
	}
	names := []string{strings.ToLower(*in.DomainName)}
	for _, n := range in.SubjectAlternativeNames {
		if n = strings.ToLower(n); !contains(names, n) {
			names = append(names, n)
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "*.") {
			return nil, &Error{"InvalidParameterException", fmt.Sprintf("apigw validates each name with ACME's HTTP-01 or TLS-ALPN-01 challenge, which cannot validate the wildcard name %s: import a wildcard certificate with ImportCertificate.", n)}
		}
	}
	if len(in.Tags) > 50 {
		return nil, &Error{"TooManyTagsException", "the number of tags exceeds the limit of 50"}
	}
	ctx := r.Context()
	now := s.now().Unix()
	var arn string
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		if in.IdempotencyToken != "" {
			// One certificate for one token and domain name within an hour.
			items, err := tx.List(ctx, model.KindCertificate, "")
			if err != nil {
				return err
			}
			for _, it := range items {
				var old model.CertificateRecord
				if json.Unmarshal(it.Value, &old) == nil && old.ACME != nil && old.ACME.IdempotencyToken == in.IdempotencyToken &&
					old.ACME.Names[0] == names[0] && now-old.CreatedAt < 3600 {
					arn = old.Arn
					return nil
				}
			}
		}
		id := newUUID()
		rec := &model.CertificateRecord{ID: id, Arn: s.arn(id), DomainName: names[0], SubjectAlternativeNames: names,
			KeyAlgorithm: in.KeyAlgorithm, CreatedAt: now,
			ACME: &model.ACMEState{Names: names, ValidationMethod: in.ValidationMethod, Challenge: s.ACME.Challenge(in.ValidationMethod),
				IdempotencyToken: in.IdempotencyToken, KeyAlgorithm: in.KeyAlgorithm, Status: "PENDING_VALIDATION"}}
		for _, t := range in.Tags {
			if rec.Tags == nil {
				rec.Tags = map[string]string{}
			}
			rec.Tags[t.Key] = t.Value
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		arn = rec.Arn
		return tx.Create(ctx, model.KindCertificate, id, b)
	})
	if err != nil {
		return nil, err
	}
	s.ACME.Wake()
	return map[string]string{"CertificateArn": arn}, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// issuedAt is when a requested certificate was (last) issued, else 0.
func issuedAt(rec *model.CertificateRecord) int64 {
	if rec.ACME != nil {
		return rec.ACME.IssuedAt
	}
	return 0
}
