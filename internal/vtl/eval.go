package vtl

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// Context resolves a template's variables: $name asks Lookup(name) once
// per rendering. A name it does not know is undefined (null).
type Context interface {
	Lookup(name string) (Value, bool)
}

// Vars is a Context over a map.
type Vars map[string]Value

// Lookup implements Context.
func (v Vars) Lookup(name string) (Value, bool) {
	x, ok := v[name]
	return x, ok
}

// Limits bound one rendering.
type Limits struct {
	// Steps bounds the work: every node rendered, expression evaluated,
	// loop iteration and list element built takes one.
	Steps int
	// Output bounds the bytes a rendering appends.
	Output int
	// MacroDepth bounds nested macro calls (Velocity's
	// velocimacro.max.depth).
	MacroDepth int
}

// DefaultLimits are the bounds of Append.
var DefaultLimits = Limits{Steps: 1_000_000, Output: 10 << 20, MacroDepth: 20}

var (
	errBreak = errors.New("vtl: #break")
	errStop  = errors.New("vtl: #stop")
)

type state struct {
	t      *Template
	ctx    Context
	names  []string
	vars   []Value
	known  []bool
	macros map[string]*macro
	out    []byte
	max    int // len(out) must stay under max
	steps  int
	lim    Limits
	depth  int
}

// Append renders t with ctx onto dst, within DefaultLimits.
func (t *Template) Append(dst []byte, ctx Context) ([]byte, error) {
	return t.Execute(dst, ctx, DefaultLimits)
}

// Execute renders t with ctx onto dst within lim (a zero field takes
// DefaultLimits' value). On error, dst is returned with what was rendered
// before it.
func (t *Template) Execute(dst []byte, ctx Context, lim Limits) ([]byte, error) {
	if lim.Steps <= 0 {
		lim.Steps = DefaultLimits.Steps
	}
	if lim.Output <= 0 {
		lim.Output = DefaultLimits.Output
	}
	if lim.MacroDepth <= 0 {
		lim.MacroDepth = DefaultLimits.MacroDepth
	}
	s := &state{t: t, ctx: ctx, names: t.names, macros: t.macros, out: dst, max: len(dst) + lim.Output, steps: lim.Steps, lim: lim}
	var small [16]Value
	var smallKnown [16]bool
	if n := len(t.names); n <= len(small) {
		s.vars, s.known = small[:n], smallKnown[:n]
	} else {
		s.vars, s.known = make([]Value, n), make([]bool, n)
	}
	err := s.render(t.nodes)
	if err == errStop || err == errBreak {
		err = nil
	}
	return s.out, err
}

