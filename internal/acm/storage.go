package acm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// Storage is certmagic's storage over apigw's store, so that every node
// sharing a store (PostgreSQL) sees one ACME account, the challenges in
// flight and the locks. Values of keys ending in ".key" (private keys)
// are sealed with Seal/Open. Locks are records with a lease that the
// holder renews while it works; a holder that dies leaves a lock that
// others take once its lease ran out.
type Storage struct {
	Records store.Store
	Seal    func(plaintext []byte, aad string) ([]byte, error)
	Open    func(sealed []byte, aad string) ([]byte, error)
	// Lease is how long a lock lasts unless renewed; 0 means 30 seconds.
	Lease time.Duration
	// Poll is how often a waiting Lock looks again; 0 means 250ms.
	Poll time.Duration
	Now  func() time.Time

	mu   sync.Mutex
	held map[string]heldLock // name → this process's lock
}

var _ certmagic.Storage = (*Storage)(nil)
var _ certmagic.TryLocker = (*Storage)(nil)

type heldLock struct {
	token string
	stop  context.CancelFunc
	done  chan struct{}
}

// storedValue is one stored file of certmagic's storage.
type storedValue struct {
	Modified int64  `json:"modified"` // unix nanoseconds
	Size     int64  `json:"size"`
	Sealed   bool   `json:"sealed,omitempty"`
	Value    []byte `json:"value"`
}

type lockRecord struct {
	Token   string `json:"token"`
	Expires int64  `json:"expires"` // unix nanoseconds
}

func (s *Storage) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Storage) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return 30 * time.Second
}

// update commits fn, quietly when the store can: the data plane need not
// wake up for ACME bookkeeping.
func (s *Storage) update(ctx context.Context, fn func(tx store.Tx) error) error {
	if q, ok := s.Records.(store.QuietUpdater); ok {
		return q.UpdateQuiet(ctx, fn)
	}
	return s.Records.Update(ctx, fn)
}

func sealed(key string) bool { return strings.HasSuffix(key, ".key") }

// Store puts value at key.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	v := storedValue{Modified: s.now().UnixNano(), Size: int64(len(value)), Value: value}
	if sealed(key) {
		if s.Seal == nil {
			return errors.New("acm storage: no sealer for private keys")
		}
		b, err := s.Seal(value, model.ACMEDataAAD(key))
		if err != nil {
			return fmt.Errorf("acm storage: seal %s: %w", key, err)
		}
		v.Sealed, v.Value = true, b
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx store.Tx) error { return tx.Put(ctx, model.KindACMEData, key, b) })
}

func (s *Storage) get(ctx context.Context, key string) (*storedValue, error) {
	b, err := s.Records.Get(ctx, model.KindACMEData, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	v := new(storedValue)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("acm storage: decode %s: %w", key, err)
	}
	return v, nil
}

// Load returns the value at key, or fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	v, err := s.get(ctx, key)
	if err != nil {
		return nil, err
	}
	if !v.Sealed {
		return v.Value, nil
	}
	if s.Open == nil {
		return nil, errors.New("acm storage: no opener for private keys")
	}
	p, err := s.Open(v.Value, model.ACMEDataAAD(key))
	if err != nil {
		return nil, fmt.Errorf("acm storage: open %s: %w", key, err)
	}
	return p, nil
}

