package cache

import (
	"context"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestEncodeDecode(t *testing.T) {
	e := &Entry{Status: 201, Header: http.Header{"Content-Type": {"application/json"}, "X-Two": {"a", "b"}}, Body: `{"ok":true}`, TTL: 90 * time.Second}
	got, err := Decode(Encode(e))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != e.Status || got.Body != e.Body || got.TTL != e.TTL || got.Header.Get("Content-Type") != "application/json" || len(got.Header["X-Two"]) != 2 {
		t.Fatalf("round trip: %+v", got)
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Encode(e)[:20]} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%x) accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(&Entry{Status: 200, Header: http.Header{"A": {"b"}}, Body: "x", TTL: time.Second}))
	f.Add([]byte{1, 0, 200, 0, 0, 0, 0, 0, 0, 0, 1, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes back to an entry that decodes the same.
		again, err := Decode(Encode(e))
		if err != nil || again.Status != e.Status || again.Body != e.Body || len(again.Header) != len(e.Header) {
			t.Fatalf("re-encoding %+v: %+v %v", e, again, err)
		}
	})
}

// The memory is bounded by the entries' bytes, not their number.
func TestMemoryBoundedByBytes(t *testing.T) {
	c := New(4<<20, nil, "s:")
	defer c.Close()
	body := strings.Repeat("x", 100<<10)
	for i := range 200 { // 20 MB offered
		c.Set(context.Background(), "k"+strconv.Itoa(i), &Entry{Status: 200, Body: body, TTL: time.Minute})
	}
	c.local.CleanUp()
	if w := c.WeightedSize(); w > 4<<20 {
		t.Fatalf("weighted size %d over the 4 MiB bound", w)
	}
	if n := c.Len(); n == 0 || n > 40 {
		t.Fatalf("%d entries kept of 100 KB each in 4 MiB", n)
	}
	c.Set(context.Background(), "big", &Entry{Status: 200, Body: strings.Repeat("x", MaxEntryBytes+1), TTL: time.Minute})
	if _, ok := c.Get(context.Background(), "big"); ok {
		t.Fatal("an entry over 1 MB was kept")
	}
}

// With Redis unreachable the cache keeps working in memory.
func TestRedisDownFallsBackToMemory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	r := NewRedis(rdb, "t:", nil)
	c := New(1<<20, r, "api/dev:0:")
	defer c.Close()
	ctx := context.Background()
	c.Set(ctx, "k", &Entry{Status: 200, Body: "v", TTL: time.Minute})
	if e, ok := c.Get(ctx, "k"); !ok || e.Body != "v" {
		t.Fatalf("Get with Redis down: %v %v", e, ok)
	}
	if r.Errors() == 0 {
		t.Fatal("no Redis error counted")
	}
}

// Two caches on one Redis (two nodes) share their entries, with the TTL
// set in Redis.
func TestRedisShared(t *testing.T) {
	url := os.Getenv("APIGW_TEST_REDIS")
	if url == "" {
		t.Skip("APIGW_TEST_REDIS not set")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	prefix := "apigwtest:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	ctx := context.Background()
	a := New(1<<20, NewRedis(rdb, prefix, nil), "api/dev:0:")
	b := New(1<<20, NewRedis(rdb, prefix, nil), "api/dev:0:")
	defer a.Close()
	defer b.Close()
	a.Set(ctx, "GET /items", &Entry{Status: 200, Header: http.Header{"X": {"1"}}, Body: "shared", TTL: 30 * time.Second})
	e, ok := b.Get(ctx, "GET /items")
	if !ok || e.Body != "shared" || e.Header.Get("X") != "1" {
		t.Fatalf("node b got %+v %v", e, ok)
	}
	if b.Len() != 0 || a.Len() != 0 {
		t.Fatal("entries were kept in memory while Redis answers")
	}
	ttl, err := rdb.PTTL(ctx, prefix+"stagecache:api/dev:0:GET /items").Result()
	if err != nil || ttl <= 0 || ttl > 30*time.Second {
		t.Fatalf("TTL in Redis = %v %v", ttl, err)
	}
	// Another scope (a flushed stage's next generation) does not see it.
	other := New(1<<20, NewRedis(rdb, prefix, nil), "api/dev:1:")
	defer other.Close()
	if _, ok := other.Get(ctx, "GET /items"); ok {
		t.Fatal("a new generation sees the old entry")
	}
	rdb.Del(ctx, prefix+"stagecache:api/dev:0:GET /items")
}
