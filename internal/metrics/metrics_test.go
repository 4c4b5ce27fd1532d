package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestHistogramBuckets(t *testing.T) {
	cases := []struct {
		d      time.Duration
		bucket int // index in LatencyBounds, len for +Inf
	}{
		{0, 0},
		{time.Millisecond, 0}, // a bound is "less or equal"
		{time.Millisecond + 1, 1},
		{7 * time.Millisecond, 3},
		{30 * time.Second, 13},
		{31 * time.Second, 14},
	}
	for _, c := range cases {
		t.Run(c.d.String(), func(t *testing.T) {
			a := NewAPI()
			a.Latency.Observe(c.d)
			for i := range len(LatencyBounds.ns) + 1 {
				want := uint64(0)
				if i == c.bucket {
					want = 1
				}
				if got := a.Latency.counts[i].Load(); got != want {
					t.Errorf("bucket %d holds %d, want %d", i, got, want)
				}
			}
		})
	}
}

// scrape serves c and parses the answer as Prometheus does.
func scrape(t *testing.T, c *Collector) map[string]*dto.MetricFamily {
	t.Helper()
	w := httptest.NewRecorder()
	Handler(c).ServeHTTP(w, httptest.NewRequest("GET", "/_apigw/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("scrape: %d %s", w.Code, w.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, w.Body)
	}
	return mfs
}

func labels(m *dto.Metric) string {
	var b strings.Builder
	for _, l := range m.GetLabel() {
		b.WriteString(l.GetName() + "=" + l.GetValue() + ",")
	}
	return b.String()
}

func TestCollector(t *testing.T) {
	// Two APIs named "shop" add up; a method with detailed metrics is a
	// series of its own.
	a, b, m := NewAPI(), NewAPI(), NewAPI()
	a.Observe(200, 2*time.Millisecond, time.Millisecond, true)
	a.Observe(404, time.Millisecond, 0, false)
	b.Observe(502, 3*time.Millisecond, 2*time.Millisecond, true)
	m.Observe(500, time.Second, time.Second, true)
	m.CacheHits.Add(3)
	fns := new(Functions)
	f := fns.Function("hello")
	f.Start()
	f.Finish(Ran, 20*time.Millisecond)
	f.Start()
	f.Finish(Failed, 30*time.Millisecond)
	f.Start()
	f.Finish(Throttled, 0)
	f.Start() // still running
	c := &Collector{
		APIs: func(yield func(APISeries)) {
			yield(APISeries{ApiName: "shop", Stage: "prod", Counters: a})
			yield(APISeries{ApiName: "shop", Stage: "prod", Counters: b})
			yield(APISeries{ApiName: "shop", Stage: "prod", Method: "GET", Resource: "/items/{id}", Cache: true, Counters: m})
		},
		Functions: fns,
		Own:       []Value{{Name: "apigw_requests_in_flight", Help: "h", Read: func() float64 { return 7 }}},
	}
	mfs := scrape(t, c)
	type row struct {
		name, labels string
		value        float64
	}
	want := []row{
		{NameCount, "ApiName=shop,Stage=prod,", 3},
		{NameCount, "ApiName=shop,Method=GET,Resource=/items/{id},Stage=prod,", 1},
		{Name4XXError, "ApiName=shop,Stage=prod,", 1},
		{Name5XXError, "ApiName=shop,Stage=prod,", 1},
		{Name5XXError, "ApiName=shop,Method=GET,Resource=/items/{id},Stage=prod,", 1},
		{NameCacheHitCount, "ApiName=shop,Method=GET,Resource=/items/{id},Stage=prod,", 3},
		{NameInvocations, "FunctionName=hello,", 2},
		{NameErrors, "FunctionName=hello,", 1},
		{NameThrottles, "FunctionName=hello,", 1},
		{NameConcurrentExecutions, "FunctionName=hello,", 1},
		{"apigw_requests_in_flight", "", 7},
	}
	for _, w := range want {
		mf := mfs[w.name]
		if mf == nil {
			t.Errorf("%s missing", w.name)
			continue
		}
		found := false
		for _, m := range mf.GetMetric() {
			if labels(m) != w.labels {
				continue
			}
			found = true
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if v != w.value {
				t.Errorf("%s{%s} = %v, want %v", w.name, w.labels, v, w.value)
			}
		}
		if !found {
			t.Errorf("%s{%s} missing", w.name, w.labels)
		}
	}
	if n := len(mfs[NameCacheHitCount].GetMetric()); n != 1 {
		t.Errorf("cache hits shown for %d series, want 1 (the stage without a cache has none)", n)
	}
	for _, m := range mfs[NameLatency].GetMetric() {
		h := m.GetHistogram()
		if labels(m) == "ApiName=shop,Stage=prod," {
			if h.GetSampleCount() != 3 || h.GetSampleSum() != 0.006 {
				t.Errorf("latency: count %d sum %v, want 3 0.006", h.GetSampleCount(), h.GetSampleSum())
			}
			if b := h.GetBucket(); b[0].GetUpperBound() != 0.001 || b[0].GetCumulativeCount() != 1 || b[2].GetCumulativeCount() != 3 {
				t.Errorf("latency buckets: %v", b)
			}
		}
	}
	integ := mfs[NameIntegrationLatency].GetMetric()
	for _, m := range integ {
		if labels(m) == "ApiName=shop,Stage=prod," && m.GetHistogram().GetSampleCount() != 2 {
			t.Errorf("integration latency count %d, want 2 (one request did not reach it)", m.GetHistogram().GetSampleCount())
		}
	}
	if d := mfs[NameDuration].GetMetric()[0].GetHistogram(); d.GetSampleCount() != 2 || d.GetSampleSum() != 0.05 {
		t.Errorf("duration: %v", d)
	}
}

func TestLatencyArray(t *testing.T) {
	if len(latencyNs) != len(LatencyBounds.ns) {
		t.Fatalf("latencyNs has %d bounds, LatencyBounds %d", len(latencyNs), len(LatencyBounds.ns))
	}
	for i, b := range LatencyBounds.ns {
		if latencyNs[i] != b {
			t.Errorf("bound %d: %d, want %d", i, latencyNs[i], b)
		}
	}
}

func TestObserveIntegrationBucket(t *testing.T) {
	a := NewAPI()
	a.Observe(200, 40*time.Millisecond, 7*time.Millisecond, true)
	if a.Latency.counts[5].Load() != 1 || a.IntegrationLatency.counts[3].Load() != 1 {
		t.Errorf("latency buckets %v, integration %v", a.Latency.counts[:6], a.IntegrationLatency.counts[:6])
	}
}
