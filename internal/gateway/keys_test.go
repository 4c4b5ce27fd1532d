package gateway

import (
	"context"
	"encoding/json"
	"fmt"
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

// sameKeyring compares the parts of two keyrings that the data plane reads
// or that later updates build on (plan order per key aside).
func sameKeyring(a, b *keyring) bool {
	norm := func(m map[string][]string) map[string][]string {
		out := make(map[string][]string, len(m))
		for k, v := range m {
			out[k] = slices.Sorted(slices.Values(v))
		}
		return out
	}
	return reflect.DeepEqual(a.byValue, b.byValue) && reflect.DeepEqual(a.byID, b.byID) &&
		reflect.DeepEqual(a.plans, b.plans) && reflect.DeepEqual(norm(a.memberOf), norm(b.memberOf))
}

// Random changes to keys, plans and memberships, made in a real store the
// way the management API makes them: after each Sync the incrementally
// updated keyring equals one loaded from scratch.
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
	members := map[string]map[string]bool{} // plan → keys
	pick := func(m map[string]bool) string {
		ids := slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})
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
	n := 0
	for step := 0; step < 400; step++ {
		err := st.Update(ctx, func(tx store.Tx) error {
			for op := 0; op < 1+rng.IntN(3); op++ {
				switch r := rng.IntN(10); {
				case r < 3 || len(keys) == 0: // create a key
					n++
					k := &model.ApiKey{ID: fmt.Sprintf("key%d", n), Value: fmt.Sprintf("value-%d-%d", n, rng.Int()), Enabled: rng.IntN(4) > 0}
					keys[k.ID] = k
					put(t, tx, model.KindApiKey, k.ID, k)
				case r == 3: // update a key: enabled, or its value
					k := keys[pick(keyIDs())]
					if rng.IntN(2) == 0 {
						k.Enabled = !k.Enabled
					} else {
						k.Value = fmt.Sprintf("value-%s-%d", k.ID, rng.Int())
					}
					put(t, tx, model.KindApiKey, k.ID, k)
				case r == 4: // delete a key and its memberships
					id := pick(keyIDs())
					delete(keys, id)
					if err := tx.Delete(ctx, model.KindApiKey, id); err != nil {
						return err
					}
					for pid, m := range members {
						if m[id] {
							delete(m, id)
							if err := tx.Delete(ctx, model.KindUsagePlanKey, model.ChildKey(pid, id)); err != nil {
								return err
							}
						}
					}
				case r == 5 || len(plans) == 0: // create a plan
					n++
					p := newPlan(fmt.Sprintf("plan%d", n))
					plans[p.ID], members[p.ID] = p, map[string]bool{}
					put(t, tx, model.KindUsagePlan, p.ID, p)
				case r == 6: // update a plan
					id := pick(planIDs())
					p := newPlan(id)
					plans[id] = p
					put(t, tx, model.KindUsagePlan, id, p)
				case r == 7: // delete a plan and its memberships
					id := pick(planIDs())
					for kid := range members[id] {
						if err := tx.Delete(ctx, model.KindUsagePlanKey, model.ChildKey(id, kid)); err != nil {
							return err
						}
					}
					delete(plans, id)
					delete(members, id)
					if err := tx.Delete(ctx, model.KindUsagePlan, id); err != nil {
						return err
					}
				case r == 8: // add a key to a plan
					pid, kid := pick(planIDs()), pick(keyIDs())
					if !members[pid][kid] {
						members[pid][kid] = true
						put(t, tx, model.KindUsagePlanKey, model.ChildKey(pid, kid), model.UsagePlanKey{})
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
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		got := g.state.Load().keys
		want, err := g.loadKeyring(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !sameKeyring(got, want) {
			t.Fatalf("step %d: the updated keyring differs from a reload (%d keys, %d plans)", step, len(keys), len(plans))
		}
		if len(got.byValue) != len(keys) {
			t.Fatalf("step %d: %d keys served, %d in the store", step, len(got.byValue), len(keys))
		}
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

// BenchmarkKeyringChange: what one key's change costs the data plane with
// 100,000 keys, next to loading them all.
func BenchmarkKeyringChange(b *testing.B) {
	ctx := context.Background()
	st, g := keyringStore(b, 100000)
	b.Run("update=one-key", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			err := st.Update(ctx, func(tx store.Tx) error {
				k := &model.ApiKey{ID: "k0000042", Value: fixtureKeyValue(42), Enabled: i%2 == 0}
				put(b, tx, model.KindApiKey, k.ID, k)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := g.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			if g.state.Load().keys.byValue[fixtureKeyValue(42)].enabled != (i%2 == 0) {
				b.Fatal("change not served")
			}
		}
	})
	b.Run("reload=all", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			kr, err := g.loadKeyring(ctx)
			if err != nil || len(kr.byValue) != 100000 {
				b.Fatal(len(kr.byValue), err)
			}
		}
	})
}
