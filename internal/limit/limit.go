package limit

import (
	"context"
	"errors"
	"time"
)

// Throttler admits or refuses requests against token buckets keyed by id.
type Throttler interface {
	// Allow takes one token from the bucket of id (capacity burst, refilled at
	// rate tokens per second) at time now. A refused Decision carries
	// RetryAfter, the wait until a token is available (0 when rate or burst
	// refuse everything). The bucket of an id is created full.
	Allow(ctx context.Context, id string, rate float64, burst int64, now time.Time) (Decision, error)
}

// Quotas counts requests against period quotas keyed by id, durably.
type Quotas interface {
	// Take consumes one unit of the quota of id for the period containing now.
	// A refused Decision carries RetryAfter, the wait until the next period.
	// An error means the decision could not be made (Ledger failure, invalid
	// QuotaSpec, closed limiter); nothing was consumed.
	Take(ctx context.Context, id string, q QuotaSpec, now time.Time) (Decision, error)

	// Usage reports, for each UTC day from the day of from to the day of to
	// (both included), the units used that day and the units remaining at the
	// end of that day in the quota period containing it.
	Usage(ctx context.Context, id string, q QuotaSpec, from, to time.Time) ([]DayUsage, error)

	// SetRemaining sets the remaining units of the period containing now to
	// remaining (>= 0), as UpdateUsage does with "replace /remaining".
	SetRemaining(ctx context.Context, id string, q QuotaSpec, remaining int64, now time.Time) error
}

// Limiter is what the gateway's metering step and the management API use.
type Limiter interface {
	Throttler
	Quotas
	// Close stops the limiter and makes its quota counters exact in durable
	// storage. Takes after Close fail with ErrClosed.
	Close(ctx context.Context) error
}

// Decision is the outcome of Allow or Take.
type Decision struct {
	Allowed bool
	// Remaining is, after this call, the tokens left in the bucket (Allow) or
	// the units left in the quota period (Take). Under concurrent use it is a
	// hint.
	Remaining int64
	// RetryAfter is set when Allowed is false: how long until a retry can
	// succeed. 0 means waiting does not help.
	RetryAfter time.Duration
}

// Period is a quota period, as in AWS QuotaSettings.period.
type Period string

// The quota periods.
const (
	Day   Period = "DAY"
	Week  Period = "WEEK"
	Month Period = "MONTH"
)

// QuotaSpec is a quota, as in AWS QuotaSettings: at most Limit requests per
// Period, the period starting on the day selected by Offset (see the package
// documentation). A Limit of 0 refuses every request.
type QuotaSpec struct {
	Limit  int64
	Period Period
	Offset int
}

// DayUsage is one day of Usage.
type DayUsage struct {
	Day       string // UTC date, "2006-01-02"
	Used      int64  // requests admitted on that day
	Remaining int64  // units left in that day's period at the end of the day
}

// Errors.
var (
	// ErrInvalidQuota wraps every QuotaSpec validation error.
	ErrInvalidQuota = errors.New("limit: invalid quota")
	// ErrClosed is returned by quota operations after Close.
	ErrClosed = errors.New("limit: closed")
)

// AdjustSuffix is appended to a quota id to form the Ledger id under which
// SetRemaining records its adjustments (per UTC day, the units added to the
// used count of the period; negative when quota was granted).
const AdjustSuffix = "#adjust"

// DayFormat is the layout of the day strings of Ledger and DayUsage.
const DayFormat = "2006-01-02"
