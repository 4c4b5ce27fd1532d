package vtl

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Error is a template that does not parse, or a rendering stopped: it
// names the template and the position.
type Error struct {
	Name   string // the template's name, as given to Parse
	Line   int
	Column int
	Msg    string
	// Err is the error a method call returned, when that stopped the
	// rendering (a *BodyError for a payload that is not JSON).
	Err error
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("vtl: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("vtl: %s: line %d, column %d: %s", e.Name, e.Line, e.Column, e.Msg)
}

// maxNesting bounds the nesting of directives, references and literals,
// so that a hostile template cannot exhaust the stack.
const maxNesting = 200

// term is what ends a run of statements.
type term uint8

const (
	termEOF term = iota
	termEnd
	termElse
	termElseif
)

type parser struct {
	src   string
	i     int
	t     *Template
	base  int // offset of src in the template (interpolated strings)
	depth int
	// elseifCond is the condition of the #elseif that ended a run.
	elseifCond expr
	termAt     int
}

func (p *parser) errAt(at int, format string, args ...any) error {
	line, col := p.t.position(p.base + at)
	return &Error{Name: p.t.name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return p.errAt(p.i, "nesting deeper than %d", maxNesting)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func isAlpha(c byte) bool   { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool   { return '0' <= c && c <= '9' }
func isIdent(c byte) bool   { return isAlpha(c) || isDigit(c) || c == '-' || c == '_' }
func isWordCh(c byte) bool  { return isAlpha(c) || isDigit(c) || c == '_' || c == '@' }
func isBlankCh(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) peek(k int) byte {
	if p.i+k < len(p.src) {
		return p.src[p.i+k]
	}
	return 0
}

// setAt reports where the '(' of a #set that starts at i ends: Velocity's
// SET_DIRECTIVE token, [ \t]*(#set|#{set}) *\(, which takes the blanks
// before it when they begin a token. It returns -1 when there is none.
func (p *parser) setAt(i int) int {
	s := p.src
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	switch {
	case strings.HasPrefix(s[i:], "#set"):
		i += 4
	case strings.HasPrefix(s[i:], "#{set}"):
		i += 6
	default:
		return -1
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == '(' {
		return i + 1
	}
	return -1
}

// eatLine takes [ \t]* and one newline after a directive, when a newline
// follows the blanks.
func (p *parser) eatLine() {
	j := p.i
	for j < len(p.src) && (p.src[j] == ' ' || p.src[j] == '\t') {
		j++
	}
	if j < len(p.src) {
		switch p.src[j] {
		case '\n':
			p.i = j + 1
		case '\r':
			p.i = j + 1
			if p.i < len(p.src) && p.src[p.i] == '\n' {
				p.i++
			}
		}
	}
}

func appendText(nodes []node, s string) []node {
	if s == "" {
		return nodes
	}
	if n := len(nodes); n > 0 {
		if t, ok := nodes[n-1].(*textNode); ok {
			t.text += s
			return nodes
		}
	}
	return append(nodes, &textNode{s})
}

// statements parses until #end, #else, #elseif or the end of the source.
func (p *parser) statements() ([]node, term, error) {
	if err := p.enter(); err != nil {
		return nil, termEOF, err
	}
	defer p.leave()
	var nodes []node
	s := p.src
	refEnd := -1 // where the last plain reference ended
	for p.i < len(s) {
		if e := p.setAt(p.i); e >= 0 {
			at := p.i
			inRef := refEnd == p.i
			p.i = e
			n, err := p.set(at)
			if err != nil {
				return nil, termEOF, err
			}
			// Velocity's lexer returns to the reference's state after a
			// #set that follows one, where '[' opens an index.
			if inRef && p.peek(0) == '[' {
				return nil, termEOF, p.errAt(p.i, "unexpected '[' after #set")
			}
			nodes = append(nodes, n)
			continue
		}
		switch c := s[p.i]; c {
		case '$':
			if p.peek(1) == '$' {
				nodes = appendText(nodes, "$")
				p.i++
				continue
			}
			r, err := p.reference()
			if err != nil {
				return nil, termEOF, err
			}
			if r == nil {
				nodes = appendText(nodes, "$")
				p.i++
				continue
			}
			nodes = append(nodes, r)
			if !strings.HasSuffix(r.raw, "}") {
				refEnd = p.i
			}
		case '\\':
			n, err := p.escape(nodes)
			if err != nil {
				return nil, termEOF, err
			}
			nodes = n
		case '#':
			n, t, err := p.hash(nodes)
			if err != nil || t != termEOF {
				return n, t, err
			}
			nodes = n
		default:
			j := p.i
			for j < len(s) && s[j] != '$' && s[j] != '#' && s[j] != '\\' {
				j++
			}
			nodes = appendText(nodes, s[p.i:j])
			p.i = j
		}
	}
	return nodes, termEOF, nil
}

// escape handles backslashes: before a reference they belong to it; an
// odd run before a directive's name escapes it; an even run before a
// directive renders half of them.
func (p *parser) escape(nodes []node) ([]node, error) {
	s := p.src
	j := p.i
	for j < len(s) && s[j] == '\\' {
		j++
	}
	k := j - p.i
	if j < len(s) && s[j] == '$' {
		r, err := p.reference()
		if err != nil {
			return nil, err
		}
		if r != nil {
			return append(nodes, r), nil
		}
		nodes = appendText(nodes, s[p.i:j+1])
		p.i = j + 1
		return nodes, nil
	}
	if j < len(s) && s[j] == '#' {
		name, end := directiveWord(s, j)
		if name != "" {
			if k%2 == 1 {
				// \#name: an escaped directive.
				img := s[p.i:end]
				if p.knownDirective(name) {
					img = strings.Repeat("\\", k/2) + s[j:end]
				}
				p.i = end
				return appendText(nodes, img), nil
			}
			// \\#name: the directive follows; the pairs render as one
			// backslash each before a directive Velocity knows.
			if p.knownDirective(name) || name == "if" || name == "else" || name == "elseif" || name == "end" {
				nodes = appendText(nodes, strings.Repeat("\\", k/2))
			} else {
				nodes = appendText(nodes, s[p.i:j])
			}
			p.i = j
			return nodes, nil
		}
	}
	nodes = appendText(nodes, s[p.i:j])
	p.i = j
	return nodes, nil
}

// knownDirective reports whether Velocity absorbs the backslash of \#name.
func (p *parser) knownDirective(name string) bool {
	switch name {
	case "if", "end", "set", "else", "elseif", "foreach", "include", "parse", "macro", "literal", "evaluate", "break", "define", "stop":
		return true
	}
	_, ok := p.t.macros[name]
	return ok
}

// directiveWord reads the name after the '#' at s[i]: a word or {word}.
// It returns the name and the index past it, or "" when there is none.
func directiveWord(s string, i int) (string, int) {
	j := i + 1
	if j < len(s) && s[j] == '{' {
		k := j + 1
		if k >= len(s) || !(isAlpha(s[k]) || s[k] == '_') {
			return "", i
		}
		for k < len(s) && isWordCh(s[k]) {
			k++
		}
		if k >= len(s) || s[k] != '}' {
			return "", i
		}
		return s[j+1 : k], k + 1
	}
	if j >= len(s) || !(isAlpha(s[j]) || s[j] == '_' || s[j] == '@') {
		return "", i
	}
	k := j
	for k < len(s) && isWordCh(s[k]) {
		k++
	}
	return s[j:k], k
}

// hash handles what starts with '#': comments, text blocks, directives.
func (p *parser) hash(nodes []node) ([]node, term, error) {
	s := p.src
	at := p.i
	switch {
	case strings.HasPrefix(s[p.i:], "##"):
		j := p.i + 2
		for j < len(s) && s[j] != '\n' && s[j] != '\r' {
			j++
		}
		if j < len(s) {
			j++
			if s[j-1] == '\r' && j < len(s) && s[j] == '\n' {
				j++
			}
		}
		p.i = j
		return nodes, termEOF, nil
	case strings.HasPrefix(s[p.i:], "#[["):
		e := strings.Index(s[p.i+3:], "]]#")
		if e < 0 {
			return nil, termEOF, p.errAt(at, "unclosed #[[ text block")
		}
		nodes = appendText(nodes, s[p.i+3:p.i+3+e])
		p.i += 3 + e + 3
		return nodes, termEOF, nil
	case strings.HasPrefix(s[p.i:], "#*"):
		e := strings.Index(s[p.i+2:], "*#")
		if e < 0 {
			return nil, termEOF, p.errAt(at, "unclosed #* comment")
		}
		p.i += 2 + e + 2
		return nodes, termEOF, nil
	}
	name, end := directiveWord(s, p.i)
	if name == "" {
		p.i++
		return appendText(nodes, "#"), termEOF, nil
	}
	p.i = end
	switch name {
	case "end":
		p.eatLine()
		p.termAt = at
		return nodes, termEnd, nil
	case "else":
		p.eatLine()
		p.termAt = at
		return nodes, termElse, nil
	case "elseif":
		c, err := p.condition("#elseif")
		if err != nil {
			return nil, termEOF, err
		}
		p.elseifCond = c
		p.termAt = at
		return nodes, termElseif, nil
	case "if":
		n, err := p.ifStatement(at)
		if err != nil {
			return nil, termEOF, err
		}
		return append(nodes, n), termEOF, nil
	}
	n, err := p.directive(at, name)
	if err != nil {
		return nil, termEOF, err
	}
	if t, ok := n.(*textNode); ok {
		return appendText(nodes, t.text), termEOF, nil
	}
	return append(nodes, n), termEOF, nil
}

// condition parses [blanks] ( expression ) after #if or #elseif.
func (p *parser) condition(what string) (expr, error) {
	p.blanks()
	if p.peek(0) != '(' {
		return nil, p.errAt(p.i, "%s needs a condition in parentheses", what)
	}
	p.i++
	c, err := p.expression()
	if err != nil {
		return nil, err
	}
	if err := p.closeDirective(what); err != nil {
		return nil, err
	}
	return c, nil
}

// closeDirective reads the ')' that ends a directive's arguments, and the
// rest of its line when only blanks follow.
func (p *parser) closeDirective(what string) error {
	p.blanks()
	if p.peek(0) != ')' {
		return p.errAt(p.i, "%s: expected ')'", what)
	}
	p.i++
	p.eatLine()
	return nil
}

func (p *parser) ifStatement(at int) (node, error) {
	c, err := p.condition("#if")
	if err != nil {
		return nil, err
	}
	n := &ifNode{at: at}
	for {
		body, t, err := p.statements()
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, c)
		n.bodies = append(n.bodies, body)
		switch t {
		case termEOF:
			return nil, p.errAt(at, "#if without #end")
		case termEnd:
			return n, nil
		case termElseif:
			c = p.elseifCond
			continue
		}
		// #else
		els, t, err := p.statements()
		if err != nil {
			return nil, err
		}
		if t != termEnd {
			return nil, p.errAt(p.termAt, "#else must be followed by #end")
		}
		if els == nil {
			els = []node{}
		}
		n.els = els
		return n, nil
	}
}

// block parses a directive's body up to its #end.
func (p *parser) block(at int, what string) ([]node, error) {
	body, t, err := p.statements()
	if err != nil {
		return nil, err
	}
	switch t {
	case termEOF:
		return nil, p.errAt(at, "%s without #end", what)
	case termElse, termElseif:
		return nil, p.errAt(p.termAt, "#else outside #if")
	}
	return body, nil
}

func (p *parser) set(at int) (node, error) {
	p.blanks()
	if p.peek(0) != '$' {
		return nil, p.errAt(p.i, "#set: expected a reference")
	}
	lhs, err := p.reference()
	if err != nil {
		return nil, err
	}
	if lhs == nil || lhs.esc > 0 {
		return nil, p.errAt(p.i, "#set: expected a reference")
	}
	p.blanks()
	if p.peek(0) != '=' || p.peek(1) == '=' {
		return nil, p.errAt(p.i, "#set: expected '='")
	}
	p.i++
	rhs, err := p.expression()
	if err != nil {
		return nil, err
	}
	if err := p.closeDirective("#set"); err != nil {
		return nil, err
	}
	return &setNode{at: at, lhs: lhs, rhs: rhs}, nil
}

// leftParen reports whether '(' follows blanks (newlines included).
func (p *parser) leftParen() bool {
	j := p.i
	for j < len(p.src) && isBlankCh(p.src[j]) {
		j++
	}
	return j < len(p.src) && p.src[j] == '('
}

// directive parses #name after its name: a directive Velocity defines, a
// macro call, or text.
func (p *parser) directive(at int, name string) (node, error) {
	if !p.leftParen() {
		switch name {
		case "break":
			return &breakNode{at}, nil
		case "stop":
			return &stopNode{at}, nil
		case "macro":
			return nil, p.errAt(at, "a macro declaration requires at least a name argument")
		case "foreach", "define", "literal", "evaluate", "include", "parse":
			return nil, p.errAt(at, "#%s needs arguments", name)
		}
		return &textNode{p.src[at:p.i]}, nil
	}
	p.blanks()
	p.i++ // '('
	var args []expr
	for {
		p.blanks()
		if p.peek(0) == ',' {
			p.i++
			p.blanks()
		}
		if p.peek(0) == ')' || p.i >= len(p.src) {
			break
		}
		a, err := p.directiveArg()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if err := p.closeDirective("#" + name); err != nil {
		return nil, err
	}
	switch name {
	case "foreach":
		if len(args) != 3 {
			return nil, p.errAt(at, "#foreach needs a reference, 'in' and a value")
		}
		v, ok := args[0].(*refNode)
		if w, isWord := args[1].(*wordExpr); !ok || len(v.chain) > 0 || !isWord || w.w != "in" {
			return nil, p.errAt(at, "#foreach: expected #foreach($item in ...)")
		}
		body, err := p.block(at, "#foreach")
		if err != nil {
			return nil, err
		}
		return &foreachNode{at: at, v: v, iter: args[2], body: body}, nil
	case "macro":
		if len(args) == 0 {
			return nil, p.errAt(at, "a macro declaration requires at least a name argument")
		}
		w, ok := args[0].(*wordExpr)
		if !ok {
			return nil, p.errAt(at, "invalid first arg in #macro() directive - must be a word token")
		}
		m := &macro{name: w.w}
		for _, a := range args[1:] {
			r, ok := a.(*refNode)
			if !ok || len(r.chain) > 0 {
				return nil, p.errAt(at, "#macro %s: arguments must be references", w.w)
			}
			m.params = append(m.params, r.slot)
			m.pnames = append(m.pnames, r.root)
		}
		body, err := p.block(at, "#macro")
		if err != nil {
			return nil, err
		}
		m.body = body
		p.t.macros[m.name] = m
		return nil, nil
	case "define":
		if len(args) != 1 {
			return nil, p.errAt(at, "#define needs one reference")
		}
		r, ok := args[0].(*refNode)
		if !ok || len(r.chain) > 0 {
			return nil, p.errAt(at, "#define needs one reference")
		}
		body, err := p.block(at, "#define")
		if err != nil {
			return nil, err
		}
		return &defineNode{at: at, slot: r.slot, body: body}, nil
	case "literal":
		start := p.i
		if _, err := p.block(at, "#literal"); err != nil {
			return nil, err
		}
		return &textNode{p.src[start:p.termAt]}, nil
	case "evaluate":
		if len(args) != 1 {
			return nil, p.errAt(at, "#evaluate needs one argument")
		}
		return &evaluateNode{at: at, arg: args[0]}, nil
	case "include", "parse":
		return &unsupportedNode{at: at, name: name}, nil
	case "break":
		return &breakNode{at}, nil
	case "stop":
		return &stopNode{at}, nil
	}
	n := &callNode{at: at, name: name, args: args, raw: p.src[at:p.i]}
	if strings.HasPrefix(name, "@") {
		n.name = name[1:]
		n.block = true
		body, err := p.block(at, "#"+name)
		if err != nil {
			return nil, err
		}
		n.body = body
	}
	return n, nil
}

func (p *parser) blanks() {
	for p.i < len(p.src) && isBlankCh(p.src[p.i]) {
		p.i++
	}
}

// reference parses the reference at p.i (backslashes, then '$'). It
// returns nil, leaving p.i alone, when what is there is text.
func (p *parser) reference() (*refNode, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	s := p.src
	start := p.i
	j := p.i
	for j < len(s) && s[j] == '\\' {
		j++
	}
	esc := j - start
	if j >= len(s) || s[j] != '$' {
		return nil, nil
	}
	dollar := j
	j++
	r := &refNode{at: dollar, esc: esc}
	if j < len(s) && s[j] == '!' {
		r.quiet = true
		j++
	}
	formal := false
	if j < len(s) && s[j] == '{' {
		formal = true
		j++
	}
	if j >= len(s) || !(isAlpha(s[j]) || s[j] == '_') {
		return nil, nil
	}
	k := j
	for k < len(s) && isIdent(s[k]) {
		k++
	}
	r.root = s[j:k]
	r.slot = p.t.slot(r.root)
	p.i = k
	for p.i < len(s) {
		c := s[p.i]
		if c == '[' {
			at := p.i
			p.i++
			p.blanks()
			x, err := p.indexParam()
			if err != nil {
				return nil, err
			}
			p.blanks()
			if p.peek(0) != ']' {
				return nil, p.errAt(p.i, "expected ']'")
			}
			p.i++
			r.chain = append(r.chain, access{op: accIndex, args: []expr{x}, at: at})
			continue
		}
		if c == '.' && p.i+1 < len(s) && isAlpha(s[p.i+1]) {
			at := p.i
			m := p.i + 1
			for m < len(s) && isIdent(s[m]) {
				m++
			}
			name := s[p.i+1 : m]
			p.i = m
			if p.peek(0) == '(' {
				p.i++
				args, err := p.methodArgs()
				if err != nil {
					return nil, err
				}
				r.chain = append(r.chain, access{op: accMethod, name: name, args: args, at: at})
				continue
			}
			r.chain = append(r.chain, access{op: accProp, name: name, at: at})
			continue
		}
		break
	}
	if formal {
		if p.peek(0) != '}' {
			return nil, p.errAt(p.i, "expected '}' to close ${")
		}
		p.i++
	}
	r.raw = s[dollar:p.i]
	return r, nil
}

func (p *parser) methodArgs() ([]expr, error) {
	var args []expr
	p.blanks()
	if p.peek(0) == ')' {
		p.i++
		return args, nil
	}
	for {
		a, err := p.parameter()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		switch p.peek(0) {
		case ',':
			p.i++
			continue
		case ')':
			p.i++
			return args, nil
		}
		return nil, p.errAt(p.i, "expected ',' or ')' in method arguments")
	}
}

// indexParam is what $a[...] takes: a string, an integer, a boolean or a
// reference.
func (p *parser) indexParam() (expr, error) {
	switch c := p.peek(0); {
	case c == '"' || c == '\'':
		return p.stringLit()
	case c == '$':
		return p.refExpr()
	case isDigit(c) || c == '-' && isDigit(p.peek(1)):
		x, err := p.number()
		if err != nil {
			return nil, err
		}
		if l, ok := x.(*litExpr); ok && l.v.k == kDouble {
			return nil, p.errAt(p.i, "an index is a string, an integer or a reference")
		}
		return x, nil
	}
	if b, ok := p.boolean(); ok {
		return b, nil
	}
	return nil, p.errAt(p.i, "an index is a string, an integer or a reference")
}

// parameter is a method argument or a list or map element: a literal or
// a reference, not an expression.
func (p *parser) parameter() (expr, error) {
	p.blanks()
	x, err := p.literalOrRef(false)
	if err != nil {
		return nil, err
	}
	p.blanks()
	return x, nil
}

// directiveArg is an argument of #foreach, #macro, a macro call.
func (p *parser) directiveArg() (expr, error) {
	return p.literalOrRef(true)
}

func (p *parser) literalOrRef(words bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	switch c := p.peek(0); {
	case c == '"' || c == '\'':
		return p.stringLit()
	case c == '$':
		return p.refExpr()
	case c == '[':
		return p.listOrRange()
	case c == '{':
		return p.mapLit()
	case isDigit(c) || (c == '-' || c == '.') && (isDigit(p.peek(1)) || p.peek(1) == '.' && isDigit(p.peek(2))):
		return p.number()
	}
	if b, ok := p.boolean(); ok {
		return b, nil
	}
	if words {
		if w, end := directiveWord(p.src, p.i-1); w != "" && p.src[p.i] != '{' {
			p.i = end
			return &wordExpr{w}, nil
		}
	}
	return nil, p.errAt(p.i, "unexpected %s", p.near())
}

func (p *parser) near() string {
	if p.i >= len(p.src) {
		return "end of template"
	}
	e := p.i + 10
	if e > len(p.src) {
		e = len(p.src)
	}
	return strconv.Quote(p.src[p.i:e])
}

func (p *parser) refExpr() (expr, error) {
	at := p.i
	r, err := p.reference()
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, p.errAt(at, "expected a reference")
	}
	return r, nil
}

// boolean reads true or false as whole words.
func (p *parser) boolean() (expr, bool) {
	for _, w := range [...]string{"true", "false"} {
		if strings.HasPrefix(p.src[p.i:], w) {
			e := p.i + len(w)
			if e < len(p.src) && isWordCh(p.src[e]) {
				return nil, false
			}
			p.i = e
			return &litExpr{Bool(w == "true")}, true
		}
	}
	return nil, false
}

// number reads an integer (-?[0-9]+, which stops before "..") or a
// floating-point literal.
func (p *parser) number() (expr, error) {
	s := p.src
	start := p.i
	j := p.i
	if j < len(s) && s[j] == '-' {
		j++
	}
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	float := false
	if j < len(s) && s[j] == '.' && !(j+1 < len(s) && s[j+1] == '.') {
		float = true
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			float = true
			j = k
		}
	}
	img := s[start:j]
	p.i = j
	if float {
		f, err := strconv.ParseFloat(img, 64)
		if err != nil && f == 0 {
			return nil, p.errAt(start, "bad number %s", img)
		}
		return &litExpr{Double(f)}, nil
	}
	if n, err := strconv.ParseInt(img, 10, 64); err == nil {
		return &litExpr{Int(n)}, nil
	}
	b, ok := new(big.Int).SetString(img, 10)
	if !ok {
		return nil, p.errAt(start, "bad number %s", img)
	}
	return &litExpr{Value{k: kBig, p: b}}, nil
}

// stringLit reads a quoted string: "..." with "" for a quote and
// references and directives interpolated, '...' with ” for a quote, as
// written. \uXXXX escapes are decoded in both.
func (p *parser) stringLit() (expr, error) {
	s := p.src
	q := s[p.i]
	start := p.i
	j := p.i + 1
	for {
		if j >= len(s) {
			return nil, p.errAt(start, "unclosed string literal")
		}
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j += 2
				continue
			}
			break
		}
		j++
	}
	body := s[start+1 : j]
	p.i = j + 1
	dq := string([]byte{q, q})
	if strings.Contains(body, dq) {
		body = strings.ReplaceAll(body, dq, string(q))
	}
	if strings.Contains(body, `\u`) {
		body = unicodeEscapes(body)
	}
	if q == '"' && strings.ContainsAny(body, "$#") {
		sub := &parser{src: body, t: p.t, base: p.base + start + 1, depth: p.depth}
		nodes, t, err := sub.statements()
		if err != nil {
			return nil, err
		}
		if t != termEOF {
			return nil, sub.errAt(sub.termAt, "unexpected #end, #else or #elseif in a string")
		}
		return &interpExpr{nodes}, nil
	}
	return &litExpr{String(body)}, nil
}

func unicodeEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+5 < len(s)+0 && i+6 <= len(s) && s[i+1] == 'u' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(n))
				i += 5
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// listOrRange reads [a..b] or [x, y, ...].
func (p *parser) listOrRange() (expr, error) {
	at := p.i
	p.i++
	save := p.i
	p.blanks()
	// A range starts with a reference or an integer followed by "..".
	if c := p.peek(0); c == '$' || isDigit(c) || c == '-' && isDigit(p.peek(1)) {
		var lo expr
		var err error
		if c == '$' {
			lo, err = p.refExpr()
		} else {
			lo, err = p.number()
		}
		if err == nil {
			p.blanks()
			if strings.HasPrefix(p.src[p.i:], "..") {
				if l, ok := lo.(*litExpr); ok && l.v.k == kDouble {
					return nil, p.errAt(at, "a range's bounds are integers")
				}
				p.i += 2
				p.blanks()
				var hi expr
				if p.peek(0) == '$' {
					hi, err = p.refExpr()
				} else if isDigit(p.peek(0)) || p.peek(0) == '-' && isDigit(p.peek(1)) {
					hi, err = p.number()
					if l, ok := hi.(*litExpr); err == nil && ok && l.v.k == kDouble {
						err = p.errAt(at, "a range's bounds are integers")
					}
				} else {
					err = p.errAt(p.i, "expected the end of the range")
				}
				if err != nil {
					return nil, err
				}
				p.blanks()
				if p.peek(0) != ']' {
					return nil, p.errAt(p.i, "expected ']'")
				}
				p.i++
				return &rangeExpr{at: at, lo: lo, hi: hi}, nil
			}
		}
	}
	p.i = save
	l := &listExpr{}
	if p.peek(0) == ']' {
		p.i++
		return l, nil
	}
	for {
		x, err := p.parameter()
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, x)
		switch p.peek(0) {
		case ',':
			p.i++
			continue
		case ']':
			p.i++
			return l, nil
		}
		return nil, p.errAt(p.i, "expected ',' or ']' in a list")
	}
}

