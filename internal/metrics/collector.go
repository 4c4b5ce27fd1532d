package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Names of the metrics, one per CloudWatch metric of API Gateway
// (namespace AWS/ApiGateway) and Lambda (AWS/Lambda). README.md lists the
// mapping.
const (
	NameCount              = "aws_apigateway_count_total"
	Name4XXError           = "aws_apigateway_4xx_error_total"
	Name5XXError           = "aws_apigateway_5xx_error_total"
	NameLatency            = "aws_apigateway_latency_seconds"
	NameIntegrationLatency = "aws_apigateway_integration_latency_seconds"
	NameCacheHitCount      = "aws_apigateway_cache_hit_count_total"
	NameCacheMissCount     = "aws_apigateway_cache_miss_count_total"

	NameInvocations          = "aws_lambda_invocations_total"
	NameErrors               = "aws_lambda_errors_total"
	NameThrottles            = "aws_lambda_throttles_total"
	NameDuration             = "aws_lambda_duration_seconds"
	NameConcurrentExecutions = "aws_lambda_concurrent_executions"
)

// apiDescs are the descriptors of API Gateway's metrics with one set of
// labels.
type apiDescs struct {
	count, err4, err5, latency, integration, hits, misses *prometheus.Desc
}

func newAPIDescs(labels ...string) *apiDescs {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, labels, nil) }
	return &apiDescs{
		count:       d(NameCount, "Requests to the API stage (CloudWatch Count)."),
		err4:        d(Name4XXError, "Answers with a 4xx status (CloudWatch 4XXError)."),
		err5:        d(Name5XXError, "Answers with a 5xx status, or broken off (CloudWatch 5XXError)."),
		latency:     d(NameLatency, "From the request's arrival to the end of its answer (CloudWatch Latency)."),
		integration: d(NameIntegrationLatency, "From the call of the integration to its answer (CloudWatch IntegrationLatency)."),
		hits:        d(NameCacheHitCount, "Requests served from the stage cache (CloudWatch CacheHitCount)."),
		misses:      d(NameCacheMissCount, "Requests the stage cache could not serve (CloudWatch CacheMissCount)."),
	}
}

var (
	stageDescs  = newAPIDescs("ApiName", "Stage")
	methodDescs = newAPIDescs("ApiName", "Stage", "Method", "Resource")

	fnLabels     = []string{"FunctionName"}
	invocationsD = prometheus.NewDesc(NameInvocations, "Invocations that ran the function, failed ones included (CloudWatch Invocations).", fnLabels, nil)
	errorsD      = prometheus.NewDesc(NameErrors, "Invocations that ended in a function error (CloudWatch Errors).", fnLabels, nil)
	throttlesD   = prometheus.NewDesc(NameThrottles, "Invocations refused for want of concurrency (CloudWatch Throttles).", fnLabels, nil)
	durationD    = prometheus.NewDesc(NameDuration, "The function's run time per invocation (CloudWatch Duration).", fnLabels, nil)
	concurrencyD = prometheus.NewDesc(NameConcurrentExecutions, "Invocations of the function running now (CloudWatch ConcurrentExecutions).", fnLabels, nil)
)

// Value is one of apigw's own metrics, read at scrape time.
type Value struct {
	Name, Help string
	Counter    bool // a counter; otherwise a gauge
	Read       func() float64
}

// Collector is a prometheus.Collector of apigw's metrics, read from
// counters when Prometheus scrapes. A nil field shows nothing.
type Collector struct {
	// APIs yields every stage's (and detailed method's) counters.
	APIs func(yield func(APISeries))
	// Functions are Lambda's counters.
	Functions *Functions
	// Own are apigw's own metrics.
	Own []Value
}

var _ prometheus.Collector = (*Collector)(nil)

// Describe sends nothing: the collector is unchecked, as the label sets of
// its series depend on the stages' settings.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// apiKey is a series' dimensions. Two APIs with one name add up, as
// CloudWatch adds them up by ApiName.
type apiKey struct{ apiName, stage, method, resource string }

type apiSum struct {
	cache                bool
	latency, integration histogramSum
	err4, err5           uint64
	hits, misses         uint64
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.APIs != nil {
		sums := map[apiKey]*apiSum{}
		var order []apiKey
		c.APIs(func(s APISeries) {
			k := apiKey{s.ApiName, s.Stage, s.Method, s.Resource}
			sum := sums[k]
			if sum == nil {
				sum = new(apiSum)
				sums[k] = sum
				order = append(order, k)
			}
			a := s.Counters
			sum.cache = sum.cache || s.Cache
			a.Latency.snapshot(&sum.latency)
			a.IntegrationLatency.snapshot(&sum.integration)
			sum.err4 += a.Errors4XX.Load()
			sum.err5 += a.Errors5XX.Load()
			sum.hits += a.CacheHits.Load()
			sum.misses += a.CacheMisses.Load()
		})
		for _, k := range order {
			s := sums[k]
			d, labels := stageDescs, []string{k.apiName, k.stage}
			if k.method != "" {
				d, labels = methodDescs, []string{k.apiName, k.stage, k.method, k.resource}
			}
			ch <- prometheus.MustNewConstMetric(d.count, prometheus.CounterValue, float64(s.latency.count()), labels...)
			ch <- prometheus.MustNewConstMetric(d.err4, prometheus.CounterValue, float64(s.err4), labels...)
			ch <- prometheus.MustNewConstMetric(d.err5, prometheus.CounterValue, float64(s.err5), labels...)
			ch <- constHistogram(d.latency, &s.latency, labels)
			ch <- constHistogram(d.integration, &s.integration, labels)
			if s.cache {
				ch <- prometheus.MustNewConstMetric(d.hits, prometheus.CounterValue, float64(s.hits), labels...)
				ch <- prometheus.MustNewConstMetric(d.misses, prometheus.CounterValue, float64(s.misses), labels...)
			}
		}
	}
	if c.Functions != nil {
		c.Functions.each(func(name string, fn *Function) {
			ch <- prometheus.MustNewConstMetric(invocationsD, prometheus.CounterValue, float64(fn.Invocations.Load()), name)
			ch <- prometheus.MustNewConstMetric(errorsD, prometheus.CounterValue, float64(fn.Errors.Load()), name)
			ch <- prometheus.MustNewConstMetric(throttlesD, prometheus.CounterValue, float64(fn.Throttles.Load()), name)
			var d histogramSum
			fn.Duration.snapshot(&d)
			ch <- constHistogram(durationD, &d, []string{name})
			ch <- prometheus.MustNewConstMetric(concurrencyD, prometheus.GaugeValue, float64(max(fn.Concurrent.Load(), 0)), name)
		})
	}
	for _, v := range c.Own {
		t := prometheus.GaugeValue
		if v.Counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(v.Name, v.Help, nil, nil), t, v.Read())
	}
}

func constHistogram(d *prometheus.Desc, s *histogramSum, labels []string) prometheus.Metric {
	return prometheus.MustNewConstHistogram(d, s.count(), time.Duration(s.sum).Seconds(), s.cumulative(), labels...)
}

// Handler serves the collector's metrics, with the Go runtime's and the
// process's, in Prometheus's text format.
func Handler(c *Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
