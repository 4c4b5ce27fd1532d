package vtl

import (
	"errors"
	"math/big"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseJSON parses a JSON document into values: objects become maps (in
// document order), arrays lists, integers Integer, Long or BigInteger by
// size, other numbers Double.
func ParseJSON(data []byte) (Value, error) {
	return parseJSONString(string(data))
}

func parseJSONString(src string) (Value, error) {
	d := jsonDecoder{b: src}
	d.ws()
	v, err := d.value(0)
	if err != nil {
		return Null, err
	}
	d.ws()
	if d.i != len(d.b) {
		return Null, d.err("unexpected data after the JSON value")
	}
	return v, nil
}

// jsonDecoder builds values from slabs: strings without escapes are
// substrings of the document, maps and the entries of maps and lists are
// cut from shared chunks, so that a document costs a few allocations
// rather than one per value.
type jsonDecoder struct {
	b     string
	i     int
	stack []Value // members of the containers being read
	slab  []Value
	maps  []Map
	lists []List
}

// take cuts n values off the slab, with their capacity capped so that a
// later append copies rather than overwrites a neighbour.
func (d *jsonDecoder) take(vs []Value) []Value {
	n := len(vs)
	if n == 0 {
		return nil
	}
	if len(d.slab) < n {
		d.slab = make([]Value, max(n, 256))
	}
	out := d.slab[:n:n]
	d.slab = d.slab[n:]
	copy(out, vs)
	return out
}

func (d *jsonDecoder) newMap() *Map {
	if len(d.maps) == 0 {
		d.maps = make([]Map, 16)
	}
	m := &d.maps[0]
	d.maps = d.maps[1:]
	return m
}

func (d *jsonDecoder) newList() *List {
	if len(d.lists) == 0 {
		d.lists = make([]List, 8)
	}
	l := &d.lists[0]
	d.lists = d.lists[1:]
	return l
}

// JSONError is a document that does not parse.
type JSONError struct {
	Offset int
	Msg    string
}

func (e *JSONError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func (d *jsonDecoder) err(msg string) error { return &JSONError{d.i, msg} }

func (d *jsonDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

const maxJSONDepth = 512

func (d *jsonDecoder) value(depth int) (Value, error) {
	if depth > maxJSONDepth {
		return Null, d.err("nested too deep")
	}
	if d.i >= len(d.b) {
		return Null, d.err("unexpected end of input")
	}
	switch c := d.b[d.i]; {
	case c == '{':
		d.i++
		base := len(d.stack)
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			return MapValue(d.newMap()), nil
		}
		for {
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return Null, d.err("expected a string key")
			}
			k, err := d.str()
			if err != nil {
				return Null, err
			}
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return Null, d.err("expected ':'")
			}
			d.i++
			d.ws()
			d.stack = append(d.stack, String(k))
			v, err := d.value(depth + 1)
			if err != nil {
				return Null, err
			}
			d.stack = append(d.stack, v)
			d.ws()
			if d.i < len(d.b) && d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.b) && d.b[d.i] == '}' {
				d.i++
				return MapValue(d.finishMap(base)), nil
			}
			return Null, d.err("expected ',' or '}'")
		}
	case c == '[':
		d.i++
		base := len(d.stack)
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return ListValue(d.newList()), nil
		}
		for {
			d.ws()
			v, err := d.value(depth + 1)
			if err != nil {
				return Null, err
			}
			d.stack = append(d.stack, v)
			d.ws()
			if d.i < len(d.b) && d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.b) && d.b[d.i] == ']' {
				d.i++
				l := d.newList()
				l.Items = d.take(d.stack[base:])
				d.stack = d.stack[:base]
				return ListValue(l), nil
			}
			return Null, d.err("expected ',' or ']'")
		}
	case c == '"':
		s, err := d.str()
		if err != nil {
			return Null, err
		}
		return String(s), nil
	case c == 't':
		return d.word("true", Bool(true))
	case c == 'f':
		return d.word("false", Bool(false))
	case c == 'n':
		return d.word("null", Null)
	case c == '-' || isDigit(c):
		return d.number()
	}
	return Null, d.err("unexpected character")
}

