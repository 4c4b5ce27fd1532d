package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/cache"
	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/store"
)

// The stage cache (API Gateway's "API cache"): a stage with
// cacheClusterEnabled keeps the answers of its cached methods for their
// TTL, keyed by the method, the resource (or its cacheNamespace) and the
// values of the integration's cacheKeyParameters. The cache step runs
// after the method request (authorization, metering and validation still
// apply to a cached answer, as on AWS) and before the integration; a hit
// ends the pipeline with the kept answer. finish stores what a miss got.

// DefaultStageCacheMaxBytes caps the memory of one stage's cache when
// StageCacheOptions.MaxBytes is 0.
const DefaultStageCacheMaxBytes = 512 << 20

// StageCacheOptions configure the stage caches.
type StageCacheOptions struct {
	// MaxBytes caps the memory one stage's cache uses, whatever its
	// cacheClusterSize asks for (size in GB × 2^30 bytes); 0 means
	// DefaultStageCacheMaxBytes.
	MaxBytes int64
	// Redis, when set, keeps every stage's entries in Redis, shared by the
	// nodes; the memory serves while Redis does not answer.
	Redis *cache.Redis
}

// CacheClusterSizes are the cacheClusterSize values AWS accepts, in GB.
var CacheClusterSizes = []string{"0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"}

// DefaultCacheClusterSize is the size of a cache created without one.
const DefaultCacheClusterSize = "0.5"

// stageCacheBytes is the memory bound of a cache of size (GB): size × 2^30,
// at most max.
func stageCacheBytes(size string, max int64) int64 {
	gb, err := strconv.ParseFloat(size, 64)
	if err != nil || gb <= 0 {
		gb = 0.5
	}
	n := gb * (1 << 30)
	if max <= 0 {
		max = DefaultStageCacheMaxBytes
	}
	if n > float64(max) {
		return max
	}
	return int64(n)
}

// cacheWarning is the Warning field AWS adds when it ignores an
// unauthorized client's Cache-Control (SUCCEED_WITH_RESPONSE_HEADER).
const cacheWarning = `199 Cache-control headers were ignored because the caller was unauthorized.`

const invalidateAction = "execute-api:InvalidateCache"

// Strategies for a Cache-Control: max-age=0 from a caller not allowed to
// invalidate (unauthorizedCacheControlHeaderStrategy).
const (
	strategyWarn   = iota // SUCCEED_WITH_RESPONSE_HEADER, AWS's default
	strategyIgnore        // SUCCEED_WITHOUT_RESPONSE_HEADER
	strategyFail          // FAIL_WITH_403
)

// cachePolicy is how one method of a stage caches, compiled with the stage.
type cachePolicy struct {
	ttl time.Duration
	// getOnly: the stage-wide setting (*/*) caches GET requests only, as
	// on AWS; a method's own setting caches the method, whatever it is.
	getOnly     bool
	namespace   string // the integration's cacheNamespace, or the resource path
	params      []cacheKeyParam
	requireAuth bool
	strategy    int
}

// cacheKeyParam is one of an integration's cacheKeyParameters.
type cacheKeyParam struct {
	where byte // 'q' query string, 'm' multi-value query string, 'h' header, 'p' path
	name  string
}

// stageCacheSlot is a stage's cache, kept across recompiles of the stage
// while its size and flush generation stay.
type stageCacheSlot struct {
	c    *cache.Cache
	size string
	gen  int64
}

