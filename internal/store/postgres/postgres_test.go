package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/apigw/apigw/internal/store"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
	"github.com/apigw/apigw/internal/store/storetest"
)

func open(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) })
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := open(t, url)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", "a", []byte("kept")) }); err != nil {
		t.Fatal(err)
	}
	_, rev, _ := s.Changes(ctx, 0)
	s.Close()
	s = open(t, url)
	if v, err := s.Get(ctx, "k", "a"); err != nil || string(v) != "kept" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
	if _, rev2, _ := s.Changes(ctx, 0); rev2 != rev {
		t.Fatalf("revision after reopen = %d, want %d", rev2, rev)
	}
}

// TestKeysAreBytes: keys order and match by bytes, whatever the database's
// collation, and may hold any byte (SQLite's keys do).
func TestKeysAreBytes(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.URL(t))
	ks := []string{"a\x00b", "a\xffz", "a\xff", "A", "a", "é", "a-b", "a/b", "a_b"}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for _, k := range ks {
			if err := tx.Put(ctx, "k", k, []byte(k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	all, err := s.List(ctx, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ks)
	slices.Sort(want)
	var got []string
	for _, it := range all {
		got = append(got, it.Key)
		if string(it.Value) != it.Key {
			t.Errorf("value of %q = %q", it.Key, it.Value)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List order = %q, want %q", got, want)
	}
	for prefix, want := range map[string][]string{"a\xff": {"a\xff", "a\xffz"}, "a\x00": {"a\x00b"}, "a": {"a", "a\x00b", "a-b", "a/b", "a_b", "a\xff", "a\xffz"}} {
		items, err := s.List(ctx, "k", prefix)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.Key)
		}
		if !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, want %q", prefix, got, want)
		}
	}
}

// TestRefusesNewerSchema: a database migrated by a newer apigw is refused
// with an error that says so, and left as it was.
func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s := open(t, url)
	s.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE apigw_schema SET version = $1`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, url, Options{})
	var tooNew *SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Version != SchemaVersion+1 || tooNew.Known != SchemaVersion {
		t.Fatalf("Open of a newer schema: %v, want a SchemaTooNewError", err)
	}
	want := fmt.Sprintf("is at version %d, newer than this apigw knows (%d)", SchemaVersion+1, SchemaVersion)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// TestNodesStartTogether: stores opened at once on an empty database take
// turns creating the schema.
func TestNodesStartTogether(t *testing.T) {
	url := pgtest.URL(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := Open(context.Background(), url, Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestChangeFeedAcrossStores: a commit made through one Store closes the
// Changed channel of another on the same database (LISTEN/NOTIFY), and
// Changes then lists it. Quiet commits wake nobody. The delay from commit
// to wake-up is logged (p50/p99, for BENCHMARKS.md).
func TestChangeFeedAcrossStores(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	_, since, err := b.Changes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 200
	delays := make([]time.Duration, 0, rounds)
	for i := range rounds {
		ch := b.Changed()
		key := fmt.Sprint("r", i)
		start := time.Now()
		if err := a.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", key, []byte("v")) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			delays = append(delays, time.Since(start))
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the other store was not woken within 10s", i)
		}
		changes, rev, err := b.Changes(ctx, since)
		if err != nil || len(changes) != 1 || changes[0].Key != key {
			t.Fatalf("round %d: Changes = %+v, %v; want %s", i, changes, err, key)
		}
		since = rev
	}
	slices.Sort(delays)
	t.Logf("commit on one store → Changed on another: p50 %v, p99 %v, max %v (%d rounds)",
		delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1], rounds)

	// A quiet commit is listed but wakes no other store. (The probe that
	// follows is announced: once it arrived, the quiet one would have too.)
	ch := b.Changed()
	if err := a.UpdateQuiet(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", "quiet", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	c := open(t, url)
	if err := c.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "probe", "p", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch, "the probe")
	changes, _, err := b.Changes(ctx, since)
	if err != nil || len(changes) != 2 || changes[0].Key != "quiet" {
		t.Fatalf("Changes = %+v, %v; want the quiet write, then the probe", changes, err)
	}
}

// TestListenerReconnects: when the listening connection is cut, the store
// reconnects and wakes its watchers, so that commits made meanwhile are
// read; later commits are heard again.
func TestListenerReconnects(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	b.listenMu.Lock()
	pid := b.listenPID
	b.listenMu.Unlock()
	ch := b.Changed()
	if _, err := a.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)); err != nil {
		t.Fatal(err)
	}
	// Written while b's listener may be down: no notification reaches it.
	if err := a.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", "during", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch, "the commit made while reconnecting")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.listenMu.Lock()
		now := b.listenPID
		b.listenMu.Unlock()
		if now != pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not reconnect within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Heard again: every later commit wakes b.
	for i := range 3 {
		ch := b.Changed()
		if err := a.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, "k", fmt.Sprint("after", i), []byte("v")) }); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, ch, "a commit after the reconnection")
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("Changed was not closed within 10s after %s", what)
	}
}
