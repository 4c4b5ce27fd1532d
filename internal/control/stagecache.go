package control

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// The stage cache's side of the management API: cacheClusterSize and the
// caching/* method settings checked as AWS checks them, cacheClusterStatus
// moving through AWS's states, and FlushStageCache.

// cacheClusterSizes are the sizes AWS offers, in GB.
var cacheClusterSizes = []string{"0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"}

// Cache cluster states, as AWS reports them.
const (
	cacheCreating     = "CREATE_IN_PROGRESS"
	cacheAvailable    = "AVAILABLE"
	cacheDeleting     = "DELETE_IN_PROGRESS"
	cacheNotAvailable = "NOT_AVAILABLE"
)

// DefaultCacheSettle is how long a cache stays CREATE_IN_PROGRESS or
// DELETE_IN_PROGRESS when API.CacheSettle is 0. AWS takes minutes; apigw
// has nothing to provision, but keeps the states so that scripts waiting
// for AVAILABLE work unchanged.
const DefaultCacheSettle = time.Second

// maxCacheTTL bounds caching/ttlInSeconds, as on AWS.
const maxCacheTTL = 3600

func checkCacheClusterSize(size string) error {
	if size != "" && !slices.Contains(cacheClusterSizes, size) {
		return badRequest("Invalid cache cluster size specified: %s. Valid values are %s", size, strings.Join(cacheClusterSizes, ", "))
	}
	return nil
}

// cacheTransition sets the stage's cacheClusterStatus for a change from
// was (nil for a new stage): enabling, or resizing an enabled cache, starts
// CREATE_IN_PROGRESS (AWS recreates a resized cache, dropping its
// entries); disabling starts DELETE_IN_PROGRESS. It reports whether the
// status has to settle.
func cacheTransition(was, st *model.Stage) bool {
	if st.CacheClusterEnabled && st.CacheClusterSize == "" {
		st.CacheClusterSize = "0.5"
	}
	wasOn := was != nil && was.CacheClusterEnabled
	switch {
	case st.CacheClusterEnabled && (!wasOn || was.CacheClusterSize != st.CacheClusterSize):
		st.CacheClusterStatus = cacheCreating
	case !st.CacheClusterEnabled && wasOn:
		st.CacheClusterStatus = cacheDeleting
	default:
		return false
	}
	return true
}

func (a *API) cacheSettle() time.Duration {
	if a.CacheSettle > 0 {
		return a.CacheSettle
	}
	return DefaultCacheSettle
}

// settleCacheLater settles the stage's cache status once the answer is
// out, after the settle time.
func (a *API) settleCacheLater(ctx context.Context, apiID, name string) {
	ctx = context.WithoutCancel(ctx)
	time.AfterFunc(a.cacheSettle(), func() { a.settleCache(ctx, apiID, name) })
}

// settleCache moves a stage's cache from CREATE_IN_PROGRESS to AVAILABLE,
// or from DELETE_IN_PROGRESS to NOT_AVAILABLE.
func (a *API) settleCache(ctx context.Context, apiID, name string) {
	changed := false
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		st, err := a.loadStage(ctx, tx, apiID, name)
		if err != nil {
			return err
		}
		switch st.CacheClusterStatus {
		case cacheCreating:
			st.CacheClusterStatus = cacheAvailable
		case cacheDeleting:
			st.CacheClusterStatus = cacheNotAvailable
		default:
			return nil
		}
		changed = true
		return putJSON(ctx, tx, model.KindStage, model.ChildKey(apiID, name), st)
	})
	var ce *Error
	if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
		return // deleted meanwhile
	}
	if err != nil {
		a.log().Error("stage cache status not settled", "api", apiID, "stage", name, "err", err)
		return
	}
	if changed && a.Committed != nil {
		a.Committed(ctx)
	}
}

// SettleStageCaches settles the cache states a process that stopped left
// in progress. The server calls it at start.
func (a *API) SettleStageCaches(ctx context.Context) error {
	items, err := a.Store.List(ctx, model.KindStage, "")
	if err != nil {
		return err
	}
	for _, it := range items {
		apiID, name, _ := strings.Cut(it.Key, "/")
		if v := string(it.Value); strings.Contains(v, `"`+cacheCreating+`"`) || strings.Contains(v, `"`+cacheDeleting+`"`) {
			a.settleCache(ctx, apiID, name)
		}
	}
	return nil
}

// checkCacheSetting refuses the caching/* values AWS refuses.
func checkCacheSetting(setting, value string, ttl int64) error {
	switch setting {
	case "caching/ttlInSeconds":
		if ttl < 0 || ttl > maxCacheTTL {
			return badRequest("Invalid cache ttl specified: %s. Must be between 0 and %d", value, maxCacheTTL)
		}
	case "caching/unauthorizedCacheControlHeaderStrategy":
		switch value {
		case "FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER":
		default:
			return badRequest("Invalid unauthorized cache control header strategy specified: %s. Valid values are FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER and SUCCEED_WITHOUT_RESPONSE_HEADER", value)
		}
	}
	return nil
}

// flushStageCache is FlushStageCache: every node drops the stage's
// entries when it sees the flush generation move (internal/gateway).
func (a *API) flushStageCache(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, name := r.PathValue("api"), r.PathValue("stage")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadStage(ctx, tx, apiID, name); err != nil {
			return err
		}
		return bumpCacheGeneration(ctx, tx, model.ChildKey(apiID, name), a.now().Unix())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// bumpCacheGeneration moves the stage's cache to its next generation:
// nothing stored under an earlier one is served again, on any node.
func bumpCacheGeneration(ctx context.Context, tx store.Tx, key string, now int64) error {
	var f model.StageCacheFlush
	if err := getJSON(ctx, tx, model.KindStageCacheFlush, key, &f, errNoStage); err != nil && !errors.Is(err, errNoStage) {
		return err
	}
	f.Generation++
	f.FlushedAt = now
	return putJSON(ctx, tx, model.KindStageCacheFlush, key, &f)
}
