package limit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestQuotaSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		q    QuotaSpec
		ok   bool
	}{
		{"day", QuotaSpec{Limit: 10, Period: Day}, true},
		{"day with offset", QuotaSpec{Limit: 10, Period: Day, Offset: 1}, false},
		{"week sunday", QuotaSpec{Limit: 10, Period: Week}, true},
		{"week saturday", QuotaSpec{Limit: 10, Period: Week, Offset: 6}, true},
		{"week offset 7", QuotaSpec{Limit: 10, Period: Week, Offset: 7}, false},
		{"week negative offset", QuotaSpec{Limit: 10, Period: Week, Offset: -1}, false},
		{"month offset 27", QuotaSpec{Limit: 10, Period: Month, Offset: 27}, true},
		{"month offset 28", QuotaSpec{Limit: 10, Period: Month, Offset: 28}, false},
		{"zero limit", QuotaSpec{Limit: 0, Period: Month}, true},
		{"negative limit", QuotaSpec{Limit: -1, Period: Month}, false},
		{"unknown period", QuotaSpec{Limit: 10, Period: "YEAR"}, false},
		{"lower case period", QuotaSpec{Limit: 10, Period: "day"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidQuota) {
				t.Fatalf("error %v does not wrap ErrInvalidQuota", err)
			}
		})
	}
	m := NewMemory(nil)
	if _, err := m.Take(context.Background(), "k", QuotaSpec{Limit: 1, Period: Day, Offset: 3}, t0); !errors.Is(err, ErrInvalidQuota) {
		t.Fatalf("Take with invalid spec: %v", err)
	}
}