func (p *parser) mapLit() (expr, error) {
	p.i++
	m := &mapExpr{}
	save := p.i
	p.blanks()
	if p.peek(0) == '}' {
		p.i++
		return m, nil
	}
	p.i = save
	for {
		k, err := p.parameter()
		if err != nil {
			return nil, err
		}
		if p.peek(0) != ':' {
			return nil, p.errAt(p.i, "expected ':' in a map")
		}
		p.i++
		v, err := p.parameter()
		if err != nil {
			return nil, err
		}
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
		switch p.peek(0) {
		case ',':
			p.i++
			continue
		case '}':
			p.i++
			return m, nil
		}
		return nil, p.errAt(p.i, "expected ',' or '}' in a map")
	}
}

// Expressions, by precedence: || && (== !=) (< > <= >=) (+ -) (* / %) !

func (p *parser) expression() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.binary(0)
}

var levels = [...][]struct {
	tok string
	op  uint8
}{
	{{"||", opOr}, {"or", opOr}},
	{{"&&", opAnd}, {"and", opAnd}},
	{{"==", opEq}, {"eq", opEq}, {"!=", opNe}, {"ne", opNe}},
	{{"<=", opLe}, {"le", opLe}, {">=", opGe}, {"ge", opGe}, {"<", opLt}, {"lt", opLt}, {">", opGt}, {"gt", opGt}},
	{{"+", opAdd}, {"-", opSub}},
	{{"*", opMul}, {"/", opDiv}, {"%", opMod}},
}

