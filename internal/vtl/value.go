package vtl

import (
	"math"
	"math/big"
	"strconv"
)

// kind is the Java class a Value stands for.
type kind uint8

const (
	kNull   kind = iota // null: an undefined reference, a void or missing result
	kBool               // java.lang.Boolean
	kInt                // java.lang.Integer
	kLong               // java.lang.Long
	kBig                // java.math.BigInteger (p is *big.Int)
	kDouble             // java.lang.Double (n holds the bits)
	kString             // java.lang.String
	kList               // java.util.ArrayList, or a Java array (p is *List)
	kMap                // java.util.LinkedHashMap (p is *Map)
	kObject             // a host object (p is Object)
	kBlock              // a #define block or $bodyContent (p is *block)
)

// Value is a template value: what a reference, a literal or a method call
// yields. The zero Value is null. Scalars are held inline, so that
// evaluating a template allocates only for what it builds.
type Value struct {
	k kind
	n int64
	s string
	p any
}

// Null is Java's null: an undefined reference renders as written.
var Null Value

// String returns a java.lang.String value.
func String(s string) Value { return Value{k: kString, s: s} }

// Int returns a java.lang.Integer value when n fits in 32 bits, a
// java.lang.Long otherwise.
func Int(n int64) Value {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return Value{k: kInt, n: n}
	}
	return Value{k: kLong, n: n}
}

// Long returns a java.lang.Long value.
func Long(n int64) Value { return Value{k: kLong, n: n} }

// Double returns a java.lang.Double value.
func Double(f float64) Value { return Value{k: kDouble, n: int64(math.Float64bits(f))} }

// Bool returns a java.lang.Boolean value.
func Bool(b bool) Value {
	if b {
		return Value{k: kBool, n: 1}
	}
	return Value{k: kBool}
}

// ListValue returns l as a value.
func ListValue(l *List) Value { return Value{k: kList, p: l} }

// MapValue returns m as a value.
func MapValue(m *Map) Value { return Value{k: kMap, p: m} }

// ObjectValue returns a host object as a value.
func ObjectValue(o Object) Value { return Value{k: kObject, p: o} }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.k == kNull }

// Str returns v's string and whether v is a string.
func (v Value) Str() (string, bool) { return v.s, v.k == kString }

// List returns v's list, or nil.
func (v Value) List() *List {
	l, _ := v.p.(*List)
	return l
}

// Map returns v's map, or nil.
func (v Value) Map() *Map {
	m, _ := v.p.(*Map)
	return m
}

// Integer returns v's number and whether v is an Integer or a Long.
func (v Value) Integer() (int64, bool) { return v.n, v.k == kInt || v.k == kLong }

// Text returns what v renders as (Java's toString).
func (v Value) Text() string {
	if v.k == kString {
		return v.s
	}
	return string(appendValue(nil, v))
}

func (v Value) float() float64 { return math.Float64frombits(uint64(v.n)) }
func (v Value) bool() bool     { return v.n != 0 }
func (v Value) isNumber() bool { return v.k >= kInt && v.k <= kDouble }

// Object is a value the caller provides, seen by templates as a Java
// object: $o.name reads a property, $o.name(args) calls a method.
type Object interface {
	// Property returns $o.name; ok is false when o has no such property.
	Property(name string) (v Value, ok bool)
	// Method calls $o.name(args); ok is false when o has no such method
	// for these arguments (the reference then renders as written). An
	// error stops the rendering, as a Java exception does.
	Method(name string, args []Value) (v Value, ok bool, err error)
	// AppendString appends what $o renders (Java's toString).
	AppendString(dst []byte) []byte
}

// Scalar is an Object that stands for a plain value wherever it is not
// the target of a property read: lazy variables such as $context.x.y
// built from dotted names.
type Scalar interface {
	Object
	Scalar() (Value, bool)
}

// List is a java.util.ArrayList (or, with array set, a Java array: what
// String.split returns).
type List struct {
	Items []Value
	array bool
}

// Map is a java.util.LinkedHashMap: entries in insertion order.
type Map struct {
	keys []Value
	vals []Value
	// index finds string keys in big maps; nil below indexMin entries.
	index map[string]int
}

const indexMin = 12

// NewMap returns an empty map with room for n entries.
func NewMap(n int) *Map {
	return &Map{keys: make([]Value, 0, n), vals: make([]Value, 0, n)}
}

// Len is the number of entries.
func (m *Map) Len() int { return len(m.keys) }

func (m *Map) find(k Value) int {
	if m.index != nil && k.k == kString {
		if i, ok := m.index[k.s]; ok {
			return i
		}
		return -1
	}
	for i := range m.keys {
		if javaEquals(m.keys[i], k) {
			return i
		}
	}
	return -1
}

// Get returns the value of key k.
func (m *Map) Get(k Value) (Value, bool) {
	if i := m.find(k); i >= 0 {
		return m.vals[i], true
	}
	return Null, false
}

// GetString returns the value of the string key k.
func (m *Map) GetString(k string) (Value, bool) {
	if m.index == nil {
		for i := range m.keys {
			if m.keys[i].k == kString && m.keys[i].s == k {
				return m.vals[i], true
			}
		}
		return Null, false
	}
	return m.Get(String(k))
}

