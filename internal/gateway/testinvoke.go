package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
)

// testStage is the stage name of test invocations, as AWS names it.
const testStage = "test-invoke-stage"

// testRequest builds the request value a test invocation describes, as
// ServeHTTP would from a client's request to stage testStage.
func (g *Gateway) testRequest(ctx context.Context, method, defaultPath string, apiID string, in *model.TestInvokeRequest) (*request, error) {
	p := in.PathWithQueryString
	if p == "" {
		p = defaultPath
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("invalid pathWithQueryString %q: %w", in.PathWithQueryString, err)
	}
	clean, err := cleanTestPath(u)
	if err != nil {
		return nil, fmt.Errorf("invalid pathWithQueryString %q: %w", in.PathWithQueryString, err)
	}
	if method == "ANY" {
		method = http.MethodGet
	}
	h := http.Header{}
	for k, vs := range in.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range in.Headers {
		h.Set(k, v)
	}
	rq := g.newRequest()
	newIDs(&rq.ids)
	rq.ctx = ctx
	rq.HTTPMethod, rq.Host, rq.Proto, rq.Header, rq.RawQuery = method, "test-invoke.execute-api.local", "HTTP/1.1", h, u.RawQuery
	rq.Body, rq.ContentLength = strings.NewReader(in.Body), int64(len(in.Body))
	rq.rawPath, rq.Path = clean, clean
	rq.remoteAddr, rq.SourceIP = "127.0.0.1:0", "test-invoke-source-ip"
	rq.RequestID, rq.ExtendedRequestID, rq.TraceID = rq.ids[0], rq.ids[1], rq.ids[2]
	rq.RequestTime = time.Now()
	rq.APIID, rq.AccountID, rq.Stage, rq.StageVars = apiID, g.AccountID, testStage, in.StageVariables
	return rq, nil
}

// TestInvokeMethod runs one method of snap as the console's Test button
// does: the tail of the pipeline (testInvokeSteps), without authorization
// and metering, the integration called for real.
func (g *Gateway) TestInvokeMethod(ctx context.Context, snap *model.Snapshot, resourceID, httpMethod string, in *model.TestInvokeRequest) (*model.TestInvokeMethodResult, error) {
	dep := g.compile(snap)
	var rt *Route
	for _, x := range dep.Routes {
		if x.ResourceID == resourceID && x.Method.HTTPMethod == httpMethod {
			rt = x
		}
	}
	if rt == nil {
		return nil, errors.New("gateway: test invoke: no such method")
	}
	rq, err := g.testRequest(ctx, httpMethod, rt.ResourcePath, snap.Api.ID, in)
	if err != nil {
		return nil, err
	}
	defer g.freeRequest(rq)
	transports, closeTransports, err := g.testInvokeTransports(ctx, in)
	if err != nil {
		return nil, err
	}
	defer closeTransports()
	rq.Transports = transports
	if links := g.state.Load().vpcLinks; links != nil {
		rq.VpcLinks = links
	}
	rq.stage = &Stage{APIID: snap.Api.ID, Name: testStage, Vars: in.StageVariables, Deployment: dep}
	rq.DeploymentID = dep.ID
	dep.Tree.Match(rq.HTTPMethod, rq.Path, &rq.params)
	rq.setRoute(rt)
	rec := httptest.NewRecorder()
	rq.out.Header = rec.Header()
	start := time.Now()
	err = g.run(rq, testInvokeSteps)
	g.finish(rec, rq, err)
	latency := time.Since(start)
	res := rec.Result()
	out := &model.TestInvokeMethodResult{Status: res.StatusCode, Body: rec.Body.String(), Headers: map[string]string{},
		MultiValueHeaders: map[string][]string{}, Latency: latency.Milliseconds()}
	for k, vs := range res.Header {
		out.Headers[k] = vs[len(vs)-1]
		out.MultiValueHeaders[k] = vs
	}
	var log strings.Builder
	fmt.Fprintf(&log, "Execution log for request %s\n", rq.ids[0])
	fmt.Fprintf(&log, "%s : Starting execution for request: %s\n", start.UTC().Format(time.ANSIC), rq.ids[0])
	fmt.Fprintf(&log, "%s : HTTP Method: %s, Resource Path: %s\n", start.UTC().Format(time.ANSIC), rq.HTTPMethod, rq.Path)
	if err != nil {
		fmt.Fprintf(&log, "%s : Execution failed: %v\n", start.UTC().Format(time.ANSIC), err)
	}
	fmt.Fprintf(&log, "%s : Method completed with status: %d\n", time.Now().UTC().Format(time.ANSIC), res.StatusCode)
	out.Log = log.String()
	return out, nil
}

// TestInvokeAuthorizer runs one authorizer of snap with the identity the
// test request carries, through the authorizer's own code (runAuthorizer),
// without its cache.
func (g *Gateway) TestInvokeAuthorizer(ctx context.Context, snap *model.Snapshot, authorizerID string, in *model.TestInvokeRequest) (*model.TestInvokeAuthorizerResult, error) {
	var au *model.Authorizer
	for _, x := range snap.Authorizers {
		if x.ID == authorizerID {
			au = x
		}
	}
	if au == nil {
		return nil, errors.New("gateway: test invoke: no such authorizer")
	}
	ca, err := compileAuthorizer(au)
	if err != nil {
		return nil, err
	}
	a, ok := authorizerFor(&model.Method{AuthorizationType: "CUSTOM", AuthorizerID: au.ID}, map[string]*compiledAuthorizer{au.ID: ca}).(*lambdaAuth)
	if !ok {
		return nil, fmt.Errorf("gateway: test invoke: authorizer type %s is not supported yet", au.Type)
	}
	rq, err := g.testRequest(ctx, http.MethodGet, "/", snap.Api.ID, in)
	if err != nil {
		return nil, err
	}
	defer g.freeRequest(rq)
	rq.RequestID = "test-invoke-request"
	rq.ResourcePath = rq.Path
	rq.Params = &rq.params
	methodARN := g.methodARN(snap.Api.ID, testStage, rq.HTTPMethod, decodedPath(rq.Path))
	start := time.Now()
	out := &model.TestInvokeAuthorizerResult{}
	res, err := g.runAuthorizer(ctx, a, &rq.Call, methodARN, "")
	var fe *fault.Error
	switch {
	case errors.As(err, &fe):
		out.ClientStatus = fe.Status
	case err != nil:
		return nil, err
	default:
		out.ClientStatus = http.StatusOK
		out.PrincipalID = res.PrincipalID
		out.Policy = res.PolicyJSON
		out.Authorization = map[string][]string{}
	}
	out.Latency = time.Since(start).Milliseconds()
	out.Log = fmt.Sprintf("Execution log for request test-request\n%s : Starting authorizer: %s for request: test-request\n%s : Authorizer result status: %d\n",
		start.UTC().Format(time.ANSIC), ca.ID, time.Now().UTC().Format(time.ANSIC), out.ClientStatus)
	return out, nil
}
