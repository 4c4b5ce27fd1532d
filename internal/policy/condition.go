package policy

import (
	"encoding/base64"
	"net/netip"
	"strings"
)

// Condition is one key of one operator block of a Condition element, e.g.
// {"ForAnyValue:StringLike": {"aws:TagKeys": ["a*", "b*"]}}.
type Condition struct {
	Operator string   // as written: "StringEquals", "ForAllValues:StringLikeIfExists", ...
	Key      string   // as written: "aws:SourceIp"
	Values   []string // JSON numbers and booleans in their text form

	op       opInfo
	set      setOp
	ifExists bool
	key      string // lower case, as passed to Request.Context
	vals     []cval
	tmpl     bool // a value holds a policy variable
}

type opKind uint8

const (
	kString opKind = iota
	kStringIC
	kLike
	kNumeric
	kDate
	kBool
	kBinary
	kIP
	kARN
	kNull
)

type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type opInfo struct {
	kind opKind
	cmp  cmpOp
	neg  bool // a negated operator: true when no value matches
}

type setOp uint8

const (
	setNone setOp = iota
	setAny        // ForAnyValue:
	setAll        // ForAllValues:
)

// operators maps the lower-case base names of IAM's condition operators.
var operators = map[string]opInfo{
	"stringequals":              {kind: kString},
	"stringnotequals":           {kind: kString, neg: true},
	"stringequalsignorecase":    {kind: kStringIC},
	"stringnotequalsignorecase": {kind: kStringIC, neg: true},
	"stringlike":                {kind: kLike},
	"stringnotlike":             {kind: kLike, neg: true},
	"numericequals":             {kind: kNumeric},
	"numericnotequals":          {kind: kNumeric, neg: true},
	"numericlessthan":           {kind: kNumeric, cmp: cmpLt},
	"numericlessthanequals":     {kind: kNumeric, cmp: cmpLe},
	"numericgreaterthan":        {kind: kNumeric, cmp: cmpGt},
	"numericgreaterthanequals":  {kind: kNumeric, cmp: cmpGe},
	"dateequals":                {kind: kDate},
	"datenotequals":             {kind: kDate, neg: true},
	"datelessthan":              {kind: kDate, cmp: cmpLt},
	"datelessthanequals":        {kind: kDate, cmp: cmpLe},
	"dategreaterthan":           {kind: kDate, cmp: cmpGt},
	"dategreaterthanequals":     {kind: kDate, cmp: cmpGe},
	"bool":                      {kind: kBool},
	"binaryequals":              {kind: kBinary},
	"ipaddress":                 {kind: kIP},
	"notipaddress":              {kind: kIP, neg: true},
	"arnequals":                 {kind: kARN},
	"arnlike":                   {kind: kARN},
	"arnnotequals":              {kind: kARN, neg: true},
	"arnnotlike":                {kind: kARN, neg: true},
	"null":                      {kind: kNull},
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
// Operator names are matched without regard to case.
func parseOperator(name string) (opInfo, setOp, bool, bool) {
	lower := strings.ToLower(name)
	set := setNone
	if rest, ok := strings.CutPrefix(lower, "foranyvalue:"); ok {
		set, lower = setAny, rest
	} else if rest, ok := strings.CutPrefix(lower, "forallvalues:"); ok {
		set, lower = setAll, rest
	}
	ifExists := false
	if rest, ok := strings.CutSuffix(lower, "ifexists"); ok {
		ifExists, lower = true, rest
	}
	op, ok := operators[lower]
	if !ok || op.kind == kNull && ifExists {
		return opInfo{}, 0, false, false
	}
	return op, set, ifExists, true
}

// cval is one compiled policy value of a condition.
type cval struct {
	s      string // the value as written
	tmpl   *template
	valid  bool // the value parses for the operator's type
	num    decimal
	when   instant
	prefix netip.Prefix
	truth  bool   // Bool and Null
	bin    string // BinaryEquals: the decoded bytes
	arn    arnPattern
}

// arnPattern is an ARN split at its first five colons for the ARN operators,
// which match each of the six components separately.
type arnPattern struct {
	all   bool // "*"
	parts [6]string
}

func splitARNPattern(s string) (arnPattern, bool) {
	if s == "*" {
		return arnPattern{all: true}, true
	}
	var p arnPattern
	rest := s
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return arnPattern{}, false
		}
		p.parts[i], rest = rest[:j], rest[j+1:]
	}
	p.parts[5] = rest
	return p, true
}

// variablesAllowed reports whether IAM substitutes policy variables in the
// values of this kind of operator.
func variablesAllowed(k opKind) bool {
	switch k {
	case kString, kStringIC, kLike, kARN, kBool:
		return true
	}
	return false
}

