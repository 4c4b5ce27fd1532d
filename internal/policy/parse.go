package policy

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
)

// Error is a policy document IAM would refuse with MalformedPolicyDocument.
// Message is IAM's text for it.
type Error struct {
	Message string
}

func (e *Error) Error() string { return "policy: " + e.Message }

// IAM's MalformedPolicyDocument texts.
const (
	msgSyntax        = "Syntax errors in policy."
	msgLegacy        = "The policy failed legacy parsing"
	msgNoPrincipal   = "Policy document should not specify a principal."
	msgNeedPrincipal = "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!"
	msgNoActions     = "Policy statement must contain actions."
	msgNoResources   = "Policy statement must contain resources."
	msgVendor        = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon      = "Actions/Condition can contain only one colon."
)

func fail(msg string) error { return &Error{Message: msg} }

// ParseOptions says which kind of policy is parsed.
type ParseOptions struct {
	// RequirePrincipal: every statement names a Principal or NotPrincipal
	// (resource-based and trust policies).
	RequirePrincipal bool
	// ForbidPrincipal: no statement may name one (identity and session
	// policies, and the policy of a Lambda authorizer).
	ForbidPrincipal bool
	// ResourceOptional: statements may omit Resource (trust policies, whose
	// resource is the role itself).
	ResourceOptional bool
}

// Parse reads a policy document without constraints on its Principal
// elements. Errors are *Error.
func Parse(b []byte) (*Document, error) {
	return ParseWith(b, ParseOptions{})
}

// ParseWith reads a policy document of the kind o describes. Errors are
// *Error with IAM's text.
func ParseWith(b []byte, o ParseOptions) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fail(msgSyntax)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(msgSyntax)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fail(msgSyntax)
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			return nil, fail(msgSyntax)
		}
	}
	d := &Document{}
	if v, ok := top["Version"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, fail(msgSyntax)
		}
		if s != "2012-10-17" && s != "2008-10-17" {
			return nil, fail(msgLegacy)
		}
		d.Version = s
	}
	if v, ok := top["Id"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, fail(msgSyntax)
		}
		d.ID = s
	}
	var list []any
	switch s := top["Statement"].(type) {
	case map[string]any:
		list = []any{s}
	case []any:
		list = s
	}
	if len(list) == 0 {
		return nil, fail(msgSyntax)
	}
	vars := d.Version == "2012-10-17"
	d.Statements = make([]Statement, len(list))
	for i, raw := range list {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fail(msgSyntax)
		}
		if err := parseStatement(&d.Statements[i], m, o, vars); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func parseStatement(st *Statement, m map[string]any, o ParseOptions, vars bool) error {
	for k := range m {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return fail(msgSyntax)
		}
	}
	if v, ok := m["Sid"]; ok {
		s, ok := v.(string)
		if !ok {
			return fail(msgSyntax)
		}
		st.Sid = s
	}
	switch m["Effect"] {
	case "Allow":
		st.Effect = Allow
	case "Deny":
		st.Effect = Deny
	default:
		return fail(msgLegacy)
	}

	// Principal and NotPrincipal.
	_, hasP := m["Principal"]
	_, hasNP := m["NotPrincipal"]
	if hasP && hasNP {
		return fail(msgSyntax)
	}
	if o.ForbidPrincipal && (hasP || hasNP) {
		return fail(msgNoPrincipal)
	}
	if o.RequirePrincipal && !hasP && !hasNP {
		return fail(msgNeedPrincipal)
	}
	var err error
	if hasP {
		if st.Principal, err = parsePrincipals(m["Principal"]); err != nil {
			return err
		}
	}
	if hasNP {
		if st.NotPrincipal, err = parsePrincipals(m["NotPrincipal"]); err != nil {
			return err
		}
	}

	// Action and NotAction.
	a, hasA := m["Action"]
	na, hasNA := m["NotAction"]
	if hasA && hasNA {
		return fail(msgSyntax)
	}
	if !hasA && !hasNA {
		return fail(msgNoActions)
	}
	var actions []string
	if hasA {
		if st.Action, err = stringList(a); err != nil {
			return err
		}
		actions = st.Action
	} else {
		if st.NotAction, err = stringList(na); err != nil {
			return err
		}
		actions = st.NotAction
	}
	if len(actions) == 0 {
		return fail(msgNoActions)
	}
	st.actions = make([]matcher, len(actions))
	for i, s := range actions {
		if err := checkAction(s); err != nil {
			return err
		}
		st.actions[i] = compileAction(s)
	}

	// Resource and NotResource.
	r, hasR := m["Resource"]
	nr, hasNR := m["NotResource"]
	if hasR && hasNR {
		return fail(msgSyntax)
	}
	if hasR || hasNR {
		var res []string
		if hasR {
			if st.Resource, err = stringList(r); err != nil {
				return err
			}
			res = st.Resource
		} else {
			if st.NotResource, err = stringList(nr); err != nil {
				return err
			}
			res = st.NotResource
		}
		if len(res) == 0 {
			return fail(msgNoResources)
		}
		st.resources = make([]resource, len(res))
		for i, s := range res {
			if s != "*" && !strings.HasPrefix(s, "arn:") {
				return fail("Resource " + s + " must be in ARN format or \"*\".")
			}
			if vars {
				st.resources[i].tmpl = parseTemplate(s)
			}
			if st.resources[i].tmpl == nil {
				st.resources[i].m = compileResource(s, false)
			}
		}
	} else if !o.ResourceOptional {
		return fail(msgNoResources)
	}

	if c, ok := m["Condition"]; ok {
		if st.Conditions, err = parseConditions(c, vars); err != nil {
			return err
		}
	}
	return nil
}

