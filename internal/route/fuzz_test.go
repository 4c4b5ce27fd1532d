package route

import (
	"slices"
	"strings"
	"testing"
)

// fuzzDefs is a valid tree (one variable child per resource) exercising
// literal/variable choices at several levels, methods vs ANY, and greedy
// variables at two depths.
var fuzzDefs = []def{
	{"/", []string{"GET"}},
	{"/a", []string{"GET"}},
	{"/a/b", []string{"GET", "POST"}},
	{"/a/b/c", []string{"ANY"}},
	{"/a/{x}", []string{"DELETE"}},
	{"/a/{x}/c", []string{"GET"}},
	{"/a/{x}/{y+}", []string{"PUT"}},
	{"/b/{id}", []string{"HEAD"}},
	{"/b/{id}/c", []string{"PUT", "ANY"}},
	{"/b/lit/c", []string{"OPTIONS"}},
	{"/c:d", []string{"GET"}},
	{"/c.d/{z+}", []string{"ANY"}},
	{"/e/f/g/h", []string{"PATCH"}},
	{"/{proxy+}", []string{"GET"}},
}

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY", "get", "TRACE"}

// refResult is what the naive reference matcher computes.
type refResult struct {
	value, resource string
	status          MatchStatus
	params          []Param
}

// refMatch is a deliberately naive matcher: it tries every resource on its
// own, orders the ones whose path matches by AWS precedence (at the first
// position where they differ, a literal beats a variable) and takes the first
// with the method, else ANY.
func refMatch(defs []def, method, path string) refResult {
	p := strings.Trim(path, "/")
	var segs []string
	if p != "" {
		segs = strings.Split(p, "/")
	}
	type cand struct {
		d      def
		parts  []part
		params []Param
	}
	var cands []cand
	for _, d := range defs {
		parts, err := parseResourcePath(d.path)
		if err != nil {
			panic(err)
		}
		var params []Param
		ok := true
		greedy := false
		for k, pt := range parts {
			if k >= len(segs) {
				ok = false
				break
			}
			switch pt.kind {
			case kindLiteral:
				ok = segs[k] != "" && unescape(segs[k]) == pt.text
			case kindParam:
				ok = segs[k] != ""
				params = append(params, Param{Name: pt.text, Raw: segs[k], Value: unescape(segs[k])})
			case kindGreedy:
				rest := strings.Join(segs[k:], "/")
				params = append(params, Param{Name: pt.text, Raw: rest, Value: unescape(rest)})
				greedy = true
			}
			if !ok {
				break
			}
		}
		if ok && !greedy && len(parts) != len(segs) {
			ok = false
		}
		if ok {
			cands = append(cands, cand{d, parts, params})
		}
	}
	rank := func(parts []part, k int) int {
		if k >= len(parts) || parts[k].kind == kindLiteral {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(cands, func(x, y cand) int {
		for k := 0; k < max(len(x.parts), len(y.parts)); k++ {
			if rx, ry := rank(x.parts, k), rank(y.parts, k); rx != ry {
				return rx - ry
			}
		}
		return 0
	})
	for _, c := range cands {
		has := func(m string) bool { return slices.Contains(c.d.methods, m) }
		if ValidMethod(method) && method != "ANY" {
			if has(method) {
				return refResult{method + " " + c.d.path, c.d.path, Matched, c.params}
			}
			if has("ANY") {
				return refResult{"ANY " + c.d.path, c.d.path, Matched, c.params}
			}
		}
	}
	if len(cands) > 0 {
		return refResult{"", cands[0].d.path, MethodNotAllowed, nil}
	}
	return refResult{status: NoResource}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"/", "", "//", "/a", "/a/", "/a/b", "/a/b/c", "/a/b/d", "/a/x/c", "/a/x/y/z", "/a//b",
		"/b/1", "/b/lit/c", "/b/lit", "/c:d", "/c%3Ad", "/c.d", "/c.d/x/y/", "/e/f/g/h", "/e/f/g",
		"/x%2Fy", "/a/%zz", "/caf%C3%A9/b", "/A", "///a///", "/a/b/c/d/e/f",
	} {
		for i := range fuzzMethods {
			f.Add(uint8(i), s)
		}
	}
	tree := build(f, fuzzDefs)
	added := map[string]bool{}
	for _, d := range fuzzDefs {
		for _, m := range d.methods {
			added[m+" "+d.path] = true
		}
	}
	f.Fuzz(func(t *testing.T, mi uint8, path string) {
		method := fuzzMethods[int(mi)%len(fuzzMethods)]
		var ps Params
		v, rp, st := tree.Match(method, path, &ps)
		switch st {
		case Matched:
			if !added[v] || !strings.HasSuffix(v, " "+rp) {
				t.Fatalf("Match(%q, %q) = %q on %q: not an added route", method, path, v, rp)
			}
		case MethodNotAllowed:
			if v != "" || ps.Len() != 0 {
				t.Fatalf("MethodNotAllowed with value %q / %d params", v, ps.Len())
			}
		case NoResource:
			if v != "" || rp != "" || ps.Len() != 0 {
				t.Fatalf("NoResource with %q %q %d", v, rp, ps.Len())
			}
		default:
			t.Fatalf("status %v", st)
		}
		want := refMatch(fuzzDefs, method, path)
		if v != want.value || rp != want.resource || st != want.status {
			t.Fatalf("Match(%q, %q) = (%q, %q, %v), reference (%q, %q, %v)",
				method, path, v, rp, st, want.value, want.resource, want.status)
		}
		if ps.Len() != len(want.params) {
			t.Fatalf("Match(%q, %q): %d params, reference %v", method, path, ps.Len(), want.params)
		}
		for i, p := range want.params {
			if got := ps.At(i); got != p {
				t.Fatalf("Match(%q, %q): param %d = %+v, reference %+v", method, path, i, got, p)
			}
		}
	})
}
