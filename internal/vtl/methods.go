package vtl

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// callMethod calls a Java method on a value of the engine's own kinds.
// ok is false when the class has no such method for these arguments.
func callMethod(s *state, v Value, name string, args []Value) (Value, bool, error) {
	switch name {
	case "toString":
		if len(args) == 0 {
			return String(toString(v)), true, nil
		}
	case "equals":
		if len(args) == 1 {
			return Bool(javaEquals(v, args[0])), true, nil
		}
	case "getClass":
		if len(args) == 0 {
			return ObjectValue(classOf(v)), true, nil
		}
	case "hashCode":
		if len(args) == 0 {
			return Int(int64(hashCode(v))), true, nil
		}
	}
	switch v.k {
	case kString:
		return stringMethod(v.s, name, args)
	case kList:
		return listMethod(v.p.(*List), name, args)
	case kMap:
		return mapMethod(v.p.(*Map), name, args)
	case kInt, kLong, kDouble, kBig:
		return numberMethod(v, name, args)
	case kBool:
		switch name {
		case "booleanValue":
			if len(args) == 0 {
				return v, true, nil
			}
		case "compareTo":
			if len(args) == 1 && args[0].k == kBool {
				return Int(v.n - args[0].n), true, nil
			}
		}
	}
	return Null, false, nil
}

// void is what a void Java method returns to a template: an empty string.
var void = String("")

func isInt(v Value) bool { return v.k == kInt }

// javaString is a string seen as Java sees it: UTF-16 code units.
type javaString struct {
	s     string
	ascii bool
	u     []uint16
}

func newJavaString(s string) javaString {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return javaString{s: s, u: utf16.Encode([]rune(s))}
		}
	}
	return javaString{s: s, ascii: true}
}

func (j javaString) len() int {
	if j.ascii {
		return len(j.s)
	}
	return len(j.u)
}

func (j javaString) sub(b, e int) string {
	if j.ascii {
		return j.s[b:e]
	}
	return string(utf16.Decode(j.u[b:e]))
}

// toUnits converts a byte offset of j.s into a UTF-16 offset.
func (j javaString) toUnits(off int) int {
	if j.ascii || off < 0 {
		return off
	}
	return len(utf16.Encode([]rune(j.s[:off])))
}

// toBytes converts a UTF-16 offset into a byte offset of j.s.
func (j javaString) toBytes(u int) int {
	if j.ascii {
		return u
	}
	return len(string(utf16.Decode(j.u[:u])))
}

type javaException struct{ class, msg string }

func (e *javaException) Error() string {
	if e.msg == "" {
		return "java.lang." + e.class
	}
	return "java.lang." + e.class + ": " + e.msg
}

func outOfBounds(format string, args ...any) error {
	return &javaException{"StringIndexOutOfBoundsException", fmt.Sprintf(format, args...)}
}

