package limit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultChunk is the default number of quota units Memory reserves through
// the Ledger at once per id.
const DefaultChunk = 64

// DefaultMaxChunk is how far the chunk of a busy id may grow by default: an
// id that uses up its chunk within FastChunk gets twice the chunk next time,
// so that a hot key costs about ten Ledger writes a second, not one per 64
// requests.
const DefaultMaxChunk = 4096

// FastChunk and SlowChunk bound the time an id should take to use a chunk:
// faster doubles its next chunk (up to the maximum), slower halves it (down
// to the minimum).
const (
	FastChunk = 100 * time.Millisecond
	SlowChunk = time.Second
)

// Memory is the single-node Limiter: throttles and quotas in process memory,
// quota usage made durable through a Ledger (see the package documentation).
//
// Per-id state lives in sync.Maps (lock-free lookups); a throttle is one
// atomic int64, a quota admits from its reserved chunk with one atomic
// decrement. Neither path takes a lock or allocates once the id is known;
// quota operations that need the Ledger hold a per-id mutex.
type Memory struct {
	ledger   Ledger
	chunk    int64 // the first, and smallest, chunk of an id
	maxChunk int64

	buckets sync.Map // id -> *bucket
	quotas  sync.Map // id -> *quotaState

	// closeMu orders Close after the slow paths that passed their closed
	// check, so that Close sees (and flushes) every reservation they make.
	closeMu sync.RWMutex
	closed  bool
}

var _ Limiter = (*Memory)(nil)

// Option configures a Memory.
type Option func(*Memory)

// WithChunk sets how many quota units are reserved through the Ledger at
// once per id, always (minimum 1). A crash over-counts at most one chunk per
// id; a larger chunk means fewer Ledger writes. Without it, chunks start at
// DefaultChunk and adapt to the id's rate up to DefaultMaxChunk.
func WithChunk(n int64) Option {
	return func(m *Memory) { m.chunk = max(n, 1); m.maxChunk = m.chunk }
}

// WithChunkRange lets chunks adapt between lo and hi units (see
// DefaultMaxChunk).
func WithChunkRange(lo, hi int64) Option {
	return func(m *Memory) { m.chunk = max(lo, 1); m.maxChunk = max(hi, m.chunk) }
}

// NewMemory returns a Memory that persists quota usage in ledger. A nil
// ledger is replaced by a MemLedger: quotas then do not survive the process.
func NewMemory(ledger Ledger, opts ...Option) *Memory {
	if ledger == nil {
		ledger = NewMemLedger()
	}
	m := &Memory{ledger: ledger, chunk: DefaultChunk, maxChunk: DefaultMaxChunk}
	for _, o := range opts {
		o(m)
	}
	return m
}

// ---- throttles ----

// bucket is the GCRA state of one throttle id: the theoretical arrival time
// of the next request, in Unix nanoseconds (0: never used, bucket full).
type bucket struct{ tat atomic.Int64 }

const (
	maxInterval = int64(1) << 50           // ~13 days per token
	maxTau      = int64(math.MaxInt64) / 4 // "unlimited" burst
)

// gcra converts rate and burst to the emission interval and tolerance in
// nanoseconds; ok is false when nothing can ever be admitted.
func gcra(rate float64, burst int64) (interval, tau int64, ok bool) {
	if !(rate > 0) || burst < 1 {
		return 0, 0, false
	}
	f := math.Ceil(1e9 / rate) // round up: never faster than rate
	switch {
	case f < 1:
		interval = 1
	case f > float64(maxInterval):
		interval = maxInterval
	default:
		interval = int64(f)
	}
	if burst > maxTau/interval {
		tau = maxTau
	} else {
		tau = burst * interval
	}
	return interval, tau, true
}

// Allow implements Throttler.
func (m *Memory) Allow(_ context.Context, id string, rate float64, burst int64, now time.Time) (Decision, error) {
	interval, tau, ok := gcra(rate, burst)
	if !ok {
		return Decision{}, nil
	}
	b := m.bucket(id)
	t := now.UnixNano()
	for {
		tat := b.tat.Load()
		next := max(tat, t) + interval
		if next-t > tau {
			return Decision{RetryAfter: time.Duration(next - tau - t)}, nil
		}
		if b.tat.CompareAndSwap(tat, next) {
			return Decision{Allowed: true, Remaining: (tau - (next - t)) / interval}, nil
		}
	}
}

func (m *Memory) bucket(id string) *bucket {
	if v, ok := m.buckets.Load(id); ok {
		return v.(*bucket)
	}
	v, _ := m.buckets.LoadOrStore(id, new(bucket))
	return v.(*bucket)
}

// ---- quotas ----

// quotaState is the state of one quota id.
type quotaState struct {
	win   atomic.Pointer[window] // the current day's window; nil until first use
	mu    sync.Mutex             // serializes Ledger I/O and window changes
	id    string
	adjID string
	// chunk is the size of the id's next reservation, last the time of
	// its previous one (both under mu).
	chunk int64
	last  time.Time
}

