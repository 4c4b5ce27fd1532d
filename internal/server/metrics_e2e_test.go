package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/server"
)

// mxScrape reads the metrics endpoint with an optional bearer token and
// returns the status and, for a 200, the families as Prometheus parses them.
func mxScrape(t *testing.T, in *apigwtest.Instance, token string) (int, string, map[string]*dto.MetricFamily) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, in.AdminURL+server.MetricsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := dpClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(b), nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want Prometheus text format 0.0.4", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parse the scrape: %v\n%s", err, b)
	}
	return resp.StatusCode, string(b), mfs
}

// mxLabels is a series' label set as "k=v,k=v" (sorted by name).
func mxLabels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// mxSeries maps each series of a family to its value: a counter's or a
// gauge's value, a histogram's sample count.
func mxSeries(mfs map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mfs[name].GetMetric() {
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		if h := m.GetHistogram(); h != nil {
			v = float64(h.GetSampleCount())
		}
		out[mxLabels(m)] = v
	}
	return out
}

// mxWant compares a family's series with want, label sets included.
func mxWant(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]float64) {
	t.Helper()
	got := mxSeries(mfs, name)
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s{%s} missing (have %v)", name, k, got)
		} else if g != v {
			t.Errorf("%s{%s} = %v, want %v", name, k, g, v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s{%s} = %v, not expected", name, k, v)
		}
	}
}

func mxUpdateStage(t *testing.T, in *apigwtest.Instance, apiID, stage string, ops ...types.PatchOperation) {
	t.Helper()
	if _, err := in.Client.UpdateStage(t.Context(), &apigateway.UpdateStageInput{
		RestApiId: aws.String(apiID), StageName: aws.String(stage), PatchOperations: ops,
	}); err != nil {
		t.Fatalf("UpdateStage: %v", err)
	}
}

func mxGet(t *testing.T, url string, status, times int) {
	t.Helper()
	for range times {
		if got := dpGet(t, url); got.status != status {
			t.Fatalf("GET %s: %d %s, want %d", url, got.status, got.body, status)
		}
	}
}

// The data plane's requests of each class (2xx, 4xx, 5xx; MOCK and
// HTTP_PROXY) are counted exactly, by stage, then by method once the stage
// asks for detailed metrics, and the counters survive the stage's changes.
func TestMetricsAPIGateway(t *testing.T) {
	in := apigwtest.Start(t, func(c *server.Config) { c.MetricsPublic = true })
	backend := newDPBackend(t, "backend", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		io.WriteString(w, "backend")
	})
	a := newDPAPI(t, in, "shop")
	a.mock("/items", "GET", `{"ok":true}`)
	a.proxy("/backend", "GET", backend.URL+"/ok", nil)
	a.proxy("/broken", "GET", backend.URL+"/fail", nil)
	a.deploy("prod", nil)

	mxGet(t, a.url("prod", "/items"), 200, 3)
	mxGet(t, a.url("prod", "/nowhere"), 403, 2) // no route: 4XX, no integration
	mxGet(t, a.url("prod", "/backend"), 200, 2)
	mxGet(t, a.url("prod", "/broken"), 503, 1)

	stage := "ApiName=shop,Stage=prod"
	_, _, mfs := mxScrape(t, in, "")
	mxWant(t, mfs, "aws_apigateway_count_total", map[string]float64{stage: 8})
	mxWant(t, mfs, "aws_apigateway_4xx_error_total", map[string]float64{stage: 2})
	mxWant(t, mfs, "aws_apigateway_5xx_error_total", map[string]float64{stage: 1})
	mxWant(t, mfs, "aws_apigateway_latency_seconds", map[string]float64{stage: 8})
	mxWant(t, mfs, "aws_apigateway_integration_latency_seconds", map[string]float64{stage: 6})
	if _, ok := mfs["aws_apigateway_cache_hit_count_total"]; ok {
		t.Errorf("cache metrics shown for a stage without a cache")
	}
	if mf := mfs["aws_apigateway_latency_seconds"]; mf.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("latency is a %v, want a histogram", mf.GetType())
	}
	mxWant(t, mfs, "apigw_requests_in_flight", map[string]float64{"": 0})
	if rev := mxSeries(mfs, "apigw_config_revision")[""]; rev <= 0 {
		t.Errorf("apigw_config_revision = %v, want the store's revision", rev)
	}
	for _, name := range []string{"apigw_config_sync_delay_seconds", "apigw_limiter_errors_total", "apigw_store_errors_total", "apigw_access_log_dropped_total", "go_goroutines"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}

	// Detailed metrics for every method: requests are counted by method
	// and resource from now on; the stage's own series keeps its count and
	// counts what matched no method.
	mxUpdateStage(t, in, a.id, "prod", types.PatchOperation{Op: types.OpReplace, Path: aws.String("/*/*/metrics/enabled"), Value: aws.String("true")})
	dpEventually(t, "detailed metrics served", func() bool {
		st := in.Server.Gateway.Stage(a.id, "prod")
		return st != nil && st.Stage.MethodSettings["*/*"] != nil
	})
	mxGet(t, a.url("prod", "/items"), 200, 2)
	mxGet(t, a.url("prod", "/nowhere"), 403, 1)
	mxGet(t, a.url("prod", "/broken"), 503, 1)
	items := "ApiName=shop,Method=GET,Resource=/items,Stage=prod"
	back := "ApiName=shop,Method=GET,Resource=/backend,Stage=prod"
	broken := "ApiName=shop,Method=GET,Resource=/broken,Stage=prod"
	_, _, mfs = mxScrape(t, in, "")
	mxWant(t, mfs, "aws_apigateway_count_total", map[string]float64{stage: 9, items: 2, back: 0, broken: 1})
	mxWant(t, mfs, "aws_apigateway_4xx_error_total", map[string]float64{stage: 3, items: 0, back: 0, broken: 0})
	mxWant(t, mfs, "aws_apigateway_5xx_error_total", map[string]float64{stage: 1, items: 0, back: 0, broken: 1})
	mxWant(t, mfs, "aws_apigateway_integration_latency_seconds", map[string]float64{stage: 6, items: 2, back: 0, broken: 1})

	// Per method: only GET /backend keeps detailed metrics; GET /items
	// counts in the stage again.
	mxUpdateStage(t, in, a.id, "prod",
		types.PatchOperation{Op: types.OpReplace, Path: aws.String("/*/*/metrics/enabled"), Value: aws.String("false")},
		types.PatchOperation{Op: types.OpReplace, Path: aws.String("/~1backend/GET/metrics/enabled"), Value: aws.String("true")})
	dpEventually(t, "per-method metrics served", func() bool {
		st := in.Server.Gateway.Stage(a.id, "prod")
		return st != nil && st.Stage.MethodSettings["~1backend/GET"] != nil
	})
	mxGet(t, a.url("prod", "/items"), 200, 1)
	mxGet(t, a.url("prod", "/backend"), 200, 1)
	_, _, mfs = mxScrape(t, in, "")
	mxWant(t, mfs, "aws_apigateway_count_total", map[string]float64{stage: 10, back: 1})

	// A new deployment keeps the stage's counters.
	a.deploy("prod", nil)
	mxGet(t, a.url("prod", "/items"), 200, 1)
	_, _, mfs = mxScrape(t, in, "")
	mxWant(t, mfs, "aws_apigateway_count_total", map[string]float64{stage: 11, back: 1})
}

