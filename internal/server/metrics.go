package server

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/apigw/apigw/internal/control"
	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/metrics"
	"github.com/apigw/apigw/internal/sigv4"
)

// MetricsPath is where the admin listener serves the metrics, in
// Prometheus's text format.
const MetricsPath = "/_apigw/metrics"

// metricsToken reads the metrics endpoint's bearer token, if there is one.
func metricsToken(cfg Config) ([]byte, error) {
	if cfg.MetricsTokenFile == "" {
		return nil, nil
	}
	if cfg.MetricsPublic {
		return nil, errors.New("metrics: --metrics-public and --metrics-token-file exclude each other")
	}
	b, err := os.ReadFile(cfg.MetricsTokenFile)
	if err != nil {
		return nil, fmt.Errorf("metrics token: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("metrics token: %s is empty", cfg.MetricsTokenFile)
	}
	return b, nil
}

// serveMetrics answers a scrape: to anyone with MetricsPublic, otherwise
// to the holder of the token. A request without the token is refused as
// every unsigned admin call is; one with another token is forbidden.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.MetricsPublic {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if s.metricsToken == nil || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			control.WriteError(w, &control.Error{Status: http.StatusForbidden, Type: sigv4.CodeMissingAuthenticationToken, Message: "Missing Authentication Token"})
			return
		}
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), s.metricsToken) != 1 {
			control.WriteError(w, &control.Error{Status: http.StatusForbidden, Type: "ForbiddenException", Message: "Forbidden"})
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		control.WriteError(w, &control.Error{Status: http.StatusMethodNotAllowed, Type: "MethodNotAllowedException", Message: "Method Not Allowed"})
		return
	}
	s.metrics.ServeHTTP(w, r)
}

// redisMetrics are the state of the shared limits, with --redis: whether
// this node meters through Redis or alone (an outage), how many nodes
// share the limits, how many outages it saw.
func redisMetrics(l limit.Limiter) []metrics.Value {
	r, ok := l.(*limit.Redis)
	if !ok {
		return nil
	}
	return []metrics.Value{
		{Name: "apigw_redis_shared", Help: "1 while this node's limits are shared through Redis; 0 while Redis is unreachable and the node meters alone with its share (or answers 503, with --redis-failure closed).",
			Read: func() float64 {
				if r.Shared() {
					return 1
				}
				return 0
			}},
		{Name: "apigw_redis_nodes", Help: "Nodes sharing the limits through Redis, this one included, as seen in the last 10 seconds: the divisor of each node's share during an outage.",
			Read: func() float64 { return float64(r.Nodes()) }},
		{Name: "apigw_redis_outages_total", Help: "Times this node found Redis unreachable and fell back to local limits.", Counter: true,
			Read: func() float64 { return float64(r.Outages()) }},
	}
}