// window is the quota state of one id for one UTC day and one QuotaSpec.
// Fields other than the atomics are immutable. The Ledger's count of (id,
// day) equals reserved (Memory is the only writer); reserved - avail
// requests were admitted on that day.
type window struct {
	spec       QuotaSpec
	day        int64  // UTC day number
	key        string // dayKey(day)
	start, end int64  // the quota period, day numbers [start, end)

	base     atomic.Int64 // used in the period before this day, plus all adjustments of the period up to this day
	reserved atomic.Int64 // units reserved in the Ledger for this day
	avail    atomic.Int64 // reserved units not yet admitted
}

// take admits one request from the reserved chunk, if it has a unit.
func (w *window) take() (Decision, bool) {
	for {
		a := w.avail.Load()
		if a <= 0 {
			return Decision{}, false
		}
		if w.avail.CompareAndSwap(a, a-1) {
			// Read avail before reserved: a concurrent reservation then
			// lowers, never raises, the reported remaining.
			used := -w.avail.Load()
			used += w.base.Load() + w.reserved.Load()
			return Decision{Allowed: true, Remaining: max(w.spec.Limit-used, 0)}, true
		}
	}
}

// Take implements Quotas. When the id's reserved chunk has a unit for the
// day of now, it is one atomic decrement.
func (m *Memory) Take(ctx context.Context, id string, q QuotaSpec, now time.Time) (Decision, error) {
	day := dayOf(now)
	if v, ok := m.quotas.Load(id); ok {
		st := v.(*quotaState)
		if w := st.win.Load(); w != nil && w.day == day && w.spec == q {
			if d, ok := w.take(); ok {
				return d, nil
			}
		}
		return m.takeSlow(ctx, st, q, day, now)
	}
	return m.takeSlow(ctx, m.quotaState(id), q, day, now)
}

