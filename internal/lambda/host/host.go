// Package host runs Lambda functions on this machine. It implements the
// Lambda Runtime API (2018-06-01) for worker processes it starts itself, one
// small loopback HTTP server per worker, so that a function's code runs here
// as it does in a Lambda execution environment: custom runtimes
// (provided.al2023, provided.al2, go1.x) run the package's own bootstrap,
// which talks the Runtime API (e.g. aws-lambda-go); python3.x and nodejs*
// functions run under small runtime loops shipped with apigw (embedded,
// written under the host's work directory) that import the handler and speak
// the same API.
//
// Workers are reused while warm and multiplied with load, up to a limit per
// function and one for the whole host (sized for the machine); a call that
// finds every worker busy and no room for another waits for one, in order of
// arrival. A function's reserved concurrency, when set, throttles what
// exceeds it at once, as Lambda does. Workers are killed with their whole
// process group when an invocation times out, and replaced when they crash. Each invocation's stdout and stderr are
// captured and framed with Lambda's START, END and REPORT lines.
package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/lambda"
)

// Limits and defaults, as Lambda has them.
const (
	// MaxResponseSize is the largest response a runtime may post for a
	// synchronous invocation: 6 MB plus 100 bytes, as the Runtime API
	// reports it ("Exceeded maximum allowed payload size (6291556 bytes).").
	MaxResponseSize = 6*1024*1024 + 100
	// MaxRequestSize is the largest payload a synchronous invocation takes.
	MaxRequestSize = 6 * 1024 * 1024

	DefaultTimeout  = 3 * time.Second
	DefaultMemoryMB = 128
	// DefaultIdleTimeout is how long a warm worker waits for its next
	// invocation before the host stops it.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultRegion is used when Host.Region is empty.
	DefaultRegion = "us-east-1"
	// InitTimeout is how long a new worker may take to initialise (until it
	// asks for its first event) on top of the function's timeout, as
	// Lambda gives the init phase 10 s of its own.
	InitTimeout = 10 * time.Second
)

// ErrClosed is returned by Invoke once Close has been called.
var ErrClosed = errors.New("lambda host: closed")

// Function is what the host needs to know of a function to run it.
type Function struct {
	Name, ARN string
	// Runtime: "python3.x", "nodejs18.x", "nodejs20.x", ..., "provided.al2023",
	// "provided.al2" or "go1.x" (the Handler binary of the package is run like
	// a custom runtime's bootstrap).
	Runtime string
	// Handler: "lambda_function.lambda_handler", "index.handler", "bootstrap".
	Handler string
	// CodeDir is the unpacked deployment package. The host only reads it.
	CodeDir string
	// Env is the function's environment variables.
	Env map[string]string
	// Timeout is the function's timeout (0 = 3 s).
	Timeout time.Duration
	// MemoryMB is the function's memory size (0 = 128). It is reported to
	// the function; it is not enforced.
	MemoryMB int
	// Version is the code and configuration revision: workers started for
	// another revision are not reused.
	Version string
	// MaxConcurrency is the most workers the function has at once (0 = the
	// host's MaxWorkers). A call beyond it waits for one of them.
	MaxConcurrency int
	// ReservedConcurrency, when set, is the function's reserved concurrency
	// (PutFunctionConcurrency): at most that many invocations of the
	// function (of any of its versions, by Name) run or wait at once, and
	// the excess is throttled at once. 0 throttles every invocation.
	ReservedConcurrency *int
}

// Throttle reasons of Lambda's TooManyRequestsException.
const (
	// ReasonReserved: the function's reserved concurrency is in use.
	ReasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	// ReasonConcurrent: no worker became free while the call could wait.
	ReasonConcurrent = "ConcurrentInvocationLimitExceeded"
)

