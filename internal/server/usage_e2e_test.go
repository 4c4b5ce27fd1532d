package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// upAPI builds an API with GET /hello (MOCK answering "hello") that
// requires an API key, deployed to the given stages.
func upAPI(t *testing.T, in *apigwtest.Instance, stages ...string) (apiID string) {
	t.Helper()
	ctx := context.Background()
	c := in.Client
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("usage")})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"hello", "other"} {
		res, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String(path)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			AuthorizationType: aws.String("NONE"), ApiKeyRequired: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": path}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range stages {
		if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String(st)}); err != nil {
			t.Fatal(err)
		}
	}
	return *api.Id
}

type upResult struct {
	status    int
	body      string
	errorType string
	retry     string
}

func upCall(t *testing.T, url, key string) upResult {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return upResult{resp.StatusCode, string(b), resp.Header.Get("x-amzn-ErrorType"), resp.Header.Get("Retry-After")}
}

func upKey(t *testing.T, c *apigateway.Client, name, value string, plans ...string) (id, val string) {
	t.Helper()
	ctx := context.Background()
	in := &apigateway.CreateApiKeyInput{Name: aws.String(name), Enabled: true}
	if value != "" {
		in.Value = aws.String(value)
	}
	k, err := c.CreateApiKey(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		if _, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: aws.String(p), KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
			t.Fatal(err)
		}
	}
	return *k.Id, *k.Value
}

// TestUsagePlanTutorial is seed 004's flow: plan with throttle and quota,
// a generated key in it, apiKeyRequired, 403 without the key, 200 with it.
func TestUsagePlanTutorial(t *testing.T) {
	ctx := context.Background()
	in := apigwtest.Start(t)
	c := in.Client
	apiID := upAPI(t, in, "dev")
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{
		Name:      aws.String("Basique"),
		Throttle:  &types.ThrottleSettings{RateLimit: 100, BurstLimit: 200},
		Quota:     &types.QuotaSettings{Limit: 5, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keyID, key := upKey(t, c, "tutorial", "", *plan.Id)
	if len(key) != 40 {
		t.Errorf("generated key value %q has %d characters, want 40", key, len(key))
	}
	got, err := c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(keyID), IncludeValue: aws.Bool(true)})
	if err != nil || aws.ToString(got.Value) != key {
		t.Fatalf("GetApiKey includeValue: %v, %v", got, err)
	}
	url := in.InvokeURL(apiID, "dev", "/hello")

	if r := upCall(t, url, ""); r.status != 403 || r.body != `{"message":"Forbidden"}` || r.errorType != "ForbiddenException" {
		t.Fatalf("without key: %+v", r)
	}
	if r := upCall(t, url, "not-a-key-not-a-key-not-a-key"); r.status != 403 {
		t.Fatalf("unknown key: %+v", r)
	}
	for i := 1; i <= 5; i++ {
		if r := upCall(t, url, key); r.status != 200 || r.body != "hello" {
			t.Fatalf("request %d with key: %+v", i, r)
		}
	}
	r := upCall(t, url, key)
	if r.status != 429 || r.body != `{"message":"Limit Exceeded"}` || r.errorType != "LimitExceededException" {
		t.Fatalf("past the quota: %+v", r)
	}
	if n, err := strconv.Atoi(r.retry); err != nil || n <= 0 || n > 86400 {
		t.Errorf("Retry-After %q: want seconds until the next day", r.retry)
	}

	today := time.Now().UTC().Format("2006-01-02")
	usage, err := c.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: plan.Id, StartDate: aws.String(today), EndDate: aws.String(today)})
	if err != nil {
		t.Fatal(err)
	}
	if v := usage.Items[keyID]; len(v) != 1 || v[0][0] != 5 || v[0][1] != 0 {
		t.Fatalf("GetUsage = %v, want [[5 0]]", usage.Items)
	}

	// UpdateUsage grants more: 3 more requests pass, the 4th is refused.
	if _, err := c.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: plan.Id, KeyId: aws.String(keyID),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if r := upCall(t, url, key); r.status != 200 {
			t.Fatalf("after UpdateUsage, request %d: %+v", i, r)
		}
	}
	if r := upCall(t, url, key); r.status != 429 {
		t.Fatalf("after the granted 3: %+v", r)
	}

	// Usage survives a restart.
	in = in.Restart(t)
	usage, err = in.Client.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: plan.Id, StartDate: aws.String(today), EndDate: aws.String(today), KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatal(err)
	}
	if v := usage.Items[keyID]; len(v) != 1 || v[0][1] != 0 {
		t.Fatalf("after restart GetUsage = %v, want remaining 0", usage.Items)
	}
	if r := upCall(t, in.InvokeURL(apiID, "dev", "/hello"), key); r.status != 429 {
		t.Fatalf("after restart the exhausted quota admitted a request: %+v", r)
	}
}

