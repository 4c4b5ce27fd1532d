package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"

	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// keyShards is how many maps the key index is split into. An update copies
// only the shards it touches: about 400 entries each at 100,000 keys.
const keyShards = 256

// keySeed picks a key value's shard; any seed works, shards are in memory.
var keySeed = maphash.MakeSeed()

// keyring indexes API keys by value and, for each key, the usage plan that
// meters it on each API stage. Requests read it without locks; a change of
// keys or plans builds a new keyring that shares every shard it did not
// touch with the one before.
type keyring struct {
	shards [keyShards]map[string]*apiKey // by value
	// src is what the keyring was built from, kept to apply the next
	// change. It is shared along a chain of keyrings and only Sync (under
	// syncMu) reads or writes it; requests never do.
	src *keySource
}

// lookup returns the key with this value, or nil.
func (kr *keyring) lookup(value string) *apiKey {
	return kr.shards[maphash.String(keySeed, value)%keyShards][value]
}

// len counts the keys in the index.
func (kr *keyring) len() int {
	n := 0
	for _, m := range kr.shards {
		n += len(m)
	}
	return n
}

type stageRef struct{ api, stage string }

// apiKey is an API key as the data plane sees it. Once in a keyring it is
// never modified: a change makes a new one.
type apiKey struct {
	id      string
	value   string
	enabled bool
	plans   map[stageRef]*keyPlan // nil when the key is in no plan
}

// keyPlan is one key's membership in one plan, with the limiter ids built
// once so that metering a request builds no strings.
type keyPlan struct {
	planID     string
	throttle   *model.ThrottleSettings
	quota      *limit.QuotaSpec // nil without a quota; shared by the plan's keys
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

// keySource holds the API key, usage plan and plan key records as last
// read from the store, so that a change re-reads only the changed records
// and rebuilds only the keys they affect.
type keySource struct {
	// owner is the keyring this source describes. A Sync that fails after
	// updating the source leaves owner on a keyring that was never
	// published, and the next Sync then rebuilds from the store.
	owner *keyring
	keys  map[string]*apiKey // by id: the key as published
	plans map[string]*keyPlanSource
	// members and memberOf are the plan key records, in both directions.
	// Either side may name a plan or key that does not exist (any more).
	members  map[string]map[string]struct{} // plan id → key ids
	memberOf map[string][]string            // key id → plan ids, sorted
}

// keyPlanSource is a decoded usage plan.
type keyPlanSource struct {
	plan  *model.UsagePlan
	quota *limit.QuotaSpec
}

func newKeySource() *keySource {
	return &keySource{
		keys:     map[string]*apiKey{},
		plans:    map[string]*keyPlanSource{},
		members:  map[string]map[string]struct{}{},
		memberOf: map[string][]string{},
	}
}

func (src *keySource) setPlan(p *model.UsagePlan) {
	src.plans[p.ID] = &keyPlanSource{plan: p, quota: limit.PlanQuota(p.Quota)}
}

func (src *keySource) addMember(planID, keyID string) {
	m := src.members[planID]
	if m == nil {
		m = map[string]struct{}{}
		src.members[planID] = m
	}
	m[keyID] = struct{}{}
	ps := src.memberOf[keyID]
	if i, found := slices.BinarySearch(ps, planID); !found {
		src.memberOf[keyID] = slices.Insert(ps, i, planID)
	}
}

func (src *keySource) removeMember(planID, keyID string) {
	if m := src.members[planID]; m != nil {
		delete(m, keyID)
		if len(m) == 0 {
			delete(src.members, planID)
		}
	}
	ps := src.memberOf[keyID]
	if i, found := slices.BinarySearch(ps, planID); found {
		if ps = slices.Delete(ps, i, i+1); len(ps) == 0 {
			delete(src.memberOf, keyID)
		} else {
			src.memberOf[keyID] = ps
		}
	}
}

// build returns key k with its plans resolved from the source. Plans are
// applied in id order and stages in their order, so when two cover the
// same stage the last one wins, as in a listing of the store.
func (src *keySource) build(k *apiKey) *apiKey {
	out := &apiKey{id: k.id, value: k.value, enabled: k.enabled}
	for _, planID := range src.memberOf[k.id] {
		ps := src.plans[planID]
		if ps == nil {
			continue
		}
		p := ps.plan
		for _, st := range p.ApiStages {
			kp := &keyPlan{
				planID:     p.ID,
				throttle:   p.Throttle,
				quota:      ps.quota,
				throttleID: "plan/" + p.ID + "/" + k.id,
				quotaID:    limit.QuotaID(p.ID, k.id),
			}
			if len(st.Throttle) > 0 {
				kp.methods = make(map[string]methodThrottle, len(st.Throttle))
				for path, t := range st.Throttle {
					kp.methods[path] = methodThrottle{t, "plan/" + p.ID + "/" + k.id + "/" + st.ApiID + ":" + st.Stage + path}
				}
			}
			if out.plans == nil {
				out.plans = make(map[stageRef]*keyPlan, len(p.ApiStages))
			}
			out.plans[stageRef{st.ApiID, st.Stage}] = kp
		}
	}
	return out
}

// loadKeyring reads every API key, usage plan and plan key from the store
// and builds the keyring from scratch.
func (g *Gateway) loadKeyring(ctx context.Context) (*keyring, error) {
	keys, err := g.Store.List(ctx, model.KindApiKey, "")
	if err != nil {
		return nil, err
	}
	plans, err := g.Store.List(ctx, model.KindUsagePlan, "")
	if err != nil {
		return nil, err
	}
	members, err := g.Store.List(ctx, model.KindUsagePlanKey, "")
	if err != nil {
		return nil, err
	}
	src := newKeySource()
	for _, it := range plans {
		p, err := decodePlan(it.Key, it.Value)
		if err != nil {
			return nil, err
		}
		src.setPlan(p)
	}
	for _, it := range members {
		planID, keyID, _ := strings.Cut(it.Key, "/")
		src.addMember(planID, keyID)
	}
	kr := &keyring{src: src}
	// In key order: should two keys share a value, the last one wins.
	for _, it := range keys {
		k, err := decodeKey(it.Key, it.Value)
		if err != nil {
			return nil, err
		}
		ak := src.build(k)
		src.keys[ak.id] = ak
		kr.put(ak)
	}
	src.owner = kr
	return kr, nil
}

// put adds k to a keyring that is not published yet.
func (kr *keyring) put(k *apiKey) {
	i := maphash.String(keySeed, k.value) % keyShards
	if kr.shards[i] == nil {
		kr.shards[i] = map[string]*apiKey{}
	}
	kr.shards[i][k.value] = k
}

func decodeKey(id string, b []byte) (*apiKey, error) {
	var k model.ApiKey
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("gateway: decode api key %s: %w", id, err)
	}
	return &apiKey{id: k.ID, value: k.Value, enabled: k.Enabled}, nil
}

