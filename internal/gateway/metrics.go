package gateway

import (
	"time"

	"github.com/apigw/apigw/internal/metrics"
	"github.com/apigw/apigw/internal/model"
)

// stageMetrics returns the counters of a stage and, when its method
// settings ask for detailed metrics (metrics/enabled, for "*/*" or per
// method), of its methods by Route.index. Counters of old, the stage being
// replaced, are kept: for the stage, and for each method by its HTTP method
// and resource path.
func stageMetrics(st *model.Stage, dep *Deployment, old *Stage) (*metrics.API, []*metrics.API) {
	stage := metrics.NewAPI()
	if old != nil && old.metrics != nil {
		stage = old.metrics
	}
	if len(st.MethodSettings) == 0 {
		return stage, nil
	}
	var kept map[[2]string]*metrics.API
	if old != nil && old.methodMetrics != nil {
		kept = map[[2]string]*metrics.API{}
		for i, rt := range old.Routes {
			if m := old.methodMetrics[i]; m != nil {
				kept[[2]string{rt.Method.HTTPMethod, rt.ResourcePath}] = m
			}
		}
	}
	var methods []*metrics.API
	for i, rt := range dep.Routes {
		ms := st.MethodSettings[escapeSeg(rt.ResourcePath)+"/"+rt.Method.HTTPMethod]
		if ms == nil {
			ms = st.MethodSettings["*/*"]
		}
		if ms == nil || !ms.MetricsEnabled {
			continue
		}
		if methods == nil {
			methods = make([]*metrics.API, len(dep.Routes))
		}
		m := kept[[2]string{rt.Method.HTTPMethod, rt.ResourcePath}]
		if m == nil {
			m = metrics.NewAPI()
		}
		methods[i] = m
	}
	return stage, methods
}

// metricsOf returns the counters a request to rt counts in: its method's
// when the stage keeps detailed metrics for it, otherwise the stage's.
func (st *Stage) metricsOf(rt *Route) *metrics.API {
	if st.methodMetrics != nil && rt != nil {
		if m := st.methodMetrics[rt.index]; m != nil {
			return m
		}
	}
	return st.metrics
}

// MetricSeries yields the counters of every stage served, with their
// dimensions, for the metrics collector.
func (g *Gateway) MetricSeries(yield func(metrics.APISeries)) {
	for _, stages := range g.state.Load().apis {
		for _, st := range stages {
			if st.metrics == nil {
				continue
			}
			yieldStage(st, st.Name, yield)
			if st.canary != nil {
				yieldStage(st.canary, st.Name+"/Canary", yield)
			}
		}
	}
}

// yieldStage yields the series of one release of a stage under the name.
func yieldStage(st *Stage, name string, yield func(metrics.APISeries)) {
	s := metrics.APISeries{ApiName: st.Api.Name, Stage: name, Cache: st.Stage.CacheClusterEnabled, Counters: st.metrics}
	yield(s)
	for i, m := range st.methodMetrics {
		if m != nil {
			rt := st.Routes[i]
			s.Method, s.Resource, s.Counters = rt.Method.HTTPMethod, rt.ResourcePath, m
			yield(s)
		}
	}
}

// OwnMetrics are the data plane's own metrics: requests in flight, the
// store revision served and how long ago the state was last found up to
// date, limiter and store errors, and access log lines dropped.
func (g *Gateway) OwnMetrics() []metrics.Value {
	return []metrics.Value{
		{Name: "apigw_requests_in_flight", Help: "Data plane requests being served.",
			Read: func() float64 { return float64(g.inFlight.Load()) }},
		{Name: "apigw_config_revision", Help: "The store revision the data plane serves.",
			Read: func() float64 { return float64(g.state.Load().rev) }},
		{Name: "apigw_config_sync_delay_seconds", Help: "Time since the data plane last found its state up to date with the store (it looks every poll interval, and at once on a change made through this node).",
			Read: func() float64 {
				at := g.synced.Load()
				if at == 0 {
					return 0
				}
				return time.Since(time.Unix(0, at)).Seconds()
			}},
		{Name: "apigw_limiter_errors_total", Help: "Throttle and quota decisions the limiter could not make (the request failed with a configuration error).", Counter: true,
			Read: func() float64 { return float64(g.limiterErrors.Load()) }},
		{Name: "apigw_store_errors_total", Help: "Data plane reads of the store that failed (a sync, or a stage's deployment).", Counter: true,
			Read: func() float64 { return float64(g.storeErrors.Load()) }},
		{Name: "apigw_access_log_dropped_total", Help: "Access log lines dropped because the writer fell behind.", Counter: true,
			Read: func() float64 {
				if g.AccessLog == nil {
					return 0
				}
				return float64(g.AccessLog.Dropped())
			}},
	}
}
