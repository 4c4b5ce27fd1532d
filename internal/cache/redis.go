package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// retryAfter is how long a Redis that failed is left alone before the
// next request tries it again; meanwhile the memory serves.
const retryAfter = time.Second

// Redis keeps the entries of every node's stage caches in one Redis, so
// that an answer cached by one node is served by all. Keys are
// {prefix}stagecache:{scope}{key}, with the entry's TTL set in Redis.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	// downUntil is when a Redis that failed is tried again (Unix ns).
	downUntil atomic.Int64
	errors    atomic.Uint64
}

// NewRedis returns the shared store on rdb; prefix starts apigw's keys
// ("apigw:" when empty).
func NewRedis(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Redis {
	if prefix == "" {
		prefix = "apigw:"
	}
	if log == nil {
		log = slog.Default()
	}
	return &Redis{rdb: rdb, prefix: prefix + "stagecache:", log: log}
}

// Errors is how many Redis reads and writes failed.
func (r *Redis) Errors() uint64 { return r.errors.Load() }

// Key is the Redis key of a cache entry, for tests and operators.
func (r *Redis) Key(scope, key string) string { return r.prefix + scope + key }

func (r *Redis) up() bool {
	d := r.downUntil.Load()
	return d == 0 || time.Now().UnixNano() >= d
}

// failed notes a Redis error: the memory serves for retryAfter.
func (r *Redis) failed(err error) {
	r.errors.Add(1)
	if r.downUntil.Swap(time.Now().Add(retryAfter).UnixNano()) == 0 {
		r.log.Warn("stage cache: redis unreachable, caching in memory", "err", err)
	}
}

// get returns the entry under key, nil with a nil error when there is
// none (or it does not decode).
func (r *Redis) get(ctx context.Context, key string) (*Entry, error) {
	b, err := r.rdb.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		r.recovered()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.recovered()
	e, err := Decode(b)
	if err != nil {
		return nil, nil // a foreign or cut value: a miss, overwritten on the next store
	}
	return e, nil
}

func (r *Redis) set(ctx context.Context, key string, e *Entry) error {
	err := r.rdb.Set(ctx, r.prefix+key, Encode(e), e.TTL).Err()
	if err == nil {
		r.recovered()
	}
	return err
}

func (r *Redis) recovered() {
	if r.downUntil.Load() != 0 && r.downUntil.Swap(0) != 0 {
		r.log.Info("stage cache: redis answers again")
	}
}