// finishMap builds the map whose keys and values alternate on the stack
// above base. A repeated key keeps its first place and its last value, as
// a map's put does.
func (d *jsonDecoder) finishMap(base int) *Map {
	kv := d.stack[base:]
	n := len(kv) / 2
	m := d.newMap()
	if len(d.slab) < 2*n {
		d.slab = make([]Value, max(2*n, 256))
	}
	m.keys, m.vals = d.slab[:0:n], d.slab[n:n:2*n]
	d.slab = d.slab[2*n:]
	for i := 0; i < len(kv); i += 2 {
		if n >= indexMin || hasKey(m.keys, kv[i].s) {
			m.Put(kv[i], kv[i+1])
			continue
		}
		m.keys = append(m.keys, kv[i])
		m.vals = append(m.vals, kv[i+1])
	}
	d.stack = d.stack[:base]
	return m
}

// strStop is the bytes a string's fast loop stops at: its end, an escape,
// and the control characters JSON forbids in strings.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// hasKey reports whether keys, the string keys of a small map being read,
// hold k: a JSON key is a string, so a string comparison, not javaEquals.
func hasKey(keys []Value, k string) bool {
	for i := range keys {
		if keys[i].s == k {
			return true
		}
	}
	return false
}

func (d *jsonDecoder) word(w string, v Value) (Value, error) {
	if len(d.b)-d.i >= len(w) && d.b[d.i:d.i+len(w)] == w {
		d.i += len(w)
		return v, nil
	}
	return Null, d.err("unexpected character")
}

func (d *jsonDecoder) number() (Value, error) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && isDigit(d.b[d.i]) {
		d.i++
	}
	if d.i == digits || (d.b[digits] == '0' && d.i-digits > 1) { // JSON has no leading zeros
		return Null, d.err("bad number")
	}
	float := false
	if d.i < len(d.b) && d.b[d.i] == '.' {
		float = true
		d.i++
		f := d.i
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
		if d.i == f {
			return Null, d.err("bad number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		float = true
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		e := d.i
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
		if d.i == e {
			return Null, d.err("bad number")
		}
	}
	img := d.b[start:d.i]
	if float {
		f, err := strconv.ParseFloat(img, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return Null, d.err("bad number")
		}
		return Double(f), nil
	}
	if n, err := strconv.ParseInt(img, 10, 64); err == nil {
		return Int(n), nil
	}
	b, _ := new(big.Int).SetString(img, 10)
	return Value{k: kBig, p: b}, nil
}

// str reads a string at d.i ('"').
func (d *jsonDecoder) str() (string, error) {
	d.i++
	start := d.i
	// The common case, a string without escapes, in a loop over locals.
	b, i := d.b, d.i
	for i < len(b) && !strStop[b[i]] {
		i++
	}
	d.i = i
	if i < len(b) {
		switch c := b[i]; {
		case c == '"':
			d.i++
			return b[start:i], nil
		case c < 0x20:
			return "", d.err("control character in string")
		}
	}
	buf := append([]byte(nil), d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c < 0x20:
			return "", d.err("control character in string")
		case c != '\\':
			buf = append(buf, c)
			d.i++
			continue
		}
		d.i++
		if d.i >= len(d.b) {
			break
		}
		e := d.b[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.err("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				save := d.i
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					d.i += 2
					if r2, ok := d.hex4(); ok {
						if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
							buf = utf8.AppendRune(buf, c)
							continue
						}
					}
				}
				d.i = save
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.err("bad escape")
		}
	}
	return "", d.err("unterminated string")
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.b[d.i:d.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}

// AppendJSON appends v as compact JSON: maps as objects, lists as arrays,
// other values as JSON scalars (a host object as the string it renders).
func AppendJSON(dst []byte, v Value) []byte {
	switch v.k {
	case kNull:
		return append(dst, "null"...)
	case kBool, kInt, kLong, kBig:
		return appendValue(dst, v)
	case kDouble:
		return appendJavaDouble(dst, v.float())
	case kString:
		return appendJSONString(dst, v.s)
	case kList:
		dst = append(dst, '[')
		for i, e := range v.p.(*List).Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSON(dst, e)
		}
		return append(dst, ']')
	case kMap:
		m := v.p.(*Map)
		dst = append(dst, '{')
		for i := range m.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, toString(m.keys[i]))
			dst = append(dst, ':')
			dst = AppendJSON(dst, m.vals[i])
		}
		return append(dst, '}')
	}
	return appendJSONString(dst, toString(v))
}

const hexDigits = "0123456789abcdef"

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