func stringMethod(s, name string, args []Value) (Value, bool, error) {
	n := len(args)
	str := func(i int) (string, bool) { return args[i].s, args[i].k == kString }
	switch name {
	case "length":
		if n == 0 {
			return Int(int64(newJavaString(s).len())), true, nil
		}
	case "isEmpty":
		if n == 0 {
			return Bool(s == ""), true, nil
		}
	case "isBlank":
		if n == 0 {
			return Bool(strings.TrimSpace(s) == ""), true, nil
		}
	case "charAt":
		if n == 1 && isInt(args[0]) {
			j := newJavaString(s)
			i := int(args[0].n)
			if i < 0 || i >= j.len() {
				return Null, true, outOfBounds("index %d, length %d", i, j.len())
			}
			return String(j.sub(i, i+1)), true, nil
		}
	case "substring", "subSequence":
		if n >= 1 && n <= 2 && isInt(args[0]) && (n == 1 || isInt(args[1])) {
			j := newJavaString(s)
			b, e := int(args[0].n), j.len()
			if n == 2 {
				e = int(args[1].n)
			}
			if b < 0 || e > j.len() || b > e {
				return Null, true, outOfBounds("begin %d, end %d, length %d", b, e, j.len())
			}
			return String(j.sub(b, e)), true, nil
		}
	case "indexOf", "lastIndexOf":
		if n >= 1 && n <= 2 && args[0].k == kString && (n == 1 || isInt(args[1])) {
			j := newJavaString(s)
			sub := args[0].s
			if name == "indexOf" {
				from := 0
				if n == 2 {
					from = max(int(args[1].n), 0)
				}
				if from > j.len() {
					return Int(-1), true, nil
				}
				b := j.toBytes(from)
				i := strings.Index(s[b:], sub)
				if i < 0 {
					return Int(-1), true, nil
				}
				return Int(int64(j.toUnits(b + i))), true, nil
			}
			end := len(s)
			if n == 2 {
				from := int(args[1].n)
				if from < 0 {
					return Int(-1), true, nil
				}
				if from < j.len() {
					end = j.toBytes(from) + len(sub)
					if end > len(s) {
						end = len(s)
					}
				}
			}
			i := strings.LastIndex(s[:end], sub)
			if i < 0 {
				return Int(-1), true, nil
			}
			return Int(int64(j.toUnits(i))), true, nil
		}
	case "contains":
		if a, ok := oneString(args); ok {
			return Bool(strings.Contains(s, a)), true, nil
		}
	case "startsWith":
		if a, ok := oneString(args); ok {
			return Bool(strings.HasPrefix(s, a)), true, nil
		}
		if n == 2 && args[0].k == kString && isInt(args[1]) {
			j := newJavaString(s)
			off := int(args[1].n)
			if off < 0 || off > j.len() {
				return Bool(false), true, nil
			}
			return Bool(strings.HasPrefix(s[j.toBytes(off):], args[0].s)), true, nil
		}
	case "endsWith":
		if a, ok := oneString(args); ok {
			return Bool(strings.HasSuffix(s, a)), true, nil
		}
	case "equalsIgnoreCase":
		if n == 1 {
			a, ok := str(0)
			return Bool(ok && strings.EqualFold(s, a)), true, nil
		}
	case "compareTo", "compareToIgnoreCase":
		if a, ok := oneString(args); ok {
			if name == "compareToIgnoreCase" {
				s, a = strings.ToLower(strings.ToUpper(s)), strings.ToLower(strings.ToUpper(a))
			}
			return Int(int64(compareJavaStrings(s, a))), true, nil
		}
	case "toUpperCase":
		if n == 0 {
			return String(strings.ToUpper(s)), true, nil
		}
	case "toLowerCase":
		if n == 0 {
			return String(strings.ToLower(s)), true, nil
		}
	case "trim":
		if n == 0 {
			return String(strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })), true, nil
		}
	case "strip":
		if n == 0 {
			return String(strings.TrimSpace(s)), true, nil
		}
	case "stripLeading":
		if n == 0 {
			return String(strings.TrimLeftFunc(s, isJavaSpace)), true, nil
		}
	case "stripTrailing":
		if n == 0 {
			return String(strings.TrimRightFunc(s, isJavaSpace)), true, nil
		}
	case "concat":
		if a, ok := oneString(args); ok {
			return String(s + a), true, nil
		}
	case "intern", "toString":
		if n == 0 {
			return String(s), true, nil
		}
	case "repeat":
		if n == 1 && isInt(args[0]) {
			if args[0].n < 0 {
				return Null, true, &javaException{"IllegalArgumentException", "count is negative: " + strconv.FormatInt(args[0].n, 10)}
			}
			if int64(len(s))*args[0].n > 1<<24 {
				return Null, true, &javaException{"OutOfMemoryError", "repeat too large"}
			}
			return String(strings.Repeat(s, int(args[0].n))), true, nil
		}
	case "replace":
		if n == 2 && args[0].k == kString && args[1].k == kString {
			if args[0].s == "" {
				// Java inserts the replacement between every char.
				j := newJavaString(s)
				var b strings.Builder
				b.WriteString(args[1].s)
				for i := 0; i < j.len(); i++ {
					b.WriteString(j.sub(i, i+1))
					b.WriteString(args[1].s)
				}
				return String(b.String()), true, nil
			}
			return String(strings.ReplaceAll(s, args[0].s, args[1].s)), true, nil
		}
	case "replaceAll", "replaceFirst":
		if n == 2 && args[0].k == kString && args[1].k == kString {
			re, err := javaRegexp(args[0].s)
			if err != nil {
				return Null, true, err
			}
			r, err := javaReplace(re, s, args[1].s, name == "replaceFirst")
			if err != nil {
				return Null, true, err
			}
			return String(r), true, nil
		}
	case "matches":
		if a, ok := oneString(args); ok {
			re, err := javaRegexp(`^(?:` + a + `)$`)
			if err != nil {
				return Null, true, err
			}
			return Bool(re.MatchString(s)), true, nil
		}
	case "split":
		if n >= 1 && n <= 2 && args[0].k == kString && (n == 1 || isInt(args[1])) {
			limit := 0
			if n == 2 {
				limit = int(args[1].n)
			}
			parts, err := javaSplit(s, args[0].s, limit)
			if err != nil {
				return Null, true, err
			}
			l := &List{Items: make([]Value, len(parts)), array: true}
			for i, p := range parts {
				l.Items[i] = String(p)
			}
			return ListValue(l), true, nil
		}
	}
	return Null, false, nil
}

func isJavaSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' || r == 0x1c || r == 0x1d || r == 0x1e || r == 0x1f || r > 0x7f && strings.ContainsRune("\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u2028\u2029\u205f\u3000\u1680", r)
}

func oneString(args []Value) (string, bool) {
	if len(args) == 1 && args[0].k == kString {
		return args[0].s, true
	}
	return "", false
}

// compareJavaStrings is String.compareTo: by UTF-16 code units.
func compareJavaStrings(a, b string) int {
	ja, jb := newJavaString(a), newJavaString(b)
	la, lb := ja.len(), jb.len()
	for i := 0; i < la && i < lb; i++ {
		var ca, cb int
		if ja.ascii {
			ca = int(a[i])
		} else {
			ca = int(ja.u[i])
		}
		if jb.ascii {
			cb = int(b[i])
		} else {
			cb = int(jb.u[i])
		}
		if ca != cb {
			return ca - cb
		}
	}
	return la - lb
}

var regexps sync.Map // pattern → *regexp.Regexp
var regexpCount int32
var regexpMu sync.Mutex

// javaRegexp compiles a java.util.regex pattern with Go's engine (RE2),
// which reads the syntax templates use the same way. Compiled patterns
// are kept, up to a bound.
func javaRegexp(pat string) (*regexp.Regexp, error) {
	if re, ok := regexps.Load(pat); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, &javaException{"PatternSyntaxException", err.Error()}
	}
	regexpMu.Lock()
	if regexpCount < 1024 {
		regexpCount++
		regexps.Store(pat, re)
	}
	regexpMu.Unlock()
	return re, nil
}

