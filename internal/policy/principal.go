package policy

import "strings"

// Principal is the caller of a request, as Principal and NotPrincipal
// elements of resource-based and trust policies see it.
//
// AWS lists every name the caller goes by. For an IAM user: the user ARN and
// its account (the root ARN "arn:aws:iam::123456789012:root" or the bare id);
// for an assumed-role session: the session ARN
// ("arn:aws:sts::123456789012:assumed-role/name/session"), the role ARN (with
// its path) and the account; for the root user: the root ARN. The account of
// any ARN and the role of a session are also derived, so the session ARN
// alone is enough for matching.
type Principal struct {
	AWS       []string
	Service   string // e.g. "apigateway.amazonaws.com"
	Federated string // e.g. "cognito-identity.amazonaws.com" or a SAML provider ARN
	Anonymous bool   // an unauthenticated caller; AWS, Service and Federated are ignored
}

// Principals is a parsed Principal or NotPrincipal element.
type Principals struct {
	All           bool // "Principal": "*" or {"AWS": "*"}
	AWS           []string
	Service       []string
	Federated     []string
	CanonicalUser []string // accepted, never matched: apigw has no S3 canonical users

	aws []awsEntry
}

type awsEntry struct {
	raw       string
	kind      entryKind
	partition string
	account   string
	role      string // role name, for entryRole
}

type entryKind uint8

const (
	entryExact   entryKind = iota // a user, session or other ARN, or a unique id
	entryAccount                  // "123456789012" or "arn:aws:iam::123456789012:root"
	entryRole                     // "arn:aws:iam::123456789012:role/path/name"
)

func parseAWSEntry(v string) awsEntry {
	e := awsEntry{raw: v}
	if isAccountID(v) {
		e.kind, e.account = entryAccount, v
		return e
	}
	a, ok := splitARN(v)
	if !ok || a.service != "iam" {
		return e
	}
	if a.account == "" {
		return e
	}
	switch {
	case a.resource == "root":
		e.kind, e.partition, e.account = entryAccount, a.partition, a.account
	case strings.HasPrefix(a.resource, "role/"):
		e.kind, e.partition, e.account = entryRole, a.partition, a.account
		e.role = a.resource[strings.LastIndexByte(a.resource, '/')+1:]
	}
	return e
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// arn is an ARN split at its first five colons.
type arn struct {
	partition, service, region, account, resource string
}

func splitARN(s string) (arn, bool) {
	var f [5]string
	rest := s
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return arn{}, false
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	if f[0] != "arn" {
		return arn{}, false
	}
	return arn{partition: f[1], service: f[2], region: f[3], account: f[4], resource: rest}, true
}

// callerAccount returns the account a caller name belongs to.
func callerAccount(id string) string {
	if isAccountID(id) {
		return id
	}
	if a, ok := splitARN(id); ok {
		return a.account
	}
	return ""
}

// sessionRole returns the partition, account and role name of an
// assumed-role session ARN.
func sessionRole(id string) (partition, account, role string, ok bool) {
	a, ok := splitARN(id)
	if !ok || a.service != "sts" || !strings.HasPrefix(a.resource, "assumed-role/") {
		return "", "", "", false
	}
	r := a.resource[len("assumed-role/"):]
	i := strings.IndexByte(r, '/')
	if i <= 0 {
		return "", "", "", false
	}
	return a.partition, a.account, r[:i], true
}

func anonymous(p *Principal) bool {
	return p == nil || p.Anonymous || (len(p.AWS) == 0 && p.Service == "" && p.Federated == "")
}

// matches reports whether the caller is one of the principals (Principal
// element): an account entry admits every principal of that account, a role
// entry its sessions too.
func (ps *Principals) matches(p *Principal) bool {
	if ps.All {
		return true
	}
	if anonymous(p) {
		return false
	}
	for _, s := range ps.Service {
		if p.Service != "" && s == p.Service {
			return true
		}
	}
	for _, f := range ps.Federated {
		if p.Federated != "" && f == p.Federated {
			return true
		}
	}
	for i := range ps.aws {
		e := &ps.aws[i]
		for _, id := range p.AWS {
			if e.names(id, true) {
				return true
			}
		}
	}
	return false
}

// names reports whether entry e names the caller name id. With delegate, an
// account entry names every principal of the account (Principal); without,
// only the account itself (NotPrincipal).
func (e *awsEntry) names(id string, delegate bool) bool {
	if id == e.raw {
		return true
	}
	switch e.kind {
	case entryAccount:
		if delegate {
			return callerAccount(id) == e.account
		}
		return isAccountID(id) && id == e.account || isRootARN(id, e.account)
	case entryRole:
		if a, ok := splitARN(id); ok && a.service == "iam" && a.account == e.account && a.partition == e.partition &&
			strings.HasPrefix(a.resource, "role/") && a.resource[strings.LastIndexByte(a.resource, '/')+1:] == e.role {
			return true
		}
		if delegate {
			part, acct, role, ok := sessionRole(id)
			return ok && part == e.partition && acct == e.account && role == e.role
		}
	}
	return false
}

func isRootARN(id, account string) bool {
	a, ok := splitARN(id)
	return ok && a.service == "iam" && a.resource == "root" && a.account == account
}

// excludes reports whether a NotPrincipal element leaves the caller out of its
// statement. AWS checks each identity in the caller's chain (the account, then
// the user or role, then the session) and the statement applies as soon as one
// of them is not named, which is why AWS asks for the account ARN next to the
// user or role ARN in NotPrincipal.
func (ps *Principals) excludes(p *Principal) bool {
	if ps.All {
		return true
	}
	if anonymous(p) {
		return false
	}
	if p.Service != "" || p.Federated != "" {
		if p.Service != "" && !contains(ps.Service, p.Service) {
			return false
		}
		if p.Federated != "" && !contains(ps.Federated, p.Federated) {
			return false
		}
		if len(p.AWS) == 0 {
			return true
		}
	}
	for i, id := range p.AWS {
		// The account element, once per account.
		if acct := callerAccount(id); acct != "" && !seenAccount(p.AWS[:i], acct) {
			if !ps.namesAccount(acct) {
				return false
			}
		}
		if isAccountID(id) || isRootARN(id, callerAccount(id)) {
			continue
		}
		if !ps.namesID(id) {
			return false
		}
		// The role element behind a session.
		if part, acct, role, ok := sessionRole(id); ok && !ps.namesRole(part, acct, role) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func seenAccount(ids []string, acct string) bool {
	for _, id := range ids {
		if callerAccount(id) == acct {
			return true
		}
	}
	return false
}

func (ps *Principals) namesAccount(acct string) bool {
	for i := range ps.aws {
		if e := &ps.aws[i]; e.kind == entryAccount && e.account == acct {
			return true
		}
	}
	return false
}

func (ps *Principals) namesID(id string) bool {
	for i := range ps.aws {
		if ps.aws[i].names(id, false) {
			return true
		}
	}
	return false
}

func (ps *Principals) namesRole(partition, account, role string) bool {
	for i := range ps.aws {
		e := &ps.aws[i]
		if e.kind == entryRole && e.partition == partition && e.account == account && e.role == role {
			return true
		}
	}
	return false
}
