package limit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is returned by a Redis limiter that cannot reach Redis and
// was told to fail closed (RedisConfig.FailClosed).
var ErrUnavailable = errors.New("limit: shared limits unavailable (redis unreachable)")

// Lease tuning of the Redis limiter.
const (
	// ThrottleLeaseTTL is how long a node may admit from tokens it took
	// from a shared bucket; unused ones are given back after it.
	ThrottleLeaseTTL = 50 * time.Millisecond
	// ThrottleLeaseShare bounds a throttle lease to burst/ThrottleLeaseShare
	// tokens (and to rate·ThrottleLeaseTTL).
	ThrottleLeaseShare = 64
	// QuotaLeaseShare bounds a quota lease to what is left of the quota
	// divided by QuotaLeaseShare, so leases shrink near the limit.
	QuotaLeaseShare = 16
	// QuotaLeaseIdle is how long a node keeps a quota lease nobody takes
	// from before giving it back.
	QuotaLeaseIdle = time.Second
	// DefaultRedisTick is the period of the limiter's background loop:
	// heartbeat, outage detection and recovery, lease sweeping.
	DefaultRedisTick = 250 * time.Millisecond
	// nodeTTL: a node not seen for this long is not counted among the
	// nodes sharing the limits.
	nodeTTL = 10 * time.Second
)

// RedisConfig configures a Redis limiter.
type RedisConfig struct {
	// Prefix starts every key the limiter writes; "apigw:" when empty.
	Prefix string
	// Ledger persists quota usage. Every lease of quota units is added to it
	// before a unit is admitted, and Redis is (re)built from it when it lost
	// its data. It should be shared by the nodes (the store's ledger on a
	// shared store); nil means a MemLedger.
	Ledger Ledger
	// FailClosed makes every call fail with ErrUnavailable while Redis is
	// unreachable, instead of falling back to local limits.
	FailClosed bool
	// Node names this node in the list of nodes sharing the limits; random
	// when empty.
	Node string
	// Log receives the outage and recovery messages; slog.Default when nil.
	Log *slog.Logger
	// Tick is the period of the background loop; 0 means DefaultRedisTick,
	// a negative value runs no loop (tests drive Check and Sweep).
	Tick time.Duration
	// Now is the loop's clock; time.Now when nil.
	Now func() time.Time
}

// Redis is the Limiter of nodes that share their limits through one Redis.
// See the package documentation, "Shared limits".
type Redis struct {
	rdb    redis.UniversalClient
	ownRDB bool
	prefix string
	ledger Ledger
	closed bool
	cfg    RedisConfig
	log    *slog.Logger
	now    func() time.Time

	down    atomic.Bool  // Redis unreachable: local limits
	gen     atomic.Int64 // bumped when Redis may have lost or regained data
	nodes   atomic.Int64 // nodes seen in Redis lately (>= 1)
	saved   atomic.Int64 // the node count last written to the Ledger
	outages atomic.Int64 // times Redis became unreachable
	runID   string       // Redis's run_id, seen by the loop

	local     *Memory  // throttles while Redis is unreachable
	throttles sync.Map // id -> *tlease
	quotas    sync.Map // id -> *rquota

	closeMu sync.RWMutex
	revokes *redis.PubSub
	stop    chan struct{}
	done    chan struct{}
}

var _ Limiter = (*Redis)(nil)

// DialRedis connects to the Redis of url (redis://[user:password@]host:port/db,
// rediss:// for TLS, unix:///path?db=N) and returns a limiter on it. Redis
// need not be reachable yet: until it answers, limits are local (or refused,
// with FailClosed).
func DialRedis(ctx context.Context, url string, cfg RedisConfig) (*Redis, error) {
	opts, err := RedisOptions(url)
	if err != nil {
		return nil, err
	}
	r := NewRedis(ctx, redis.NewClient(opts), cfg)
	r.ownRDB = true
	return r, nil
}

// RedisOptions are the connection options of apigw's Redis clients (the
// limiter's, the stage cache's) for a redis:// URL: short timeouts and one
// retry, so that a Redis that stopped answering does not hold requests.
func RedisOptions(url string) (*redis.Options, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	// A request waits for Redis only on a lease; a Redis that stopped
	// answering must not hold requests for long.
	opts.DialTimeout = time.Second
	opts.ReadTimeout = time.Second
	opts.WriteTimeout = time.Second
	opts.MaxRetries = 1
	return opts, nil
}

