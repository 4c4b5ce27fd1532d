package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/redis/go-redis/v9"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/store/postgres/pgtest"
)

// TestRedisSharedQuota: apigw serve --redis shares a key's quota with
// another node (a second limiter on the same Redis and prefix, standing for
// a node whose store holds the same plan and key): the two admit exactly
// the quota between them, and GetUsage through apigw reports the count of
// both.
func TestRedisSharedQuota(t *testing.T) {
	url, prefix, rdb := testRedis(t, "the shared limits test")
	ctx := context.Background()
	in := apigwtest.Start(t, func(c *server.Config) { c.Redis, c.RedisPrefix = url, prefix })
	other := limit.NewRedis(ctx, rdb, limit.RedisConfig{Prefix: prefix, Tick: -1, Node: "other"})
	t.Cleanup(func() { other.Close(ctx) })

	c := in.Client
	apiID := upAPI(t, in, "dev")
	const quota = 60
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{
		Name:      aws.String("shared"),
		Quota:     &types.QuotaSettings{Limit: quota, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keyID, key := upKey(t, c, "shared", "", *plan.Id)
	q := limit.QuotaSpec{Limit: quota, Period: limit.Day}
	id := limit.QuotaID(*plan.Id, keyID)

	// Both nodes at once: apigw over HTTP, the other node directly.
	var viaAPIGW, viaOther, refused atomic.Int64
	var wg sync.WaitGroup
	url2 := in.InvokeURL(apiID, "dev", "/hello")
	for range 8 {
		wg.Go(func() {
			for {
				r := upCall(t, url2, key)
				if r.status != 200 {
					if r.status != 429 || r.body != `{"message":"Limit Exceeded"}` {
						t.Errorf("apigw answered %+v", r)
					}
					refused.Add(1)
					return
				}
				viaAPIGW.Add(1)
			}
		})
		wg.Go(func() {
			for {
				d, err := other.Take(ctx, id, q, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if !d.Allowed {
					return
				}
				viaOther.Add(1)
			}
		})
	}
	wg.Wait()
	if got := viaAPIGW.Load() + viaOther.Load(); got != quota {
		t.Fatalf("admitted %d (apigw %d, other node %d), want exactly %d", got, viaAPIGW.Load(), viaOther.Load(), quota)
	}
	if status, body := pgHealth(t, in); status != 200 || !strings.HasPrefix(body, `{"status":"ok","store":{"type":"sqlite","status":"ok"},"redis":{"status":"ok","nodes":`) {
		t.Errorf("health = %d %s, want 200, ok, redis ok", status, body)
	}
	today := time.Now().UTC().Format("2006-01-02")
	u, err := c.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: plan.Id, KeyId: aws.String(keyID), StartDate: aws.String(today), EndDate: aws.String(today)})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[keyID]; len(got) != 1 || got[0][0] != quota || got[0][1] != 0 {
		t.Errorf("GetUsage = %v, want [[%d 0]]", u.Items, quota)
	}
}

// TestRedisFailure: with Redis unreachable, a metered request is served on
// local limits by default and answered 503 with --redis-failure closed.
func TestRedisFailure(t *testing.T) {
	// Nothing listens on port 1 of loopback: connections are refused.
	const down = "redis://127.0.0.1:1/0"
	for _, tt := range []struct {
		failure string
		status  int
		body    string
	}{
		{"open", 200, "hello"},
		{"closed", 503, `{"message":"Service Unavailable"}`},
	} {
		t.Run(tt.failure, func(t *testing.T) {
			ctx := context.Background()
			var log apigwtest.LogBuffer
			in := apigwtest.Start(t, func(c *server.Config) {
				c.Redis, c.RedisFailure, c.MetricsPublic = down, tt.failure, true
				c.Log = slog.New(slog.NewTextHandler(&log, nil))
			})
			apiID := upAPI(t, in, "dev")
			plan, err := in.Client.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{
				Name:      aws.String("p"),
				Quota:     &types.QuotaSettings{Limit: 10, Period: types.QuotaPeriodTypeDay},
				ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}},
			})
			if err != nil {
				t.Fatal(err)
			}
			_, key := upKey(t, in.Client, "k", "", *plan.Id)
			r := upCall(t, in.InvokeURL(apiID, "dev", "/hello"), key)
			if r.status != tt.status || r.body != tt.body {
				t.Errorf("answer = %+v, want %d %s", r, tt.status, tt.body)
			}
			// The node serves (the store answers): 200, degraded.
			status, body := pgHealth(t, in)
			for deadline := time.Now().Add(5 * time.Second); body == "" || !strings.Contains(body, `"degraded"`); {
				if time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
				status, body = pgHealth(t, in)
			}
			want := `{"status":"degraded","store":{"type":"sqlite","status":"ok"},"redis":{"status":"unreachable","nodes":1,"outages":1}}`
			if status != 200 || body != want {
				t.Errorf("health = %d %s, want 200 %s", status, body, want)
			}
			// And so do the metrics.
			resp, err := http.Get(in.AdminURL + "/_apigw/metrics")
			if err != nil {
				t.Fatal(err)
			}
			mb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{"\napigw_redis_shared 0\n", "\napigw_redis_nodes 1\n", "\napigw_redis_outages_total 1\n"} {
				if !strings.Contains(string(mb), want) {
					t.Errorf("metrics have no %q", strings.TrimSpace(want))
				}
			}
			// One line at the start says which node, store and Redis.
			var line string
			for deadline := time.Now().Add(5 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				for l := range strings.SplitSeq(log.String(), "\n") {
					if strings.Contains(l, `msg="apigw serving"`) {
						line = l
					}
				}
			}
			for _, want := range []string{" node=", ` store="sqlite `, ` redis="redis://127.0.0.1:1/0 prefix apigw: (unreachable, 1 nodes, on failure ` + tt.failure + `)"`} {
				if !strings.Contains(line, want) {
					t.Errorf("start line %q has no %s", line, want)
				}
			}
		})
	}
}

