package limit

import (
	"context"
	"sync"
)

// Ledger persists quota usage: a count per (id, UTC day). apigw implements it
// on its store (SQLite/PostgreSQL), e.g. as a table keyed by (id, day) with an
// upsert for Add. Ids are opaque strings; days are DayFormat strings, so
// string order is date order. Every method must be durable when it returns
// without error, and safe for concurrent use.
type Ledger interface {
	// Add adds n (possibly negative) to the persisted count of id on day
	// (a missing count is 0) and returns the new count.
	Add(ctx context.Context, id, day string, n int64) (int64, error)
	// Load returns the persisted counts of id for the days in [from, to]
	// (missing days may be absent or 0).
	Load(ctx context.Context, id, from, to string) (map[string]int64, error)
	// Set overwrites the persisted count of id on day.
	Set(ctx context.Context, id, day string, n int64) error
}

// MemLedger is a Ledger in memory, for tests and for running without a store
// (nothing survives the process). Its zero value is ready to use.
type MemLedger struct {
	mu sync.Mutex
	m  map[string]map[string]int64 // id -> day -> count
}

// NewMemLedger returns an empty MemLedger.
func NewMemLedger() *MemLedger { return &MemLedger{} }

// Add implements Ledger.
func (l *MemLedger) Add(_ context.Context, id, day string, n int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	days := l.days(id)
	days[day] += n
	return days[day], nil
}

// Load implements Ledger.
func (l *MemLedger) Load(_ context.Context, id, from, to string) (map[string]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64)
	for day, n := range l.m[id] {
		if day >= from && day <= to {
			out[day] = n
		}
	}
	return out, nil
}

// Set implements Ledger.
func (l *MemLedger) Set(_ context.Context, id, day string, n int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.days(id)[day] = n
	return nil
}

// Count returns the count of id on day.
func (l *MemLedger) Count(id, day string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[id][day]
}

func (l *MemLedger) days(id string) map[string]int64 {
	if l.m == nil {
		l.m = make(map[string]map[string]int64)
	}
	days := l.m[id]
	if days == nil {
		days = make(map[string]int64)
		l.m[id] = days
	}
	return days
}
