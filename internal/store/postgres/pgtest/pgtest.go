// Package pgtest gives tests a PostgreSQL schema of their own, in the
// database APIGW_TEST_POSTGRES names, so that parallel tests and test runs
// do not collide.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Env names the variable holding the test database's URL, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const Env = "APIGW_TEST_POSTGRES"

var createOnce sync.Map // database URL → error of creating it

// URL returns the URL of a new, empty schema (the first of its
// search_path), dropped when the test ends. It skips the test when
// APIGW_TEST_POSTGRES is unset.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip(Env + " is not set: skipping a test that needs PostgreSQL (e.g. " + Env + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := connect(ctx, base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	rand.Read(b)
	schema := "apigw_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(t, base, schema)
}

// WithSearchPath returns base with its search_path set to schema.
func WithSearchPath(t testing.TB, base, schema string) string {
	t.Helper()
	if !strings.Contains(base, "://") {
		return base + " search_path=" + schema
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// connect connects to base, creating its database first when it does not
// exist (a fresh PostgreSQL has no "test" database).
func connect(ctx context.Context, base string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, base)
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || pe.Code != "3D000" {
		return conn, err
	}
	v, _ := createOnce.LoadOrStore(base, &sync.Once{})
	v.(*sync.Once).Do(func() {
		cfg, perr := pgx.ParseConfig(base)
		if perr != nil {
			return
		}
		name := cfg.Database
		cfg.Database = "postgres"
		admin, cerr := pgx.ConnectConfig(ctx, cfg)
		if cerr != nil {
			return
		}
		defer admin.Close(context.Background())
		admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	})
	return pgx.Connect(ctx, base)
}
