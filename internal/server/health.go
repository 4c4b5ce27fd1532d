package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/limit"
)

// Health is the answer of GET /_apigw/health, for load balancer checks: 200
// when the node can serve ("ok", or "degraded" while it meters on local
// limits because Redis is unreachable), 503 when its store does not answer.
type Health struct {
	Status string          `json:"status"` // "ok", "degraded" or "unavailable"
	Store  ComponentHealth `json:"store"`
	Redis  *RedisHealth    `json:"redis,omitempty"` // with --redis only
}

// ComponentHealth is the state of one thing a node depends on.
type ComponentHealth struct {
	Type   string `json:"type"`   // "sqlite", "postgres"
	Status string `json:"status"` // "ok" or "unreachable"
}

// RedisHealth is the state of the Redis the limits are shared through, as
// the limiter last saw it (it checks every 250 ms): a health check does no
// round trip of its own.
type RedisHealth struct {
	Status string `json:"status"` // "ok" or "unreachable"
	// Nodes is the number of nodes sharing the limits, this one included.
	Nodes int64 `json:"nodes"`
	// Outages counts the times Redis became unreachable since the start.
	Outages int64 `json:"outages"`
}

// healthTimeout bounds the store's answer to a health check: a load
// balancer waits a few seconds at most.
const healthTimeout = 2 * time.Second

// healthState remembers the last answer, to log changes only (load
// balancers ask every few seconds).
type healthState struct {
	mu   sync.Mutex
	down bool
}

// Health checks the store, and reports Redis's state.
func (s *Server) Health(ctx context.Context) Health {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h := Health{Status: "ok", Store: ComponentHealth{Type: s.store.kind, Status: "ok"}}
	if r, ok := s.Limiter.(*limit.Redis); ok {
		h.Redis = &RedisHealth{Status: "ok", Nodes: r.Nodes(), Outages: r.Outages()}
		if !r.Shared() {
			h.Status, h.Redis.Status = "degraded", "unreachable"
		}
	}
	err := s.Store.Ping(ctx)
	if err != nil {
		h.Status, h.Store.Status = "unavailable", "unreachable"
	}
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	switch {
	case err != nil && !s.health.down:
		s.cfg.Log.Error("health: the store does not answer", "store", s.store.kind+" "+s.store.desc, "err", err)
	case err == nil && s.health.down:
		s.cfg.Log.Info("health: the store answers again", "store", s.store.kind+" "+s.store.desc)
	}
	s.health.down = err != nil
	return h
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := s.Health(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if h.Status == "unavailable" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	b, _ := json.Marshal(h)
	w.Write(b)
}
