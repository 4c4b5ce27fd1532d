package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
	"github.com/apigw/apigw/internal/store/sqlite"
)

func openStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "apigw.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func put(tb testing.TB, tx store.Tx, kind, key string, v any) {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if err := tx.Put(context.Background(), kind, key, b); err != nil {
		tb.Fatal(err)
	}
}

// served is what requests read from a keyring: every key by value, as
// copies, so that a later change to a served key would show.
func served(kr *keyring) map[string]apiKey {
	out := map[string]apiKey{}
	for i, m := range kr.shards {
		for v, k := range m {
			if maphash.String(keySeed, v)%keyShards != uint64(i) {
				v = "misplaced " + v
			}
			out[v] = *k
		}
	}
	return out
}

// sameKeyring compares what requests read from two keyrings and the
// sources that later updates build on.
func sameKeyring(a, b *keyring) bool {
	if !reflect.DeepEqual(served(a), served(b)) {
		return false
	}
	sa, sb := *a.src, *b.src
	sa.owner, sb.owner = nil, nil
	return reflect.DeepEqual(sa, sb)
}

// Random changes to keys, plans and memberships, made in a real store,
// mostly the way the management API makes them and sometimes not (a key or
// plan deleted with its memberships left behind, then made again): after
// each Sync the incrementally updated keyring equals one loaded from
// scratch, and the keyring it replaced still serves what it served.
func TestKeyringUpdatesMatchAReload(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	g := New(st)
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	keys := map[string]*model.ApiKey{}
	plans := map[string]*model.UsagePlan{}
	members := map[string]map[string]bool{} // plan → keys, including dangling ones
	var goneKeys, gonePlans []string        // deleted ids, to be made again
	pick := func(m map[string]bool) string {
		ids := slices.Sorted(maps.Keys(m))
		if len(ids) == 0 {
			return ""
		}
		return ids[rng.IntN(len(ids))]
	}
	keyIDs := func() map[string]bool {
		m := map[string]bool{}
		for id := range keys {
			m[id] = true
		}
		return m
	}
	planIDs := func() map[string]bool {
		m := map[string]bool{}
		for id := range plans {
			m[id] = true
		}
		return m
	}
	newPlan := func(id string) *model.UsagePlan {
		p := &model.UsagePlan{ID: id, Name: id}
		for s := 0; s < 1+rng.IntN(2); s++ {
			as := &model.ApiStage{ApiID: fmt.Sprintf("api%d", rng.IntN(3)), Stage: fmt.Sprintf("s%d", s)}
			if rng.IntN(2) == 0 {
				as.Throttle = map[string]*model.ThrottleSettings{"/items/GET": {RateLimit: float64(rng.IntN(100)), BurstLimit: int64(rng.IntN(10))}}
			}
			p.ApiStages = append(p.ApiStages, as)
		}
		if rng.IntN(2) == 0 {
			p.Throttle = &model.ThrottleSettings{RateLimit: float64(rng.IntN(1000)), BurstLimit: int64(rng.IntN(100))}
		}
		if rng.IntN(2) == 0 {
			p.Quota = &model.QuotaSettings{Limit: int64(1 + rng.IntN(1000)), Period: "DAY"}
		}
		return p
	}
	newValue := func(id string) string { return fmt.Sprintf("value-%s-%d", id, rng.Int()) }
	// leave drops an id from the deleted list once it is made again.
	leave := func(ids []string, id string) []string {
		return slices.DeleteFunc(ids, func(x string) bool { return x == id })
	}
	n := 0
	change := func(tx store.Tx) error {
		switch r := rng.IntN(13); {
		case r < 3 || len(keys) < 2: // create a key, sometimes with a deleted key's id
			var id string
			if len(goneKeys) > 0 && rng.IntN(3) == 0 {
				id = goneKeys[rng.IntN(len(goneKeys))]
				goneKeys = leave(goneKeys, id)
			} else {
				n++
				id = fmt.Sprintf("key%d", n)
			}
			k := &model.ApiKey{ID: id, Value: newValue(id), Enabled: rng.IntN(4) > 0}
			keys[k.ID] = k
			put(t, tx, model.KindApiKey, k.ID, k)
		case r == 3: // enable or disable a key
			k := keys[pick(keyIDs())]
			k.Enabled = !k.Enabled
			put(t, tx, model.KindApiKey, k.ID, k)
		case r == 4: // give a key a new value
			k := keys[pick(keyIDs())]
			k.Value = newValue(k.ID)
			put(t, tx, model.KindApiKey, k.ID, k)
		case r == 5: // two keys swap values
			a, b := keys[pick(keyIDs())], keys[pick(keyIDs())]
			a.Value, b.Value = b.Value, a.Value
			put(t, tx, model.KindApiKey, a.ID, a)
			put(t, tx, model.KindApiKey, b.ID, b)
		case r == 6: // delete a key and (mostly) its memberships
			id := pick(keyIDs())
			delete(keys, id)
			goneKeys = append(goneKeys, id)
			if err := tx.Delete(ctx, model.KindApiKey, id); err != nil {
				return err
			}
			if rng.IntN(4) == 0 {
				break
			}
			for pid, m := range members {
				if m[id] {
					delete(m, id)
					if err := tx.Delete(ctx, model.KindUsagePlanKey, model.ChildKey(pid, id)); err != nil {
						return err
					}
				}
			}
		case r == 7 || len(plans) == 0: // create a plan, sometimes with a deleted plan's id
			var id string
			if len(gonePlans) > 0 && rng.IntN(3) == 0 {
				id = gonePlans[rng.IntN(len(gonePlans))]
				gonePlans = leave(gonePlans, id)
			} else {
				n++
				id = fmt.Sprintf("plan%d", n)
			}
			p := newPlan(id)
			plans[p.ID] = p
			put(t, tx, model.KindUsagePlan, p.ID, p)
		case r == 8: // update a plan: stages, throttles, quota
			id := pick(planIDs())
			p := newPlan(id)
			plans[id] = p
			put(t, tx, model.KindUsagePlan, id, p)
		case r == 9: // delete a plan and (mostly) its memberships
			id := pick(planIDs())
			delete(plans, id)
			gonePlans = append(gonePlans, id)
			if err := tx.Delete(ctx, model.KindUsagePlan, id); err != nil {
				return err
			}
			if rng.IntN(4) == 0 {
				break
			}
			for kid := range members[id] {
				if err := tx.Delete(ctx, model.KindUsagePlanKey, model.ChildKey(id, kid)); err != nil {
					return err
				}
			}
			delete(members, id)
		case r == 10 || r == 11: // add a key to a plan
			pid, kid := pick(planIDs()), pick(keyIDs())
			if !members[pid][kid] {
				if members[pid] == nil {
					members[pid] = map[string]bool{}
				}
				members[pid][kid] = true
				put(t, tx, model.KindUsagePlanKey, model.ChildKey(pid, kid), model.UsagePlanKey{ID: kid, Type: "API_KEY"})
			}
		default: // remove a key from a plan
			pid := pick(planIDs())
			if kid := pick(members[pid]); kid != "" {
				delete(members[pid], kid)
				if err := tx.Delete(ctx, model.KindUsagePlanKey, model.ChildKey(pid, kid)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for step := 0; step < 500; step++ {
		// Mostly one commit of one to three changes per Sync; sometimes
		// several commits before the data plane looks.
		commits := 1
		if rng.IntN(4) == 0 {
			commits += rng.IntN(4)
		}
		for range commits {
			err := st.Update(ctx, func(tx store.Tx) error {
				for range 1 + rng.IntN(3) {
					if err := change(tx); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		prev := g.state.Load().keys
		before := served(prev)
		if err := g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		got := g.state.Load().keys
		if got.src != prev.src {
			t.Fatalf("step %d: the keyring was reloaded, not updated", step)
		}
		if !reflect.DeepEqual(served(prev), before) {
			t.Fatalf("step %d: the update changed the keyring it replaced", step)
		}
		want, err := g.loadKeyring(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !sameKeyring(got, want) {
			t.Fatalf("step %d: the updated keyring differs from a reload (%d keys, %d plans)", step, len(keys), len(plans))
		}
		if got.len() != len(keys) {
			t.Fatalf("step %d: %d keys served, %d in the store", step, got.len(), len(keys))
		}
		for _, k := range keys {
			if ak := got.lookup(k.Value); ak == nil || ak.id != k.ID || ak.enabled != k.Enabled {
				t.Fatalf("step %d: key %s is served as %+v", step, k.ID, ak)
			}
		}
	}
}

// An update that was never published (Sync failed after it) is not built
// on: the next Sync loads the keyring again.
func TestKeyringUnpublishedUpdateIsNotBuiltOn(t *testing.T) {
	ctx := context.Background()
	st, g := keyringStore(t, 10)
	cur := g.state.Load().keys
	err := st.Update(ctx, func(tx store.Tx) error {
		put(t, tx, model.KindApiKey, "k0000003", &model.ApiKey{ID: "k0000003", Value: fixtureKeyValue(3), Enabled: false})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	changes, _, err := st.Changes(ctx, g.state.Load().rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.updateKeyring(ctx, cur, changes); err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := g.state.Load().keys
	if got.src == cur.src {
		t.Fatal("Sync built on a source that no served keyring matches")
	}
	if ak := got.lookup(fixtureKeyValue(3)); ak == nil || ak.enabled {
		t.Fatalf("key 3 is served as %+v, want disabled", ak)
	}
}

// keyringStore is a store with n keys in one plan on api:dev.
func keyringStore(tb testing.TB, n int) (*sqlite.Store, *Gateway) {
	tb.Helper()
	ctx := context.Background()
	st := openStore(tb)
	plan := &model.UsagePlan{ID: "plan", Name: "plan", ApiStages: []*model.ApiStage{{ApiID: "api", Stage: "dev"}},
		Throttle: &model.ThrottleSettings{RateLimit: 100, BurstLimit: 200}, Quota: &model.QuotaSettings{Limit: 1000, Period: "MONTH"}}
	err := st.Update(ctx, func(tx store.Tx) error {
		put(tb, tx, model.KindUsagePlan, plan.ID, plan)
		for i := 0; i < n; i++ {
			k := &model.ApiKey{ID: fmt.Sprintf("k%07d", i), Value: fixtureKeyValue(i), Enabled: true, CreatedDate: time.Now().Unix()}
			put(tb, tx, model.KindApiKey, k.ID, k)
			put(tb, tx, model.KindUsagePlanKey, model.ChildKey(plan.ID, k.ID), model.UsagePlanKey{})
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

// BenchmarkKeyringChange: what a change costs the data plane with 100,000
// keys in one plan, next to loading them all: one key disabled and enabled
// again, one key taken out of the plan and put back, and the plan's
// throttle changed (which rebuilds its 100,000 members, without reading
// them). Each op is the Sync that follows a commit.
func BenchmarkKeyringChange(b *testing.B) {
	ctx := context.Background()
	const n = 100000
	st, g := keyringStore(b, n)
	value := fixtureKeyValue(42)
	// commit writes outside the timer: the figure is the data plane's Sync.
	commit := func(b *testing.B, fn func(tx store.Tx) error) {
		b.StopTimer()
		if err := st.Update(ctx, fn); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := g.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("update=one-key", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			commit(b, func(tx store.Tx) error {
				put(b, tx, model.KindApiKey, "k0000042", &model.ApiKey{ID: "k0000042", Value: value, Enabled: i%2 == 0})
				return nil
			})
			if g.state.Load().keys.lookup(value).enabled != (i%2 == 0) {
				b.Fatal("change not served")
			}
		}
	})
	b.Run("update=one-membership", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			in := i%2 == 1
			commit(b, func(tx store.Tx) error {
				if in {
					put(b, tx, model.KindUsagePlanKey, model.ChildKey("plan", "k0000042"), model.UsagePlanKey{ID: "k0000042", Type: "API_KEY"})
					return nil
				}
				return tx.Delete(ctx, model.KindUsagePlanKey, model.ChildKey("plan", "k0000042"))
			})
			if (g.state.Load().keys.lookup(value).plans[stageRef{"api", "dev"}] != nil) != in {
				b.Fatal("change not served")
			}
		}
		if b.N%2 == 1 { // leave the key in the plan
			commit(b, func(tx store.Tx) error {
				put(b, tx, model.KindUsagePlanKey, model.ChildKey("plan", "k0000042"), model.UsagePlanKey{ID: "k0000042", Type: "API_KEY"})
				return nil
			})
		}
	})
	b.Run("update=plan-of-all-keys", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rate := float64(100 + i)
			commit(b, func(tx store.Tx) error {
				put(b, tx, model.KindUsagePlan, "plan", &model.UsagePlan{ID: "plan", Name: "plan", ApiStages: []*model.ApiStage{{ApiID: "api", Stage: "dev"}},
					Throttle: &model.ThrottleSettings{RateLimit: rate, BurstLimit: 200}, Quota: &model.QuotaSettings{Limit: 1000, Period: "MONTH"}})
				return nil
			})
			if g.state.Load().keys.lookup(value).plans[stageRef{"api", "dev"}].throttle.RateLimit != rate {
				b.Fatal("change not served")
			}
		}
	})
	b.Run("reload=all", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			kr, err := g.loadKeyring(ctx)
			if err != nil || kr.len() != n {
				b.Fatal(err)
			}
		}
	})
}
