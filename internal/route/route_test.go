package route

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

type def struct {
	path    string
	methods []string
}

// build adds every (path, method) with the value "METHOD path".
func build(t testing.TB, defs []def) *Tree[string] {
	t.Helper()
	var b Builder[string]
	for _, d := range defs {
		for _, m := range d.methods {
			if err := b.Add(d.path, m, m+" "+d.path); err != nil {
				t.Fatalf("Add(%q, %q): %v", d.path, m, err)
			}
		}
	}
	return b.Compile()
}

// mainDefs has a catch-all /{proxy+}, so most misses fall through to it.
var mainDefs = []def{
	{"/", []string{"GET"}},
	{"/items", []string{"GET", "POST"}},
	{"/items/{id}", []string{"GET", "DELETE"}},
	{"/items/{id}/tags", []string{"GET"}},
	{"/items/special", []string{"PATCH"}},
	{"/users/me", []string{"PATCH"}},
	{"/users/{userId}", []string{"GET"}},
	{"/things/real", []string{"GET"}},
	{"/things/{proxy+}", []string{"ANY"}},
	{"/roles/provision", []string{"POST"}},
	{"/roles/{roleId}", []string{"GET"}},
	{"/a/b/c", []string{"GET"}},
	{"/a/{x}/d", []string{"GET"}},
	{"/exact", []string{"GET", "ANY"}},
	{"/Case", []string{"GET"}},
	{"/mid/{id}/x", []string{"GET"}}, // /mid and /mid/{id} have no method
	{"/cors", []string{"OPTIONS"}},
	{"/events:batch", []string{"POST"}},
	{"/{proxy+}", []string{"ANY"}},
}

// strictDefs has no catch-all, to observe NoResource and MethodNotAllowed.
var strictDefs = []def{
	{"/items", []string{"GET"}},
	{"/items/{id}", []string{"GET"}},
	{"/items/{id}/sub/{sub}", []string{"PUT"}},
	{"/greedy/{p+}", []string{"GET"}},
	{"/head", []string{"HEAD"}},
}

type matchCase struct {
	name, method, path string
	want               string // value; "" when not matched
	resource           string
	status             MatchStatus
	params             map[string]string // decoded; nil means none
	raw                map[string]string // raw values to check, optional
}