// NewRedis returns a limiter on rdb and starts its background loop (unless
// cfg.Tick < 0). It checks Redis once before it returns.
func NewRedis(ctx context.Context, rdb redis.UniversalClient, cfg RedisConfig) *Redis {
	r := &Redis{rdb: rdb, prefix: cfg.Prefix, ledger: cfg.Ledger, cfg: cfg, log: cfg.Log, now: cfg.Now,
		local: NewMemory(nil), stop: make(chan struct{}), done: make(chan struct{})}
	if r.prefix == "" {
		r.prefix = "apigw:"
	}
	if r.ledger == nil {
		r.ledger = NewMemLedger()
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.cfg.Node == "" {
		var b [6]byte
		rand.Read(b[:])
		r.cfg.Node = hex.EncodeToString(b[:])
	}
	r.nodes.Store(1)
	r.Check(ctx)
	if r.down.Load() {
		// Started during an outage: the other nodes are not in Redis to
		// be counted, but the Ledger has their last count. This node is
		// counted on top (it may be one of them, restarted: a smaller
		// share, never a larger one).
		if m, err := r.ledger.Load(ctx, r.nodesID(), nodesDay, nodesDay); err == nil && m[nodesDay] > 0 {
			r.nodes.Store(m[nodesDay] + 1)
			r.log.Warn("redis unreachable at start: the node count is the last one saved in the ledger, plus this node", "nodes", m[nodesDay]+1)
		}
	}
	r.revokes = rdb.Subscribe(context.Background(), r.prefix+"revoke")
	go r.listen(r.revokes.Channel())
	tick := cfg.Tick
	if tick == 0 {
		tick = DefaultRedisTick
	}
	if tick < 0 {
		close(r.done)
		return r
	}
	go r.loop(tick)
	return r
}

// listen drops the quota leases other nodes revoke (SetRemaining) until
// the subscription is closed.
func (r *Redis) listen(ch <-chan *redis.Message) {
	for m := range ch {
		revs, id, _ := strings.Cut(m.Payload, " ")
		rev, err := strconv.ParseInt(revs, 10, 64)
		if err != nil {
			continue
		}
		if v, ok := r.quotas.Load(id); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			r.revoke(ctx, v.(*rquota), rev)
			cancel()
		}
	}
}

// revoke drops st's lease after another node set its remaining quota: the
// unused units become an adjustment, so that they neither are admitted
// nor raise the remaining quota that was set.
func (r *Redis) revoke(ctx context.Context, st *rquota, rev int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	w := st.win.Load()
	if w == nil || w.rev >= rev {
		return // no lease, or one taken after that SetRemaining
	}
	u := w.avail.Swap(0)
	if u <= 0 {
		return
	}
	if err := revokeScript.Run(ctx, r.rdb, []string{st.key}, w.key, u).Err(); err != nil {
		r.log.Warn("quota lease revoked but not moved to the adjustments in redis", "id", st.id, "units", u, "err", err)
	}
	if _, err := r.ledger.Add(ctx, st.id, w.key, -u); err == nil {
		r.ledger.Add(ctx, st.adjID, w.key, u)
	}
}

// revokeScript moves ARGV[2] units of the day ARGV[1] from the count to the
// adjustments.
var revokeScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'init') == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
  redis.call('HINCRBY', KEYS[1], 'a:' .. ARGV[1], tonumber(ARGV[2]))
end
return 0
`)

// Shared reports whether the limits are shared right now (Redis answers).
func (r *Redis) Shared() bool { return !r.down.Load() }

// Nodes is the number of nodes seen sharing the limits in the last
// 10 seconds, this one included: the divisor of local limits in an outage.
func (r *Redis) Nodes() int64 { return r.nodes.Load() }

// Outages counts the times Redis became unreachable.
func (r *Redis) Outages() int64 { return r.outages.Load() }

func (r *Redis) loop(tick time.Duration) {
	defer close(r.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	idle := max(int(QuotaLeaseIdle/tick), 1)
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			r.Check(ctx)
			if !r.down.Load() {
				r.sweep(ctx, r.now(), idle)
			}
			cancel()
		}
	}
}

// Check is one heartbeat: it registers the node, counts the nodes, and
// notices an outage, a recovery (limits become shared again, quotas are
// reconciled with the Ledger) or a restart of Redis.
func (r *Redis) Check(ctx context.Context) {
	now := r.now()
	nodes := r.prefix + "nodes"
	var card *redis.IntCmd
	var info *redis.StringCmd
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, nodes, redis.Z{Score: float64(now.UnixMilli()), Member: r.cfg.Node})
		p.ZRemRangeByScore(ctx, nodes, "-inf", strconv.FormatInt(now.Add(-nodeTTL).UnixMilli(), 10))
		card = p.ZCard(ctx, nodes)
		info = p.Info(ctx, "server")
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			r.markDown(err)
		}
		return
	}
	n := max(card.Val(), 1)
	r.nodes.Store(n)
	if r.saved.Load() != n {
		// For a node that starts while Redis is unreachable.
		if err := r.ledger.Set(ctx, r.nodesID(), nodesDay, n); err == nil {
			r.saved.Store(n)
		}
	}
	runID := infoField(info.Val(), "run_id")
	restarted := r.runID != "" && runID != r.runID
	r.runID = runID
	if r.down.CompareAndSwap(true, false) {
		r.gen.Add(1)
		r.log.Info("redis answers again: limits are shared", "nodes", r.nodes.Load())
	} else if restarted {
		r.gen.Add(1)
		r.log.Warn("redis restarted: quota counts are rebuilt from the ledger")
	}
}

// The Ledger keeps the last node count seen in Redis under nodesID, on
// a day no quota has.
const nodesDay = "0001-01-01"

func (r *Redis) nodesID() string { return r.prefix + "nodes" }

func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// markDown switches to local limits after a Redis error.
func (r *Redis) markDown(err error) {
	if r.down.CompareAndSwap(false, true) {
		r.outages.Add(1)
		if r.cfg.FailClosed {
			r.log.Error("redis unreachable: metered requests are refused with 503 until it answers", "err", err)
		} else {
			r.log.Warn("redis unreachable: limits are local until it answers, each node admitting its share",
				"err", err, "share", "1/"+strconv.FormatInt(r.nodes.Load(), 10))
		}
	}
}

// failed handles a Redis error of a request's call: a cancelled request is
// its own error; otherwise Redis is down, and the caller falls back (nil)
// or fails closed (ErrUnavailable).
func (r *Redis) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.markDown(err)
	if r.cfg.FailClosed {
		return ErrUnavailable
	}
	return nil
}

// share divides a limit among the nodes for an outage.
func (r *Redis) share() int64 { return max(r.nodes.Load(), 1) }

// ---- throttles ----

// tlease is a node's lease of tokens from the shared bucket of one id.
type tlease struct {
	tokens  atomic.Int64
	expires atomic.Int64 // caller's clock, Unix ns; tokens are void after it
	left    atomic.Int64 // tokens left in the shared bucket at the last lease (a hint)

	mu       sync.Mutex
	key      string
	size     int64 // size of the next lease
	last     int64 // when the previous lease was taken, Unix ns
	interval int64 // µs, of the previous lease (to give tokens back)
}

func (l *tlease) take() bool {
	for {
		n := l.tokens.Load()
		if n <= 0 {
			return false
		}
		if l.tokens.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// gcraMicro is gcra in microseconds: Lua numbers are doubles, exact for
// integers up to 2^53, which Unix nanoseconds exceed and microseconds do
// not. The interval rounds up, so a shared throttle admits at most 10^6
// requests per second per id.
func gcraMicro(rate float64, burst int64) (interval, tau int64, ok bool) {
	if !(rate > 0) || burst < 1 {
		return 0, 0, false
	}
	f := math.Ceil(1e6 / rate)
	interval = int64(min(max(f, 1), float64(maxInterval/1000)))
	const maxTauMicro = int64(1) << 52
	tau = maxTauMicro
	if burst < maxTauMicro/interval {
		tau = burst * interval
	}
	return interval, tau, true
}

// throttleScript takes up to want tokens from the GCRA bucket KEYS[1] at
// time now after giving ret tokens back, and answers {granted, tokens left}
// or {0, µs until one conforms}.
var throttleScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local I = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local ret = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if ret > 0 and tat > now then
  tat = math.max(tat - ret * I, now)
end
local base = math.max(tat, now)
local g = math.floor((now + tau - base) / I)
if g > want then g = want end
if g > 0 then
  tat = base + g * I
end
if tat > now then
  redis.call('SET', KEYS[1], tat, 'PX', math.floor((tat - now) / 1000) + 1000)
end
if g <= 0 then
  return {0, base + I - tau - now}
end
return {g, math.floor((now + tau - tat) / I)}
`)