func TestUsagePlanKeys(t *testing.T) {
	ctx := context.Background()
	in := apigwtest.Start(t)
	c := in.Client
	apiID := upAPI(t, in, "dev", "prod")
	mk := func(name, stage string) string {
		p, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String(name),
			ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String(stage)}}})
		if err != nil {
			t.Fatal(err)
		}
		return *p.Id
	}
	devPlan, prodPlan := mk("dev-plan", "dev"), mk("prod-plan", "prod")
	dev, prod := in.InvokeURL(apiID, "dev", "/hello"), in.InvokeURL(apiID, "prod", "/hello")

	t.Run("KeyInTwoPlans", func(t *testing.T) {
		_, key := upKey(t, c, "both", "both-stages-key-0123456789", devPlan, prodPlan)
		for _, u := range []string{dev, prod} {
			if r := upCall(t, u, key); r.status != 200 {
				t.Fatalf("%s: %+v", u, r)
			}
		}
	})
	t.Run("KeyInOnePlanOnly", func(t *testing.T) {
		_, key := upKey(t, c, "dev-only", "", devPlan)
		if r := upCall(t, dev, key); r.status != 200 {
			t.Fatalf("dev: %+v", r)
		}
		if r := upCall(t, prod, key); r.status != 403 {
			t.Fatalf("prod with a dev-only key: %+v", r)
		}
	})
	t.Run("KeyInNoPlan", func(t *testing.T) {
		_, key := upKey(t, c, "orphan", "")
		if r := upCall(t, dev, key); r.status != 403 {
			t.Fatalf("key in no plan: %+v", r)
		}
	})
	t.Run("DisabledKey", func(t *testing.T) {
		id, key := upKey(t, c, "disabled", "", devPlan)
		if _, err := c.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(id),
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("false")}}}); err != nil {
			t.Fatal(err)
		}
		if r := upCall(t, dev, key); r.status != 403 {
			t.Fatalf("disabled key: %+v", r)
		}
	})
	t.Run("Rotation", func(t *testing.T) {
		oldID, oldKey := upKey(t, c, "v1", "", devPlan)
		_, newKey := upKey(t, c, "v2", "", devPlan)
		if _, err := c.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: aws.String(oldID)}); err != nil {
			t.Fatal(err)
		}
		if r := upCall(t, dev, oldKey); r.status != 403 {
			t.Fatalf("deleted key: %+v", r)
		}
		if r := upCall(t, dev, newKey); r.status != 200 {
			t.Fatalf("new key: %+v", r)
		}
	})
	t.Run("SameStageInTwoPlansRefused", func(t *testing.T) {
		other := mk("dev-plan-2", "dev")
		id, _ := upKey(t, c, "conflict", "", devPlan)
		_, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: aws.String(other), KeyId: aws.String(id), KeyType: aws.String("API_KEY")})
		var ce *types.ConflictException
		if !errors.As(err, &ce) {
			t.Fatalf("key in two plans on one stage: err = %v, want ConflictException", err)
		}
	})
	t.Run("DuplicateValueRefused", func(t *testing.T) {
		_, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("dup"), Value: aws.String("both-stages-key-0123456789")})
		var ce *types.ConflictException
		if !errors.As(err, &ce) {
			t.Fatalf("duplicate key value: err = %v, want ConflictException", err)
		}
	})
	t.Run("ListAndImport", func(t *testing.T) {
		imp, err := c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv,
			Body: []byte("Name,key,description,Enabled,usageplanIds\nimported,imported-key-value-0123456789,from csv,true," + devPlan + "\n")})
		if err != nil {
			t.Fatal(err)
		}
		if len(imp.Ids) != 1 {
			t.Fatalf("ImportApiKeys ids = %v", imp.Ids)
		}
		if r := upCall(t, dev, "imported-key-value-0123456789"); r.status != 200 {
			t.Fatalf("imported key: %+v", r)
		}
		keys, err := c.GetApiKeys(ctx, &apigateway.GetApiKeysInput{NameQuery: aws.String("imported"), IncludeValues: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys.Items) != 1 || aws.ToString(keys.Items[0].Value) != "imported-key-value-0123456789" {
			t.Fatalf("GetApiKeys nameQuery=imported: %+v", keys.Items)
		}
		plans, err := c.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{KeyId: aws.String(imp.Ids[0])})
		if err != nil || len(plans.Items) != 1 || *plans.Items[0].Id != devPlan {
			t.Fatalf("GetUsagePlans keyId: %+v %v", plans, err)
		}
	})
}