// compileCachePolicies returns the cache policy of each route of dep by
// Route.index for stage st, or nil when no method caches.
func compileCachePolicies(st *model.Stage, dep *Deployment) []*cachePolicy {
	var out []*cachePolicy
	all := st.MethodSettings["*/*"]
	for i, rt := range dep.Routes {
		ms, getOnly := st.MethodSettings[escapeSeg(rt.ResourcePath)+"/"+rt.Method.HTTPMethod], false
		if ms == nil {
			ms, getOnly = all, true
			if rt.Method.HTTPMethod != "GET" && rt.Method.HTTPMethod != "ANY" {
				continue
			}
		}
		if ms == nil || !ms.CachingEnabled || ms.CacheTtlInSeconds <= 0 || rt.Integration == nil {
			continue
		}
		p := &cachePolicy{ttl: time.Duration(ms.CacheTtlInSeconds) * time.Second, getOnly: getOnly,
			namespace: rt.ResourcePath, requireAuth: ms.RequireAuthorizationForCacheControl}
		switch ms.UnauthorizedCacheControlHeaderStrategy {
		case "FAIL_WITH_403":
			p.strategy = strategyFail
		case "SUCCEED_WITHOUT_RESPONSE_HEADER":
			p.strategy = strategyIgnore
		}
		if mi := rt.Method.MethodIntegration; mi != nil {
			if mi.CacheNamespace != "" && mi.CacheNamespace != rt.ResourceID {
				p.namespace = "\x00ns:" + mi.CacheNamespace
			}
			for _, name := range mi.CacheKeyParameters {
				if kp, ok := parseCacheKeyParam(name); ok {
					p.params = append(p.params, kp)
				}
			}
		}
		if out == nil {
			out = make([]*cachePolicy, len(dep.Routes))
		}
		out[i] = p
	}
	return out
}

// parseCacheKeyParam reads a cacheKeyParameters entry:
// method.request.{querystring,multivaluequerystring,header,path}.{name}.
func parseCacheKeyParam(s string) (cacheKeyParam, bool) {
	rest, ok := strings.CutPrefix(s, "method.request.")
	if !ok {
		return cacheKeyParam{}, false
	}
	where, name, ok := strings.Cut(rest, ".")
	if !ok || name == "" {
		return cacheKeyParam{}, false
	}
	switch where {
	case "querystring":
		return cacheKeyParam{'q', name}, true
	case "multivaluequerystring":
		return cacheKeyParam{'m', name}, true
	case "header":
		return cacheKeyParam{'h', http.CanonicalHeaderKey(name)}, true
	case "path":
		return cacheKeyParam{'p', name}, true
	}
	return cacheKeyParam{}, false
}

// key is the request's cache key under p: method, namespace, then each
// key parameter's value (absent and empty differ).
func (p *cachePolicy) key(rq *request) string {
	n := len(rq.HTTPMethod) + 1 + len(p.namespace)
	b := make([]byte, 0, n+16*len(p.params))
	b = append(b, rq.HTTPMethod...)
	b = append(b, ' ')
	b = append(b, p.namespace...)
	for _, kp := range p.params {
		var vals []string
		switch kp.where {
		case 'q':
			if v := rq.Query()[kp.name]; len(v) > 0 {
				vals = v[len(v)-1:] // API Gateway's querystring is the last value
			}
		case 'm':
			vals = rq.Query()[kp.name]
		case 'h':
			vals = rq.Header[kp.name]
		case 'p':
			if v, ok := rq.params.Get(kp.name); ok {
				vals = []string{v}
			}
		}
		b = append(b, 0, kp.where)
		b = append(b, kp.name...)
		if vals == nil {
			b = append(b, 1)
			continue
		}
		for _, v := range vals {
			b = append(b, 2)
			b = strconv.AppendInt(b, int64(len(v)), 10)
			b = append(b, ':')
			b = append(b, v...)
		}
	}
	return string(b)
}

// errAnswered ends the pipeline early with the answer in rq.out: a cache
// hit. run returns nil for it.
var errAnswered = errors.New("answered from the stage cache")

// cacheStep serves the request from its stage's cache, or notes where
// finish stores the answer. A stage without a cache pays one nil check.
var cacheStep = step{"cache", (*Gateway).lookupCache}

