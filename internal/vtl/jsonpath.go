package vtl

import (
	"fmt"
	"strconv"
	"strings"
)

// JSONPath as API Gateway evaluates it ($input.path, $input.json): the
// Jayway dialect. A definite path (names and indexes only) selects one
// value, or nothing; any other path ([*], .., slices, unions, filters)
// selects a list, empty when nothing matches.

type pathStep struct {
	op     uint8 // stepName, stepIndex, stepWild, stepDeep, stepSlice, stepFilter
	names  []string
	idx    []int
	lo, hi int
	hasLo  bool
	hasHi  bool
	filter *pathFilter
}

const (
	stepName = iota
	stepIndex
	stepWild
	stepDeep // ..name or ..*; names empty means ..*
	stepSlice
	stepFilter
)

// jsonPath is a compiled path.
type jsonPath struct {
	steps    []pathStep
	definite bool
}

// PathError is a JSONPath that does not parse.
type PathError struct {
	Path string
	Msg  string
}

func (e *PathError) Error() string { return fmt.Sprintf("invalid JSONPath %q: %s", e.Path, e.Msg) }

func compilePath(src string) (*jsonPath, error) {
	p := &pathParser{src: strings.TrimSpace(src)}
	return p.parse()
}

type pathParser struct {
	src string
	i   int
}

func (p *pathParser) fail(msg string) error { return &PathError{p.src, msg} }

func (p *pathParser) parse() (*jsonPath, error) {
	jp := &jsonPath{definite: true}
	s := p.src
	if s == "" {
		return nil, p.fail("empty path")
	}
	if s[0] == '$' || s[0] == '@' {
		p.i = 1
	}
	for p.i < len(s) {
		switch s[p.i] {
		case '.':
			if strings.HasPrefix(s[p.i:], "..") {
				p.i += 2
				st := pathStep{op: stepDeep}
				if p.i < len(s) && s[p.i] == '*' {
					p.i++
				} else if p.i < len(s) && s[p.i] == '[' {
					// ..[...]: deep scan then a bracket step.
					jp.steps = append(jp.steps, st)
					jp.definite = false
					continue
				} else {
					name := p.name()
					if name == "" {
						return nil, p.fail("expected a name after ..")
					}
					st.names = []string{name}
				}
				jp.steps = append(jp.steps, st)
				jp.definite = false
				continue
			}
			p.i++
			if p.i < len(s) && s[p.i] == '*' {
				p.i++
				jp.steps = append(jp.steps, pathStep{op: stepWild})
				jp.definite = false
				continue
			}
			name := p.name()
			if name == "" {
				return nil, p.fail("expected a name after .")
			}
			jp.steps = append(jp.steps, pathStep{op: stepName, names: []string{name}})
		case '[':
			st, err := p.bracket()
			if err != nil {
				return nil, err
			}
			if st.op != stepName && st.op != stepIndex || len(st.names) > 1 || len(st.idx) > 1 {
				jp.definite = false
			}
			jp.steps = append(jp.steps, st)
		default:
			if p.i == 0 {
				// Jayway reads a path without $ as starting at the root.
				name := p.name()
				if name == "" {
					return nil, p.fail("unexpected character")
				}
				jp.steps = append(jp.steps, pathStep{op: stepName, names: []string{name}})
				continue
			}
			return nil, p.fail(fmt.Sprintf("unexpected %q", s[p.i]))
		}
	}
	return jp, nil
}

func (p *pathParser) name() string {
	s := p.src
	j := p.i
	for j < len(s) && s[j] != '.' && s[j] != '[' && s[j] != ' ' {
		j++
	}
	n := s[p.i:j]
	p.i = j
	return n
}

