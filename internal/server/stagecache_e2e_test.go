package server_test

// End-to-end tests of the stage cache: settings through UpdateStage as AWS
// takes them, a counting HTTP backend behind a cached stage, invalidation
// by Cache-Control with each strategy, FlushStageCache, and the
// CacheHitCount/CacheMissCount metrics.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
)

func scOp(path, value string) types.PatchOperation {
	return types.PatchOperation{Op: types.OpReplace, Path: aws.String(path), Value: aws.String(value)}
}

// scBackend answers every request with its sequence number, so that an
// answer from the cache is told apart from a new one.
func scBackend(t *testing.T) (*dpBackend, *atomic.Int64) {
	var n atomic.Int64
	b := newDPBackend(t, "cached", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Backend", "yes")
		fmt.Fprintf(w, "call %d %s %s", n.Add(1), r.Method, r.URL.RequestURI())
	})
	return b, &n
}

// scStageStatus polls GetStage until the cache status is want.
func scStageStatus(t *testing.T, in *apigwtest.Instance, apiID, stage, want string) {
	t.Helper()
	dpEventually(t, "cacheClusterStatus "+want, func() bool {
		out, err := in.Client.GetStage(t.Context(), &apigateway.GetStageInput{RestApiId: aws.String(apiID), StageName: aws.String(stage)})
		if err != nil {
			t.Fatalf("GetStage: %v", err)
		}
		return string(out.CacheClusterStatus) == want
	})
}