func decodePlan(id string, b []byte) (*model.UsagePlan, error) {
	p := new(model.UsagePlan)
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("gateway: decode usage plan %s: %w", id, err)
	}
	return p, nil
}

// updateKeyring returns the keyring cur with changes (of API keys, usage
// plans and plan keys) applied. It reads only the changed records, rebuilds
// only the keys they affect and copies only the index shards those keys
// are in; cur stays as it was for the requests still reading it. Without
// a usable source, or when so much changed that reading it all is
// cheaper, it rebuilds from the store. Key values are unique (the
// management API indexes them); were two keys to share one, which of them
// an update serves could differ from a reload.
func (g *Gateway) updateKeyring(ctx context.Context, cur *keyring, changes []store.Change) (*keyring, error) {
	if cur == nil || cur.src == nil || cur.src.owner != cur || len(changes) > 256+len(cur.src.keys)/8 {
		return g.loadKeyring(ctx)
	}
	// Read and decode every changed record before touching the source, so
	// that an error leaves it as it was.
	type keyRead struct {
		id string
		k  *apiKey // nil: deleted
	}
	type planRead struct {
		id string
		p  *model.UsagePlan // nil: deleted
	}
	var keys []keyRead
	var plans []planRead
	for _, c := range changes {
		switch c.Kind {
		case model.KindApiKey:
			b, err := g.Store.Get(ctx, c.Kind, c.Key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				keys = append(keys, keyRead{id: c.Key})
			case err != nil:
				return nil, err
			default:
				k, err := decodeKey(c.Key, b)
				if err != nil {
					return nil, err
				}
				keys = append(keys, keyRead{c.Key, k})
			}
		case model.KindUsagePlan:
			b, err := g.Store.Get(ctx, c.Kind, c.Key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				plans = append(plans, planRead{id: c.Key})
			case err != nil:
				return nil, err
			default:
				p, err := decodePlan(c.Key, b)
				if err != nil {
					return nil, err
				}
				plans = append(plans, planRead{c.Key, p})
			}
		}
	}

	src := cur.src
	// prev holds, for every key to rebuild, the key as cur publishes it.
	prev := map[string]*apiKey{}
	touch := func(keyID string) {
		if _, ok := prev[keyID]; !ok {
			prev[keyID] = src.keys[keyID]
		}
	}
	for _, c := range changes {
		if c.Kind != model.KindUsagePlanKey {
			continue
		}
		planID, keyID, _ := strings.Cut(c.Key, "/")
		if c.Deleted {
			src.removeMember(planID, keyID)
		} else {
			src.addMember(planID, keyID)
		}
		touch(keyID)
	}
	for _, pr := range plans {
		if pr.p == nil {
			delete(src.plans, pr.id)
		} else {
			src.setPlan(pr.p)
		}
		for keyID := range src.members[pr.id] {
			touch(keyID)
		}
	}
	for _, kr := range keys {
		touch(kr.id)
		if kr.k == nil {
			delete(src.keys, kr.id)
		} else {
			src.keys[kr.id] = kr.k
		}
	}

	next := &keyring{shards: cur.shards, src: src}
	var copied [keyShards]bool
	shard := func(value string) map[string]*apiKey {
		i := maphash.String(keySeed, value) % keyShards
		if !copied[i] {
			m := maps.Clone(cur.shards[i])
			if m == nil {
				m = map[string]*apiKey{}
			}
			next.shards[i], copied[i] = m, true
		}
		return next.shards[i]
	}
	for id, old := range prev {
		if old != nil {
			// Another key may have taken the value in the same change.
			if m := shard(old.value); m[old.value] == old {
				delete(m, old.value)
			}
		}
		if k := src.keys[id]; k != nil {
			k = src.build(k)
			src.keys[id] = k
			shard(k.value)[k.value] = k
		}
	}
	src.owner = next
	return next, nil
}
