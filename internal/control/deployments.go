package control

import (
	"context"
	"net/http"
	"regexp"
	"sort"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

type createDeploymentInput struct {
	StageName           *string           `json:"stageName"`
	StageDescription    string            `json:"stageDescription"`
	Description         string            `json:"description"`
	CacheClusterEnabled bool              `json:"cacheClusterEnabled"`
	CacheClusterSize    string            `json:"cacheClusterSize"`
	Variables           map[string]string `json:"variables"`
	CanarySettings      *struct {
		PercentTraffic         float64           `json:"percentTraffic"`
		StageVariableOverrides map[string]string `json:"stageVariableOverrides"`
		UseStageCache          bool              `json:"useStageCache"`
	} `json:"canarySettings"`
	TracingEnabled bool `json:"tracingEnabled"`
}

// snapshotOf freezes an API: it checks that it can be deployed and returns
// the snapshot and the deployment's summary of methods.
func snapshotOf(t *apiTree) (*model.Snapshot, map[string]map[string]model.MethodSnapshotInfo, error) {
	snap := &model.Snapshot{Api: *t.api}
	summary := map[string]map[string]model.MethodSnapshotInfo{}
	methods := 0
	ids := sortedKeys(t.byID)
	for _, id := range ids {
		res := t.byID[id]
		snap.Resources = append(snap.Resources, res)
		for name, m := range res.ResourceMethods {
			methods++
			if m.MethodIntegration == nil {
				return nil, nil, badRequest("No integration defined for method")
			}
			if summary[res.Path] == nil {
				summary[res.Path] = map[string]model.MethodSnapshotInfo{}
			}
			summary[res.Path][name] = model.MethodSnapshotInfo{AuthorizationType: m.AuthorizationType, ApiKeyRequired: m.ApiKeyRequired}
		}
	}
	if methods == 0 {
		return nil, nil, badRequest("The REST API doesn't contain any methods")
	}
	return snap, summary, nil
}

func (a *API) createDeployment(r *http.Request, body []byte) (int, any, error) {
	var in createDeploymentInput
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	stageName := ""
	if in.StageName != nil {
		stageName = *in.StageName
	}
	if c := in.CanarySettings; c != nil {
		// A canary release goes to a stage that exists, as on AWS.
		if stageName == "" {
			given := "null"
			if in.StageName != nil {
				given = ""
			}
			return 0, nil, badRequest("Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is %s", given)
		}
		if err := checkPercentTraffic(c.PercentTraffic); err != nil {
			return 0, nil, err
		}
		if err := validateVariables(c.StageVariableOverrides); err != nil {
			return 0, nil, err
		}
	}
	if stageName != "" {
		if err := validateStageName(stageName); err != nil {
			return 0, nil, err
		}
	}
	if err := validateVariables(in.Variables); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	dep := &model.Deployment{ID: newID(6), Description: in.Description, CreatedDate: a.now().Unix()}
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		t, err := a.loadTree(ctx, tx, apiID)
		if err != nil {
			return err
		}
		snap, summary, err := snapshotOf(t)
		if err != nil {
			return err
		}
		if snap.Authorizers, err = listJSON[model.Authorizer](ctx, tx, model.KindAuthorizer, model.ApiPrefix(apiID)); err != nil {
			return err
		}
		if snap.GatewayResponses, err = listJSON[model.GatewayResponse](ctx, tx, model.KindGatewayResponse, model.ApiPrefix(apiID)); err != nil {
			return err
		}
		if snap.Models, err = a.listModels(ctx, tx, apiID); err != nil {
			return err
		}
		if snap.RequestValidators, err = listJSON[model.RequestValidator](ctx, tx, model.KindValidator, model.ApiPrefix(apiID)); err != nil {
			return err
		}
		snap.DeploymentID = dep.ID
		dep.ApiSummary = summary
		if err := putJSON(ctx, tx, model.KindSnapshot, model.ChildKey(apiID, dep.ID), snap); err != nil {
			return err
		}
		if err := putJSON(ctx, tx, model.KindDeployment, model.ChildKey(apiID, dep.ID), dep); err != nil {
			return err
		}
		if stageName == "" {
			return nil
		}
		st := new(model.Stage)
		err = getJSON(ctx, tx, model.KindStage, model.ChildKey(apiID, stageName), st, errNoStage)
		now := a.now().Unix()
		switch {
		case err == errNoStage && in.CanarySettings != nil:
			return badRequest("Invalid deployment content specified.Stage %s must already be created before making a canary release deployment", stageName)
		case err == errNoStage:
			st = newStage(stageName, dep.ID, now)
			st.Description = in.StageDescription
			st.CacheClusterEnabled = in.CacheClusterEnabled
			st.CacheClusterSize = in.CacheClusterSize
			st.TracingEnabled = in.TracingEnabled
		case err != nil:
			return err
		case in.CanarySettings != nil:
			// The new deployment is the stage's canary; the stage keeps
			// serving its own to the rest of the traffic.
			c := in.CanarySettings
			st.CanarySettings = &model.CanarySettings{DeploymentID: dep.ID, PercentTraffic: c.PercentTraffic,
				StageVariableOverrides: c.StageVariableOverrides, UseStageCache: c.UseStageCache}
			st.LastUpdatedDate = now
		case st.CanarySettings != nil:
			// A stage with a canary release is not moved to a deployment
			// without one: the new deployment becomes the canary, as the
			// console's "Deploy API" does on such a stage.
			st.CanarySettings.DeploymentID = dep.ID
			st.LastUpdatedDate = now
		default:
			st.DeploymentID = dep.ID
			st.LastUpdatedDate = now
		}
		if in.Variables != nil {
			st.Variables = in.Variables
		}
		return putJSON(ctx, tx, model.KindStage, model.ChildKey(apiID, stageName), st)
	})
	if err != nil {
		return 0, nil, err
	}
	// AWS omits the summary unless asked for (embed=apisummary).
	out := *dep
	out.ApiSummary = nil
	return http.StatusCreated, out, nil
}