func scGet(t *testing.T, url string, header ...string) dpAnswer {
	t.Helper()
	req := dpRequest(t, http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return dpCall(t, req)
}

func TestStageCache(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.MetricsPublic = true; c.CacheSettle = 50 * time.Millisecond })
	b, calls := scBackend(t)
	a := newDPAPI(t, in, "cached")
	a.method("/items", "GET", false, "method.request.querystring.color")
	a.integration("/items", "GET", &apigateway.PutIntegrationInput{
		Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(b.URL + "/items"),
		CacheKeyParameters: []string{"method.request.querystring.color"},
	})
	a.proxy("/items", "POST", b.URL+"/items", nil)
	a.deploy("prod", nil)

	// Without a cache every call reaches the backend.
	url := a.url("prod", "/items?color=red")
	scGet(t, url)
	scGet(t, url)
	if calls.Load() != 2 {
		t.Fatalf("backend calls without a cache = %d, want 2", calls.Load())
	}

	// Bad values are refused with AWS's words.
	_, err := in.Client.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("prod"),
		PatchOperations: []types.PatchOperation{scOp("/cacheClusterSize", "2")}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid cache cluster size specified: 2. Valid values are 0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237")
	_, err = in.Client.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("prod"),
		PatchOperations: []types.PatchOperation{scOp("/*/*/caching/ttlInSeconds", "3601")}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid cache ttl specified: 3601. Must be between 0 and 3600")
	_, err = in.Client.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("prod"),
		PatchOperations: []types.PatchOperation{scOp("/*/*/caching/unauthorizedCacheControlHeaderStrategy", "IGNORE")}})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid unauthorized cache control header strategy specified: IGNORE...")

	out, err := in.Client.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("prod"),
		PatchOperations: []types.PatchOperation{scOp("/cacheClusterEnabled", "true"), scOp("/*/*/caching/enabled", "true")}})
	if err != nil {
		t.Fatalf("UpdateStage: %v", err)
	}
	if out.CacheClusterStatus != types.CacheClusterStatusCreateInProgress || string(out.CacheClusterSize) != "0.5" {
		t.Errorf("after enabling: status %s size %s, want CREATE_IN_PROGRESS 0.5", out.CacheClusterStatus, string(out.CacheClusterSize))
	}
	ms := out.MethodSettings["*/*"]
	if !ms.CachingEnabled || ms.CacheTtlInSeconds != 300 || !ms.RequireAuthorizationForCacheControl || ms.UnauthorizedCacheControlHeaderStrategy != types.UnauthorizedCacheControlHeaderStrategySucceedWithResponseHeader {
		t.Errorf("*/* method setting = %+v, want AWS's defaults with caching enabled", ms)
	}
	scStageStatus(t, in, a.id, "prod", "AVAILABLE")

	// A GET within the TTL is served from the cache; the key is the
	// cacheKeyParameters' values, other parameters do not count.
	first := scGet(t, url)
	before := calls.Load()
	second := scGet(t, url)
	third := scGet(t, a.url("prod", "/items?other=1&color=red"))
	if calls.Load() != before || second.body != first.body || third.body != first.body {
		t.Errorf("cached GETs reached the backend: calls %d→%d, bodies %q %q %q", before, calls.Load(), first.body, second.body, third.body)
	}
	if second.header.Get("X-Backend") != "yes" || second.header.Get("Content-Type") != "text/plain" {
		t.Errorf("a cached answer lost the backend's fields: %v", second.header)
	}
	if second.header.Get("x-amzn-RequestId") == first.header.Get("x-amzn-RequestId") {
		t.Errorf("a cached answer replays the request id of the first")
	}
	if blue := scGet(t, a.url("prod", "/items?color=blue")); calls.Load() != before+1 || blue.body == first.body {
		t.Errorf("another key value was served from the cache: %q", blue.body)
	}
	// POST is not cached by the stage-wide setting.
	for range 2 {
		dpCall(t, dpRequest(t, http.MethodPost, url, strings.NewReader("x")))
	}
	if calls.Load() != before+3 {
		t.Errorf("POSTs: backend calls %d, want %d", calls.Load(), before+3)
	}

	// Cache-Control: max-age=0 from a caller not allowed to invalidate.
	got := scGet(t, url, "Cache-Control", "max-age=0")
	if got.body != first.body || got.header.Get("Warning") != `199 Cache-control headers were ignored because the caller was unauthorized.` {
		t.Errorf("SUCCEED_WITH_RESPONSE_HEADER: body %q Warning %q", got.body, got.header.Get("Warning"))
	}
	if plain := scGet(t, url); plain.header.Get("Warning") != "" {
		t.Errorf("the Warning was cached: %v", plain.header)
	}
	mxUpdateStage(t, in, a.id, "prod", scOp("/*/*/caching/unauthorizedCacheControlHeaderStrategy", "SUCCEED_WITHOUT_RESPONSE_HEADER"))
	if got := scGet(t, url, "Cache-Control", "max-age=0"); got.body != first.body || got.header.Get("Warning") != "" {
		t.Errorf("SUCCEED_WITHOUT_RESPONSE_HEADER: body %q Warning %q", got.body, got.header.Get("Warning"))
	}
	mxUpdateStage(t, in, a.id, "prod", scOp("/*/*/caching/unauthorizedCacheControlHeaderStrategy", "FAIL_WITH_403"))
	got = scGet(t, url, "Cache-Control", "max-age=0")
	if got.status != 403 || !strings.Contains(got.body, "is not authorized to perform: execute-api:InvalidateCache on resource: arn:aws:execute-api:") {
		t.Errorf("FAIL_WITH_403: %d %s", got.status, got.body)
	}
	if calls.Load() != before+3 {
		t.Errorf("refused invalidations reached the backend")
	}
	// Without requireAuthorizationForCacheControl anyone invalidates: the
	// entry is replaced by the new answer.
	mxUpdateStage(t, in, a.id, "prod", scOp("/*/*/caching/requireAuthorizationForCacheControl", "false"))
	fresh := scGet(t, url, "Cache-Control", "no-cache, max-age=0")
	if calls.Load() != before+4 || fresh.body == first.body {
		t.Errorf("invalidation: calls %d body %q", calls.Load(), fresh.body)
	}
	if again := scGet(t, url); again.body != fresh.body {
		t.Errorf("after invalidation the cache serves %q, want the new %q", again.body, fresh.body)
	}

	// FlushStageCache empties it.
	if _, err := in.Client.FlushStageCache(t.Context(), &apigateway.FlushStageCacheInput{RestApiId: aws.String(a.id), StageName: aws.String("prod")}); err != nil {
		t.Fatalf("FlushStageCache: %v", err)
	}
	n := calls.Load()
	flushed := scGet(t, url)
	if calls.Load() != n+1 || flushed.body == fresh.body {
		t.Errorf("after a flush: calls %d→%d body %q", n, calls.Load(), flushed.body)
	}
	_, err = in.Client.FlushStageCache(t.Context(), &apigateway.FlushStageCacheInput{RestApiId: aws.String(a.id), StageName: aws.String("nope")})
	apigwtest.WantAPIError(t, err, 404, "NotFoundException", "Invalid stage identifier specified")

	// A TTL of 1 s: the entry expires (polled, not slept on).
	mxUpdateStage(t, in, a.id, "prod", scOp("/~1items/GET/caching/enabled", "true"), scOp("/~1items/GET/caching/ttlInSeconds", "1"))
	green := a.url("prod", "/items?color=green")
	g1 := scGet(t, green)
	if g2 := scGet(t, green); g2.body != g1.body {
		t.Fatalf("a 1 s entry was not served at once: %q then %q", g1.body, g2.body)
	}
	start := time.Now()
	dpEventually(t, "the 1 s entry expires", func() bool { return scGet(t, green).body != g1.body })
	if time.Since(start) > 5*time.Second {
		t.Errorf("the 1 s entry lived %v", time.Since(start))
	}

	// The metrics count hits and misses by stage.
	_, _, mfs := mxScrape(t, in, "")
	hits := mxSeries(mfs, "aws_apigateway_cache_hit_count_total")["ApiName=cached,Stage=prod"]
	misses := mxSeries(mfs, "aws_apigateway_cache_miss_count_total")["ApiName=cached,Stage=prod"]
	if hits < 7 || misses < 5 {
		t.Errorf("CacheHitCount %v CacheMissCount %v, want at least 7 and 5", hits, misses)
	}

	// Disabling deletes the cache: DELETE_IN_PROGRESS, then NOT_AVAILABLE,
	// and every GET reaches the backend again.
	out, err = in.Client.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("prod"),
		PatchOperations: []types.PatchOperation{scOp("/cacheClusterEnabled", "false")}})
	if err != nil || out.CacheClusterStatus != types.CacheClusterStatusDeleteInProgress {
		t.Fatalf("disabling: %v %s", err, out.CacheClusterStatus)
	}
	scStageStatus(t, in, a.id, "prod", "NOT_AVAILABLE")
	n = calls.Load()
	scGet(t, url)
	scGet(t, url)
	if calls.Load() != n+2 {
		t.Errorf("without the cache: calls %d, want %d", calls.Load(), n+2)
	}
}

