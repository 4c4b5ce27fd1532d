package sqlite

import (
	"context"
	"database/sql"
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

// TestMigratesFirstLayout: a database of the first layout (table items,
// WITHOUT ROWID) opens with its records.
func TestMigratesFirstLayout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `CREATE TABLE items (kind TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, rev INTEGER NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
		CREATE TABLE revision (id INTEGER PRIMARY KEY CHECK (id = 1), rev INTEGER NOT NULL);
		INSERT INTO revision VALUES (1, 7);
		INSERT INTO items VALUES ('restapi', 'abc', 'old', 7);`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Get(ctx, "restapi", "abc"); err != nil || string(v) != "old" {
		t.Fatalf("after migration: %q, %v", v, err)
	}
	if _, rev, _ := s.Changes(ctx, 0); rev != 7 {
		t.Fatalf("revision after migration = %d, want 7", rev)
	}
}