// Allow implements Throttler. Within a lease it is an atomic decrement; a
// new lease is one call to Redis.
func (r *Redis) Allow(ctx context.Context, id string, rate float64, burst int64, now time.Time) (Decision, error) {
	if !(rate > 0) || burst < 1 {
		return Decision{}, nil
	}
	if r.down.Load() {
		return r.allowLocal(ctx, id, rate, burst, now)
	}
	l := r.tlease(id)
	if now.UnixNano() < l.expires.Load() && l.take() {
		return Decision{Allowed: true, Remaining: l.left.Load() + l.tokens.Load()}, nil
	}
	return r.allowSlow(ctx, l, id, rate, burst, now)
}

func (r *Redis) allowLocal(ctx context.Context, id string, rate float64, burst int64, now time.Time) (Decision, error) {
	if r.cfg.FailClosed {
		return Decision{}, ErrUnavailable
	}
	n := r.share()
	return r.local.Allow(ctx, id, rate/float64(n), max((burst+n-1)/n, 1), now)
}

func (r *Redis) tlease(id string) *tlease {
	if v, ok := r.throttles.Load(id); ok {
		return v.(*tlease)
	}
	v, _ := r.throttles.LoadOrStore(id, &tlease{key: r.prefix + "t:" + id})
	return v.(*tlease)
}

func (r *Redis) allowSlow(ctx context.Context, l *tlease, id string, rate float64, burst int64, now time.Time) (Decision, error) {
	interval, tau, _ := gcraMicro(rate, burst)
	t := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	if t < l.expires.Load() && l.take() {
		return Decision{Allowed: true, Remaining: l.left.Load() + l.tokens.Load()}, nil
	}
	ret := max(l.tokens.Swap(0), 0)
	if l.interval != interval {
		ret = 0 // the limits changed: what was left is void
	}
	want := throttleLeaseSize(l, rate, burst, t)
	res, err := throttleScript.Run(ctx, r.rdb, []string{l.key}, t/1000, interval, tau, want, ret).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("throttle script answered %v", res)
	}
	if err != nil {
		l.tokens.Add(ret) // still ours; the outage path does not use them
		if err := r.failed(ctx, err); err != nil {
			return Decision{}, err
		}
		return r.allowLocal(ctx, id, rate, burst, now)
	}
	l.interval = interval
	if res[0] <= 0 {
		l.expires.Store(0)
		return Decision{RetryAfter: time.Duration(max(res[1], 1)) * time.Microsecond}, nil
	}
	l.left.Store(res[1])
	l.tokens.Store(res[0] - 1)
	l.expires.Store(t + int64(ThrottleLeaseTTL))
	return Decision{Allowed: true, Remaining: res[1] + res[0] - 1}, nil
}