// javaReplace is Matcher.replaceAll/replaceFirst: $n and ${name} name
// groups in the replacement, a backslash quotes the next char.
func javaReplace(re *regexp.Regexp, s, repl string, first bool) (string, error) {
	n := -1
	if first {
		n = 1
	}
	ms := re.FindAllStringSubmatchIndex(s, n)
	if len(ms) == 0 {
		return s, nil
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m[0]])
		for i := 0; i < len(repl); i++ {
			c := repl[i]
			switch c {
			case '\\':
				i++
				if i >= len(repl) {
					return "", &javaException{"IllegalArgumentException", "character to be escaped is missing"}
				}
				b.WriteByte(repl[i])
			case '$':
				i++
				if i >= len(repl) {
					return "", &javaException{"IllegalArgumentException", "Illegal group reference: group index is missing"}
				}
				g := -1
				if repl[i] == '{' {
					e := strings.IndexByte(repl[i:], '}')
					if e < 0 {
						return "", &javaException{"IllegalArgumentException", "named capturing group is missing trailing '}'"}
					}
					g = re.SubexpIndex(repl[i+1 : i+e])
					if g < 0 {
						return "", &javaException{"IllegalArgumentException", "No group with name {" + repl[i+1:i+e] + "}"}
					}
					i += e
				} else {
					if !isDigit(repl[i]) {
						return "", &javaException{"IllegalArgumentException", "Illegal group reference"}
					}
					g = int(repl[i] - '0')
					for i+1 < len(repl) && isDigit(repl[i+1]) {
						ng := g*10 + int(repl[i+1]-'0')
						if ng > re.NumSubexp() {
							break
						}
						g = ng
						i++
					}
					if g > re.NumSubexp() {
						return "", &javaException{"IndexOutOfBoundsException", "No group " + strconv.Itoa(g)}
					}
				}
				if m[2*g] >= 0 {
					b.WriteString(s[m[2*g]:m[2*g+1]])
				}
			default:
				b.WriteByte(c)
			}
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// javaSplit is String.split(regex, limit).
func javaSplit(s, pat string, limit int) ([]string, error) {
	re, err := javaRegexp(pat)
	if err != nil {
		return nil, err
	}
	var parts []string
	index := 0
	for _, m := range re.FindAllStringIndex(s, -1) {
		if limit > 0 && len(parts) >= limit-1 {
			break
		}
		if index == 0 && m[0] == 0 && m[1] == 0 {
			continue
		}
		parts = append(parts, s[index:m[0]])
		index = m[1]
	}
	if index == 0 && len(parts) == 0 {
		return []string{s}, nil
	}
	parts = append(parts, s[index:])
	if limit == 0 {
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
	}
	return parts, nil
}

func indexOutOfBounds(i, n int) error {
	return &javaException{"IndexOutOfBoundsException", fmt.Sprintf("Index %d out of bounds for length %d", i, n)}
}

func listMethod(l *List, name string, args []Value) (Value, bool, error) {
	n := len(args)
	switch name {
	case "size":
		if n == 0 {
			return Int(int64(len(l.Items))), true, nil
		}
	case "isEmpty":
		if n == 0 {
			return Bool(len(l.Items) == 0), true, nil
		}
	case "get":
		if n == 1 && isInt(args[0]) {
			i := int(args[0].n)
			if i < 0 || i >= len(l.Items) {
				return Null, true, indexOutOfBounds(i, len(l.Items))
			}
			return l.Items[i], true, nil
		}
	case "contains":
		if n == 1 {
			return Bool(indexIn(l.Items, args[0]) >= 0), true, nil
		}
	case "indexOf":
		if n == 1 {
			return Int(int64(indexIn(l.Items, args[0]))), true, nil
		}
	case "lastIndexOf":
		if n == 1 {
			for i := len(l.Items) - 1; i >= 0; i-- {
				if javaEquals(l.Items[i], args[0]) {
					return Int(int64(i)), true, nil
				}
			}
			return Int(-1), true, nil
		}
	case "containsAll":
		if n == 1 && args[0].k == kList {
			for _, x := range args[0].p.(*List).Items {
				if indexIn(l.Items, x) < 0 {
					return Bool(false), true, nil
				}
			}
			return Bool(true), true, nil
		}
	case "subList":
		if n == 2 && isInt(args[0]) && isInt(args[1]) {
			b, e := int(args[0].n), int(args[1].n)
			if b < 0 || e > len(l.Items) || b > e {
				return Null, true, indexOutOfBounds(b, len(l.Items))
			}
			return ListValue(&List{Items: append([]Value(nil), l.Items[b:e]...)}), true, nil
		}
	}
	if l.array {
		return Null, false, nil
	}
	switch name {
	case "add":
		if n == 1 {
			l.Items = append(l.Items, args[0])
			return Bool(true), true, nil
		}
		if n == 2 && isInt(args[0]) {
			i := int(args[0].n)
			if i < 0 || i > len(l.Items) {
				return Null, true, indexOutOfBounds(i, len(l.Items))
			}
			l.Items = append(l.Items, Null)
			copy(l.Items[i+1:], l.Items[i:])
			l.Items[i] = args[1]
			return void, true, nil
		}
	case "addAll":
		if n == 1 && args[0].k == kList {
			add := args[0].p.(*List).Items
			l.Items = append(l.Items, add...)
			return Bool(len(add) > 0), true, nil
		}
	case "set":
		if n == 2 && isInt(args[0]) {
			i := int(args[0].n)
			if i < 0 || i >= len(l.Items) {
				return Null, true, indexOutOfBounds(i, len(l.Items))
			}
			old := l.Items[i]
			l.Items[i] = args[1]
			return old, true, nil
		}
	case "remove":
		if n == 1 && isInt(args[0]) {
			i := int(args[0].n)
			if i < 0 || i >= len(l.Items) {
				return Null, true, indexOutOfBounds(i, len(l.Items))
			}
			old := l.Items[i]
			l.Items = append(l.Items[:i], l.Items[i+1:]...)
			return old, true, nil
		}
		if n == 1 {
			i := indexIn(l.Items, args[0])
			if i >= 0 {
				l.Items = append(l.Items[:i], l.Items[i+1:]...)
			}
			return Bool(i >= 0), true, nil
		}
	case "clear":
		if n == 0 {
			l.Items = l.Items[:0]
			return void, true, nil
		}
	case "sort":
		if n == 1 && args[0].k == kNull {
			var err error
			sort.SliceStable(l.Items, func(i, j int) bool {
				c, e := naturalCompare(l.Items[i], l.Items[j])
				if e != nil {
					err = e
				}
				return c < 0
			})
			if err != nil {
				return Null, true, err
			}
			return void, true, nil
		}
	}
	return Null, false, nil
}

func naturalCompare(a, b Value) (int, error) {
	switch {
	case a.k == kString && b.k == kString:
		return compareJavaStrings(a.s, b.s), nil
	case a.isNumber() && a.k == b.k:
		return compareNumbers(a, b), nil
	case a.k == kBool && b.k == kBool:
		return int(a.n - b.n), nil
	}
	return 0, &javaException{"ClassCastException", "values are not mutually comparable"}
}

func indexIn(items []Value, x Value) int {
	for i := range items {
		if javaEquals(items[i], x) {
			return i
		}
	}
	return -1
}

func mapMethod(m *Map, name string, args []Value) (Value, bool, error) {
	n := len(args)
	switch name {
	case "size":
		if n == 0 {
			return Int(int64(m.Len())), true, nil
		}
	case "isEmpty":
		if n == 0 {
			return Bool(m.Len() == 0), true, nil
		}
	case "get":
		if n == 1 {
			v, _ := m.Get(args[0])
			return v, true, nil
		}
	case "getOrDefault":
		if n == 2 {
			if v, ok := m.Get(args[0]); ok {
				return v, true, nil
			}
			return args[1], true, nil
		}
	case "containsKey":
		if n == 1 {
			_, ok := m.Get(args[0])
			return Bool(ok), true, nil
		}
	case "containsValue":
		if n == 1 {
			return Bool(indexIn(m.vals, args[0]) >= 0), true, nil
		}
	case "put":
		if n == 2 {
			return m.Put(args[0], args[1]), true, nil
		}
	case "putIfAbsent":
		if n == 2 {
			if v, ok := m.Get(args[0]); ok && v.k != kNull {
				return v, true, nil
			}
			return m.Put(args[0], args[1]), true, nil
		}
	case "putAll":
		if n == 1 && args[0].k == kMap {
			o := args[0].p.(*Map)
			for i := range o.keys {
				m.Put(o.keys[i], o.vals[i])
			}
			return void, true, nil
		}
	case "remove":
		if n == 1 {
			return m.Remove(args[0]), true, nil
		}
	case "clear":
		if n == 0 {
			m.keys, m.vals, m.index = m.keys[:0], m.vals[:0], nil
			return void, true, nil
		}
	case "keySet":
		if n == 0 {
			return ListValue(&List{Items: append([]Value(nil), m.keys...)}), true, nil
		}
	case "values":
		if n == 0 {
			return ListValue(&List{Items: append([]Value(nil), m.vals...)}), true, nil
		}
	case "entrySet":
		if n == 0 {
			l := &List{Items: make([]Value, len(m.keys))}
			for i := range m.keys {
				l.Items[i] = ObjectValue(&entry{m, i})
			}
			return ListValue(l), true, nil
		}
	}
	return Null, false, nil
}

// entry is a Map.Entry of entrySet().
type entry struct {
	m *Map
	i int
}

func (e *entry) Property(name string) (Value, bool) {
	switch name {
	case "key":
		return e.m.keys[e.i], true
	case "value":
		return e.m.vals[e.i], true
	}
	return Null, false
}

func (e *entry) Method(name string, args []Value) (Value, bool, error) {
	switch {
	case name == "getKey" && len(args) == 0:
		return e.m.keys[e.i], true, nil
	case name == "getValue" && len(args) == 0:
		return e.m.vals[e.i], true, nil
	case name == "setValue" && len(args) == 1:
		old := e.m.vals[e.i]
		e.m.vals[e.i] = args[0]
		return old, true, nil
	case name == "toString" && len(args) == 0:
		return String(string(e.AppendString(nil))), true, nil
	}
	return Null, false, nil
}

func (e *entry) AppendString(dst []byte) []byte {
	dst = appendValue(dst, e.m.keys[e.i])
	dst = append(dst, '=')
	return appendValue(dst, e.m.vals[e.i])
}

func numberMethod(v Value, name string, args []Value) (Value, bool, error) {
	if len(args) == 0 {
		switch name {
		case "intValue":
			if v.k == kDouble {
				return Int(int64(int32(javaF2L(v.float(), math.MinInt32, math.MaxInt32)))), true, nil
			}
			return Int(int64(int32(toBig(v).Int64()))), true, nil
		case "longValue":
			if v.k == kDouble {
				return Long(javaF2L(v.float(), math.MinInt64, math.MaxInt64)), true, nil
			}
			return Long(toBig(v).Int64()), true, nil
		case "doubleValue":
			return Double(toFloat(v)), true, nil
		case "isNaN":
			if v.k == kDouble {
				return Bool(math.IsNaN(v.float())), true, nil
			}
		case "isInfinite":
			if v.k == kDouble {
				return Bool(math.IsInf(v.float(), 0)), true, nil
			}
		}
		return Null, false, nil
	}
	if name == "compareTo" && len(args) == 1 && args[0].k == v.k {
		return Int(int64(compareNumbers(v, args[0]))), true, nil
	}
	return Null, false, nil
}

// javaF2L is Java's narrowing of a double: NaN is 0, out of range clamps.
func javaF2L(f float64, lo, hi int64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f <= float64(lo):
		return lo
	case f >= float64(hi):
		return hi
	}
	return int64(f)
}