func (g *Gateway) lookupCache(rq *request) error {
	st := rq.stage
	if st.cache == nil || st.cachePolicies == nil {
		return nil
	}
	p := st.cachePolicies[rq.route.index]
	if p == nil || (p.getOnly && rq.HTTPMethod != "GET") {
		return nil
	}
	key := p.key(rq)
	counters := st.metricsOf(rq.route)
	rq.cacheKey, rq.cacheTTL = key, p.ttl
	if maxAgeZero(rq.Header) {
		allowed, err := g.mayInvalidate(rq, p)
		if err != nil {
			return err
		}
		if allowed {
			// The entry is replaced by what the integration answers.
			counters.CacheMisses.Add(1)
			return nil
		}
		switch p.strategy {
		case strategyFail:
			return g.invalidateDenied(rq)
		case strategyWarn:
			rq.cacheWarn = true
			rq.out.Header["Warning"] = []string{cacheWarning}
		}
	}
	e, ok := st.cache.Get(rq.ctx, key)
	if !ok {
		counters.CacheMisses.Add(1)
		return nil
	}
	counters.CacheHits.Add(1)
	rq.cacheKey = ""
	h := rq.out.Header
	for k, v := range e.Header {
		h[k] = v
	}
	rq.out.Status = e.Status
	rq.out.SetBody(e.Body)
	return errAnswered
}

// maxAgeZero reports whether the client asks to bypass the cache:
// Cache-Control: max-age=0.
func maxAgeZero(h http.Header) bool {
	vals := h["Cache-Control"]
	for _, v := range vals {
		for d := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "max-age=0") {
				return true
			}
		}
	}
	return false
}

// mayInvalidate says whether the caller may invalidate the entry: anyone
// when the method does not require authorization; otherwise a SigV4 caller
// (AWS_IAM) whose identity or the API's resource policy allows
// execute-api:InvalidateCache on the method, and neither denies it.
func (g *Gateway) mayInvalidate(rq *request, p *cachePolicy) (bool, error) {
	if !p.requireAuth {
		return true, nil
	}
	caller := rq.caller
	if caller == nil || g.Identities == nil {
		return false, nil
	}
	req := &policy.Request{Action: invalidateAction, Resource: g.methodARN(rq.APIID, rq.Stage, rq.HTTPMethod, decodedPath(rq.Path)),
		Context:   conditionContext(rq, caller),
		Principal: &policy.Principal{AWS: []string{caller.ARN, "arn:aws:iam::" + caller.AccountID + ":root", caller.AccountID}}}
	idEffect, err := g.Identities.IdentityEffect(rq.ctx, caller, req)
	if err != nil {
		return false, fault.ConfigurationError(err)
	}
	rpEffect := policy.NotApplicable
	if rp := rq.stage.resourcePolicy; rp != nil {
		rpEffect = rp.Evaluate(req)
	}
	switch {
	case idEffect == policy.Deny || rpEffect == policy.Deny:
		return false, nil
	case caller.AccountID == g.AccountID:
		return idEffect == policy.Allow || rpEffect == policy.Allow, nil
	default:
		return idEffect == policy.Allow && rpEffect == policy.Allow, nil
	}
}

// invalidateDenied is FAIL_WITH_403's answer, in the words of AWS's
// access-denied answers.
func (g *Gateway) invalidateDenied(rq *request) error {
	who := "anonymous"
	if rq.caller != nil {
		who = rq.caller.ARN
	}
	resource := g.methodARN(rq.APIID, rq.Stage, rq.HTTPMethod, decodedPath(rq.Path))
	return &fault.Error{Type: fault.AccessDenied, Status: 403, ErrorType: "AccessDeniedException", MessageKey: "Message",
		Message: "User: " + who + " is not authorized to perform: " + invalidateAction + " on resource: " + resource}
}

// writeCaching writes the answer of a request the cache missed and keeps
// it when API Gateway would: a 2xx answer of at most cache.MaxEntryBytes.
func (g *Gateway) writeCaching(w http.ResponseWriter, rq *request) {
	if rq.out.Status < 200 || rq.out.Status > 299 {
		rq.out.Write(w)
		return
	}
	cw := &captureWriter{ResponseWriter: w, skipWarning: rq.cacheWarn}
	rq.out.Write(cw)
	if cw.over || cw.header == nil {
		return
	}
	rq.stage.cache.Set(rq.ctx, rq.cacheKey, &cache.Entry{Status: rq.out.Status, Header: cw.header, Body: string(cw.body), TTL: rq.cacheTTL})
}

// captureWriter passes an answer through and keeps a copy of it (up to
// cache.MaxEntryBytes): the header fields the cache replays, and the body.
type captureWriter struct {
	http.ResponseWriter
	header      http.Header
	body        []byte
	over        bool
	skipWarning bool
}