// throttled is Lambda's answer to an invocation it does not run for want
// of concurrency.
func throttled(reason string) *lambda.Error {
	return &lambda.Error{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException", Message: "Rate Exceeded.", Reason: reason}
}

// Result is the outcome of one invocation that reached the function.
type Result struct {
	// Payload is the response the runtime posted, or the error document
	// ({"errorMessage", "errorType", ...}) when FunctionError is set.
	Payload []byte
	// FunctionError is "" on success, or "Unhandled".
	FunctionError string
	// Log is what the function wrote to stdout and stderr during this
	// invocation, framed with Lambda's START, END and REPORT lines (output of
	// the worker's initialisation comes first, before START).
	Log []byte
	// Duration is the function's run time, from the runtime's receipt of
	// the event to its answer (or to the timeout or crash): REPORT's
	// Duration. It is 0 when the event never reached the runtime.
	Duration time.Duration
}

// Host runs functions in worker processes on this machine.
type Host struct {
	// Region is given to functions as AWS_REGION and AWS_DEFAULT_REGION
	// (empty = us-east-1). Set it before the first Invoke.
	Region string
	// IdleTimeout stops a warm worker that has had no invocation for this
	// long (0 = 5 minutes). Set it before the first Invoke.
	IdleTimeout time.Duration
	// MaxWorkers is the most worker processes the host runs at once, for
	// all functions together (0 = DefaultMaxWorkers()). When it is reached,
	// an idle worker of another function is stopped to make room, or the
	// call waits. Set it before the first Invoke.
	MaxWorkers int

	workDir    string
	ownWorkDir bool
	log        *slog.Logger

	mu        sync.Mutex
	pools     map[string]*pool
	total     int            // live workers and workers being started, of every pool
	peak      int            // most of total at once (for tests)
	queue     []*waiter      // calls waiting for a worker, in order of arrival
	running   map[string]int // invocations admitted (running or waiting), by function name
	maxOnce   sync.Once
	max       int
	pids      []int // worker processes started (process group ids), when trackPIDs (tests)
	trackPIDs bool
	closed    bool
	closing   chan struct{}
	wg        sync.WaitGroup // every goroutine the host starts

	rtOnce sync.Once
	rtDir  string
	rtErr  error
}

// pool holds one function's workers (by ARN).
type pool struct {
	busy     int                  // invocations admitted: waiting for a worker or running
	idle     []*worker            // warm workers waiting in next, most recent last
	workers  map[*worker]struct{} // every live worker
	starting int                  // workers being started (counted in Host.total)
	max      int                  // most workers (Function.MaxConcurrency, or the host's limit)
	gen      int                  // bumped by Drop: workers of an older generation are not reused
	peak     int                  // most workers alive at once (for tests)
}

// waiter is a call waiting for a worker: it is handed a warm one of its
// pool, or a slot to start one.
type waiter struct {
	p       *pool
	version string
	ch      chan *worker // a worker, or nil for a slot to start one; buffered
}

// New returns a host that keeps its runtime files under workDir (a temporary
// directory, removed by Close, when workDir is empty).
func New(workDir string, log *slog.Logger) *Host {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Host{
		workDir: workDir,
		log:     log,
		pools:   map[string]*pool{},
		running: map[string]int{},
		closing: make(chan struct{}),
	}
}

func (h *Host) region() string {
	if h.Region != "" {
		return h.Region
	}
	return DefaultRegion
}

func (h *Host) idleTimeout() time.Duration {
	if h.IdleTimeout > 0 {
		return h.IdleTimeout
	}
	return DefaultIdleTimeout
}

// Invoke runs one invocation of fn and waits for its outcome. requestID
// names the invocation (one is made when empty). When every worker of fn
// is busy and no other may be started, the call waits for one, in order of
// arrival, for as long as a cold start may take (InitTimeout and the
// function's timeout), or until deadline or ctx ends. The
// function's timeout runs from the moment the runtime receives the event (a
// new worker first has InitTimeout to initialise); deadline, when not zero,
// is a time the invocation may not outlast either. clientContext is the
// Invoke API's ClientContext (base64 JSON, or JSON), given to the function.
//
// A function that fails (error, timeout, crash, initialisation error) gives
// a Result with FunctionError "Unhandled". An error is returned when the
// invocation cannot run: *lambda.Error TooManyRequestsException (429) when
// the function's reserved concurrency is in use (ReasonReserved) or no
// worker became free in time (ReasonConcurrent), RequestTooLargeException
// (413), an unknown runtime, ErrClosed, or ctx's error when ctx ends first
// (an invocation that has started goes on until it ends or times out, as on
// Lambda).
func (h *Host) Invoke(ctx context.Context, fn *Function, requestID string, payload []byte, deadline time.Time, clientContext string) (*Result, error) {
	if fn == nil {
		return nil, &lambda.Error{Status: http.StatusBadRequest, Type: "InvalidParameterValueException", Message: "no function"}
	}
	if len(payload) > MaxRequestSize {
		return nil, &lambda.Error{Status: http.StatusRequestEntityTooLarge, Type: "RequestTooLargeException",
			Message: fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxRequestSize)}
	}
	spec, err := h.launchSpec(fn)
	if err != nil {
		return nil, err
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if requestID == "" {
		requestID = newRequestID()
	}
	timeout := fn.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// A call may wait for a worker as long as a cold start may take before
	// its event is delivered.
	arrived := time.Now()
	waitUntil := arrived.Add(InitTimeout + timeout)
	if !deadline.IsZero() && deadline.Before(waitUntil) {
		waitUntil = deadline
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if r := fn.ReservedConcurrency; r != nil && h.running[fn.Name] >= *r {
		h.mu.Unlock()
		return nil, throttled(ReasonReserved)
	}
	p := h.pools[fn.ARN]
	if p == nil {
		p = &pool{workers: map[*worker]struct{}{}}
		h.pools[fn.ARN] = p
	}
	p.max = fn.MaxConcurrency
	if p.max <= 0 || p.max > h.maxWorkersLocked() {
		p.max = h.maxWorkersLocked()
	}
	h.running[fn.Name]++
	p.busy++
	h.wg.Add(1)
	h.mu.Unlock()
	admitted := true
	leave := func() {
		if !admitted {
			return
		}
		admitted = false
		h.mu.Lock()
		if h.running[fn.Name]--; h.running[fn.Name] <= 0 {
			delete(h.running, fn.Name)
		}
		p.busy--
		h.gcPoolLocked(fn.ARN, p)
		h.mu.Unlock()
		h.wg.Done()
	}

	start := time.Now()
	w, err := h.acquire(ctx, fn, spec, p, waitUntil)
	if err != nil {
		leave()
		var se *startError
		if errors.As(err, &se) {
			inv := &invocation{id: requestID, start: start}
			return h.entrypointFailure(fn, inv, se), nil
		}
		return nil, err
	}
	start = time.Now()
	inv := &invocation{
		id:            requestID,
		payload:       payload,
		limit:         deadline,
		timeout:       timeout,
		arn:           fn.ARN,
		clientContext: decodeClientContext(clientContext),
		traceID:       newTraceID(start),
		start:         start,
		done:          make(chan struct{}),
		deliveredCh:   make(chan struct{}),
	}

	type outcome struct {
		res *Result
		err error
	}
	out := make(chan outcome, 1)
	go func() {
		defer leave()
		res, err := h.run(w, p, inv)
		out <- outcome{res, err}
	}()
	select {
	case o := <-out:
		return o.res, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// DefaultMaxWorkers is the host's limit on worker processes when
// Host.MaxWorkers is 0: four per CPU (functions mostly wait on I/O), and no
// more than half the machine's memory (or of the cgroup's limit) holds at
// the default function size of 128 MB; at least 2.
func DefaultMaxWorkers() int {
	n := 4 * runtime.NumCPU()
	if mem := memoryBytes(); mem > 0 {
		n = min(n, int(mem/2/(DefaultMemoryMB<<20)))
	}
	return max(n, 2)
}

// memoryBytes is the memory this process may use: the machine's total, or
// the cgroup's limit when lower; 0 when unknown.
func memoryBytes() int64 {
	var total int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					total = kb << 10
				}
				break
			}
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if lim, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && lim > 0 && (total == 0 || lim < total) {
			total = lim
		}
	}
	return total
}

func (h *Host) maxWorkersLocked() int {
	h.maxOnce.Do(func() {
		h.max = h.MaxWorkers
		if h.max <= 0 {
			h.max = DefaultMaxWorkers()
		}
	})
	return h.max
}

// canGrowLocked reports whether pool p may start another worker now.
func (h *Host) canGrowLocked(p *pool) bool {
	return h.total < h.maxWorkersLocked() && len(p.workers)+p.starting < p.max
}

// wantsSlotLocked reports whether pool p could start another worker if the
// host had room: the host-wide limit is what holds it back.
func (h *Host) wantsSlotLocked(p *pool) bool {
	return len(p.workers)+p.starting < p.max
}

// acquire returns a warm worker of fn's revision, or starts one, or waits
// for either until until, ctx or Close.
func (h *Host) acquire(ctx context.Context, fn *Function, spec *launchSpec, p *pool, until time.Time) (*worker, error) {
	var stale []*worker
	var w *worker
	var wt *waiter
	var evict *worker
	h.mu.Lock()
	kept := p.idle[:0]
	for _, c := range p.idle {
		if c.version != fn.Version || c.gen != p.gen || c.isExited() {
			c.stopIdleTimer()
			stale = append(stale, c)
			continue
		}
		kept = append(kept, c)
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	slot := false
	switch n := len(p.idle); {
	case n > 0:
		w = p.idle[n-1] // the most recently used: its caches are warmest
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		w.stopIdleTimer()
	case h.canGrowLocked(p):
		h.reserveLocked(p)
		slot = true
	default:
		wt = &waiter{p: p, version: fn.Version, ch: make(chan *worker, 1)}
		h.queue = append(h.queue, wt)
		if h.wantsSlotLocked(p) {
			// The host is full: an idle worker of another function makes
			// room (its exit hands the slot to the first waiter).
			evict = h.oldestIdleLocked()
		}
	}
	h.mu.Unlock()
	for _, s := range stale {
		s.kill()
	}
	if evict != nil {
		h.log.Debug("lambda host: idle worker stopped to make room", "function", evict.name, "pid", evict.pid, "for", fn.Name)
		evict.kill()
	}
	if w != nil {
		return w, nil
	}
	if !slot {
		var err error
		if w, err = h.wait(ctx, wt, until); err != nil || w != nil {
			return w, err
		}
	}
	return h.startFor(fn, spec, p)
}

// reserveLocked counts a worker about to be started in p.
func (h *Host) reserveLocked(p *pool) {
	h.total++
	p.starting++
	h.peak = max(h.peak, h.total)
}

// wait waits for wt to be handed a worker (returned) or a slot (nil, nil).
func (h *Host) wait(ctx context.Context, wt *waiter, until time.Time) (*worker, error) {
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	var err error
	select {
	case w := <-wt.ch:
		return w, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = throttled(ReasonConcurrent)
	case <-h.closing:
		err = ErrClosed
	}
	h.mu.Lock()
	for i, c := range h.queue {
		if c == wt {
			h.queue = append(h.queue[:i], h.queue[i+1:]...)
			h.mu.Unlock()
			return nil, err
		}
	}
	h.mu.Unlock()
	// Handed something at the same moment: pass it on.
	if w := <-wt.ch; w != nil {
		h.release(w, wt.p, true)
	} else {
		h.mu.Lock()
		h.total--
		wt.p.starting--
		h.grantLocked()
		h.mu.Unlock()
	}
	return nil, err
}

// grantLocked gives the room the host has to the first waiters whose
// function may grow.
func (h *Host) grantLocked() {
	for i := 0; i < len(h.queue) && h.total < h.maxWorkersLocked(); {
		wt := h.queue[i]
		if !h.canGrowLocked(wt.p) {
			i++
			continue
		}
		h.queue = append(h.queue[:i], h.queue[i+1:]...)
		h.reserveLocked(wt.p)
		wt.ch <- nil
	}
}

// oldestIdleLocked takes the idle worker that has waited longest, of any
// pool, out of its pool; nil when there is none.
func (h *Host) oldestIdleLocked() *worker {
	var best *worker
	var bestPool *pool
	for _, p := range h.pools {
		if len(p.idle) > 0 && (best == nil || p.idle[0].idleSince.Before(best.idleSince)) {
			best, bestPool = p.idle[0], p
		}
	}
	if best == nil {
		return nil
	}
	bestPool.idle = append(bestPool.idle[:0], bestPool.idle[1:]...)
	best.stopIdleTimer()
	return best
}

// startFor starts a worker of fn in the slot reserved for it in p.
func (h *Host) startFor(fn *Function, spec *launchSpec, p *pool) (*worker, error) {
	fail := func(err error) (*worker, error) {
		h.mu.Lock()
		h.total--
		p.starting--
		h.grantLocked()
		h.mu.Unlock()
		return nil, err
	}
	if err := h.ensureRuntimeFiles(); err != nil {
		return fail(err)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return fail(ErrClosed)
	}
	gen := p.gen
	h.wg.Add(1) // for the worker's goroutines, released when it is gone
	h.mu.Unlock()
	w, err := h.startWorker(fn, spec, p, gen)
	if err != nil {
		h.wg.Done()
		return fail(err)
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed { // Close ran while the worker was starting
		w.kill()
		return nil, ErrClosed
	}
	return w, nil
}

// registerLocked makes a started worker one of p's, in the slot reserved
// for it.
func (h *Host) registerLocked(w *worker, p *pool) {
	p.starting--
	p.workers[w] = struct{}{}
	p.peak = max(p.peak, len(p.workers))
}

// run hands the invocation to worker w and waits for the outcome.
func (h *Host) run(w *worker, p *pool, inv *invocation) (*Result, error) {
	w.invCh <- inv // buffered: the worker takes it in its next call

	// Until the runtime takes the event, the worker may be initialising.
	timer := time.NewTimer(time.Until(inv.clamp(inv.start.Add(InitTimeout + inv.timeout))))
	defer timer.Stop()
	delivered := inv.deliveredCh
	var failure string // "", "timeout", "exit", "init"
	closed := false
wait:
	for {
		select {
		case <-delivered:
			delivered = nil
			timer.Reset(time.Until(inv.deadlineTime()))
			continue
		case <-inv.done:
		case <-w.initFailed:
			failure = "init"
		case <-w.exited:
			failure = "exit"
		case <-timer.C:
			failure = "timeout"
		case <-h.closing:
			closed = true
		}
		break wait
	}
	if (failure != "" || closed) && !inv.abandon() {
		failure, closed = "", false // the answer came in at the same moment
	}
	if failure == "" && !closed {
		res := w.finish(inv)
		h.release(w, p, true)
		return res, nil
	}
	// The worker is not reused: kill its process group, wait for it and
	// for the last of its output.
	w.recordMemory()
	w.kill()
	<-w.gone
	if closed {
		return nil, ErrClosed
	}
	return w.failed(inv, failure), nil
}

// release gives a worker that served an invocation to the first call that
// waits for it, or keeps it warm among the idle ones; a worker that is not
// warm, or that no one may use, is stopped (its exit frees its slot).
func (h *Host) release(w *worker, p *pool, warm bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !warm || h.closed || w.gen != p.gen || w.isExited() {
		w.kill()
		return
	}
	for i, wt := range h.queue {
		if wt.p == p && wt.version == w.version {
			h.queue = append(h.queue[:i], h.queue[i+1:]...)
			wt.ch <- w
			return
		}
		if wt.p == p || h.wantsSlotLocked(wt.p) {
			// A call earlier in line needs a worker this one is not (another
			// revision, or another function on a full host): this worker's
			// slot goes to it.
			w.kill()
			return
		}
	}
	w.idleSince = time.Now()
	p.idle = append(p.idle, w)
	w.idleTimer = time.AfterFunc(h.idleTimeout(), func() { h.reap(w, p) })
}

// reap stops a worker that stayed idle for IdleTimeout.
func (h *Host) reap(w *worker, p *pool) {
	h.mu.Lock()
	found := false
	for i, c := range p.idle {
		if c == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			found = true
			break
		}
	}
	h.mu.Unlock()
	if found {
		h.log.Debug("lambda host: idle worker stopped", "function", w.name, "pid", w.pid)
		w.kill()
	}
}

// workerGone is called once a worker's process has exited and its goroutines
// have ended: its slot goes to the first call waiting for room.
func (h *Host) workerGone(w *worker) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := w.pool
	delete(p.workers, w)
	for i, c := range p.idle {
		if c == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			c.stopIdleTimer()
			break
		}
	}
	h.total--
	h.grantLocked()
	h.gcPoolLocked(w.arn, p)
}

