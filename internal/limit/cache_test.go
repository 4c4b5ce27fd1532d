package limit

import (
	"context"
	"testing"
	"time"
)

// TestRedisCache: a value one node sets is found by another with what is
// left of its time to live; a missing key is nil.
func TestRedisCache(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	ns := nodes(t, rdb, prefix, NewMemLedger(), 2, RedisConfig{})
	a, b := ns[0].Cache("auth:"), ns[1].Cache("auth:")
	if v, ttl, err := b.Get(ctx, "k"); err != nil || v != nil || ttl > 0 {
		t.Fatalf("Get of a missing key = %q %v %v, want nothing", v, ttl, err)
	}
	if err := a.Set(ctx, "k", []byte("policy"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	v, ttl, err := b.Get(ctx, "k")
	if err != nil || string(v) != "policy" || ttl <= 0 || ttl > 10*time.Second {
		t.Errorf("Get on the other node = %q %v %v, want policy within 10 s", v, ttl, err)
	}
	if v, _, _ := ns[0].Cache("other:").Get(ctx, "k"); v != nil {
		t.Errorf("another cache's Get = %q, want nothing", v)
	}
	if n, err := rdb.Exists(ctx, prefix+"auth:k").Result(); err != nil || n != 1 {
		t.Errorf("key %sauth:k exists = %d %v, want 1", prefix, n, err)
	}
}
