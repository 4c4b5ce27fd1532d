// Package cache is the stage cache's storage: the answers API Gateway
// keeps for a stage's cached methods, in this process's memory (bounded by
// bytes) or, when nodes share them, in Redis with the memory as the
// fallback while Redis is unreachable.
package cache

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// MaxEntryBytes is the largest answer API Gateway caches (1 MB): a larger
// one is served and not kept.
const MaxEntryBytes = 1 << 20

// entryOverhead is what an entry weighs beyond its key, fields and body:
// the entry value, the map, otter's node.
const entryOverhead = 160

// Entry is a cached answer: the status, the header fields the gateway
// replays, and the body.
type Entry struct {
	Status int
	Header http.Header
	Body   string
	// TTL is how long the entry is kept from when it is stored.
	TTL time.Duration
}

// weight is an estimate of the bytes e and its key hold.
func (e *Entry) weight(key string) uint32 {
	n := len(key) + len(e.Body) + entryOverhead
	for k, vs := range e.Header {
		n += len(k) + 16
		for _, v := range vs {
			n += len(v) + 16
		}
	}
	return uint32(n)
}

// Cache is one stage's cache. Its methods are safe for concurrent use.
type Cache struct {
	local    *otter.Cache[string, *Entry]
	maxBytes uint64
	// shared, when set, is where entries live while it answers; scope
	// starts this cache's keys in it.
	shared *Redis
	scope  string
	// stored counts the entries kept (for tests); the gateway counts
	// CacheHitCount and CacheMissCount itself.
	stored atomic.Uint64
}

// New returns a cache of at most maxBytes in memory. With shared, entries
// are kept in Redis under scope (which names the stage) and the memory is
// used only while Redis does not answer.
func New(maxBytes int64, shared *Redis, scope string) *Cache {
	if maxBytes < MaxEntryBytes {
		maxBytes = MaxEntryBytes
	}
	c := &Cache{maxBytes: uint64(maxBytes), shared: shared, scope: scope}
	c.local = otter.Must(&otter.Options[string, *Entry]{
		MaximumWeight: c.maxBytes,
		Weigher:       func(k string, e *Entry) uint32 { return e.weight(k) },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *Entry]) time.Duration {
			return e.Value.TTL
		}),
	})
	return c
}

// MaxBytes is the memory bound of the cache.
func (c *Cache) MaxBytes() int64 { return int64(c.maxBytes) }

// setTimeout bounds a write to Redis, which outlives the request's context.
const setTimeout = 2 * time.Second

// Get returns the entry under key, if one is kept and has not expired.
func (c *Cache) Get(ctx context.Context, key string) (*Entry, bool) {
	if c.shared != nil && c.shared.up() {
		e, err := c.shared.get(ctx, c.scope+key)
		if err == nil {
			return e, e != nil
		}
		if ctx.Err() != nil {
			// The caller went away: no sign that Redis did, and the local
			// copy may be stale.
			return nil, false
		}
		c.shared.failed(err)
	}
	return c.local.GetIfPresent(key)
}

// Set keeps e under key for e.TTL. Entries over MaxEntryBytes, and those
// with no TTL, are not kept.
func (c *Cache) Set(ctx context.Context, key string, e *Entry) {
	if len(e.Body) > MaxEntryBytes || e.TTL <= 0 {
		return
	}
	c.stored.Add(1)
	if c.shared != nil && c.shared.up() {
		// Kept whether or not the client that caused it is still there.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), setTimeout)
		err := c.shared.set(sctx, c.scope+key, e)
		cancel()
		if err == nil {
			return
		}
		c.shared.failed(err)
	}
	c.local.Set(key, e)
}

// Flush drops every entry kept in memory. Entries in Redis are left to
// expire: a flushed stage reads them under a new scope (see Scope).
func (c *Cache) Flush() { c.local.InvalidateAll() }

// Close stops the cache's background work; it must not be used after.
func (c *Cache) Close() {
	c.local.InvalidateAll()
	c.local.StopAllGoroutines()
}

// Len is the number of entries kept in memory.
func (c *Cache) Len() int { return c.local.EstimatedSize() }

// Stored is how many entries were handed to Set and kept.
func (c *Cache) Stored() uint64 { return c.stored.Load() }

// WeightedSize is the bytes the entries kept in memory weigh.
func (c *Cache) WeightedSize() uint64 { return c.local.WeightedSize() }
