package limit

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cache is a cache in the Redis of a Redis limiter, shared by the nodes:
// values by key, each with a time to live (the Lambda authorizers'
// results). While Redis is unreachable it holds nothing: Get finds
// nothing and Set stores nothing, and each node caches on its own.
type Cache struct {
	r      *Redis
	prefix string
}

// Cache returns the cache of keys {prefix}{name}{key}.
func (r *Redis) Cache(name string) *Cache { return &Cache{r: r, prefix: r.prefix + name} }

// Get returns key's value and how long it still lives, or nil.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	if c.r.down.Load() {
		return nil, 0, nil
	}
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := c.r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, c.prefix+key)
		ttl = p.PTTL(ctx, c.prefix+key)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	b, _ := get.Bytes()
	return b, ttl.Val(), nil
}

// Set stores value under key for ttl.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if c.r.down.Load() || ttl <= 0 {
		return nil
	}
	return c.r.rdb.Set(ctx, c.prefix+key, value, ttl).Err()
}