func (p *pathParser) bracket() (pathStep, error) {
	s := p.src
	p.i++ // '['
	p.blanks()
	if p.i >= len(s) {
		return pathStep{}, p.fail("unclosed [")
	}
	switch c := s[p.i]; {
	case c == '*':
		p.i++
		p.blanks()
		if err := p.expect(']'); err != nil {
			return pathStep{}, err
		}
		return pathStep{op: stepWild}, nil
	case c == '\'' || c == '"':
		st := pathStep{op: stepName}
		for {
			name, err := p.quoted()
			if err != nil {
				return pathStep{}, err
			}
			st.names = append(st.names, name)
			p.blanks()
			if p.i < len(s) && s[p.i] == ',' {
				p.i++
				p.blanks()
				continue
			}
			break
		}
		if err := p.expect(']'); err != nil {
			return pathStep{}, err
		}
		return st, nil
	case c == '?':
		p.i++
		p.blanks()
		if err := p.expect('('); err != nil {
			return pathStep{}, err
		}
		depth, start := 1, p.i
		inQuote := byte(0)
		for p.i < len(s) && depth > 0 {
			switch ch := s[p.i]; {
			case inQuote != 0:
				if ch == inQuote {
					inQuote = 0
				}
			case ch == '\'' || ch == '"':
				inQuote = ch
			case ch == '(':
				depth++
			case ch == ')':
				depth--
			}
			p.i++
		}
		if depth > 0 {
			return pathStep{}, p.fail("unclosed filter")
		}
		f, err := parseFilter(s[start:p.i-1], p.src)
		if err != nil {
			return pathStep{}, err
		}
		p.blanks()
		if err := p.expect(']'); err != nil {
			return pathStep{}, err
		}
		return pathStep{op: stepFilter, filter: f}, nil
	}
	// Indexes, a union of them, or a slice.
	body := s[p.i:]
	e := strings.IndexByte(body, ']')
	if e < 0 {
		return pathStep{}, p.fail("unclosed [")
	}
	body = strings.TrimSpace(body[:e])
	p.i += e + 1
	if strings.Contains(body, ":") {
		st := pathStep{op: stepSlice}
		parts := strings.Split(body, ":")
		if len(parts) > 3 {
			return pathStep{}, p.fail("bad slice")
		}
		var err error
		if t := strings.TrimSpace(parts[0]); t != "" {
			if st.lo, err = strconv.Atoi(t); err != nil {
				return pathStep{}, p.fail("bad slice")
			}
			st.hasLo = true
		}
		if t := strings.TrimSpace(parts[1]); t != "" {
			if st.hi, err = strconv.Atoi(t); err != nil {
				return pathStep{}, p.fail("bad slice")
			}
			st.hasHi = true
		}
		return st, nil
	}
	st := pathStep{op: stepIndex}
	for _, part := range strings.Split(body, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return pathStep{}, p.fail("bad index " + strconv.Quote(part))
		}
		st.idx = append(st.idx, n)
	}
	return st, nil
}

func (p *pathParser) blanks() {
	for p.i < len(p.src) && p.src[p.i] == ' ' {
		p.i++
	}
}

func (p *pathParser) expect(c byte) error {
	if p.i >= len(p.src) || p.src[p.i] != c {
		return p.fail(fmt.Sprintf("expected %q", c))
	}
	p.i++
	return nil
}

func (p *pathParser) quoted() (string, error) {
	s := p.src
	q := s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(s) {
		c := s[p.i]
		if c == '\\' && p.i+1 < len(s) {
			b.WriteByte(s[p.i+1])
			p.i += 2
			continue
		}
		if c == q {
			p.i++
			return b.String(), nil
		}
		b.WriteByte(c)
		p.i++
	}
	return "", p.fail("unclosed quote")
}

// eval applies the path to root. ok is false when a definite path
// selects nothing.
func (jp *jsonPath) eval(root Value) (Value, bool) {
	if jp.definite {
		v := root
		for _, st := range jp.steps {
			var ok bool
			if v, ok = stepOne(v, st); !ok {
				return Null, false
			}
		}
		return v, true
	}
	cur := []Value{root}
	for _, st := range jp.steps {
		var next []Value
		for _, v := range cur {
			next = stepMany(next, v, st, root)
		}
		cur = next
	}
	return ListValue(&List{Items: cur}), true
}

