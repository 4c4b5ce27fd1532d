package limit

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// StoreLedger keeps quota counters in the store (kind "usage", key
// "{id}@{day}"), so usage survives restarts. It is the Ledger of a Memory
// (the only writer of its ids: the data dir's lock keeps a second process
// off a SQLite store) and of the nodes of a Redis limiter sharing a
// PostgreSQL store, whose write transactions are serialized: Add's get and
// put see no other writer between them.
type StoreLedger struct{ Store store.Store }

func ledgerKey(id, day string) string { return id + "@" + day }

// update commits quietly when the store can: quota counters concern no
// watcher of Changed.
func (l StoreLedger) update(ctx context.Context, fn func(tx store.Tx) error) error {
	if q, ok := l.Store.(store.QuietUpdater); ok {
		return q.UpdateQuiet(ctx, fn)
	}
	return l.Store.Update(ctx, fn)
}

// Add implements Ledger.
func (l StoreLedger) Add(ctx context.Context, id, day string, n int64) (int64, error) {
	var total int64
	err := l.update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(ctx, model.KindUsage, ledgerKey(id, day))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		cur, _ := strconv.ParseInt(string(b), 10, 64)
		total = cur + n
		return tx.Put(ctx, model.KindUsage, ledgerKey(id, day), strconv.AppendInt(nil, total, 10))
	})
	return total, err
}

// Load implements Ledger.
func (l StoreLedger) Load(ctx context.Context, id, from, to string) (map[string]int64, error) {
	items, err := l.Store.List(ctx, model.KindUsage, id+"@")
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64)
	for _, it := range items {
		day := strings.TrimPrefix(it.Key, id+"@")
		if day < from || day > to {
			continue
		}
		n, _ := strconv.ParseInt(string(it.Value), 10, 64)
		out[day] = n
	}
	return out, nil
}

// Set implements Ledger.
func (l StoreLedger) Set(ctx context.Context, id, day string, n int64) error {
	return l.update(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, model.KindUsage, ledgerKey(id, day), strconv.AppendInt(nil, n, 10))
	})
}

// QuotaID is the limiter id of an API key's quota in a usage plan; the
// data plane meters it and the management API's usage reports read it.
func QuotaID(planID, keyID string) string { return "quota/" + planID + "/" + keyID }

// PlanQuota converts a usage plan's quota for the limiter; nil stays nil.
func PlanQuota(q *model.QuotaSettings) *QuotaSpec {
	if q == nil {
		return nil
	}
	return &QuotaSpec{Limit: q.Limit, Period: Period(q.Period), Offset: int(q.Offset)}
}
