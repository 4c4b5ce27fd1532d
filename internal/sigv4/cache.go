package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// maxCachedKeys bounds the signing-key cache. A signing key is valid for one
// day, region and service, so a busy gateway needs roughly one entry per
// active access key per day.
const maxCachedKeys = 4096

type cacheKey struct {
	secret, date, region, service string
}

// macKey is a derived signing key with a pool of HMAC-SHA256 states keyed
// with it: after its first use, an HMAC resets to its keyed state without
// hashing the key pads again, and a signature check allocates nothing.
type macKey struct {
	key  [sha256.Size]byte
	macs sync.Pool // of *keyedMAC
}

type keyedMAC struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// equal reports, in constant time, whether HMAC-SHA256(key, msg) is want.
func (k *macKey) equal(msg []byte, want *[sha256.Size]byte) bool {
	m, _ := k.macs.Get().(*keyedMAC)
	if m == nil {
		m = &keyedMAC{h: hmac.New(sha256.New, k.key[:])}
	}
	m.h.Write(msg)
	ok := hmac.Equal(m.h.Sum(m.sum[:0]), want[:])
	m.h.Reset()
	k.macs.Put(m)
	return ok
}

// keyCache holds derived signing keys so that repeated verifications skip the
// four-HMAC derivation. It is safe for concurrent use and bounded: when full,
// an arbitrary entry is dropped before adding a new one.
type keyCache struct {
	mu  sync.RWMutex
	m   map[cacheKey]*macKey
	max int
}

var signingKeys = &keyCache{max: maxCachedKeys}

func (c *keyCache) get(k cacheKey) (*macKey, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *keyCache) put(k cacheKey, v *macKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[cacheKey]*macKey)
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

// signingKey returns the key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date),
// region), service), "aws4_request"), from the cache when it is there.
func signingKey(secret, date, region, service string) *macKey {
	k := cacheKey{secret, date, region, service}
	if v, ok := signingKeys.get(k); ok {
		return v
	}
	v := &macKey{key: deriveKey(secret, date, region, service)}
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