// TestUsagePlanThrottles: a per-method throttle with burst 3 and a rate far
// too slow to refill during the test admits exactly 3 of 10 requests on
// that method, while another method of the plan is not limited by it.
func TestUsagePlanThrottles(t *testing.T) {
	ctx := context.Background()
	in := apigwtest.Start(t)
	c := in.Client
	apiID := upAPI(t, in, "dev")
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("throttled"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: plan.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/apiStages/" + apiID + ":dev/throttle/~1hello/GET/burstLimit"), Value: aws.String("3")},
		{Op: types.OpReplace, Path: aws.String("/apiStages/" + apiID + ":dev/throttle/~1hello/GET/rateLimit"), Value: aws.String("0.001")},
	}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: plan.Id})
	if err != nil {
		t.Fatal(err)
	}
	if th := got.ApiStages[0].Throttle["/hello/GET"]; th.BurstLimit != 3 || th.RateLimit != 0.001 {
		t.Fatalf("per-method throttle stored as %+v", got.ApiStages[0].Throttle)
	}
	_, key := upKey(t, c, "k", "", *plan.Id)
	admitted := 0
	for i := 0; i < 10; i++ {
		r := upCall(t, in.InvokeURL(apiID, "dev", "/hello"), key)
		switch r.status {
		case 200:
			admitted++
		case 429:
			if r.body != `{"message":"Too Many Requests"}` || r.errorType != "TooManyRequestsException" {
				t.Fatalf("throttled answer: %+v", r)
			}
		default:
			t.Fatalf("unexpected answer: %+v", r)
		}
	}
	if admitted != 3 {
		t.Fatalf("admitted %d of 10 with burst 3, want 3", admitted)
	}
	for i := 0; i < 10; i++ {
		if r := upCall(t, in.InvokeURL(apiID, "dev", "/other"), key); r.status != 200 {
			t.Fatalf("/other is not under /hello's throttle: %+v", r)
		}
	}
}

// TestQuotaExactUnderConcurrency: with a quota of N, many concurrent
// clients get exactly N admissions, and GetUsage reports N.
func TestQuotaExactUnderConcurrency(t *testing.T) {
	const quota, workers, each = 150, 16, 20
	ctx := context.Background()
	in := apigwtest.Start(t)
	c := in.Client
	apiID := upAPI(t, in, "dev")
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("exact"),
		Quota:     &types.QuotaSettings{Limit: quota, Period: types.QuotaPeriodTypeMonth},
		ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}}})
	if err != nil {
		t.Fatal(err)
	}
	keyID, key := upKey(t, c, "k", "", *plan.Id)
	url := in.InvokeURL(apiID, "dev", "/hello")
	var ok, limited, other atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("x-api-key", key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					ok.Add(1)
				case 429:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != quota || limited.Load() != workers*each-quota || other.Load() != 0 {
		t.Fatalf("admitted %d, limited %d, other %d; want %d, %d, 0", ok.Load(), limited.Load(), other.Load(), quota, workers*each-quota)
	}
	today := time.Now().UTC().Format("2006-01-02")
	usage, err := c.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: plan.Id, StartDate: aws.String(today), EndDate: aws.String(today)})
	if err != nil {
		t.Fatal(err)
	}
	if v := usage.Items[keyID]; len(v) != 1 || v[0][0] != quota || v[0][1] != 0 {
		t.Fatalf("GetUsage = %v, want [[%d 0]]", usage.Items, quota)
	}
}

