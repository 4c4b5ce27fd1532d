package reftmpl

import (
	"strings"
	"testing"
)

type vars map[string]string

func (v vars) Var(name string) (string, bool) {
	s, ok := v[name]
	return s, ok
}

var testVars = vars{
	"context.error.messageString": `"Missing Authentication Token"`,
	"context.error.message":       "Missing Authentication Token",
	"context.requestId":           "req-1",
	"stageVariables.env":          "dev",
}

func TestAppend(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"default", `{"message":$context.error.messageString}`, `{"message":"Missing Authentication Token"}`},
		{"formal", `id=${context.requestId};`, `id=req-1;`},
		{"quiet formal", `[$!{context.nothing}]`, `[]`},
		{"quiet", `[$!context.nothing]`, `[]`},
		{"unknown kept", `[$context.nothing]`, `[$context.nothing]`},
		{"stage variable", `env $stageVariables.env.`, `env dev.`},
		{"trailing dot is text", `$context.requestId.`, `req-1.`},
		{"dollar alone", `cost: $5 and $`, `cost: $5 and $`},
		{"unclosed brace", `${context.requestId`, `${context.requestId`},
		{"adjacent", `$context.requestId$context.requestId`, `req-1req-1`},
		{"no references", `plain {"a":1}`, `plain {"a":1}`},
		{"directive is text", `#set($x = 1)$context.requestId`, `#set($x = 1)req-1`},
		{"empty", ``, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := Parse(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tp.Append(nil, testVars)); got != tc.want {
				t.Errorf("%q: got %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestAppendAllocs(t *testing.T) {
	tp, _ := Parse(`{"message":$context.error.messageString,"id":"$context.requestId"}`)
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = tp.Append(buf[:0], testVars) }); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"message":$context.error.messageString}`, `${context.requestId}`, `$!{a.b}`, `$`, `${`, `$!`, `$a.`, `#if($a)$b#end`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		// With nothing defined, a template without quiet references renders
		// as written.
		got := string(tp.Append(nil, vars{}))
		if !strings.Contains(src, "$!") && got != src {
			t.Errorf("%q rendered %q with no variables", src, got)
		}
		tp.Append(nil, testVars)
	})
}
