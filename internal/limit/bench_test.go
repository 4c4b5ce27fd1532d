package limit

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// nopLedger keeps nothing: it isolates the limiter's own memory.
type nopLedger struct{}

func (nopLedger) Add(_ context.Context, _, _ string, n int64) (int64, error) { return n, nil }
func (nopLedger) Load(context.Context, string, string, string) (map[string]int64, error) {
	return nil, nil
}
func (nopLedger) Set(context.Context, string, string, int64) error { return nil }

const (
	benchRate  = 1e9     // with benchBurst: (nearly) never refuses
	benchBurst = 1 << 40 // ~1100 s of tolerance at 1 ns per token
)

var benchQuota = QuotaSpec{Limit: 1 << 40, Period: Month}

func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("usageplan%06d:apikey%010d", i, i)
	}
	return ids
}

type meter struct {
	name     string
	throttle bool
	quota    bool
}

func (mt meter) call(ctx context.Context, m *Memory, id string) {
	if mt.throttle {
		if d, _ := m.Allow(ctx, id, benchRate, benchBurst, t0); !d.Allowed {
			panic("throttled")
		}
	}
	if mt.quota {
		if d, err := m.Take(ctx, id, benchQuota, t0); err != nil || !d.Allowed {
			panic(fmt.Sprint("quota refused: ", err))
		}
	}
}

// bytesPerID is the heap a Memory (without Ledger) holds per warm id.
func bytesPerID(mt meter, ids []string) float64 {
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := NewMemory(nopLedger{})
	for _, id := range ids {
		mt.call(ctx, m, id)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(m)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(ids))
}

// perIDCache keeps bytesPerID per meter: the benchmark function runs
// several times, the measurement is needed once.
var perIDCache = map[string]float64{}

func benchMeter(b *testing.B, mt meter) {
	for _, n := range []int{1, 100_000} {
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
			ctx := context.Background()
			ids := benchIDs(n)
			perID, measured := perIDCache[mt.name]
			if n > 1 && !measured {
				perID = bytesPerID(mt, ids)
				perIDCache[mt.name] = perID
			}
			m := NewMemory(NewMemLedger())
			for _, id := range ids {
				mt.call(ctx, m, id)
			}
			var seed atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seed.Add(7919)) % n
				for pb.Next() {
					mt.call(ctx, m, ids[i])
					if i++; i == n {
						i = 0
					}
				}
			})
			if n > 1 {
				b.ReportMetric(perID, "B/id") // after the timer: ResetTimer clears metrics
			}
		})
	}
}

func BenchmarkThrottleAllow(b *testing.B) {
	benchMeter(b, meter{name: "throttle", throttle: true})
}

func BenchmarkQuotaTake(b *testing.B) {
	benchMeter(b, meter{name: "quota", quota: true})
}

func BenchmarkThrottleAndQuota(b *testing.B) {
	benchMeter(b, meter{name: "both", throttle: true, quota: true})
}

// TestMemoryPerID reports (and bounds, loosely) the memory held per id.
func TestMemoryPerID(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ids := benchIDs(100_000)
	for _, mt := range []meter{
		{name: "throttle", throttle: true},
		{name: "quota", quota: true},
		{name: "throttle+quota", throttle: true, quota: true},
	} {
		t.Run(mt.name, func(t *testing.T) {
			per := bytesPerID(mt, ids)
			t.Logf("%.0f bytes per id (ids of %d bytes)", per, len(ids[0]))
			if per > 2048 {
				t.Errorf("%.0f bytes per id, want < 2048", per)
			}
		})
	}
}
