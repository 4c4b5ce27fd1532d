package route

import (
	"fmt"
	"slices"
	"strings"
)

// MatchStatus is the outcome of [Tree.Match].
type MatchStatus uint8

const (
	// NoResource: no resource with any method matches the path. AWS answers
	// 403 Missing Authentication Token.
	NoResource MatchStatus = iota
	// MethodNotAllowed: at least one resource matches the path, but none of
	// them has the request method or ANY. AWS answers 403 Missing
	// Authentication Token as well; the distinction is for logs.
	MethodNotAllowed
	// Matched: a route was found.
	Matched
)

func (s MatchStatus) String() string {
	switch s {
	case NoResource:
		return "no resource"
	case MethodNotAllowed:
		return "method not allowed"
	case Matched:
		return "matched"
	}
	return fmt.Sprintf("MatchStatus(%d)", uint8(s))
}

// Builder collects routes for a [Tree]. The zero value is ready to use. A
// Builder is not safe for concurrent use; it can keep being used after
// Compile, which copies what it needs.
type Builder[V any] struct {
	root   *bnode[V]
	routes int
}

type bnode[V any] struct {
	path   string
	lits   map[string]*bnode[V]
	varc   *bnode[V] // the one variable child, {name} or {name+}
	vpart  part      // its path part
	mask   uint8
	values [numMethods]V
}

// Add registers v for method (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS
// or ANY) on resourcePath, such as "/", "/items", "/items/{id}",
// "/a/{b}/c", "/files/{proxy+}" or "/{proxy+}".
//
// It fails, wrapping [ErrInvalidPath], for a malformed path (see
// [ValidateResourcePath]); wrapping [ErrInvalidMethod] for another method;
// wrapping [ErrConflict] when the parent already has a different variable
// child (AWS allows one: "{id}" beside "{name}", or "{id}" beside
// "{proxy+}", is refused); and wrapping [ErrDuplicate] when the same path
// and method were already added. On error the Builder is unchanged.
func (b *Builder[V]) Add(resourcePath, method string, v V) error {
	mid := methodID(method)
	if mid < 0 {
		return fmt.Errorf("%w: %q (want GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS or ANY)", ErrInvalidMethod, method)
	}
	parts, err := parseResourcePath(resourcePath)
	if err != nil {
		return err
	}
	// Check everything before mutating, so a failed Add leaves no trace.
	n := b.root
	for _, pt := range parts {
		if n == nil {
			break
		}
		if pt.kind == kindLiteral {
			n = n.lits[pt.text]
			continue
		}
		if n.varc != nil && n.vpart != pt {
			return fmt.Errorf("%w: %q: a sibling (%s) of %s already has a variable path part -- only one is allowed",
				ErrConflict, resourcePath, partString(n.vpart), partString(pt))
		}
		n = n.varc
	}
	if n != nil && n.mask&(1<<mid) != 0 {
		return fmt.Errorf("%w: %s %s", ErrDuplicate, method, resourcePath)
	}

	if b.root == nil {
		b.root = &bnode[V]{path: "/"}
	}
	n = b.root
	for i, pt := range parts {
		path := "/" + joinParts(parts[:i+1])
		if pt.kind == kindLiteral {
			c := n.lits[pt.text]
			if c == nil {
				if n.lits == nil {
					n.lits = make(map[string]*bnode[V])
				}
				c = &bnode[V]{path: path}
				n.lits[pt.text] = c
			}
			n = c
			continue
		}
		if n.varc == nil {
			n.varc = &bnode[V]{path: path}
			n.vpart = pt
		}
		n = n.varc
	}
	n.mask |= 1 << mid
	n.values[mid] = v
	b.routes++
	return nil
}

func partString(p part) string {
	switch p.kind {
	case kindParam:
		return "{" + p.text + "}"
	case kindGreedy:
		return "{" + p.text + "+}"
	}
	return p.text
}

func joinParts(ps []part) string {
	var sb strings.Builder
	for i, p := range ps {
		if i > 0 {
			sb.WriteByte('/')
		}
		sb.WriteString(partString(p))
	}
	return sb.String()
}

// mapThreshold: nodes with more literal children than this get a map.
const mapThreshold = 8