// Delete removes key and every key below it; a missing key is no error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	return s.update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(ctx, model.KindACMEData, key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		below, err := tx.List(ctx, model.KindACMEData, key+"/")
		if err != nil {
			return err
		}
		for _, it := range below {
			if err := tx.Delete(ctx, model.KindACMEData, it.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}

// Exists tells whether key is a file or a directory (a prefix of files).
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

func dirPrefix(path string) string {
	path = strings.Trim(path, "/")
	if path == "" {
		return ""
	}
	return path + "/"
}

// List lists the keys below path: every file when recursive, else the
// files and directories right under it.
func (s *Storage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	prefix := dirPrefix(path)
	items, err := s.Records.List(ctx, model.KindACMEData, prefix)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var keys []string
	for _, it := range items {
		k := it.Key
		if !recursive {
			rest := strings.TrimPrefix(k, prefix)
			if child, _, ok := strings.Cut(rest, "/"); ok {
				k = prefix + child
			}
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fs.ErrNotExist
	}
	sort.Strings(keys)
	return keys, nil
}

// Stat describes key: a file with its size and time, or a directory.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	v, err := s.get(ctx, key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: time.Unix(0, v.Modified), Size: v.Size, IsTerminal: true}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return certmagic.KeyInfo{}, err
	}
	below, err := s.Records.List(ctx, model.KindACMEData, dirPrefix(key))
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if len(below) == 0 {
		return certmagic.KeyInfo{}, fs.ErrNotExist
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// Lock takes the lock name, waiting while another holds it (until its
// lease runs out) or until ctx ends.
func (s *Storage) Lock(ctx context.Context, name string) error {
	poll := s.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// TryLock takes the lock name if nobody holds it.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	s.mu.Lock()
	if _, mine := s.held[name]; mine {
		s.mu.Unlock()
		return false, nil // certmagic's locks are not reentrant
	}
	s.mu.Unlock()
	token := newToken()
	taken := false
	err := s.update(ctx, func(tx store.Tx) error {
		taken = false
		b, err := tx.Get(ctx, model.KindACMELock, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			var l lockRecord
			if json.Unmarshal(b, &l) == nil && l.Expires > s.now().UnixNano() {
				return nil // held, and not stale
			}
		}
		taken = true
		b, _ = json.Marshal(lockRecord{Token: token, Expires: s.now().Add(s.lease()).UnixNano()})
		return tx.Put(ctx, model.KindACMELock, name, b)
	})
	if err != nil || !taken {
		return false, err
	}
	keepCtx, stop := context.WithCancel(context.Background())
	h := heldLock{token: token, stop: stop, done: make(chan struct{})}
	s.mu.Lock()
	if s.held == nil {
		s.held = map[string]heldLock{}
	}
	s.held[name] = h
	s.mu.Unlock()
	go s.keepAlive(keepCtx, name, h)
	return true, nil
}

// keepAlive renews the lease of a held lock until it is released.
func (s *Storage) keepAlive(ctx context.Context, name string, h heldLock) {
	defer close(h.done)
	t := time.NewTicker(s.lease() / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.RenewLockLease(ctx, name, s.lease()); err != nil && ctx.Err() == nil {
				return // lost it: another node took it over
			}
		}
	}
}

// RenewLockLease extends a lock this process holds.
func (s *Storage) RenewLockLease(ctx context.Context, name string, lease time.Duration) error {
	s.mu.Lock()
	h, ok := s.held[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("acm storage: lock %s is not held", name)
	}
	return s.update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(ctx, model.KindACMELock, name)
		if err != nil {
			return fmt.Errorf("acm storage: renew lock %s: %w", name, err)
		}
		var l lockRecord
		if json.Unmarshal(b, &l) != nil || l.Token != h.token {
			return fmt.Errorf("acm storage: lock %s was taken over", name)
		}
		l.Expires = s.now().Add(lease).UnixNano()
		b, _ = json.Marshal(l)
		return tx.Put(ctx, model.KindACMELock, name, b)
	})
}

// Unlock releases a lock Lock or TryLock took.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h, ok := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("acm storage: unlock %s: not locked here", name)
	}
	h.stop()
	<-h.done
	ctx = context.WithoutCancel(ctx)
	return s.update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(ctx, model.KindACMELock, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var l lockRecord
		if json.Unmarshal(b, &l) == nil && l.Token != h.token {
			return nil // taken over after our lease ran out: theirs now
		}
		return tx.Delete(ctx, model.KindACMELock, name)
	})
}

func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