func TestMatchMain(t *testing.T) {
	tree := build(t, mainDefs)
	cases := []matchCase{
		// Root.
		{name: "root", method: "GET", path: "/", want: "GET /", resource: "/", status: Matched},
		{name: "empty path is root", method: "GET", path: "", want: "GET /", resource: "/", status: Matched},
		{name: "root extra slashes", method: "GET", path: "///", want: "GET /", resource: "/", status: Matched},
		{name: "proxy never matches root", method: "POST", path: "/", resource: "/", status: MethodNotAllowed},

		// Literal > param > proxy, and method resolution on the pair.
		{name: "literal", method: "GET", path: "/items", want: "GET /items", resource: "/items", status: Matched},
		{name: "literal other method", method: "POST", path: "/items", want: "POST /items", resource: "/items", status: Matched},
		{name: "literal lacks method falls to proxy", method: "PUT", path: "/items",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "items"}},
		{name: "param", method: "GET", path: "/items/42", want: "GET /items/{id}", resource: "/items/{id}", status: Matched,
			params: map[string]string{"id": "42"}},
		{name: "literal sibling wins with its method", method: "PATCH", path: "/items/special",
			want: "PATCH /items/special", resource: "/items/special", status: Matched},
		{name: "literal sibling without method yields to param", method: "GET", path: "/items/special",
			want: "GET /items/{id}", resource: "/items/{id}", status: Matched, params: map[string]string{"id": "special"}},
		{name: "neither sibling has method: proxy", method: "PUT", path: "/items/special",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "items/special"}},
		{name: "nested under param", method: "GET", path: "/items/42/tags",
			want: "GET /items/{id}/tags", resource: "/items/{id}/tags", status: Matched, params: map[string]string{"id": "42"}},
		{name: "nested wrong method falls to root proxy", method: "POST", path: "/items/42/tags",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "items/42/tags"}},
		{name: "aws users/me GET", method: "GET", path: "/users/me",
			want: "GET /users/{userId}", resource: "/users/{userId}", status: Matched, params: map[string]string{"userId": "me"}},
		{name: "aws users/me PATCH", method: "PATCH", path: "/users/me",
			want: "PATCH /users/me", resource: "/users/me", status: Matched},
		{name: "aws roles/provision POST", method: "POST", path: "/roles/provision",
			want: "POST /roles/provision", resource: "/roles/provision", status: Matched},
		{name: "aws roles/provision GET", method: "GET", path: "/roles/provision",
			want: "GET /roles/{roleId}", resource: "/roles/{roleId}", status: Matched, params: map[string]string{"roleId": "provision"}},
		{name: "aws things/real GET", method: "GET", path: "/things/real",
			want: "GET /things/real", resource: "/things/real", status: Matched},
		{name: "aws things/real POST", method: "POST", path: "/things/real",
			want: "ANY /things/{proxy+}", resource: "/things/{proxy+}", status: Matched, params: map[string]string{"proxy": "real"}},
		{name: "deeper proxy beats root proxy", method: "GET", path: "/things/a/b/c",
			want: "ANY /things/{proxy+}", resource: "/things/{proxy+}", status: Matched, params: map[string]string{"proxy": "a/b/c"}},
		{name: "methodless resource falls to proxy", method: "GET", path: "/things",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "things"}},
		{name: "methodless intermediate param falls to proxy", method: "GET", path: "/mid/5",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "mid/5"}},
		{name: "below methodless intermediate", method: "GET", path: "/mid/5/x",
			want: "GET /mid/{id}/x", resource: "/mid/{id}/x", status: Matched, params: map[string]string{"id": "5"}},
		{name: "options-only resource falls to proxy", method: "GET", path: "/cors",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "cors"}},

		// Backtracking from a literal that dead-ends deeper.
		{name: "literal path", method: "GET", path: "/a/b/c", want: "GET /a/b/c", resource: "/a/b/c", status: Matched},
		{name: "backtrack to param sibling", method: "GET", path: "/a/b/d",
			want: "GET /a/{x}/d", resource: "/a/{x}/d", status: Matched, params: map[string]string{"x": "b"}},
		{name: "backtrack to proxy", method: "GET", path: "/a/b/e",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "a/b/e"}},

		// Exact method beats ANY on one resource; HEAD via ANY.
		{name: "exact beats ANY", method: "GET", path: "/exact", want: "GET /exact", resource: "/exact", status: Matched},
		{name: "ANY covers POST", method: "POST", path: "/exact", want: "ANY /exact", resource: "/exact", status: Matched},
		{name: "ANY covers HEAD", method: "HEAD", path: "/exact", want: "ANY /exact", resource: "/exact", status: Matched},

		// Trailing and double slashes.
		{name: "trailing slash", method: "GET", path: "/items/", want: "GET /items", resource: "/items", status: Matched},
		{name: "trailing slashes", method: "GET", path: "/items/42//", want: "GET /items/{id}", resource: "/items/{id}",
			status: Matched, params: map[string]string{"id": "42"}},
		{name: "leading double slash", method: "GET", path: "//items", want: "GET /items", resource: "/items", status: Matched},
		{name: "inner double slash only greedy", method: "GET", path: "/items//42",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "items//42"}},
		{name: "proxy value without trailing slash", method: "GET", path: "/things/a/b/",
			want: "ANY /things/{proxy+}", resource: "/things/{proxy+}", status: Matched, params: map[string]string{"proxy": "a/b"}},

		// Case sensitivity.
		{name: "case exact", method: "GET", path: "/Case", want: "GET /Case", resource: "/Case", status: Matched},
		{name: "case differs", method: "GET", path: "/case",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "case"}},
		{name: "case differs upper", method: "GET", path: "/ITEMS",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "ITEMS"}},

		// Encoded characters.
		{name: "encoded slash stays in segment", method: "GET", path: "/items/a%2Fb",
			want: "GET /items/{id}", resource: "/items/{id}", status: Matched,
			params: map[string]string{"id": "a/b"}, raw: map[string]string{"id": "a%2Fb"}},
		{name: "encoded slash in proxy", method: "GET", path: "/things/x%2Fy/z",
			want: "ANY /things/{proxy+}", resource: "/things/{proxy+}", status: Matched,
			params: map[string]string{"proxy": "x/y/z"}, raw: map[string]string{"proxy": "x%2Fy/z"}},
		{name: "encoded at sign", method: "GET", path: "/items/user%40example.com",
			want: "GET /items/{id}", resource: "/items/{id}", status: Matched, params: map[string]string{"id": "user@example.com"}},
		{name: "plus is not space", method: "GET", path: "/items/a+b%20c",
			want: "GET /items/{id}", resource: "/items/{id}", status: Matched, params: map[string]string{"id": "a+b c"}},
		{name: "malformed escape kept", method: "GET", path: "/items/%zz%4",
			want: "GET /items/{id}", resource: "/items/{id}", status: Matched, params: map[string]string{"id": "%zz%4"}},
		{name: "encoded literal char", method: "GET", path: "/it%65ms", want: "GET /items", resource: "/items", status: Matched},
		{name: "encoded colon in literal", method: "POST", path: "/events%3Abatch",
			want: "POST /events:batch", resource: "/events:batch", status: Matched},
		{name: "colon literal", method: "POST", path: "/events:batch",
			want: "POST /events:batch", resource: "/events:batch", status: Matched},

		// Unicode.
		{name: "unicode encoded param", method: "GET", path: "/items/caf%C3%A9",
			want: "GET /items/{id}", resource: "/items/{id}", status: Matched, params: map[string]string{"id": "café"}},
		{name: "unicode raw param", method: "GET", path: "/items/日本",
			want: "GET /items/{id}", resource: "/items/{id}", status: Matched, params: map[string]string{"id": "日本"}},
		{name: "unicode proxy", method: "GET", path: "/%E2%82%AC/x",
			want: "ANY /{proxy+}", resource: "/{proxy+}", status: Matched, params: map[string]string{"proxy": "€/x"}},
	}
	runCases(t, tree, cases)
}