// TestStageCacheRedisNodes: two nodes on one PostgreSQL store and one
// Redis share the stage cache: an answer one node cached is served by the
// other without a backend call, and FlushStageCache through one empties
// it for both.
func TestStageCacheRedisNodes(t *testing.T) {
	rurl, prefix, rdb := testRedis(t, "the shared stage cache test")
	url := pgtest.URL(t)
	node := func(c *server.Config) { c.Redis, c.RedisPrefix, c.CacheSettle = rurl, prefix, 50*time.Millisecond }
	dir := t.TempDir()
	a := apigwtest.StartIn(t, dir, pgStore(url), node)
	b := apigwtest.StartIn(t, dir, pgStore(url), node)

	backend, calls := scBackend(t)
	api := newDPAPI(t, a, "shared-cache")
	api.proxy("/items", "GET", backend.URL+"/items", nil)
	api.deploy("prod", nil)
	mxUpdateStage(t, a, api.id, "prod", scOp("/cacheClusterEnabled", "true"), scOp("/*/*/caching/enabled", "true"))
	dpEventually(t, "node B serves the stage with its cache", func() bool { return b.Server.Gateway.StageCacheOf(api.id, "prod") != nil })

	first := scGet(t, a.InvokeURL(api.id, "prod", "/items"))
	viaB := scGet(t, b.InvokeURL(api.id, "prod", "/items"))
	if calls.Load() != 1 || viaB.body != first.body {
		t.Fatalf("node B: backend calls %d, body %q, want 1 and node A's %q", calls.Load(), viaB.body, first.body)
	}
	keys, err := rdb.Keys(t.Context(), prefix+"stagecache:"+api.id+"/prod:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("entries in Redis: %v %v, want 1", keys, err)
	}
	if ttl := rdb.PTTL(t.Context(), keys[0]).Val(); ttl <= 0 || ttl > 300*time.Second {
		t.Errorf("the entry's TTL in Redis is %v, want at most 300s", ttl)
	}

	if _, err := a.Client.FlushStageCache(t.Context(), &apigateway.FlushStageCacheInput{RestApiId: aws.String(api.id), StageName: aws.String("prod")}); err != nil {
		t.Fatalf("FlushStageCache: %v", err)
	}
	// Node B hears of the flush through the store; until then it may serve
	// the old entry.
	dpEventually(t, "node B misses after the flush", func() bool { return scGet(t, b.InvokeURL(api.id, "prod", "/items")).body != first.body })
	fresh := scGet(t, b.InvokeURL(api.id, "prod", "/items"))
	if got := scGet(t, a.InvokeURL(api.id, "prod", "/items")); got.body != fresh.body {
		t.Errorf("after the flush node A serves %q, node B %q", got.body, fresh.body)
	}
}

