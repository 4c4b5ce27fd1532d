package server

import (
	"context"
	"time"

	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/model"
)

// meter lets the management API read and adjust the quota counters the data
// plane keeps (control.Meter).
type meter struct{ lim limit.Limiter }

func (m meter) Usage(ctx context.Context, planID, keyID string, q *model.QuotaSettings, from, to time.Time) ([][]int64, error) {
	if q == nil {
		// Without a quota nothing is counted; AWS reports no figures either.
		return [][]int64{}, nil
	}
	days, err := m.lim.Usage(ctx, limit.QuotaID(planID, keyID), *limit.PlanQuota(q), from, to)
	if err != nil {
		return nil, err
	}
	out := make([][]int64, len(days))
	for i, d := range days {
		out[i] = []int64{d.Used, d.Remaining}
	}
	return out, nil
}

func (m meter) SetRemaining(ctx context.Context, planID, keyID string, q *model.QuotaSettings, remaining int64) error {
	return m.lim.SetRemaining(ctx, limit.QuotaID(planID, keyID), *limit.PlanQuota(q), remaining, time.Now())
}