func TestMatchStrict(t *testing.T) {
	tree := build(t, strictDefs)
	cases := []matchCase{
		{name: "root without method", method: "GET", path: "/", status: NoResource},
		{name: "unknown path", method: "GET", path: "/nope", status: NoResource},
		{name: "too deep", method: "GET", path: "/items/1/2", status: NoResource},
		{name: "wrong method", method: "POST", path: "/items", resource: "/items", status: MethodNotAllowed},
		{name: "wrong method on param", method: "DELETE", path: "/items/7", resource: "/items/{id}", status: MethodNotAllowed},
		{name: "HEAD is not GET", method: "HEAD", path: "/items", resource: "/items", status: MethodNotAllowed},
		{name: "GET is not HEAD", method: "GET", path: "/head", resource: "/head", status: MethodNotAllowed},
		{name: "HEAD", method: "HEAD", path: "/head", want: "HEAD /head", resource: "/head", status: Matched},
		{name: "lower-case method", method: "get", path: "/items", resource: "/items", status: MethodNotAllowed},
		{name: "ANY is not a request method", method: "ANY", path: "/items", resource: "/items", status: MethodNotAllowed},
		{name: "two params", method: "PUT", path: "/items/7/sub/x%20y", want: "PUT /items/{id}/sub/{sub}",
			resource: "/items/{id}/sub/{sub}", status: Matched, params: map[string]string{"id": "7", "sub": "x y"}},
		{name: "params reset on miss", method: "GET", path: "/items/7/sub/x", resource: "/items/{id}/sub/{sub}",
			status: MethodNotAllowed},
		{name: "greedy needs a segment", method: "GET", path: "/greedy", status: NoResource},
		{name: "greedy needs a segment, slash", method: "GET", path: "/greedy/", status: NoResource},
		{name: "greedy one", method: "GET", path: "/greedy/a", want: "GET /greedy/{p+}", resource: "/greedy/{p+}",
			status: Matched, params: map[string]string{"p": "a"}},
		{name: "greedy many", method: "GET", path: "/greedy/a/b/c.txt", want: "GET /greedy/{p+}", resource: "/greedy/{p+}",
			status: Matched, params: map[string]string{"p": "a/b/c.txt"}},
		{name: "greedy wrong method", method: "POST", path: "/greedy/a", resource: "/greedy/{p+}", status: MethodNotAllowed},
		{name: "empty inner segment", method: "GET", path: "/items//", want: "GET /items", resource: "/items", status: Matched},
		{name: "empty inner segment no param", method: "PUT", path: "/items//sub/x", status: NoResource},
	}
	runCases(t, tree, cases)
}