// hashCode is Java's hashCode for the classes templates meet.
func hashCode(v Value) int32 {
	switch v.k {
	case kString:
		var h int32
		j := newJavaString(v.s)
		if j.ascii {
			for i := 0; i < len(v.s); i++ {
				h = 31*h + int32(v.s[i])
			}
		} else {
			for _, c := range j.u {
				h = 31*h + int32(c)
			}
		}
		return h
	case kInt:
		return int32(v.n)
	case kLong:
		return int32(v.n ^ int64(uint64(v.n)>>32))
	case kBool:
		if v.bool() {
			return 1231
		}
		return 1237
	case kDouble:
		b := math.Float64bits(v.float())
		return int32(b ^ b>>32)
	case kList:
		h := int32(1)
		for _, e := range v.p.(*List).Items {
			h = 31*h + hashCode(e)
		}
		return h
	case kMap:
		var h int32
		m := v.p.(*Map)
		for i := range m.keys {
			h += hashCode(m.keys[i]) ^ hashCode(m.vals[i])
		}
		return h
	}
	return 0
}

// class is what getClass() returns: enough for $x.class.name.
type class struct{ name string }

func classOf(v Value) *class {
	switch v.k {
	case kBool:
		return &class{"java.lang.Boolean"}
	case kInt:
		return &class{"java.lang.Integer"}
	case kLong:
		return &class{"java.lang.Long"}
	case kBig:
		return &class{"java.math.BigInteger"}
	case kDouble:
		return &class{"java.lang.Double"}
	case kString:
		return &class{"java.lang.String"}
	case kList:
		if v.p.(*List).array {
			return &class{"[Ljava.lang.String;"}
		}
		return &class{"java.util.ArrayList"}
	case kMap:
		return &class{"java.util.LinkedHashMap"}
	}
	return &class{"java.lang.Object"}
}

func (c *class) Property(name string) (Value, bool) {
	switch name {
	case "name":
		return String(c.name), true
	case "simpleName":
		return String(c.name[strings.LastIndexByte(c.name, '.')+1:]), true
	}
	return Null, false
}

func (c *class) Method(name string, args []Value) (Value, bool, error) {
	if len(args) == 0 {
		switch name {
		case "getName":
			v, ok := c.Property("name")
			return v, ok, nil
		case "getSimpleName":
			v, ok := c.Property("simpleName")
			return v, ok, nil
		}
	}
	return Null, false, nil
}

func (c *class) AppendString(dst []byte) []byte {
	return append(append(dst, "class "...), c.name...)
}
