package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/metrics"
	"github.com/apigw/apigw/internal/route"
)

// pipeline is what the data plane does to a request, in AWS's order. This
// list is the one place that says it; TestInvokeMethod runs its tail. Each
// step reads and fills the request value, and passes (nil) or stops the
// request with a gateway response (*fault.Error), which the error renderer
// writes with the deployment's gateway responses.
//
// The last three are the phases of the method's integration, each run by
// the endpoint of its type (internal/integration); the method response is
// the answer they fill, written once by the server adapter (ServeHTTP).
var pipeline = []step{
	resolveStep,             // host, /_aws/execute-api prefix or custom domain → API → stage
	routeStep,               // literal > {param} > {proxy+}; method > ANY
	authorizeStep,           // resource policy, then the method's authorizer
	meterStep,               // API key; plan method, plan, stage and account throttles; plan quota
	validateStep,            // payload size; request validators
	cacheStep,               // the stage cache: a hit ends here (stagecache.go)
	integrationRequestStep,  // parameter mappings, request template, the Lambda event
	endpointStep,            // the call: HTTP backend, Lambda function (MOCK has none)
	integrationResponseStep, // selection, response mappings, templates; proxies pass through
}

// testInvokeSteps are the steps TestInvokeMethod runs: AWS's test
// invocation skips resolution, authorization and metering.
var testInvokeSteps = []step{validateStep, integrationRequestStep, endpointStep, integrationResponseStep}

var (
	resolveStep             = step{"resolve", (*Gateway).resolveStage}
	routeStep               = step{"route", (*Gateway).routeMethod}
	authorizeStep           = step{"authorize", (*Gateway).authorize}
	meterStep               = step{"meter", (*Gateway).meterStep}
	validateStep            = step{"validate", (*Gateway).validate}
	integrationRequestStep  = step{"integration request", (*Gateway).integrationRequest}
	endpointStep            = step{"endpoint", (*Gateway).endpoint}
	integrationResponseStep = step{"integration response", (*Gateway).integrationResponse}
)

// step is one stage of the pipeline.
type step struct {
	name string
	run  func(g *Gateway, rq *request) error
}

// StepError is a gateway response with the step that produced it. Errors
// of the pipeline unwrap to their *fault.Error.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// run runs steps in order until one fails.
func (g *Gateway) run(rq *request, steps []step) error {
	for i := range steps {
		if err := steps[i].run(g, rq); err != nil {
			if err == errAnswered {
				return nil
			}
			return &StepError{Step: steps[i].name, Err: err}
		}
	}
	return nil
}

// request is the per-request value the steps share. integration.Call is
// what an endpoint sees of it: the client's request as data, the request
// ids, the route's names, parameters, the caller and the key. The rest is
// the gateway's own. It holds no *http.Request and no http.ResponseWriter:
// a server adapter (ServeHTTP) fills it and writes its answer, so the HTTP
// server underneath can change without touching a step.
type request struct {
	requestFields
	// params is apart so that freeRequest keeps its storage.
	params route.Params
}

// requestFields are the request value's fields that freeRequest zeroes.
type requestFields struct {
	integration.Call
	ctx context.Context
	// rawPath is the client's path as sent (escaped), dot segments removed.
	rawPath    string
	remoteAddr string
	ids        [3]string

	state  *state
	stage  *Stage
	route  *Route
	caller *Caller // the SigV4 signer (AWS_IAM), or nil
	authz  *AuthorizerResult
	// exchange is the integration's call: what it sends, what it got.
	exchange integration.Exchange
	// out is the answer: the integration response fills it, ServeHTTP
	// writes it.
	out integration.Response
	// For the metrics: when the request arrived (metrics.Nanotime), the
	// status written (0 until the answer is whole), and the integration's
	// latency, when it was called.
	start       int64
	status      int
	integration time.Duration
	integrated  bool
	// The stage cache: the key finish stores the answer under ("" for
	// none) and its TTL; cacheWarn when the client's Cache-Control was
	// ignored with a Warning (stagecache.go).
	cacheKey  string
	cacheTTL  time.Duration
	cacheWarn bool
}

func (g *Gateway) newRequest() *request {
	rq, _ := g.requests.Get().(*request)
	if rq == nil {
		rq = new(request)
	}
	return rq
}

