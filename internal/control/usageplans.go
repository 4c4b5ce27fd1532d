package control

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// Meter reports and adjusts quota usage. The server wires it to the data
// plane's limiter, which owns the counters.
type Meter interface {
	// Usage returns, per UTC day from from to to, [used, remaining] of the
	// key's quota in the plan.
	Usage(ctx context.Context, planID, keyID string, q *model.QuotaSettings, from, to time.Time) ([][]int64, error)
	// SetRemaining sets the remaining quota of the current period.
	SetRemaining(ctx context.Context, planID, keyID string, q *model.QuotaSettings, remaining int64) error
}

var errNoUsagePlan = notFound("Invalid Usage Plan ID specified")

func validateUsagePlan(p *model.UsagePlan) error {
	if strings.TrimSpace(p.Name) == "" {
		return badRequest("Usage Plan name must be specified")
	}
	if t := p.Throttle; t != nil {
		if err := checkThrottle(t.BurstLimit, t.RateLimit); err != nil {
			return err
		}
	}
	if q := p.Quota; q != nil {
		if q.Limit < 0 {
			return badRequest("Quota limit must be non-negative")
		}
		switch q.Period {
		case "DAY":
			if q.Offset != 0 {
				return badRequest("Quota offset must be 0 for period DAY")
			}
		case "WEEK":
			if q.Offset < 0 || q.Offset > 6 {
				return badRequest("Quota offset must be between 0 and 6 for period WEEK")
			}
		case "MONTH":
			if q.Offset < 0 || q.Offset > 27 {
				return badRequest("Quota offset must be between 0 and 27 for period MONTH")
			}
		default:
			return badRequest("Invalid quota period specified: %s. Valid values are DAY, WEEK and MONTH", q.Period)
		}
	}
	seen := map[string]bool{}
	for _, s := range p.ApiStages {
		k := s.ApiID + ":" + s.Stage
		if seen[k] {
			return conflict("Usage Plan already contains API stage %s", k)
		}
		seen[k] = true
		for path, t := range s.Throttle {
			if !validMethodPath(path) {
				return badRequest("Invalid method path specified for throttle: %s", path)
			}
			if t == nil {
				return errNegativeThrottle
			}
			if err := checkThrottle(t.BurstLimit, t.RateLimit); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkThrottle refuses negative throttle limits, for usage plans and stage
// method settings: a negative limit would refuse every request.
func checkThrottle(burst int64, rate float64) error {
	if burst < 0 || rate < 0 {
		return errNegativeThrottle
	}
	return nil
}

var errNegativeThrottle = badRequest("Throttle burst and rate limits must be non-negative")

// validMethodPath accepts "{resourcePath}/{METHOD}", e.g. "/pets/GET".
func validMethodPath(p string) bool {
	i := strings.LastIndexByte(p, '/')
	return i >= 0 && strings.HasPrefix(p, "/") && (httpMethods[p[i+1:]] || p[i+1:] == "*")
}

// checkStages checks that every API stage of a plan exists, and that no key
// of the plan is in another plan covering the same stage.
func (a *API) checkStages(ctx context.Context, tx store.Reader, p *model.UsagePlan) error {
	for _, s := range p.ApiStages {
		if _, err := a.loadStage(ctx, tx, s.ApiID, s.Stage); err != nil {
			var e *Error
			if errors.As(err, &e) && e.Status == http.StatusNotFound {
				return badRequest("Invalid stage identifier specified: %s:%s", s.ApiID, s.Stage)
			}
			return err
		}
	}
	keys, err := tx.List(ctx, model.KindUsagePlanKey, model.ApiPrefix(p.ID))
	if err != nil {
		return err
	}
	for _, it := range keys {
		_, keyID, _ := strings.Cut(it.Key, "/")
		if err := a.checkKeyStages(ctx, tx, keyID, p); err != nil {
			return err
		}
	}
	return nil
}

// checkKeyStages refuses a key in two plans that cover the same API stage:
// the gateway could not tell which plan meters a request.
func (a *API) checkKeyStages(ctx context.Context, tx store.Reader, keyID string, plan *model.UsagePlan) error {
	plans, err := listJSON[model.UsagePlan](ctx, tx, model.KindUsagePlan, "")
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, s := range plan.ApiStages {
		mine[s.ApiID+":"+s.Stage] = true
	}
	for _, other := range plans {
		if other.ID == plan.ID {
			continue
		}
		if _, err := tx.Get(ctx, model.KindUsagePlanKey, model.ChildKey(other.ID, keyID)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return err
		}
		for _, s := range other.ApiStages {
			if mine[s.ApiID+":"+s.Stage] {
				return conflict("Usage Plan %s cannot be added because API Key %s cannot reference multiple Usage Plans with the same API Stage: %s:%s", plan.ID, keyID, s.ApiID, s.Stage)
			}
		}
	}
	return nil
}

func usagePlanView(p *model.UsagePlan) *model.UsagePlan {
	if p.ApiStages == nil {
		p.ApiStages = []*model.ApiStage{}
	}
	return p
}

func (a *API) createUsagePlan(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Name        string                  `json:"name"`
		Description string                  `json:"description"`
		ApiStages   []*model.ApiStage       `json:"apiStages"`
		Throttle    *model.ThrottleSettings `json:"throttle"`
		Quota       *model.QuotaSettings    `json:"quota"`
		Tags        map[string]string       `json:"tags"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	p := &model.UsagePlan{ID: newID(6), Name: in.Name, Description: in.Description, ApiStages: in.ApiStages,
		Throttle: in.Throttle, Quota: in.Quota, Tags: in.Tags}
	if err := validateUsagePlan(p); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if err := a.checkStages(ctx, tx, p); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindUsagePlan, p.ID, p)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, usagePlanView(p), nil
}

func (a *API) loadUsagePlan(ctx context.Context, rd store.Reader, id string) (*model.UsagePlan, error) {
	p := new(model.UsagePlan)
	if err := getJSON(ctx, rd, model.KindUsagePlan, id, p, errNoUsagePlan); err != nil {
		return nil, err
	}
	return p, nil
}

func (a *API) getUsagePlan(r *http.Request, _ []byte) (int, any, error) {
	p, err := a.loadUsagePlan(r.Context(), a.Store, r.PathValue("plan"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, usagePlanView(p), nil
}

func (a *API) getUsagePlans(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	plans, err := listJSON[model.UsagePlan](ctx, a.Store, model.KindUsagePlan, "")
	if err != nil {
		return 0, nil, err
	}
	if keyID := r.URL.Query().Get("keyId"); keyID != "" {
		kept := plans[:0]
		for _, p := range plans {
			if _, err := a.Store.Get(ctx, model.KindUsagePlanKey, model.ChildKey(p.ID, keyID)); err == nil {
				kept = append(kept, p)
			}
		}
		plans = kept
	}
	for _, p := range plans {
		usagePlanView(p)
	}
	pg, err := paginate(r, plans, func(p *model.UsagePlan) string { return p.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, pg, nil
}

func (a *API) updateUsagePlan(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateUsagePlanInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var p *model.UsagePlan
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if p, err = a.loadUsagePlan(ctx, tx, r.PathValue("plan")); err != nil {
			return err
		}
		if err := applyOps(ops, p, patchUsagePlan); err != nil {
			return err
		}
		if err := validateUsagePlan(p); err != nil {
			return err
		}
		if err := a.checkStages(ctx, tx, p); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindUsagePlan, p.ID, p)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, usagePlanView(p), nil
}

func patchUsagePlan(p *model.UsagePlan, op PatchOp) error {
	s := op.Segs
	switch {
	case len(s) == 1 && s[0] == "name":
		return patchString(op, &p.Name)
	case len(s) == 1 && s[0] == "description":
		return patchString(op, &p.Description)
	case len(s) == 1 && s[0] == "productCode":
		return patchString(op, &p.ProductCode)
	case len(s) == 1 && s[0] == "apiStages":
		apiID, stage, ok := strings.Cut(op.value(), ":")
		if !ok || apiID == "" || stage == "" {
			return badRequest("Invalid API stage specified: %s. Use {apiId}:{stage}", op.value())
		}
		switch op.Op {
		case "add":
			for _, st := range p.ApiStages {
				if st.ApiID == apiID && st.Stage == stage {
					return conflict("Usage Plan already contains API stage %s", op.value())
				}
			}
			p.ApiStages = append(p.ApiStages, &model.ApiStage{ApiID: apiID, Stage: stage})
			return nil
		case "remove":
			for i, st := range p.ApiStages {
				if st.ApiID == apiID && st.Stage == stage {
					p.ApiStages = append(p.ApiStages[:i], p.ApiStages[i+1:]...)
					return nil
				}
			}
			return notFound("Usage Plan does not contain API stage %s", op.value())
		}
	case len(s) >= 3 && s[0] == "apiStages" && s[2] == "throttle":
		apiID, stage, _ := strings.Cut(s[1], ":")
		var st *model.ApiStage
		for _, x := range p.ApiStages {
			if x.ApiID == apiID && x.Stage == stage {
				st = x
			}
		}
		if st == nil {
			return notFound("Usage Plan does not contain API stage %s", s[1])
		}
		switch {
		case len(s) == 3 && op.Op == "remove":
			st.Throttle = nil
			return nil
		case len(s) == 5 && op.Op == "remove":
			delete(st.Throttle, s[3]+"/"+s[4])
			return nil
		case len(s) == 6 && (op.Op == "replace" || op.Op == "add"):
			key := s[3] + "/" + s[4]
			if st.Throttle == nil {
				st.Throttle = map[string]*model.ThrottleSettings{}
			}
			t := st.Throttle[key]
			if t == nil {
				t = &model.ThrottleSettings{}
			}
			var err error
			switch s[5] {
			case "rateLimit":
				err = patchFloat(op, &t.RateLimit)
			case "burstLimit":
				err = patchInt(op, &t.BurstLimit)
			default:
				return errPatchPath(op)
			}
			if err != nil {
				return err
			}
			st.Throttle[key] = t
			return nil
		}
	case len(s) == 1 && s[0] == "throttle" && op.Op == "remove":
		p.Throttle = nil
		return nil
	case len(s) == 2 && s[0] == "throttle":
		if p.Throttle == nil {
			p.Throttle = &model.ThrottleSettings{}
		}
		switch s[1] {
		case "rateLimit":
			return patchFloat(op, &p.Throttle.RateLimit)
		case "burstLimit":
			return patchInt(op, &p.Throttle.BurstLimit)
		}
	case len(s) == 1 && s[0] == "quota" && op.Op == "remove":
		p.Quota = nil
		return nil
	case len(s) == 2 && s[0] == "quota":
		if p.Quota == nil {
			p.Quota = &model.QuotaSettings{Period: "DAY"}
		}
		switch s[1] {
		case "limit":
			return patchInt(op, &p.Quota.Limit)
		case "offset":
			return patchInt(op, &p.Quota.Offset)
		case "period":
			return patchString(op, &p.Quota.Period)
		}
	}
	return errPatchPath(op)
}

func (a *API) deleteUsagePlan(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		p, err := a.loadUsagePlan(ctx, tx, r.PathValue("plan"))
		if err != nil {
			return err
		}
		keys, err := tx.List(ctx, model.KindUsagePlanKey, model.ApiPrefix(p.ID))
		if err != nil {
			return err
		}
		for _, it := range keys {
			if err := tx.Delete(ctx, model.KindUsagePlanKey, it.Key); err != nil {
				return err
			}
		}
		return tx.Delete(ctx, model.KindUsagePlan, p.ID)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// Usage plan keys.

func (a *API) addPlanKey(ctx context.Context, tx store.Tx, planID string, k *model.ApiKey) error {
	p, err := a.loadUsagePlan(ctx, tx, planID)
	if err != nil {
		return err
	}
	if _, err := tx.Get(ctx, model.KindUsagePlanKey, model.ChildKey(planID, k.ID)); err == nil {
		return conflict("Usage Plan %s already contains API Key %s", planID, k.ID)
	}
	if err := a.checkKeyStages(ctx, tx, k.ID, p); err != nil {
		return err
	}
	return putJSON(ctx, tx, model.KindUsagePlanKey, model.ChildKey(planID, k.ID), planKeyView(k))
}

func planKeyView(k *model.ApiKey) *model.UsagePlanKey {
	return &model.UsagePlanKey{ID: k.ID, Type: "API_KEY", Value: k.Value, Name: k.Name}
}

func (a *API) createUsagePlanKey(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		KeyID   string `json:"keyId"`
		KeyType string `json:"keyType"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if in.KeyType != "API_KEY" {
		return 0, nil, badRequest("Invalid key type specified: %s. Valid value is API_KEY", in.KeyType)
	}
	ctx := r.Context()
	var k *model.ApiKey
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if k, err = a.loadApiKey(ctx, tx, in.KeyID); err != nil {
			return err
		}
		return a.addPlanKey(ctx, tx, r.PathValue("plan"), k)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, planKeyView(k), nil
}

// planKeys returns the plan's keys, read from the keys themselves so names
// and values are current.
func (a *API) planKeys(ctx context.Context, planID string) ([]*model.UsagePlanKey, error) {
	if _, err := a.loadUsagePlan(ctx, a.Store, planID); err != nil {
		return nil, err
	}
	items, err := a.Store.List(ctx, model.KindUsagePlanKey, model.ApiPrefix(planID))
	if err != nil {
		return nil, err
	}
	out := make([]*model.UsagePlanKey, 0, len(items))
	for _, it := range items {
		_, keyID, _ := strings.Cut(it.Key, "/")
		k, err := a.loadApiKey(ctx, a.Store, keyID)
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, planKeyView(k))
	}
	return out, nil
}

func (a *API) getUsagePlanKeys(r *http.Request, _ []byte) (int, any, error) {
	keys, err := a.planKeys(r.Context(), r.PathValue("plan"))
	if err != nil {
		return 0, nil, err
	}
	if name := r.URL.Query().Get("name"); name != "" {
		kept := keys[:0]
		for _, k := range keys {
			if strings.HasPrefix(k.Name, name) {
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	p, err := paginate(r, keys, func(k *model.UsagePlanKey) string { return k.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) getUsagePlanKey(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	planID, keyID := r.PathValue("plan"), r.PathValue("key")
	if _, err := a.loadUsagePlan(ctx, a.Store, planID); err != nil {
		return 0, nil, err
	}
	if _, err := a.Store.Get(ctx, model.KindUsagePlanKey, model.ChildKey(planID, keyID)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil, notFound("Invalid Usage Plan Key ID specified")
		}
		return 0, nil, err
	}
	k, err := a.loadApiKey(ctx, a.Store, keyID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, planKeyView(k), nil
}

func (a *API) deleteUsagePlanKey(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	planID, keyID := r.PathValue("plan"), r.PathValue("key")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadUsagePlan(ctx, tx, planID); err != nil {
			return err
		}
		err := tx.Delete(ctx, model.KindUsagePlanKey, model.ChildKey(planID, keyID))
		if errors.Is(err, store.ErrNotFound) {
			return notFound("Invalid Usage Plan Key ID specified")
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// Usage.

const usageDate = "2006-01-02"

func (a *API) getUsage(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	planID := r.PathValue("plan")
	p, err := a.loadUsagePlan(ctx, a.Store, planID)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	from, err1 := time.Parse(usageDate, q.Get("startDate"))
	to, err2 := time.Parse(usageDate, q.Get("endDate"))
	if err1 != nil || err2 != nil {
		return 0, nil, badRequest("Invalid startDate or endDate: use the format yyyy-MM-dd")
	}
	if to.Before(from) {
		return 0, nil, badRequest("The end date must not be before the start date")
	}
	if to.Sub(from) > 90*24*time.Hour {
		return 0, nil, badRequest("The usage data can only be retrieved for a maximum of 90 days")
	}
	keys, err := a.planKeys(ctx, planID)
	if err != nil {
		return 0, nil, err
	}
	if keyID := q.Get("keyId"); keyID != "" {
		kept := keys[:0]
		for _, k := range keys {
			if k.ID == keyID {
				kept = append(kept, k)
			}
		}
		keys = kept
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ID < keys[j].ID })
	pg, err := paginate(r, keys, func(k *model.UsagePlanKey) string { return k.ID })
	if err != nil {
		return 0, nil, err
	}
	values := map[string][][]int64{}
	if a.Meter != nil {
		for _, k := range pg.Item.([]*model.UsagePlanKey) {
			days, err := a.Meter.Usage(ctx, planID, k.ID, p.Quota, from, to)
			if err != nil {
				return 0, nil, err
			}
			values[k.ID] = days
		}
	}
	out := map[string]any{"usagePlanId": planID, "startDate": q.Get("startDate"), "endDate": q.Get("endDate"), "values": values}
	if pg.Position != "" {
		out["position"] = pg.Position
	}
	return http.StatusOK, out, nil
}

func (a *API) updateUsage(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateUsageInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	planID, keyID := r.PathValue("plan"), r.PathValue("key")
	p, err := a.loadUsagePlan(ctx, a.Store, planID)
	if err != nil {
		return 0, nil, err
	}
	if _, err := a.Store.Get(ctx, model.KindUsagePlanKey, model.ChildKey(planID, keyID)); err != nil {
		return 0, nil, notFound("Invalid Usage Plan Key ID specified")
	}
	if p.Quota == nil {
		return 0, nil, badRequest("Usage Plan %s has no quota", planID)
	}
	for _, op := range ops {
		if len(op.Segs) != 1 || op.Segs[0] != "remaining" || op.Op != "replace" {
			return 0, nil, errPatchPath(op)
		}
		var n int64
		if err := patchInt(op, &n); err != nil {
			return 0, nil, err
		}
		if n < 0 {
			return 0, nil, badRequest("Remaining quota must be non-negative")
		}
		if a.Meter != nil {
			if err := a.Meter.SetRemaining(ctx, planID, keyID, p.Quota, n); err != nil {
				return 0, nil, err
			}
		}
	}
	today := a.now().UTC().Format(usageDate)
	values := map[string][][]int64{}
	if a.Meter != nil {
		t, _ := time.Parse(usageDate, today)
		days, err := a.Meter.Usage(ctx, planID, keyID, p.Quota, t, t)
		if err != nil {
			return 0, nil, err
		}
		values[keyID] = days
	}
	return http.StatusOK, map[string]any{"usagePlanId": planID, "startDate": today, "endDate": today, "values": values}, nil
}
