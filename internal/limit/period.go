package limit

import (
	"fmt"
	"time"
)

const secondsPerDay = 86400

// dayOf returns the UTC day number of t: days since 1970-01-01.
func dayOf(t time.Time) int64 {
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d--
	}
	return d
}

// dayTime returns 00:00:00 UTC of day number d.
func dayTime(d int64) time.Time { return time.Unix(d*secondsPerDay, 0).UTC() }

// dayKey returns the Ledger key ("2006-01-02") of day number d.
func dayKey(d int64) string { return dayTime(d).Format(DayFormat) }

// Validate reports whether q is a quota this package can enforce; errors
// wrap ErrInvalidQuota. The control plane can use it to validate
// CreateUsagePlan and UpdateUsagePlan input.
func (q QuotaSpec) Validate() error {
	if q.Limit < 0 {
		return fmt.Errorf("%w: limit %d is negative", ErrInvalidQuota, q.Limit)
	}
	switch q.Period {
	case Day:
		if q.Offset != 0 {
			return fmt.Errorf("%w: offset must be 0 for period DAY, got %d", ErrInvalidQuota, q.Offset)
		}
	case Week:
		if q.Offset < 0 || q.Offset > 6 {
			return fmt.Errorf("%w: offset must be between 0 (Sunday) and 6 (Saturday) for period WEEK, got %d", ErrInvalidQuota, q.Offset)
		}
	case Month:
		if q.Offset < 0 || q.Offset > 27 {
			return fmt.Errorf("%w: offset must be between 0 and 27 for period MONTH, got %d", ErrInvalidQuota, q.Offset)
		}
	default:
		return fmt.Errorf("%w: period must be DAY, WEEK or MONTH, got %q", ErrInvalidQuota, q.Period)
	}
	return nil
}

// PeriodBounds returns the quota period containing t: [start, end), both at
// 00:00:00 UTC.
func (q QuotaSpec) PeriodBounds(t time.Time) (start, end time.Time, err error) {
	if err := q.Validate(); err != nil {
		return time.Time{}, time.Time{}, err
	}
	s, e := q.bounds(dayOf(t))
	return dayTime(s), dayTime(e), nil
}

// bounds returns the period containing day number d as day numbers
// [start, end). q must be valid.
func (q QuotaSpec) bounds(d int64) (start, end int64) {
	switch q.Period {
	case Week:
		// 1970-01-01 was a Thursday (weekday 4).
		wd := ((d+4)%7 + 7) % 7
		back := ((wd-int64(q.Offset))%7 + 7) % 7
		return d - back, d - back + 7
	case Month:
		y, m, md := dayTime(d).Date()
		first := q.Offset + 1
		if md < first {
			m--
		}
		s := time.Date(y, m, first, 0, 0, 0, 0, time.UTC)
		e := time.Date(y, m+1, first, 0, 0, 0, 0, time.UTC)
		return dayOf(s), dayOf(e)
	default: // Day
		return d, d + 1
	}
}
