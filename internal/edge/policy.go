package edge

import (
	"crypto/tls"
	"fmt"
	"sort"
)

// SecurityPolicy is one of API Gateway's named TLS policies: the TLS
// versions a listener accepts and the cipher suites it offers below TLS 1.3.
type SecurityPolicy struct {
	Name       string
	MinVersion uint16
	MaxVersion uint16
	// Ciphers are the TLS 1.2 (and older) suites as AWS lists them, by
	// their OpenSSL names. Suites Go does not implement (the CBC-SHA384
	// ones, AES256-SHA256) are listed but never offered.
	Ciphers []string
	// TLS13Ciphers are the TLS 1.3 suites AWS lists. Go offers its three
	// TLS 1.3 suites whatever a configuration says, so this is what AWS
	// documents, not a setting.
	TLS13Ciphers []string
	// PostQuantum offers the hybrid key exchange X25519MLKEM768 first
	// (the "PQ" policies); the others offer classical curves only.
	PostQuantum bool
	// Edge marks the policies AWS offers for edge-optimized endpoints only.
	Edge bool

	suites []uint16 // Ciphers that Go implements, in AWS's order
}

// DefaultPolicy is the policy of apigw's own TLS listener and of a custom
// domain created without one: TLS_1_2, AWS's default for domains. AWS's
// default execute-api endpoints still accept TLS 1.0 (policy TLS_1_0).
const DefaultPolicy = "TLS_1_2"

var (
	tls13All  = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
	tls13FIPS = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}

	// ecdheGCM are the forward-secret AEAD suites every TLS 1.2 policy has.
	ecdheGCM = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}
	ecdheCBC2 = []string{"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
		"ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"}
	rsa12 = []string{"AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256"}
	// legacy are the SHA-1 CBC suites TLS_1_0 adds for TLS 1.0 and 1.1 clients.
	legacy = []string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
		"ECDHE-ECDSA-AES256-SHA", "AES128-SHA", "AES256-SHA"}
	chacha = []string{"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// policies is the one table of security policies, as AWS's "Supported
// security policies" page lists them (botocore's SecurityPolicy enum).
var policies = map[string]*SecurityPolicy{}

func init() {
	for _, p := range []*SecurityPolicy{
		{Name: "TLS_1_0", MinVersion: tls.VersionTLS10, Ciphers: join(ecdheGCM, ecdheCBC2, legacy, rsa12), TLS13Ciphers: tls13All},
		{Name: "TLS_1_2", MinVersion: tls.VersionTLS12, Ciphers: join(ecdheGCM, ecdheCBC2, rsa12), TLS13Ciphers: tls13All},
		{Name: "SecurityPolicy_TLS13_1_3_2025_09", MinVersion: tls.VersionTLS13, TLS13Ciphers: tls13All},
		{Name: "SecurityPolicy_TLS13_1_3_FIPS_2025_09", MinVersion: tls.VersionTLS13, TLS13Ciphers: tls13FIPS},
		{Name: "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09", MinVersion: tls.VersionTLS12, Ciphers: ecdheGCM, TLS13Ciphers: tls13All, PostQuantum: true},
		{Name: "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09", MinVersion: tls.VersionTLS12, Ciphers: join(ecdheGCM, ecdheCBC2, rsa12), TLS13Ciphers: tls13FIPS, PostQuantum: true},
		{Name: "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09", MinVersion: tls.VersionTLS12, Ciphers: join(ecdheGCM, ecdheCBC2), TLS13Ciphers: tls13FIPS, PostQuantum: true},
		{Name: "SecurityPolicy_TLS13_1_2_PQ_2025_09", MinVersion: tls.VersionTLS12, Ciphers: join(ecdheGCM, ecdheCBC2, rsa12), TLS13Ciphers: tls13All, PostQuantum: true},
		{Name: "SecurityPolicy_TLS13_1_2_2021_06", MinVersion: tls.VersionTLS12, Ciphers: join(ecdheGCM, ecdheCBC2, rsa12), TLS13Ciphers: tls13All},
		{Name: "SecurityPolicy_TLS13_2025_EDGE", MinVersion: tls.VersionTLS13, TLS13Ciphers: tls13All, Edge: true},
		{Name: "SecurityPolicy_TLS12_PFS_2025_EDGE", MinVersion: tls.VersionTLS12, Ciphers: join(ecdheGCM, chacha), TLS13Ciphers: tls13All, Edge: true},
		{Name: "SecurityPolicy_TLS12_2018_EDGE", MinVersion: tls.VersionTLS12, Ciphers: join(ecdheGCM, ecdheCBC2[:2], chacha), TLS13Ciphers: tls13All, Edge: true},
	} {
		p.MaxVersion = tls.VersionTLS13
		for _, name := range p.Ciphers {
			id, ok := cipherIDs[name]
			if !ok {
				panic("edge: unknown cipher " + name)
			}
			if id != 0 {
				p.suites = append(p.suites, id)
			}
		}
		policies[p.Name] = p
	}
}

// cipherIDs maps AWS's (OpenSSL's) suite names to Go's; 0 means Go does
// not implement the suite.
var cipherIDs = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES256-SHA384":     0,
	"ECDHE-RSA-AES256-SHA384":       0,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES256-SHA256":                 0,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// Policy returns the named security policy.
func Policy(name string) (*SecurityPolicy, bool) {
	p, ok := policies[name]
	return p, ok
}

// PolicyNames lists every policy name, sorted.
func PolicyNames() []string {
	names := make([]string, 0, len(policies))
	for n := range policies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// apply sets cfg's versions, suites and key exchanges from p.
func (p *SecurityPolicy) apply(cfg *tls.Config) {
	cfg.MinVersion, cfg.MaxVersion = p.MinVersion, p.MaxVersion
	cfg.CipherSuites = p.suites
	if p.PostQuantum {
		cfg.CurvePreferences = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}
	} else {
		cfg.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}
	}
}

func (p *SecurityPolicy) String() string {
	return fmt.Sprintf("%s (TLS %s+)", p.Name, versionName(p.MinVersion))
}

func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}
