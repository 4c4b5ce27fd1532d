package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// keyring indexes API keys by value and, for each key, the usage plan that
// meters it on each API stage. It is read without locks: a change makes a
// new keyring (see update), which reloads from the store only what changed.
type keyring struct {
	byValue map[string]*apiKey
	byID    map[string]*apiKey
	plans   map[string]*planEntry
	// memberOf lists the plans of each key id, sorted (never modified in
	// place: keyrings share the slices).
	memberOf map[string][]string
}

// planEntry is a usage plan and the ids of its keys.
type planEntry struct {
	plan    model.UsagePlan
	members []string
}

type stageRef struct{ api, stage string }

// apiKey is an API key as the data plane sees it.
type apiKey struct {
	id      string
	value   string
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

// loadKeyring reads every key and plan from the store.
func (g *Gateway) loadKeyring(ctx context.Context) (*keyring, error) {
	keys, err := g.Store.List(ctx, model.KindApiKey, "")
	if err != nil {
		return nil, err
	}
	plans, err := g.Store.List(ctx, model.KindUsagePlan, "")
	if err != nil {
		return nil, err
	}
	kr := &keyring{byValue: make(map[string]*apiKey, len(keys)), byID: make(map[string]*apiKey, len(keys)),
		plans: make(map[string]*planEntry, len(plans)), memberOf: make(map[string][]string)}
	for _, it := range plans {
		pe, err := g.loadPlan(ctx, it.Key, it.Value)
		if err != nil {
			return nil, err
		}
		kr.plans[pe.plan.ID] = pe
		for _, m := range pe.members {
			kr.memberOf[m] = append(kr.memberOf[m], pe.plan.ID)
		}
	}
	for _, it := range keys {
		var k model.ApiKey
		if err := json.Unmarshal(it.Value, &k); err != nil {
			return nil, fmt.Errorf("gateway: decode api key %s: %w", it.Key, err)
		}
		ak := kr.build(k.ID, k.Value, k.Enabled)
		kr.byValue[k.Value] = ak
		kr.byID[k.ID] = ak
	}
	return kr, nil
}

// loadPlan decodes a plan and reads its keys' ids.
func (g *Gateway) loadPlan(ctx context.Context, key string, value []byte) (*planEntry, error) {
	pe := new(planEntry)
	if err := json.Unmarshal(value, &pe.plan); err != nil {
		return nil, fmt.Errorf("gateway: decode usage plan %s: %w", key, err)
	}
	members, err := g.Store.List(ctx, model.KindUsagePlanKey, model.ApiPrefix(pe.plan.ID))
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		_, keyID, _ := strings.Cut(m.Key, "/")
		pe.members = append(pe.members, keyID)
	}
	return pe, nil
}

// build makes the data plane's view of one key from the plans it is in.
func (kr *keyring) build(id, value string, enabled bool) *apiKey {
	ak := &apiKey{id: id, value: value, enabled: enabled, plans: map[stageRef]*keyPlan{}}
	for _, planID := range kr.memberOf[id] {
		p := &kr.plans[planID].plan
		for _, st := range p.ApiStages {
			kp := &keyPlan{
				planID:     p.ID,
				throttle:   p.Throttle,
				quota:      QuotaSpec(p.Quota),
				throttleID: "plan/" + p.ID + "/" + id,
				quotaID:    QuotaID(p.ID, id),
			}
			if len(st.Throttle) > 0 {
				kp.methods = make(map[string]methodThrottle, len(st.Throttle))
				for path, t := range st.Throttle {
					kp.methods[path] = methodThrottle{t, "plan/" + p.ID + "/" + id + "/" + st.ApiID + ":" + st.Stage + path}
				}
			}
			ak.plans[stageRef{st.ApiID, st.Stage}] = kp
		}
	}
	return ak
}

// update returns a keyring with changes (of keys, plans and plan keys)
// applied to kr, which is not modified. It reads from the store only the
// changed keys and plans; keys whose plans changed are rebuilt from what kr
// holds. Its cost is a copy of the indexes plus the changed records, not a
// reload of every key.
func (g *Gateway) updateKeyring(ctx context.Context, kr *keyring, changes []store.Change) (*keyring, error) {
	next := &keyring{byValue: maps.Clone(kr.byValue), byID: maps.Clone(kr.byID), plans: maps.Clone(kr.plans), memberOf: maps.Clone(kr.memberOf)}
	changedKeys := map[string]bool{} // key records to read again
	rebuild := map[string]bool{}     // keys whose plans changed
	changedPlans := map[string]bool{}
	for _, c := range changes {
		switch c.Kind {
		case model.KindApiKey:
			changedKeys[c.Key] = true
		case model.KindUsagePlan:
			changedPlans[c.Key] = true
		case model.KindUsagePlanKey:
			planID, keyID, _ := strings.Cut(c.Key, "/")
			changedPlans[planID] = true
			rebuild[keyID] = true
		}
	}
	for planID := range changedPlans {
		if old := next.plans[planID]; old != nil {
			for _, m := range old.members {
				rebuild[m] = true
				next.memberOf[m] = without(next.memberOf[m], planID)
			}
			delete(next.plans, planID)
		}
		raw, err := g.Store.Get(ctx, model.KindUsagePlan, planID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		pe, err := g.loadPlan(ctx, planID, raw)
		if err != nil {
			return nil, err
		}
		next.plans[planID] = pe
		for _, m := range pe.members {
			rebuild[m] = true
			next.memberOf[m] = with(next.memberOf[m], planID)
		}
	}
	for id := range next.memberOf {
		if len(next.memberOf[id]) == 0 {
			delete(next.memberOf, id)
		}
	}
	for id := range changedKeys {
		old := next.byID[id]
		raw, err := g.Store.Get(ctx, model.KindApiKey, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if old != nil && next.byValue[old.value] == old {
			delete(next.byValue, old.value)
		}
		delete(next.byID, id)
		delete(rebuild, id)
		if err != nil { // deleted
			continue
		}
		var k model.ApiKey
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("gateway: decode api key %s: %w", id, err)
		}
		ak := next.build(k.ID, k.Value, k.Enabled)
		next.byValue[k.Value] = ak
		next.byID[k.ID] = ak
	}
	for id := range rebuild {
		old := next.byID[id]
		if old == nil {
			continue // a membership of a key that does not exist (any more)
		}
		ak := next.build(old.id, old.value, old.enabled)
		next.byValue[ak.value] = ak
		next.byID[id] = ak
	}
	return next, nil
}

// with returns sorted ids and id, as a new sorted slice. Plans are applied
// to a key in id order, so that the result does not depend on the order of
// changes (two plans on one stage are refused by the management API; if a
// store holds them anyway, the plan with the greater id wins).
func with(ids []string, id string) []string {
	out := make([]string, len(ids), len(ids)+1)
	copy(out, ids)
	i, found := slices.BinarySearch(out, id)
	if found {
		return out
	}
	return slices.Insert(out, i, id)
}

// without returns ids less id, as a new slice.
func without(ids []string, id string) []string {
	out := make([]string, 0, len(ids))
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
