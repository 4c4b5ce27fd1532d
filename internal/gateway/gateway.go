// Package gateway is the data plane: it resolves a request to an API stage,
// routes it, runs the pipeline and renders gateway responses. The steps of
// the pipeline, in AWS's order, are listed once, in pipeline.go.
package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/cache"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/requestid"
	"github.com/apigw/apigw/internal/sigv4"
	"github.com/apigw/apigw/internal/store"
)

// MaxPayloadBytes is API Gateway's request payload limit.
const MaxPayloadBytes = 10 << 20

// DefaultUnverifiedBodyBytes bounds the request bodies the data plane holds
// at once for AWS_IAM callers whose signature it has not verified yet (the
// payload hash needs the body): past it such a request gets 429 before its
// body is read.
const DefaultUnverifiedBodyBytes = 64 << 20

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
	// UnverifiedBodyBytes bounds the bodies held for AWS_IAM callers not
	// verified yet; 0 means DefaultUnverifiedBodyBytes.
	UnverifiedBodyBytes int64
	// Limits bound the URL and header section of requests; zero fields
	// are AWS's quotas.
	Limits RequestLimits
	// ResponseTemplates compiles the templates of gateway responses; nil
	// means Velocity templates (internal/vtl).
	ResponseTemplates TemplateCompiler
	// ClientCertificate loads a client certificate with its key, for the
	// stages whose clientCertificateId names it: they present it to every
	// https:// backend. Nil presents none.
	ClientCertificate func(ctx context.Context, id string) (*tls.Certificate, error)
	// DomainsChanged, if set, is told every custom domain name when the
	// domains, their mappings or the certificates change (the server puts
	// their certificates in the TLS listener's set).
	DomainsChanged func(ctx context.Context, domains []*model.DomainName)
	// BackendRoots verify https:// backends; nil means the system's roots.
	BackendRoots *x509.CertPool
	// VpcLinkTargets maps the load balancer ARNs VPC links name to the
	// host:port this node connects to for them (--vpc-link-target).
	VpcLinkTargets map[string]string
	// AuthorizerCache, if set, shares Lambda authorizers' cached results
	// with the other nodes (in Redis, with --redis), so that a node does
	// not call an authorizer again for an identity another node's result
	// is cached for. Nil caches them in this process only.
	AuthorizerCache SharedCache
	// StageCache configures the stage caches (stagecache.go).
	StageCache StageCacheOptions

	state    atomic.Pointer[state]
	syncMu   sync.Mutex
	compiled map[string]*Deployment // guarded by syncMu
	// certTransports are the backend pools by client certificate id,
	// guarded by syncMu.
	certTransports map[string]*integration.Transports
	baseOnce       sync.Once
	base           *integration.Transports
	requests       sync.Pool // of *request

	stageCaches map[string]*stageCacheSlot // by apiID/stage, guarded by syncMu
	// retiredCaches are replaced stage caches, closed once the state that
	// no longer uses them is published; guarded by syncMu.
	retiredCaches []*cache.Cache

	authCache    authCache
	verifierOnce sync.Once
	verifier     *sigv4.Verifier
	unverified   sigv4.Budget // body bytes held for AWS_IAM callers not verified yet

	// Counters of the data plane's own metrics (OwnMetrics).
	inFlight      atomic.Int64
	synced        atomic.Int64 // when Sync last found the state up to date, Unix ns
	limiterErrors atomic.Uint64
	storeErrors   atomic.Uint64
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
	requestid.Encode((*[uuidLen]byte)(buf[:uuidLen]), &b)

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
	g.unverified.Total = g.UnverifiedBodyBytes
	if g.unverified.Total <= 0 {
		g.unverified.Total = DefaultUnverifiedBodyBytes
	}
	if g.Identities != nil {
		g.verifier = &sigv4.Verifier{Lookup: g.Identities.Lookup, Service: "execute-api", Region: g.Region}
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