// TestStageMethodThrottle: the stage's methodSettings throttle applies to
// every caller of a method, with or without a key; a specific method's
// setting overrides */*.
func TestStageMethodThrottle(t *testing.T) {
	ctx := context.Background()
	in := apigwtest.Start(t)
	c := in.Client
	apiID := upAPI(t, in, "dev")
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("open"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, key := upKey(t, c, "k", "", *plan.Id)
	if _, err := c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(apiID), StageName: aws.String("dev"),
		PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/*/*/throttling/burstLimit"), Value: aws.String("2")},
			{Op: types.OpReplace, Path: aws.String("/*/*/throttling/rateLimit"), Value: aws.String("0.001")},
			{Op: types.OpReplace, Path: aws.String("/~1other/GET/throttling/burstLimit"), Value: aws.String("4")},
			{Op: types.OpReplace, Path: aws.String("/~1other/GET/throttling/rateLimit"), Value: aws.String("0.001")},
		}}); err != nil {
		t.Fatal(err)
	}
	count := func(path string) int {
		n := 0
		for i := 0; i < 8; i++ {
			switch r := upCall(t, in.InvokeURL(apiID, "dev", path), key); r.status {
			case 200:
				n++
			case 429:
			default:
				t.Fatalf("%s: %+v", path, r)
			}
		}
		return n
	}
	if n := count("/hello"); n != 2 {
		t.Errorf("/hello under */* burst 2: admitted %d of 8", n)
	}
	if n := count("/other"); n != 4 {
		t.Errorf("/other under its own burst 4: admitted %d of 8", n)
	}
}

// TestThrottledRequestsUseNoQuota: a request refused by a throttle (the
// plan's method throttle, the plan's, the stage's method throttle or the
// account's) is not counted against the key's quota: after N calls with M
// throttled, GetUsage reports N-M used.
func TestThrottledRequestsUseNoQuota(t *testing.T) {
	const calls = 50
	ctx := context.Background()
	cases := []struct {
		name    string
		opts    []func(*server.Config)
		plan    *types.ThrottleSettings
		planOps func(apiID string) []types.PatchOperation
		stage   []types.PatchOperation
	}{
		{name: "plan method throttle", planOps: func(apiID string) []types.PatchOperation {
			return []types.PatchOperation{
				{Op: types.OpReplace, Path: aws.String("/apiStages/" + apiID + ":dev/throttle/~1hello/GET/burstLimit"), Value: aws.String("1")},
				{Op: types.OpReplace, Path: aws.String("/apiStages/" + apiID + ":dev/throttle/~1hello/GET/rateLimit"), Value: aws.String("0.001")},
			}
		}},
		{name: "plan throttle", plan: &types.ThrottleSettings{BurstLimit: 1, RateLimit: 0.001}},
		{name: "stage method throttle", stage: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/*/*/throttling/burstLimit"), Value: aws.String("1")},
			{Op: types.OpReplace, Path: aws.String("/*/*/throttling/rateLimit"), Value: aws.String("0.001")},
		}},
		{name: "account throttle", opts: []func(*server.Config){func(c *server.Config) { c.AccountRateLimit, c.AccountBurstLimit = 0.001, 1 }}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := apigwtest.Start(t, tc.opts...)
			c := in.Client
			apiID := upAPI(t, in, "dev")
			plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("q"), Throttle: tc.plan,
				Quota:     &types.QuotaSettings{Limit: 1000, Period: types.QuotaPeriodTypeMonth},
				ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.planOps != nil {
				if _, err := c.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: plan.Id, PatchOperations: tc.planOps(apiID)}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.stage != nil {
				if _, err := c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(apiID), StageName: aws.String("dev"), PatchOperations: tc.stage}); err != nil {
					t.Fatal(err)
				}
			}
			keyID, key := upKey(t, c, "k", "", *plan.Id)
			start := time.Now().UTC()
			admitted, throttled := 0, 0
			for i := 0; i < calls; i++ {
				switch r := upCall(t, in.InvokeURL(apiID, "dev", "/hello"), key); {
				case r.status == 200:
					admitted++
				case r.status == 429 && r.errorType == "TooManyRequestsException":
					throttled++
				default:
					t.Fatalf("call %d: %+v", i, r)
				}
			}
			if throttled == 0 {
				t.Fatalf("no call of %d was throttled", calls)
			}
			usage, err := c.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: plan.Id,
				StartDate: aws.String(start.Format("2006-01-02")), EndDate: aws.String(time.Now().UTC().Format("2006-01-02"))})
			if err != nil {
				t.Fatal(err)
			}
			var used int64
			for _, day := range usage.Items[keyID] {
				used += day[0]
			}
			if used != int64(admitted) {
				t.Fatalf("GetUsage reports %d used after %d calls with %d throttled, want %d (%v)", used, calls, throttled, admitted, usage.Items)
			}
		})
	}
}

