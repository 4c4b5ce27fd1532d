// Package store defines how apigw keeps its state: records of the resource
// model, keyed by kind and key, with a revision that grows on every write so
// that the data plane can follow changes without reloading everything.
package store

import (
	"context"
	"errors"
)

// Errors every implementation returns, so callers can test with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
)

// Item is one stored record.
type Item struct {
	Kind  string
	Key   string
	Value []byte
	Rev   int64
}

// Change says that a record was written or deleted at revision Rev.
type Change struct {
	Kind    string
	Key     string
	Rev     int64
	Deleted bool
}

// Reader reads records.
type Reader interface {
	// Get returns the value of one record, or ErrNotFound.
	Get(ctx context.Context, kind, key string) ([]byte, error)
	// List returns the records of a kind whose key starts with prefix,
	// ordered by key.
	List(ctx context.Context, kind, prefix string) ([]Item, error)
}

// Tx is a read-write transaction. All its writes share one revision and
// become visible together.
type Tx interface {
	Reader
	// Put creates or replaces a record.
	Put(ctx context.Context, kind, key string, value []byte) error
	// Create adds a record that must not exist yet (ErrExists otherwise).
	Create(ctx context.Context, kind, key string, value []byte) error
	// Delete removes a record, or returns ErrNotFound.
	Delete(ctx context.Context, kind, key string) error
}

// QuietUpdater is implemented by stores that can commit without waking the
// readers of Changed: for bookkeeping writes (quota counters) that no
// watcher needs to see at once. Changes still lists them.
type QuietUpdater interface {
	UpdateQuiet(ctx context.Context, fn func(tx Tx) error) error
}

// Store is a transactional record store.
type Store interface {
	Reader
	// Update runs fn in one transaction; fn's error rolls it back.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Changes lists what changed after revision since, and the current
	// revision. A deleted record appears once with Deleted set.
	Changes(ctx context.Context, since int64) ([]Change, int64, error)
	// Changed returns a channel closed at the next commit made through this
	// Store value. A store shared by several processes may close it at
	// their commits too (PostgreSQL does, with LISTEN/NOTIFY); watchers
	// still poll Changes, for the writers a store cannot hear.
	Changed() <-chan struct{}
	// Ping tells whether the store answers, for health checks.
	Ping(ctx context.Context) error
	Close() error
}