func runCases(t *testing.T, tree *Tree[string], cases []matchCase) {
	t.Helper()
	var ps Params
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, rp, st := tree.Match(c.method, c.path, &ps)
			if v != c.want || rp != c.resource || st != c.status {
				t.Fatalf("Match(%q, %q) = (%q, %q, %v), want (%q, %q, %v)",
					c.method, c.path, v, rp, st, c.want, c.resource, c.status)
			}
			got := map[string]string{}
			for k, v := range ps.All() {
				got[k] = v
			}
			if len(got) != len(c.params) || ps.Len() != len(c.params) {
				t.Fatalf("params = %v, want %v", got, c.params)
			}
			for k, want := range c.params {
				if got[k] != want {
					t.Fatalf("param %q = %q, want %q (all %v)", k, got[k], want, got)
				}
				if v, ok := ps.Get(k); !ok || v != want {
					t.Fatalf("Get(%q) = %q, %v", k, v, ok)
				}
			}
			for k, want := range c.raw {
				if v, ok := ps.GetRaw(k); !ok || v != want {
					t.Fatalf("GetRaw(%q) = %q, %v, want %q", k, v, ok, want)
				}
			}
			// nil params must give the same route.
			v2, rp2, st2 := tree.Match(c.method, c.path, nil)
			if v2 != v || rp2 != rp || st2 != st {
				t.Fatalf("with nil params: (%q, %q, %v)", v2, rp2, st2)
			}
		})
	}
}

func TestAddInvalid(t *testing.T) {
	bad := []struct{ path, method string }{
		{"", "GET"},
		{"items", "GET"},
		{"/items/", "GET"},
		{"//", "GET"},
		{"/a//b", "GET"},
		{"/{proxy+}/x", "GET"},
		{"/a/{p+}/b", "GET"},
		{"/{id", "GET"},
		{"/id}", "GET"},
		{"/{}", "GET"},
		{"/{+}", "GET"},
		{"/{{id}}", "GET"},
		{"/a{b}", "GET"},
		{"/{a}b", "GET"},
		{"/{a}+", "GET"},
		{"/{a++}", "GET"},
		{"/us+er", "GET"},
		{"/caf\u00e9", "GET"},
		{"/a b", "GET"},
		{"/a%20b", "GET"},
		{"/{a b}", "GET"},
		{"/{a/b}", "GET"},
		{"/items", "get"},
		{"/items", "FOO"},
		{"/items", ""},
		{"/items", "TRACE"},
	}
	for _, c := range bad {
		var b Builder[int]
		err := b.Add(c.path, c.method, 1)
		if err == nil {
			t.Errorf("Add(%q, %q) succeeded", c.path, c.method)
			continue
		}
		if !errors.Is(err, ErrInvalidPath) && !errors.Is(err, ErrInvalidMethod) {
			t.Errorf("Add(%q, %q) = %v, want ErrInvalidPath or ErrInvalidMethod", c.path, c.method, err)
		}
		if ValidMethod(c.method) && ValidateResourcePath(c.path) == nil {
			t.Errorf("validators accept %q %q", c.path, c.method)
		}
	}
	good := []string{"/", "/items", "/items/{id}", "/a/{b}/c", "/files/{proxy+}", "/{proxy+}",
		"/us:er_0-9", "/{pro:xy+}", "/v1.2/x-y_z", "/{a.b-c_d:e}"}
	for _, p := range good {
		var b Builder[int]
		if err := b.Add(p, "ANY", 1); err != nil {
			t.Errorf("Add(%q): %v", p, err)
		}
	}
}

