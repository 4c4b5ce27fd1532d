package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
)

// maxCachedKeys bounds the signing-key cache. A signing key is valid for one
// day, region and service, so a busy gateway needs roughly one entry per
// active access key per day.
const maxCachedKeys = 4096

type cacheKey struct {
	secret, date, region, service string
}

// keyCache holds derived signing keys so that repeated verifications skip the
// four-HMAC derivation. It is safe for concurrent use and bounded: when full,
// an arbitrary entry is dropped before adding a new one.
type keyCache struct {
	mu  sync.RWMutex
	m   map[cacheKey][sha256.Size]byte
	max int
}

var signingKeys = &keyCache{max: maxCachedKeys}

func (c *keyCache) get(k cacheKey) ([sha256.Size]byte, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *keyCache) put(k cacheKey, v [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[cacheKey][sha256.Size]byte)
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m { // map order is unspecified: this drops an arbitrary entry
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
}

func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// signingKey returns HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func signingKey(secret, date, region, service string) [sha256.Size]byte {
	k := cacheKey{secret, date, region, service}
	if v, ok := signingKeys.get(k); ok {
		return v
	}
	v := deriveKey(secret, date, region, service)
	signingKeys.put(k, v)
	return v
}

func deriveKey(secret, date, region, service string) [sha256.Size]byte {
	kDate := hmacSHA256([]byte("AWS4"+secret), date)
	kRegion := hmacSHA256(kDate, region)
	kService := hmacSHA256(kRegion, service)
	var out [sha256.Size]byte
	copy(out[:], hmacSHA256(kService, terminator))
	return out
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
