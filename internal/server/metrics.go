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