func stepOne(v Value, st pathStep) (Value, bool) {
	switch st.op {
	case stepName:
		if m := v.Map(); m != nil {
			return m.GetString(st.names[0])
		}
	case stepIndex:
		if l := v.List(); l != nil {
			i := st.idx[0]
			if i < 0 {
				i += len(l.Items)
			}
			if i >= 0 && i < len(l.Items) {
				return l.Items[i], true
			}
		}
	}
	return Null, false
}

func stepMany(out []Value, v Value, st pathStep, root Value) []Value {
	switch st.op {
	case stepName:
		m := v.Map()
		if m == nil {
			return out
		}
		if len(st.names) > 1 {
			sub := NewMap(len(st.names))
			for _, n := range st.names {
				if x, ok := m.GetString(n); ok {
					sub.Put(String(n), x)
				}
			}
			return append(out, MapValue(sub))
		}
		if x, ok := m.GetString(st.names[0]); ok {
			out = append(out, x)
		}
	case stepIndex:
		if l := v.List(); l != nil {
			for _, i := range st.idx {
				if i < 0 {
					i += len(l.Items)
				}
				if i >= 0 && i < len(l.Items) {
					out = append(out, l.Items[i])
				}
			}
		}
	case stepWild:
		if l := v.List(); l != nil {
			out = append(out, l.Items...)
		} else if m := v.Map(); m != nil {
			out = append(out, m.vals...)
		}
	case stepSlice:
		if l := v.List(); l != nil {
			n := len(l.Items)
			lo, hi := 0, n
			if st.hasLo {
				lo = st.lo
				if lo < 0 {
					lo = max(n+lo, 0)
				}
			}
			if st.hasHi {
				hi = st.hi
				if hi < 0 {
					hi = n + hi
				}
			}
			lo, hi = min(lo, n), min(hi, n)
			for i := lo; i < hi; i++ {
				out = append(out, l.Items[i])
			}
		}
	case stepDeep:
		out = deepScan(out, v, st.names)
	case stepFilter:
		if l := v.List(); l != nil {
			for _, x := range l.Items {
				if st.filter.match(x, root) {
					out = append(out, x)
				}
			}
		} else if m := v.Map(); m != nil {
			for _, x := range m.vals {
				if st.filter.match(x, root) {
					out = append(out, x)
				}
			}
		}
	}
	return out
}

// deepScan collects, depth first in document order, every member named
// names[0] below v (every value, with no name).
func deepScan(out []Value, v Value, names []string) []Value {
	if len(names) == 0 {
		out = append(out, v)
	}
	if m := v.Map(); m != nil {
		for i := range m.keys {
			if len(names) > 0 && m.keys[i].s == names[0] {
				out = append(out, m.vals[i])
			}
			if m.vals[i].Map() != nil || m.vals[i].List() != nil {
				out = deepScan(out, m.vals[i], names)
			} else if len(names) == 0 {
				out = append(out, m.vals[i])
			}
		}
	} else if l := v.List(); l != nil {
		for _, x := range l.Items {
			if x.Map() != nil || x.List() != nil {
				out = deepScan(out, x, names)
			} else if len(names) == 0 {
				out = append(out, x)
			}
		}
	}
	return out
}

// pathFilter is [?(...)]: comparisons of @-paths and literals joined by
// && and ||.
type pathFilter struct {
	or [][]filterTerm // disjunction of conjunctions
}

type filterTerm struct {
	l, r  filterOperand
	op    string // "" tests that l exists
	regex string
}

type filterOperand struct {
	path *jsonPath
	root bool
	lit  Value
}

func parseFilter(src, whole string) (*pathFilter, error) {
	f := &pathFilter{}
	for _, disj := range strings.Split(src, "||") {
		var conj []filterTerm
		for _, t := range strings.Split(disj, "&&") {
			term, err := parseTerm(strings.TrimSpace(t), whole)
			if err != nil {
				return nil, err
			}
			conj = append(conj, term)
		}
		f.or = append(f.or, conj)
	}
	return f, nil
}

