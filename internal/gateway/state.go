package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/cache"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/metrics"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/route"
	"github.com/apigw/apigw/internal/schema"
	"github.com/apigw/apigw/internal/store"
)

// state is what the data plane serves from: every deployed stage, compiled.
// It is immutable; a change builds a new state and swaps it in, so requests
// in flight finish on the state they started with.
type state struct {
	rev  int64
	apis map[string]map[string]*Stage // apiID → stage name → stage
	keys *keyring
	// domains are the custom domain names; nil when there are none.
	domains domainTable
	// privateDomains are the PRIVATE custom domain names, reached through
	// VPC endpoints only; nil when there are none.
	privateDomains domainTable
	// account is the account throttle UpdateAccount stored; nil means the
	// Gateway's AccountRate and AccountBurst.
	account *model.ThrottleSettings
	// vpcLinks are the VPC links and where they lead.
	vpcLinks vpcLinkTable
	// authFlush is when each stage's authorizer cache was last flushed
	// ("apiID/stage" → Unix nanoseconds); nil when none was.
	authFlush map[string]int64
}

// Stage is one stage of one API, ready to serve.
type Stage struct {
	APIID string
	Name  string
	Vars  map[string]string
	Stage *model.Stage
	*Deployment
	throttles map[*Route]*stageThrottle
	private   bool // endpoint type PRIVATE
	// executeAPIDisabled is the API's disableExecuteApiEndpoint as it is
	// now (not at deployment): only its custom domains reach it.
	executeAPIDisabled bool
	logFormat          logFormat
	// transports call the stage's https:// backends (its client
	// certificate); nil means the integrations' own.
	transports *integration.Transports
	// metrics counts the stage's requests; methodMetrics, indexed by
	// Route.index, those of the methods with detailed metrics (nil when
	// none has them), which metrics then does not count.
	metrics       *metrics.API
	methodMetrics []*metrics.API
	// canary is the stage's canary release, served to canaryPercent of its
	// requests: the canary deployment with the stage variables overridden.
	// Nil when the stage has none.
	canary        *Stage
	canaryPercent float64
	isCanary      bool // this is a canary release
	// cache is the stage cache (stagecache.go), nil when the stage has
	// none (or this canary does not use it); cachePolicies, by
	// Route.index, say how each method caches (nil: none does).
	cache         *cache.Cache
	cachePolicies []*cachePolicy
}

// Deployment is a compiled snapshot, shared by the stages that use it.
type Deployment struct {
	ID     string
	Api    *model.RestApi
	Tree   *route.Tree[*Route]
	Routes []*Route
	// resourcePolicy is the API's policy at deployment; policyErr is set
	// when it does not parse (every call then fails as misconfigured).
	resourcePolicy *policy.Document
	policyErr      error
	authorizers    map[string]*compiledAuthorizer
	// responses are the API's gateway responses; nil when it customised none.
	responses *responseTable
}

// Route is one method of one resource.
type Route struct {
	ResourceID   string
	ResourcePath string
	// MethodPath is "{resourcePath}/{METHOD}", how usage plans name a method.
	MethodPath  string
	Method      *model.Method
	Integration *integration.Integration
	// auth is the method's authorizer, by its authorization type.
	auth Authorizer
	// check is the method's request validator; nil checks nothing.
	check *requestCheck
	// CompileErr is set when the integration could not be compiled; calling
	// the method then answers with a configuration error, as AWS does.
	CompileErr error
	// index is the route's place in Deployment.Routes.
	index int
	// callsOut is false for a MOCK, whose endpoint calls nothing (its
	// integration latency is 0 without reading the clock).
	callsOut bool
}

