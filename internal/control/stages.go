package control

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

func newStage(name, deploymentID string, now int64) *model.Stage {
	return &model.Stage{
		StageName:          name,
		DeploymentID:       deploymentID,
		CacheClusterStatus: "NOT_AVAILABLE",
		MethodSettings:     map[string]*model.MethodSetting{},
		CreatedDate:        now,
		LastUpdatedDate:    now,
	}
}

func (a *API) createStage(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		StageName            string                `json:"stageName"`
		DeploymentID         string                `json:"deploymentId"`
		Description          string                `json:"description"`
		CacheClusterEnabled  bool                  `json:"cacheClusterEnabled"`
		CacheClusterSize     string                `json:"cacheClusterSize"`
		Variables            map[string]string     `json:"variables"`
		DocumentationVersion string                `json:"documentationVersion"`
		CanarySettings       *model.CanarySettings `json:"canarySettings"`
		TracingEnabled       bool                  `json:"tracingEnabled"`
		Tags                 map[string]string     `json:"tags"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if err := validateStageName(in.StageName); err != nil {
		return 0, nil, err
	}
	if err := validateVariables(in.Variables); err != nil {
		return 0, nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	if err := checkCacheClusterSize(in.CacheClusterSize); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	st := newStage(in.StageName, in.DeploymentID, a.now().Unix())
	st.Description = in.Description
	st.CacheClusterEnabled = in.CacheClusterEnabled
	st.CacheClusterSize = in.CacheClusterSize
	st.Variables = in.Variables
	st.DocumentationVersion = in.DocumentationVersion
	if c := in.CanarySettings; c != nil {
		if err := checkPercentTraffic(c.PercentTraffic); err != nil {
			return 0, nil, err
		}
		if err := validateVariables(c.StageVariableOverrides); err != nil {
			return 0, nil, err
		}
		if c.DeploymentID == "" {
			c.DeploymentID = in.DeploymentID
		}
	}
	st.CanarySettings = in.CanarySettings
	st.TracingEnabled = in.TracingEnabled
	st.Tags = in.Tags
	settle := cacheTransition(nil, st)
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadDeployment(ctx, tx, apiID, in.DeploymentID); err != nil {
			return err
		}
		if err := checkCanaryDeployment(ctx, tx, apiID, st); err != nil {
			return err
		}
		b, _ := json.Marshal(st)
		err := tx.Create(ctx, model.KindStage, model.ChildKey(apiID, st.StageName), b)
		if err == store.ErrExists {
			return conflict("Stage already exists")
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	if settle {
		a.settleCacheLater(ctx, apiID, st.StageName)
	}
	return http.StatusCreated, st, nil
}

func (a *API) loadStage(ctx context.Context, rd store.Reader, apiID, name string) (*model.Stage, error) {
	return loadChild[model.Stage](ctx, a, rd, model.KindStage, apiID, name, errNoStage)
}

func (a *API) getStage(r *http.Request, _ []byte) (int, any, error) {
	st, err := a.loadStage(r.Context(), a.Store, r.PathValue("api"), r.PathValue("stage"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

func (a *API) getStages(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return 0, nil, err
	}
	stages, err := listJSON[model.Stage](ctx, a.Store, model.KindStage, model.ApiPrefix(apiID))
	if err != nil {
		return 0, nil, err
	}
	if dep := r.URL.Query().Get("deploymentId"); dep != "" {
		kept := stages[:0]
		for _, st := range stages {
			if st.DeploymentID == dep {
				kept = append(kept, st)
			}
		}
		stages = kept
	}
	// GetStages is not paginated on AWS: every stage in one answer.
	return http.StatusOK, map[string]any{"item": stages}, nil
}

func (a *API) updateStage(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateStageInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID, name := r.PathValue("api"), r.PathValue("stage")
	var st *model.Stage
	settle := false
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if st, err = a.loadStage(ctx, tx, apiID, name); err != nil {
			return err
		}
		prevCert := st.ClientCertificateID
		was := *st
		if err := applyOps(ops, st, patchStage); err != nil {
			return err
		}
		if err := checkCacheClusterSize(st.CacheClusterSize); err != nil {
			return err
		}
		settle = cacheTransition(&was, st)
		if err := validateVariables(st.Variables); err != nil {
			return err
		}
		if _, err := a.loadDeployment(ctx, tx, apiID, st.DeploymentID); err != nil {
			return err
		}
		if err := checkCanaryDeployment(ctx, tx, apiID, st); err != nil {
			return err
		}
		if st.ClientCertificateID != prevCert {
			if err := a.checkClientCertificate(ctx, tx, st.ClientCertificateID); err != nil {
				return err
			}
		}
		st.LastUpdatedDate = a.now().Unix()
		return putJSON(ctx, tx, model.KindStage, model.ChildKey(apiID, name), st)
	})
	if err != nil {
		return 0, nil, err
	}
	if settle {
		a.settleCacheLater(ctx, apiID, name)
	}
	return http.StatusOK, st, nil
}

func patchStage(st *model.Stage, op PatchOp) error {
	s := op.Segs
	if op.Op == "copy" {
		return promoteCanary(st, op)
	}
	if len(s) > 0 && s[0] == "canarySettings" {
		return patchCanary(st, op)
	}
	switch len(s) {
	case 1:
		switch s[0] {
		case "description":
			return patchString(op, &st.Description)
		case "deploymentId":
			if op.Op != "replace" {
				return errPatchPath(op)
			}
			return patchString(op, &st.DeploymentID)
		case "cacheClusterEnabled":
			return patchBool(op, &st.CacheClusterEnabled)
		case "cacheClusterSize":
			return patchString(op, &st.CacheClusterSize)
		case "tracingEnabled":
			return patchBool(op, &st.TracingEnabled)
		case "clientCertificateId":
			return patchString(op, &st.ClientCertificateID)
		case "documentationVersion":
			return patchString(op, &st.DocumentationVersion)
		case "webAclArn":
			return patchString(op, &st.WebACLArn)
		case "accessLogSettings":
			if op.Op == "remove" {
				st.AccessLogSettings = nil
				return nil
			}
		}
	case 2:
		switch s[0] {
		case "variables":
			return patchMap(op, &st.Variables, s[1])
		case "accessLogSettings":
			if st.AccessLogSettings == nil {
				st.AccessLogSettings = &model.AccessLogSettings{}
			}
			switch s[1] {
			case "format":
				return patchString(op, &st.AccessLogSettings.Format)
			case "destinationArn":
				return patchString(op, &st.AccessLogSettings.DestinationArn)
			}
		}
		// "/{resourcePath}/{METHOD}" with op remove drops a method setting.
		if op.Op == "remove" {
			key, ok := methodSettingKey(s[0], s[1])
			if !ok {
				return errStagePath(op)
			}
			delete(st.MethodSettings, key)
			return nil
		}
	case 4:
		key, ok := methodSettingKey(s[0], s[1])
		if !ok {
			return errStagePath(op)
		}
		if st.MethodSettings == nil {
			st.MethodSettings = map[string]*model.MethodSetting{}
		}
		ms := st.MethodSettings[key]
		if ms == nil {
			ms = DefaultMethodSetting()
		}
		if err := patchMethodSetting(ms, op, s[2]+"/"+s[3]); err != nil {
			return err
		}
		st.MethodSettings[key] = ms
		return nil
	}
	return errStagePath(op)
}

// stagePaths is the list AWS gives when a stage patch path is unknown, with
// AWS's own joins (some entries run together or are joined by a space).
const stagePaths = "[/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, " +
	"/accessLogSettings, /accessLogSettings/destinationArn, /accessLogSettings/format, " +
	"/{resourcePath}/{httpMethod}/metrics/enabled, /{resourcePath}/{httpMethod}/logging/dataTrace, " +
	"/{resourcePath}/{httpMethod}/logging/loglevel, " +
	"/{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit/{resourcePath}/{httpMethod}/caching/ttlInSeconds, " +
	"/{resourcePath}/{httpMethod}/caching/enabled, /{resourcePath}/{httpMethod}/caching/dataEncrypted, " +
	"/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, " +
	"/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, " +
	"/*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel, " +
	"/*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, " +
	"/*/*/caching/enabled, /*/*/caching/dataEncrypted, /*/*/caching/requireAuthorizationForCacheControl, " +
	"/*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name}, /tracingEnabled]"

// errStagePath is AWS's answer to a stage patch path it does not know.
func errStagePath(op PatchOp) *Error {
	return badRequest("Invalid method setting path: %s. Must be one of: %s", op.Path, stagePaths)
}

// methodSettingKey builds the methodSettings key from a patch path's
// resource path and method: "*/*", or the resource path still escaped as in
// the patch path ("~1pets/GET"), as AWS keys it.
func methodSettingKey(resourcePath, method string) (string, bool) {
	if resourcePath == "*" && method == "*" {
		return "*/*", true
	}
	if !strings.HasPrefix(resourcePath, "/") || (!httpMethods[method] && method != "*") {
		return "", false
	}
	return EscapePatchSeg(resourcePath) + "/" + method, true
}

// ThrottlingDisabled, as a method setting's burst or rate limit, turns the
// stage's throttle off for the method (the account throttle still applies).
// AWS reports a method without throttling so, and accepts it in UpdateStage:
// Terraform's aws_api_gateway_method_settings sends it by default. Other
// negative limits are refused.
const ThrottlingDisabled = -1

// DefaultMethodSetting is what a methodSettings entry holds before any of
// its fields is set: the account's throttle and AWS's cache defaults.
func DefaultMethodSetting() *model.MethodSetting {
	return &model.MethodSetting{
		ThrottlingBurstLimit:                   5000,
		ThrottlingRateLimit:                    10000,
		CacheTtlInSeconds:                      300,
		RequireAuthorizationForCacheControl:    true,
		UnauthorizedCacheControlHeaderStrategy: "SUCCEED_WITH_RESPONSE_HEADER",
	}
}

func patchMethodSetting(ms *model.MethodSetting, op PatchOp, setting string) error {
	if op.Op != "replace" {
		return errPatchPath(op)
	}
	switch setting {
	case "metrics/enabled":
		return patchBool(op, &ms.MetricsEnabled)
	case "logging/loglevel":
		switch op.value() {
		case "OFF", "ERROR", "INFO":
		default:
			return badRequest("Invalid logging level specified: %s. Valid values are OFF, ERROR and INFO", op.value())
		}
		return patchString(op, &ms.LoggingLevel)
	case "logging/dataTrace":
		return patchBool(op, &ms.DataTraceEnabled)
	case "throttling/burstLimit":
		var n int64
		if err := patchInt(op, &n); err != nil {
			return err
		}
		if n != ThrottlingDisabled {
			if err := checkThrottle(n, 0); err != nil {
				return err
			}
		}
		ms.ThrottlingBurstLimit = n
		return nil
	case "throttling/rateLimit":
		var f float64
		if err := patchFloat(op, &f); err != nil {
			return err
		}
		if f != ThrottlingDisabled {
			if err := checkThrottle(0, f); err != nil {
				return err
			}
		}
		ms.ThrottlingRateLimit = f
		return nil
	case "caching/enabled":
		return patchBool(op, &ms.CachingEnabled)
	case "caching/ttlInSeconds":
		var n int64
		if err := patchInt(op, &n); err != nil {
			return err
		}
		if err := checkCacheSetting(setting, op.value(), n); err != nil {
			return err
		}
		ms.CacheTtlInSeconds = n
		return nil
	case "caching/dataEncrypted":
		return patchBool(op, &ms.CacheDataEncrypted)
	case "caching/requireAuthorizationForCacheControl":
		return patchBool(op, &ms.RequireAuthorizationForCacheControl)
	case "caching/unauthorizedCacheControlHeaderStrategy":
		if err := checkCacheSetting(setting, op.value(), 0); err != nil {
			return err
		}
		return patchString(op, &ms.UnauthorizedCacheControlHeaderStrategy)
	}
	return errStagePath(op)
}

func (a *API) deleteStage(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, name := r.PathValue("api"), r.PathValue("stage")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		err := tx.Delete(ctx, model.KindStage, model.ChildKey(apiID, name))
		if err == store.ErrNotFound {
			return errNoStage
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, model.KindAuthorizerFlush, model.ChildKey(apiID, name)); err != nil && err != store.ErrNotFound {
			return err
		}
		// Entries the stage left in Redis are never served to a new stage
		// of the same name: its cache starts a generation later.
		return bumpCacheGeneration(ctx, tx, model.ChildKey(apiID, name), a.now().Unix())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// patchCanary applies an operation on /canarySettings: replace of
// deploymentId, percentTraffic or useStageCache (which creates the canary,
// on the stage's own deployment, if the stage has none), of
// stageVariableOverrides/{name}, and remove of the whole canary or of one
// override. The texts are AWS's.
func patchCanary(st *model.Stage, op PatchOp) error {
	s := op.Segs
	if len(s) == 1 {
		if op.Op == "remove" {
			st.CanarySettings = nil
			return nil
		}
		return errStagePath(op)
	}
	if op.Op == "remove" && !(len(s) == 3 && s[1] == "stageVariableOverrides") {
		// AWS reads a two-segment remove as a method setting's.
		return badRequest("Cannot remove method setting %s because there is no method setting for this method ", strings.TrimPrefix(op.Path, "/"))
	}
	if op.Op == "add" && len(s) == 2 {
		return badRequest("Invalid add operation with path: %s", op.Path)
	}
	c := st.CanarySettings
	if c == nil {
		c = &model.CanarySettings{DeploymentID: st.DeploymentID}
	}
	switch {
	case len(s) == 2 && s[1] == "deploymentId":
		if err := patchString(op, &c.DeploymentID); err != nil {
			return err
		}
	case len(s) == 2 && s[1] == "percentTraffic":
		if op.Value == nil {
			return errPatchPath(op)
		}
		p, err := strconv.ParseFloat(*op.Value, 64)
		if err != nil {
			return badRequest("Invalid percentTraffic specified: %s. Must be between 0.0 and 100.0", *op.Value)
		}
		if err := checkPercentTraffic(p); err != nil {
			return err
		}
		c.PercentTraffic = p
	case len(s) == 2 && s[1] == "useStageCache":
		if err := patchBool(op, &c.UseStageCache); err != nil {
			return err
		}
	case len(s) == 3 && s[1] == "stageVariableOverrides":
		if err := patchMap(op, &c.StageVariableOverrides, s[2]); err != nil {
			return err
		}
		if err := validateVariables(c.StageVariableOverrides); err != nil {
			return err
		}
	default:
		return errStagePath(op)
	}
	st.CanarySettings = c
	return nil
}

// promoteCanary applies the two copies that promote a canary: its
// deployment to the stage's deploymentId, its stage variables over the
// stage's.
func promoteCanary(st *model.Stage, op PatchOp) error {
	switch {
	case op.Path == "/deploymentId" && op.From == "/canarySettings/deploymentId",
		op.Path == "/variables" && op.From == "/canarySettings/stageVariableOverrides":
	default:
		return badRequest("Invalid copy operation with path: %s and from %s. Valid copy:path are [/deploymentId, /variables] and valid copy:from are [/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]", op.Path, op.From)
	}
	c := st.CanarySettings
	if c == nil {
		return badRequest("Promotion not available. Canary does not exist.")
	}
	if op.Path == "/deploymentId" {
		st.DeploymentID = c.DeploymentID
		return nil
	}
	if len(c.StageVariableOverrides) > 0 && st.Variables == nil {
		st.Variables = map[string]string{}
	}
	for k, v := range c.StageVariableOverrides {
		st.Variables[k] = v
	}
	return nil
}

// checkCanaryDeployment refuses a canary whose deployment does not exist.
func checkCanaryDeployment(ctx context.Context, rd store.Reader, apiID string, st *model.Stage) error {
	c := st.CanarySettings
	if c == nil {
		return nil
	}
	_, err := rd.Get(ctx, model.KindDeployment, model.ChildKey(apiID, c.DeploymentID))
	if errors.Is(err, store.ErrNotFound) {
		return badRequest("Deployment id does not exist")
	}
	return err
}

// flushStageAuthorizersCache forgets the stage's cached Lambda authorizer
// results on every node: it records the time of the flush, which the data
// plane puts in the keys of the results it caches from then on.
func (a *API) flushStageAuthorizersCache(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, name := r.PathValue("api"), r.PathValue("stage")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadStage(ctx, tx, apiID, name); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindAuthorizerFlush, model.ChildKey(apiID, name), model.AuthorizerFlush{At: a.now().UnixNano()})
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
