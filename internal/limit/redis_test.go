package limit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedis connects to APIGW_TEST_REDIS and returns the client and a key
// prefix of the test's own; the prefix's keys are deleted at the end.
func testRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("APIGW_TEST_REDIS")
	if url == "" {
		t.Skip("APIGW_TEST_REDIS is not set (e.g. redis://127.0.0.1:6379/0): skipping the Redis limiter test")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("APIGW_TEST_REDIS: %v", err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("APIGW_TEST_REDIS %s: %v", url, err)
	}
	var b [4]byte
	rand.Read(b[:])
	prefix := fmt.Sprintf("apigwtest:%s:%s:", t.Name(), hex.EncodeToString(b[:]))
	t.Cleanup(func() {
		ctx := context.Background()
		for k := range rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator().Vals(ctx) {
			rdb.Del(ctx, k)
		}
		rdb.Close()
	})
	return rdb, prefix
}

// nodes returns n Redis limiters on one Redis and prefix, as n apigw nodes
// would be, with no background loop (the tests drive Check and Sweep).
func nodes(t testing.TB, rdb redis.UniversalClient, prefix string, ledger Ledger, n int, cfg RedisConfig) []*Redis {
	t.Helper()
	out := make([]*Redis, n)
	for i := range out {
		c := cfg
		c.Prefix, c.Ledger, c.Tick = prefix, ledger, -1
		if c.Node == "" || n > 1 {
			c.Node = fmt.Sprintf("%snode%d", c.Node, i)
		}
		if c.Log == nil {
			c.Log = slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
		}
		out[i] = NewRedis(context.Background(), rdb, c)
		r := out[i]
		t.Cleanup(func() { r.Close(context.Background()) })
	}
	return out
}