// compile builds the routing tree of a snapshot.
func (g *Gateway) compile(snap *model.Snapshot) *Deployment {
	opts := g.Integration
	opts.Lambda, opts.Region, opts.AccountID = g.Lambda, g.Region, g.AccountID
	opts.BinaryMediaTypes = snap.Api.BinaryMediaTypes
	var b route.Builder[*Route]
	var routes []*Route
	validators := make(map[string]*model.RequestValidator, len(snap.RequestValidators))
	for _, v := range snap.RequestValidators {
		validators[v.ID] = v
	}
	var models *schema.Set // compiled once per deployment, if a method needs it
	modelSet := func() *schema.Set {
		if models == nil {
			models = schema.NewSet(snap.Api.ID, snap.Models)
		}
		return models
	}
	for _, res := range snap.Resources {
		for name, m := range res.ResourceMethods {
			rt := &Route{ResourceID: res.ID, ResourcePath: res.Path, MethodPath: res.Path + "/" + name, Method: m, index: len(routes),
				check: compileCheck(m, validators, modelSet)}
			routes = append(routes, rt)
			if m.MethodIntegration == nil {
				rt.CompileErr = errors.New("no integration defined for method")
			} else if ig, err := integration.Compile(m.MethodIntegration, opts); err != nil {
				rt.CompileErr = err
			} else {
				rt.Integration = ig
				rt.callsOut = ig.Type != "MOCK"
			}
			if err := b.Add(res.Path, name, rt); err != nil {
				g.log().Warn("route not added", "api", snap.Api.ID, "deployment", snap.DeploymentID, "path", res.Path, "method", name, "err", err)
			}
		}
	}
	api := snap.Api
	d := &Deployment{ID: snap.DeploymentID, Api: &api, Tree: b.Compile(), Routes: routes, authorizers: map[string]*compiledAuthorizer{}}
	for _, au := range snap.Authorizers {
		ca, err := compileAuthorizer(au)
		if err != nil {
			g.log().Warn("authorizer not compiled", "api", api.ID, "authorizer", au.ID, "err", err)
			continue
		}
		d.authorizers[au.ID] = ca
	}
	for _, rt := range routes {
		rt.auth = authorizerFor(rt.Method, d.authorizers)
	}
	d.responses = g.compileResponses(snap)
	if api.Policy != "" {
		doc := model.ExpandPolicy(api.Policy, g.Region, g.AccountID, api.ID)
		d.resourcePolicy, d.policyErr = policy.ParseWith([]byte(doc), policy.ParseOptions{RequirePrincipal: true})
	} else if api.Private() {
		// A private API without a resource policy admits nobody, as on AWS.
		d.resourcePolicy = denyAll
	}
	return d
}

// Sync brings the served state up to date with the store. It is safe to
// call from several goroutines; Run calls it on every change.
func (g *Gateway) Sync(ctx context.Context) error {
	err := g.sync(ctx)
	if err != nil && ctx.Err() == nil {
		g.storeErrors.Add(1)
	}
	return err
}