// stringList reads an element that is a string or an array of strings.
func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, len(t))
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fail(msgSyntax)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fail(msgSyntax)
}

func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	switch strings.Count(a, ":") {
	case 0:
		return fail(msgVendor)
	case 1:
		if a[0] == ':' {
			return fail(msgVendor)
		}
		return nil
	}
	return fail(msgOneColon)
}

func parsePrincipals(v any) (*Principals, error) {
	if s, ok := v.(string); ok {
		if s != "*" {
			return nil, fail(`Invalid principal in policy: "` + s + `"`)
		}
		return &Principals{All: true}, nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fail(msgSyntax)
	}
	ps := &Principals{}
	for _, k := range sortedKeys(m) {
		list, err := stringList(m[k])
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, fail(`Invalid principal in policy: "` + k + `":[]`)
		}
		for _, s := range list {
			if !validPrincipal(k, s) {
				return nil, fail(`Invalid principal in policy: "` + k + `":"` + s + `"`)
			}
		}
		switch k {
		case "AWS":
			ps.AWS = list
			for _, s := range list {
				if s == "*" {
					ps.All = true
				}
				ps.aws = append(ps.aws, parseAWSEntry(s))
			}
		case "Service":
			ps.Service = list
		case "Federated":
			ps.Federated = list
		case "CanonicalUser":
			ps.CanonicalUser = list
		}
	}
	return ps, nil
}

func validPrincipal(kind, s string) bool {
	switch kind {
	case "AWS":
		return s == "*" || isAccountID(s) || strings.HasPrefix(s, "arn:") && strings.Count(s, ":") >= 5 || uniqueID(s)
	case "Service", "Federated", "CanonicalUser":
		return s != ""
	}
	return false
}

// uniqueID reports whether s looks like an IAM unique id (AIDA..., AROA...),
// which is what a policy shows once the user or role it named is deleted.
func uniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func parseConditions(v any, vars bool) ([]Condition, error) {
	block, ok := v.(map[string]any)
	if !ok {
		return nil, fail(msgSyntax)
	}
	var out []Condition
	for _, opName := range sortedKeys(block) {
		op, set, ifExists, ok := parseOperator(opName)
		if !ok {
			return nil, fail(msgSyntax)
		}
		keys, ok := block[opName].(map[string]any)
		if !ok {
			return nil, fail(msgSyntax)
		}
		for _, key := range sortedKeys(keys) {
			valsRaw := keys[key]
			if i := strings.IndexByte(key, ':'); i <= 0 {
				return nil, fail(msgVendor)
			}
			values, err := conditionValues(valsRaw)
			if err != nil {
				return nil, err
			}
			c := Condition{
				Operator: opName,
				Key:      key,
				Values:   values,
				op:       op,
				set:      set,
				ifExists: ifExists,
				key:      toLowerASCII(key),
				vals:     make([]cval, len(values)),
			}
			for i, s := range values {
				c.vals[i] = compileValue(op.kind, s, vars)
				c.tmpl = c.tmpl || c.vals[i].tmpl != nil
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// conditionValues reads a condition value: a string, number or boolean, or an
// array of them.
func conditionValues(v any) ([]string, error) {
	one := func(e any) (string, bool) {
		switch t := e.(type) {
		case string:
			return t, true
		case json.Number:
			return string(t), true
		case bool:
			if t {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if arr, ok := v.([]any); ok {
		if len(arr) == 0 {
			return nil, fail(msgSyntax)
		}
		out := make([]string, len(arr))
		for i, e := range arr {
			s, ok := one(e)
			if !ok {
				return nil, fail(msgSyntax)
			}
			out[i] = s
		}
		return out, nil
	}
	s, ok := one(v)
	if !ok {
		return nil, fail(msgSyntax)
	}
	return []string{s}, nil
}