// TestRedisQuotaExactAcrossNodes: nodes sharing a quota of N through Redis
// admit exactly N under concurrent load, the Ledger then holds N, and every
// node's Usage reports the cluster's count.
func TestRedisQuotaExactAcrossNodes(t *testing.T) {
	rdb, prefix := testRedis(t)
	tests := []struct {
		limit   int64
		nodes   int
		workers int // per node
	}{
		{1000, 3, 16},
		{37, 4, 8},
		{1, 3, 8},
		{0, 2, 4},
		{20000, 3, 16},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit=%d,nodes=%d", tt.limit, tt.nodes), func(t *testing.T) {
			ctx := context.Background()
			ledger := NewMemLedger()
			p := fmt.Sprintf("%s%d:", prefix, tt.limit)
			ns := nodes(t, rdb, p, ledger, tt.nodes, RedisConfig{})
			q := QuotaSpec{Limit: tt.limit, Period: Month}
			var admitted atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, tt.nodes*tt.workers)
			for _, n := range ns {
				for range tt.workers {
					wg.Go(func() {
						// Until this node refuses: it then holds no unit, and
						// Redis has none left to lease.
						for {
							d, err := n.Take(ctx, "k", q, t0)
							if err != nil {
								errs <- err
								return
							}
							if !d.Allowed {
								return
							}
							admitted.Add(1)
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got := admitted.Load(); got != tt.limit {
				t.Fatalf("admitted %d, want exactly %d", got, tt.limit)
			}
			if got := ledger.Count("k", t0.Format(DayFormat)); got != tt.limit {
				t.Errorf("ledger = %d, want %d", got, tt.limit)
			}
			for i, n := range ns {
				u, err := n.Usage(ctx, "k", q, t0, t0)
				if err != nil {
					t.Fatal(err)
				}
				if len(u) != 1 || u[0].Used != tt.limit || u[0].Remaining != 0 {
					t.Errorf("node %d: usage = %+v, want used %d, remaining 0", i, u, tt.limit)
				}
			}
		})
	}
}

// TestRedisQuotaUsageAndLeases: a node's unused lease is not in its own
// usage report, is in the others' until it is given back (a sweep after it
// stayed unused), and a clean Close gives it back too.
func TestRedisQuotaUsageAndLeases(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	ledger := NewMemLedger()
	ns := nodes(t, rdb, prefix, ledger, 2, RedisConfig{})
	a, b := ns[0], ns[1]
	q := QuotaSpec{Limit: 1000, Period: Day}
	for range 100 {
		if d, err := a.Take(ctx, "k", q, t0); err != nil || !d.Allowed {
			t.Fatalf("Take = %+v, %v", d, err)
		}
	}
	used := func(r *Redis) int64 {
		t.Helper()
		u, err := r.Usage(ctx, "k", q, t0, t0)
		if err != nil || len(u) != 1 {
			t.Fatalf("Usage = %+v, %v", u, err)
		}
		if u[0].Used+u[0].Remaining != 1000 {
			t.Errorf("usage %+v does not add up to the limit", u[0])
		}
		return u[0].Used
	}
	if got := used(a); got != 100 {
		t.Errorf("node a reports %d used, want 100", got)
	}
	leased := ledger.Count("k", t0.Format(DayFormat))
	if leased <= 100 {
		t.Fatalf("ledger = %d: want the lease counted (> 100)", leased)
	}
	if got := used(b); got != leased {
		t.Errorf("node b reports %d used before a gives its lease back, want %d", got, leased)
	}
	a.Sweep(ctx, t0, 1) // notes the lease
	a.Sweep(ctx, t0, 1) // unused since: given back
	if got := used(b); got != 100 {
		t.Errorf("node b reports %d used after the sweep, want 100", got)
	}
	if got := ledger.Count("k", t0.Format(DayFormat)); got != 100 {
		t.Errorf("ledger = %d after the sweep, want 100", got)
	}
	// Close gives back what a node holds.
	for range 5 {
		b.Take(ctx, "k", q, t0)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := used(a); got != 105 {
		t.Errorf("node a reports %d used after b's Close, want 105", got)
	}
	if _, err := b.Take(ctx, "k", q, t0); !errors.Is(err, ErrClosed) {
		t.Errorf("Take after Close: %v, want ErrClosed", err)
	}
}

// TestRedisSetRemainingAcrossNodes: UpdateUsage on one node sets the
// cluster's remaining quota; the other nodes' leases are revoked, so that
// exactly that many more requests are admitted.
func TestRedisSetRemainingAcrossNodes(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	ledger := NewMemLedger()
	ns := nodes(t, rdb, prefix, ledger, 3, RedisConfig{})
	q := QuotaSpec{Limit: 1000, Period: Week}
	for _, n := range ns {
		for range 10 {
			if d, err := n.Take(ctx, "k", q, t0); err != nil || !d.Allowed {
				t.Fatalf("Take = %+v, %v", d, err)
			}
		}
	}
	if err := ns[0].SetRemaining(ctx, "k", q, 5, t0); err != nil {
		t.Fatal(err)
	}
	// The other nodes drop their leases when the revocation reaches them.
	deadline := time.Now().Add(5 * time.Second)
	for _, n := range ns[1:] {
		st := n.quota("k")
		for {
			if w := st.win.Load(); w == nil || w.avail.Load() == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a node kept its lease after SetRemaining elsewhere")
			}
			time.Sleep(time.Millisecond)
		}
	}
	var admitted int64
	for i := 0; i < 20; i++ {
		if d, err := ns[i%3].Take(ctx, "k", q, t0); err != nil {
			t.Fatal(err)
		} else if d.Allowed {
			admitted++
		}
	}
	if admitted != 5 {
		t.Errorf("admitted %d after SetRemaining(5), want 5", admitted)
	}
	u, err := ns[2].Usage(ctx, "k", q, t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != 1 || u[0].Used != 35 || u[0].Remaining != 0 {
		t.Errorf("usage = %+v, want used 35, remaining 0", u)
	}
}

// TestRedisRestartKeepsQuota: when Redis loses its data, the next lease
// rebuilds the count from the Ledger: no quota use is lost.
func TestRedisRestartKeepsQuota(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	ledger := NewMemLedger()
	ns := nodes(t, rdb, prefix, ledger, 2, RedisConfig{})
	q := QuotaSpec{Limit: 300, Period: Month}
	var admitted int64
	take := func(n *Redis, count int) {
		for range count {
			d, err := n.Take(ctx, "k", q, t0)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				admitted++
			}
		}
	}
	take(ns[0], 100)
	take(ns[1], 100)
	// Redis restarts empty, as one without persistence does.
	for k := range rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator().Vals(ctx) {
		rdb.Del(ctx, k)
	}
	take(ns[0], 400)
	take(ns[1], 400)
	if admitted != 300 {
		t.Errorf("admitted %d across a Redis restart, want 300", admitted)
	}
}

// TestRedisThrottleAccuracy: nodes sharing a throttle of rate R and burst
// B admit, over a run of t seconds of a fake clock, between 95 % and 100 %
// (plus a lease's life) of B + R·t, whatever the interleaving of nodes.
func TestRedisThrottleAccuracy(t *testing.T) {
	rdb, prefix := testRedis(t)
	tests := []struct {
		name    string
		rate    float64
		burst   int64
		nodes   int
		seconds int
		perStep int // calls per node per millisecond of the fake clock
	}{
		{"small", 50, 20, 3, 4, 1},
		{"leases", 2000, 1000, 3, 3, 2},
		{"burst only", 1, 500, 4, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ns := nodes(t, rdb, prefix+tt.name+":", nil, tt.nodes, RedisConfig{})
			var admitted atomic.Int64
			var wg sync.WaitGroup
			steps := tt.seconds * 1000
			for _, n := range ns {
				wg.Go(func() {
					for s := 0; s < steps; s++ {
						now := t0.Add(time.Duration(s) * time.Millisecond)
						for range tt.perStep {
							d, err := n.Allow(ctx, "t", tt.rate, tt.burst, now)
							if err != nil {
								t.Error(err)
								return
							}
							if d.Allowed {
								admitted.Add(1)
							}
						}
					}
				})
			}
			wg.Wait()
			ideal := float64(tt.burst) + tt.rate*float64(tt.seconds)
			got := float64(admitted.Load())
			// The goroutines' clocks interleave: one may run ahead of
			// another by up to the whole run, so the upper bound allows one
			// lease life of rate on top.
			hi := ideal + tt.rate*ThrottleLeaseTTL.Seconds() + 1
			t.Logf("admitted %.0f of B + R·t = %.0f", got, ideal)
			if got < 0.95*ideal || got > hi {
				t.Errorf("admitted %.0f, want within [%.0f, %.0f]", got, 0.95*ideal, hi)
			}
		})
	}
}

// redisServer runs a private redis-server on a Unix socket.
type redisServer struct {
	t    *testing.T
	sock string
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T, sock string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed: skipping the outage test")
	}
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &redisServer{t: t, sock: sock, cmd: cmd}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ownRedis starts a redis-server of the test's own, on a unix socket, and
// a client of it that does not retry (the tests stop and restart it).
func ownRedis(t *testing.T) (*redisServer, *redis.Client) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "redis.sock")
	srv := startRedisServer(t, sock)
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	return srv, rdb
}

