package gateway

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/route"
	"github.com/apigw/apigw/internal/store"
	"github.com/apigw/apigw/internal/store/sqlite"
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

// BenchmarkRouteBigDeployment: routing in a 100,000-resource deployment
// costs what it costs in a small one.
func BenchmarkRouteBigDeployment(b *testing.B) {
	for _, n := range []int{10, 1000, 10000, 100000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			d := New(nil).compile(bigSnapshot(n))
			path := fmt.Sprintf("/r%d/42", n/4)
			b.ReportAllocs()
			b.ResetTimer()
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

// TestKeyringMemoryPerKey reports the data plane's memory per API key: the
// key's entry in both indexes, its plan membership and limiter ids, as
// loaded from a store of 20,000 keys.
func TestKeyringMemoryPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory of 20,000 keys")
	}
	const n = 20000
	_, g := keyringStore(t, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC() // and what sync.Pools kept through the first
	runtime.ReadMemStats(&before)
	kr, err := g.loadKeyring(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if kr.len() != n || len(kr.src.keys) != n {
		t.Fatalf("keyring has %d keys", kr.len())
	}
	perKey := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	t.Logf("data plane memory per API key (indexes, plan membership, limiter ids): %.0f bytes", perKey)
	if perKey > 4096 {
		t.Errorf("%.0f bytes per API key; expected well under 4 KiB", perKey)
	}
	runtime.KeepAlive(kr)
	runtime.KeepAlive(g) // its own keyring stays; only the new one is measured
}

// stagesStore holds apis APIs of stagesPer stages each, every stage on the
// API's one deployment (MOCK GET /items/{id}).
func stagesStore(tb testing.TB, apis, stagesPer int) (*sqlite.Store, *Gateway) {
	tb.Helper()
	ctx := context.Background()
	st := openStore(tb)
	err := st.Update(ctx, func(tx store.Tx) error {
		for a := 0; a < apis; a++ {
			apiID := fmt.Sprintf("api%04d", a)
			put(tb, tx, model.KindRestApi, apiID, &model.RestApi{ID: apiID, Name: apiID})
			snap := itemsSnapshot(apiID, mockIntegration())
			put(tb, tx, model.KindSnapshot, model.ChildKey(apiID, "dep1"), snap)
			for s := 0; s < stagesPer; s++ {
				name := fmt.Sprintf("s%03d", s)
				put(tb, tx, model.KindStage, model.ChildKey(apiID, name), &model.Stage{StageName: name, DeploymentID: "dep1"})
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	g := New(st)
	if err := g.Sync(ctx); err != nil {
		tb.Fatal(err)
	}
	return st, g
}

// BenchmarkSyncOneStage: changing one stage's variables costs the data
// plane the same with 1 stage or 1,000 (100 APIs of 10 stages): only the
// changed API is read again, and its compiled deployment is kept.
func BenchmarkSyncOneStage(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct{ apis, per int }{{1, 1}, {100, 10}} {
		b.Run(fmt.Sprintf("stages=%d", c.apis*c.per), func(b *testing.B) {
			st, g := stagesStore(b, c.apis, c.per)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v := fmt.Sprint(i)
				b.StopTimer() // the figure is the data plane's Sync, not the commit
				err := st.Update(ctx, func(tx store.Tx) error {
					put(b, tx, model.KindStage, model.ChildKey("api0000", "s000"), &model.Stage{StageName: "s000", DeploymentID: "dep1", Variables: map[string]string{"v": v}})
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := g.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				if g.state.Load().apis["api0000"]["s000"].Vars["v"] != v {
					b.Fatal("change not served")
				}
			}
		})
	}
}

// BenchmarkServeManyStages: a request's stage is found as fast among 1,000
// stages as among 1.
func BenchmarkServeManyStages(b *testing.B) {
	for _, c := range []struct{ apis, per int }{{1, 1}, {100, 10}} {
		b.Run(fmt.Sprintf("stages=%d", c.apis*c.per), func(b *testing.B) {
			_, g := stagesStore(b, c.apis, c.per)
			path := fmt.Sprintf("/_aws/execute-api/api%04d/s%03d/items/42", c.apis/2, c.per/2)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest("GET", path, nil)
				for pb.Next() {
					w := discardWriter{h: http.Header{}}
					g.ServeHTTP(&w, r)
					if w.status != 200 {
						b.Fatalf("status %d", w.status)
					}
				}
			})
		})
	}
}

// A Sync forgets the compiled deployment a stage moved away from, and keeps
// those of the APIs it did not read again.
func TestSyncForgetsUnusedDeployments(t *testing.T) {
	ctx := context.Background()
	st, g := stagesStore(t, 2, 1)
	if g.compiled[model.ChildKey("api0000", "dep1")] == nil || g.compiled[model.ChildKey("api0001", "dep1")] == nil {
		t.Fatalf("compiled after the first Sync: %v", slices.Sorted(maps.Keys(g.compiled)))
	}
	err := st.Update(ctx, func(tx store.Tx) error {
		put(t, tx, model.KindSnapshot, model.ChildKey("api0000", "dep2"), &model.Snapshot{DeploymentID: "dep2", Api: model.RestApi{ID: "api0000", Name: "api0000"}})
		put(t, tx, model.KindStage, model.ChildKey("api0000", "s000"), &model.Stage{StageName: "s000", DeploymentID: "dep2"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"api0000/dep2", "api0001/dep1"}
	if got := slices.Sorted(maps.Keys(g.compiled)); !slices.Equal(got, want) {
		t.Fatalf("compiled deployments %v, want %v", got, want)
	}
	if d := g.state.Load().apis["api0000"]["s000"].Deployment; d.ID != "dep2" {
		t.Fatalf("stage serves %s, want dep2", d.ID)
	}
}
