package model

// Kinds of the ACME client's own state (certmagic's storage): its
// account, challenge tokens in flight, and the locks that keep two nodes
// from obtaining one certificate together.
const (
	KindACMEData = "acmedata" // key: certmagic's storage key ("acme/{ca}/users/...")
	KindACMELock = "acmelock" // key: the lock's name
)

// ACMEState is what ACM keeps about a certificate it obtains with ACME:
// the request, where validation stands, and the last renewal.
type ACMEState struct {
	// Names are the domain name and the other names asked for, the
	// domain name first.
	Names            []string `json:"names"`
	ValidationMethod string   `json:"validationMethod"` // DNS, EMAIL or HTTP, as asked
	Challenge        string   `json:"challenge"`        // "http-01" or "tls-alpn-01"
	IdempotencyToken string   `json:"idempotencyToken,omitempty"`
	KeyAlgorithm     string   `json:"keyAlgorithm"`
	// Status is PENDING_VALIDATION, ISSUED or FAILED (FailureReason says
	// why, in ACM's terms).
	Status        string `json:"status"`
	FailureReason string `json:"failureReason,omitempty"`
	IssuedAt      int64  `json:"issuedAt,omitempty"`
	// RenewalStatus (PENDING_AUTO_RENEWAL, SUCCESS, FAILED), its reason
	// and time, once a renewal began.
	RenewalStatus       string `json:"renewalStatus,omitempty"`
	RenewalStatusReason string `json:"renewalStatusReason,omitempty"`
	RenewalUpdatedAt    int64  `json:"renewalUpdatedAt,omitempty"`
}

// ACMEDataAAD names a sealed value of the ACME client's storage.
func ACMEDataAAD(key string) string { return KindACMEData + "/" + key }