// Tree is the compiled routing tree of one deployment. It is immutable and
// safe for concurrent Match.
type Tree[V any] struct {
	nodes  []node
	edges  []edge // literal children, per node a contiguous run sorted by seg
	values []V    // numMethods slots per node that has methods
	maxLit int    // longest literal path part
	routes int
}

type node struct {
	path     string // resource path, e.g. "/items/{id}"
	name     string // variable name when this is a variable node
	edges    []edge // literal children (sub-slice of Tree.edges)
	litMap   map[string]int32
	varc     int32 // variable child, or -1
	vgreedy  bool  // varc is a greedy variable
	mask     uint8
	valueOff int32 // index of this node's first slot in Tree.values
}

type edge struct {
	seg   string
	child int32
}

// Compile freezes the routes added so far into a Tree.
func (b *Builder[V]) Compile() *Tree[V] {
	t := &Tree[V]{routes: b.routes}
	if b.root == nil {
		t.nodes = []node{{path: "/", varc: -1}}
		return t
	}
	// Count nodes and edges to size the flat arrays once.
	var nn, ne, nv int
	var count func(n *bnode[V])
	count = func(n *bnode[V]) {
		nn++
		ne += len(n.lits)
		if n.mask != 0 {
			nv += numMethods
		}
		for _, c := range n.lits {
			count(c)
		}
		if n.varc != nil {
			count(n.varc)
		}
	}
	count(b.root)
	t.nodes = make([]node, 0, nn)
	t.edges = make([]edge, 0, ne)
	t.values = make([]V, 0, nv)

	// Pre-order layout: a node's subtree is contiguous, literal children
	// before the variable child, which is the order Match visits them.
	var add func(n *bnode[V], name string) int32
	add = func(n *bnode[V], name string) int32 {
		idx := int32(len(t.nodes))
		t.nodes = append(t.nodes, node{path: n.path, name: name, varc: -1, valueOff: -1, mask: n.mask})
		if n.mask != 0 {
			t.nodes[idx].valueOff = int32(len(t.values))
			t.values = append(t.values, n.values[:]...)
		}
		keys := make([]string, 0, len(n.lits))
		for k := range n.lits {
			keys = append(keys, k)
			t.maxLit = max(t.maxLit, len(k))
		}
		slices.Sort(keys)
		start := len(t.edges)
		for _, k := range keys {
			t.edges = append(t.edges, edge{seg: k, child: -1})
		}
		for i, k := range keys {
			c := add(n.lits[k], "")
			t.edges[start+i].child = c
		}
		// t.edges was sized exactly, so this run never moves.
		es := t.edges[start : start+len(keys) : start+len(keys)]
		t.nodes[idx].edges = es
		if len(es) > mapThreshold {
			m := make(map[string]int32, len(es))
			for _, e := range es {
				m[e.seg] = e.child
			}
			t.nodes[idx].litMap = m
		}
		if n.varc != nil {
			c := add(n.varc, n.vpart.text)
			t.nodes[idx].varc = c
			t.nodes[idx].vgreedy = n.vpart.kind == kindGreedy
		}
		return idx
	}
	add(b.root, "")
	return t
}

// Len reports the number of (resource path, method) routes in the tree.
func (t *Tree[V]) Len() int { return t.routes }

// Match finds the route for a request method and path. The path is relative
// to the stage, starts with "/" and is still percent-encoded as on the wire
// (r.URL.EscapedPath() minus the stage prefix). The path parameters of the
// match are stored into params, which is reset first and may be nil.
//
// On Matched it returns the value and resource path of the route. On
// MethodNotAllowed it returns the zero value and the resource path of the
// most specific resource that matched the path. On NoResource it returns
// zero values. See the package documentation for the rules.
func (t *Tree[V]) Match(method, path string, params *Params) (v V, resourcePath string, status MatchStatus) {
	if params != nil {
		params.Reset()
	}
	// Ignore extra leading slashes and all trailing slashes.
	i, j := 0, len(path)
	for i < j && path[i] == '/' {
		i++
	}
	for j > i && path[j-1] == '/' {
		j--
	}
	m := matcher[V]{t: t, path: path[i:j], mid: methodID(method), params: params, mna: -1}
	if m.mid == mANY {
		m.mid = -1 // "ANY" is not a request method
	}
	start := 0
	if m.path == "" {
		start = 1 // no segments: the root itself
	}
	if m.walk(0, start) {
		if params != nil {
			params.finish()
		}
		n := &t.nodes[m.hit]
		return t.values[int(n.valueOff)+m.slot], n.path, Matched
	}
	if params != nil {
		params.Reset()
	}
	if m.mna >= 0 {
		return v, t.nodes[m.mna].path, MethodNotAllowed
	}
	return v, "", NoResource
}

