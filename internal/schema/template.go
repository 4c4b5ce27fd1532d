package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Template is GetModelTemplate: a mapping template that produces a sample of
// the model's shape, as API Gateway generates it. AWS's documented sample
// (a model with numbers a, b, c and a string op) reads
//
//	#set($inputRoot = $input.path('$'))
//	{
//	  "a" : 3.1415,
//	  "b" : 3.1415,
//	  "op" : "foo",
//	  "c" : 3.1415
//	}
//
// that is, a sample value per type (strings "foo", numbers 3.1415; integers
// 42 and booleans true are apigw's choice) printed as Jackson's default
// pretty printer does: objects one property a line, indented by two spaces,
// arrays on one line ("[ 1, 2 ]"), empty ones "{ }" and "[ ]". Properties
// keep the schema's order; an enum shows its first value; an array holds
// one sample item; $ref to another
// model of the API or to #/definitions is followed.
func (s *Set) Template(name string) (string, error) {
	m := s.models[name]
	if m == nil {
		return "", ErrNoModel
	}
	root, err := parseOrdered(m.Schema)
	if err != nil {
		return "", err
	}
	g := &sampler{set: s}
	var b strings.Builder
	b.WriteString("#set($inputRoot = $input.path('$'))\n")
	g.write(&b, root, root, 0, 0)
	return b.String(), nil
}

// node is a JSON value that keeps the order of object members.
type node struct {
	kind    byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys    []string
	vals    []*node
	items   []*node
	str     string
	boolean bool
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != 'o' {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func parseOrdered(text string) (*node, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	n, err := parseNode(dec)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return n, nil
}

func parseNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := parseNode(dec)
				if err != nil {
					return nil, err
				}
				n.keys, n.vals = append(n.keys, k), append(n.vals, v)
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &node{kind: 'a'}
			for dec.More() {
				v, err := parseNode(dec)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			_, err := dec.Token()
			return n, err
		}
		return nil, errors.New("unexpected delimiter")
	case string:
		return &node{kind: 's', str: t}, nil
	case json.Number:
		return &node{kind: 'n', str: string(t)}, nil
	case bool:
		return &node{kind: 'b', boolean: t}, nil
	case nil:
		return &node{kind: 'z'}, nil
	}
	return nil, errors.New("unexpected token")
}

type sampler struct {
	set *Set
}

// maxDepth bounds $ref chains and nesting (a model may refer to itself).
const maxDepth = 16

// resolve follows $ref: "#/definitions/x" within root, or another model's
// URL.
func (g *sampler) resolve(sch, root *node, depth int) (*node, *node) {
	for depth < maxDepth {
		ref := sch.get("$ref")
		if ref == nil || ref.kind != 's' {
			return sch, root
		}
		depth++
		if ptr, ok := strings.CutPrefix(ref.str, "#"); ok {
			sch = pointer(root, ptr)
		} else {
			name := ref.str[strings.LastIndexByte(ref.str, '/')+1:]
			name, ptr, _ := strings.Cut(name, "#")
			m := g.set.models[name]
			if m == nil {
				return nil, root
			}
			r, err := parseOrdered(m.Schema)
			if err != nil {
				return nil, root
			}
			root, sch = r, pointer(r, ptr)
		}
		if sch == nil {
			return nil, root
		}
	}
	return sch, root
}

func pointer(root *node, ptr string) *node {
	n := root
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		n = n.get(tok)
	}
	return n
}

// typeOf is the schema's type, guessed from its keywords when unset.
func typeOf(sch *node) string {
	t := sch.get("type")
	switch {
	case t != nil && t.kind == 's':
		return t.str
	case t != nil && t.kind == 'a':
		for _, it := range t.items {
			if it.kind == 's' && it.str != "null" {
				return it.str
			}
		}
		return "null"
	case sch.get("properties") != nil:
		return "object"
	case sch.get("items") != nil:
		return "array"
	}
	return "object"
}

// write prints a sample of sch at the object nesting level indent.
func (g *sampler) write(b *strings.Builder, sch, root *node, indent, depth int) {
	sch, root = g.resolve(sch, root, depth)
	if sch == nil || depth > maxDepth {
		b.WriteString("{ }")
		return
	}
	if e := sch.get("enum"); e != nil && e.kind == 'a' && len(e.items) > 0 && e.items[0].kind != 'o' && e.items[0].kind != 'a' {
		writeScalar(b, e.items[0])
		return
	}
	switch typeOf(sch) {
	case "object":
		props := sch.get("properties")
		if props == nil || len(props.keys) == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("{\n")
		for i, k := range props.keys {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(strings.Repeat("  ", indent+1))
			writeString(b, k)
			b.WriteString(" : ")
			g.write(b, props.vals[i], root, indent+1, depth+1)
		}
		b.WriteString("\n" + strings.Repeat("  ", indent) + "}")
	case "array":
		items := sch.get("items")
		if items != nil && items.kind == 'a' && len(items.items) > 0 {
			items = items.items[0]
		}
		if items == nil || items.kind != 'o' {
			b.WriteString("[ ]")
			return
		}
		b.WriteString("[ ")
		g.write(b, items, root, indent, depth+1)
		b.WriteString(" ]")
	case "string":
		b.WriteString(`"foo"`)
	case "number":
		b.WriteString("3.1415")
	case "integer":
		b.WriteString("42")
	case "boolean":
		b.WriteString("true")
	default:
		b.WriteString("null")
	}
}

// writeScalar prints an enum's first value.
func writeScalar(b *strings.Builder, n *node) {
	switch n.kind {
	case 's':
		writeString(b, n.str)
	case 'n':
		b.WriteString(n.str)
	case 'b':
		fmt.Fprint(b, n.boolean)
	default:
		b.WriteString("null")
	}
}

func writeString(b *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