// notReplayed are the fields of an answer that belong to one request.
var notReplayed = map[string]bool{"X-Amzn-Requestid": true, "X-Amz-Apigw-Id": true, "X-Amzn-Trace-Id": true, "Date": true}

func (c *captureWriter) WriteHeader(status int) {
	h := c.ResponseWriter.Header()
	c.header = make(http.Header, len(h))
	for k, v := range h {
		if notReplayed[k] || (c.skipWarning && k == "Warning") {
			continue
		}
		c.header[k] = slices.Clip(slices.Clone(v))
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if !c.over {
		if len(c.body)+len(p) > cache.MaxEntryBytes {
			c.over, c.body = true, nil
		} else {
			c.body = append(c.body, p...)
		}
	}
	return c.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// attachCache gives a compiled stage its cache: the one it had when its
// size and flush generation are the same, else a new one. The canary
// shares it when its useStageCache says so.
func (g *Gateway) attachCache(ctx context.Context, apiID string, st *model.Stage, ns *Stage) {
	if !st.CacheClusterEnabled {
		return
	}
	key := model.ChildKey(apiID, st.StageName)
	slot := g.stageCaches[key]
	gen, err := g.flushGeneration(ctx, key)
	if err != nil {
		g.storeErrors.Add(1)
		g.log().Error("stage cache flush generation not read", "api", apiID, "stage", st.StageName, "err", err)
		if slot == nil {
			// Without its generation the stage could read entries a flush
			// retired (in Redis): served without a cache until it is read.
			return
		}
		gen = slot.gen
	}
	size := st.CacheClusterSize
	if size == "" {
		size = DefaultCacheClusterSize
	}
	if slot == nil || slot.size != size || slot.gen != gen {
		if slot != nil {
			// Closed once the state that no longer uses it is published:
			// the one serving now still does.
			g.retiredCaches = append(g.retiredCaches, slot.c)
		}
		scope := key + ":" + strconv.FormatInt(gen, 10) + ":"
		slot = &stageCacheSlot{c: cache.New(stageCacheBytes(size, g.StageCache.MaxBytes), g.StageCache.Redis, scope), size: size, gen: gen}
		if g.stageCaches == nil {
			g.stageCaches = map[string]*stageCacheSlot{}
		}
		g.stageCaches[key] = slot
	}
	ns.cache, ns.cachePolicies = slot.c, compileCachePolicies(st, ns.Deployment)
	if c := ns.canary; c != nil && st.CanarySettings != nil && st.CanarySettings.UseStageCache {
		c.cache, c.cachePolicies = slot.c, compileCachePolicies(st, c.Deployment)
	}
}

// flushGeneration is how many times the stage's cache was flushed
// (FlushStageCache), from the store.
func (g *Gateway) flushGeneration(ctx context.Context, key string) (int64, error) {
	b, err := g.Store.Get(ctx, model.KindStageCacheFlush, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var f model.StageCacheFlush
	if err := json.Unmarshal(b, &f); err != nil {
		return 0, err
	}
	return f.Generation, nil
}

// forgetStageCaches closes the caches of the stages next serves without
// one. Called under syncMu.
func (g *Gateway) forgetStageCaches(next *state) {
	for key, slot := range g.stageCaches {
		apiID, name, _ := strings.Cut(key, "/")
		if st := next.apis[apiID][name]; st == nil || st.cache != slot.c {
			g.retiredCaches = append(g.retiredCaches, slot.c)
			delete(g.stageCaches, key)
		}
	}
}

// closeRetiredCaches closes the caches no published state uses any more.
// Sync calls it after publishing the state that replaced them.
func (g *Gateway) closeRetiredCaches() {
	for _, c := range g.retiredCaches {
		c.Close()
	}
	g.retiredCaches = nil
}

// StageCache returns the cache a stage serves from, nil when it has none
// (for tests and the admin listener).
func (g *Gateway) StageCacheOf(apiID, stage string) *cache.Cache {
	if st := g.state.Load().apis[apiID][stage]; st != nil {
		return st.cache
	}
	return nil
}
