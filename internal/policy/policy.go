// Package policy parses IAM policy documents and evaluates them as AWS does:
// identity policies, resource policies, role trust policies, session policies
// and the policies a Lambda authorizer returns.
//
// A Document is parsed once (Parse, ParseWith), with its patterns compiled,
// and then answers authorization questions (Evaluate) without allocating,
// unless a statement uses policy variables. A parsed Document is not modified
// by Evaluate and may be shared by goroutines. Combining the answers of several
// policy types (identity and resource policies, session policies,
// permissions boundaries) is the caller's business; Evaluate only folds the
// answers of documents of one kind: an explicit Deny wins, then an Allow.
package policy

// Effect is the answer of a document to a request.
type Effect int

const (
	// NotApplicable means no statement matched: an implicit deny.
	NotApplicable Effect = iota
	// Allow means a matching Allow statement and no matching Deny.
	Allow
	// Deny means a matching Deny statement: an explicit deny.
	Deny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "NotApplicable"
}

// Request is one authorization question.
type Request struct {
	Action   string // "execute-api:Invoke", "apigateway:GET", "iam:CreateUser", "sts:AssumeRole"
	Resource string // the ARN acted on
	// Principal is the caller, matched by the Principal and NotPrincipal
	// elements of resource and trust policies; nil is an anonymous caller.
	// Identity policies have no such element and ignore it.
	Principal *Principal
	// Context returns the values of a condition key, for conditions and
	// policy variables. The key comes in lower case ("aws:sourceip"); an
	// implementation should compare keys without regard to case (MapContext
	// does). ok is false when the request has no such key. Nil means no keys.
	Context func(key string) (values []string, ok bool)
}

// Document is a parsed policy.
type Document struct {
	Version    string // "2012-10-17", "2008-10-17", or "" (read as 2008-10-17)
	ID         string
	Statements []Statement
}

// Statement is one parsed statement. Action and Resource hold the element's
// values as written; the compiled matchers are kept alongside.
type Statement struct {
	Sid          string
	Effect       Effect // Allow or Deny
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Conditions   []Condition // all must hold; sorted by operator, then key

	actions   []matcher
	resources []resource
}

type resource struct {
	m    matcher
	tmpl *template
}

// Evaluate answers the request: Deny if a statement that applies denies it,
// otherwise Allow if one allows it, otherwise NotApplicable. A statement
// applies when its action, resource, principal and every condition match.
func (d *Document) Evaluate(r *Request) Effect {
	if d == nil || r == nil {
		return NotApplicable
	}
	res := NotApplicable
	for i := range d.Statements {
		st := &d.Statements[i]
		if st.Effect == Allow && res == Allow {
			continue // only a Deny can change the answer now
		}
		if !st.applies(r) {
			continue
		}
		if st.Effect == Deny {
			return Deny
		}
		res = Allow
	}
	return res
}

// Evaluate answers the request across several documents of the same kind (all
// the identity policies of a caller, say): an explicit Deny in any of them
// wins, then an Allow in any of them. Nil documents are skipped.
func Evaluate(docs []*Document, r *Request) Effect {
	res := NotApplicable
	for _, d := range docs {
		switch d.Evaluate(r) {
		case Deny:
			return Deny
		case Allow:
			res = Allow
		}
	}
	return res
}

func (st *Statement) applies(r *Request) bool {
	if !st.matchAction(r.Action) {
		return false
	}
	if ok, resolved := st.matchResource(r); !ok || !resolved {
		return false
	}
	if st.Principal != nil && !st.Principal.matches(r.Principal) {
		return false
	}
	if st.NotPrincipal != nil && st.NotPrincipal.excludes(r.Principal) {
		return false
	}
	for i := range st.Conditions {
		holds, resolved := st.Conditions[i].eval(r.Context)
		if !holds || !resolved {
			return false
		}
	}
	return true
}

func (st *Statement) matchAction(a string) bool {
	found := false
	for i := range st.actions {
		if st.actions[i].match(a) {
			found = true
			break
		}
	}
	if st.NotAction != nil {
		return !found
	}
	return found
}

// matchResource reports whether the request's resource is covered. resolved
// is false when a policy variable of the element has no value, which makes
// AWS treat the whole statement as invalid.
func (st *Statement) matchResource(r *Request) (ok, resolved bool) {
	if st.Resource == nil && st.NotResource == nil {
		return true, true // a trust policy: the resource is the role itself
	}
	found := false
	for i := range st.resources {
		res := &st.resources[i]
		if res.tmpl == nil {
			found = found || res.m.match(r.Resource)
			continue
		}
		p, ok := res.tmpl.expand(r.Context, true)
		if !ok {
			return false, false
		}
		if !found {
			m := compileResource(p, true)
			found = m.match(r.Resource)
		}
	}
	if st.NotResource != nil {
		return !found, true
	}
	return found, true
}

// MapContext returns a Request.Context over a map of condition keys, looked up
// without regard to case. The map is copied.
func MapContext(m map[string][]string) func(key string) ([]string, bool) {
	lower := make(map[string][]string, len(m))
	for k, v := range m {
		lower[toLowerASCII(k)] = v
	}
	return func(key string) ([]string, bool) {
		v, ok := lower[key]
		if !ok && hasUpperASCII(key) {
			v, ok = lower[toLowerASCII(key)]
		}
		return v, ok
	}
}

func hasUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func toLowerASCII(s string) string {
	if !hasUpperASCII(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