// TestStageCacheCLI: the stage cache as the AWS CLI drives it: update-stage
// turns it on (and GET caching for every method), get-stage reports it
// AVAILABLE, flush-stage-cache empties it.
func TestStageCacheCLI(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.CacheSettle = 50 * time.Millisecond })
	cli := awsCLI(t, in, "apigateway")
	b, calls := scBackend(t)
	a := newDPAPI(t, in, "cli cache")
	a.proxy("/items", "GET", b.URL+"/items", nil)
	a.deploy("prod", nil)

	var st struct {
		CacheClusterEnabled bool   `json:"cacheClusterEnabled"`
		CacheClusterSize    string `json:"cacheClusterSize"`
		CacheClusterStatus  string `json:"cacheClusterStatus"`
	}
	out := cli(false, "update-stage", "--rest-api-id", a.id, "--stage-name", "prod", "--patch-operations",
		"op=replace,path=/cacheClusterEnabled,value=true", "op=replace,path=/cacheClusterSize,value=1.6",
		"op=replace,path=/*/*/caching/enabled,value=true")
	if err := json.Unmarshal([]byte(out), &st); err != nil || !st.CacheClusterEnabled || st.CacheClusterSize != "1.6" || st.CacheClusterStatus != "CREATE_IN_PROGRESS" {
		t.Fatalf("update-stage: %v %s", err, out)
	}
	dpEventually(t, "get-stage says AVAILABLE", func() bool {
		if err := json.Unmarshal([]byte(cli(false, "get-stage", "--rest-api-id", a.id, "--stage-name", "prod")), &st); err != nil {
			t.Fatal(err)
		}
		return st.CacheClusterStatus == "AVAILABLE"
	})
	if out := cli(true, "update-stage", "--rest-api-id", a.id, "--stage-name", "prod", "--patch-operations", "op=replace,path=/cacheClusterSize,value=3"); !strings.Contains(out, "Invalid cache cluster size specified: 3") {
		t.Fatalf("a bad size: %s", out)
	}

	url := a.url("prod", "/items")
	first := scGet(t, url)
	if again := scGet(t, url); again.body != first.body || calls.Load() != 1 {
		t.Fatalf("second GET: %q, backend calls %d", again.body, calls.Load())
	}
	if out := cli(false, "flush-stage-cache", "--rest-api-id", a.id, "--stage-name", "prod"); strings.TrimSpace(out) != "" {
		t.Errorf("flush-stage-cache printed %q, want nothing", out)
	}
	if after := scGet(t, url); after.body == first.body || calls.Load() != 2 {
		t.Fatalf("after flush-stage-cache: %q, backend calls %d", after.body, calls.Load())
	}
}