// compileValue parses one policy value for the operator. An invalid value is
// kept: it never satisfies the comparison.
func compileValue(k opKind, s string, vars bool) cval {
	v := cval{s: s}
	if vars && variablesAllowed(k) {
		v.tmpl = parseTemplate(s)
	}
	if v.tmpl != nil {
		v.valid = true
		return v
	}
	switch k {
	case kString, kStringIC, kLike:
		v.valid = true
	case kNumeric:
		v.num, v.valid = parseDecimal(s)
	case kDate:
		v.when, v.valid = parseInstant(s)
	case kBool, kNull:
		switch strings.ToLower(s) {
		case "true":
			v.truth, v.valid = true, true
		case "false":
			v.valid = true
		}
	case kBinary:
		b, err := base64.StdEncoding.DecodeString(s)
		v.bin, v.valid = string(b), err == nil
	case kIP:
		v.prefix, v.valid = parsePrefix(s)
	case kARN:
		v.arn, v.valid = splitARNPattern(s)
	}
	return v
}

// eval reports whether the condition holds. resolved is false when a policy
// variable in a value could not be substituted, which voids the statement.
func (c *Condition) eval(ctx func(string) ([]string, bool)) (holds, resolved bool) {
	var req []string
	present := false
	if ctx != nil {
		vs, ok := ctx(c.key)
		req, present = vs, ok && len(vs) > 0
	}
	if c.op.kind == kNull {
		for i := range c.vals {
			if v := &c.vals[i]; v.valid && v.truth == !present {
				return true, true
			}
		}
		return false, true
	}
	if !present {
		switch {
		case c.ifExists:
			return true, true
		case c.set == setAll:
			return true, true
		case c.set == setAny:
			return false, true
		}
		// A negated operator holds when the key is absent.
		return c.op.neg, true
	}
	var expanded []string
	if c.tmpl {
		expanded = make([]string, len(c.vals))
		esc := c.op.kind == kLike || c.op.kind == kARN
		for i := range c.vals {
			v := &c.vals[i]
			if v.tmpl == nil {
				expanded[i] = v.s
				if esc {
					expanded[i] = escapeNUL(v.s)
				}
				continue
			}
			s, ok := v.tmpl.expand(ctx, esc)
			if !ok {
				return false, false
			}
			expanded[i] = s
		}
	}
	switch c.set {
	case setAny:
		for _, r := range req {
			if c.matchAny(r, expanded) != c.op.neg {
				return true, true
			}
		}
		return false, true
	case setAll:
		for _, r := range req {
			if c.matchAny(r, expanded) == c.op.neg {
				return false, true
			}
		}
		return true, true
	}
	found := false
	for _, r := range req {
		if c.matchAny(r, expanded) {
			found = true
			break
		}
	}
	return found != c.op.neg, true
}

func escapeNUL(s string) string {
	if strings.IndexByte(s, escByte) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\x00\x00")
}

// matchAny reports whether request value r satisfies the operator, without
// its negation, for at least one policy value (values are ORed).
func (c *Condition) matchAny(r string, expanded []string) bool {
	// Parse the request value once for the typed operators.
	var (
		num  decimal
		when instant
		addr netip.Addr
		ok   = true
	)
	switch c.op.kind {
	case kNumeric:
		num, ok = parseDecimal(r)
	case kDate:
		when, ok = parseInstant(r)
	case kIP:
		addr, ok = parseAddr(r)
	}
	if !ok {
		return false
	}
	for i := range c.vals {
		v := &c.vals[i]
		if !v.valid {
			continue
		}
		s, esc := v.s, false
		if expanded != nil {
			// Expanded LIKE and ARN values are patterns with escapes.
			s, esc = expanded[i], c.op.kind == kLike || c.op.kind == kARN
		}
		if c.compare(v, s, esc, r, num, when, addr) {
			return true
		}
	}
	return false
}

func (c *Condition) compare(v *cval, s string, esc bool, r string, num decimal, when instant, addr netip.Addr) bool {
	switch c.op.kind {
	case kString:
		return r == s
	case kStringIC:
		return foldEq(r, s)
	case kLike:
		return glob(s, r, false, esc)
	case kNumeric:
		return ordered(cmpDecimal(num, v.num), c.op.cmp)
	case kDate:
		return ordered(cmpInstant(when, v.when), c.op.cmp)
	case kBool:
		if v.tmpl != nil {
			return strings.EqualFold(r, s)
		}
		if v.truth {
			return strings.EqualFold(r, "true")
		}
		return strings.EqualFold(r, "false")
	case kBinary:
		return r == v.bin
	case kIP:
		return v.prefix.Contains(addr)
	case kARN:
		p := v.arn
		if esc {
			var ok bool
			if p, ok = splitARNPattern(s); !ok {
				return false
			}
		}
		return matchARNParts(&p, r, esc)
	}
	return false
}

func ordered(c int, op cmpOp) bool {
	switch op {
	case cmpEq:
		return c == 0
	case cmpLt:
		return c < 0
	case cmpLe:
		return c <= 0
	case cmpGt:
		return c > 0
	case cmpGe:
		return c >= 0
	}
	return false
}

// matchARNParts matches an ARN component by component: a wildcard never
// crosses one of the first five colons.
func matchARNParts(p *arnPattern, r string, esc bool) bool {
	if p.all {
		return true
	}
	rest := r
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 || !glob(p.parts[i], rest[:j], false, esc) {
			return false
		}
		rest = rest[j+1:]
	}
	return glob(p.parts[5], rest, false, esc)
}