func (h *Host) gcPoolLocked(arn string, p *pool) {
	if p.busy == 0 && len(p.workers) == 0 && p.starting == 0 && h.pools[arn] == p {
		delete(h.pools, arn)
	}
}

// Drop stops the function's idle workers, and makes its busy ones stop when
// their invocation ends: its code or configuration changed, or it was
// deleted.
func (h *Host) Drop(fnARN string) {
	h.mu.Lock()
	p := h.pools[fnARN]
	if p == nil {
		h.mu.Unlock()
		return
	}
	p.gen++
	idle := p.idle
	p.idle = nil
	for _, w := range idle {
		w.stopIdleTimer()
	}
	h.mu.Unlock()
	for _, w := range idle {
		w.kill()
	}
}

// Close stops every worker, waits for their processes and the host's
// goroutines to end, and removes the temporary work directory if New made
// one. Invocations under way return ErrClosed.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.closing)
	var all []*worker
	for _, p := range h.pools {
		for w := range p.workers {
			w.stopIdleTimer()
			all = append(all, w)
		}
		p.idle = nil
	}
	h.mu.Unlock()
	for _, w := range all {
		w.kill()
	}
	h.wg.Wait()
	if h.ownWorkDir && h.rtDir != "" {
		return os.RemoveAll(h.workDir)
	}
	return nil
}

