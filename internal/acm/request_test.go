package acm

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// newRequestService is an ACM service whose ACME worker never runs: what
// RequestCertificate asks for stays PENDING_VALIDATION.
func newRequestService(t testing.TB) *Service {
	t.Helper()
	st := openTestStore(t)
	seal, open := xorSealer()
	return &Service{Store: st, AccountID: "123456789012", Region: "us-east-1", Seal: seal,
		ACME: &ACME{Store: st, Directory: "https://127.0.0.1:1/dir", HTTPAddr: "127.0.0.1:1", TLSAddr: "127.0.0.1:2", Seal: seal, Open: open}}
}

// call runs one ACM operation and decodes its answer.
func call(t testing.TB, s *Service, op, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", "CertificateManager."+op)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: answer is not JSON: %q", op, w.Body.String())
	}
	return w.Code, out
}

func TestRequestCertificateRefusals(t *testing.T) {
	s := newRequestService(t)
	for _, tc := range []struct {
		name, body, typ, msg string
	}{
		{"no domain name", `{}`, "ValidationException", "1 validation error detected: Value null at 'domainName' failed to satisfy constraint: Member must not be null"},
		{"bad domain name", `{"DomainName":"-x.example.com"}`, "ValidationException", "1 validation error detected: Value '-x.example.com' at 'domainName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + domainNamePattern},
		{"one label", `{"DomainName":"localhost"}`, "ValidationException", "Value 'localhost' at 'domainName'"},
		{"two errors", `{"DomainName":"a.example.com","SubjectAlternativeNames":["b..example.com"],"ValidationMethod":"FAX"}`, "ValidationException",
			"2 validation errors detected: Value 'b..example.com' at 'subjectAlternativeNames.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: " + domainNamePattern +
				"; Value 'FAX' at 'validationMethod' failed to satisfy constraint: Member must satisfy enum value set: [EMAIL, DNS, HTTP]"},
		{"bad key algorithm", `{"DomainName":"a.example.com","KeyAlgorithm":"DSA"}`, "ValidationException", "at 'keyAlgorithm' failed to satisfy constraint"},
		{"bad token", `{"DomainName":"a.example.com","IdempotencyToken":"a-b"}`, "ValidationException", "at 'idempotencyToken'"},
		{"not JSON", `{"DomainName":`, "SerializationException", ""},
		{"wildcard", `{"DomainName":"*.example.com"}`, "InvalidParameterException", "cannot validate the wildcard name *.example.com"},
		{"RSA 1024", `{"DomainName":"a.example.com","KeyAlgorithm":"RSA_1024"}`, "InvalidParameterException", "The key algorithm RSA_1024 is not supported"},
		{"private CA", `{"DomainName":"a.example.com","CertificateAuthorityArn":"arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x"}`, "InvalidParameterException", "no AWS Private CA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := call(t, s, "RequestCertificate", tc.body)
			if code != 400 || out["__type"] != tc.typ || !strings.Contains(out["message"].(string), tc.msg) {
				t.Errorf("= %d %v; want 400 %s %q", code, out, tc.typ, tc.msg)
			}
		})
	}
	t.Run("without ACME", func(t *testing.T) {
		s := newRequestService(t)
		s.ACME = nil
		_, out := call(t, s, "RequestCertificate", `{"DomainName":"a.example.com"}`)
		if out["__type"] != "InvalidParameterException" || !strings.Contains(out["message"].(string), "ImportCertificate") {
			t.Errorf("= %v", out)
		}
	})
}