// freeRequest returns rq to the pool. Nothing may hold rq (or its Call)
// afterwards; the values it holds (strings, maps) may be kept.
func (g *Gateway) freeRequest(rq *request) {
	rq.params.Reset()
	rq.requestFields = requestFields{}
	g.requests.Put(rq)
}

// ServeHTTP implements http.Handler: the net/http adapter of the pipeline.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.inFlight.Add(1)
	rq := g.newRequest()
	defer g.done(rq)
	newIDs(&rq.ids)
	h := w.Header()
	// The three header values share one array, apart from rq: the header
	// map may outlive the pooled request value.
	vals := make([]string, 3)
	copy(vals, rq.ids[:])
	h["X-Amzn-Requestid"] = vals[0:1:1]
	h["X-Amz-Apigw-Id"] = vals[1:2:2]
	h["X-Amzn-Trace-Id"] = vals[2:3:3]

	rq.FromHTTP(r)
	rq.ctx = r.Context()
	rq.rawPath = r.URL.EscapedPath()
	rq.remoteAddr = r.RemoteAddr
	rq.SourceIP = sourceIP(r)
	rq.ListenerPort = listenerPort(r)
	rq.SourceVpce = VPCEndpoint(rq.ctx) // the VPC endpoint it came through, or ""
	rq.RequestID, rq.ExtendedRequestID, rq.TraceID = rq.ids[0], rq.ids[1], rq.ids[2]
	rq.RequestTime = time.Now()
	rq.start = metrics.Mono(rq.RequestTime)
	if r.ContentLength < 0 {
		// Bounded here, where a body over the limit can also close the
		// connection; a declared length over it is refused by validate.
		rq.Body = http.MaxBytesReader(w, r.Body, MaxPayloadBytes)
	}
	if r.ContentLength < 0 || r.ContentLength > fullDuplexFrom {
		// A backend may answer while it still reads the body (an echo):
		// keep the client's body readable once the answer starts.
		http.NewResponseController(w).EnableFullDuplex()
	}
	rq.out.Header = h

	var entry *logEntry
	if g.AccessLog != nil {
		entry = &logEntry{rq: rq, start: time.Now()}
		rec := &logRecorder{ResponseWriter: w}
		w = rec
		defer func() {
			entry.status, entry.bytes = rec.status, rec.bytes
			g.AccessLog.write(entry.format().render(entry))
		}()
	}
	// The request line and header section are bounded (API Gateway's
	// quotas) before any step reads them; this is the HTTP server's part.
	err := g.checkHead(w, r)
	if err == nil {
		err = g.run(rq, pipeline)
	}
	if err != nil {
		if entry != nil {
			var fe *fault.Error
			if errors.As(err, &fe) {
				entry.errorText = fe.Message
			}
		}
		g.logFailure(rq, err)
	}
	g.finish(w, rq, err)
}

// done ends a request ServeHTTP served (or whose answer broke off): its
// metrics are counted, then its value goes back to the pool.
func (g *Gateway) done(rq *request) {
	// A request that reached no stage is counted by no API.
	if st := rq.stage; st != nil && st.metrics != nil {
		st.metricsOf(rq.route).Observe(rq.status, time.Duration(metrics.Nanotime()-rq.start), rq.integration, rq.integrated)
	}
	g.inFlight.Add(-1)
	g.freeRequest(rq)
}

// fullDuplexFrom is the body length above which the client's body is kept
// readable while the answer is written: smaller bodies are sent whole
// before a backend answers (see integration.h1MaxBody).
const fullDuplexFrom = 64 << 10

// logFailure logs a failed invocation that is the gateway's or the
// backend's fault; a client that went away is not.
func (g *Gateway) logFailure(rq *request, err error) {
	var fe *fault.Error
	if (!errors.As(err, &fe) || fe.Status >= 500) && rq.ctx.Err() == nil {
		g.log().Warn("invocation failed", "requestId", rq.ids[0], "method", rq.HTTPMethod, "host", rq.Host, "path", rq.rawPath, "err", err)
	}
}

// render writes a gateway response for err: the deployment's compiled
// gateway response of err's type, or AWS's default when the API customised
// none that applies (or the request never reached a stage).
func (g *Gateway) render(w http.ResponseWriter, rq *request, err error) int {
	e := fault.As(err)
	if rq.stage != nil && rq.stage.responses != nil {
		if i := e.Type.Index(); i >= 0 {
			if c := rq.stage.responses[i]; c != nil {
				return renderResponse(w, rq, e, c)
			}
		}
	}
	fault.Write(w, e)
	return e.Status
}

