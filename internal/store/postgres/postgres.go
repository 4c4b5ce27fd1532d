// Package postgres is the store shared by several apigw nodes: the records
// live in PostgreSQL, and commits reach every node through LISTEN/NOTIFY.
//
// Writers are serialized by the row lock of the revision counter, taken
// first in every transaction: revisions are committed in order, so a reader
// that sees revision R sees every write up to R, as with SQLite's single
// writer.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/apigw/apigw/internal/store"
)

// Channel is the notification channel commits are announced on. The
// payload is "{schema}:{revision}".
const Channel = "apigw_changes"

// Store is a store.Store on a PostgreSQL database (the first schema of the
// connection's search_path).
type Store struct {
	pool   *pgxpool.Pool
	schema string
	log    *slog.Logger

	mu      sync.Mutex
	changed chan struct{}
	seen    int64 // the highest revision Changed was closed for

	stop      context.CancelFunc
	done      chan struct{}
	listenMu  sync.Mutex
	listenPID uint32 // the listening connection's backend, for tests
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.QuietUpdater = (*Store)(nil)
)

// Options adjust Open.
type Options struct {
	// Log receives the listener's reconnections; nil is slog.Default().
	Log *slog.Logger
	// MaxConns bounds the connection pool; 0 is pgxpool's default (4, or
	// the number of CPUs) unless the URL sets pool_max_conns.
	MaxConns int32
}

// Open connects to the database at url (postgres://...), brings its schema
// up to date (refusing one newer than this binary knows, with a
// *SchemaTooNewError), and starts listening for other nodes' commits.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, log: opts.Log, changed: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	conn, err := s.listen(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	lctx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go s.follow(lctx, conn)
	return s, nil
}

// Close stops listening and closes the connections.
func (s *Store) Close() error {
	s.stop()
	<-s.done
	s.pool.Close()
	return nil
}

// Ping implements store.Store: one round trip to the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// listen opens the connection that receives notifications, outside the
// pool: it is held for the life of the store.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	s.listenMu.Lock()
	s.listenPID = conn.PgConn().PID()
	s.listenMu.Unlock()
	return conn, nil
}

// follow closes Changed on every other node's commit. When the listening
// connection breaks, notifications sent meanwhile are lost: it polls the
// revision while reconnecting, and wakes the watchers once reconnected so
// that they read what they missed.
func (s *Store) follow(ctx context.Context, conn *pgx.Conn) {
	defer close(s.done)
	prefix := s.schema + ":"
	for {
		n, err := conn.WaitForNotification(ctx)
		if err == nil {
			if rest, ok := strings.CutPrefix(n.Payload, prefix); ok {
				if rev, err := strconv.ParseInt(rest, 10, 64); err == nil {
					s.signal(rev)
				}
			}
			continue
		}
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("store: PostgreSQL notifications lost; reconnecting", "err", err)
		wait := 100 * time.Millisecond
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			s.poll(ctx)
			c, err := s.listen(ctx)
			if err == nil {
				conn = c
				break
			}
			wait = min(2*wait, time.Second)
		}
		s.log.Info("store: PostgreSQL notifications restored")
		s.wake()
	}
}

// poll wakes the watchers if the revision moved past what they were told.
func (s *Store) poll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var rev int64
	if err := s.pool.QueryRow(ctx, `SELECT rev FROM revision`).Scan(&rev); err == nil {
		s.signal(rev)
	}
}

// signal closes Changed for revision rev, unless it was closed for rev or
// a later one already (a node hears its own commits too).
func (s *Store) signal(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= s.seen {
		return
	}
	s.seen = rev
	close(s.changed)
	s.changed = make(chan struct{})
}

// wake closes Changed whatever the revision.
func (s *Store) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed implements store.Store: the channel is closed at the next commit
// made through s, and at the next one another node announces.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func get(ctx context.Context, q querier, kind, key string) ([]byte, error) {
	var v []byte
	err := q.QueryRow(ctx, `SELECT value FROM records WHERE kind = $1 AND key = $2`, kind, []byte(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get %s %s: %w", kind, key, err)
	}
	return v, nil
}

// prefixEnd returns the smallest key greater than every key that starts
// with prefix, or nil when there is none. Keys are bytea: they compare
// byte by byte, as in SQLite.
func prefixEnd(prefix string) []byte {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return b[:i+1]
		}
	}
	return nil
}

