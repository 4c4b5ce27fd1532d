package route

import (
	"iter"
	"strings"
)

// inlineParams is how many parameters a Params holds without allocating.
const inlineParams = 8

// Param is one path parameter of a matched route.
type Param struct {
	// Name is the variable name without braces or "+", e.g. "id" or "proxy".
	Name string
	// Raw is the value as it appeared on the wire, still percent-encoded.
	// For a greedy variable it is the rest of the path without the leading
	// slash (and without trailing slashes).
	Raw string
	// Value is Raw percent-decoded ("+" stays "+"; a malformed escape is kept
	// verbatim). When Raw holds no '%', Value is Raw and costs nothing.
	Value string
}

// Params receives the path parameters of a match. It is reusable: Match
// resets it, so a caller may keep one per request, or pool it. The zero
// value is ready to use. Values point into the request path passed to Match
// (or, when decoded, into fresh strings) and stay valid after the Params is
// reused.
type Params struct {
	n     int
	small [inlineParams]Param
	more  []Param
}

// Reset empties p, keeping its storage.
func (p *Params) Reset() {
	clear(p.small[:min(p.n, inlineParams)])
	clear(p.more)
	p.more = p.more[:0]
	p.n = 0
}

// Len reports the number of parameters.
func (p *Params) Len() int { return p.n }

// At returns the i-th parameter in path order. It panics if i is out of range.
func (p *Params) At(i int) Param {
	if i < 0 || i >= p.n {
		panic("route: Params index out of range")
	}
	return *p.at(i)
}

func (p *Params) at(i int) *Param {
	if i < inlineParams {
		return &p.small[i]
	}
	return &p.more[i-inlineParams]
}

// Get returns the decoded value of the named parameter.
func (p *Params) Get(name string) (string, bool) {
	for i := 0; i < p.n; i++ {
		if q := p.at(i); q.Name == name {
			return q.Value, true
		}
	}
	return "", false
}

// GetRaw returns the still percent-encoded value of the named parameter.
func (p *Params) GetRaw(name string) (string, bool) {
	for i := 0; i < p.n; i++ {
		if q := p.at(i); q.Name == name {
			return q.Raw, true
		}
	}
	return "", false
}

// All iterates over the parameters in path order as (name, decoded value).
func (p *Params) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := 0; i < p.n; i++ {
			q := p.at(i)
			if !yield(q.Name, q.Value) {
				return
			}
		}
	}
}

// push appends a parameter with its raw value; Value is filled by finish.
func (p *Params) push(name, raw string) {
	if p.n < inlineParams {
		p.small[p.n] = Param{Name: name, Raw: raw}
	} else {
		p.more = append(p.more[:p.n-inlineParams], Param{Name: name, Raw: raw})
	}
	p.n++
}

// pop drops the last parameter (backtracking).
func (p *Params) pop() { p.n-- }

// finish decodes the raw values of a successful match.
func (p *Params) finish() {
	for i := 0; i < p.n; i++ {
		q := p.at(i)
		q.Value = unescape(q.Raw)
	}
}

// unescape percent-decodes s. It returns s itself when there is nothing to
// decode. Malformed escapes are kept verbatim; "+" is not a space in a path.
func unescape(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var sb strings.Builder // one allocation: String does not copy
	sb.Grow(len(s))
	sb.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			sb.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