// resolveStage finds the API and stage (step 1): the host
// {apiId}.execute-api.{domain}, or the path prefix /_aws/execute-api/{apiId}.
// Literal dot segments of the path are removed first, and a segment hiding
// one is refused, so that every later step and the backend read one path.
func (g *Gateway) resolveStage(rq *request) error {
	clean, err := route.CleanPath(rq.rawPath)
	if err != nil {
		return fault.ErrInvalidPath
	}
	rq.rawPath = clean
	s := g.state.Load()
	var dr *domainRoutes // the custom domain, or nil for the execute-api endpoint
	apiID, stageName, path, ok := resolve(rq.Host, rq.rawPath, rq.Header, rq.SourceVpce)
	if !ok {
		// Not an execute-api host: a custom domain's, or none.
		var domain string
		// Through a VPC endpoint, only private domains (see admitPrivate).
		t := s.domains
		if rq.SourceVpce != "" {
			t = s.privateDomains
		}
		if dr, domain, apiID, stageName, path, ok = t.lookup(rq.Host, rq.rawPath); !ok || (rq.SourceVpce != "" && !g.admitPrivate(rq, dr)) {
			return fault.ErrForbidden
		}
		rq.DomainName, rq.DomainPath = domain, decodedPath(rq.rawPath)
	}
	if err := checkMutualTLS(rq, s.domains, dr); err != nil {
		return err
	}
	st := s.apis[apiID][stageName]
	if st == nil {
		return fault.ErrForbidden
	}
	if dr == nil && st.executeAPIDisabled {
		return fault.ErrForbidden
	}
	// A PRIVATE API is reached only through a VPC endpoint, and a VPC
	// endpoint reaches only PRIVATE APIs.
	if st.private != (rq.SourceVpce != "") {
		return fault.ErrForbidden
	}
	st = st.pick()
	rq.state, rq.stage, rq.IsCanary = s, st, st.isCanary
	rq.APIID, rq.AccountID, rq.Stage, rq.Path = apiID, g.AccountID, stageName, path
	rq.StageVars, rq.DeploymentID, rq.Transports = st.Vars, st.Deployment.ID, st.transports
	if s.vpcLinks != nil {
		rq.VpcLinks = s.vpcLinks
	}
	return nil
}

// checkMutualTLS holds a request to what its connection's handshake
// verified. A request for a mutual-TLS domain must come over TLS with that
// domain in SNI (its truststore then verified the caller's certificate,
// the handshake refusing anyone else), and a connection opened for a
// mutual-TLS domain serves that domain only: a Host naming another one, or
// an execute-api host, would skip the truststore. Those get 421 Misdirected
// Request (RFC 9110: the client may retry on a new connection, as browsers
// that coalesced HTTP/2 connections do); plain HTTP gets 403 Forbidden.
// Only requests through a mutual-TLS domain carry the client certificate.
func checkMutualTLS(rq *request, t domainTable, dr *domainRoutes) error {
	var sni *domainRoutes
	if rq.TLS != nil {
		sni, _ = t.find(rq.TLS.ServerName)
	}
	switch {
	case dr != nil && dr.mtls:
		if rq.TLS == nil {
			return fault.ErrForbidden
		}
		if sni != dr {
			return fault.ErrMisdirectedRequest
		}
		if len(rq.TLS.PeerCertificates) == 0 {
			// The domain's truststore did not load on this node, so its
			// handshake was not mutual.
			return fault.ErrForbidden
		}
		rq.ClientCert = integration.ClientCertOf(rq.TLS)
	case sni != nil && sni.mtls:
		return fault.ErrMisdirectedRequest
	}
	return nil
}

// resolve finds the API id, stage name and the path below the stage.
// Through a VPC endpoint (vpce != ""), the API may also be named by the
// x-apigw-api-id header or by a host "{apiId}-{vpceId}.execute-api...", as on AWS.
func resolve(host, p string, h http.Header, vpce string) (apiID, stage, path string, ok bool) {
	// Host names are case-insensitive and API ids are lower case.
	host = strings.ToLower(host)
	if id := h.Get("X-Apigw-Api-Id"); vpce != "" && id != "" {
		apiID = id
	} else if i := strings.Index(host, ".execute-api."); i > 0 {
		apiID = host[:i]
		if vpce != "" {
			apiID, _, _ = strings.Cut(apiID, "-vpce-")
		}
	} else if rest, found := strings.CutPrefix(p, PathPrefix); found {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			apiID, p = rest[:i], rest[i:]
		} else {
			apiID, p = rest, "/"
		}
	} else {
		return "", "", "", false
	}
	// Extra slashes right after the host are tolerated, as on AWS.
	p = strings.TrimLeft(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		stage, path = p[:i], p[i:]
	} else {
		stage, path = p, "/"
	}
	return apiID, stage, path, apiID != "" && stage != ""
}