// TestStageThrottleLimits: a negative stage method throttle is refused with
// 400, as usage plans refuse one, and leaves the stage as it was; -1, what
// AWS reports for a method without throttling and what Terraform sends by
// default, is accepted and turns the stage throttle off for the method.
func TestStageThrottleLimits(t *testing.T) {
	ctx := context.Background()
	in := apigwtest.Start(t)
	c := in.Client
	apiID := upAPI(t, in, "dev")
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("open"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(apiID), Stage: aws.String("dev")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, key := upKey(t, c, "k", "", *plan.Id)
	update := func(path, value string) error {
		_, err := c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(apiID), StageName: aws.String("dev"),
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String(path), Value: aws.String(value)}}})
		return err
	}
	for _, p := range []string{"/*/*/throttling/burstLimit", "/*/*/throttling/rateLimit"} {
		if err := update(p, "1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ path, value string }{
		{"/*/*/throttling/burstLimit", "-2"},
		{"/*/*/throttling/rateLimit", "-2"},
		{"/*/*/throttling/rateLimit", "-0.5"},
		{"/~1hello/GET/throttling/burstLimit", "-100"},
		{"/~1hello/GET/throttling/rateLimit", "-1.5"},
	} {
		t.Run(tc.path+"="+tc.value, func(t *testing.T) {
			apigwtest.WantAPIError(t, update(tc.path, tc.value), 400, "BadRequestException", "Throttle burst and rate limits must be non-negative")
		})
	}
	st, err := c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(apiID), StageName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.MethodSettings["*/*"]; ms.ThrottlingBurstLimit != 1 || ms.ThrottlingRateLimit != 1 || len(st.MethodSettings) != 1 {
		t.Fatalf("a refused update changed the method settings: %+v", st.MethodSettings)
	}

	// As Terraform's aws_api_gateway_method_settings sends them when
	// throttling is not set.
	if err := update("/*/*/throttling/burstLimit", "-1"); err != nil {
		t.Fatal(err)
	}
	if err := update("/*/*/throttling/rateLimit", "-1.000000"); err != nil {
		t.Fatal(err)
	}
	st, err = c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(apiID), StageName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.MethodSettings["*/*"]; ms.ThrottlingBurstLimit != -1 || ms.ThrottlingRateLimit != -1 {
		t.Fatalf("method settings after -1: %+v", ms)
	}
	for i := 0; i < 20; i++ {
		if r := upCall(t, in.InvokeURL(apiID, "dev", "/hello"), key); r.status != 200 {
			t.Fatalf("call %d with stage throttling disabled: %+v", i, r)
		}
	}
}