type matcher[V any] struct {
	t      *Tree[V]
	path   string // without leading and trailing slashes
	mid    int
	params *Params
	hit    int32
	slot   int
	mna    int32 // first resource that matched the path but not the method
}

// walk matches the segments of m.path from pos on against the subtree of
// node ni. pos > len(m.path) means all segments are consumed.
func (m *matcher[V]) walk(ni int32, pos int) bool {
	if pos > len(m.path) {
		return m.accept(ni)
	}
	n := &m.t.nodes[ni]
	end := strings.IndexByte(m.path[pos:], '/')
	if end < 0 {
		end = len(m.path)
	} else {
		end += pos
	}
	seg := m.path[pos:end]
	if seg != "" && len(n.edges) > 0 {
		if c := m.t.literal(n, seg); c >= 0 && m.walk(c, end+1) {
			return true
		}
	}
	if n.varc < 0 {
		return false
	}
	vn := &m.t.nodes[n.varc]
	if n.vgreedy {
		// One or more segments: the rest of the path. It is not empty, as
		// trailing slashes were stripped, but stay defensive.
		if pos >= len(m.path) {
			return false
		}
		m.push(vn.name, m.path[pos:])
		if m.accept(n.varc) {
			return true
		}
		m.pop()
		return false
	}
	if seg == "" {
		return false // an empty segment ("a//b") does not bind a {param}
	}
	m.push(vn.name, seg)
	if m.walk(n.varc, end+1) {
		return true
	}
	m.pop()
	return false
}

// accept decides whether node ni, whose path matched, serves the method.
func (m *matcher[V]) accept(ni int32) bool {
	n := &m.t.nodes[ni]
	if n.mask == 0 {
		return false
	}
	if m.mid >= 0 {
		if n.mask&(1<<m.mid) != 0 {
			m.hit, m.slot = ni, m.mid
			return true
		}
		if n.mask&(1<<mANY) != 0 {
			m.hit, m.slot = ni, mANY
			return true
		}
	}
	if m.mna < 0 {
		m.mna = ni
	}
	return false
}

func (m *matcher[V]) push(name, raw string) {
	if m.params != nil {
		m.params.push(name, raw)
	}
}

func (m *matcher[V]) pop() {
	if m.params != nil {
		m.params.pop()
	}
}

// literal returns the literal child of n for the still-encoded segment seg,
// or -1.
func (t *Tree[V]) literal(n *node, seg string) int32 {
	if strings.IndexByte(seg, '%') >= 0 {
		return t.literalEscaped(n, seg)
	}
	return n.lookup(seg)
}

func (n *node) lookup(seg string) int32 {
	if n.litMap != nil {
		if c, ok := n.litMap[seg]; ok {
			return c
		}
		return -1
	}
	for i := range n.edges {
		if n.edges[i].seg == seg {
			return n.edges[i].child
		}
	}
	return -1
}

// literalEscaped compares the decoded segment with the literal children.
// Literals only hold [a-zA-Z0-9._:-], so a segment that decodes to anything
// else, or to something longer than the longest literal, matches none.
func (t *Tree[V]) literalEscaped(n *node, seg string) int32 {
	var stack [64]byte
	var buf []byte
	if t.maxLit <= len(stack) {
		buf = stack[:0]
	} else {
		buf = make([]byte, 0, t.maxLit)
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' && i+2 < len(seg) && isHex(seg[i+1]) && isHex(seg[i+2]) {
			c = unhex(seg[i+1])<<4 | unhex(seg[i+2])
			i += 2
		}
		if !isNameChar(c) || len(buf) == t.maxLit {
			return -1
		}
		buf = append(buf, c)
	}
	if n.litMap != nil {
		if c, ok := n.litMap[string(buf)]; ok {
			return c
		}
		return -1
	}
	for i := range n.edges {
		if n.edges[i].seg == string(buf) {
			return n.edges[i].child
		}
	}
	return -1
}