// The endpoint is public only with --metrics-public; otherwise it needs the
// token of --metrics-token-file, and is refused as unsigned admin calls are.
func TestMetricsAuth(t *testing.T) {
	t.Run("no flag", func(t *testing.T) {
		in := apigwtest.Start(t)
		status, body, _ := mxScrape(t, in, "")
		if status != http.StatusForbidden || body != `{"message":"Missing Authentication Token"}` {
			t.Errorf("unauthenticated scrape: %d %s, want 403 Missing Authentication Token", status, body)
		}
		if status, _, _ := mxScrape(t, in, "anything"); status != http.StatusForbidden {
			t.Errorf("scrape with a token none was configured for: %d, want 403", status)
		}
	})
	t.Run("token file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte("s3cret-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		in := apigwtest.Start(t, func(c *server.Config) { c.MetricsTokenFile = file })
		if status, body, _ := mxScrape(t, in, ""); status != http.StatusForbidden || body != `{"message":"Missing Authentication Token"}` {
			t.Errorf("scrape without the token: %d %s", status, body)
		}
		if status, body, _ := mxScrape(t, in, "wrong"); status != http.StatusForbidden || body != `{"message":"Forbidden"}` {
			t.Errorf("scrape with a wrong token: %d %s", status, body)
		}
		status, body, mfs := mxScrape(t, in, "s3cret-token")
		if status != http.StatusOK || mfs["apigw_requests_in_flight"] == nil {
			t.Errorf("scrape with the token: %d %.200s", status, body)
		}
	})
	t.Run("public", func(t *testing.T) {
		in := apigwtest.Start(t, func(c *server.Config) { c.MetricsPublic = true })
		if status, body, _ := mxScrape(t, in, ""); status != http.StatusOK {
			t.Errorf("public scrape: %d %s", status, body)
		}
	})
	t.Run("both", func(t *testing.T) {
		_, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), MetricsPublic: true, MetricsTokenFile: "x"})
		if err == nil || !strings.Contains(err.Error(), "exclude each other") {
			t.Errorf("--metrics-public with --metrics-token-file: %v", err)
		}
	})
}

const mxPython = `def handler(event, context):
    if event.get("fail"):
        raise Exception("asked to fail")
    return {"ok": True}
`

// Lambda's metrics count the functions' invocations, errors and throttles.
func TestMetricsLambda(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; skipping the Lambda metrics test")
	}
	ctx := t.Context()
	in := apigwtest.Start(t, func(c *server.Config) { c.MetricsPublic = true })
	lc := lfClient(in)
	if _, err := lc.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("counted"), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("index.handler"),
		Role: aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code: &lambdatypes.FunctionCode{ZipFile: lfZip(t, map[string]string{"index.py": mxPython})},
	}); err != nil {
		t.Fatal(err)
	}
	invoke := func(payload string) *awslambda.InvokeOutput {
		t.Helper()
		out, err := lc.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("counted"), Payload: []byte(payload)})
		if err != nil {
			t.Fatalf("Invoke %s: %v", payload, err)
		}
		return out
	}
	for range 2 {
		if out := invoke(`{}`); out.FunctionError != nil {
			t.Fatalf("function failed: %s", out.Payload)
		}
	}
	if out := invoke(`{"fail":true}`); aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("function did not fail: %s", out.Payload)
	}
	if _, err := lc.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("counted"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("counted")}); err == nil {
		t.Fatal("an invocation with reserved concurrency 0 was not throttled")
	}
	_, _, mfs := mxScrape(t, in, "")
	fn := "FunctionName=counted"
	mxWant(t, mfs, "aws_lambda_invocations_total", map[string]float64{fn: 3})
	mxWant(t, mfs, "aws_lambda_errors_total", map[string]float64{fn: 1})
	mxWant(t, mfs, "aws_lambda_throttles_total", map[string]float64{fn: 1})
	mxWant(t, mfs, "aws_lambda_duration_seconds", map[string]float64{fn: 3})
	mxWant(t, mfs, "aws_lambda_concurrent_executions", map[string]float64{fn: 0})
}
