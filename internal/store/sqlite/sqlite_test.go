package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apigw/apigw/internal/store"
	"github.com/apigw/apigw/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "apigw.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "apigw.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", "a", []byte("kept")) }); err != nil {
		t.Fatal(err)
	}
	_, rev, _ := s.Changes(ctx, 0)
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Get(ctx, "k", "a"); err != nil || string(v) != "kept" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
	if _, rev2, _ := s.Changes(ctx, 0); rev2 != rev {
		t.Fatalf("revision after reopen = %d, want %d", rev2, rev)
	}
}
