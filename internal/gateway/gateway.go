// Package gateway is the data plane: it resolves a request to an API stage,
// routes it, runs the pipeline and renders gateway responses.
//
// The pipeline, in AWS's order (each step returns a *fault.Error or nil):
//
//  1. resolve: host or /_aws/execute-api prefix → API → stage
//  2. route: literal > {param} > {proxy+}; method > ANY
//  3. authorize: resource policy, then the method's authorization type
//  4. meter: API key, usage plan throttle and quota, stage and account throttles
//  5. integrate: parameter mapping, then the integration call
package gateway

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/gateway/fault"
	"github.com/apigw/apigw/internal/gateway/route"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/sigv4"
	"github.com/apigw/apigw/internal/store"
)

// MaxPayloadBytes is API Gateway's request payload limit.
const MaxPayloadBytes = 10 << 20

// PathPrefix is the path-style way of reaching a stage:
// /_aws/execute-api/{apiId}/{stage}/{path}.
const PathPrefix = "/_aws/execute-api/"

// Gateway serves invocations of deployed stages.
type Gateway struct {
	Store       store.Store
	Region      string
	AccountID   string
	Integration integration.Options
	// PollInterval is how often changes by other processes are looked for;
	// 0 means one second.
	PollInterval time.Duration
	Log          *slog.Logger
	// Identities verifies signatures and evaluates identity policies for
	// AWS_IAM methods; nil refuses them.
	Identities Identities
	// AccessLog, if set, receives a line per request, in the stage's
	// accessLogSettings.format or DefaultAccessLogFormat.
	AccessLog *AccessLog
	// Lambda runs Lambda authorizers (and, through Integration.Lambda,
	// AWS_PROXY integrations).
	Lambda lambda.Invoker
	// Limiter meters requests (throttles and quotas); nil admits everything
	// and refuses methods that require an API key.
	Limiter limit.Limiter
	// AccountRate and AccountBurst are the account-wide throttle; 0 means
	// AWS's defaults (10000 requests/s, burst 5000).
	AccountRate  float64
	AccountBurst int64

	state    atomic.Pointer[state]
	syncMu   sync.Mutex
	compiled map[string]*Deployment // guarded by syncMu
	params   sync.Pool

	authCache    authCache
	verifierOnce sync.Once
	verifier     *sigv4.Verifier
}

// New returns a Gateway with an empty state; call Sync or Run to load it.
func New(s store.Store) *Gateway {
	g := &Gateway{Store: s}
	g.state.Store(&state{})
	return g
}

func (g *Gateway) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ids := new([3]string)
	newIDs(ids)
	var entry *logEntry
	if g.AccessLog != nil {
		entry = &logEntry{r: r, ids: ids, start: time.Now()}
		rec := &logRecorder{ResponseWriter: w}
		w = rec
		defer func() {
			entry.status, entry.bytes = rec.status, rec.bytes
			f := entry.format
			if f == nil {
				f = defaultLogFormat
			}
			g.AccessLog.write(f.render(entry))
		}()
	}
	h := w.Header()
	vals := ids[:] // one backing array for the three header values
	h["X-Amzn-Requestid"] = vals[0:1:1]
	h["X-Amz-Apigw-Id"] = vals[1:2:2]
	h["X-Amzn-Trace-Id"] = vals[2:3:3]
	if err := g.serve(w, r, ids, entry); err != nil {
		if entry != nil {
			var fe *fault.Error
			if errors.As(err, &fe) {
				entry.errorText = fe.Message
			}
		}
		var fe *fault.Error
		// A client that went away is not the gateway's problem to report.
		if (!errors.As(err, &fe) || fe.Status >= 500) && r.Context().Err() == nil {
			g.log().Warn("invocation failed", "requestId", ids[0], "method", r.Method, "host", r.Host, "path", r.URL.Path, "err", err)
		}
		fault.Write(w, err)
	}
}

