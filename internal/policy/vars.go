package policy

import "strings"

// template is a policy string holding variables (policy language 2012-10-17):
// ${aws:username}, ${aws:PrincipalTag/team, 'default'}, and the escapes ${*},
// ${?} and ${$} for the literal characters.
type template struct {
	parts []tpart
}

type tpart struct {
	lit     string // literal text, when key == "" and special == 0
	key     string // lower-cased context key of a variable
	def     string // default value, when hasDef
	hasDef  bool
	special byte // '*', '?' or '$' for ${*}, ${?}, ${$}
}

// parseTemplate returns nil when s holds no variable, so that the string is
// used as written.
func parseTemplate(s string) *template {
	if !strings.Contains(s, "${") {
		return nil
	}
	var t template
	lit := 0 // start of pending literal text
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			break
		}
		j += i
		p, end, ok := parseVar(s, j+2)
		if !ok {
			i = j + 1
			continue
		}
		if lit < j {
			t.parts = append(t.parts, tpart{lit: s[lit:j]})
		}
		t.parts = append(t.parts, p)
		i, lit = end, end
	}
	if len(t.parts) == 0 {
		return nil
	}
	if lit < len(s) {
		t.parts = append(t.parts, tpart{lit: s[lit:]})
	}
	return &t
}

// parseVar reads the inside of "${...}" starting at s[i:] and returns the part
// and the index after the closing brace.
func parseVar(s string, i int) (tpart, int, bool) {
	if i+1 < len(s) && s[i+1] == '}' {
		switch s[i] {
		case '*', '?', '$':
			return tpart{special: s[i]}, i + 2, true
		}
	}
	end := i
	for end < len(s) && s[end] != '}' && s[end] != ',' && s[end] != '$' && s[end] != '{' {
		end++
	}
	name := strings.TrimSpace(s[i:end])
	if name == "" || end == len(s) {
		return tpart{}, 0, false
	}
	p := tpart{key: toLowerASCII(name)}
	if s[end] == '}' {
		return p, end + 1, true
	}
	if s[end] != ',' {
		return tpart{}, 0, false
	}
	// ", 'default'}"
	k := end + 1
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k == len(s) || s[k] != '\'' {
		return tpart{}, 0, false
	}
	q := strings.IndexByte(s[k+1:], '\'')
	if q < 0 {
		return tpart{}, 0, false
	}
	p.def, p.hasDef = s[k+1:k+1+q], true
	k += q + 2
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k == len(s) || s[k] != '}' {
		return tpart{}, 0, false
	}
	return p, k + 1, true
}

// expand substitutes the variables from ctx. With esc, the result is a
// wildcard pattern in which substituted text is literal (see escByte). It
// reports false when a variable has no single value and no default: AWS then
// treats the statement as not matching.
func (t *template) expand(ctx func(string) ([]string, bool), esc bool) (string, bool) {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.special != 0:
			if esc && p.special != '$' {
				b.WriteByte(escByte)
			}
			b.WriteByte(p.special)
		case p.key != "":
			v, ok := lookupVar(ctx, p.key)
			if !ok {
				if !p.hasDef {
					return "", false
				}
				v = p.def
			}
			writeLiteral(&b, v, esc)
		default:
			if esc {
				// Only a NUL of the policy text needs escaping: its
				// wildcards keep their meaning.
				for i := 0; i < len(p.lit); i++ {
					if p.lit[i] == escByte {
						b.WriteByte(escByte)
					}
					b.WriteByte(p.lit[i])
				}
			} else {
				b.WriteString(p.lit)
			}
		}
	}
	return b.String(), true
}

func lookupVar(ctx func(string) ([]string, bool), key string) (string, bool) {
	if ctx == nil {
		return "", false
	}
	vs, ok := ctx(key)
	// A multivalued key cannot be a policy variable.
	if !ok || len(vs) != 1 {
		return "", false
	}
	return vs[0], true
}

func writeLiteral(b *strings.Builder, v string, esc bool) {
	if !esc {
		b.WriteString(v)
		return
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '*', '?', escByte:
			b.WriteByte(escByte)
		}
		b.WriteByte(v[i])
	}
}