func list(ctx context.Context, q querier, kind, prefix string) ([]store.Item, error) {
	var rows pgx.Rows
	var err error
	if end := prefixEnd(prefix); prefix != "" && end != nil {
		rows, err = q.Query(ctx, `SELECT key, value, rev FROM records WHERE kind = $1 AND key >= $2 AND key < $3 ORDER BY key`, kind, []byte(prefix), end)
	} else if prefix != "" {
		rows, err = q.Query(ctx, `SELECT key, value, rev FROM records WHERE kind = $1 AND key >= $2 ORDER BY key`, kind, []byte(prefix))
	} else {
		rows, err = q.Query(ctx, `SELECT key, value, rev FROM records WHERE kind = $1 ORDER BY key`, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list %s %q: %w", kind, prefix, err)
	}
	defer rows.Close()
	var items []store.Item
	var key []byte
	for rows.Next() {
		it := store.Item{Kind: kind}
		if err := rows.Scan(&key, &it.Value, &it.Rev); err != nil {
			return nil, fmt.Errorf("postgres: list %s: %w", kind, err)
		}
		it.Key = string(key)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list %s: %w", kind, err)
	}
	return items, nil
}

// Get implements store.Reader.
func (s *Store) Get(ctx context.Context, kind, key string) ([]byte, error) {
	return get(ctx, s.pool, kind, key)
}

// List implements store.Reader.
func (s *Store) List(ctx context.Context, kind, prefix string) ([]store.Item, error) {
	return list(ctx, s.pool, kind, prefix)
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.update(ctx, fn, true)
}

// UpdateQuiet implements store.QuietUpdater: the commit is not announced.
func (s *Store) UpdateQuiet(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.update(ctx, fn, false)
}

func (s *Store) update(ctx context.Context, fn func(tx store.Tx) error, announce bool) error {
	// READ COMMITTED whatever the database's default: the statements after
	// the revision's lock must see the commits made before it was granted
	// (under REPEATABLE READ they would fail to serialize instead).
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer pgTx.Rollback(context.Background())
	// The row lock taken here is held until commit: one writer at a time,
	// in every process. In READ COMMITTED each later statement sees the
	// commits made before the lock was granted.
	t := &tx{tx: pgTx}
	if err := pgTx.QueryRow(ctx, `UPDATE revision SET rev = rev + 1 RETURNING rev`).Scan(&t.rev); err != nil {
		return fmt.Errorf("postgres: next revision: %w", err)
	}
	if err := fn(t); err != nil {
		return err
	}
	if !t.wrote {
		// Nothing changed: keep the revision where it was.
		return nil
	}
	if announce {
		// Delivered at commit, to every listener (this node's too).
		if _, err := pgTx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, s.schema+":"+strconv.FormatInt(t.rev, 10)); err != nil {
			return fmt.Errorf("postgres: notify: %w", err)
		}
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	if announce {
		s.signal(t.rev)
	}
	return nil
}

// Changes implements store.Store. One statement reads the revision and
// the changes after since from one snapshot, so they agree.
func (s *Store) Changes(ctx context.Context, since int64) ([]store.Change, int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.rev, c.kind, c.key, c.rev, c.deleted FROM revision r LEFT JOIN (
			SELECT kind, key, rev, false AS deleted FROM records WHERE rev > $1
			UNION ALL SELECT kind, key, rev, true FROM tombstones WHERE rev > $1) c ON true
		ORDER BY c.rev`, since)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: changes: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	var rev int64
	for rows.Next() {
		var kind *string
		var key []byte
		var crev *int64
		var deleted *bool
		if err := rows.Scan(&rev, &kind, &key, &crev, &deleted); err != nil {
			return nil, 0, fmt.Errorf("postgres: changes: %w", err)
		}
		if kind == nil {
			continue // no change: the revision alone
		}
		out = append(out, store.Change{Kind: *kind, Key: string(key), Rev: *crev, Deleted: *deleted})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("postgres: changes: %w", err)
	}
	return out, rev, nil
}

type tx struct {
	tx    pgx.Tx
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
	if _, err := t.tx.Exec(ctx, `WITH t AS (DELETE FROM tombstones WHERE kind = $1 AND key = $2)
		INSERT INTO records (kind, key, value, rev) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, rev = excluded.rev`, kind, []byte(key), value, t.rev); err != nil {
		return fmt.Errorf("postgres: put %s %s: %w", kind, key, err)
	}
	t.wrote = true
	return nil
}

func (t *tx) Create(ctx context.Context, kind, key string, value []byte) error {
	tag, err := t.tx.Exec(ctx, `WITH t AS (DELETE FROM tombstones WHERE kind = $1 AND key = $2)
		INSERT INTO records (kind, key, value, rev) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO NOTHING`, kind, []byte(key), value, t.rev)
	if err != nil {
		return fmt.Errorf("postgres: create %s %s: %w", kind, key, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrExists
	}
	t.wrote = true
	return nil
}

func (t *tx) Delete(ctx context.Context, kind, key string) error {
	tag, err := t.tx.Exec(ctx, `WITH d AS (DELETE FROM records WHERE kind = $1 AND key = $2 RETURNING kind, key)
		INSERT INTO tombstones (kind, key, rev) SELECT kind, key, $3 FROM d
		ON CONFLICT (kind, key) DO UPDATE SET rev = excluded.rev`, kind, []byte(key), t.rev)
	if err != nil {
		return fmt.Errorf("postgres: delete %s %s: %w", kind, key, err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	t.wrote = true
	return nil
}
