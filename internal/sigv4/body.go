package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"sync"
)

// Errors of ReadHashed.
var (
	// ErrBodyTooLarge: the body is longer than the limit given.
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrBusy: the budget of unverified bytes is spent.
	ErrBusy = errors.New("too many unverified request bodies")
)

// Budget counts the body bytes held for callers whose signature is not
// verified yet, against a fixed Total, so that made-up signatures cannot
// make a server buffer without bound. It never waits: a request that would
// wait while holding part of its body could deadlock with others doing the
// same.
type Budget struct {
	Total int64

	mu   sync.Mutex
	used int64
}

// TryAcquire takes n bytes of the budget, or reports false.
func (b *Budget) TryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.Total-b.used {
		return false
	}
	b.used += n
	return true
}

// Release gives n bytes back.
func (b *Budget) Release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// Reader returns a BodyReader for VerifyStream that reads body (of
// declared length, -1 when unknown) within limit, charging the bytes it
// buffers for a caller not yet verified to b. The caller releases *held
// once the signature is decided.
func (b *Budget) Reader(body io.Reader, length, limit int64, held *int64) BodyReader {
	return func(verified bool) ([]byte, string, error) {
		charge := func(n int64) bool {
			if verified {
				return true
			}
			if !b.TryAcquire(n) {
				return false
			}
			*held += n
			return true
		}
		return ReadHashed(body, length, limit, charge)
	}
}

// ReadHashed reads body whole, hashing it as it goes. length is the
// declared Content-Length (-1 when unknown). Every byte of buffer is first
// charged: all at once when the length is known, as the buffer grows
// otherwise; a refused charge ends the read with ErrBusy.
func ReadHashed(body io.Reader, length, limit int64, charge func(int64) bool) ([]byte, string, error) {
	if length > limit {
		return nil, "", ErrBodyTooLarge
	}
	if body == nil || body == http.NoBody || length == 0 {
		return nil, hex.EncodeToString(emptySum[:]), nil
	}
	size := int64(32 << 10)
	if length > 0 {
		size = length
	}
	if !charge(size) {
		return nil, "", ErrBusy
	}
	buf := make([]byte, 0, size)
	h := sha256.New()
	for {
		if len(buf) == cap(buf) {
			if length > 0 || int64(len(buf)) > limit {
				// Past the declared length (the server refuses that
				// already) or past the limit.
				var one [1]byte
				if n, _ := io.ReadFull(body, one[:]); n == 0 {
					break
				}
				return nil, "", ErrBodyTooLarge
			}
			grow := min(int64(cap(buf)), limit+1-int64(cap(buf)))
			if grow <= 0 {
				return nil, "", ErrBodyTooLarge
			}
			if !charge(grow) {
				return nil, "", ErrBusy
			}
			nb := make([]byte, len(buf), int64(cap(buf))+grow)
			copy(nb, buf)
			buf = nb
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		h.Write(buf[len(buf) : len(buf)+n])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
	}
	if int64(len(buf)) > limit {
		return nil, "", ErrBodyTooLarge
	}
	return buf, hex.EncodeToString(h.Sum(nil)), nil
}

var emptySum = sha256.Sum256(nil)