// resolve finds the API id, stage name and the path below the stage.
// Through a VPC endpoint (vpce != ""), the API may also be named by the
// x-apigw-api-id header or by a host "{apiId}-{vpceId}.execute-api...", as on AWS.
func resolve(r *http.Request, vpce string) (apiID, stage, path string, ok bool) {
	p := r.URL.EscapedPath()
	// Host names are case-insensitive and API ids are lower case.
	host := strings.ToLower(r.Host)
	if id := r.Header.Get("X-Apigw-Api-Id"); vpce != "" && id != "" {
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

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, ids *[3]string, entry *logEntry) error {
	// 1. Resolve.
	if err := cleanRequestPath(r); err != nil {
		return err
	}
	vpce := VPCEndpoint(r.Context())
	apiID, stageName, path, ok := resolve(r, vpce)
	if !ok {
		return fault.ErrForbidden
	}
	s := g.state.Load()
	st := s.apis[apiID][stageName]
	if st == nil {
		return fault.ErrForbidden
	}
	if entry != nil {
		entry.apiID, entry.stage, entry.format = apiID, stageName, st.logFormat
	}
	// A PRIVATE API is reached only through a VPC endpoint, and a VPC
	// endpoint reaches only PRIVATE APIs.
	if st.private != (vpce != "") {
		return fault.ErrForbidden
	}

	// 2. Route.
	params, _ := g.params.Get().(*route.Params)
	if params == nil {
		params = new(route.Params)
	}
	defer func() { params.Reset(); g.params.Put(params) }()
	rt, _, status := st.Tree.Match(r.Method, path, params)
	if status != route.Matched {
		return fault.ErrMissingAuthenticationToken
	}
	if entry != nil {
		entry.resource = rt.ResourcePath
	}

	// 3. Authorize.
	switch rt.Method.AuthorizationType {
	case "NONE", "", "AWS_IAM", "CUSTOM":
	default:
		return fault.ConfigurationError(errors.New("authorization type " + rt.Method.AuthorizationType + " is not supported yet"))
	}
	if st.policyErr != nil {
		return fault.ConfigurationError(st.policyErr)
	}
	g.verifierOnce.Do(g.initVerifier)
	caller, err := g.authorize(r, st, rt, path, vpce)
	if err != nil {
		return err
	}
	c := &integration.Call{
		W:                 w,
		R:                 r,
		RequestID:         ids[0],
		ExtendedRequestID: ids[1],
		TraceID:           ids[2],
		RequestTime:       time.Now(),
		APIID:             apiID,
		Stage:             stageName,
		StageVars:         st.Vars,
		DeploymentID:      st.Deployment.ID,
		OperationName:     rt.Method.OperationName,
		ResourceID:        rt.ResourceID,
		ResourcePath:      rt.ResourcePath,
		Path:              path,
		HTTPMethod:        r.Method,
		Params:            params,
		SourceIP:          sourceIP(r),
		ListenerPort:      listenerPort(r),
		SourceVpce:        vpce,
	}
	if caller != nil {
		c.Caller = &integration.Caller{AccessKey: caller.AccessKeyID, AccountID: caller.AccountID, Caller: caller.UserID, User: caller.UserID, UserARN: caller.ARN}
	}
	var authz *AuthorizerResult
	if rt.Method.AuthorizationType == "CUSTOM" {
		methodARN := g.methodARN(apiID, stageName, r.Method, decodedPath(path))
		requestEvent := func(methodARN string) ([]byte, error) {
			return integration.RequestAuthorizerEvent(c, g.AccountID, methodARN, c.RequestTime)
		}
		if authz, err = g.customAuthorize(r, st, rt, methodARN, c.ContextValue, requestEvent); err != nil {
			return err
		}
		c.Authorizer = &integration.Authorizer{PrincipalID: authz.PrincipalID, Context: authz.Context, Latency: authz.Latency}
	}

	// 4. Meter.
	var ident Identity
	if authz != nil {
		ident.AuthorizerKey = authz.UsageIdentifierKey
	}
	if err := g.meter(r.Context(), r, s, st, rt, &ident); err != nil {
		return err
	}
	c.APIKey, c.APIKeyID = ident.APIKey, ident.APIKeyID
	if entry != nil {
		entry.apiKeyID = ident.APIKeyID
	}

	// 5. Integrate.
	if r.ContentLength > MaxPayloadBytes {
		return fault.ErrRequestTooLarge
	}
	if r.ContentLength < 0 {
		r.Body = http.MaxBytesReader(w, r.Body, MaxPayloadBytes)
	}
	if rt.CompileErr != nil {
		return fault.ConfigurationError(rt.CompileErr)
	}
	return rt.Integration.Invoke(c)
}

// cleanRequestPath removes the literal dot segments of r's path, in place,
// and refuses a path that hides one behind an encoding (see route.CleanPath),
// so that routing, policies, signatures and the backend read one path.
func cleanRequestPath(r *http.Request) error {
	p := r.URL.EscapedPath()
	c, err := route.CleanPath(p)
	if err != nil {
		return fault.ErrInvalidPath
	}
	if c == p {
		return nil
	}
	d, err := url.PathUnescape(c)
	if err != nil {
		return fault.ErrInvalidPath
	}
	r.URL.Path, r.URL.RawPath = d, c
	return nil
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func listenerPort(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		return strconv.Itoa(a.Port)
	}
	return ""
}

// newIDs fills the request id (a UUID), the x-amz-apigw-id and the
// X-Amzn-Trace-Id of one request. The three share one allocation.
func newIDs(ids *[3]string) {
	const (
		uuidLen  = 36
		apigwLen = 16 // base64 of 11 bytes
		traceLen = 40 // Root=1-{8 hex}-{24 hex}
	)
	var buf [uuidLen + apigwLen + traceLen]byte
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	u := buf[:uuidLen]
	hex.Encode(u[0:8], b[0:4])
	u[8] = '-'
	hex.Encode(u[9:13], b[4:6])
	u[13] = '-'
	hex.Encode(u[14:18], b[6:8])
	u[18] = '-'
	hex.Encode(u[19:23], b[8:10])
	u[23] = '-'
	hex.Encode(u[24:], b[10:])

	var a [11]byte
	binary.LittleEndian.PutUint64(a[:8], rand.Uint64())
	x := rand.Uint32()
	a[8], a[9], a[10] = byte(x), byte(x>>8), byte(x>>16)
	base64.URLEncoding.Encode(buf[uuidLen:uuidLen+apigwLen], a[:])

	t := buf[uuidLen+apigwLen:]
	copy(t, "Root=1-")
	var ts [4]byte
	binary.BigEndian.PutUint32(ts[:], uint32(time.Now().Unix()))
	hex.Encode(t[7:15], ts[:])
	t[15] = '-'
	hex.Encode(t[16:], b[4:16])

	all := string(buf[:])
	ids[0] = all[:uuidLen]
	ids[1] = all[uuidLen : uuidLen+apigwLen]
	ids[2] = all[uuidLen+apigwLen:]
}

func (g *Gateway) initVerifier() {
	if g.Identities != nil {
		g.verifier = &sigv4.Verifier{Lookup: g.Identities.Lookup, Service: "execute-api"}
	}
}

type vpceKey struct{}

// WithVPCEndpoint marks a context (a listener's base context) as coming
// through the VPC endpoint id; the id becomes aws:SourceVpce.
func WithVPCEndpoint(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, vpceKey{}, id)
}

// VPCEndpoint returns the VPC endpoint a request came through, or "".
func VPCEndpoint(ctx context.Context) string {
	id, _ := ctx.Value(vpceKey{}).(string)
	return id
}

// Stage returns the stage being served, or nil.
func (g *Gateway) Stage(apiID, name string) *Stage {
	return g.state.Load().apis[apiID][name]
}
