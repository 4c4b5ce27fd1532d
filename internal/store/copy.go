package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotEmpty is Copy's refusal of a destination that holds records.
var ErrNotEmpty = errors.New("store: the destination store is not empty")

// Copy copies every record of src into dst, which must hold none, in one
// transaction of dst: a copy that fails leaves dst empty. Values are read
// one at a time. It returns how many records were copied. Nothing may write
// to src meanwhile.
func Copy(ctx context.Context, dst, src Store) (int, error) {
	existing, _, err := dst.Changes(ctx, 0)
	if err != nil {
		return 0, fmt.Errorf("store: copy: read the destination: %w", err)
	}
	for _, c := range existing {
		if !c.Deleted {
			return 0, fmt.Errorf("%w (it has %s %s)", ErrNotEmpty, c.Kind, c.Key)
		}
	}
	records, _, err := src.Changes(ctx, 0)
	if err != nil {
		return 0, fmt.Errorf("store: copy: list the source: %w", err)
	}
	n := 0
	err = dst.Update(ctx, func(tx Tx) error {
		for _, c := range records {
			if c.Deleted {
				continue
			}
			v, err := src.Get(ctx, c.Kind, c.Key)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since it was listed
			}
			if err != nil {
				return fmt.Errorf("store: copy: read %s %s: %w", c.Kind, c.Key, err)
			}
			if err := tx.Create(ctx, c.Kind, c.Key, v); err != nil {
				return fmt.Errorf("store: copy: write %s %s: %w", c.Kind, c.Key, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
