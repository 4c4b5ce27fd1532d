package openapi

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// nested is a Swagger document with one definition of schemas nested n
// deep: 4000 deep (150 KB) took 48 s to read before the bounds.
func nested(n int) []byte {
	s := strings.Repeat(`{"type":"object","properties":{"a":`, n) + `{"type":"string"}` + strings.Repeat(`}}`, n)
	return []byte(`{"swagger":"2.0","info":{"title":"x","version":"1"},"paths":{},"definitions":{"A":` + s + `}}`)
}

// wide is an OpenAPI 3 document of n definitions, each nested depth deep.
func wide(n, depth int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"openapi":"3.0.1","info":{"title":"x","version":"1"},"paths":{},"components":{"schemas":{`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `"S%d":`, i)
		sb.WriteString(strings.Repeat(`{"type":"array","items":`, depth) + `{"type":"string"}` + strings.Repeat(`}`, depth))
	}
	sb.WriteString(`}}}`)
	return []byte(sb.String())
}

// aliases is a YAML document whose anchors expand to 10^levels strings.
func aliases(levels int) []byte {
	var sb strings.Builder
	sb.WriteString("openapi: 3.0.1\ninfo: {title: x, version: '1'}\npaths: {}\nx-a0: &a0 [s, s, s, s, s, s, s, s, s, s]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&sb, "x-a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "*a%d", i-1)
		}
		sb.WriteString("]\n")
	}
	return []byte(sb.String())
}

func TestLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  []byte
		want string // "" when the document is within the bounds
	}{
		{"deep swagger", nested(4000), "Invalid OpenAPI input: The document nests deeper than 128 levels"},
		{"deep yaml", []byte("openapi: 3.0.1\ninfo: {title: x, version: '1'}\nx-d: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n"), "Invalid OpenAPI input: The document nests deeper than 128 levels"},
		{"within depth", nested(50), ""},
		{"deep and wide", wide(2000, 120), "Invalid OpenAPI input: The document is too complex to import (more than 4000000 elements counted by their depth)"},
		{"wide", wide(2000, 10), ""},
		{"too large", append([]byte(`{"openapi":"3.0.1","info":{"title":"x","version":"1"},"paths":{},"x-pad":"`), append([]byte(strings.Repeat("a", MaxBytes)), `"}`...)...), "Invalid OpenAPI input: The API definition file is larger than the maximum of 6291456 bytes (6 MB)"},
		{"many nodes", []byte(`{"openapi":"3.0.1","info":{"title":"x","version":"1"},"paths":{},"x-n":[` + strings.Repeat("1,", MaxNodes) + `1]}`), "Invalid OpenAPI input: The document has more than 1000000 elements"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.doc)
			var le *LimitError
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("err %v", err)
			case c.want != "" && !errors.As(err, &le):
				t.Fatalf("err %v, want a LimitError", err)
			case c.want != "" && err.Error() != c.want:
				t.Fatalf("err %q, want %q", err, c.want)
			}
		})
	}
}

// TestAliasesBounded: YAML aliases that expand past MaxNodes are refused,
// by the YAML library's alias check or by the node count, before the
// OpenAPI library reads the expansion.
func TestAliasesBounded(t *testing.T) {
	if _, err := Parse(aliases(1)); err != nil { // 100 strings: fine
		t.Fatalf("100: %v", err)
	}
	if _, err := Parse(aliases(6)); err == nil { // 10^7 strings
		t.Fatal("10^7 aliased strings accepted")
	}
}

// TestBudgetWork: checking the bounds stops at the first one crossed, so
// its own work is bounded too (counted, not timed).
func TestBudgetWork(t *testing.T) {
	var v any = "leaf"
	for i := 0; i < 100000; i++ {
		v = []any{v}
	}
	b := &budget{}
	b.walk(v, 1)
	if b.err == nil || b.nodes != MaxDepth+1 {
		t.Fatalf("nodes %d err %v: want to stop after %d", b.nodes, b.err, MaxDepth+1)
	}
	doc, err := os.ReadFile("testdata/petstore.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(doc); err != nil {
		t.Fatal(err)
	}
}