func TestRequestCertificatePending(t *testing.T) {
	s := newRequestService(t)
	code, out := call(t, s, "RequestCertificate", `{"DomainName":"API.example.com","SubjectAlternativeNames":["www.example.com","api.example.com"],
		"ValidationMethod":"HTTP","IdempotencyToken":"t1","KeyAlgorithm":"EC_prime256v1","Tags":[{"Key":"team","Value":"edge"}]}`)
	arn, _ := out["CertificateArn"].(string)
	if code != 200 || !strings.HasPrefix(arn, "arn:aws:acm:us-east-1:123456789012:certificate/") {
		t.Fatalf("RequestCertificate = %d %v", code, out)
	}
	t.Run("idempotent", func(t *testing.T) {
		_, again := call(t, s, "RequestCertificate", `{"DomainName":"api.example.com","IdempotencyToken":"t1"}`)
		_, other := call(t, s, "RequestCertificate", `{"DomainName":"api.example.com","IdempotencyToken":"t2"}`)
		if again["CertificateArn"] != arn || other["CertificateArn"] == arn {
			t.Errorf("same token: %v, other token: %v; first %s", again["CertificateArn"], other["CertificateArn"], arn)
		}
	})
	t.Run("describe", func(t *testing.T) {
		_, out := call(t, s, "DescribeCertificate", `{"CertificateArn":"`+arn+`"}`)
		c := out["Certificate"].(map[string]any)
		if c["Status"] != "PENDING_VALIDATION" || c["Type"] != "AMAZON_ISSUED" || c["DomainName"] != "api.example.com" ||
			c["KeyAlgorithm"] != "EC_prime256v1" || c["RenewalEligibility"] != "INELIGIBLE" || c["NotAfter"] != nil || c["Serial"] != nil {
			t.Errorf("pending certificate: %v", c)
		}
		dvo, _ := json.Marshal(c["DomainValidationOptions"])
		want := `[{"DomainName":"api.example.com","ValidationDomain":"api.example.com","ValidationMethod":"HTTP","ValidationStatus":"PENDING_VALIDATION"},` +
			`{"DomainName":"www.example.com","ValidationDomain":"www.example.com","ValidationMethod":"HTTP","ValidationStatus":"PENDING_VALIDATION"}]`
		if string(dvo) != want {
			t.Errorf("DomainValidationOptions = %s\nwant %s", dvo, want)
		}
	})
	t.Run("list", func(t *testing.T) {
		_, out := call(t, s, "ListCertificates", `{"CertificateStatuses":["PENDING_VALIDATION"],"Includes":{"keyTypes":["EC_prime256v1"]}}`)
		l, _ := json.Marshal(out["CertificateSummaryList"])
		if !bytes.Contains(l, []byte(arn)) || !bytes.Contains(l, []byte(`"Type":"AMAZON_ISSUED"`)) {
			t.Errorf("list = %s", l)
		}
	})
	t.Run("get while pending", func(t *testing.T) {
		_, out := call(t, s, "GetCertificate", `{"CertificateArn":"`+arn+`"}`)
		if out["__type"] != "RequestInProgressException" {
			t.Errorf("= %v", out)
		}
	})
	t.Run("reimport refused", func(t *testing.T) {
		cert, key := testPair(t, "api.example.com")
		b, _ := json.Marshal(map[string]any{"CertificateArn": arn, "Certificate": cert, "PrivateKey": key})
		_, out := call(t, s, "ImportCertificate", string(b))
		if out["__type"] != "ValidationException" || !strings.Contains(out["message"].(string), "only an imported certificate can be reimported") {
			t.Errorf("= %v", out)
		}
	})
	t.Run("challenge", func(t *testing.T) {
		for method, want := range map[string]string{"HTTP": ChallengeHTTP01, "DNS": ChallengeTLSALPN01, "EMAIL": ChallengeTLSALPN01} {
			if got := s.ACME.Challenge(method); got != want {
				t.Errorf("Challenge(%s) = %s, want %s", method, got, want)
			}
		}
		if got := (&ACME{HTTPAddr: "127.0.0.1:1"}).Challenge("DNS"); got != ChallengeHTTP01 {
			t.Errorf("without a TLS listener: Challenge(DNS) = %s", got)
		}
	})
}

// FuzzRequestCertificate: any body gets a JSON answer, 200 or 400.
func FuzzRequestCertificate(f *testing.F) {
	for _, seed := range []string{`{}`, `{"DomainName":"a.example.com"}`, `{"DomainName":"*.a.b","SubjectAlternativeNames":["x.y",""]}`,
		`{"DomainName":"a.example.com","ValidationMethod":"HTTP","IdempotencyToken":"abc","KeyAlgorithm":"RSA_4096","Tags":[{"Key":"k"}]}`, `[`, `{"DomainName":7}`} {
		f.Add(seed)
	}
	s := newRequestService(f)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "CertificateManager.RequestCertificate")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 400 || !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%q → %d %q", body, w.Code, w.Body.String())
		}
	})
}