func TestPeriodBounds(t *testing.T) {
	tests := []struct {
		name       string
		q          QuotaSpec
		at         string
		start, end string
	}{
		{"day", QuotaSpec{Period: Day}, "2024-03-13 12:00:00", "2024-03-13", "2024-03-14"},
		{"day at midnight", QuotaSpec{Period: Day}, "2024-03-13 00:00:00", "2024-03-13", "2024-03-14"},
		{"day last second", QuotaSpec{Period: Day}, "2024-03-13 23:59:59", "2024-03-13", "2024-03-14"},
		{"week from sunday, on wednesday", QuotaSpec{Period: Week}, "2024-03-13 12:00:00", "2024-03-10", "2024-03-17"},
		{"week from sunday, on sunday", QuotaSpec{Period: Week}, "2024-03-10 00:00:00", "2024-03-10", "2024-03-17"},
		{"week from sunday, on saturday", QuotaSpec{Period: Week}, "2024-03-16 23:59:59", "2024-03-10", "2024-03-17"},
		{"week from monday, on sunday", QuotaSpec{Period: Week, Offset: 1}, "2024-03-10 12:00:00", "2024-03-04", "2024-03-11"},
		{"week from monday, on monday", QuotaSpec{Period: Week, Offset: 1}, "2024-03-11 00:00:00", "2024-03-11", "2024-03-18"},
		{"week from saturday", QuotaSpec{Period: Week, Offset: 6}, "2024-03-13 12:00:00", "2024-03-09", "2024-03-16"},
		{"week across new year", QuotaSpec{Period: Week, Offset: 1}, "2025-01-01 08:00:00", "2024-12-30", "2025-01-06"},
		{"week before 1970", QuotaSpec{Period: Week}, "1969-12-31 12:00:00", "1969-12-28", "1970-01-04"},
		{"month", QuotaSpec{Period: Month}, "2024-03-13 12:00:00", "2024-03-01", "2024-04-01"},
		{"month first day", QuotaSpec{Period: Month}, "2024-03-01 00:00:00", "2024-03-01", "2024-04-01"},
		{"month last second", QuotaSpec{Period: Month}, "2024-03-31 23:59:59", "2024-03-01", "2024-04-01"},
		{"month december", QuotaSpec{Period: Month}, "2024-12-31 23:59:59", "2024-12-01", "2025-01-01"},
		{"month leap february", QuotaSpec{Period: Month}, "2024-02-29 12:00:00", "2024-02-01", "2024-03-01"},
		{"month from the 15th, before it", QuotaSpec{Period: Month, Offset: 14}, "2024-03-14 23:59:59", "2024-02-15", "2024-03-15"},
		{"month from the 15th, on it", QuotaSpec{Period: Month, Offset: 14}, "2024-03-15 00:00:00", "2024-03-15", "2024-04-15"},
		{"month from the 15th, january", QuotaSpec{Period: Month, Offset: 14}, "2024-01-03 00:00:00", "2023-12-15", "2024-01-15"},
		{"month from the 28th, february", QuotaSpec{Period: Month, Offset: 27}, "2023-02-28 00:00:00", "2023-02-28", "2023-03-28"},
		{"month from the 28th, march 1st", QuotaSpec{Period: Month, Offset: 27}, "2023-03-01 00:00:00", "2023-02-28", "2023-03-28"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e, err := tt.q.PeriodBounds(date(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Format(DayFormat); got != tt.start {
				t.Errorf("start = %s, want %s", got, tt.start)
			}
			if got := e.Format(DayFormat); got != tt.end {
				t.Errorf("end = %s, want %s", got, tt.end)
			}
		})
	}
}

// TestQuotaExactConcurrent: with a quota of N, a burst of concurrent Takes
// admits exactly N, however the reservations are chunked, and the Ledger
// then holds exactly N.
func TestQuotaExactConcurrent(t *testing.T) {
	tests := []struct {
		limit, chunk int64
		workers      int
		takes        int // per worker
	}{
		{1000, 64, 64, 50},
		{1000, 1, 64, 50},
		{1000, 1000, 64, 50},
		{37, 64, 64, 5},
		{1, 64, 64, 3},
		{0, 64, 8, 3},
		{100000, 64, 64, 2000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("N=%d chunk=%d workers=%d", tt.limit, tt.chunk, tt.workers), func(t *testing.T) {
			ctx := context.Background()
			ledger := NewMemLedger()
			m := NewMemory(ledger, WithChunk(tt.chunk))
			q := QuotaSpec{Limit: tt.limit, Period: Month}
			var admitted, refused atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range tt.workers {
				wg.Go(func() {
					<-start
					for range tt.takes {
						d, err := m.Take(ctx, "plan:key", q, t0)
						if err != nil {
							t.Error(err)
							return
						}
						if d.Allowed {
							admitted.Add(1)
						} else {
							refused.Add(1)
							if want := date("2024-04-01 00:00:00").Sub(t0); d.RetryAfter != want {
								t.Errorf("retry after %v, want %v", d.RetryAfter, want)
								return
							}
						}
					}
				})
			}
			close(start)
			wg.Wait()
			if got := admitted.Load(); got != tt.limit {
				t.Fatalf("admitted %d, want exactly %d", got, tt.limit)
			}
			if got := ledger.Count("plan:key", "2024-03-13"); got != tt.limit {
				t.Errorf("ledger before Close = %d, want %d", got, tt.limit)
			}
			if err := m.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := ledger.Count("plan:key", "2024-03-13"); got != tt.limit {
				t.Errorf("ledger after Close = %d, want %d", got, tt.limit)
			}
		})
	}
}

func TestQuotaPeriodRollover(t *testing.T) {
	type take struct {
		at        string
		allowed   bool
		remaining int64         // when allowed
		retry     time.Duration // when refused
	}
	tests := []struct {
		name  string
		q     QuotaSpec
		takes []take
	}{
		{"day rolls at 00:00 UTC", QuotaSpec{Limit: 2, Period: Day}, []take{
			{"2024-03-13 23:59:58", true, 1, 0},
			{"2024-03-13 23:59:59", true, 0, 0},
			{"2024-03-13 23:59:59", false, 0, time.Second},
			{"2024-03-14 00:00:00", true, 1, 0},
			{"2024-03-14 00:00:00", true, 0, 0},
			{"2024-03-14 12:00:00", false, 0, 12 * time.Hour},
		}},
		{"month rolls at the start of the month", QuotaSpec{Limit: 2, Period: Month}, []take{
			{"2024-01-01 00:00:00", true, 1, 0},
			{"2024-01-31 23:00:00", true, 0, 0},
			{"2024-01-31 23:00:00", false, 0, time.Hour},
			{"2024-02-01 00:00:00", true, 1, 0},
			{"2024-02-29 00:00:00", true, 0, 0},
			{"2024-02-29 00:00:00", false, 0, 24 * time.Hour},
			{"2024-03-01 00:00:00", true, 1, 0},
		}},
		{"month from the 15th", QuotaSpec{Limit: 1, Period: Month, Offset: 14}, []take{
			{"2024-03-01 00:00:00", true, 0, 0},
			{"2024-03-14 00:00:00", false, 0, 24 * time.Hour},
			{"2024-03-15 00:00:00", true, 0, 0},
			{"2024-04-01 00:00:00", false, 0, 14 * 24 * time.Hour},
		}},
		{"week from monday", QuotaSpec{Limit: 1, Period: Week, Offset: 1}, []take{
			{"2024-03-11 00:00:00", true, 0, 0}, // Monday
			{"2024-03-17 23:00:00", false, 0, time.Hour},
			{"2024-03-18 00:00:00", true, 0, 0},
		}},
		{"week from sunday", QuotaSpec{Limit: 1, Period: Week}, []take{
			{"2024-03-11 00:00:00", true, 0, 0}, // Monday
			{"2024-03-16 12:00:00", false, 0, 12 * time.Hour},
			{"2024-03-17 00:00:00", true, 0, 0}, // Sunday
		}},
		{"zero limit", QuotaSpec{Limit: 0, Period: Day}, []take{
			{"2024-03-13 18:00:00", false, 0, 6 * time.Hour},
		}},
		{"a clock behind at midnight counts in the new day", QuotaSpec{Limit: 2, Period: Day}, []take{
			{"2024-03-14 00:00:00", true, 1, 0},
			{"2024-03-13 23:59:59", true, 0, 0},
			{"2024-03-14 00:00:01", false, 0, 24*time.Hour - time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := NewMemory(nil)
			for i, k := range tt.takes {
				d, err := m.Take(ctx, "k", tt.q, date(k.at))
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed != k.allowed {
					t.Fatalf("take %d at %s: allowed = %v, want %v", i, k.at, d.Allowed, k.allowed)
				}
				if k.allowed && d.Remaining != k.remaining {
					t.Errorf("take %d at %s: remaining = %d, want %d", i, k.at, d.Remaining, k.remaining)
				}
				if !k.allowed && d.RetryAfter != k.retry {
					t.Errorf("take %d at %s: retry after = %v, want %v", i, k.at, d.RetryAfter, k.retry)
				}
			}
		})
	}
}

// takeN takes n units of id at now and fails unless all are admitted.
func takeN(t *testing.T, m *Memory, id string, q QuotaSpec, n int, now time.Time) {
	t.Helper()
	for i := range n {
		d, err := m.Take(context.Background(), id, q, now)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			t.Fatalf("take %d of %d at %v refused", i+1, n, now)
		}
	}
}

func usage(t *testing.T, m *Memory, id string, q QuotaSpec, from, to string) [][2]int64 {
	t.Helper()
	days, err := m.Usage(context.Background(), id, q, date(from+" 00:00:00"), date(to+" 23:59:59"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]int64
	d := date(from + " 00:00:00")
	for _, u := range days {
		if u.Day != d.Format(DayFormat) {
			t.Fatalf("day %s, want %s", u.Day, d.Format(DayFormat))
		}
		d = d.AddDate(0, 0, 1)
		out = append(out, [2]int64{u.Used, u.Remaining})
	}
	return out
}

func TestQuotaUsage(t *testing.T) {
	month := QuotaSpec{Limit: 100, Period: Month}
	week := QuotaSpec{Limit: 10, Period: Week, Offset: 1}
	day := QuotaSpec{Limit: 5, Period: Day}
	tests := []struct {
		name     string
		q        QuotaSpec
		takes    map[string]int // day -> takes at noon
		from, to string
		want     [][2]int64
	}{
		{"month", month, map[string]int{"2024-03-01": 3, "2024-03-02": 5, "2024-03-04": 1},
			"2024-03-01", "2024-03-05",
			[][2]int64{{3, 97}, {5, 92}, {0, 92}, {1, 91}, {0, 91}}},
		{"range starting mid-period", month, map[string]int{"2024-03-01": 3, "2024-03-02": 5, "2024-03-04": 1},
			"2024-03-03", "2024-03-04",
			[][2]int64{{0, 92}, {1, 91}}},
		{"month boundary resets remaining", month, map[string]int{"2024-02-28": 60, "2024-02-29": 40, "2024-03-01": 1},
			"2024-02-28", "2024-03-02",
			[][2]int64{{60, 40}, {40, 0}, {1, 99}, {0, 99}}},
		{"week from monday", week, map[string]int{"2024-03-09": 4, "2024-03-10": 6, "2024-03-11": 2},
			"2024-03-09", "2024-03-12",
			[][2]int64{{4, 6}, {6, 0}, {2, 8}, {0, 8}}},
		{"day", day, map[string]int{"2024-03-01": 5, "2024-03-02": 1},
			"2024-03-01", "2024-03-03",
			[][2]int64{{5, 0}, {1, 4}, {0, 5}}},
		{"no usage", month, nil, "2024-03-01", "2024-03-02",
			[][2]int64{{0, 100}, {0, 100}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ledger := NewMemLedger()
			m := NewMemory(ledger)
			for d := date(tt.from+" 00:00:00").AddDate(0, 0, -7); !d.After(date(tt.to + " 00:00:00")); d = d.AddDate(0, 0, 1) {
				takeN(t, m, "k", tt.q, tt.takes[d.Format(DayFormat)], d.Add(12*time.Hour))
			}
			if got := usage(t, m, "k", tt.q, tt.from, tt.to); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("live usage = %v, want %v", got, tt.want)
			}
			if err := m.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := usage(t, m, "k", tt.q, tt.from, tt.to); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("usage after Close = %v, want %v", got, tt.want)
			}
			if got := usage(t, NewMemory(ledger), "k", tt.q, tt.from, tt.to); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("usage after reopening = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("empty range", func(t *testing.T) {
		days, err := NewMemory(nil).Usage(context.Background(), "k", month, t0, t0.AddDate(0, 0, -1))
		if err != nil || len(days) != 0 {
			t.Fatalf("Usage = %v, %v", days, err)
		}
	})
}

func TestSetRemaining(t *testing.T) {
	ctx := context.Background()
	q := QuotaSpec{Limit: 10, Period: Month}
	day1, day2, day3 := date("2024-03-01 12:00:00"), date("2024-03-02 12:00:00"), date("2024-03-03 12:00:00")
	admitted := func(m *Memory, now time.Time, tries int) int {
		n := 0
		for range tries {
			d, err := m.Take(ctx, "k", q, now)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				n++
			}
		}
		return n
	}
	t.Run("grant more", func(t *testing.T) {
		m := NewMemory(nil)
		takeN(t, m, "k", q, 4, day1)
		if err := m.SetRemaining(ctx, "k", q, 20, day2); err != nil {
			t.Fatal(err)
		}
		if got := admitted(m, day2, 50); got != 20 {
			t.Fatalf("admitted %d after granting 20, want 20", got)
		}
		want := [][2]int64{{4, 6}, {20, 0}, {0, 0}}
		if got := usage(t, m, "k", q, "2024-03-01", "2024-03-03"); !reflect.DeepEqual(got, want) {
			t.Errorf("usage = %v, want %v", got, want)
		}
	})
	t.Run("reset to full after exhaustion", func(t *testing.T) {
		m := NewMemory(nil)
		if got := admitted(m, day1, 15); got != 10 {
			t.Fatalf("admitted %d, want 10", got)
		}
		if err := m.SetRemaining(ctx, "k", q, q.Limit, day1); err != nil {
			t.Fatal(err)
		}
		if got := admitted(m, day1, 15); got != 10 {
			t.Fatalf("admitted %d after reset, want 10", got)
		}
		want := [][2]int64{{20, 0}}
		if got := usage(t, m, "k", q, "2024-03-01", "2024-03-01"); !reflect.DeepEqual(got, want) {
			t.Errorf("usage = %v, want %v", got, want)
		}
	})
	t.Run("reduce while a chunk is reserved", func(t *testing.T) {
		m := NewMemory(nil)
		takeN(t, m, "k", q, 1, day1) // reserves the whole quota
		if err := m.SetRemaining(ctx, "k", q, 0, day1); err != nil {
			t.Fatal(err)
		}
		if got := admitted(m, day1, 5); got != 0 {
			t.Fatalf("admitted %d after setting remaining to 0", got)
		}
	})
	t.Run("aws example: remaining reduced on the third day", func(t *testing.T) {
		q := QuotaSpec{Limit: 5000, Period: Month}
		m := NewMemory(nil)
		if err := m.SetRemaining(ctx, "k", q, 10, day3); err != nil {
			t.Fatal(err)
		}
		want := [][2]int64{{0, 5000}, {0, 5000}, {0, 10}}
		if got := usage(t, m, "k", q, "2024-03-01", "2024-03-03"); !reflect.DeepEqual(got, want) {
			t.Errorf("usage = %v, want %v", got, want)
		}
	})
	t.Run("adjustment ends with the period", func(t *testing.T) {
		ledger := NewMemLedger()
		m := NewMemory(ledger)
		if err := m.SetRemaining(ctx, "k", q, 0, date("2024-03-31 12:00:00")); err != nil {
			t.Fatal(err)
		}
		if got := admitted(m, date("2024-03-31 13:00:00"), 3); got != 0 {
			t.Fatalf("admitted %d on March 31", got)
		}
		if got := admitted(m, date("2024-04-01 00:00:00"), 30); got != 10 {
			t.Fatalf("admitted %d on April 1, want 10", got)
		}
	})
	t.Run("survives a restart", func(t *testing.T) {
		ledger := NewMemLedger()
		m := NewMemory(ledger)
		takeN(t, m, "k", q, 3, day1)
		if err := m.SetRemaining(ctx, "k", q, 30, day1); err != nil {
			t.Fatal(err)
		}
		// no Close: SetRemaining wrote through
		if got := admitted(NewMemory(ledger), day2, 50); got != 30 {
			t.Fatalf("admitted %d after restart, want 30", got)
		}
	})
	t.Run("negative", func(t *testing.T) {
		if err := NewMemory(nil).SetRemaining(ctx, "k", q, -1, day1); !errors.Is(err, ErrInvalidQuota) {
			t.Fatalf("SetRemaining(-1) = %v", err)
		}
	})
}

func TestQuotaDurability(t *testing.T) {
	ctx := context.Background()
	q := QuotaSpec{Limit: 1000, Period: Month}
	used := func(t *testing.T, l Ledger, at time.Time) int64 {
		t.Helper()
		days, err := NewMemory(l).Usage(ctx, "k", q, at, at)
		if err != nil {
			t.Fatal(err)
		}
		return days[0].Used
	}
	tests := []struct {
		name  string
		chunk int64
		k     int
		clean bool
	}{
		{"clean close", 64, 100, true},
		{"clean close, chunk 1", 1, 7, true},
		{"clean close, nothing taken", 64, 0, true},
		{"crash mid chunk", 64, 10, false},
		{"crash on a chunk boundary", 64, 128, false},
		{"crash with chunk 1", 1, 10, false},
		{"crash, big chunk", 500, 501, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ledger := NewMemLedger()
			m := NewMemory(ledger, WithChunk(tt.chunk))
			takeN(t, m, "k", q, tt.k, t0)
			if tt.clean {
				if err := m.Close(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Take(ctx, "k", q, t0); !errors.Is(err, ErrClosed) {
					t.Fatalf("Take after Close = %v, want ErrClosed", err)
				}
			}
			// else: m is dropped as in a crash
			got := used(t, ledger, t0)
			k := int64(tt.k)
			if tt.clean && got != k {
				t.Fatalf("used after Close and reopen = %d, want exactly %d", got, k)
			}
			if !tt.clean && (got < k || got > k+tt.chunk) {
				t.Fatalf("used after crash = %d, want in [%d, %d]", got, k, k+tt.chunk)
			}
			// The reopened limiter admits what is left, and no more.
			m2 := NewMemory(ledger, WithChunk(tt.chunk))
			n := int64(0)
			for range 2 * q.Limit {
				d, err := m2.Take(ctx, "k", q, t0.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed {
					n++
				}
			}
			if n != q.Limit-got {
				t.Fatalf("reopened limiter admitted %d, want %d", n, q.Limit-got)
			}
			if k+n > q.Limit {
				t.Fatalf("admitted %d in all, over the quota of %d", k+n, q.Limit)
			}
		})
	}
	t.Run("crash after a day rollover", func(t *testing.T) {
		ledger := NewMemLedger()
		m := NewMemory(ledger)
		takeN(t, m, "k", q, 10, t0)
		takeN(t, m, "k", q, 5, t0.AddDate(0, 0, 1)) // gives day one's chunk back
		if got := ledger.Count("k", t0.Format(DayFormat)); got != 10 {
			t.Fatalf("first day in ledger = %d, want exactly 10", got)
		}
		if got := used(t, ledger, t0.AddDate(0, 0, 1)); got < 5 || got > 5+DefaultChunk {
			t.Fatalf("second day after crash = %d", got)
		}
	})
}

// flakyLedger fails while fail is set.
type flakyLedger struct {
	MemLedger
	fail atomic.Bool
}

var errLedger = errors.New("ledger down")

func (l *flakyLedger) Add(ctx context.Context, id, day string, n int64) (int64, error) {
	if l.fail.Load() {
		return 0, errLedger
	}
	return l.MemLedger.Add(ctx, id, day, n)
}

func (l *flakyLedger) Set(ctx context.Context, id, day string, n int64) error {
	if l.fail.Load() {
		return errLedger
	}
	return l.MemLedger.Set(ctx, id, day, n)
}

func TestQuotaLedgerFailure(t *testing.T) {
	ctx := context.Background()
	q := QuotaSpec{Limit: 100, Period: Day}
	l := &flakyLedger{}
	m := NewMemory(l, WithChunk(4))
	takeN(t, m, "k", q, 4, t0) // uses the first chunk up
	l.fail.Store(true)
	if d, err := m.Take(ctx, "k", q, t0); !errors.Is(err, errLedger) || d.Allowed {
		t.Fatalf("Take with the ledger down = %+v, %v", d, err)
	}
	l.fail.Store(false)
	takeN(t, m, "k", q, 1, t0)
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := l.Count("k", t0.Format(DayFormat)); got != 5 {
		t.Fatalf("ledger = %d, want 5", got)
	}
}

func TestCloseIsIdempotentAndKeepsThrottles(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if d, err := m.Allow(ctx, "k", 1, 1, t0); err != nil || !d.Allowed {
		t.Fatalf("Allow after Close = %+v, %v", d, err)
	}
	if err := m.SetRemaining(ctx, "k", QuotaSpec{Limit: 1, Period: Day}, 1, t0); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetRemaining after Close = %v", err)
	}
}

// TestCloseDuringTraffic: Takes racing with Close are either counted or
// refused with ErrClosed; the Ledger ends exact.
func TestCloseDuringTraffic(t *testing.T) {
	ctx := context.Background()
	ledger := NewMemLedger()
	m := NewMemory(ledger, WithChunk(8))
	q := QuotaSpec{Limit: 1 << 30, Period: Day}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			id := fmt.Sprintf("k%d", g%4)
			for {
				d, err := m.Take(ctx, id, q, t0)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	for admitted.Load() < 2000 {
		// let traffic build up (no sleep: yield via the atomic load)
		if _, err := m.Allow(ctx, "spin", 1, 1, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var total int64
	for g := range 4 {
		total += ledger.Count(fmt.Sprintf("k%d", g), t0.Format(DayFormat))
	}
	if total != admitted.Load() {
		t.Fatalf("ledger total %d, admitted %d", total, admitted.Load())
	}
}

func TestHotPathAllocs(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(NewMemLedger(), WithChunk(1<<20))
	q := QuotaSpec{Limit: 1 << 40, Period: Month}
	id := "plan:key"
	if _, err := m.Take(ctx, id, q, t0); err != nil { // warm: first chunk
		t.Fatal(err)
	}
	m.Allow(ctx, id, 1e9, 1<<40, t0)
	tests := []struct {
		name string
		f    func()
	}{
		{"Allow", func() { m.Allow(ctx, id, 1e9, 1<<40, t0) }},
		{"Take", func() { m.Take(ctx, id, q, t0) }},
		{"Allow+Take", func() {
			m.Allow(ctx, id, 1e9, 1<<40, t0)
			m.Take(ctx, id, q, t0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
				t.Fatalf("%v allocations per call, want 0", n)
			}
		})
	}
}

// countingLedger records the size of every reservation.
type countingLedger struct {
	MemLedger
	mu   sync.Mutex
	adds []int64
}

func (l *countingLedger) Add(ctx context.Context, id, day string, n int64) (int64, error) {
	l.mu.Lock()
	l.adds = append(l.adds, n)
	l.mu.Unlock()
	return l.MemLedger.Add(ctx, id, day, n)
}

// A busy id's chunks grow, so that it writes to the Ledger a few times a
// second; a quiet one's shrink back; the Ledger never holds less than what
// was admitted, nor more than one chunk over it.
func TestQuotaChunkAdapts(t *testing.T) {
	ledger := &countingLedger{}
	m := NewMemory(ledger)
	q := QuotaSpec{Limit: 1_000_000, Period: Month}
	now := date("2026-03-10 12:00:00")
	// 20,000 requests within one instant: chunks double from 64 to the
	// maximum.
	takeN(t, m, "hot", q, 20000, now)
	want := []int64{64, 128, 256, 512, 1024, 2048, 4096, 4096, 4096, 4096}
	if fmt.Sprint(ledger.adds) != fmt.Sprint(want) {
		t.Fatalf("reservations %v, want %v", ledger.adds, want)
	}
	if got := ledger.Count("hot", now.Format(DayFormat)); got < 20000 || got > 20000+DefaultMaxChunk {
		t.Errorf("ledger counts %d for 20000 admitted", got)
	}
	// The same id at one request every two seconds: each reservation
	// halves the chunk, down to the minimum.
	ledger.adds = nil
	for i := 0; i < 20000 && (len(ledger.adds) == 0 || ledger.adds[len(ledger.adds)-1] != DefaultChunk); i++ {
		now = now.Add(2 * time.Second)
		takeN(t, m, "hot", q, 1, now)
	}
	if n := len(ledger.adds); n == 0 || ledger.adds[n-1] != DefaultChunk || ledger.adds[0] != 2048 {
		t.Errorf("reservations while quiet: %v, want halving from 2048 to %d", ledger.adds, DefaultChunk)
	}
	// A fixed chunk does not adapt.
	fixed := &countingLedger{}
	takeN(t, NewMemory(fixed, WithChunk(64)), "id", q, 640, now)
	if len(fixed.adds) != 10 {
		t.Errorf("fixed chunk: %d reservations for 640 requests, want 10", len(fixed.adds))
	}
}