func TestAddConflicts(t *testing.T) {
	var b Builder[string]
	must := func(p, m string) {
		t.Helper()
		if err := b.Add(p, m, m+" "+p); err != nil {
			t.Fatalf("Add(%q, %q): %v", p, m, err)
		}
	}
	must("/items/{id}", "GET")
	must("/items/{id}", "DELETE")
	must("/items/{id}/x", "GET")
	must("/items/list", "GET")

	for _, c := range []struct {
		path, method string
		want         error
	}{
		{"/items/{name}", "GET", ErrConflict},   // different name, same position
		{"/items/{proxy+}", "ANY", ErrConflict}, // param and greedy siblings
		{"/items/{name}/y", "GET", ErrConflict}, // conflict at an intermediate level
		{"/items/{id}", "GET", ErrDuplicate},    // same route twice
		{"/items/{id}/x", "GET", ErrDuplicate},  // same route twice, nested
		{"/items/list", "GET", ErrDuplicate},    // literal duplicate
		{"/items/{id+}", "GET", ErrConflict},    // same name but greedy
	} {
		if err := b.Add(c.path, c.method, "x"); !errors.Is(err, c.want) {
			t.Errorf("Add(%q, %q) = %v, want %v", c.path, c.method, err, c.want)
		}
	}
	must("/{proxy+}", "ANY")
	if err := b.Add("/{id}", "GET", "x"); !errors.Is(err, ErrConflict) {
		t.Errorf("root {id} beside {proxy+}: %v", err)
	}
	// ANY and GET on one resource are distinct routes.
	must("/items/list", "ANY")

	tree := b.Compile()
	if tree.Len() != 6 {
		t.Errorf("Len = %d, want 6", tree.Len())
	}
	// Failed Adds left nothing behind: /items/abc/y is not a route.
	v, rp, st := tree.Match("GET", "/items/abc/y", nil)
	if v != "ANY /{proxy+}" || rp != "/{proxy+}" || st != Matched {
		t.Errorf("after failed adds: %q %q %v", v, rp, st)
	}
}

func TestEmptyTree(t *testing.T) {
	var b Builder[int]
	tree := b.Compile()
	for _, p := range []string{"", "/", "/a", "/a/b/"} {
		if v, rp, st := tree.Match("GET", p, nil); v != 0 || rp != "" || st != NoResource {
			t.Errorf("empty tree Match(%q) = %v %q %v", p, v, rp, st)
		}
	}
	if tree.Len() != 0 {
		t.Errorf("Len = %d", tree.Len())
	}
}

