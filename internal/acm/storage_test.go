package acm

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
	"github.com/apigw/apigw/internal/store/sqlite"
)

// xorSealer stands for the master key's sealing: reversible, bound to aad.
func xorSealer() (seal, open func([]byte, string) ([]byte, error)) {
	f := func(p []byte, aad string) ([]byte, error) {
		out := make([]byte, len(p))
		for i := range p {
			out[i] = p[i] ^ 0x5a ^ aad[i%len(aad)]
		}
		return out, nil
	}
	return f, f
}

// openTestStore is a fresh SQLite store, closed when the test ends.
func openTestStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "apigw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestStorage(t *testing.T) *Storage {
	t.Helper()
	seal, open := xorSealer()
	return &Storage{Records: openTestStore(t), Seal: seal, Open: open, Poll: 10 * time.Millisecond}
}

func TestStorageFiles(t *testing.T) {
	ctx := context.Background()
	s := newTestStorage(t)
	files := map[string]string{
		"acme/ca/users/a@b/a.json":   "account",
		"acme/ca/users/a@b/a.key":    "-----BEGIN EC PRIVATE KEY-----secret",
		"acme/ca/challenge_tokens/x": "token",
		"certificates/ca/x/x.crt":    "cert",
		"acmeish/not-below-acme":     "other",
	}
	for k, v := range files {
		if err := s.Store(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range files {
		got, err := s.Load(ctx, k)
		if err != nil || string(got) != v {
			t.Errorf("Load(%s) = %q, %v; want %q", k, got, err, v)
		}
	}
	t.Run("private keys sealed at rest", func(t *testing.T) {
		raw, err := s.Records.Get(ctx, model.KindACMEData, "acme/ca/users/a@b/a.key")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("secret")) || bytes.Contains(raw, []byte("LS0tLS1CRUdJTi")) {
			t.Errorf("the key is stored in the clear: %s", raw)
		}
		raw, _ = s.Records.Get(ctx, model.KindACMEData, "acme/ca/users/a@b/a.json")
		if bytes.Contains(raw, []byte(`"sealed"`)) {
			t.Errorf("a non-key value is sealed: %s", raw)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := s.Load(ctx, "acme/nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load = %v, want fs.ErrNotExist", err)
		}
		if _, err := s.Stat(ctx, "acme/nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat = %v, want fs.ErrNotExist", err)
		}
		if _, err := s.List(ctx, "acme/nope", true); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("List = %v, want fs.ErrNotExist", err)
		}
		if s.Exists(ctx, "acme/nope") || s.Exists(ctx, "acme/c") {
			t.Error("Exists of a missing key (or a partial component) is true")
		}
	})
	t.Run("list", func(t *testing.T) {
		for _, tc := range []struct {
			path      string
			recursive bool
			want      []string
		}{
			{"acme", false, []string{"acme/ca"}},
			{"acme/ca", false, []string{"acme/ca/challenge_tokens", "acme/ca/users"}},
			{"acme", true, []string{"acme/ca/challenge_tokens/x", "acme/ca/users/a@b/a.json", "acme/ca/users/a@b/a.key"}},
			{"", false, []string{"acme", "acmeish", "certificates"}},
		} {
			got, err := s.List(ctx, tc.path, tc.recursive)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("List(%q, %v) = %q, %v; want %q", tc.path, tc.recursive, got, err, tc.want)
			}
		}
	})
	t.Run("stat", func(t *testing.T) {
		before := time.Now().Add(-time.Minute)
		ki, err := s.Stat(ctx, "acme/ca/users/a@b/a.json")
		if err != nil || !ki.IsTerminal || ki.Size != int64(len("account")) || ki.Modified.Before(before) {
			t.Errorf("Stat(file) = %+v, %v", ki, err)
		}
		ki, err = s.Stat(ctx, "acme/ca/users")
		if err != nil || ki.IsTerminal || ki.Key != "acme/ca/users" {
			t.Errorf("Stat(dir) = %+v, %v", ki, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := s.Delete(ctx, "acme/ca/users"); err != nil {
			t.Fatal(err)
		}
		if s.Exists(ctx, "acme/ca/users/a@b/a.json") || s.Exists(ctx, "acme/ca/users") {
			t.Error("a deleted directory's files remain")
		}
		if !s.Exists(ctx, "acme/ca/challenge_tokens/x") {
			t.Error("Delete removed a sibling")
		}
		if err := s.Delete(ctx, "acme/ca/users"); err != nil {
			t.Errorf("deleting a missing key: %v, want nil", err)
		}
	})
}

func TestStorageLocks(t *testing.T) {
	ctx := context.Background()
	a := newTestStorage(t)
	b := &Storage{Records: a.Records, Seal: a.Seal, Open: a.Open, Poll: 10 * time.Millisecond} // another node
	if err := a.Lock(ctx, "issue/1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.TryLock(ctx, "issue/1"); ok || err != nil {
		t.Fatalf("second node TryLock of a held lock = %v, %v", ok, err)
	}
	if ok, _ := b.TryLock(ctx, "issue/2"); !ok {
		t.Fatal("another name is not free")
	}
	b.Unlock(ctx, "issue/2")

	var got atomic.Bool
	done := make(chan error)
	go func() {
		err := b.Lock(ctx, "issue/1")
		got.Store(true)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // b polls a few times meanwhile
	if got.Load() {
		t.Fatal("Lock returned while another node held the lock")
	}
	if err := a.Unlock(ctx, "issue/1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Lock did not get a released lock")
	}
	if err := b.Unlock(ctx, "issue/1"); err != nil {
		t.Fatal(err)
	}

	t.Run("context ends the wait", func(t *testing.T) {
		a.Lock(ctx, "held")
		t.Cleanup(func() { a.Unlock(ctx, "held") })
		c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := b.Lock(c, "held"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lock = %v, want the context's error", err)
		}
	})
	t.Run("a stale lock is taken over", func(t *testing.T) {
		dead := &Storage{Records: a.Records, Lease: time.Hour}
		if ok, _ := dead.TryLock(ctx, "stale"); !ok {
			t.Fatal("TryLock")
		}
		later := &Storage{Records: a.Records, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
		if ok, err := later.TryLock(ctx, "stale"); !ok || err != nil {
			t.Fatalf("TryLock of a lock whose lease ran out = %v, %v", ok, err)
		}
		// The first holder's late Unlock leaves the new holder's lock alone.
		dead.Unlock(ctx, "stale")
		if ok, _ := b.TryLock(ctx, "stale"); ok {
			t.Error("the old holder's Unlock released the new holder's lock")
		}
		later.Unlock(ctx, "stale")
	})
	t.Run("the lease is renewed while held", func(t *testing.T) {
		short := &Storage{Records: a.Records, Lease: 300 * time.Millisecond}
		if ok, _ := short.TryLock(ctx, "long job"); !ok {
			t.Fatal("TryLock")
		}
		time.Sleep(700 * time.Millisecond) // past two leases
		if ok, _ := b.TryLock(ctx, "long job"); ok {
			t.Error("a held lock went stale while its holder was alive")
		}
		short.Unlock(ctx, "long job")
	})
}
