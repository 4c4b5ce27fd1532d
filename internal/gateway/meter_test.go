package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/model"
)

// meterFixture is a gateway with n API keys, all in one plan on one stage
// with a throttle and a quota that are never reached.
func meterFixture(tb testing.TB, n int) (*Gateway, *state, *Stage, *Route, []*http.Request) {
	tb.Helper()
	g := &Gateway{Limiter: limit.NewMemory(limit.NewMemLedger())}
	tb.Cleanup(func() { g.Limiter.Close(context.Background()) })
	rt := &Route{ResourcePath: "/hello", MethodPath: "/hello/GET", Method: &model.Method{HTTPMethod: "GET", ApiKeyRequired: true}}
	st := &Stage{APIID: "api", Name: "dev", Deployment: &Deployment{Api: &model.RestApi{ApiKeySource: "HEADER"}, Routes: []*Route{rt}}}
	kr := fixtureKeyring(n)
	reqs := make([]*http.Request, n)
	for i := 0; i < n; i++ {
		r := httptest.NewRequest("GET", "/_aws/execute-api/api/dev/hello", nil)
		r.Header.Set("X-Api-Key", fixtureKeyValue(i))
		reqs[i] = r
	}
	g.AccountRate, g.AccountBurst = 1e12, 1<<50
	return g, &state{keys: kr}, st, rt, reqs
}

func TestMeterDoesNotAllocate(t *testing.T) {
	g, s, st, rt, reqs := meterFixture(t, 10)
	ctx := context.Background()
	var id Identity
	for _, r := range reqs { // warm every key
		if err := g.meter(ctx, r.Header, s, st, rt, &id); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := g.meter(ctx, reqs[i%len(reqs)].Header, s, st, rt, &id); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("metering allocates %.1f times per request, want 0", allocs)
	}
}

func TestMeterRefusals(t *testing.T) {
	g, s, st, rt, reqs := meterFixture(t, 1)
	ctx := context.Background()
	var id Identity
	cases := []struct {
		name string
		key  string
	}{
		{"missing", ""},
		{"unknown", "no-such-key-no-such-key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if c.key != "" {
				r.Header.Set("X-Api-Key", c.key)
			}
			err := g.meter(ctx, r.Header, s, st, rt, &id)
			if err == nil || err.Error() != "INVALID_API_KEY: Forbidden" {
				t.Fatalf("meter = %v, want INVALID_API_KEY", err)
			}
		})
	}
	t.Run("disabled", func(t *testing.T) {
		for _, m := range s.keys.shards {
			for _, k := range m {
				k.enabled = false
			}
		}
		if err := g.meter(ctx, reqs[0].Header, s, st, rt, &id); err == nil {
			t.Fatal("a disabled key was admitted")
		}
	})
}

func fixtureKeyValue(i int) string { return fmt.Sprintf("key-value-%030d", i) }

// fixtureKeyring holds n enabled keys, each in one plan on api:dev with a
// throttle, a method throttle and a quota.
func fixtureKeyring(n int) *keyring {
	kr := &keyring{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("k%09d", i)
		kr.put(&apiKey{id: id, value: fixtureKeyValue(i), enabled: true, plans: map[stageRef]*keyPlan{
			{"api", "dev"}: {
				planID:     "plan",
				throttle:   &model.ThrottleSettings{RateLimit: 1e9, BurstLimit: 1 << 40},
				quota:      limit.PlanQuota(&model.QuotaSettings{Limit: 1 << 50, Period: "MONTH"}),
				throttleID: "plan/plan/" + id,
				quotaID:    limit.QuotaID("plan", id),
				methods: map[string]methodThrottle{"/hello/GET": {
					settings: &model.ThrottleSettings{RateLimit: 1e9, BurstLimit: 1 << 40},
					id:       "plan/plan/" + id + "/api:dev/hello/GET",
				}},
			},
		}})
	}
	return kr
}

// BenchmarkMeter is step 4 of the pipeline (key lookup, plan method
// throttle, plan throttle, account throttle, quota) under parallel load,
// with 10, 1,000 and 100,000 keys. Every key is used once before the timer
// starts, so the figure is the warm path, not the first touch of a key's
// limiter state. The last case calls 1,000 of 100,000 keys: the index is as
// fast as with 1,000 keys, what grows with the key count is cache misses
// when every call touches another key.
func BenchmarkMeter(b *testing.B) {
	for _, c := range []struct{ keys, used int }{{10, 10}, {1000, 1000}, {100000, 100000}, {100000, 1000}} {
		name := fmt.Sprintf("keys=%d", c.keys)
		if c.used != c.keys {
			name += fmt.Sprintf("/used=%d", c.used)
		}
		b.Run(name, func(b *testing.B) {
			g, s, st, rt, reqs := meterFixture(b, c.keys)
			reqs = reqs[:c.used]
			ctx := context.Background()
			var id Identity
			for _, r := range reqs {
				if err := g.meter(ctx, r.Header, s, st, rt, &id); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var id Identity
				i := int(next.Add(7919))
				for pb.Next() {
					if err := g.meter(ctx, reqs[i%len(reqs)].Header, s, st, rt, &id); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}

// TestMeterThrottleRefusalUsesNoQuota: whichever throttle refuses a request
// (the plan's method throttle, the plan's, the stage's method throttle or the
// account's), the key's quota counts only the requests admitted.
func TestMeterThrottleRefusalUsesNoQuota(t *testing.T) {
	const calls = 200
	tight := &model.ThrottleSettings{RateLimit: 1, BurstLimit: 1}
	cases := []struct {
		name  string
		setup func(g *Gateway, kp *keyPlan, st *Stage, rt *Route)
	}{
		{"plan method throttle", func(_ *Gateway, kp *keyPlan, _ *Stage, _ *Route) {
			mt := kp.methods["/hello/GET"]
			mt.settings = tight
			kp.methods["/hello/GET"] = mt
		}},
		{"plan throttle", func(_ *Gateway, kp *keyPlan, _ *Stage, _ *Route) { kp.throttle = tight }},
		{"stage method throttle", func(_ *Gateway, _ *keyPlan, st *Stage, rt *Route) {
			st.throttles = map[*Route]*stageThrottle{rt: {rate: 1, burst: 1, id: "stage/api/dev/hello/GET"}}
		}},
		{"account throttle", func(g *Gateway, _ *keyPlan, _ *Stage, _ *Route) { g.AccountRate, g.AccountBurst = 1, 1 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, s, st, rt, reqs := meterFixture(t, 1)
			var kp *keyPlan
			for _, m := range s.keys.shards {
				for _, k := range m {
					kp = k.plans[stageRef{"api", "dev"}]
				}
			}
			c.setup(g, kp, st, rt)
			ctx := context.Background()
			start := time.Now()
			admitted, throttled := 0, 0
			for i := 0; i < calls; i++ {
				var id Identity
				err := g.meter(ctx, reqs[0].Header, s, st, rt, &id)
				var fe *fault.Error
				switch {
				case err == nil:
					admitted++
				case errors.As(err, &fe) && fe.Type == fault.Throttled:
					throttled++
				default:
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if throttled == 0 || admitted == 0 {
				t.Fatalf("admitted %d, throttled %d of %d: the throttle did not refuse", admitted, throttled, calls)
			}
			days, err := g.Limiter.Usage(ctx, kp.quotaID, *kp.quota, start, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var used int64
			for _, d := range days {
				used += d.Used
			}
			if used != int64(admitted) {
				t.Fatalf("quota used %d after %d calls with %d throttled, want %d", used, calls, throttled, admitted)
			}
		})
	}
}
