// Package storetest is the conformance suite every store.Store passes.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/apigw/apigw/internal/store"
)

// Run runs the suite against stores made by open. Each call of open must
// return an empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("PutGetListDelete", func(t *testing.T) {
		s := open(t)
		if _, err := s.Get(ctx, "k", "a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get of missing record: err = %v, want ErrNotFound", err)
		}
		err := s.Update(ctx, func(tx store.Tx) error {
			for _, k := range []string{"api1/b", "api1/a", "api2/a", "api10/a"} {
				if err := tx.Put(ctx, "k", k, []byte("v-"+k)); err != nil {
					return err
				}
			}
			return tx.Put(ctx, "other", "api1/a", []byte("x"))
		})
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.Get(ctx, "k", "api1/a")
		if err != nil || string(v) != "v-api1/a" {
			t.Fatalf("Get = %q, %v", v, err)
		}
		items, err := s.List(ctx, "k", "api1/")
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(items); got != "[api1/a api1/b]" {
			t.Fatalf("List(api1/) = %s", got)
		}
		all, err := s.List(ctx, "k", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(all); got != "[api1/a api1/b api10/a api2/a]" {
			t.Fatalf("List() = %s", got)
		}
		err = s.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, "k", "api1/a") })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "k", "api1/a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get after delete: %v", err)
		}
		err = s.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, "k", "api1/a") })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
	})

	t.Run("CreateAndRollback", func(t *testing.T) {
		s := open(t)
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Create(ctx, "k", "a", []byte("1")) }); err != nil {
			t.Fatal(err)
		}
		err := s.Update(ctx, func(tx store.Tx) error { return tx.Create(ctx, "k", "a", []byte("2")) })
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("Create of existing: %v, want ErrExists", err)
		}
		boom := errors.New("boom")
		err = s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, "k", "a", []byte("3")); err != nil {
				return err
			}
			if err := tx.Put(ctx, "k", "b", []byte("3")); err != nil {
				return err
			}
			// The transaction sees its own writes.
			if v, err := tx.Get(ctx, "k", "b"); err != nil || string(v) != "3" {
				return fmt.Errorf("read own write: %q %v", v, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want boom", err)
		}
		if v, _ := s.Get(ctx, "k", "a"); string(v) != "1" {
			t.Fatalf("rolled back write is visible: %q", v)
		}
		if _, err := s.Get(ctx, "k", "b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("rolled back create is visible: %v", err)
		}
	})

	t.Run("Changes", func(t *testing.T) {
		s := open(t)
		_, rev0, err := s.Changes(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		ch := s.Changed()
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", "a", []byte("1")) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		default:
			t.Fatal("Changed channel not closed after a commit")
		}
		if err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, "k", "b", []byte("1")); err != nil {
				return err
			}
			return tx.Delete(ctx, "k", "a")
		}); err != nil {
			t.Fatal(err)
		}
		changes, rev, err := s.Changes(ctx, rev0)
		if err != nil {
			t.Fatal(err)
		}
		if rev <= rev0 {
			t.Fatalf("revision did not grow: %d -> %d", rev0, rev)
		}
		got := map[string]bool{}
		for _, c := range changes {
			got[c.Key] = c.Deleted
			if c.Rev != rev {
				t.Errorf("change %+v: rev %d, want %d (one transaction, one revision)", c, c.Rev, rev)
			}
		}
		if len(got) != 2 || !got["a"] || got["b"] {
			t.Fatalf("Changes = %+v, want a deleted and b written", changes)
		}
		again, rev2, err := s.Changes(ctx, rev)
		if err != nil || len(again) != 0 || rev2 != rev {
			t.Fatalf("Changes(current) = %v, %d, %v; want nothing", again, rev2, err)
		}
		// A transaction that writes nothing does not move the revision.
		if err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.Get(ctx, "k", "b"); return err }); err != nil {
			t.Fatal(err)
		}
		if _, rev3, _ := s.Changes(ctx, rev); rev3 != rev {
			t.Fatalf("read-only transaction moved revision %d -> %d", rev, rev3)
		}
	})

	t.Run("UpdateQuiet", func(t *testing.T) {
		s := open(t)
		q, ok := s.(store.QuietUpdater)
		if !ok {
			t.Skip("the store has no quiet updates")
		}
		_, rev0, _ := s.Changes(ctx, 0)
		ch := s.Changed()
		if err := q.UpdateQuiet(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", "q", []byte("1")) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			t.Fatal("a quiet update closed the Changed channel")
		default:
		}
		changes, rev, err := s.Changes(ctx, rev0)
		if err != nil || rev <= rev0 || len(changes) != 1 || changes[0].Key != "q" {
			t.Fatalf("Changes after a quiet update = %+v, %d, %v; want the write listed", changes, rev, err)
		}
	})

	t.Run("ConcurrentUpdates", func(t *testing.T) {
		s := open(t)
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", "n", []byte("0")) }); err != nil {
			t.Fatal(err)
		}
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					err := s.Update(ctx, func(tx store.Tx) error {
						v, err := tx.Get(ctx, "k", "n")
						if err != nil {
							return err
						}
						var n int
						fmt.Sscan(string(v), &n)
						return tx.Put(ctx, "k", "n", []byte(fmt.Sprint(n+1)))
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		v, _ := s.Get(ctx, "k", "n")
		if string(v) != fmt.Sprint(workers*each) {
			t.Fatalf("counter = %s, want %d: lost updates", v, workers*each)
		}
	})
}

func keys(items []store.Item) string {
	ks := make([]string, len(items))
	for i, it := range items {
		ks[i] = it.Key
	}
	return fmt.Sprint(ks)
}