// TestRedisSharedAuthorizerCache: two nodes on one PostgreSQL store and one
// Redis. A REQUEST authorizer's result cached by node A is used by node B
// (the function is not called again), with the same principal and context
// reaching the integration.
func TestRedisSharedAuthorizerCache(t *testing.T) {
	lmNeed(t, "python3")
	url := os.Getenv("APIGW_TEST_REDIS")
	if url == "" || os.Getenv("APIGW_TEST_POSTGRES") == "" {
		t.Skip("APIGW_TEST_REDIS and APIGW_TEST_POSTGRES must both be set: skipping the shared authorizer cache test")
	}
	var rb [4]byte
	rand.Read(rb[:])
	prefix := "apigwtest:" + t.Name() + ":" + hex.EncodeToString(rb[:]) + ":"
	pg := pgtest.URL(t)
	dir := t.TempDir()
	shared := func(c *server.Config) { c.Redis, c.RedisPrefix = url, prefix }
	a := apigwtest.StartIn(t, dir, pgStore(pg), shared)
	b := apigwtest.StartIn(t, dir, pgStore(pg), shared)
	t.Cleanup(func() {
		opts, _ := redis.ParseURL(url)
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		ctx := context.Background()
		for k := range rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator().Vals(ctx) {
			rdb.Del(ctx, k)
		}
	})

	logFile := filepath.Join(t.TempDir(), "authorizer-events.jsonl")
	zipped := lfZip(t, map[string]string{"lmtoken.py": lmTokenAuthorizer, "lmrequest.py": lmRequestAuthorizer, "lmecho.py": lmEchoPython})
	requestFn := lmCreate(t, a, lmFn{name: "sharedRequestAuth", runtime: lambdatypes.RuntimePython312, handler: "lmrequest.handler", zip: zipped,
		env: map[string]string{"LM_LOG": logFile}})
	echoFn := lmCreate(t, a, lmFn{name: "sharedEcho", runtime: lambdatypes.RuntimePython312, handler: "lmecho.handler", zip: zipped})
	api := lmNewAPI(t, a, "shared-authorizer", "")
	api.authorizer("request", types.AuthorizerTypeRequest, requestFn, "method.request.header.X-User, method.request.querystring.tenant", "", 300)
	api.method(lmMethod{path: "/request", fn: echoFn, authorizer: "request"})
	for _, fn := range []string{requestFn, echoFn} {
		lmGrant(t, a, fn, api.id)
	}
	api.deploy()
	b.WaitServing(t, api.id, "dev", api.dep)

	hdr := map[string]string{"X-User": "alice"}
	authorizer := func(in *apigwtest.Instance) map[string]any {
		t.Helper()
		r := lmGet(t, in.InvokeURL(api.id, "dev", "/request?tenant=acme"), hdr)
		if r.status != 200 {
			t.Fatalf("GET /request = %d %s", r.status, r.body)
		}
		got, _ := lmJSON(t, r.body)["authorizer"].(map[string]any)
		delete(got, "integrationLatency") // the call's, 0 from a cache
		return got
	}
	first := authorizer(a)
	if n := len(lmAuthLog(t, logFile)); n != 1 {
		t.Fatalf("authorizer calls after node A = %d, want 1", n)
	}
	second := authorizer(b)
	if n := len(lmAuthLog(t, logFile)); n != 1 {
		t.Errorf("authorizer calls after node B = %d, want still 1 (node A's result from Redis)", n)
	}
	if fmt.Sprint(first) != fmt.Sprint(second) || first["principalId"] != "alice" || first["tenant"] != "acme" {
		t.Errorf("requestContext.authorizer on node B = %v, want node A's %v", second, first)
	}
	// Another identity is another result.
	hdr["X-User"] = "bob"
	authorizer(b)
	if n := len(lmAuthLog(t, logFile)); n != 2 {
		t.Errorf("authorizer calls after a second identity = %d, want 2", n)
	}
}
