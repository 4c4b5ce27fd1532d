package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestReadHashed: a body is read whole and hashed, within its limit, and
// every byte buffered is charged first.
func TestReadHashed(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	tests := []struct {
		name    string
		body    string
		length  int64 // declared; -1 unknown
		limit   int64
		budget  int64
		err     error
		charged int64 // at least
	}{
		{"known-length", "hello", 5, 10, 10, nil, 5},
		{"empty", "", 0, 10, 0, nil, 0},
		{"declared-over-limit", big, int64(len(big)), 1 << 10, 1 << 30, ErrBodyTooLarge, 0},
		{"unknown-length", big, -1, 1 << 20, 1 << 30, nil, int64(len(big))},
		{"unknown-length-over-limit", big, -1, 64 << 10, 1 << 30, ErrBodyTooLarge, 0},
		{"known-length-over-budget", "hello", 5, 10, 4, ErrBusy, 0},
		{"unknown-length-over-budget", big, -1, 1 << 20, 64 << 10, ErrBusy, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &Budget{Total: tc.budget}
			var charged int64
			charge := func(n int64) bool {
				if !b.TryAcquire(n) {
					return false
				}
				charged += n
				return true
			}
			got, sum, err := ReadHashed(io.NopCloser(strings.NewReader(tc.body)), tc.length, tc.limit, charge)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			want := sha256.Sum256([]byte(tc.body))
			if string(got) != tc.body || sum != hex.EncodeToString(want[:]) {
				t.Errorf("got %d bytes, hash %s", len(got), sum)
			}
			if charged < tc.charged || charged < int64(cap(got)) {
				t.Errorf("charged %d for a buffer of %d", charged, cap(got))
			}
		})
	}
}