func (g *Gateway) sync(ctx context.Context) error {
	g.syncMu.Lock()
	defer g.syncMu.Unlock()
	cur := g.state.Load()
	changes, rev, err := g.Store.Changes(ctx, cur.rev)
	if err != nil {
		return err
	}
	if rev == cur.rev && cur.apis != nil {
		g.synced.Store(time.Now().UnixNano())
		return nil
	}
	var apiIDs map[string]bool // nil: reload everything
	var keyChanges []store.Change
	domainsChanged := cur.apis == nil
	accountChanged := cur.apis == nil
	linksChanged := cur.apis == nil
	flushChanged := cur.apis == nil
	if cur.apis != nil {
		apiIDs = map[string]bool{}
		for _, c := range changes {
			switch c.Kind {
			case model.KindStage, model.KindSnapshot, model.KindRestApi, model.KindStageCacheFlush:
				id, _, _ := strings.Cut(c.Key, "/")
				apiIDs[id] = true
			case model.KindApiKey, model.KindUsagePlan, model.KindUsagePlanKey:
				keyChanges = append(keyChanges, c)
			case model.KindClientCertificate:
				g.certChanged(cur, c.Key, apiIDs)
			case model.KindDomainName, model.KindBasePathMapping, model.KindCertificate, model.KindTruststore, model.KindDomainAccess:
				domainsChanged = true
			case model.KindAccount:
				accountChanged = true
			case model.KindVpcLink:
				linksChanged = true
			case model.KindAuthorizerFlush:
				flushChanged = true
			}
		}
	}
	next := &state{rev: rev, keys: cur.keys, domains: cur.domains, privateDomains: cur.privateDomains, account: cur.account, vpcLinks: cur.vpcLinks}
	if linksChanged {
		t, err := g.loadVpcLinks(ctx)
		if err != nil {
			return err
		}
		next.vpcLinks = t
	}
	next.authFlush = cur.authFlush
	if flushChanged {
		t, err := g.loadAuthorizerFlushes(ctx)
		if err != nil {
			return err
		}
		next.authFlush = t
		for scope, at := range t {
			if cur.authFlush[scope] != at {
				g.authCache.forget(scope + "/")
			}
		}
	}
	if accountChanged {
		t, err := g.loadAccountThrottle(ctx)
		if err != nil {
			return err
		}
		next.account = t
	}
	if domainsChanged {
		t, private, domains, err := g.loadDomains(ctx)
		if err != nil {
			return err
		}
		next.domains, next.privateDomains = t, private
		if len(t) == 0 {
			next.domains = nil
		}
		if len(private) == 0 {
			next.privateDomains = nil
		}
		if g.DomainsChanged != nil {
			g.DomainsChanged(ctx, domains)
		}
	}
	switch {
	case cur.keys == nil || cur.apis == nil:
		kr, err := g.loadKeyring(ctx)
		if err != nil {
			return err
		}
		next.keys = kr
	case len(keyChanges) > 0:
		kr, err := g.updateKeyring(ctx, cur.keys, keyChanges)
		if err != nil {
			return err
		}
		next.keys = kr
	}
	if apiIDs != nil && len(apiIDs) == 0 {
		// Nothing the stages depend on changed (quota counters, keys).
		next.apis = cur.apis
		g.state.Store(next)
		g.synced.Store(time.Now().UnixNano())
		return nil
	}
	next.apis = make(map[string]map[string]*Stage, len(cur.apis))
	for id, stages := range cur.apis {
		if apiIDs != nil && !apiIDs[id] {
			next.apis[id] = stages
		}
	}
	var prefix []string
	if apiIDs == nil {
		prefix = []string{""}
	} else {
		for id := range apiIDs {
			prefix = append(prefix, model.ApiPrefix(id))
		}
	}
	disabled := map[string]bool{} // disableExecuteApiEndpoint by API, read once
	for _, p := range prefix {
		items, err := g.Store.List(ctx, model.KindStage, p)
		if err != nil {
			return err
		}
		for _, it := range items {
			st := new(model.Stage)
			if err := json.Unmarshal(it.Value, st); err != nil {
				return fmt.Errorf("gateway: decode stage %s: %w", it.Key, err)
			}
			apiID, _, _ := strings.Cut(it.Key, "/")
			dep, err := g.deployment(ctx, apiID, st.DeploymentID)
			if err != nil {
				g.storeErrors.Add(1)
				g.log().Error("stage not served", "api", apiID, "stage", st.StageName, "err", err)
				continue
			}
			if next.apis[apiID] == nil {
				next.apis[apiID] = map[string]*Stage{}
			}
			prev := cur.apis[apiID][st.StageName]
			ns := newStage(apiID, st, dep, prev)
			ns.transports = g.stageTransports(ctx, st.ClientCertificateID)
			if c := st.CanarySettings; c != nil {
				cdep, err := g.deployment(ctx, apiID, c.DeploymentID)
				if err != nil {
					// The stage serves its own deployment to everyone.
					g.storeErrors.Add(1)
					g.log().Error("canary not served", "api", apiID, "stage", st.StageName, "err", err)
				} else {
					var prevCanary *Stage
					if prev != nil {
						prevCanary = prev.canary
					}
					ns.canary = newCanary(apiID, st, cdep, prevCanary)
					ns.canary.transports = ns.transports
					ns.canaryPercent = c.PercentTraffic
				}
			}
			dis, ok := disabled[apiID]
			if !ok {
				dis = g.executeAPIDisabled(ctx, apiID, dep)
				disabled[apiID] = dis
			}
			ns.executeAPIDisabled = dis
			g.attachCache(ctx, apiID, st, ns)
			next.apis[apiID][st.StageName] = ns
		}
	}
	// Forget compiled deployments no stage uses any more. Only the APIs
	// read again can have dropped one, so a change costs the same with 1
	// stage or 1,000.
	used := map[string]bool{}
	for apiID, stages := range next.apis {
		if apiIDs != nil && !apiIDs[apiID] {
			continue
		}
		for _, st := range stages {
			used[model.ChildKey(apiID, st.ID)] = true
			if st.canary != nil {
				used[model.ChildKey(apiID, st.canary.ID)] = true
			}
		}
	}
	for k := range g.compiled {
		apiID, _, _ := strings.Cut(k, "/")
		if (apiIDs == nil || apiIDs[apiID]) && !used[k] {
			delete(g.compiled, k)
		}
	}
	g.forgetCertTransports(next)
	g.forgetStageCaches(next)
	g.state.Store(next)
	g.closeRetiredCaches()
	g.synced.Store(time.Now().UnixNano())
	return nil
}