// throttleLeaseSize sizes the next lease of l: it starts at one token,
// doubles while leases are used up within a quarter of their life, halves
// when one outlived it, and never exceeds burst/ThrottleLeaseShare nor
// rate·ThrottleLeaseTTL, so that the tokens a node holds are a small part of
// what the nodes share. l.mu is held.
func throttleLeaseSize(l *tlease, rate float64, burst int64, t int64) int64 {
	limit := max(min(burst/ThrottleLeaseShare, int64(rate*ThrottleLeaseTTL.Seconds())), 1)
	switch since := t - l.last; {
	case l.size == 0:
		l.size = 1
	case since < int64(ThrottleLeaseTTL/4):
		l.size *= 2
	case since > int64(ThrottleLeaseTTL):
		l.size /= 2
	}
	l.size = min(max(l.size, 1), limit)
	l.last = t
	return l.size
}

// ---- quotas ----

// rquota is the state of one quota id on this node.
type rquota struct {
	win atomic.Pointer[rwindow] // the shared lease; nil without one
	fb  atomic.Pointer[window]  // the outage's local share; nil when shared
	mu  sync.Mutex

	id, adjID, key string
	chunk          int64 // size of the next lease
	last           time.Time
	fbShare        int64 // units this node may reserve in the outage (under mu)
	synced         int64 // the generation Redis was last brought the Ledger's counts in
}

// rwindow is this node's lease of quota units of one id for one UTC day.
type rwindow struct {
	spec       QuotaSpec
	day        int64
	key        string   // dayKey(day)
	days       []string // the period's days up to day, for the scripts
	start, end int64
	gen        int64 // Redis generation the lease was taken in
	rev        int64 // the hash's revision when the lease was taken (under mu)

	avail atomic.Int64 // leased units not yet admitted
	used  atomic.Int64 // the period's count after the last lease (leases included)

	seen      int64 // avail at the last sweep (sweeper only)
	idleTicks int
}

func (w *rwindow) take() (Decision, bool) {
	for {
		a := w.avail.Load()
		if a <= 0 {
			return Decision{}, false
		}
		if w.avail.CompareAndSwap(a, a-1) {
			return Decision{Allowed: true, Remaining: max(w.spec.Limit-w.used.Load()+a-1, 0)}, true
		}
	}
}

// The quota of id lives in the hash KEYS[1]: field {day} counts the units
// leased on that day (admitted, or held by a node), a:{day} the
// adjustments of SetRemaining, init marks a hash built from the Ledger.

// reserveScript leases up to want units (at most what is free divided by
// ARGV[3], at least one) for the day ARGV[5] of a period whose days are
// ARGV[6...]: {1, granted, the period's count after, the hash's revision},
// or {0, 0, 0} when the hash must first be built from the Ledger. The
// revision counts SetRemaining calls (field rev).
var reserveScript = redis.NewScript(`
local h = KEYS[1]
if redis.call('HEXISTS', h, 'init') == 0 then return {0, 0, 0} end
local limit = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local share = tonumber(ARGV[3])
local fields = {}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = 'a:' .. ARGV[i]
end
local used = 0
for _, v in ipairs(redis.call('HMGET', h, unpack(fields))) do
  if v then used = used + tonumber(v) end
end
local free = limit - used
local g = math.floor(free / share)
if g < 1 then g = 1 end
if g > want then g = want end
if g > free then g = free end
if g > 0 then
  redis.call('HINCRBY', h, ARGV[5], g)
  used = used + g
end
redis.call('EXPIRE', h, tonumber(ARGV[4]))
return {1, g, used, tonumber(redis.call('HGET', h, 'rev') or '0')}
`)

// releaseScript gives back ARGV[2] unused units of the day ARGV[1], unless
// the hash was lost (then the Ledger, which has the release too, rebuilds it).
var releaseScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'init') == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
end
return 0
`)

// initScript builds or reconciles the hash from the Ledger: ARGV[1] is the
// expiry, then triples of day, count, adjustment. A count becomes the
// larger of Redis's and the Ledger's (each lease is in both; the larger
// misses nothing); adjustments are the Ledger's (written before
// SetRemaining returns).
var initScript = redis.NewScript(`
local h = KEYS[1]
for i = 2, #ARGV, 3 do
  local cur = tonumber(redis.call('HGET', h, ARGV[i]) or '0')
  local n = tonumber(ARGV[i + 1])
  if n > cur then redis.call('HSET', h, ARGV[i], n) end
  redis.call('HSET', h, 'a:' .. ARGV[i], ARGV[i + 2])
end
redis.call('HSET', h, 'init', 1)
redis.call('EXPIRE', h, tonumber(ARGV[1]))
return 0
`)

// adjustScript sets the remaining units of the period (days ARGV[3...],
// the last one today) to ARGV[2] of the limit ARGV[1], recording the
// difference as an adjustment of today; it answers {0, the difference, the
// hash's new revision}, or {-1, 0} when the hash must first be built.
var adjustScript = redis.NewScript(`
local h = KEYS[1]
if redis.call('HEXISTS', h, 'init') == 0 then return {-1, 0} end
local fields = {}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = 'a:' .. ARGV[i]
end
local used = 0
for _, v in ipairs(redis.call('HMGET', h, unpack(fields))) do
  if v then used = used + tonumber(v) end