func (s *redisServer) stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// syncBuffer is a log destination the test can read while nodes write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisOutage: with Redis stopped, nodes fall back to local limits,
// each admitting its share of the throttle and of the remaining quota, and
// say so in the log; when Redis is back (empty), the limits are shared
// again with the quota's count rebuilt from the Ledger. With FailClosed
// they refuse with ErrUnavailable instead.
func TestRedisOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv, rdb := ownRedis(t)
	ctx := context.Background()
	var log syncBuffer
	ledger := NewMemLedger()
	lg := slog.New(slog.NewTextHandler(&log, nil))
	ns := nodes(t, rdb, "o:", ledger, 2, RedisConfig{Log: lg})
	closed := nodes(t, rdb, "o:", ledger, 1, RedisConfig{Log: lg, FailClosed: true, Node: "closed"})[0]
	for _, n := range ns {
		n.Check(ctx) // both nodes are in the node list
	}
	if got := ns[0].Nodes(); got != 3 {
		t.Fatalf("nodes = %d, want 3 (two open, one closed)", got)
	}
	q := QuotaSpec{Limit: 1000, Period: Day}
	var admitted int64
	take := func(n *Redis, count int) int64 {
		t.Helper()
		var got int64
		for range count {
			d, err := n.Take(ctx, "k", q, t0)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				got++
			}
		}
		admitted += got
		return got
	}
	take(ns[0], 100)
	for _, n := range ns {
		n.Sweep(ctx, t0, 1)
		n.Sweep(ctx, t0, 1) // the lease goes back: the Ledger holds 100
	}

	srv.stop()
	for _, n := range append(ns, closed) {
		n.Check(ctx)
		if n.Shared() {
			t.Fatal("a node still reports shared limits with Redis stopped")
		}
	}
	// The shared cache holds nothing meanwhile, and says no error.
	if err := ns[0].Cache("auth:").Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Errorf("cache Set during the outage: %v", err)
	}
	if v, _, err := ns[1].Cache("auth:").Get(ctx, "k"); v != nil || err != nil {
		t.Errorf("cache Get during the outage = %q %v, want nothing", v, err)
	}
	if n := ns[0].Outages(); n != 1 {
		t.Errorf("outages = %d, want 1", n)
	}
	if !bytes.Contains([]byte(log.String()), []byte("redis unreachable: limits are local")) {
		t.Errorf("no outage in the log: %s", log.String())
	}
	// Each node admits a third of what the Ledger had left when it lost
	// Redis: (1000-100)/3, then (1000-400)/3.
	for i, want := range []int64{300, 200} {
		if got := take(ns[i], 400); got != want {
			t.Errorf("node %d admitted %d during the outage, want its share %d", i, got, want)
		}
	}
	// And 1/3 of the throttle's burst.
	var allowed int
	for range 100 {
		if d, err := ns[0].Allow(ctx, "t", 1, 30, t0); err != nil {
			t.Fatal(err)
		} else if d.Allowed {
			allowed++
		}
	}
	if allowed != 10 {
		t.Errorf("throttle admitted %d of a burst of 30 on one of 3 nodes, want 10", allowed)
	}
	if _, err := closed.Take(ctx, "k", q, t0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("fail-closed Take during the outage: %v, want ErrUnavailable", err)
	}
	if _, err := closed.Allow(ctx, "t", 10, 10, t0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("fail-closed Allow during the outage: %v, want ErrUnavailable", err)
	}
	// GetUsage during the outage reads the Ledger.
	if u, err := ns[1].Usage(ctx, "k", q, t0, t0); err != nil || len(u) != 1 || u[0].Used != 600 {
		t.Errorf("usage during the outage = %+v, %v, want 600 used", u, err)
	}

	// Redis comes back empty.
	startRedisServer(t, srv.sock)
	for _, n := range append(ns, closed) {
		n.Check(ctx)
		if !n.Shared() {
			t.Fatal("a node still on local limits with Redis back")
		}
	}
	if !bytes.Contains([]byte(log.String()), []byte("redis answers again")) {
		t.Errorf("no recovery in the log: %s", log.String())
	}
	take(ns[0], 200)
	take(ns[1], 200)
	// What node 0 still holds comes back once it stayed unused.
	ns[0].Sweep(ctx, t0, 1)
	ns[0].Sweep(ctx, t0, 1)
	take(ns[1], 10)
	if admitted != 1000 {
		t.Errorf("admitted %d in all, want exactly 1000", admitted)
	}
	if _, err := closed.Take(ctx, "k", q, t0); err != nil {
		t.Errorf("fail-closed Take with Redis back: %v", err)
	}
}

