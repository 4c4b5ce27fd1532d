package server_test

// End-to-end tests of canary releases: the management API as AWS answers
// it (CreateDeployment and CreateStage with canarySettings, UpdateStage's
// canary paths and the copies that promote a canary) and the data plane's
// split of a stage's traffic.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// cnRelease is what the test's MOCK answers: which deployment served, the
// stage variable it saw and $context.isCanaryRequest.
type cnRelease struct {
	Release string `json:"release"`
	Var     string `json:"var"`
	Canary  string `json:"canary"`
}

// cnCount sends n GETs to url over a few keep-alive connections and counts
// the answers by release.
func cnCount(t *testing.T, url string, n int) map[cnRelease]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[cnRelease]int{}
	var wg sync.WaitGroup
	const workers = 8
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for i := k; i < n; i += workers {
				resp, err := http.Get(url)
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				var r cnRelease
				if err == nil {
					err = json.Unmarshal(body, &r)
				}
				if err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("%d %s: %v", resp.StatusCode, body, err)
					return
				}
				mu.Lock()
				counts[r]++
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("call failed: %v", err)
	}
	return counts
}

func cnStage(t *testing.T, c *apigateway.Client, apiID string, ops ...types.PatchOperation) (*apigateway.UpdateStageOutput, error) {
	t.Helper()
	return c.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(apiID), StageName: aws.String("prod"), PatchOperations: ops})
}

