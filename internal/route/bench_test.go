package route

import (
	"fmt"
	"math"
	"testing"
)

type benchPaths struct{ literal, param, proxy string }

// benchRoutes returns n (path, method) routes shaped like a real API: groups
// of /svcG/resR (GET) and /svcG/resR/{id}/items (GET) under a per-group
// /svcG/{proxy+} (ANY), plus request paths hitting the last group.
func benchRoutes(n int) (routes [][2]string, paths benchPaths) {
	per := max(1, int(math.Sqrt(float64(n))))
	last := [2]int{}
	for g := 0; len(routes) < n; g++ {
		routes = append(routes, [2]string{fmt.Sprintf("/svc%d/{proxy+}", g), "ANY"})
		for r := 0; r < per && len(routes) < n; r++ {
			routes = append(routes, [2]string{fmt.Sprintf("/svc%d/res%d", g, r), "GET"})
			if len(routes) < n {
				routes = append(routes, [2]string{fmt.Sprintf("/svc%d/res%d/{id}/items", g, r), "GET"})
			}
			last = [2]int{g, r}
		}
	}
	g, r := last[0], last[1]
	paths = benchPaths{
		literal: fmt.Sprintf("/svc%d/res%d", g, r),
		param:   fmt.Sprintf("/svc%d/res%d/12345/items", g, r),
		proxy:   fmt.Sprintf("/svc%d/static/css/site.css", g),
	}
	return routes, paths
}

func benchTree(n int) (*Tree[int], benchPaths) {
	routes, paths := benchRoutes(n)
	var b Builder[int]
	for i, rt := range routes {
		if err := b.Add(rt[0], rt[1], i); err != nil {
			panic(err)
		}
	}
	return b.Compile(), paths
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		tree, paths := benchTree(n)
		for _, c := range []struct{ kind, path, param string }{
			{"literal", paths.literal, ""},
			{"param", paths.param, "id"},
			{"proxy", paths.proxy, "proxy"},
		} {
			b.Run(fmt.Sprintf("%d/%s", n, c.kind), func(b *testing.B) {
				var ps Params
				if _, _, st := tree.Match("GET", c.path, &ps); st != Matched {
					b.Fatalf("%s: %v", c.path, st)
				}
				if c.param != "" {
					if _, ok := ps.Get(c.param); !ok {
						b.Fatalf("%s: no %s", c.path, c.param)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					tree.Match("GET", c.path, &ps)
				}
			})
		}
	}
}

// BenchmarkCompile10000 measures building a 10,000-route tree: the Adds and
// the Compile, i.e. what a deployment costs.
func BenchmarkCompile10000(b *testing.B) {
	routes, _ := benchRoutes(10000)
	b.ReportAllocs()
	for b.Loop() {
		var bl Builder[int]
		for i, rt := range routes {
			if err := bl.Add(rt[0], rt[1], i); err != nil {
				b.Fatal(err)
			}
		}
		if bl.Compile().Len() != 10000 {
			b.Fatal("wrong size")
		}
	}
}