// BenchmarkMeterRedis is the metered path (a plan throttle, the account
// throttle and a quota, as an API key request takes them) on the Redis
// limiter, beside the same on Memory: with leases, most calls are atomic
// decrements and a few go to Redis.
func BenchmarkMeterRedis(b *testing.B) {
	run := func(b *testing.B, lim Limiter) {
		ctx := context.Background()
		q := QuotaSpec{Limit: 1 << 40, Period: Month}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				now := time.Now()
				if d, err := lim.Allow(ctx, "plan", benchRate, benchBurst, now); err != nil || !d.Allowed {
					b.Fatalf("plan throttle: %+v %v", d, err)
				}
				if d, err := lim.Allow(ctx, "account", benchRate, benchBurst, now); err != nil || !d.Allowed {
					b.Fatalf("account throttle: %+v %v", d, err)
				}
				if d, err := lim.Take(ctx, "quota", q, now); err != nil || !d.Allowed {
					b.Fatalf("quota: %+v %v", d, err)
				}
			}
		})
	}
	b.Run("memory", func(b *testing.B) { run(b, NewMemory(NewMemLedger())) })
	b.Run("redis", func(b *testing.B) {
		rdb, prefix := testRedis(b)
		run(b, nodes(b, rdb, prefix, NewMemLedger(), 1, RedisConfig{})[0])
	})
}

