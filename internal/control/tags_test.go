package control

import (
	"strings"
	"testing"
)

func TestCheckTags(t *testing.T) {
	many := map[string]string{}
	for i := range maxTags + 1 {
		many[strings.Repeat("k", i+1)] = ""
	}
	for _, tc := range []struct {
		name string
		tags map[string]string
		err  string // a prefix of the message; "" for none
	}{
		{"none", nil, ""},
		{"some", map[string]string{"team": "a", "empty": ""}, ""},
		{"longest", map[string]string{strings.Repeat("k", 128): strings.Repeat("v", 256)}, ""},
		{"too many", many, "Too many tags"},
		{"empty key", map[string]string{"": "v"}, "1 validation error detected: Value '' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint"},
		{"long key", map[string]string{strings.Repeat("k", 129): "v"}, "1 validation error detected: Value 'kkk"},
		{"long value", map[string]string{"k": strings.Repeat("v", 257)}, "1 validation error detected: Value 'vvv"},
		{"aws prefix", map[string]string{"aws:cloudformation:stack-name": "s"}, "Tag keys must not start with 'aws:'"},
		{"AWS prefix", map[string]string{"AWS:x": "s"}, "Tag keys must not start with 'aws:'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkTags(tc.tags)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || !strings.HasPrefix(e.Message, tc.err) {
				t.Fatalf("err = %v, want a message starting %q", err, tc.err)
			}
		})
	}
}
