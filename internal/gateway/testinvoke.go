package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/gateway/fault"
	"github.com/apigw/apigw/internal/gateway/route"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/model"
)

// testStage is the stage name of test invocations, as AWS names it.
const testStage = "test-invoke-stage"

// testRequest builds the request a test invocation describes.
func testRequest(ctx context.Context, method, defaultPath string, in *model.TestInvokeRequest) (*http.Request, string, error) {
	p := in.PathWithQueryString
	if p == "" {
		p = defaultPath
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u, err := url.Parse(p)
	if err != nil {
		return nil, "", fmt.Errorf("invalid pathWithQueryString %q: %w", in.PathWithQueryString, err)
	}
	if method == "ANY" {
		method = http.MethodGet
	}
	r := httptest.NewRequestWithContext(ctx, method, "http://test-invoke.execute-api.local"+u.RequestURI(), strings.NewReader(in.Body))
	for k, vs := range in.MultiValueHeaders {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	for k, v := range in.Headers {
		r.Header.Set(k, v)
	}
	r.RemoteAddr = "127.0.0.1:0"
	if err := cleanRequestPath(r); err != nil {
		return nil, "", fmt.Errorf("invalid pathWithQueryString %q: %w", in.PathWithQueryString, route.ErrDotSegment)
	}
	return r, r.URL.EscapedPath(), nil
}

// TestInvokeMethod runs one method of snap as the console's Test button
// does: no authorization, no metering, the integration called for real.
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
	r, path, err := testRequest(ctx, httpMethod, rt.ResourcePath, in)
	if err != nil {
		return nil, err
	}
	var params route.Params
	dep.Tree.Match(r.Method, path, &params)
	rec := httptest.NewRecorder()
	var ids [3]string
	newIDs(&ids)
	c := &integration.Call{W: rec, R: r, RequestID: ids[0], ExtendedRequestID: ids[1], TraceID: ids[2], RequestTime: time.Now(),
		APIID: snap.Api.ID, Stage: testStage, StageVars: in.StageVariables, DeploymentID: dep.ID, OperationName: rt.Method.OperationName,
		ResourceID: rt.ResourceID, ResourcePath: rt.ResourcePath, Path: path, HTTPMethod: r.Method, Params: &params, SourceIP: "test-invoke-source-ip"}
	start := time.Now()
	if rt.CompileErr != nil {
		err = fault.ConfigurationError(rt.CompileErr)
	} else {
		err = rt.Integration.Invoke(c)
	}
	if err != nil {
		fault.Write(rec, err)
	}
	latency := time.Since(start)
	res := rec.Result()
	out := &model.TestInvokeMethodResult{Status: res.StatusCode, Body: rec.Body.String(), Headers: map[string]string{},
		MultiValueHeaders: map[string][]string{}, Latency: latency.Milliseconds()}
	for k, vs := range res.Header {
		out.Headers[k] = vs[len(vs)-1]
		out.MultiValueHeaders[k] = vs
	}
	var log strings.Builder
	fmt.Fprintf(&log, "Execution log for request %s\n", ids[0])
	fmt.Fprintf(&log, "%s : Starting execution for request: %s\n", start.UTC().Format(time.ANSIC), ids[0])
	fmt.Fprintf(&log, "%s : HTTP Method: %s, Resource Path: %s\n", start.UTC().Format(time.ANSIC), r.Method, path)
	if err != nil {
		fmt.Fprintf(&log, "%s : Execution failed: %v\n", start.UTC().Format(time.ANSIC), err)
	}
	fmt.Fprintf(&log, "%s : Method completed with status: %d\n", time.Now().UTC().Format(time.ANSIC), res.StatusCode)
	out.Log = log.String()
	return out, nil
}

// TestInvokeAuthorizer runs one authorizer of snap with the identity the
// test request carries.
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
	if ca.fn == nil {
		return nil, fmt.Errorf("gateway: test invoke: authorizer type %s is not supported yet", au.Type)
	}
	r, path, err := testRequest(ctx, http.MethodGet, "/", in)
	if err != nil {
		return nil, err
	}
	methodARN := g.methodARN(snap.Api.ID, testStage, r.Method, decodedPath(path))
	start := time.Now()
	out := &model.TestInvokeAuthorizerResult{}
	c := &integration.Call{W: httptest.NewRecorder(), R: r, RequestID: "test-invoke-request", RequestTime: start, APIID: snap.Api.ID,
		Stage: testStage, StageVars: in.StageVariables, ResourcePath: path, Path: path, HTTPMethod: r.Method, Params: &route.Params{}, SourceIP: "test-invoke-source-ip"}
	vals, ok := identityValues(ca, r, in.StageVariables, c.ContextValue)
	switch {
	case !ok, ca.validation != nil && !ca.validation.MatchString(vals[0]):
		out.ClientStatus = http.StatusUnauthorized
	default:
		fnARN, err := ca.fn.ARN(in.StageVariables)
		if err != nil {
			return nil, err
		}
		var event []byte
		if ca.Type == "TOKEN" {
			event, _ = json.Marshal(map[string]string{"type": "TOKEN", "authorizationToken": vals[0], "methodArn": methodARN})
		} else if event, err = integration.RequestAuthorizerEvent(c, g.AccountID, methodARN, start); err != nil {
			return nil, err
		}
		res, err := g.callAuthorizer(ctx, fnARN, event, "arn:aws:execute-api:"+g.Region+":"+g.AccountID+":"+snap.Api.ID+"/authorizers/"+ca.ID)
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
	}
	out.Latency = time.Since(start).Milliseconds()
	out.Log = fmt.Sprintf("Execution log for request test-request\n%s : Starting authorizer: %s for request: test-request\n%s : Authorizer result status: %d\n",
		start.UTC().Format(time.ANSIC), ca.ID, time.Now().UTC().Format(time.ANSIC), out.ClientStatus)
	return out, nil
}