func TestCanaryRelease(t *testing.T) {
	// 10,000 requests as fast as loopback allows: above the account
	// throttle's default burst (5,000), which is not what is tested here.
	in := apigwtest.Start(t, func(c *server.Config) {
		c.MetricsPublic = true
		c.AccountRateLimit, c.AccountBurstLimit = 1e6, 1e6
	})
	c := in.Client
	ctx := t.Context()
	a := newDPAPI(t, in, "canaries")
	a.mock("/items", "GET", `{"release": "v1", "var": "$stageVariables.testVar", "canary": "$context.isCanaryRequest"}`)
	base := a.deploy("prod", map[string]string{"testVar": "base", "other": "kept"})
	url := a.url("prod", "/items")

	t.Run("validation", func(t *testing.T) {
		settings := &types.DeploymentCanarySettings{PercentTraffic: 10}
		_, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(a.id), CanarySettings: settings})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is null")
		_, err = c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(a.id), StageName: aws.String("beta"), CanarySettings: settings})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid deployment content specified.Stage beta must already be created before making a canary release deployment")
		_, err = cnStage(t, c, a.id, mgOp(types.OpAdd, "/canarySettings/deploymentId", base))
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid add operation with path: /canarySettings/deploymentId")
		_, err = cnStage(t, c, a.id, mgOp(types.OpReplace, "/canarySettings/deploymentId", "nosuch"))
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Deployment id does not exist")
		_, err = cnStage(t, c, a.id, mgOp(types.OpReplace, "/canarySettings/percentTraffic", "101"))
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid percentTraffic specified: 101. Must be between 0.0 and 100.0")
		_, err = cnStage(t, c, a.id, types.PatchOperation{Op: types.OpCopy, From: aws.String("/canarySettings/deploymentId"), Path: aws.String("/deploymentId")})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Promotion not available. Canary does not exist.")
		_, err = cnStage(t, c, a.id, types.PatchOperation{Op: types.OpCopy, From: aws.String("/variables"), Path: aws.String("/canarySettings/stageVariableOverrides")})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Invalid copy operation with path: /canarySettings/stageVariableOverrides and from /variables...")
		if st := mgMust(c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(a.id), StageName: aws.String("prod")}))(t); st.CanarySettings != nil {
			t.Fatalf("a refused change left canary settings: %+v", st.CanarySettings)
		}
	})

	// The next version of the API goes to a canary taking 10 % of prod.
	a.response("/items", "GET", "200", "", nil, map[string]string{"application/json": `{"release": "v2", "var": "$stageVariables.testVar", "canary": "$context.isCanaryRequest"}`})
	canary := mgMust(c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(a.id), StageName: aws.String("prod"),
		CanarySettings: &types.DeploymentCanarySettings{PercentTraffic: 10, StageVariableOverrides: map[string]string{"testVar": "canary"}}}))(t)
	st := mgMust(c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(a.id), StageName: aws.String("prod")}))(t)
	if cs := st.CanarySettings; *st.DeploymentId != base || cs == nil || *cs.DeploymentId != *canary.Id || cs.PercentTraffic != 10 || cs.StageVariableOverrides["testVar"] != "canary" || cs.UseStageCache {
		t.Fatalf("stage after a canary deployment: deploymentId %s, canarySettings %+v; want %s and a canary on %s at 10 %%", *st.DeploymentId, cs, base, *canary.Id)
	}
	dpEventually(t, "canary served", func() bool {
		s := in.Server.Gateway.Stage(a.id, "prod")
		return s != nil && s.Stage.CanarySettings != nil
	})

	_, err := c.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: aws.String(a.id), DeploymentId: canary.Id})
	apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Active stages pointing to this deployment must be moved or deleted")

	t.Run("traffic split", func(t *testing.T) {
		const n = 10000
		counts := cnCount(t, url, n)
		prod, can := counts[cnRelease{"v1", "base", "false"}], counts[cnRelease{"v2", "canary", "true"}]
		if prod+can != n {
			t.Fatalf("answers = %v; want only v1/base/false and v2/canary/true", counts)
		}
		// 10 % ± 1 %: the binomial's standard deviation is 30 requests, so
		// the bound is 3.3 of them.
		if can < 900 || can > 1100 {
			t.Fatalf("canary served %d of %d requests, want 10 %% ± 1 %%", can, n)
		}
		t.Logf("canary served %d of %d requests (%.2f %%)", can, n, float64(can)*100/n)
		_, _, mfs := mxScrape(t, in, "")
		got := mxSeries(mfs, "aws_apigateway_count_total")
		if got["ApiName=canaries,Stage=prod"] < float64(prod) || got["ApiName=canaries,Stage=prod/Canary"] != float64(can) {
			t.Fatalf("Count series = %v; want prod ≥ %d and prod/Canary = %d", got, prod, can)
		}
	})

	t.Run("update", func(t *testing.T) {
		up := mgMust(cnStage(t, c, a.id,
			mgOp(types.OpReplace, "/canarySettings/percentTraffic", "100.0"),
			mgOp(types.OpReplace, "/canarySettings/stageVariableOverrides/testVar", "updated")))(t)
		if up.CanarySettings.PercentTraffic != 100 || up.CanarySettings.StageVariableOverrides["testVar"] != "updated" {
			t.Fatalf("UpdateStage = %+v", up.CanarySettings)
		}
		dpEventually(t, "all traffic on the canary", func() bool {
			got := cnCount(t, url, 20)
			return got[cnRelease{"v2", "updated", "true"}] == 20
		})
		_, err := cnStage(t, c, a.id, mgOp(types.OpRemove, "/canarySettings/stageVariableOverrides", ""))
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Cannot remove method setting canarySettings/stageVariableOverrides because there is no method setting for this method ")
	})

	t.Run("promote", func(t *testing.T) {
		up := mgMust(cnStage(t, c, a.id,
			mgOp(types.OpReplace, "/canarySettings/percentTraffic", "0.0"),
			types.PatchOperation{Op: types.OpCopy, From: aws.String("/canarySettings/stageVariableOverrides"), Path: aws.String("/variables")},
			types.PatchOperation{Op: types.OpCopy, From: aws.String("/canarySettings/deploymentId"), Path: aws.String("/deploymentId")}))(t)
		if *up.DeploymentId != *canary.Id || up.Variables["testVar"] != "updated" || up.Variables["other"] != "kept" || up.CanarySettings == nil || up.CanarySettings.PercentTraffic != 0 {
			t.Fatalf("promoted stage: deploymentId %s, variables %v, canary %+v", *up.DeploymentId, up.Variables, up.CanarySettings)
		}
		dpEventually(t, "the promoted release serves everyone", func() bool {
			got := cnCount(t, url, 50)
			return got[cnRelease{"v2", "updated", "false"}] == 50
		})
		// Removing the canary leaves the promoted deployment on the stage.
		off := mgMust(cnStage(t, c, a.id, mgOp(types.OpRemove, "/canarySettings", "")))(t)
		if off.CanarySettings != nil {
			t.Fatalf("canarySettings after remove: %+v", off.CanarySettings)
		}
	})

	t.Run("create stage with a canary", func(t *testing.T) {
		st := mgMust(c.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("beta"), DeploymentId: aws.String(base),
			Variables:      map[string]string{"testVar": "beta"},
			CanarySettings: &types.CanarySettings{DeploymentId: canary.Id, PercentTraffic: 100, StageVariableOverrides: map[string]string{"testVar": "beta-canary"}}}))(t)
		if st.CanarySettings == nil || *st.CanarySettings.DeploymentId != *canary.Id {
			t.Fatalf("CreateStage canarySettings = %+v", st.CanarySettings)
		}
		dpEventually(t, "beta's canary serves", func() bool {
			got := cnCount(t, a.url("beta", "/items"), 10)
			return got[cnRelease{"v2", "beta-canary", "true"}] == 10
		})
		_, err := c.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: aws.String(a.id), StageName: aws.String("gamma"), DeploymentId: aws.String(base),
			CanarySettings: &types.CanarySettings{DeploymentId: aws.String("deploy")}})
		apigwtest.WantAPIError(t, err, 400, "BadRequestException", "Deployment id does not exist")
	})
}