func TestManyParamsAndParamsAPI(t *testing.T) {
	var parts, want []string
	for i := range 12 {
		parts = append(parts, fmt.Sprintf("{p%d}", i))
		want = append(want, fmt.Sprintf("v%d", i))
	}
	var b Builder[int]
	if err := b.Add("/"+strings.Join(parts, "/")+"/{rest+}", "GET", 7); err != nil {
		t.Fatal(err)
	}
	tree := b.Compile()
	var ps Params
	path := "/" + strings.Join(want, "/") + "/r%41/s"
	v, _, st := tree.Match("GET", path, &ps)
	if st != Matched || v != 7 {
		t.Fatalf("Match = %v %v", v, st)
	}
	if ps.Len() != 13 {
		t.Fatalf("Len = %d", ps.Len())
	}
	for i := range 12 {
		p := ps.At(i)
		if p.Name != fmt.Sprintf("p%d", i) || p.Value != want[i] || p.Raw != want[i] {
			t.Errorf("At(%d) = %+v", i, p)
		}
	}
	if p := ps.At(12); p.Name != "rest" || p.Raw != "r%41/s" || p.Value != "rA/s" {
		t.Errorf("At(12) = %+v", p)
	}
	if v, ok := ps.Get("p11"); !ok || v != "v11" {
		t.Errorf("Get(p11) = %q %v", v, ok)
	}
	if _, ok := ps.Get("nope"); ok {
		t.Error("Get(nope) found")
	}
	n := 0
	for range ps.All() {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("early break: %d", n)
	}
	// Reuse: a shorter match resets everything.
	if _, _, st := tree.Match("GET", "/x", &ps); st != NoResource || ps.Len() != 0 {
		t.Fatalf("reuse: %v %d", st, ps.Len())
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("At out of range did not panic")
			}
		}()
		ps.At(0)
	}()
}

func TestLargeFanOutUsesMap(t *testing.T) {
	var b Builder[int]
	for i := range 50 {
		if err := b.Add(fmt.Sprintf("/r%d", i), "GET", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add("/{id}", "GET", -1); err != nil {
		t.Fatal(err)
	}
	tree := b.Compile()
	if tree.nodes[0].litMap == nil {
		t.Fatal("root has no map")
	}
	for i := range 50 {
		if v, _, st := tree.Match("GET", fmt.Sprintf("/r%d", i), nil); v != i || st != Matched {
			t.Errorf("/r%d = %v %v", i, v, st)
		}
	}
	if v, _, _ := tree.Match("GET", "/r%31", nil); v != 1 {
		t.Errorf("escaped literal via map = %v", v)
	}
	if v, _, _ := tree.Match("GET", "/r50", nil); v != -1 {
		t.Errorf("/r50 = %v", v)
	}
}

func TestMatchStatusString(t *testing.T) {
	for s, want := range map[MatchStatus]string{NoResource: "no resource", MethodNotAllowed: "method not allowed",
		Matched: "matched", 9: "MatchStatus(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

func TestConcurrentMatch(t *testing.T) {
	tree := build(t, mainDefs)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ps Params
			for i := range 2000 {
				path := fmt.Sprintf("/items/%d", i+g)
				v, _, st := tree.Match("GET", path, &ps)
				if st != Matched || v != "GET /items/{id}" {
					t.Errorf("%s: %v %v", path, v, st)
					return
				}
				if id, _ := ps.Get("id"); id != fmt.Sprint(i+g) {
					t.Errorf("%s: id %q", path, id)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMatchNoAllocs(t *testing.T) {
	tree, paths := benchTree(1000)
	var ps Params
	for _, c := range []struct{ method, path string }{
		{"GET", paths.literal},
		{"GET", paths.param},
		{"DELETE", paths.proxy},
		{"GET", "/svc1/res2/"},
		{"GET", "/svc1/res%32"},  // escaped literal, decoded on the stack
		{"POST", paths.literal},  // falls back to the proxy
		{"GET", "/nothing/here"}, // no resource
		{"PATCH", "/"},           // root without methods
	} {
		allocs := testing.AllocsPerRun(200, func() {
			tree.Match(c.method, c.path, &ps)
		})
		if allocs != 0 {
			t.Errorf("Match(%q, %q): %v allocs", c.method, c.path, allocs)
		}
	}
	// Only an escaped parameter value costs an allocation, for its string.
	allocs := testing.AllocsPerRun(200, func() {
		tree.Match("GET", "/svc1/res2/a%20b-a-rather-long-identifier-0123456789abcdef/items", &ps)
	})
	if allocs != 1 {
		t.Errorf("escaped param: %v allocs, want 1", allocs)
	}
}