func (a *API) loadDeployment(ctx context.Context, rd store.Reader, apiID, depID string) (*model.Deployment, error) {
	return loadChild[model.Deployment](ctx, a, rd, model.KindDeployment, apiID, depID, errNoDeployment)
}

func deploymentView(r *http.Request, dep *model.Deployment) *model.Deployment {
	for _, e := range r.URL.Query()["embed"] {
		if e == "apisummary" {
			return dep
		}
	}
	out := *dep
	out.ApiSummary = nil
	return &out
}

func (a *API) getDeployment(r *http.Request, _ []byte) (int, any, error) {
	dep, err := a.loadDeployment(r.Context(), a.Store, r.PathValue("api"), r.PathValue("dep"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, deploymentView(r, dep), nil
}

func (a *API) getDeployments(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return 0, nil, err
	}
	deps, err := listJSON[model.Deployment](ctx, a.Store, model.KindDeployment, model.ApiPrefix(apiID))
	if err != nil {
		return 0, nil, err
	}
	for i, d := range deps {
		deps[i] = deploymentView(r, d)
	}
	p, err := paginate(r, deps, func(d *model.Deployment) string { return d.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateDeployment(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateDeploymentInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID, depID := r.PathValue("api"), r.PathValue("dep")
	var dep *model.Deployment
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if dep, err = a.loadDeployment(ctx, tx, apiID, depID); err != nil {
			return err
		}
		for _, op := range ops {
			if len(op.Segs) != 1 || op.Segs[0] != "description" {
				return errPatchPath(op)
			}
			if err := patchString(op, &dep.Description); err != nil {
				return err
			}
		}
		return putJSON(ctx, tx, model.KindDeployment, model.ChildKey(apiID, depID), dep)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, deploymentView(r, dep), nil
}

func (a *API) deleteDeployment(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, depID := r.PathValue("api"), r.PathValue("dep")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadDeployment(ctx, tx, apiID, depID); err != nil {
			return err
		}
		stages, err := listJSON[model.Stage](ctx, tx, model.KindStage, model.ApiPrefix(apiID))
		if err != nil {
			return err
		}
		for _, st := range stages {
			if st.DeploymentID == depID || st.CanarySettings != nil && st.CanarySettings.DeploymentID == depID {
				return badRequest("Active stages pointing to this deployment must be moved or deleted")
			}
		}
		if err := tx.Delete(ctx, model.KindDeployment, model.ChildKey(apiID, depID)); err != nil {
			return err
		}
		return tx.Delete(ctx, model.KindSnapshot, model.ChildKey(apiID, depID))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

var (
	stageNameRE     = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
	variableNameRE  = regexp.MustCompile(`^[a-zA-Z0-9_]{1,64}$`)
	variableValueRE = regexp.MustCompile(`^[A-Za-z0-9\-._~:/?#&=,]{1,512}$`)
)

func validateStageName(name string) error {
	if !stageNameRE.MatchString(name) {
		return badRequest("Stage name only allows a-zA-Z0-9_-")
	}
	return nil
}

func validateVariables(vars map[string]string) error {
	names := sortedKeys(vars)
	sort.Strings(names)
	for _, k := range names {
		if !variableNameRE.MatchString(k) {
			return badRequest("Stage variable name %s does not match the regular expression [a-zA-Z0-9_]+", k)
		}
		if !variableValueRE.MatchString(vars[k]) {
			return badRequest("Stage variable value %s does not match the regular expression [A-Za-z0-9-._~:/?#&=,]+", vars[k])
		}
	}
	return nil
}

// checkPercentTraffic refuses a canary share outside 0.0-100.0.
func checkPercentTraffic(p float64) error {
	if p < 0 || p > 100 || p != p {
		return badRequest("Invalid percentTraffic specified: %v. Must be between 0.0 and 100.0", p)
	}
	return nil
}
