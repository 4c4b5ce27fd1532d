// Package vtl is apigw's Velocity Template Language engine, for API
// Gateway mapping templates: the language of Apache Velocity 1.7 as API
// Gateway runs it, byte for byte (whitespace, undefined references,
// number formatting), with the Java methods templates call on strings,
// lists and maps.
//
// A template is parsed once (Parse, per deployment) into a tree, and
// rendered per request (Template.Append) with a Context that resolves the
// variables ($input, $context, $util...). Rendering is bounded: a
// template that loops, recurses or grows its output past Limits stops
// with an *Error naming the template and the position.
package vtl

import (
	"sort"
	"strings"
)

// Template is a parsed template. It is immutable and safe for concurrent
// use.
type Template struct {
	name   string
	src    string
	nodes  []node
	macros map[string]*macro
	slots  map[string]int
	names  []string
}

// Parse parses a template. name names it in errors.
func Parse(name, src string) (*Template, error) {
	t := &Template{name: name, src: src, macros: map[string]*macro{}, slots: map[string]int{}}
	return t.parse()
}

func (t *Template) parse() (*Template, error) {
	p := &parser{src: t.src, t: t}
	nodes, term, err := p.statements()
	if err != nil {
		return nil, err
	}
	if term != termEOF {
		what := "#end"
		switch term {
		case termElse:
			what = "#else"
		case termElseif:
			what = "#elseif"
		}
		return nil, p.errAt(p.termAt, "%s without a directive to close", what)
	}
	t.nodes = nodes
	return t, nil
}

// Name returns the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// Source returns the template's text.
func (t *Template) Source() string { return t.src }

func (t *Template) slot(name string) int {
	if i, ok := t.slots[name]; ok {
		return i
	}
	i := len(t.names)
	t.slots[name] = i
	t.names = append(t.names, name)
	return i
}

// position turns a byte offset into a 1-based line and column.
func (t *Template) position(off int) (line, col int) {
	if off > len(t.src) {
		off = len(t.src)
	}
	line = 1 + strings.Count(t.src[:off], "\n")
	col = off - strings.LastIndexByte(t.src[:off], '\n')
	return line, col
}

// Variables lists the names the template references, sorted: what a
// Context may be asked for.
func (t *Template) Variables() []string {
	ns := append([]string(nil), t.names...)
	sort.Strings(ns)
	return ns
}
