package limit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/store/postgres"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
)

// TestStoreLedgerNodesAddConcurrently runs Add from several nodes (one
// PostgreSQL store each, one schema) at once on the same counters: the
// store's serialized writes make each get-then-put atomic, so no add is
// lost and every returned total is distinct.
func TestStoreLedgerNodesAddConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	const nodes, workers, adds = 3, 4, 25
	ledgers := make([]limit.StoreLedger, nodes)
	for i := range ledgers {
		st, err := postgres.Open(ctx, url, postgres.Options{MaxConns: workers})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ledgers[i] = limit.StoreLedger{Store: st}
	}
	days := []string{"2026-12-06", "2026-12-07"}
	var mu sync.Mutex
	totals := map[string]map[int64]bool{}
	for _, d := range days {
		totals[d] = map[int64]bool{}
	}
	dups := 0
	var wg sync.WaitGroup
	errs := make(chan error, nodes*workers)
	for n := range nodes {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range adds {
					day := days[(w+i)%len(days)]
					total, err := ledgers[n].Add(ctx, "quota/p/k", day, 3)
					if err != nil {
						errs <- fmt.Errorf("node %d: %w", n, err)
						return
					}
					mu.Lock()
					if totals[day][total] {
						dups++
					}
					totals[day][total] = true
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if dups > 0 {
		t.Errorf("%d adds returned a total another add returned too: they were lost", dups)
	}
	got, err := ledgers[0].Load(ctx, "quota/p/k", days[0], days[1])
	if err != nil {
		t.Fatal(err)
	}
	want := int64(nodes * workers * adds * 3 / len(days))
	for _, d := range days {
		if got[d] != want {
			t.Errorf("%s: ledger holds %d, want %d (%d nodes × %d workers adding 3, %d times over %d days)", d, got[d], want, nodes, workers, adds, len(days))
		}
	}
}