// executeAPIDisabled reads the API's disableExecuteApiEndpoint from its
// record, so that UpdateRestApi takes effect without a deployment; the
// deployment's copy stands in when the record cannot be read.
func (g *Gateway) executeAPIDisabled(ctx context.Context, apiID string, dep *Deployment) bool {
	b, err := g.Store.Get(ctx, model.KindRestApi, apiID)
	api := new(model.RestApi)
	if err == nil {
		err = json.Unmarshal(b, api)
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			g.log().Warn("REST API not read: disableExecuteApiEndpoint as deployed", "api", apiID, "err", err)
		}
		return dep.Api != nil && dep.Api.DisableExecuteApiEndpoint
	}
	return api.DisableExecuteApiEndpoint
}

// newStage compiles a stage of apiID served from dep. Its counters are
// those of old, the stage it replaces (nil for a new one), so that a change
// to the stage or a new deployment does not reset its metrics.
func newStage(apiID string, st *model.Stage, dep *Deployment, old *Stage) *Stage {
	s := &Stage{APIID: apiID, Name: st.StageName, Vars: st.Variables, Stage: st, Deployment: dep,
		throttles: stageThrottles(apiID, st, dep), private: dep.Api.Private()}
	if als := st.AccessLogSettings; als != nil && als.Format != "" {
		s.logFormat = compileLogFormat(als.Format)
	}
	s.metrics, s.methodMetrics = stageMetrics(st, dep, old)
	return s
}

// newCanary compiles the canary release of stage st: its deployment, the
// stage's variables with the canary's overrides, and counters of its own
// (reported as stage "{name}/Canary", as AWS names the canary's logs).
func newCanary(apiID string, st *model.Stage, dep *Deployment, old *Stage) *Stage {
	vars := st.Variables
	if o := st.CanarySettings.StageVariableOverrides; len(o) > 0 {
		vars = make(map[string]string, len(st.Variables)+len(o))
		maps.Copy(vars, st.Variables)
		maps.Copy(vars, o)
	}
	c := newStage(apiID, st, dep, old)
	c.Vars, c.isCanary = vars, true
	return c
}

// pick returns the release that serves one request: the canary for its
// share of the traffic, chosen at random per request, else the stage.
func (st *Stage) pick() *Stage {
	if c := st.canary; c != nil && st.canaryPercent > 0 && (st.canaryPercent >= 100 || rand.Float64()*100 < st.canaryPercent) {
		return c
	}
	return st
}

// deployment returns the compiled snapshot, compiling it on first use.
// Snapshots never change, so a compiled one is reused by every stage.
func (g *Gateway) deployment(ctx context.Context, apiID, depID string) (*Deployment, error) {
	key := model.ChildKey(apiID, depID)
	if d := g.compiled[key]; d != nil {
		return d, nil
	}
	b, err := g.Store.Get(ctx, model.KindSnapshot, key)
	if err != nil {
		return nil, fmt.Errorf("gateway: snapshot %s: %w", key, err)
	}
	snap := new(model.Snapshot)
	if err := json.Unmarshal(b, snap); err != nil {
		return nil, fmt.Errorf("gateway: decode snapshot %s: %w", key, err)
	}
	d := g.compile(snap)
	if g.compiled == nil {
		g.compiled = map[string]*Deployment{}
	}
	g.compiled[key] = d
	return d, nil
}

// Run keeps the state in sync until ctx ends: at once on a commit made in
// this process, and every PollInterval for commits made by other nodes.
func (g *Gateway) Run(ctx context.Context) error {
	every := g.PollInterval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		changed := g.Store.Changed()
		if err := g.Sync(ctx); err != nil && ctx.Err() == nil {
			g.log().Error("data plane sync failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}

// denyAll is the empty policy: it allows nothing, so every call is denied
// implicitly.
var denyAll = &policy.Document{}
