package control

import (
	"context"
	"net/http"

	"github.com/apigw/apigw/internal/model"
)

// Tester runs a method or an authorizer of the API as it is now, not as
// deployed: the console's Test button (TestInvokeMethod,
// TestInvokeAuthorizer). The server wires it to the data plane.
type Tester interface {
	TestInvokeMethod(ctx context.Context, snap *model.Snapshot, resourceID, httpMethod string, in *model.TestInvokeRequest) (*model.TestInvokeMethodResult, error)
	TestInvokeAuthorizer(ctx context.Context, snap *model.Snapshot, authorizerID string, in *model.TestInvokeRequest) (*model.TestInvokeAuthorizerResult, error)
}

// currentSnapshot freezes the API as it is now, without the checks a
// deployment makes.
func (a *API) currentSnapshot(ctx context.Context, apiID string) (*model.Snapshot, error) {
	t, err := a.loadTree(ctx, a.Store, apiID)
	if err != nil {
		return nil, err
	}
	snap := &model.Snapshot{DeploymentID: "test-invoke", Api: *t.api}
	for _, id := range sortedKeys(t.byID) {
		snap.Resources = append(snap.Resources, t.byID[id])
	}
	if snap.Authorizers, err = listJSON[model.Authorizer](ctx, a.Store, model.KindAuthorizer, model.ApiPrefix(apiID)); err != nil {
		return nil, err
	}
	return snap, nil
}

func (a *API) testInvokeMethod(r *http.Request, body []byte) (int, any, error) {
	var in model.TestInvokeRequest
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	m, err := a.readMethod(r)
	if err != nil {
		return 0, nil, err
	}
	if m.MethodIntegration == nil {
		return 0, nil, errNoIntegration
	}
	if a.Tester == nil {
		return 0, nil, badRequest("Test invocations are not available on this node")
	}
	snap, err := a.currentSnapshot(r.Context(), r.PathValue("api"))
	if err != nil {
		return 0, nil, err
	}
	out, err := a.Tester.TestInvokeMethod(r.Context(), snap, r.PathValue("res"), m.HTTPMethod, &in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (a *API) testInvokeAuthorizer(r *http.Request, body []byte) (int, any, error) {
	var in model.TestInvokeRequest
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if _, err := a.loadAuthorizer(r.Context(), a.Store, r.PathValue("api"), r.PathValue("authorizer")); err != nil {
		return 0, nil, err
	}
	if a.Tester == nil {
		return 0, nil, badRequest("Test invocations are not available on this node")
	}
	snap, err := a.currentSnapshot(r.Context(), r.PathValue("api"))
	if err != nil {
		return 0, nil, err
	}
	out, err := a.Tester.TestInvokeAuthorizer(r.Context(), snap, r.PathValue("authorizer"), &in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}