func (s *state) fail(at int, format string, args ...any) error {
	line, col := s.t.position(at)
	return &Error{Name: s.t.name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (s *state) step(at int) error {
	s.steps--
	if s.steps < 0 {
		return s.fail(at, "rendering stopped after %d steps", s.lim.Steps)
	}
	return nil
}

func (s *state) checkOut(at int) error {
	if len(s.out) > s.max {
		return s.fail(at, "output larger than %d bytes", s.lim.Output)
	}
	return nil
}

func (s *state) get(slot int) Value {
	if !s.known[slot] {
		s.known[slot] = true
		if s.ctx != nil {
			if v, ok := s.ctx.Lookup(s.names[slot]); ok {
				s.vars[slot] = v
			}
		}
	}
	return s.vars[slot]
}

func (s *state) put(slot int, v Value) {
	s.vars[slot] = v
	s.known[slot] = true
}

// binding saves a slot to restore it after a loop or a macro call.
type binding struct {
	v     Value
	known bool
}

func (s *state) save(slot int) binding { return binding{s.vars[slot], s.known[slot]} }
func (s *state) restore(slot int, b binding) {
	s.vars[slot], s.known[slot] = b.v, b.known
}

func (s *state) render(nodes []node) error {
	for _, n := range nodes {
		var err error
		switch n := n.(type) {
		case *textNode:
			s.out = append(s.out, n.text...)
			if len(s.out) > s.max {
				return s.fail(0, "output larger than %d bytes", s.lim.Output)
			}
			continue
		case *refNode:
			err = s.renderRef(n)
		case *setNode:
			err = s.set(n)
		case *ifNode:
			err = s.ifStatement(n)
		case *foreachNode:
			err = s.foreach(n)
		case *callNode:
			err = s.callMacro(n)
		case *defineNode:
			s.put(n.slot, Value{k: kBlock, p: &block{nodes: n.body}})
		case *breakNode:
			return errBreak
		case *stopNode:
			return errStop
		case *evaluateNode:
			err = s.evaluate(n)
		case *unsupportedNode:
			err = s.fail(n.at, "#%s is not supported: templates have no resources to read", n.name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *state) renderRef(r *refNode) error {
	if err := s.step(r.at); err != nil {
		return err
	}
	v, err := s.evalRef(r)
	if err != nil {
		return err
	}
	if r.esc > 0 {
		s.out = appendBackslashes(s.out, r.esc/2)
		if r.esc%2 == 1 {
			if v.k == kNull {
				s.out = append(s.out, '\\')
			}
			s.out = append(s.out, r.raw...)
			return s.checkOut(r.at)
		}
		if v.k == kNull {
			if !r.quiet {
				s.out = appendBackslashes(s.out, r.esc-r.esc/2)
				s.out = append(s.out, r.raw...)
			}
			return s.checkOut(r.at)
		}
	}
	switch v.k {
	case kNull:
		if r.quiet {
			return nil
		}
		if v.n == nullNamed && len(r.chain) == 0 {
			s.out = append(s.out, v.s...)
		} else {
			s.out = append(s.out, r.raw...)
		}
	case kBlock:
		if err := s.enterMacro(r.at); err != nil {
			return err
		}
		err := s.render(v.p.(*block).nodes)
		s.depth--
		if err != nil && err != errBreak {
			return err
		}
	default:
		s.out = appendValue(s.out, v)
	}
	return s.checkOut(r.at)
}

func appendBackslashes(dst []byte, n int) []byte {
	for ; n > 0; n-- {
		dst = append(dst, '\\')
	}
	return dst
}

// nullNamed marks a null macro argument that renders as the argument was
// written ($a bound to $undefined renders "$undefined").
const nullNamed = 1

func (s *state) evalRef(r *refNode) (Value, error) {
	v := s.get(r.slot)
	for i := range r.chain {
		if v.k == kNull {
			return Null, nil
		}
		a := &r.chain[i]
		switch a.op {
		case accProp:
			v = s.property(v, a.name)
		case accIndex:
			x, err := s.value(a.args[0])
			if err != nil {
				return Null, err
			}
			v, err = s.index(v, x, a.at)
			if err != nil {
				return Null, err
			}
		case accMethod:
			args := make([]Value, 0, 4)
			for _, x := range a.args {
				av, err := s.value(x)
				if err != nil {
					return Null, err
				}
				args = append(args, av)
			}
			if sc, ok := v.p.(Scalar); ok && v.k == kObject {
				v, _ = sc.Scalar()
				if v.k == kNull {
					return Null, nil
				}
			}
			var err error
			v, err = s.method(v, a.name, args, a.at)
			if err != nil {
				return Null, err
			}
		}
	}
	if v.k == kObject {
		if sc, ok := v.p.(Scalar); ok {
			v, _ = sc.Scalar()
		}
	}
	if v.k == kNull {
		return v, nil
	}
	return v, nil
}

func (s *state) method(v Value, name string, args []Value, at int) (Value, error) {
	if err := s.step(at); err != nil {
		return Null, err
	}
	var r Value
	var ok bool
	var err error
	if v.k == kObject {
		r, ok, err = v.p.(Object).Method(name, args)
	} else {
		r, ok, err = callMethod(s, v, name, args)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return Null, err
		}
		e = s.fail(at, "invocation of method '%s' threw %v", name, err).(*Error)
		e.Err = err
		return Null, e
	}
	if !ok {
		return Null, nil
	}
	return r, nil
}

// property is $v.name: Map.get("name") on a map, the host object's
// property, else the getter getName(), getname() or isName().
func (s *state) property(v Value, name string) Value {
	switch v.k {
	case kMap:
		r, _ := v.p.(*Map).GetString(name)
		return r
	case kObject:
		r, _ := v.p.(Object).Property(name)
		return r
	}
	up := strings.ToUpper(name[:1]) + name[1:]
	for _, m := range [...]string{"get" + up, "get" + name, "is" + up} {
		if r, ok, err := callMethod(s, v, m, nil); ok && err == nil {
			return r
		}
	}
	return Null
}

func (s *state) index(v, x Value, at int) (Value, error) {
	switch v.k {
	case kList:
		l := v.p.(*List)
		if x.k != kInt {
			return Null, nil
		}
		i := int(x.n)
		if i < 0 {
			i += len(l.Items)
		}
		if i < 0 || i >= len(l.Items) {
			return Null, s.fail(at, "index %d out of bounds for length %d", x.n, len(l.Items))
		}
		return l.Items[i], nil
	case kMap:
		r, _ := v.p.(*Map).Get(x)
		return r, nil
	case kObject:
		r, ok, err := v.p.(Object).Method("get", []Value{x})
		if err != nil {
			return Null, s.fail(at, "get threw %v", err)
		}
		if ok {
			return r, nil
		}
	}
	return Null, nil
}

func (s *state) set(n *setNode) error {
	if err := s.step(n.at); err != nil {
		return err
	}
	v, err := s.value(n.rhs)
	if err != nil {
		return err
	}
	if v.k == kNull {
		// directive.set.null.allowed is false: nothing changes.
		return nil
	}
	l := n.lhs
	if len(l.chain) == 0 {
		s.put(l.slot, v)
		return nil
	}
	target := s.get(l.slot)
	for i := range l.chain[:len(l.chain)-1] {
		if target.k == kNull {
			return nil
		}
		a := &l.chain[i]
		switch a.op {
		case accProp:
			target = s.property(target, a.name)
		case accIndex:
			x, err := s.value(a.args[0])
			if err != nil {
				return err
			}
			if target, err = s.index(target, x, a.at); err != nil {
				return err
			}
		case accMethod:
			args := make([]Value, 0, len(a.args))
			for _, x := range a.args {
				av, err := s.value(x)
				if err != nil {
					return err
				}
				args = append(args, av)
			}
			if target, err = s.method(target, a.name, args, a.at); err != nil {
				return err
			}
		}
	}
	last := &l.chain[len(l.chain)-1]
	switch last.op {
	case accProp:
		switch target.k {
		case kMap:
			target.p.(*Map).Put(String(last.name), v)
		case kObject:
			up := "set" + strings.ToUpper(last.name[:1]) + last.name[1:]
			if _, _, err := target.p.(Object).Method(up, []Value{v}); err != nil {
				return s.fail(last.at, "%s threw %v", up, err)
			}
		}
	case accIndex:
		x, err := s.value(last.args[0])
		if err != nil {
			return err
		}
		switch target.k {
		case kList:
			items := target.p.(*List).Items
			i := int(x.n)
			if x.k != kInt {
				return nil
			}
			if i < 0 {
				i += len(items)
			}
			if i < 0 || i >= len(items) {
				return s.fail(last.at, "index %d out of bounds for length %d", x.n, len(items))
			}
			items[i] = v
		case kMap:
			target.p.(*Map).Put(x, v)
		}
	}
	return nil
}

func (s *state) ifStatement(n *ifNode) error {
	if err := s.step(n.at); err != nil {
		return err
	}
	for i, c := range n.conds {
		ok, err := s.cond(c)
		if err != nil {
			return err
		}
		if ok {
			return s.render(n.bodies[i])
		}
	}
	if n.els != nil {
		return s.render(n.els)
	}
	return nil
}

// foreachScope is $foreach.
type foreachScope struct {
	index  int
	n      int
	parent Value
}

func (f *foreachScope) Property(name string) (Value, bool) {
	switch name {
	case "index":
		return Int(int64(f.index)), true
	case "count":
		return Int(int64(f.index + 1)), true
	case "hasNext":
		return Bool(f.index+1 < f.n), true
	case "first":
		return Bool(f.index == 0), true
	case "last":
		return Bool(f.index+1 == f.n), true
	case "parent":
		return f.parent, f.parent.k != kNull
	case "topmost":
		t := f
		for {
			p, ok := t.parent.p.(*foreachScope)
			if !ok {
				return ObjectValue(t), true
			}
			t = p
		}
	}
	return Null, false
}

func (f *foreachScope) Method(name string, args []Value) (Value, bool, error) {
	if len(args) > 0 {
		return Null, false, nil
	}
	prop, ok := map[string]string{"getIndex": "index", "getCount": "count", "hasNext": "hasNext", "isFirst": "first",
		"isLast": "last", "getParent": "parent", "getTopmost": "topmost"}[name]
	if !ok {
		return Null, false, nil
	}
	v, ok := f.Property(prop)
	return v, ok, nil
}

func (f *foreachScope) AppendString(dst []byte) []byte {
	return append(dst, "org.apache.velocity.runtime.directive.ForeachScope"...)
}

func (s *state) foreach(n *foreachNode) error {
	if err := s.step(n.at); err != nil {
		return err
	}
	it, err := s.value(n.iter)
	if err != nil {
		return err
	}
	var items []Value
	// live is the length of the collection as it changes: Java's
	// iterators throw ConcurrentModificationException when it does.
	var live func() int
	switch it.k {
	case kList:
		l := it.p.(*List)
		items, live = l.Items, func() int { return len(l.Items) }
	case kMap:
		m := it.p.(*Map)
		items, live = m.vals, m.Len
	case kObject:
		if l, ok := it.p.(interface{ Items() []Value }); ok {
			items = l.Items()
		}
	}
	if len(items) == 0 {
		return nil
	}
	cnt, hasNext, fe := s.t.slots["velocityCount"], s.t.slots["velocityHasNext"], s.t.slots["foreach"]
	_, useCnt := s.t.slots["velocityCount"]
	_, useNext := s.t.slots["velocityHasNext"]
	_, useFe := s.t.slots["foreach"]
	var saveCnt, saveNext, saveFe binding
	if useCnt {
		saveCnt = s.save(cnt)
	}
	if useNext {
		saveNext = s.save(hasNext)
	}
	var scope *foreachScope
	if useFe {
		saveFe = s.save(fe)
		scope = &foreachScope{n: len(items)}
		if p := s.get(fe); p.k == kObject {
			if _, ok := p.p.(*foreachScope); ok {
				scope.parent = p
			}
		}
		s.put(fe, ObjectValue(scope))
	}
	saveVar := s.save(n.v.slot)
	for i := 0; i < len(items); i++ {
		if err = s.step(n.at); err != nil {
			break
		}
		s.put(n.v.slot, items[i])
		if useCnt {
			s.put(cnt, Int(int64(i+1)))
		}
		if useNext {
			s.put(hasNext, Bool(i+1 < len(items)))
		}
		if scope != nil {
			scope.index, scope.n = i, len(items)
		}
		if err = s.render(n.body); err != nil {
			if err == errBreak {
				err = nil
			}
			break
		}
		if live != nil && live() != len(items) {
			if live() != i+1 {
				err = s.fail(n.at, "#foreach: the collection changed during the loop (java.util.ConcurrentModificationException)")
			}
			break
		}
	}
	s.restore(n.v.slot, saveVar)
	if useCnt {
		s.restore(cnt, saveCnt)
	}
	if useNext {
		s.restore(hasNext, saveNext)
	}
	if useFe {
		s.restore(fe, saveFe)
	}
	return err
}

func (s *state) enterMacro(at int) error {
	s.depth++
	if s.depth > s.lim.MacroDepth {
		s.depth--
		return s.fail(at, "macro calls nested deeper than %d", s.lim.MacroDepth)
	}
	return nil
}

func (s *state) callMacro(n *callNode) error {
	if err := s.step(n.at); err != nil {
		return err
	}
	m := s.macros[n.name]
	if m == nil {
		s.out = append(s.out, n.raw...)
		if n.block {
			if err := s.render(n.body); err != nil {
				return err
			}
		}
		return s.checkOut(n.at)
	}
	if err := s.enterMacro(n.at); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	var argv [8]Value
	args := argv[:0]
	for i, x := range n.args {
		if i >= len(m.params) {
			break
		}
		v, err := s.value(x)
		if err != nil {
			return err
		}
		if v.k == kNull {
			if r, ok := x.(*refNode); ok {
				v = Value{n: nullNamed, s: r.raw}
			}
		}
		args = append(args, v)
	}
	var savev [8]binding
	saved := savev[:0]
	for i := range args {
		saved = append(saved, s.save(m.params[i]))
		s.put(m.params[i], args[i])
	}
	var body int
	var saveBody binding
	if n.block {
		body = s.t.slot0("bodyContent", s)
		saveBody = s.save(body)
		s.put(body, Value{k: kBlock, p: &block{nodes: n.body}})
	}
	err := s.render(m.body)
	if err == errBreak {
		err = nil
	}
	for i := range saved {
		s.restore(m.params[i], saved[i])
	}
	if n.block {
		s.restore(body, saveBody)
	}
	return err
}

// slot0 is the slot of a name the engine binds itself; templates that
// never mention it get one for the rendering only.
func (t *Template) slot0(name string, s *state) int {
	for i, n := range s.names {
		if n == name {
			return i
		}
	}
	s.names = append(s.names[:len(s.names):len(s.names)], name)
	s.vars = append(s.vars, Null)
	s.known = append(s.known, true)
	return len(s.names) - 1
}

func (s *state) evaluate(n *evaluateNode) error {
	v, err := s.value(n.arg)
	if err != nil {
		return err
	}
	if v.k == kNull {
		return nil
	}
	sub := &Template{name: s.t.name, src: toString(v), macros: map[string]*macro{}, slots: map[string]int{}}
	for k, m := range s.macros {
		sub.macros[k] = m
	}
	for i, name := range s.names {
		sub.slots[name] = i
	}
	sub.names = append([]string(nil), s.names...)
	if _, err := sub.parse(); err != nil {
		return s.fail(n.at, "#evaluate: %v", err)
	}
	for len(s.vars) < len(sub.names) {
		s.vars = append(s.vars, Null)
		s.known = append(s.known, false)
	}
	outer, outerNames, outerMacros := s.t, s.names, s.macros
	s.t, s.names, s.macros = sub, sub.names, sub.macros
	err = s.render(sub.nodes)
	s.t, s.names, s.macros = outer, outerNames, outerMacros
	if len(s.names) < len(sub.names) {
		s.names = sub.names
	}
	return err
}

// cond is an expression's value as a condition. Velocity decides by the
// kind of node: references by their value, true and false, the logical
// and comparison operators; any other literal or arithmetic is false.
func (s *state) cond(x expr) (bool, error) {
	switch x := x.(type) {
	case *refNode:
		if err := s.step(x.at); err != nil {
			return false, err
		}
		v, err := s.evalRef(x)
		if err != nil {
			return false, err
		}
		if v.k == kBlock {
			return true, nil
		}
		return truthy(v), nil
	case *litExpr:
		return x.v.k == kBool && x.v.bool(), nil
	case *notExpr:
		b, err := s.cond(x.x)
		return !b, err
	case *parenExpr:
		return s.cond(x.x)
	case *binExpr:
		switch x.op {
		case opOr:
			b, err := s.cond(x.l)
			if err != nil || b {
				return b, err
			}
			return s.cond(x.r)
		case opAnd:
			b, err := s.cond(x.l)
			if err != nil || !b {
				return false, err
			}
			return s.cond(x.r)
		case opEq, opNe, opLt, opLe, opGt, opGe:
			return s.compare(x)
		}
	}
	return false, nil
}

func (s *state) compare(x *binExpr) (bool, error) {
	if err := s.step(x.at); err != nil {
		return false, err
	}
	l, err := s.value(x.l)
	if err != nil {
		return false, err
	}
	r, err := s.value(x.r)
	if err != nil {
		return false, err
	}
	switch x.op {
	case opEq:
		return valuesEqual(l, r), nil
	case opNe:
		return !valuesEqual(l, r), nil
	}
	if !l.isNumber() || !r.isNumber() {
		return false, nil
	}
	c := compareNumbers(l, r)
	switch x.op {
	case opLt:
		return c < 0, nil
	case opLe:
		return c <= 0, nil
	case opGt:
		return c > 0, nil
	}
	return c >= 0, nil
}

// valuesEqual is Velocity's ==: null equals null only, numbers compare
// by value, values of one class by equals(), others by their strings.
func valuesEqual(l, r Value) bool {
	if l.k == kNull || r.k == kNull {
		return l.k == r.k
	}
	if l.isNumber() && r.isNumber() {
		return compareNumbers(l, r) == 0
	}
	if l.k == r.k {
		return javaEquals(l, r)
	}
	return toString(l) == toString(r)
}

func compareNumbers(l, r Value) int {
	if l.k == kDouble || r.k == kDouble {
		a, b := toFloat(l), toFloat(r)
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	if l.k == kBig || r.k == kBig {
		return toBig(l).Cmp(toBig(r))
	}
	switch {
	case l.n < r.n:
		return -1
	case l.n > r.n:
		return 1
	}
	return 0
}

func toFloat(v Value) float64 {
	switch v.k {
	case kDouble:
		return v.float()
	case kBig:
		f, _ := new(big.Float).SetInt(v.p.(*big.Int)).Float64()
		return f
	}
	return float64(v.n)
}

func toBig(v Value) *big.Int {
	if v.k == kBig {
		return v.p.(*big.Int)
	}
	return big.NewInt(v.n)
}

// value is an expression's value.
func (s *state) value(x expr) (Value, error) {
	switch x := x.(type) {
	case *litExpr:
		return x.v, nil
	case *refNode:
		if err := s.step(x.at); err != nil {
			return Null, err
		}
		return s.evalRef(x)
	case *interpExpr:
		start := len(s.out)
		err := s.render(x.nodes)
		str := string(s.out[start:])
		s.out = s.out[:start]
		if err != nil && err != errBreak {
			return Null, err
		}
		return String(str), nil
	case *listExpr:
		l := &List{Items: make([]Value, 0, len(x.items))}
		for _, e := range x.items {
			v, err := s.value(e)
			if err != nil {
				return Null, err
			}
			l.Items = append(l.Items, v)
		}
		return ListValue(l), nil
	case *mapExpr:
		m := NewMap(len(x.keys))
		for i := range x.keys {
			k, err := s.value(x.keys[i])
			if err != nil {
				return Null, err
			}
			v, err := s.value(x.vals[i])
			if err != nil {
				return Null, err
			}
			m.Put(k, v)
		}
		return MapValue(m), nil
	case *rangeExpr:
		return s.rangeValue(x)
	case *binExpr:
		switch x.op {
		case opOr, opAnd, opEq, opNe, opLt, opLe, opGt, opGe:
			b, err := s.cond(x)
			return Bool(b), err
		}
		return s.arith(x)
	case *notExpr:
		b, err := s.cond(x.x)
		return Bool(!b), err
	case *parenExpr:
		return s.value(x.x)
	case *wordExpr:
		return String(x.w), nil
	}
	return Null, nil
}

func (s *state) rangeValue(x *rangeExpr) (Value, error) {
	lo, err := s.value(x.lo)
	if err != nil {
		return Null, err
	}
	hi, err := s.value(x.hi)
	if err != nil {
		return Null, err
	}
	if !lo.isNumber() || !hi.isNumber() || lo.k == kBig || hi.k == kBig {
		return Null, nil
	}
	a, b := int64(toFloat(lo)), int64(toFloat(hi))
	if lo.k != kDouble {
		a = lo.n
	}
	if hi.k != kDouble {
		b = hi.n
	}
	n := b - a
	if n < 0 {
		n = -n
	}
	if n >= int64(s.steps) {
		return Null, s.fail(x.at, "range [%d..%d] too large", a, b)
	}
	s.steps -= int(n)
	l := &List{Items: make([]Value, 0, n+1)}
	d := int64(1)
	if b < a {
		d = -1
	}
	for i := a; ; i += d {
		l.Items = append(l.Items, Int(i))
		if i == b {
			break
		}
	}
	return ListValue(l), nil
}

func (s *state) arith(x *binExpr) (Value, error) {
	if err := s.step(x.at); err != nil {
		return Null, err
	}
	l, err := s.value(x.l)
	if err != nil {
		return Null, err
	}
	r, err := s.value(x.r)
	if err != nil {
		return Null, err
	}
	if x.op == opAdd && (l.k == kString || r.k == kString) {
		start := len(s.out)
		s.out = appendOperand(s.out, x.l, l)
		s.out = appendOperand(s.out, x.r, r)
		str := string(s.out[start:])
		s.out = s.out[:start]
		if len(str) > s.lim.Output {
			return Null, s.fail(x.at, "string longer than %d bytes", s.lim.Output)
		}
		return String(str), nil
	}
	if !l.isNumber() || !r.isNumber() {
		return Null, nil
	}
	return mathOp(x.op, l, r), nil
}

// appendOperand is an operand of string concatenation: null renders as
// the reference was written.
func appendOperand(dst []byte, x expr, v Value) []byte {
	if v.k == kNull {
		if r, ok := x.(*refNode); ok {
			return append(dst, r.raw...)
		}
		return append(dst, "null"...)
	}
	return appendValue(dst, v)
}

// mathOp is Velocity's MathUtils: integer arithmetic in the wider type
// of the operands, widened on overflow (Integer, Long, BigInteger);
// Double when either operand is one; null for a zero divisor.
func mathOp(op uint8, l, r Value) Value {
	if l.k == kDouble || r.k == kDouble {
		a, b := toFloat(l), toFloat(r)
		switch op {
		case opAdd:
			return Double(a + b)
		case opSub:
			return Double(a - b)
		case opMul:
			return Double(a * b)
		case opDiv:
			if b == 0 {
				return Null
			}
			return Double(a / b)
		case opMod:
			if b == 0 {
				return Null
			}
			return Double(math.Mod(a, b))
		}
		return Null
	}
	wide := l.k
	if r.k > wide {
		wide = r.k
	}
	if wide == kBig {
		a, b := toBig(l), toBig(r)
		z := new(big.Int)
		switch op {
		case opAdd:
			z.Add(a, b)
		case opSub:
			z.Sub(a, b)
		case opMul:
			z.Mul(a, b)
		case opDiv:
			if b.Sign() == 0 {
				return Null
			}
			z.Quo(a, b)
		case opMod:
			if b.Sign() == 0 {
				return Null
			}
			z.Rem(a, b)
		}
		return Value{k: kBig, p: z}
	}
	a, b := l.n, r.n
	var z int64
	overflow := false
	switch op {
	case opAdd:
		z = a + b
		overflow = (z^a) < 0 && (z^b) < 0
	case opSub:
		z = a - b
		overflow = (a^b) < 0 && (z^a) < 0
	case opMul:
		z = a * b
		overflow = a != 0 && (z/a != b || a == -1 && b == math.MinInt64)
	case opDiv:
		if b == 0 {
			return Null
		}
		z = a / b
	case opMod:
		if b == 0 {
			return Null
		}
		z = a % b
	}
	if overflow {
		return mathOp(op, Value{k: kBig, p: big.NewInt(a)}, Value{k: kBig, p: big.NewInt(b)})
	}
	if wide == kInt && z >= math.MinInt32 && z <= math.MaxInt32 {
		return Value{k: kInt, n: z}
	}
	return Value{k: kLong, n: z}
}
