package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
	"github.com/apigw/apigw/internal/store/postgres"
	"github.com/apigw/apigw/internal/store/sqlite"
)

// openedStore is a store with what was needed to open it.
type openedStore struct {
	store.Store
	kind string   // "sqlite" or "postgres"
	desc string   // where it is, without a password
	lock *os.File // the data dir's lock (SQLite only), nil otherwise
}

// isPostgres tells a PostgreSQL store URL.
func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// openStore opens the store a spec names: "sqlite" or "" (the SQLite file
// of dataDir), "sqlite:DIR" (that of DIR), or a postgres:// URL. A SQLite
// store is one process's: its data dir's lock is taken first and held by
// the returned value (a *DataDirInUseError says who holds it). A
// PostgreSQL store is shared by any number of nodes and takes no lock.
func openStore(ctx context.Context, spec, dataDir string, log *slog.Logger) (*openedStore, error) {
	switch {
	case spec == "" || spec == "sqlite" || strings.HasPrefix(spec, "sqlite:"):
		dir := dataDir
		if d, ok := strings.CutPrefix(spec, "sqlite:"); ok {
			dir = d
		}
		if dir == "" {
			return nil, errors.New("store sqlite needs a data dir")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		lock, err := lockDataDir(dir)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "apigw.db")
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			lock.Close()
			return nil, err
		}
		return &openedStore{Store: s, kind: "sqlite", desc: path, lock: lock}, nil
	case isPostgres(spec):
		s, err := postgres.Open(ctx, spec, postgres.Options{Log: log})
		if err != nil {
			return nil, err
		}
		return &openedStore{Store: s, kind: "postgres", desc: redactURL(spec)}, nil
	}
	return nil, fmt.Errorf("store %q is not supported (use sqlite, or postgres://user@host:5432/db)", spec)
}

// Close closes the store, then releases the data dir's lock.
func (o *openedStore) Close() error {
	err := o.Store.Close()
	if o.lock != nil {
		o.lock.Close()
	}
	return err
}

// redactURL hides the password of a store's or Redis's URL, for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// loadSecretKey returns the key that seals the store's secrets, and where
// it came from: --secret-key-file, else APIGW_MASTER_KEY, else the data
// dir's master.key (created on first start).
func loadSecretKey(cfg Config) ([]byte, string, error) {
	if cfg.SecretKeyFile != "" {
		k, err := iam.ReadKeyFile(cfg.SecretKeyFile)
		return k, cfg.SecretKeyFile, err
	}
	if os.Getenv(iam.MasterKeyEnv) != "" {
		k, err := iam.LoadOrCreateKey(cfg.DataDir)
		return k, iam.MasterKeyEnv, err
	}
	k, err := iam.LoadOrCreateKey(cfg.DataDir)
	return k, filepath.Join(cfg.DataDir, iam.MasterKeyFile), err
}

// SecretKeyMismatchError is why a node refuses a store: its secret key does
// not open the secrets sealed in it, which every node would fail to read.
type SecretKeyMismatchError struct {
	Source string // where the node's key came from
}

func (e *SecretKeyMismatchError) Error() string {
	return fmt.Sprintf("the secret key (from %s) does not open this store's secrets: every node of a store needs the key it was created with (--secret-key-file or %s)",
		e.Source, iam.MasterKeyEnv)
}

const keyCheckAAD = "meta/keycheck"

// checkKey verifies the node's key against the store's key-check record,
// written by the first node (a store older than the record is checked
// against its sealed root credentials, if any).
func checkKey(ctx context.Context, tx store.Tx, key []byte, source string) error {
	b, err := tx.Get(ctx, model.KindMeta, "keycheck")
	if err == nil {
		if _, err := iam.OpenSecret(key, b, keyCheckAAD); err != nil {
			return &SecretKeyMismatchError{Source: source}
		}
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if b, err := tx.Get(ctx, model.KindMeta, "root"); err == nil {
		var sealed struct {
			Secret []byte `json:"sealedSecret"`
		}
		if json.Unmarshal(b, &sealed) == nil && len(sealed.Secret) > 0 {
			if _, err := iam.OpenSecret(key, sealed.Secret, "meta/root"); err != nil {
				return &SecretKeyMismatchError{Source: source}
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	sealed, err := iam.SealSecret(key, "apigw secret key check", keyCheckAAD)
	if err != nil {
		return err
	}
	return tx.Put(ctx, model.KindMeta, "keycheck", sealed)
}

// Migrate copies an installation's store into another, record by record:
// from and to are store specs ("sqlite:DIR", "postgres://..."). The
// destination must be empty; a SQLite source is locked meanwhile, so no
// apigw serve may run on it. Secrets are copied sealed: the nodes of the
// destination need the source's secret key. It returns how many records
// were copied.
func Migrate(ctx context.Context, from, to string, log *slog.Logger) (int, error) {
	if log == nil {
		log = slog.Default()
	}
	if from == "sqlite" || to == "sqlite" {
		return 0, errors.New(`name the SQLite store's data dir: sqlite:./apigw-data`)
	}
	if dir, ok := strings.CutPrefix(from, "sqlite:"); ok {
		if _, err := os.Stat(filepath.Join(dir, "apigw.db")); err != nil {
			return 0, fmt.Errorf("migrate from %s: no apigw store there: %w", from, err)
		}
	}
	src, err := openStore(ctx, from, "", log)
	if err != nil {
		return 0, fmt.Errorf("migrate from %s: %w", from, err)
	}
	defer src.Close()
	dst, err := openStore(ctx, to, "", log)
	if err != nil {
		return 0, fmt.Errorf("migrate to %s: %w", to, err)
	}
	defer dst.Close()
	n, err := store.Copy(ctx, dst.Store, src.Store)
	if err != nil {
		return 0, fmt.Errorf("migrate to %s: %w", dst.desc, err)
	}
	return n, nil
}
