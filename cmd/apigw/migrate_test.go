package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/store"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
	"github.com/apigw/apigw/internal/store/sqlite"
)

// run runs the command line in this process and returns its output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := rootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestMigrateCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "apigw.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "restapi", "abc", []byte("{}")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	t.Run("needs both stores", func(t *testing.T) {
		if _, err := run(t, "migrate", "--from", "sqlite:"+dir); err == nil || err.Error() != "migrate needs --from and --to" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no store at the source", func(t *testing.T) {
		empty := t.TempDir()
		_, err := run(t, "migrate", "--from", "sqlite:"+empty, "--to", "postgres://127.0.0.1:1/x")
		if err == nil || !strings.HasPrefix(err.Error(), "migrate from sqlite:"+empty+": no apigw store there") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("copies", func(t *testing.T) {
		url := pgtest.URL(t)
		t.Setenv("APIGW_MASTER_KEY", "")
		out, err := run(t, "migrate", "--from", "sqlite:"+dir, "--to", url)
		if err != nil {
			t.Fatal(err)
		}
		want := "apigw: copied 1 records from sqlite:" + dir + "\napigw: give every node the secret key: --secret-key-file " + filepath.Join(dir, "master.key") + "\n"
		if out != want {
			t.Fatalf("output:\n%s\nwant:\n%s", out, want)
		}
	})
}

func TestServeUnknownStore(t *testing.T) {
	_, err := run(t, "serve", "--data-dir", t.TempDir(), "--store", "mysql://db", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	if err == nil || err.Error() != `store "mysql://db" is not supported (use sqlite, or postgres://user@host:5432/db)` {
		t.Fatalf("err = %v", err)
	}
}