// invocation is one invocation handed to a worker.
type invocation struct {
	id            string
	payload       []byte
	limit         time.Time     // the caller's deadline, or zero
	timeout       time.Duration // the function's
	arn           string
	clientContext string
	traceID       string
	start         time.Time

	deliveredCh chan struct{} // closed when the runtime receives the event

	mu        sync.Mutex
	deadline  time.Time // set when the event is delivered
	delivered time.Time // when the runtime received the event
	finished  time.Time // when the runtime answered
	initDur   time.Duration
	pre       []byte // output before START (initialisation, or between invocations)
	log       []byte // output between next and the response
	payloadR  []byte // the posted response or error document
	funcErr   bool
	abandoned bool
	done      chan struct{}
}

// complete records the runtime's answer; false when the invocation was
// already answered or abandoned.
func (inv *invocation) complete(payload []byte, funcErr bool, log []byte) bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.abandoned || inv.isDoneLocked() {
		return false
	}
	inv.payloadR = payload
	inv.funcErr = funcErr
	inv.finished = time.Now()
	inv.log = log
	close(inv.done)
	return true
}

// clamp returns t, or the caller's deadline when it comes first.
func (inv *invocation) clamp(t time.Time) time.Time {
	if !inv.limit.IsZero() && inv.limit.Before(t) {
		return inv.limit
	}
	return t
}