// routeMethod matches the path below the stage (step 2).
func (g *Gateway) routeMethod(rq *request) error {
	rt, _, status := rq.stage.Tree.Match(rq.HTTPMethod, rq.Path, &rq.params)
	if status != route.Matched {
		return fault.ErrMissingAuthenticationToken
	}
	rq.setRoute(rt)
	return nil
}

// setRoute fills the request value's route fields.
func (rq *request) setRoute(rt *Route) {
	rq.route = rt
	rq.Params = &rq.params
	rq.ResourceID, rq.ResourcePath, rq.OperationName = rt.ResourceID, rt.ResourcePath, rt.Method.OperationName
}

// authorize runs step 3: the stage's resource policy and the method's
// authorizer (one per authorization type, chosen when the deployment was
// compiled).
func (g *Gateway) authorize(rq *request) error {
	if rq.stage.policyErr != nil {
		return fault.ConfigurationError(rq.stage.policyErr)
	}
	g.verifierOnce.Do(g.initVerifier)
	return rq.route.auth.Authorize(g, rq)
}

// meterStep runs step 4 and hands the key to the integration.
func (g *Gateway) meterStep(rq *request) error {
	var ident Identity
	if rq.authz != nil {
		ident.AuthorizerKey = rq.authz.UsageIdentifierKey
	}
	if err := g.meter(rq.ctx, rq.Header, rq.state, rq.stage, rq.route, &ident); err != nil {
		return err
	}
	rq.APIKey, rq.APIKeyID = ident.APIKey, ident.APIKeyID
	return nil
}

// validate runs step 5: API Gateway's payload limit (a body of unknown
// length is cut at the limit as it is read, see ServeHTTP), then the
// method's request validator: required parameters and the body's model.
func (g *Gateway) validate(rq *request) error {
	if rq.ContentLength > MaxPayloadBytes {
		return fault.ErrRequestTooLarge
	}
	if c := rq.route.check; c != nil {
		return c.run(rq)
	}
	return nil
}

// integrationRequest runs step 6: what the integration sends is built
// (rq.exchange).
func (g *Gateway) integrationRequest(rq *request) error {
	rt := rq.route
	if rt.CompileErr != nil {
		return fault.ConfigurationError(rt.CompileErr)
	}
	return rt.Integration.Request(&rq.Call, &rq.exchange)
}

// endpoint runs step 7: the integration's call, timed for the
// IntegrationLatency metric. A MOCK calls nothing: its latency is 0, and
// the clock is not read.
func (g *Gateway) endpoint(rq *request) error {
	rt := rq.route
	if !rt.callsOut {
		rq.integrated = true
		return rt.Integration.Call(rq.ctx, &rq.Call, &rq.exchange)
	}
	from := metrics.Nanotime()
	err := rt.Integration.Call(rq.ctx, &rq.Call, &rq.exchange)
	rq.integration, rq.integrated = time.Duration(metrics.Nanotime()-from), true
	return err
}

// integrationResponse runs step 8: the answer is mapped into rq.out.
func (g *Gateway) integrationResponse(rq *request) error {
	return rq.route.Integration.Respond(&rq.Call, &rq.exchange, &rq.out)
}

// finish writes the answer, or err as a gateway response, and releases
// what the integration's exchange holds (after the body, which may read
// from it).
func (g *Gateway) finish(w http.ResponseWriter, rq *request, err error) {
	defer rq.exchange.Close()
	if err != nil {
		rq.out.Close()
		rq.status = g.render(w, rq, err)
		return
	}
	if rq.cacheKey != "" {
		g.writeCaching(w, rq)
	} else {
		rq.out.Write(w)
	}
	rq.status = rq.out.Status
}

// cleanTestPath applies resolve's path rule to a test invocation's path.
func cleanTestPath(u *url.URL) (string, error) {
	return route.CleanPath(u.EscapedPath())
}