func (m *Memory) takeSlow(ctx context.Context, st *quotaState, q QuotaSpec, day int64, now time.Time) (Decision, error) {
	m.closeMu.RLock()
	defer m.closeMu.RUnlock()
	if m.closed {
		return Decision{}, ErrClosed
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	w, err := m.current(ctx, st, q, day)
	if err != nil {
		return Decision{}, err
	}
	for {
		if d, ok := w.take(); ok {
			return d, nil
		}
		free := q.Limit - w.base.Load() - w.reserved.Load()
		if free <= 0 {
			return Decision{RetryAfter: max(dayTime(w.end).Sub(now), 0)}, nil
		}
		n := min(free, m.nextChunk(st, now))
		// Memory is the only writer of id: the new count is reserved + n.
		if _, err := m.ledger.Add(ctx, st.id, w.key, n); err != nil {
			return Decision{}, fmt.Errorf("limit: reserve quota of %q: %w", st.id, err)
		}
		w.reserved.Add(n)
		w.avail.Add(n)
	}
}

// nextChunk sizes st's next reservation from how long it took to use the
// previous one. st.mu is held.
func (m *Memory) nextChunk(st *quotaState, now time.Time) int64 {
	c := st.chunk
	if c == 0 {
		c = m.chunk
	} else {
		switch since := now.Sub(st.last); {
		case since < FastChunk:
			c = min(c*2, m.maxChunk)
		case since > SlowChunk:
			c = max(c/2, m.chunk)
		}
	}
	st.chunk, st.last = c, now
	return c
}

func (m *Memory) quotaState(id string) *quotaState {
	if v, ok := m.quotas.Load(id); ok {
		return v.(*quotaState)
	}
	v, _ := m.quotas.LoadOrStore(id, &quotaState{id: id, adjID: id + AdjustSuffix})
	return v.(*quotaState)
}

// current returns the window of st for day and q, replacing the current
// window (and giving back its unused chunk) when the day or the spec changed.
// A day earlier than the current window's (a caller's clock a little behind
// another's around midnight) is counted in the current window. st.mu is held.
func (m *Memory) current(ctx context.Context, st *quotaState, q QuotaSpec, day int64) (*window, error) {
	w := st.win.Load()
	if w != nil && w.spec == q && day <= w.day {
		return w, nil
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if w != nil {
		if err := m.release(ctx, st, w, true); err != nil {
			return nil, err
		}
		day = max(day, w.day)
	}
	start, end := q.bounds(day)
	from, to := dayKey(start), dayKey(day)
	used, err := m.ledger.Load(ctx, st.id, from, to)
	if err != nil {
		return nil, fmt.Errorf("limit: load quota usage of %q: %w", st.id, err)
	}
	adj, err := m.ledger.Load(ctx, st.adjID, from, to)
	if err != nil {
		return nil, fmt.Errorf("limit: load quota adjustments of %q: %w", st.id, err)
	}
	nw := &window{spec: q, day: day, key: to, start: start, end: end}
	var base int64
	for k, n := range used {
		if k >= from && k < to {
			base += n
		}
	}
	for k, n := range adj {
		if k >= from && k <= to {
			base += n
		}
	}
	nw.base.Store(base)
	nw.reserved.Store(used[to])
	st.win.Store(nw)
	return nw, nil
}

// release gives the unused part of w's chunk back to the Ledger, which then
// holds exactly the requests admitted on w's day. If the Ledger fails, the
// chunk is kept for a later retry when keep is set, and otherwise abandoned:
// the Ledger then over-counts it, as after a crash. st.mu is held.
func (m *Memory) release(ctx context.Context, st *quotaState, w *window, keep bool) error {
	unused := w.avail.Swap(0)
	if unused == 0 {
		return nil
	}
	exact := w.reserved.Load() - unused
	// Set, not Add(-unused): retrying a Set that timed out cannot under-count.
	if err := m.ledger.Set(ctx, st.id, w.key, exact); err != nil {
		if keep {
			w.avail.Add(unused)
		}
		return fmt.Errorf("limit: write back quota usage of %q: %w", st.id, err)
	}
	w.reserved.Store(exact)
	return nil
}

// SetRemaining implements Quotas.
func (m *Memory) SetRemaining(ctx context.Context, id string, q QuotaSpec, remaining int64, now time.Time) error {
	if remaining < 0 {
		return fmt.Errorf("%w: remaining %d is negative", ErrInvalidQuota, remaining)
	}
	m.closeMu.RLock()
	defer m.closeMu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	st := m.quotaState(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	w, err := m.current(ctx, st, q, dayOf(now))
	if err != nil {
		return err
	}
	// Stop admitting from the chunk: what is left must follow the new value.
	if err := m.release(ctx, st, w, true); err != nil {
		return err
	}
	delta := q.Limit - remaining - (w.base.Load() + w.reserved.Load())
	if delta == 0 {
		return nil
	}
	if _, err := m.ledger.Add(ctx, st.adjID, w.key, delta); err != nil {
		return fmt.Errorf("limit: record quota adjustment of %q: %w", id, err)
	}
	w.base.Add(delta)
	return nil
}

// Usage implements Quotas.
func (m *Memory) Usage(ctx context.Context, id string, q QuotaSpec, from, to time.Time) ([]DayUsage, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	first, last := dayOf(from), dayOf(to)
	if last < first {
		return nil, nil
	}
	start, _ := q.bounds(first)

	var st *quotaState
	if v, ok := m.quotas.Load(id); ok {
		st = v.(*quotaState)
		st.mu.Lock() // a consistent view of the chunk and the Ledger
		defer st.mu.Unlock()
	}
	used, err := m.ledger.Load(ctx, id, dayKey(start), dayKey(last))
	if err != nil {
		return nil, fmt.Errorf("limit: load quota usage of %q: %w", id, err)
	}
	adj, err := m.ledger.Load(ctx, id+AdjustSuffix, dayKey(start), dayKey(last))
	if err != nil {
		return nil, fmt.Errorf("limit: load quota adjustments of %q: %w", id, err)
	}
	if used == nil {
		used = make(map[string]int64)
	}
	if st != nil {
		if w := st.win.Load(); w != nil {
			// The Ledger counts the reserved chunk; report what was admitted.
			used[w.key] = w.reserved.Load() - w.avail.Load()
		}
	}

	out := make([]DayUsage, 0, last-first+1)
	var cum int64
	end := start
	for d := start; d <= last; d++ {
		if d >= end { // a new period starts on d
			_, end = q.bounds(d)
			cum = 0
		}
		k := dayKey(d)
		u := used[k]
		cum += u + adj[k]
		if d >= first {
			out = append(out, DayUsage{Day: k, Used: u, Remaining: max(q.Limit-cum, 0)})
		}
	}
	return out, nil
}

// Close gives every unused reserved chunk back to the Ledger, leaving it
// equal to the requests admitted. Quota operations then fail with ErrClosed;
// Allow keeps working. Takes racing with Close are either counted or refused.
// A chunk the Ledger fails to take back stays counted, as after a crash, and
// is reported in the returned error. Close is idempotent.
func (m *Memory) Close(ctx context.Context) error {
	m.closeMu.Lock()
	if m.closed {
		m.closeMu.Unlock()
		return nil
	}
	m.closed = true
	m.closeMu.Unlock()

	var errs []error
	m.quotas.Range(func(_, v any) bool {
		st := v.(*quotaState)
		st.mu.Lock()
		defer st.mu.Unlock()
		if w := st.win.Load(); w != nil {
			if err := m.release(ctx, st, w, false); err != nil {
				errs = append(errs, err)
			}
		}
		return true
	})
	return errors.Join(errs...)
}