func parseTerm(t, whole string) (filterTerm, error) {
	t = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, "("), ")"))
	for _, op := range []string{"==", "!=", "<=", ">=", "=~", "<", ">"} {
		i := strings.Index(t, op)
		if i < 0 {
			continue
		}
		l, err := parseOperand(strings.TrimSpace(t[:i]), whole)
		if err != nil {
			return filterTerm{}, err
		}
		rs := strings.TrimSpace(t[i+len(op):])
		if op == "=~" {
			re := strings.TrimPrefix(rs, "/")
			flags := ""
			if j := strings.LastIndexByte(re, '/'); j >= 0 {
				re, flags = re[:j], re[j+1:]
			}
			if strings.Contains(flags, "i") {
				re = "(?i)" + re
			}
			return filterTerm{l: l, op: op, regex: re}, nil
		}
		r, err := parseOperand(rs, whole)
		if err != nil {
			return filterTerm{}, err
		}
		return filterTerm{l: l, r: r, op: op}, nil
	}
	l, err := parseOperand(t, whole)
	return filterTerm{l: l}, err
}

func parseOperand(s, whole string) (filterOperand, error) {
	switch {
	case s == "":
		return filterOperand{}, &PathError{whole, "empty filter operand"}
	case s[0] == '@' || s[0] == '$':
		jp, err := compilePath(s)
		if err != nil {
			return filterOperand{}, err
		}
		return filterOperand{path: jp, root: s[0] == '$'}, nil
	case s[0] == '\'' || s[0] == '"':
		if len(s) < 2 || s[len(s)-1] != s[0] {
			return filterOperand{}, &PathError{whole, "unclosed string in filter"}
		}
		return filterOperand{lit: String(s[1 : len(s)-1])}, nil
	case s == "true" || s == "false":
		return filterOperand{lit: Bool(s == "true")}, nil
	case s == "null":
		return filterOperand{lit: Null}, nil
	}
	v, err := ParseJSON([]byte(s))
	if err != nil {
		return filterOperand{}, &PathError{whole, "bad filter operand " + strconv.Quote(s)}
	}
	return filterOperand{lit: v}, nil
}

func (o filterOperand) value(cur, root Value) (Value, bool) {
	if o.path == nil {
		return o.lit, true
	}
	base := cur
	if o.root {
		base = root
	}
	v, ok := o.path.eval(base)
	if ok && !o.path.definite {
		if l := v.List(); l != nil && len(l.Items) == 1 {
			return l.Items[0], true
		}
	}
	return v, ok
}

func (f *pathFilter) match(cur, root Value) bool {
	for _, conj := range f.or {
		all := true
		for _, t := range conj {
			if !t.match(cur, root) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (t filterTerm) match(cur, root Value) bool {
	l, ok := t.l.value(cur, root)
	if t.op == "" {
		return ok && !(l.k == kBool && !l.bool())
	}
	if !ok {
		return false
	}
	if t.op == "=~" {
		re, err := javaRegexp("^(?:" + t.regex + ")$")
		return err == nil && l.k == kString && re.MatchString(l.s)
	}
	r, ok := t.r.value(cur, root)
	if !ok {
		return false
	}
	switch t.op {
	case "==":
		return filterEqual(l, r)
	case "!=":
		return !filterEqual(l, r)
	}
	var c int
	switch {
	case l.isNumber() && r.isNumber():
		c = compareNumbers(l, r)
	case l.k == kString && r.k == kString:
		c = compareJavaStrings(l.s, r.s)
	default:
		return false
	}
	switch t.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func filterEqual(l, r Value) bool {
	if l.isNumber() && r.isNumber() {
		return compareNumbers(l, r) == 0
	}
	return javaEquals(l, r)
}
