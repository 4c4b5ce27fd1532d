package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/model"
)

// keyring indexes API keys by value and, for each key, the usage plan that
// meters it on each API stage. It is rebuilt when keys or plans change and
// read without locks.
type keyring struct {
	byValue map[string]*apiKey
}

type stageRef struct{ api, stage string }

// apiKey is an API key as the data plane sees it.
type apiKey struct {
	id      string
	enabled bool
	plans   map[stageRef]*keyPlan
}

// keyPlan is one key's membership in one plan, with the limiter ids built
// once so that metering a request builds no strings.
type keyPlan struct {
	planID     string
	throttle   *model.ThrottleSettings
	quota      *limit.QuotaSpec // nil without a quota
	throttleID string           // per key in the plan
	quotaID    string           // per key in the plan: planID/keyID
	// methods holds the plan's per-method throttles for this stage, keyed
	// "{resourcePath}/{METHOD}", with their limiter ids.
	methods map[string]methodThrottle
}

type methodThrottle struct {
	settings *model.ThrottleSettings
	id       string
}

// QuotaSpec converts a usage plan's quota for the limiter; nil stays nil.
func QuotaSpec(q *model.QuotaSettings) *limit.QuotaSpec {
	if q == nil {
		return nil
	}
	return &limit.QuotaSpec{Limit: q.Limit, Period: limit.Period(q.Period), Offset: int(q.Offset)}
}

// QuotaID is the limiter id of a key's quota in a plan; the management API's
// usage reports read the same counters.
func QuotaID(planID, keyID string) string { return "quota/" + planID + "/" + keyID }

func (g *Gateway) loadKeyring(ctx context.Context) (*keyring, error) {
	kr := &keyring{byValue: map[string]*apiKey{}}
	keys, err := g.Store.List(ctx, model.KindApiKey, "")
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*apiKey, len(keys))
	for _, it := range keys {
		var k model.ApiKey
		if err := json.Unmarshal(it.Value, &k); err != nil {
			return nil, fmt.Errorf("gateway: decode api key %s: %w", it.Key, err)
		}
		ak := &apiKey{id: k.ID, enabled: k.Enabled, plans: map[stageRef]*keyPlan{}}
		kr.byValue[k.Value] = ak
		byID[k.ID] = ak
	}
	plans, err := g.Store.List(ctx, model.KindUsagePlan, "")
	if err != nil {
		return nil, err
	}
	for _, it := range plans {
		var p model.UsagePlan
		if err := json.Unmarshal(it.Value, &p); err != nil {
			return nil, fmt.Errorf("gateway: decode usage plan %s: %w", it.Key, err)
		}
		members, err := g.Store.List(ctx, model.KindUsagePlanKey, model.ApiPrefix(p.ID))
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			_, keyID, _ := strings.Cut(m.Key, "/")
			ak := byID[keyID]
			if ak == nil {
				continue
			}
			for _, st := range p.ApiStages {
				kp := &keyPlan{
					planID:     p.ID,
					throttle:   p.Throttle,
					quota:      QuotaSpec(p.Quota),
					throttleID: "plan/" + p.ID + "/" + keyID,
					quotaID:    QuotaID(p.ID, keyID),
				}
				if len(st.Throttle) > 0 {
					kp.methods = make(map[string]methodThrottle, len(st.Throttle))
					for path, t := range st.Throttle {
						kp.methods[path] = methodThrottle{t, "plan/" + p.ID + "/" + keyID + "/" + st.ApiID + ":" + st.Stage + path}
					}
				}
				ak.plans[stageRef{st.ApiID, st.Stage}] = kp
			}
		}
	}
	return kr, nil
}
