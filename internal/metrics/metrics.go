// Package metrics holds the counters the data plane and the Lambda service
// keep, and shows them in Prometheus's text format.
//
// The request path pays for metrics with atomic adds only: the data plane
// compiles, per stage (and per method when the stage asks for detailed
// metrics), an [API] value of counters and histogram buckets, and adds to
// it once a request is answered. Nothing is looked up by label per
// request: the [Collector] reads the counters when Prometheus scrapes,
// and only then are labels made.
package metrics

import (
	"sync"
	"sync/atomic"
	"time"
)

// Bounds are the upper bounds of a histogram's buckets.
type Bounds struct {
	ns   []int64   // ascending, in nanoseconds
	secs []float64 // the same, in seconds, for the exposition
}

func newBounds(secs ...float64) *Bounds {
	b := &Bounds{secs: secs, ns: make([]int64, len(secs))}
	for i, s := range secs {
		b.ns[i] = int64(s * float64(time.Second))
	}
	return b
}

// maxBuckets is the most buckets a Histogram has (its bounds and +Inf).
const maxBuckets = 18

var (
	// LatencyBounds are the buckets of API Gateway's latencies: from 1 ms
	// to 30 s (an integration times out at 29 s by default).
	LatencyBounds = newBounds(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
	// DurationBounds are the buckets of Lambda's Duration, up to the
	// longest timeout a function may have (900 s).
	DurationBounds = newBounds(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900)
)

// Histogram counts durations into fixed buckets with atomic adds. The
// zero value is not usable; it needs its bounds (NewHistogram, or Init).
type Histogram struct {
	bounds *Bounds
	counts [maxBuckets]atomic.Uint64 // per bucket, not cumulative; the last used one is +Inf
	sum    atomic.Int64              // nanoseconds
}

// Init sets the bounds of h, before its first use.
func (h *Histogram) Init(b *Bounds) {
	if len(b.ns) >= maxBuckets {
		panic("metrics: too many buckets")
	}
	h.bounds = b
}

// Observe counts one duration.
func (h *Histogram) Observe(d time.Duration) {
	ns := h.bounds.ns
	i := 0
	for i < len(ns) && int64(d) > ns[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// snapshot reads h: the count, the sum in seconds and the cumulative
// count per upper bound.
func (h *Histogram) snapshot(into *histogramSum) {
	if into.buckets == nil {
		into.bounds = h.bounds
		into.buckets = make([]uint64, len(h.bounds.ns)+1)
	}
	for i := range into.buckets {
		into.buckets[i] += h.counts[i].Load()
	}
	into.sum += h.sum.Load()
}

// Count is the number of durations counted.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range len(h.bounds.ns) + 1 {
		n += h.counts[i].Load()
	}
	return n
}

// histogramSum adds up histograms with the same bounds.
type histogramSum struct {
	bounds  *Bounds
	buckets []uint64 // per bucket
	sum     int64
}

func (s *histogramSum) count() uint64 {
	var n uint64
	for _, c := range s.buckets {
		n += c
	}
	return n
}

// cumulative is the exposition's view: upper bound → observations at or
// under it.
func (s *histogramSum) cumulative() map[float64]uint64 {
	m := make(map[float64]uint64, len(s.bounds.secs))
	var n uint64
	for i, b := range s.bounds.secs {
		n += s.buckets[i]
		m[b] = n
	}
	return m
}

// API is API Gateway's metrics of one stage, or of one method of a stage
// when detailed metrics are on. Count is Latency's count.
type API struct {
	Latency            Histogram
	IntegrationLatency Histogram
	Errors4XX          atomic.Uint64
	Errors5XX          atomic.Uint64
	CacheHits          atomic.Uint64
	CacheMisses        atomic.Uint64
}

// NewAPI returns zeroed counters.
func NewAPI() *API {
	a := new(API)
	a.Latency.Init(LatencyBounds)
	a.IntegrationLatency.Init(LatencyBounds)
	return a
}

// latencyNs is LatencyBounds as an array, for API.Observe.
var latencyNs = [...]int64{1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6, 100e6, 250e6, 500e6, 1e9, 2.5e9, 5e9, 10e9, 30e9}

// Observe counts one answered request: its status, its latency, and the
// integration's latency when the integration was called.
func (a *API) Observe(status int, latency time.Duration, integration time.Duration, integrated bool) {
	i := 0
	for i < len(latencyNs) && int64(latency) > latencyNs[i] {
		i++
	}
	a.Latency.counts[i].Add(1)
	a.Latency.sum.Add(int64(latency))
	if integrated {
		// The integration took no longer than the request: its bucket is
		// at most the request's.
		j := 0
		for j < i && int64(integration) > latencyNs[j] {
			j++
		}
		a.IntegrationLatency.counts[j].Add(1)
		a.IntegrationLatency.sum.Add(int64(integration))
	}
	switch {
	case status >= 500 || status == 0: // 0: the answer broke off
		a.Errors5XX.Add(1)
	case status >= 400:
		a.Errors4XX.Add(1)
	}
}

// APISeries is one API value with its dimensions, as the collector reads
// it. Method and Resource are set only for detailed metrics.
type APISeries struct {
	ApiName, Stage, Method, Resource string
	// Cache says whether the stage has a cache, so that CacheHitCount and
	// CacheMissCount are shown.
	Cache    bool
	Counters *API
}

// Function is Lambda's metrics of one function.
type Function struct {
	Invocations atomic.Uint64
	Errors      atomic.Uint64
	Throttles   atomic.Uint64
	Concurrent  atomic.Int64
	Duration    Histogram
}

// Functions is the Lambda metrics of every function invoked, by name. Its
// zero value is ready; a nil *Functions counts nothing.
type Functions struct {
	m sync.Map // name → *Function
}

// Function returns the counters of the named function, made on first use;
// nil when f is nil.
func (f *Functions) Function(name string) *Function {
	if f == nil {
		return nil
	}
	if v, ok := f.m.Load(name); ok {
		return v.(*Function)
	}
	fn := new(Function)
	fn.Duration.Init(DurationBounds)
	v, _ := f.m.LoadOrStore(name, fn)
	return v.(*Function)
}

// Forget drops a function's counters (it was deleted).
func (f *Functions) Forget(name string) {
	if f != nil {
		f.m.Delete(name)
	}
}

func (f *Functions) each(yield func(name string, fn *Function)) {
	f.m.Range(func(k, v any) bool {
		yield(k.(string), v.(*Function))
		return true
	})
}

// Start counts an invocation starting to run (ConcurrentExecutions). It is
// a no-op on a nil Function.
func (fn *Function) Start() {
	if fn != nil {
		fn.Concurrent.Add(1)
	}
}

// Outcome is how an invocation ended, for Function.Finish.
type Outcome int

const (
	// Ran: the function ran and answered (Invocations).
	Ran Outcome = iota
	// Failed: the function ran and failed (Invocations and Errors).
	Failed
	// Throttled: the invocation was refused for want of concurrency.
	Throttled
	// NotRun: the invocation did not reach the function for another reason.
	NotRun
)

// Finish counts the end of an invocation Start counted; d is the
// function's run time (Duration), counted when it ran.
func (fn *Function) Finish(o Outcome, d time.Duration) {
	if fn == nil {
		return
	}
	fn.Concurrent.Add(-1)
	switch o {
	case Ran, Failed:
		fn.Invocations.Add(1)
		fn.Duration.Observe(d)
		if o == Failed {
			fn.Errors.Add(1)
		}
	case Throttled:
		fn.Throttles.Add(1)
	}
}