// Put sets k to v and returns the previous value (null when none).
func (m *Map) Put(k, v Value) Value {
	if i := m.find(k); i >= 0 {
		old := m.vals[i]
		m.vals[i] = v
		return old
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
	if m.index != nil {
		if k.k == kString {
			m.index[k.s] = len(m.keys) - 1
		} else {
			m.index = nil // rebuilt below
		}
	}
	if m.index == nil && len(m.keys) >= indexMin {
		m.reindex()
	}
	return Null
}

func (m *Map) reindex() {
	for i := range m.keys {
		if m.keys[i].k != kString {
			m.index = nil
			return
		}
	}
	m.index = make(map[string]int, len(m.keys))
	for i := range m.keys {
		m.index[m.keys[i].s] = i
	}
}

// Remove deletes k and returns its value (null when absent).
func (m *Map) Remove(k Value) Value {
	i := m.find(k)
	if i < 0 {
		return Null
	}
	old := m.vals[i]
	m.keys = append(m.keys[:i], m.keys[i+1:]...)
	m.vals = append(m.vals[:i], m.vals[i+1:]...)
	m.index = nil
	if len(m.keys) >= indexMin {
		m.reindex()
	}
	return old
}

// Range calls f for each entry in order until it returns false.
func (m *Map) Range(f func(k, v Value) bool) {
	for i := range m.keys {
		if !f(m.keys[i], m.vals[i]) {
			return
		}
	}
}

// block is a #define body or a block macro's $bodyContent, rendered where
// it is referenced.
type block struct {
	nodes []node
}

// appendValue appends Java's toString of v.
func appendValue(dst []byte, v Value) []byte {
	switch v.k {
	case kNull:
		return append(dst, "null"...)
	case kBool:
		if v.bool() {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case kInt, kLong:
		return strconv.AppendInt(dst, v.n, 10)
	case kBig:
		return v.p.(*big.Int).Append(dst, 10)
	case kDouble:
		return appendJavaDouble(dst, v.float())
	case kString:
		return append(dst, v.s...)
	case kList:
		l := v.p.(*List)
		if l.array {
			return append(dst, "[Ljava.lang.String;@1b6d3586"...)
		}
		dst = append(dst, '[')
		for i, e := range l.Items {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			if e.p == l {
				dst = append(dst, "(this Collection)"...)
				continue
			}
			dst = appendValue(dst, e)
		}
		return append(dst, ']')
	case kMap:
		m := v.p.(*Map)
		dst = append(dst, '{')
		for i := range m.keys {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendValue(dst, m.keys[i])
			dst = append(dst, '=')
			if m.vals[i].p == m {
				dst = append(dst, "(this Map)"...)
				continue
			}
			dst = appendValue(dst, m.vals[i])
		}
		return append(dst, '}')
	case kObject:
		return v.p.(Object).AppendString(dst)
	}
	return dst
}

// toString is Java's String.valueOf(v).
func toString(v Value) string {
	if v.k == kString {
		return v.s
	}
	return string(appendValue(nil, v))
}

// appendJavaDouble formats f as Java's Double.toString does: plain
// decimal between 10^-3 and 10^7, computerized scientific notation
// (1.0E10) outside, and always a fractional digit.
func appendJavaDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	a := math.Abs(f)
	if a >= 1e-3 && a < 1e7 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, ".0"...)
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	e := 0
	for e < len(b) && b[e] != 'e' {
		e++
	}
	mant, exp := b[:e], b[e+1:]
	dst = append(dst, mant...)
	hasDot := false
	for _, c := range mant {
		if c == '.' {
			hasDot = true
		}
	}
	if !hasDot {
		dst = append(dst, ".0"...)
	}
	dst = append(dst, 'E')
	if exp[0] == '-' {
		dst = append(dst, '-')
	}
	exp = exp[1:]
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	return append(dst, exp...)
}

// javaEquals is a.equals(b) for the classes templates meet.
func javaEquals(a, b Value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kNull:
		return true
	case kBool, kInt, kLong:
		return a.n == b.n
	case kDouble:
		return a.n == b.n || a.float() == b.float() && !math.IsNaN(a.float())
	case kBig:
		return a.p.(*big.Int).Cmp(b.p.(*big.Int)) == 0
	case kString:
		return a.s == b.s
	case kList:
		la, lb := a.p.(*List), b.p.(*List)
		if la == lb {
			return true
		}
		if la.array || lb.array || len(la.Items) != len(lb.Items) {
			return false
		}
		for i := range la.Items {
			if !javaEquals(la.Items[i], lb.Items[i]) {
				return false
			}
		}
		return true
	case kMap:
		ma, mb := a.p.(*Map), b.p.(*Map)
		if ma == mb {
			return true
		}
		if len(ma.keys) != len(mb.keys) {
			return false
		}
		for i := range ma.keys {
			v, ok := mb.Get(ma.keys[i])
			if !ok || !javaEquals(ma.vals[i], v) {
				return false
			}
		}
		return true
	}
	return a.p == b.p
}

// truthy is a reference's value in a condition: null and false are false,
// anything else true.
func truthy(v Value) bool {
	switch v.k {
	case kNull:
		return false
	case kBool:
		return v.bool()
	}
	return true
}
