package openapi

import "fmt"

// The bounds of an import. MaxBytes is AWS's: "The maximum size of the API
// definition file is 6MB". AWS documents no others; these keep the work of
// an import proportional to its size. The OpenAPI library decodes every
// level of a document again for each level above it (its UnmarshalJSON
// methods re-read their subtree), so a 150 KB Swagger document of schemas
// nested 4000 deep took 48 s to read: the work is the sum over all nodes of
// their depth, which MaxWork bounds, and MaxDepth bounds the depth itself.
const (
	MaxBytes = 6 << 20
	// MaxDepth is how deeply maps and lists may nest, counting the
	// document itself as depth 1 (a schema nested 20 deep under a
	// response is at depth 48 or so).
	MaxDepth = 128
	// MaxNodes bounds the maps, lists and scalars of a document, YAML
	// aliases counted once per use.
	MaxNodes = 1_000_000
	// MaxWork bounds the sum over all nodes of their depth: 4M is about 2 s
	// of CPU for the worst document within the other bounds (Swagger,
	// schemas nested 60 deep side by side), while a 6 MB document shaped
	// like AWS's PetStore sample needs 1.4M.
	MaxWork = 4_000_000
)

// LimitError is a document over one of the bounds; AWS-shaped, its message
// goes out in a BadRequestException.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return "Invalid OpenAPI input: " + e.Msg }

// budget walks a decoded document and counts what reading it costs.
type budget struct {
	nodes, work int
	err         error
}

// checkBudget reports whether the decoded document v is within the
// bounds. It stops at the first bound it crosses, so its own work is
// bounded by MaxNodes whatever v is.
func checkBudget(v any) error {
	b := &budget{}
	b.walk(v, 1)
	return b.err
}

func (b *budget) walk(v any, depth int) {
	if b.err != nil {
		return
	}
	b.nodes++
	b.work += depth
	switch {
	case depth > MaxDepth:
		b.err = &LimitError{fmt.Sprintf("The document nests deeper than %d levels", MaxDepth)}
		return
	case b.nodes > MaxNodes:
		b.err = &LimitError{fmt.Sprintf("The document has more than %d elements", MaxNodes)}
		return
	case b.work > MaxWork:
		b.err = &LimitError{fmt.Sprintf("The document is too complex to import (more than %d elements counted by their depth)", MaxWork)}
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			b.walk(e, depth+1)
		}
	case map[any]any:
		for _, e := range x {
			b.walk(e, depth+1)
		}
	case []any:
		for _, e := range x {
			b.walk(e, depth+1)
		}
	}
}