// deliver records that the runtime received the event at now, and returns
// the invocation's deadline.
func (inv *invocation) deliver(now time.Time, pre []byte, initDur time.Duration) time.Time {
	inv.mu.Lock()
	inv.delivered = now
	inv.deadline = inv.clamp(now.Add(inv.timeout))
	inv.pre = pre
	inv.initDur = initDur
	dl := inv.deadline
	inv.mu.Unlock()
	close(inv.deliveredCh)
	return dl
}

func (inv *invocation) deadlineTime() time.Time {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.deadline
}

// abandon makes later answers from the runtime void; false when the
// invocation was already answered.
func (inv *invocation) abandon() bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.isDoneLocked() {
		return false
	}
	inv.abandoned = true
	return true
}

func (inv *invocation) isDoneLocked() bool {
	select {
	case <-inv.done:
		return true
	default:
		return false
	}
}

// frame builds the invocation's log: output before START, START, the
// invocation's output, extra lines, END and REPORT.
func frame(pre []byte, id string, body []byte, extra []string, d, initD time.Duration, memMB, maxUsedMB int, status string) []byte {
	var b strings.Builder
	b.Write(pre)
	if len(pre) > 0 && pre[len(pre)-1] != '\n' {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "START RequestId: %s Version: $LATEST\n", id)
	b.Write(body)
	if len(body) > 0 && body[len(body)-1] != '\n' {
		b.WriteByte('\n')
	}
	for _, l := range extra {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "END RequestId: %s\n", id)
	ms := float64(d) / float64(time.Millisecond)
	billed := int64(math.Ceil(ms))
	if billed < 1 {
		billed = 1
	}
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		id, ms, billed, memMB, maxUsedMB)
	if initD > 0 {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", float64(initD)/float64(time.Millisecond))
	}
	if status != "" {
		b.WriteString("\t" + status)
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID makes an X-Ray trace header as Lambda passes it to runtimes.
func newTraceID(t time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", t.Unix(), h[:24], h[24:40])
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
