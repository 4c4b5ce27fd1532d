package gateway

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/apigw/apigw/internal/gateway/route"
	"github.com/apigw/apigw/internal/model"
)

// bigSnapshot is an API of n resources (/r{i}/{id}), each with a GET
// integrated with HTTP_PROXY.
func bigSnapshot(n int) *model.Snapshot {
	snap := &model.Snapshot{DeploymentID: "big", Api: model.RestApi{ID: "api", Name: "big"}}
	snap.Resources = append(snap.Resources, &model.Resource{ID: "root", Path: "/"})
	for i := 0; i < n/2; i++ {
		parent := &model.Resource{ID: fmt.Sprintf("p%d", i), ParentID: "root", PathPart: fmt.Sprintf("r%d", i), Path: fmt.Sprintf("/r%d", i),
			ResourceMethods: map[string]*model.Method{"GET": {HTTPMethod: "GET", AuthorizationType: "NONE", MethodIntegration: &model.Integration{
				Type: "HTTP_PROXY", HTTPMethod: "GET", URI: "http://127.0.0.1:9000/small", TimeoutInMillis: 29000}}}}
		child := &model.Resource{ID: fmt.Sprintf("c%d", i), ParentID: parent.ID, PathPart: "{id}", Path: parent.Path + "/{id}",
			ResourceMethods: map[string]*model.Method{"GET": {HTTPMethod: "GET", AuthorizationType: "NONE", MethodIntegration: &model.Integration{
				Type: "HTTP_PROXY", HTTPMethod: "GET", URI: "http://127.0.0.1:9000/items/{id}", TimeoutInMillis: 29000,
				RequestParameters: map[string]string{"integration.request.path.id": "method.request.path.id"}}}}}
		snap.Resources = append(snap.Resources, parent, child)
	}
	return snap
}

// BenchmarkCompileDeployment measures what a new deployment costs the data
// plane: routing tree plus every integration, for 10,000 resources.
func BenchmarkCompileDeployment10000(b *testing.B) {
	snap := bigSnapshot(10000)
	g := New(nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if d := g.compile(snap); d.Tree.Len() != 10000 {
			b.Fatalf("compiled %d routes", d.Tree.Len())
		}
	}
}

// BenchmarkRouteBigDeployment: routing in a 10,000-resource deployment
// costs what it costs in a small one.
func BenchmarkRouteBigDeployment(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			d := New(nil).compile(bigSnapshot(n))
			path := fmt.Sprintf("/r%d/42", n/4)
			b.ReportAllocs()
			var p route.Params
			for i := 0; i < b.N; i++ {
				p.Reset()
				if _, _, st := d.Tree.Match("GET", path, &p); st != route.Matched {
					b.Fatal(st)
				}
			}
		})
	}
}

// TestKeyringMemoryPerKey reports the data plane's memory per API key (key
// index plus plan membership), for 100,000 keys.
func TestKeyringMemoryPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory of 100,000 keys")
	}
	const n = 100000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kr := fixtureKeyring(n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(kr.byValue) != n {
		t.Fatalf("keyring has %d keys", len(kr.byValue))
	}
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("data plane memory per API key (index, plan membership, limiter ids): %.0f bytes", perKey)
	if perKey > 4096 {
		t.Errorf("%.0f bytes per API key; expected well under 4 KiB", perKey)
	}
	runtime.KeepAlive(kr)
}