end
local delta = tonumber(ARGV[1]) - tonumber(ARGV[2]) - used
if delta ~= 0 then redis.call('HINCRBY', h, 'a:' .. ARGV[#ARGV], delta) end
return {0, delta, redis.call('HINCRBY', h, 'rev', 1)}
`)

// hashTTL keeps a quota's hash in Redis for a while after its last lease
// (seconds); the Ledger rebuilds it after that.
const hashTTL = 40 * secondsPerDay

// Take implements Quotas. Within the node's lease it is an atomic
// decrement; a new lease is one call to Redis and one Add to the Ledger.
func (r *Redis) Take(ctx context.Context, id string, q QuotaSpec, now time.Time) (Decision, error) {
	day := dayOf(now)
	st := r.quota(id)
	if r.down.Load() {
		if r.cfg.FailClosed {
			return Decision{}, ErrUnavailable
		}
		if w := st.fb.Load(); w != nil && w.day == day && w.spec == q {
			if d, ok := w.take(); ok {
				return d, nil
			}
		}
		return r.takeLocal(ctx, st, q, day, now)
	}
	if w := st.win.Load(); w != nil && w.day == day && w.spec == q && w.gen == r.gen.Load() {
		if d, ok := w.take(); ok {
			return d, nil
		}
	}
	return r.takeSlow(ctx, st, q, day, now)
}

func (r *Redis) quota(id string) *rquota {
	if v, ok := r.quotas.Load(id); ok {
		return v.(*rquota)
	}
	v, _ := r.quotas.LoadOrStore(id, &rquota{id: id, adjID: id + AdjustSuffix, key: r.prefix + "q:" + id})
	return v.(*rquota)
}

func (r *Redis) takeSlow(ctx context.Context, st *rquota, q QuotaSpec, day int64, now time.Time) (Decision, error) {
	r.closeMu.RLock()
	defer r.closeMu.RUnlock()
	if r.closed {
		return Decision{}, ErrClosed
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	gen := r.gen.Load()
	// Units this node reserved in the Ledger and did not admit, for this
	// day and quota: the outage's local share, or a lease taken before
	// Redis restarted or became unreachable. Once Redis is rebuilt from
	// the Ledger, which has them, Redis counts them too, so they stay this
	// node's lease. Given back to the Ledger alone they would be lost: a
	// count another node already rebuilt Redis with keeps them.
	var carry int64
	if fw := st.fb.Load(); fw != nil && fw.spec == q && fw.day == day {
		carry += fw.avail.Swap(0)
		st.fb.Store(nil)
	} else if err := r.releaseLocal(ctx, st); err != nil {
		return Decision{}, err
	}
	w := st.win.Load()
	if w != nil && w.gen != gen && w.spec == q && w.day == day {
		carry += w.avail.Swap(0)
		st.win.Store(nil)
		w = nil
	}
	if w != nil && (w.spec != q || day > w.day || w.gen != gen) {
		if err := r.release(ctx, st, w); err != nil {
			if err := r.failed(ctx, err); err != nil {
				return Decision{}, err
			}
			return r.takeLocalLocked(ctx, st, q, day, now)
		}
		st.win.Store(nil)
		w = nil
	}
	if w == nil {
		if err := q.Validate(); err != nil {
			return Decision{}, err
		}
		w = newRWindow(q, day, gen)
	}
	if carry > 0 {
		// Rebuilt even if this generation was already: units of the
		// outage may have been reserved after that build.
		if err := r.build(ctx, st, w); err != nil {
			if _, lerr := r.ledger.Add(ctx, st.id, w.key, -carry); lerr != nil {
				r.log.Warn("quota units reserved before redis came back not given back to the ledger", "id", st.id, "units", carry, "err", lerr)
			}
			if errors.Is(err, errLedgerIO) {
				return Decision{}, err
			}
			if err := r.failed(ctx, err); err != nil {
				return Decision{}, err
			}
			return r.takeLocalLocked(ctx, st, q, day, now)
		}
		st.synced = gen
		w.avail.Add(carry)
		st.win.Store(w)
	}
	for {
		if d, ok := w.take(); ok {
			return d, nil
		}
		g, used, err := r.reserve(ctx, st, w, r.nextChunk(st, now))
		if err != nil {
			if errors.Is(err, errLedgerIO) {
				return Decision{}, err
			}
			if err := r.failed(ctx, err); err != nil {
				return Decision{}, err
			}
			return r.takeLocalLocked(ctx, st, q, day, now)
		}
		w.used.Store(used)
		st.win.Store(w)
		if g <= 0 {
			return Decision{RetryAfter: max(dayTime(w.end).Sub(now), 0)}, nil
		}
		w.avail.Add(g)
	}
}

func newRWindow(q QuotaSpec, day, gen int64) *rwindow {
	start, end := q.bounds(day)
	w := &rwindow{spec: q, day: day, key: dayKey(day), start: start, end: end, gen: gen}
	for d := start; d <= day; d++ {
		w.days = append(w.days, dayKey(d))
	}
	return w
}

var errLedgerIO = errors.New("limit: ledger")

// reserve leases up to n units of w's day in Redis, building the hash from
// the Ledger first if Redis lost it, and adds them to the Ledger.
func (r *Redis) reserve(ctx context.Context, st *rquota, w *rwindow, n int64) (granted, used int64, err error) {
	args := make([]any, 0, 5+len(w.days))
	args = append(args, w.spec.Limit, n, QuotaLeaseShare, hashTTL, w.key)
	for _, d := range w.days {
		args = append(args, d)
	}
	if gen := r.gen.Load(); gen > 0 && st.synced != gen {
		// Redis was unreachable or restarted: bring it the Ledger's counts
		// (the outage's local admissions among them).
		if err := r.build(ctx, st, w); err != nil {
			return 0, 0, err
		}
		st.synced = gen
	}
	for try := 0; ; try++ {
		res, err := reserveScript.Run(ctx, r.rdb, []string{st.key}, args...).Int64Slice()
		if err == nil && len(res) != 3 && len(res) != 4 {
			err = fmt.Errorf("reserve script answered %v", res)
		}
		if err != nil {
			return 0, 0, err
		}
		if res[0] == 1 && len(res) == 4 {
			granted, used = res[1], res[2]
			w.rev = res[3]
			break
		}
		if try > 0 {
			return 0, 0, errors.New("redis: quota hash vanished while it was built")
		}
		if err := r.build(ctx, st, w); err != nil {
			return 0, 0, err
		}
	}
	if granted > 0 {
		if _, err := r.ledger.Add(ctx, st.id, w.key, granted); err != nil {
			// Not admitted: give the units back.
			releaseScript.Run(ctx, r.rdb, []string{st.key}, w.key, granted)
			return 0, 0, fmt.Errorf("%w: reserve quota of %q: %w", errLedgerIO, st.id, err)
		}
	}
	return granted, used, nil
}

// build writes the Ledger's counts of w's period into Redis (initScript).
func (r *Redis) build(ctx context.Context, st *rquota, w *rwindow) error {
	from, to := dayKey(w.start), w.key
	used, err := r.ledger.Load(ctx, st.id, from, to)
	if err != nil {
		return fmt.Errorf("%w: load quota usage of %q: %w", errLedgerIO, st.id, err)
	}
	adj, err := r.ledger.Load(ctx, st.adjID, from, to)
	if err != nil {
		return fmt.Errorf("%w: load quota adjustments of %q: %w", errLedgerIO, st.id, err)
	}
	args := make([]any, 0, 1+3*len(w.days))
	args = append(args, hashTTL)
	for _, d := range w.days {
		args = append(args, d, used[d], adj[d])
	}
	return initScript.Run(ctx, r.rdb, []string{st.key}, args...).Err()
}

// release gives w's unused units back to Redis and the Ledger. st.mu is
// held.
func (r *Redis) release(ctx context.Context, st *rquota, w *rwindow) error {
	u := w.avail.Swap(0)
	if u <= 0 {
		return nil
	}
	if err := releaseScript.Run(ctx, r.rdb, []string{st.key}, w.key, u).Err(); err != nil {
		w.avail.Add(u)
		return err
	}
	if _, err := r.ledger.Add(ctx, st.id, w.key, -u); err != nil {
		// Redis has them back; the Ledger over-counts them, as after a crash.
		r.log.Warn("quota lease given back to redis but not to the ledger", "id", st.id, "units", u, "err", err)
	}
	return nil
}

// nextChunk sizes st's next lease as Memory sizes its chunks. st.mu is held.
func (r *Redis) nextChunk(st *rquota, now time.Time) int64 {
	c := st.chunk
	if c == 0 {
		c = DefaultChunk
	} else {
		switch since := now.Sub(st.last); {
		case since < FastChunk:
			c = min(c*2, DefaultMaxChunk)
		case since > SlowChunk:
			c = max(c/2, DefaultChunk)
		}
	}
	st.chunk, st.last = c, now
	return c
}

// takeLocal admits from this node's share of the quota during an outage:
// what was left of the quota in the Ledger when the outage began for this
// id, divided by the number of nodes. Units are reserved in the Ledger in
// chunks, as Memory does.
func (r *Redis) takeLocal(ctx context.Context, st *rquota, q QuotaSpec, day int64, now time.Time) (Decision, error) {
	r.closeMu.RLock()
	defer r.closeMu.RUnlock()
	if r.closed {
		return Decision{}, ErrClosed
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return r.takeLocalLocked(ctx, st, q, day, now)
}

// takeLocalLocked is takeLocal with st.mu (and r.closeMu) held.
func (r *Redis) takeLocalLocked(ctx context.Context, st *rquota, q QuotaSpec, day int64, now time.Time) (Decision, error) {
	if r.cfg.FailClosed {
		return Decision{}, ErrUnavailable
	}
	w := st.fb.Load()
	if w == nil || w.spec != q || day > w.day {
		if err := r.releaseLocal(ctx, st); err != nil {
			return Decision{}, err
		}
		if err := q.Validate(); err != nil {
			return Decision{}, err
		}
		start, end := q.bounds(day)
		base, err := r.ledgerUsed(ctx, st, start, day)
		if err != nil {
			return Decision{}, err
		}
		w = &window{spec: q, day: day, key: dayKey(day), start: start, end: end}
		w.base.Store(base)
		st.fbShare = max(q.Limit-base, 0) / r.share()
		st.fb.Store(w)
	}
	for {
		if d, ok := w.take(); ok {
			return d, nil
		}
		free := st.fbShare - w.reserved.Load()
		if free <= 0 {
			return Decision{RetryAfter: max(dayTime(w.end).Sub(now), 0)}, nil
		}
		n := min(free, r.nextChunk(st, now))
		if _, err := r.ledger.Add(ctx, st.id, w.key, n); err != nil {
			return Decision{}, fmt.Errorf("limit: reserve quota of %q: %w", st.id, err)
		}
		w.reserved.Add(n)
		w.avail.Add(n)
	}
}

// releaseLocal ends the outage's share of st, giving its unused units
// back to the Ledger. st.mu is held.
func (r *Redis) releaseLocal(ctx context.Context, st *rquota) error {
	w := st.fb.Load()
	if w == nil {
		return nil
	}
	if u := w.avail.Swap(0); u > 0 {
		if _, err := r.ledger.Add(ctx, st.id, w.key, -u); err != nil {
			w.avail.Add(u)
			return fmt.Errorf("limit: write back quota usage of %q: %w", st.id, err)
		}
	}
	st.fb.Store(nil)
	return nil
}

// ledgerUsed is the count of st's period [start, day] in the Ledger, with
// its adjustments.
func (r *Redis) ledgerUsed(ctx context.Context, st *rquota, start, day int64) (int64, error) {
	from, to := dayKey(start), dayKey(day)
	used, err := r.ledger.Load(ctx, st.id, from, to)
	if err != nil {
		return 0, fmt.Errorf("limit: load quota usage of %q: %w", st.id, err)
	}
	adj, err := r.ledger.Load(ctx, st.adjID, from, to)
	if err != nil {
		return 0, fmt.Errorf("limit: load quota adjustments of %q: %w", st.id, err)
	}
	var n int64
	for k, v := range used {
		if k >= from && k <= to {
			n += v
		}
	}
	for k, v := range adj {
		if k >= from && k <= to {
			n += v
		}
	}
	return n, nil
}

// SetRemaining implements Quotas. Units other nodes hold in leases count
// as used until they are given back.
func (r *Redis) SetRemaining(ctx context.Context, id string, q QuotaSpec, remaining int64, now time.Time) error {
	if remaining < 0 {
		return fmt.Errorf("%w: remaining %d is negative", ErrInvalidQuota, remaining)
	}
	if err := q.Validate(); err != nil {
		return err
	}
	r.closeMu.RLock()
	defer r.closeMu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	st := r.quota(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	day := dayOf(now)
	if err := r.releaseLocal(ctx, st); err != nil {
		return err
	}
	if !r.down.Load() {
		err := r.adjustShared(ctx, st, q, remaining, day)
		if err == nil || errors.Is(err, errLedgerIO) {
			return err
		}
		if err := r.failed(ctx, err); err != nil {
			return err
		}
	}
	if r.cfg.FailClosed {
		return ErrUnavailable
	}
	// Redis is unreachable: the Ledger alone, which rebuilds Redis later.
	start, _ := q.bounds(day)
	used, err := r.ledgerUsed(ctx, st, start, day)
	if err != nil {
		return err
	}
	if delta := q.Limit - remaining - used; delta != 0 {
		if _, err := r.ledger.Add(ctx, st.adjID, dayKey(day), delta); err != nil {
			return fmt.Errorf("limit: record quota adjustment of %q: %w", id, err)
		}
	}
	return nil
}

func (r *Redis) adjustShared(ctx context.Context, st *rquota, q QuotaSpec, remaining, day int64) error {
	if w := st.win.Load(); w != nil {
		if err := r.release(ctx, st, w); err != nil {
			return err
		}
		st.win.Store(nil)
	}
	w := newRWindow(q, day, r.gen.Load())
	args := make([]any, 0, 2+len(w.days))
	args = append(args, q.Limit, remaining)
	for _, d := range w.days {
		args = append(args, d)
	}
	for try := 0; ; try++ {
		res, err := adjustScript.Run(ctx, r.rdb, []string{st.key}, args...).Int64Slice()
		if err == nil && len(res) != 2 && len(res) != 3 {
			err = fmt.Errorf("adjust script answered %v", res)
		}
		if err != nil {
			return err
		}
		if res[0] == 0 && len(res) == 3 {
			if res[1] != 0 {
				if _, err := r.ledger.Add(ctx, st.adjID, w.key, res[1]); err != nil {
					releaseScript.Run(ctx, r.rdb, []string{st.key}, "a:"+w.key, res[1]) // undo
					return fmt.Errorf("%w: record quota adjustment of %q: %w", errLedgerIO, st.id, err)
				}
			}
			// The other nodes' leases must not be admitted past the new
			// remaining quota.
			return r.rdb.Publish(ctx, r.prefix+"revoke", strconv.FormatInt(res[2], 10)+" "+st.id).Err()
		}
		if try > 0 {
			return errors.New("redis: quota hash vanished while it was built")
		}
		if err := r.build(ctx, st, w); err != nil {
			return err
		}
	}
}

// Usage implements Quotas: the cluster's counts, from Redis where it has
// them and from the Ledger otherwise (the larger of both), without this
// node's unused lease. Other nodes' unused leases count until they give
// them back (QuotaLeaseIdle after their last use).
func (r *Redis) Usage(ctx context.Context, id string, q QuotaSpec, from, to time.Time) ([]DayUsage, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	first, last := dayOf(from), dayOf(to)
	if last < first {
		return nil, nil
	}
	start, _ := q.bounds(first)
	var st *rquota
	if v, ok := r.quotas.Load(id); ok {
		st = v.(*rquota)
		st.mu.Lock()
		defer st.mu.Unlock()
	}
	used, err := r.ledger.Load(ctx, id, dayKey(start), dayKey(last))
	if err != nil {
		return nil, fmt.Errorf("limit: load quota usage of %q: %w", id, err)
	}
	adj, err := r.ledger.Load(ctx, id+AdjustSuffix, dayKey(start), dayKey(last))
	if err != nil {
		return nil, fmt.Errorf("limit: load quota adjustments of %q: %w", id, err)
	}
	if used == nil {
		used = map[string]int64{}
	}
	if adj == nil {
		adj = map[string]int64{}
	}
	if !r.down.Load() {
		fields := make([]string, 0, 2*(last-start+1))
		for d := start; d <= last; d++ {
			fields = append(fields, dayKey(d), "a:"+dayKey(d))
		}
		fields = append(fields, "init")
		vals, err := r.rdb.HMGet(ctx, r.prefix+"q:"+id, fields...).Result()
		if err == nil && vals[len(vals)-1] != nil {
			for i := 0; i+1 < len(vals); i += 2 {
				k := fields[i]
				if n, ok := redisInt(vals[i]); ok && n > used[k] {
					used[k] = n
				}
				if n, ok := redisInt(vals[i+1]); ok {
					adj[k] = n
				}
			}
		} else if err != nil && ctx.Err() == nil {
			r.markDown(err)
		}
	}
	if st != nil {
		if w := st.win.Load(); w != nil {
			used[w.key] -= w.avail.Load()
		}
		if w := st.fb.Load(); w != nil {
			used[w.key] -= w.avail.Load()
		}
	}
	out := make([]DayUsage, 0, last-first+1)
	var cum int64
	end := start
	for d := start; d <= last; d++ {
		if d >= end {
			_, end = q.bounds(d)
			cum = 0
		}
		k := dayKey(d)
		u := max(used[k], 0)
		cum += u + adj[k]
		if d >= first {
			out = append(out, DayUsage{Day: k, Used: u, Remaining: max(q.Limit-cum, 0)})
		}
	}
	return out, nil
}

func redisInt(v any) (int64, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// ---- leases given back ----

// Sweep gives back, as of now, the throttle leases that expired and the
// quota leases nobody took from since the previous Sweep (idle = 1) or
// the idle-th previous one. The background loop calls it every tick.
func (r *Redis) Sweep(ctx context.Context, now time.Time, idle int) {
	r.sweep(ctx, now, idle)
}

func (r *Redis) sweep(ctx context.Context, now time.Time, idle int) {
	r.sweepThrottles(ctx, now, false)
	r.sweepQuotas(ctx, idle)
}

// sweepThrottles gives back the tokens of expired throttle leases, or of
// every lease with all.
func (r *Redis) sweepThrottles(ctx context.Context, now time.Time, all bool) {
	t := now.UnixNano()
	r.throttles.Range(func(_, v any) bool {
		l := v.(*tlease)
		if l.tokens.Load() <= 0 || (!all && t < l.expires.Load()) {
			return true
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if !all && t < l.expires.Load() {
			return true
		}
		l.expires.Store(0)
		if ret := l.tokens.Swap(0); ret > 0 && l.interval > 0 {
			// want 0: only the tokens go back. tau is irrelevant then.
			if err := throttleScript.Run(ctx, r.rdb, []string{l.key}, t/1000, l.interval, 0, 0, ret).Err(); err != nil {
				return false
			}
		}
		return true
	})
}

// sweepQuotas gives back the quota leases nobody took from for idle sweeps.
func (r *Redis) sweepQuotas(ctx context.Context, idle int) {
	r.quotas.Range(func(_, v any) bool {
		st := v.(*rquota)
		w := st.win.Load()
		if w == nil {
			return true
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.win.Load() != w {
			return true
		}
		a := w.avail.Load()
		if a <= 0 || a != w.seen {
			w.seen, w.idleTicks = a, 0
			return true
		}
		if w.idleTicks++; w.idleTicks < idle {
			return true
		}
		w.seen, w.idleTicks = 0, 0
		return r.release(ctx, st, w) == nil
	})
}

// Close gives every lease back (to Redis and the Ledger), leaves the list
// of nodes and stops the loop. Quota operations then fail with ErrClosed.
func (r *Redis) Close(ctx context.Context) error {
	r.closeMu.Lock()
	if r.closed {
		r.closeMu.Unlock()
		return nil
	}
	r.closed = true
	r.closeMu.Unlock()
	close(r.stop)
	<-r.done
	r.revokes.Close()

	var errs []error
	r.quotas.Range(func(_, v any) bool {
		st := v.(*rquota)
		st.mu.Lock()
		defer st.mu.Unlock()
		if err := r.releaseLocal(ctx, st); err != nil {
			errs = append(errs, err)
		}
		if w := st.win.Load(); w != nil {
			if err := r.release(ctx, st, w); err != nil {
				errs = append(errs, fmt.Errorf("limit: give back the quota lease of %q: %w", st.id, err))
			}
		}
		return true
	})
	if !r.down.Load() {
		r.sweepThrottles(ctx, r.now(), true)
		r.rdb.ZRem(ctx, r.prefix+"nodes", r.cfg.Node)
	}
	if r.ownRDB {
		r.rdb.Close()
	}
	return errors.Join(errs...)
}
