// Package reftmpl renders the templates gateway responses use in practice:
// literal text with Velocity references ($context.error.messageString,
// ${context.requestId}, $stageVariables.name, $!quiet) substituted. It
// parses a template once into parts, and rendering appends to a buffer.
//
// Gateway responses now render through the Velocity engine (internal/vtl);
// what the gateway still takes from here is Vars, the dotted-name lookup
// it hands that engine. Directives (#set, #if) and method calls are not
// understood by this renderer and are written out as text.
package reftmpl

// Vars resolves a reference's dotted name ("context.requestId",
// "stageVariables.env"); ok is false when it names nothing.
type Vars interface {
	Var(name string) (value string, ok bool)
}

// Template is a parsed template.
type Template struct {
	parts []part
}

// part is literal text followed by an optional reference.
type part struct {
	text string
	ref  string // dotted name, "" for none
	// raw is the reference as written, rendered when it names nothing and
	// is not quiet (Velocity's behaviour).
	raw   string
	quiet bool
}

// Parse parses src. Every input is a template: text that does not form a
// reference is literal.
func Parse(src string) (*Template, error) {
	t := &Template{}
	start := 0 // beginning of the pending literal text
	for i := 0; i < len(src); {
		if src[i] != '$' {
			i++
			continue
		}
		name, end := reference(src, i)
		if end < 0 {
			i++
			continue
		}
		t.parts = append(t.parts, part{text: src[start:i], ref: name, raw: src[i:end], quiet: end > i+1 && src[i+1] == '!'})
		start, i = end, end
	}
	if start < len(src) {
		t.parts = append(t.parts, part{text: src[start:]})
	}
	return t, nil
}

// reference reads a reference at src[i] ('$'): $name(.name)*, $!name...,
// ${name...} or $!{name...}. It returns the dotted name and the index past
// the reference, or end -1 when there is none.
func reference(src string, i int) (name string, end int) {
	j := i + 1
	if j < len(src) && src[j] == '!' {
		j++
	}
	formal := j < len(src) && src[j] == '{'
	if formal {
		j++
	}
	n := ident(src, j)
	if n == 0 {
		return "", -1
	}
	k := j + n
	for k+1 < len(src) && src[k] == '.' {
		m := ident(src, k+1)
		if m == 0 {
			break
		}
		k += 1 + m
	}
	name = src[j:k]
	if formal {
		if k >= len(src) || src[k] != '}' {
			return "", -1
		}
		k++
	}
	return name, k
}

// ident is the length of the Velocity identifier at src[i]: a letter, then
// letters, digits, '-' and '_'.
func ident(src string, i int) int {
	if i >= len(src) || !isLetter(src[i]) {
		return 0
	}
	n := 1
	for i+n < len(src) {
		c := src[i+n]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			break
		}
		n++
	}
	return n
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// Append renders t with v onto dst.
func (t *Template) Append(dst []byte, v Vars) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		dst = append(dst, p.text...)
		if p.ref == "" {
			continue
		}
		if val, ok := v.Var(p.ref); ok {
			dst = append(dst, val...)
		} else if !p.quiet {
			dst = append(dst, p.raw...)
		}
	}
	return dst
}