// TestCanaryCLI walks the AWS documentation's canary steps with the AWS
// CLI: a canary deployment, an update, the promotion, the removal.
func TestCanaryCLI(t *testing.T) {
	in := apigwtest.Start(t)
	cli := awsCLI(t, in, "apigateway")
	a := newDPAPI(t, in, "cli canaries")
	a.mock("/items", "GET", `{"release": "v1", "var": "$stageVariables.sv1", "canary": "$context.isCanaryRequest"}`)
	base := a.deploy("prod", map[string]string{"sv1": "val1"})
	a.response("/items", "GET", "200", "", nil, map[string]string{"application/json": `{"release": "v2", "var": "$stageVariables.sv1", "canary": "$context.isCanaryRequest"}`})

	var dep struct{ ID string }
	out := cli(false, "create-deployment", "--rest-api-id", a.id, "--stage-name", "prod",
		"--canary-settings", `{"percentTraffic":10.5,"useStageCache":false,"stageVariableOverrides":{"sv1":"val2","sv2":"val3"}}`)
	if err := json.Unmarshal([]byte(out), &dep); err != nil || dep.ID == "" {
		t.Fatalf("create-deployment --canary-settings: %v %s", err, out)
	}
	var st struct {
		DeploymentID   string            `json:"deploymentId"`
		Variables      map[string]string `json:"variables"`
		CanarySettings *struct {
			DeploymentID           string            `json:"deploymentId"`
			PercentTraffic         float64           `json:"percentTraffic"`
			StageVariableOverrides map[string]string `json:"stageVariableOverrides"`
		} `json:"canarySettings"`
	}
	getStage := func() {
		t.Helper()
		st.CanarySettings = nil
		if err := json.Unmarshal([]byte(cli(false, "get-stage", "--rest-api-id", a.id, "--stage-name", "prod")), &st); err != nil {
			t.Fatal(err)
		}
	}
	getStage()
	if st.DeploymentID != base || st.CanarySettings == nil || st.CanarySettings.DeploymentID != dep.ID || st.CanarySettings.PercentTraffic != 10.5 {
		t.Fatalf("get-stage after a canary deployment: %+v", st)
	}
	cli(false, "update-stage", "--rest-api-id", a.id, "--stage-name", "prod",
		"--patch-operations", "op=replace,path=/canarySettings/percentTraffic,value=25.0")
	cli(false, "update-stage", "--rest-api-id", a.id, "--stage-name", "prod", "--patch-operations",
		`[{"op":"replace","value":"0.0","path":"/canarySettings/percentTraffic"},`+
			`{"op":"copy","from":"/canarySettings/stageVariableOverrides","path":"/variables"},`+
			`{"op":"copy","from":"/canarySettings/deploymentId","path":"/deploymentId"}]`)
	getStage()
	if st.DeploymentID != dep.ID || st.Variables["sv1"] != "val2" || st.Variables["sv2"] != "val3" || st.CanarySettings == nil || st.CanarySettings.PercentTraffic != 0 {
		t.Fatalf("get-stage after the promotion: %+v", st)
	}
	dpEventually(t, "the promoted release serves", func() bool {
		return cnCount(t, a.url("prod", "/items"), 10)[cnRelease{"v2", "val2", "false"}] == 10
	})
	cli(false, "update-stage", "--rest-api-id", a.id, "--stage-name", "prod", "--patch-operations", `[{"op":"remove","path":"/canarySettings"}]`)
	getStage()
	if st.CanarySettings != nil {
		t.Fatalf("canarySettings after remove: %+v", st.CanarySettings)
	}
	if out := cli(true, "create-deployment", "--rest-api-id", a.id, "--stage-name", "nosuch", "--canary-settings", "percentTraffic=5"); !strings.Contains(out, "Stage nosuch must already be created before making a canary release deployment") {
		t.Fatalf("create-deployment to a missing stage with a canary: %s", out)
	}
}
