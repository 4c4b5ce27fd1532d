// Package sqlite is the embedded store: one SQLite file in WAL mode, written
// through a single connection and read through a small pool.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/apigw/apigw/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// The records live in a rowid table with a unique index on (kind, key):
// a large value (a function's zip) then sits in its own row's overflow
// pages and costs nothing to lookups of other records. (A WITHOUT ROWID
// table keeps whole rows in its b-tree, so big rows slow every lookup.)
const schema = `
CREATE TABLE IF NOT EXISTS records (
	id    INTEGER PRIMARY KEY,
	kind  TEXT NOT NULL,
	key   TEXT NOT NULL,
	value BLOB NOT NULL,
	rev   INTEGER NOT NULL,
	UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS records_rev ON records(rev);
CREATE TABLE IF NOT EXISTS tombstones (
	kind TEXT NOT NULL,
	key  TEXT NOT NULL,
	rev  INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_rev ON tombstones(rev);
CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), rev INTEGER NOT NULL);
INSERT OR IGNORE INTO revision (id, rev) VALUES (1, 0);
`

// Store is a store.Store on a SQLite file.
type Store struct {
	w *sql.DB // one connection: SQLite has one writer anyway
	r *sql.DB

	mu      sync.Mutex
	changed chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: create schema in %s: %w", path, err)
	}
	if err := migrateItems(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	return &Store{w: w, r: r, changed: make(chan struct{})}, nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func get(ctx context.Context, q querier, kind, key string) ([]byte, error) {
	var v []byte
	err := q.QueryRowContext(ctx, `SELECT value FROM records WHERE kind = ? AND key = ?`, kind, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s %s: %w", kind, key, err)
	}
	return v, nil
}

// prefixEnd returns the smallest string greater than every string that
// starts with prefix, or "" when there is none.
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

func list(ctx context.Context, q querier, kind, prefix string) ([]store.Item, error) {
	var rows *sql.Rows
	var err error
	if end := prefixEnd(prefix); prefix != "" && end != "" {
		rows, err = q.QueryContext(ctx, `SELECT key, value, rev FROM records WHERE kind = ? AND key >= ? AND key < ? ORDER BY key`, kind, prefix, end)
	} else {
		rows, err = q.QueryContext(ctx, `SELECT key, value, rev FROM records WHERE kind = ? ORDER BY key`, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: list %s %q: %w", kind, prefix, err)
	}
	defer rows.Close()
	var items []store.Item
	for rows.Next() {
		it := store.Item{Kind: kind}
		if err := rows.Scan(&it.Key, &it.Value, &it.Rev); err != nil {
			return nil, fmt.Errorf("sqlite: list %s: %w", kind, err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", kind, err)
	}
	return items, nil
}

// Get implements store.Reader.
func (s *Store) Get(ctx context.Context, kind, key string) ([]byte, error) {
	return get(ctx, s.r, kind, key)
}

// List implements store.Reader.
func (s *Store) List(ctx context.Context, kind, prefix string) ([]store.Item, error) {
	return list(ctx, s.r, kind, prefix)
}

// Changed implements store.Store.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Store) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.update(ctx, fn, true)
}

// UpdateQuiet implements store.QuietUpdater.
func (s *Store) UpdateQuiet(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.update(ctx, fn, false)
}

var _ store.QuietUpdater = (*Store)(nil)

func (s *Store) update(ctx context.Context, fn func(tx store.Tx) error, notify bool) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	t := &tx{tx: sqlTx}
	if err := sqlTx.QueryRowContext(ctx, `UPDATE revision SET rev = rev + 1 WHERE id = 1 RETURNING rev`).Scan(&t.rev); err != nil {
		sqlTx.Rollback()
		return fmt.Errorf("sqlite: next revision: %w", err)
	}
	if err := fn(t); err != nil {
		sqlTx.Rollback()
		return err
	}
	if !t.wrote {
		// Nothing changed: keep the revision where it was.
		return sqlTx.Rollback()
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	if notify {
		s.notify()
	}
	return nil
}

// Changes implements store.Store.
func (s *Store) Changes(ctx context.Context, since int64) ([]store.Change, int64, error) {
	// One read transaction so the revision and the rows agree.
	rtx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: changes: %w", err)
	}
	defer rtx.Rollback()
	var rev int64
	if err := rtx.QueryRowContext(ctx, `SELECT rev FROM revision WHERE id = 1`).Scan(&rev); err != nil {
		return nil, 0, fmt.Errorf("sqlite: changes: %w", err)
	}
	if rev == since {
		return nil, rev, nil
	}
	rows, err := rtx.QueryContext(ctx, `SELECT kind, key, rev, 0 FROM records WHERE rev > ?1
		UNION ALL SELECT kind, key, rev, 1 FROM tombstones WHERE rev > ?1 ORDER BY 3`, since)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: changes: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		if err := rows.Scan(&c.Kind, &c.Key, &c.Rev, &c.Deleted); err != nil {
			return nil, 0, fmt.Errorf("sqlite: changes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlite: changes: %w", err)
	}
	return out, rev, nil
}

type tx struct {
	tx    *sql.Tx
	rev   int64
	wrote bool
}

func (t *tx) Get(ctx context.Context, kind, key string) ([]byte, error) {
	return get(ctx, t.tx, kind, key)
}

func (t *tx) List(ctx context.Context, kind, prefix string) ([]store.Item, error) {
	return list(ctx, t.tx, kind, prefix)
}

func (t *tx) Put(ctx context.Context, kind, key string, value []byte) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO records (kind, key, value, rev) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, rev = excluded.rev`, kind, key, value, t.rev); err != nil {
		return fmt.Errorf("sqlite: put %s %s: %w", kind, key, err)
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM tombstones WHERE kind = ? AND key = ?`, kind, key); err != nil {
		return fmt.Errorf("sqlite: put %s %s: %w", kind, key, err)
	}
	t.wrote = true
	return nil
}

func (t *tx) Create(ctx context.Context, kind, key string, value []byte) error {
	if _, err := get(ctx, t.tx, kind, key); err == nil {
		return store.ErrExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return t.Put(ctx, kind, key, value)
}

func (t *tx) Delete(ctx context.Context, kind, key string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM records WHERE kind = ? AND key = ?`, kind, key)
	if err != nil {
		return fmt.Errorf("sqlite: delete %s %s: %w", kind, key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO tombstones (kind, key, rev) VALUES (?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET rev = excluded.rev`, kind, key, t.rev); err != nil {
		return fmt.Errorf("sqlite: delete %s %s: %w", kind, key, err)
	}
	t.wrote = true
	return nil
}

// migrateItems moves records from the first layout (table items, WITHOUT
// ROWID) to table records, once.
func migrateItems(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'items'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO records (kind, key, value, rev) SELECT kind, key, value, rev FROM items`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE items`); err != nil {
		return err
	}
	return tx.Commit()
}