// operator reads one of the operators of a level at p.i.
func (p *parser) operator(level int) (uint8, bool) {
	s := p.src[p.i:]
	for _, o := range levels[level] {
		if !strings.HasPrefix(s, o.tok) {
			continue
		}
		n := len(o.tok)
		if isAlpha(o.tok[0]) && n < len(s) && isWordCh(s[n]) {
			continue
		}
		switch o.op {
		case opSub:
			// "-1" is an integer literal, not a minus.
			if n < len(s) && (isDigit(s[n]) || s[n] == '.' && n+1 < len(s) && isDigit(s[n+1])) {
				return 0, false
			}
		case opLt, opGt:
			if n < len(s) && s[n] == '=' {
				continue
			}
		}
		p.i += n
		return o.op, true
	}
	return 0, false
}

func (p *parser) binary(level int) (expr, error) {
	if level == len(levels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		p.blanks()
		at := p.i
		op, ok := p.operator(level)
		if !ok {
			return l, nil
		}
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		l = &binExpr{at: at, op: op, l: l, r: r}
	}
}

func (p *parser) unary() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.blanks()
	s := p.src[p.i:]
	if strings.HasPrefix(s, "!") && !strings.HasPrefix(s, "!=") {
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &notExpr{x}, nil
	}
	if strings.HasPrefix(s, "not") && (len(s) == 3 || !isWordCh(s[3])) {
		p.i += 3
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &notExpr{x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (expr, error) {
	p.blanks()
	var x expr
	var err error
	if p.peek(0) == '(' {
		p.i++
		x, err = p.expression()
		if err != nil {
			return nil, err
		}
		p.blanks()
		if p.peek(0) != ')' {
			return nil, p.errAt(p.i, "expected ')'")
		}
		p.i++
		x = &parenExpr{x}
	} else {
		x, err = p.literalOrRef(false)
		if err != nil {
			return nil, err
		}
	}
	p.blanks()
	return x, nil
}
