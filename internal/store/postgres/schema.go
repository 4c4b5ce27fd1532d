package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations[i] brings the schema from version i to version i+1. Append
// only: a released migration never changes.
//
// Keys are bytea, compared byte by byte whatever the database's collation
// (and any byte may appear in one, as in SQLite). Large values are kept out
// of line by PostgreSQL (TOAST), so a function's zip slows no lookup.
var migrations = []string{
	`CREATE TABLE records (
		kind  text   NOT NULL,
		key   bytea  NOT NULL,
		value bytea  NOT NULL,
		rev   bigint NOT NULL,
		PRIMARY KEY (kind, key)
	);
	CREATE INDEX records_rev ON records (rev);
	CREATE TABLE tombstones (
		kind text   NOT NULL,
		key  bytea  NOT NULL,
		rev  bigint NOT NULL,
		PRIMARY KEY (kind, key)
	);
	CREATE INDEX tombstones_rev ON tombstones (rev);
	CREATE TABLE revision (id int PRIMARY KEY CHECK (id = 1), rev bigint NOT NULL);
	INSERT INTO revision (id, rev) VALUES (1, 0);`,
}

// SchemaVersion is the version of the schema this binary creates.
var SchemaVersion = len(migrations)

// SchemaTooNewError is why Open refuses a database: a newer apigw migrated
// it to a schema this one does not know.
type SchemaTooNewError struct {
	Schema  string // the PostgreSQL schema holding apigw's tables
	Version int    // the database's
	Known   int    // the newest this binary knows
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("postgres: the store's schema (%s) is at version %d, newer than this apigw knows (%d): a newer apigw migrated it; run that version on this node too",
		e.Schema, e.Version, e.Known)
}

// migrate applies the migrations the database lacks, in one transaction,
// under a lock that makes nodes starting together take turns.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer tx.Rollback(context.Background())
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if schema == nil {
		return errors.New("postgres: no schema of the search_path exists: create it, or fix search_path in the store URL")
	}
	s.schema = *schema
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('apigw schema ' || current_schema()))`); err != nil {
		return fmt.Errorf("postgres: schema lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS apigw_schema (version int NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: schema version: %w", err)
	}
	version := 0
	err = tx.QueryRow(ctx, `SELECT version FROM apigw_schema`).Scan(&version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := tx.Exec(ctx, `INSERT INTO apigw_schema (version) VALUES (0)`); err != nil {
			return fmt.Errorf("postgres: schema version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("postgres: schema version: %w", err)
	}
	if version > len(migrations) {
		return &SchemaTooNewError{Schema: s.schema, Version: version, Known: len(migrations)}
	}
	if version == len(migrations) {
		return nil
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("postgres: migrate schema to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE apigw_schema SET version = $1`, len(migrations)); err != nil {
		return fmt.Errorf("postgres: schema version: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate schema: %w", err)
	}
	return nil
}