// A canary uses the stage cache only when its useStageCache says so.
func TestStageCacheCanary(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.CacheSettle = 50 * time.Millisecond })
	b, calls := scBackend(t)
	a := newDPAPI(t, in, "canary cache")
	a.proxy("/items", "GET", b.URL+"/items", nil)
	a.deploy("prod", nil)
	mxUpdateStage(t, in, a.id, "prod", scOp("/cacheClusterEnabled", "true"), scOp("/*/*/caching/enabled", "true"),
		scOp("/canarySettings/percentTraffic", "100"), scOp("/canarySettings/useStageCache", "false"))
	url := a.url("prod", "/items")
	scGet(t, url)
	scGet(t, url)
	if calls.Load() != 2 {
		t.Fatalf("a canary without useStageCache: backend calls %d, want 2", calls.Load())
	}
	mxUpdateStage(t, in, a.id, "prod", scOp("/canarySettings/useStageCache", "true"))
	first := scGet(t, url)
	if again := scGet(t, url); again.body != first.body || calls.Load() != 3 {
		t.Fatalf("a canary with useStageCache: %q then %q, backend calls %d, want 3", first.body, again.body, calls.Load())
	}
}

// On an AWS_IAM method, Cache-Control: max-age=0 invalidates for a signer
// whose identity policy allows execute-api:InvalidateCache, and is ignored
// (with the Warning) for one allowed only to invoke.
func TestStageCacheInvalidateIAM(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.CacheSettle = 50 * time.Millisecond })
	b, calls := scBackend(t)
	a := newDPAPI(t, in, "iam cache")
	if _, err := in.Client.PutMethod(t.Context(), &apigateway.PutMethodInput{RestApiId: aws.String(a.id), ResourceId: aws.String(a.resource("/items")),
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("AWS_IAM")}); err != nil {
		t.Fatal(err)
	}
	a.integration("/items", "GET", &apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(b.URL + "/items")})
	a.deploy("prod", nil)
	mxUpdateStage(t, in, a.id, "prod", scOp("/cacheClusterEnabled", "true"), scOp("/*/*/caching/enabled", "true"))

	arn := "arn:aws:execute-api:" + apigwtest.Region + ":" + in.Server.AccountID + ":" + a.id + "/prod/GET/items"
	invoker := iaNewUser(t, iaIAM(in, iaRoot), "invoker", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+arn+`"}]}`)
	invalidator := iaNewUser(t, iaIAM(in, iaRoot), "invalidator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["execute-api:Invoke","execute-api:InvalidateCache"],"Resource":"`+arn+`"}]}`)
	url := a.url("prod", "/items")
	call := func(c aws.Credentials, maxAge0 bool) dpAnswer {
		t.Helper()
		req := dpRequest(t, http.MethodGet, url, nil)
		if maxAge0 {
			req.Header.Set("Cache-Control", "max-age=0")
		}
		return dpCall(t, iaSign(t, req, "", c, time.Now()))
	}
	var first dpAnswer
	dpEventually(t, "the invoker's policy applies", func() bool { first = call(invoker, false); return first.status == 200 })
	n := calls.Load()
	ignored := call(invoker, true)
	if ignored.status != 200 || ignored.body != first.body || calls.Load() != n || !strings.HasPrefix(ignored.header.Get("Warning"), "199 ") {
		t.Fatalf("invoker's max-age=0: %d %q Warning %q, backend calls %d→%d", ignored.status, ignored.body, ignored.header.Get("Warning"), n, calls.Load())
	}
	fresh := call(invalidator, true)
	if fresh.status != 200 || fresh.body == first.body || calls.Load() != n+1 || fresh.header.Get("Warning") != "" {
		t.Fatalf("invalidator's max-age=0: %d %q Warning %q, backend calls %d→%d", fresh.status, fresh.body, fresh.header.Get("Warning"), n, calls.Load())
	}
	if again := call(invoker, false); again.body != fresh.body {
		t.Fatalf("after the invalidation the invoker gets %q, want the new %q", again.body, fresh.body)
	}
}