// TestRedisRecoveryKeepsReservedUnits: units a node reserved in the Ledger
// and did not admit (its lease when Redis went away, its share of the
// outage) are not lost when another node rebuilds Redis from the Ledger
// first: the quota still admits exactly its limit across the nodes.
func TestRedisRecoveryKeepsReservedUnits(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv, rdb := ownRedis(t)
	ctx := context.Background()
	ns := nodes(t, rdb, "r:", NewMemLedger(), 2, RedisConfig{})
	for _, n := range ns {
		n.Check(ctx)
	}
	q := QuotaSpec{Limit: 1000, Period: Day}
	var admitted int64
	take := func(n *Redis, count int) {
		t.Helper()
		for range count {
			d, err := n.Take(ctx, "k", q, t0)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				admitted++
			}
		}
	}
	take(ns[0], 10) // node 0 holds the rest of its lease
	srv.stop()
	for _, n := range ns {
		n.Check(ctx)
	}
	take(ns[0], 10) // and the rest of a chunk of its share
	take(ns[1], 10)
	startRedisServer(t, srv.sock)
	for _, n := range ns {
		n.Check(ctx)
	}
	take(ns[1], 1) // node 1 rebuilds Redis from the Ledger first
	take(ns[0], 1000)
	take(ns[1], 1000)
	if admitted != 1000 {
		t.Errorf("admitted %d, want exactly 1000: units reserved before Redis came back were lost", admitted)
	}
}

// TestRedisNodeStartedInOutage: a node that starts while Redis is
// unreachable takes its share with the node count the others last saw
// (saved in the Ledger), not alone with a whole quota.
func TestRedisNodeStartedInOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv, rdb := ownRedis(t)
	ctx := context.Background()
	ledger := NewMemLedger()
	for _, n := range nodes(t, rdb, "s:", ledger, 2, RedisConfig{}) {
		n.Check(ctx)
	}
	srv.stop()
	late := nodes(t, rdb, "s:", ledger, 1, RedisConfig{Node: "late"})[0]
	if late.Shared() {
		t.Fatal("the late node reports shared limits with Redis stopped")
	}
	if got := late.Nodes(); got != 3 {
		t.Errorf("nodes on a node started in the outage = %d, want 3 (the 2 saved, and itself)", got)
	}
	var admitted int64
	for range 1000 {
		if d, err := late.Take(ctx, "k", QuotaSpec{Limit: 900, Period: Day}, t0); err != nil {
			t.Fatal(err)
		} else if d.Allowed {
			admitted++
		}
	}
	if admitted != 300 {
		t.Errorf("the late node admitted %d of a quota of 900, want its share 300", admitted)
	}
}
