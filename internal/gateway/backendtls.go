package gateway

import (
	"context"
	"crypto/tls"

	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/model"
)

// stageTransports returns the pools a stage calls its https:// backends
// with: those of its client certificate, made once per certificate and
// shared by the stages that present it, else the gateway's (nil when the
// package defaults serve). The caller holds syncMu.
func (g *Gateway) stageTransports(ctx context.Context, certID string) *integration.Transports {
	if certID == "" || g.ClientCertificate == nil {
		return g.baseTransports()
	}
	if t := g.certTransports[certID]; t != nil {
		return t
	}
	cert, err := g.ClientCertificate(ctx, certID)
	if err != nil {
		// AWS refuses such a stage when it is written; one whose
		// certificate was deleted since presents none.
		g.log().Warn("stage client certificate not loaded: its backends get none", "clientCertificateId", certID, "err", err)
		return g.baseTransports()
	}
	t := integration.NewTransports(g.BackendRoots, cert)
	if g.certTransports == nil {
		g.certTransports = map[string]*integration.Transports{}
	}
	g.certTransports[certID] = t
	return t
}

// baseTransports verify backends against BackendRoots, for stages without
// a client certificate; nil when BackendRoots is nil (the integration's
// own pools then serve).
func (g *Gateway) baseTransports() *integration.Transports {
	if g.BackendRoots == nil {
		return nil
	}
	g.baseOnce.Do(func() { g.base = integration.NewTransports(g.BackendRoots, nil) })
	return g.base
}

// forgetCertTransports drops the pools of certificates no stage presents
// any more (a stage moved to another certificate: new connections use the
// new one at once, idle ones of the old are closed). The caller holds
// syncMu.
func (g *Gateway) forgetCertTransports(next *state) {
	if len(g.certTransports) == 0 {
		return
	}
	used := map[string]bool{}
	for _, stages := range next.apis {
		for _, st := range stages {
			if id := st.Stage.ClientCertificateID; id != "" {
				used[id] = true
			}
		}
	}
	for id, t := range g.certTransports {
		if !used[id] {
			delete(g.certTransports, id)
			t.CloseIdleConnections()
		}
	}
}

// certChanged notes a changed or deleted client certificate: its pools are
// made again from the store, and the APIs whose stages present it are read
// again. The caller holds syncMu.
func (g *Gateway) certChanged(cur *state, certID string, apiIDs map[string]bool) {
	if t := g.certTransports[certID]; t != nil {
		delete(g.certTransports, certID)
		t.CloseIdleConnections()
	}
	for apiID, stages := range cur.apis {
		for _, st := range stages {
			if st.Stage.ClientCertificateID == certID {
				apiIDs[apiID] = true
			}
		}
	}
}

// testInvokeTransports are the pools of a test invocation's
// clientCertificateId, made for the one call; close reports them unused.
func (g *Gateway) testInvokeTransports(ctx context.Context, in *model.TestInvokeRequest) (t *integration.Transports, close func(), err error) {
	if in.ClientCertificateID == "" || g.ClientCertificate == nil {
		return nil, func() {}, nil
	}
	var cert *tls.Certificate
	if cert, err = g.ClientCertificate(ctx, in.ClientCertificateID); err != nil {
		return nil, nil, err
	}
	t = integration.NewTransports(g.BackendRoots, cert)
	return t, t.CloseIdleConnections, nil
}
