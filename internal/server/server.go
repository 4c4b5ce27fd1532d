// Package server assembles apigw: the store, the management API on the
// admin listener, the data plane on the data listener, and their lifecycle.
package server

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw/apigw/internal/acm"
	"github.com/apigw/apigw/internal/control"
	"github.com/apigw/apigw/internal/edge"
	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/lambda/host"
	"github.com/apigw/apigw/internal/limit"
	"github.com/apigw/apigw/internal/metrics"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/requestid"
	"github.com/apigw/apigw/internal/sigv4"
	"github.com/apigw/apigw/internal/store"
)

// Config is what `apigw serve` is told.
type Config struct {
	DataDir     string
	Listen      string
	AdminListen string
	Region      string
	// TLSListen, when set, is the address of the HTTPS data listener
	// (HTTP/1.1 and HTTP/2). It serves TLSCertFile and TLSKeyFile when
	// they are set, else a certificate from the local CA of the data dir.
	TLSListen   string
	TLSCertFile string
	TLSKeyFile  string
	// BackendCAFile is a PEM bundle trusted for https:// backends besides
	// the system's roots.
	BackendCAFile string
	// ACMEDirectory is the ACME directory RequestCertificate obtains
	// certificates from (`apigw serve` defaults it to Let's Encrypt's
	// production CA; "" refuses RequestCertificate); ACMEEmail
	// the account's contact; ACMECAFile a PEM bundle trusted for the ACME
	// server's HTTPS besides the system's roots (a private CA's).
	ACMEDirectory string
	ACMEEmail     string
	ACMECAFile    string
	// VPCEndpoints are extra data listeners, each standing for a VPC
	// endpoint: id (e.g. "vpce-0abc") → listen address. Requests through one
	// carry the id as aws:SourceVpce and may reach PRIVATE APIs.
	VPCEndpoints map[string]string
	// LambdaRemotes maps function ARNs (a prefix ending in ":" or "*", or a
	// whole ARN) to Lambda-compatible endpoints that run them, called with
	// SigV4 and RemoteCredentials.
	LambdaRemotes     map[string]string
	RemoteCredentials aws.CredentialsProvider
	// AWSEndpoints maps an AWS service's endpoint prefix (dynamodb, s3,
	// sqs, ...) to the URL apigw calls for it: AWS service integrations
	// and s3:// truststores. A service not listed is reached at AWS's own
	// endpoint, https://{service}.{region}.amazonaws.com.
	AWSEndpoints map[string]string
	// VpcLinkTargets maps network load balancer ARNs, as VPC links name
	// them, to the host:port apigw connects to for them.
	VpcLinkTargets map[string]string
	// AccountRateLimit and AccountBurstLimit are the account-wide throttle
	// of the data plane; 0 means AWS's defaults (10000 requests/s, 5000).
	AccountRateLimit  float64
	AccountBurstLimit int64
	// RequestLimits bound the URL and header section of data plane
	// requests; zero fields are API Gateway's quotas.
	RequestLimits gateway.RequestLimits
	// LambdaConcurrency is the most workers the local Lambda host runs at
	// once, for one function and for all together; 0 sizes it for the
	// machine (host.DefaultMaxWorkers). Calls beyond it wait for a worker.
	LambdaConcurrency int
	// AccessLog is where access log lines go: a file path (appended to),
	// "-" for standard output, or "" for none.
	AccessLog string
	// MetricsPublic serves GET /_apigw/metrics on the admin listener to
	// anyone. Otherwise it needs MetricsTokenFile's token as a bearer
	// token, and without one it is refused like any unsigned admin call.
	MetricsPublic bool
	// MetricsTokenFile holds the bearer token of the metrics endpoint
	// (read at start, surrounding white space removed).
	MetricsTokenFile string
	// Store is "sqlite" (the default: {DataDir}/apigw.db, one process per
	// data dir) or a postgres:// URL (a store any number of nodes share).
	Store string
	// SecretKeyFile, when set, names the file holding the key that seals
	// secrets in the store (32 bytes, raw or base64); otherwise
	// APIGW_MASTER_KEY, else {DataDir}/master.key. Every node of a store
	// needs the same key.
	SecretKeyFile string
	// Redis, a redis:// URL, shares throttles and quotas with the other
	// nodes using it; "" keeps them in this process.
	Redis string
	// RedisFailure is what metered requests get while Redis is unreachable:
	// "open" (the default) local limits, each node admitting its share;
	// "closed" 503.
	RedisFailure string
	// RedisPrefix starts the keys apigw writes in Redis; "apigw:" when
	// empty. Clusters sharing one Redis need different prefixes.
	RedisPrefix string
	// StageCacheMaxBytes caps the memory of one stage's cache (its
	// cacheClusterSize in GB × 2^30 bytes, at most this); 0 means
	// gateway.DefaultStageCacheMaxBytes.
	StageCacheMaxBytes int64
	// CacheSettle is how long a stage cache stays CREATE_IN_PROGRESS or
	// DELETE_IN_PROGRESS; 0 means control.DefaultCacheSettle.
	CacheSettle time.Duration
	// RootAccessKeyID and RootSecretAccessKey, when set, are the root
	// credentials; otherwise they are generated on first start.
	RootAccessKeyID     string
	RootSecretAccessKey string
	// DomainTarget is the host name custom domain names report as their
	// regionalDomainName/distributionDomainName: where a user points the
	// domain's CNAME (apigw's own public name).
	DomainTarget string
	// InvokeURL is the base URL of a stage in the SDKs GetSdk generates,
	// with {apiId} for the API's id; "/{stage}" is added. Empty means the
	// path-style URL of the data listener,
	// http://{listen address}/_aws/execute-api/{apiId}.
	InvokeURL string
	// ShutdownTimeout bounds how long requests in flight may take to finish
	// at shutdown; 0 means 30 seconds.
	ShutdownTimeout time.Duration
	// Out receives the one-time announcement of generated credentials.
	Out io.Writer
	Log *slog.Logger
}

// Server is a running apigw.
type Server struct {
	cfg       Config
	Store     store.Store
	AccountID string
	Root      RootCredentials
	Gateway   *gateway.Gateway
	Control   *control.API
	Limiter   limit.Limiter
	IAM       *iam.Service
	Lambda    *lambda.Service
	ACM       *acm.Service
	// Certificates are what the TLS listener serves, by SNI; LocalCA is the
	// data dir's CA when it signs the default one.
	Certificates *edge.Certificates
	LocalCA      *edge.LocalCA

	domainCertsMu sync.Mutex
	domainCerts   map[string]bool // the custom domains' names in Certificates

	host            *host.Host
	accessLogFile   *os.File
	masterKey       []byte
	dataLn, adminLn net.Listener
	tlsLn           net.Listener // nil without TLSListen
	vpceLns         map[string]net.Listener
	adminAuth       *adminAuth
	store           *openedStore // Store, with its kind and the data dir's lock
	keySource       string       // where masterKey came from
	health          healthState
	metrics         http.Handler
	metricsToken    []byte                     // the bearer token of /_apigw/metrics, or nil
	node            string                     // this node's name: host/admin address/pid
	cacheRedis      interface{ Close() error } // the stage cache's Redis client, or nil
}

// RootCredentials are the root principal's access key.
type RootCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// New opens the store, settles the account and root credentials, and binds
// both listeners (so their addresses are known before Run). With the SQLite
// store it first takes the data dir's lock (a second process on one data
// dir is refused with a *DataDirInUseError), held until Run returns. A node
// whose secret key does not open the store's secrets is refused with a
// *SecretKeyMismatchError.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	switch cfg.RedisFailure {
	case "", "open", "closed":
	default:
		return nil, fmt.Errorf("--redis-failure must be open or closed, got %q", cfg.RedisFailure)
	}
	for _, v := range []int{cfg.RequestLimits.URLLength, cfg.RequestLimits.HeaderBytes, cfg.RequestLimits.PrivateHeaderBytes, cfg.RequestLimits.HeaderCount} {
		if v < 0 {
			return nil, fmt.Errorf("request limits must be positive (0 for AWS's quotas): %+v", cfg.RequestLimits)
		}
	}
	if err := checkAWSEndpoints(cfg.AWSEndpoints); err != nil {
		return nil, err
	}
	token, err := metricsToken(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	opened, err := openStore(ctx, cfg.Store, cfg.DataDir, cfg.Log)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			opened.Close()
		}
	}()
	key, keySource, err := loadSecretKey(cfg)
	if err != nil {
		return nil, err
	}
	// The store itself, not the wrapper: callers look for QuietUpdater.
	st := opened.Store
	s := &Server{cfg: cfg, Store: st, store: opened, masterKey: key, keySource: keySource, metricsToken: token}
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	for arn, addr := range cfg.VpcLinkTargets {
		if !strings.HasPrefix(arn, "arn:") {
			return nil, fmt.Errorf("--vpc-link-target %s=%s: %q is not an ARN (arn:aws:elasticloadbalancing:...)", arn, addr, arn)
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return nil, fmt.Errorf("--vpc-link-target %s=%s: %q is not host:port", arn, addr, addr)
		}
	}
	s.Control = &control.API{Store: st, AccountID: s.AccountID, Region: cfg.Region, Log: cfg.Log, DomainTarget: cfg.DomainTarget,
		VpcLinkTargets: cfg.VpcLinkTargets}
	hostname, _ := os.Hostname()
	s.node = hostname + "/" + cfg.AdminListen + "/" + strconv.Itoa(os.Getpid())
	if cfg.Redis == "" {
		s.Limiter = limit.NewMemory(limit.StoreLedger{Store: st})
	} else {
		r, err := limit.DialRedis(ctx, cfg.Redis, limit.RedisConfig{
			Prefix: cfg.RedisPrefix, Ledger: limit.StoreLedger{Store: st}, FailClosed: cfg.RedisFailure == "closed",
			Node: s.node, Log: cfg.Log,
		})
		if err != nil {
			st.Close()
			return nil, err
		}
		s.Limiter = r
	}
	s.Control.Meter = meter{s.Limiter}
	s.Control.CacheSettle = cfg.CacheSettle
	s.Gateway = gateway.New(st)
	if err := s.stageCache(cfg); err != nil {
		st.Close()
		return nil, err
	}
	s.Gateway.Limiter = s.Limiter
	if r, ok := s.Limiter.(*limit.Redis); ok {
		s.Gateway.AuthorizerCache = r.Cache("auth:")
	}
	s.Gateway.AccountRate, s.Gateway.AccountBurst = cfg.AccountRateLimit, cfg.AccountBurstLimit
	s.Control.AccountRate = cmp.Or(cfg.AccountRateLimit, gateway.DefaultAccountRate)
	s.Control.AccountBurst = cmp.Or(cfg.AccountBurstLimit, gateway.DefaultAccountBurst)
	s.Gateway.Limits = cfg.RequestLimits
	s.Gateway.VpcLinkTargets = cfg.VpcLinkTargets
	s.Control.Tester = s.Gateway
	masterKey := s.masterKey
	s.Control.Truststores = &edge.TruststoreFetcher{S3Endpoint: cfg.AWSEndpoints["s3"], Region: cfg.Region, Credentials: cfg.RemoteCredentials}
	s.Control.Seal = func(p []byte, aad string) ([]byte, error) { return masterSealer{masterKey}.Seal(p, aad) }
	s.Gateway.ClientCertificate = func(ctx context.Context, id string) (*tls.Certificate, error) {
		return loadClientCertificate(ctx, st, masterKey, id)
	}
	if s.Gateway.BackendRoots, err = backendRoots(cfg.BackendCAFile); err != nil {
		st.Close()
		return nil, err
	}
	switch cfg.AccessLog {
	case "":
	case "-":
		s.Gateway.AccessLog = gateway.NewAccessLog(os.Stdout)
	default:
		f, err := os.OpenFile(cfg.AccessLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("access log: %w", err)
		}
		s.accessLogFile = f
		s.Gateway.AccessLog = gateway.NewAccessLog(f)
	}
	s.host = host.New(filepath.Join(cfg.DataDir, "lambda-host"), cfg.Log)
	s.host.Region = cfg.Region
	s.host.MaxWorkers = cfg.LambdaConcurrency
	urlKey := sha256.Sum256(append([]byte("apigw lambda code urls\x00"), s.masterKey...))
	s.Lambda = &lambda.Service{Store: st, AccountID: s.AccountID, Region: cfg.Region, Runner: hostRunner{s.host},
		DataDir: cfg.DataDir, CodeURLKey: urlKey[:], Log: cfg.Log, MaxConcurrency: cfg.LambdaConcurrency}
	s.Gateway.Lambda = s.Lambda
	s.Lambda.Metrics = new(metrics.Functions)
	s.metrics = metrics.Handler(&metrics.Collector{APIs: s.Gateway.MetricSeries, Functions: s.Lambda.Metrics, Own: append(s.Gateway.OwnMetrics(), redisMetrics(s.Limiter)...)})
	if len(cfg.LambdaRemotes) > 0 {
		s.Lambda.Remote = map[string]lambda.RemoteEndpoint{}
		for arn, u := range cfg.LambdaRemotes {
			s.Lambda.Remote[arn] = lambda.RemoteEndpoint{URL: u, Credentials: cfg.RemoteCredentials}
		}
	}
	s.Gateway.Region, s.Gateway.AccountID, s.Gateway.Log = cfg.Region, s.AccountID, cfg.Log
	// A change made through this node is served by it before the change's
	// response is sent: read-your-writes for deployments and stages.
	s.Control.Committed = func(ctx context.Context) {
		if err := s.Gateway.Sync(ctx); err != nil {
			cfg.Log.Error("data plane sync after a change failed", "err", err)
		}
	}
	if cfg.TLSListen != "" {
		s.Certificates = &edge.Certificates{}
	}
	s.Gateway.Integration.AWSEndpoints = cfg.AWSEndpoints
	s.Gateway.Integration.Roles = &integration.RoleCredentials{Assume: s.assumeIntegrationRole}
	s.Gateway.Integration.CallerCredentials = s.callerCredentials
	s.Gateway.DomainsChanged = s.serveDomainCertificates
	if err := s.Gateway.Sync(ctx); err != nil {
		return nil, err
	}
	// VPC links a stopped process created but did not settle.
	if err := s.Control.SettleVpcLinks(ctx); err != nil {
		return nil, err
	}
	// Likewise stage caches being created or deleted.
	if err := s.Control.SettleStageCaches(ctx); err != nil {
		return nil, err
	}
	s.IAM = &iam.Service{Store: st, AccountID: s.AccountID, Region: cfg.Region, Key: s.masterKey,
		RootAccessKeyID: s.Root.AccessKeyID, RootSecret: s.Root.SecretAccessKey, Log: cfg.Log}
	s.Gateway.Identities = identities{s.IAM}
	s.Lambda.Authorize = func(r *http.Request, action, resource string) error {
		return s.IAM.Authorize(r.Context(), iam.PrincipalFrom(r.Context()), action, resource, s.IAM.HTTPRequestContext(r, nil))
	}
	s.ACM = &acm.Service{Store: st, AccountID: s.AccountID, Region: cfg.Region, Log: cfg.Log,
		Seal: s.Control.Seal, Committed: s.Control.Committed,
		Authorize: func(r *http.Request, action, resource string) error {
			return s.IAM.Authorize(r.Context(), iam.PrincipalFrom(r.Context()), action, resource, s.IAM.HTTPRequestContext(r, nil))
		}}
	s.adminAuth = newAdminAuth(s.IAM.Lookup, cfg.Region, cfg.Log)
	if s.dataLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("data listener: %w", err)
	}
	s.Control.InvokeURL = invokeURL(cfg.InvokeURL, s.dataLn.Addr())
	if s.adminLn, err = net.Listen("tcp", cfg.AdminListen); err != nil {
		s.dataLn.Close()
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	if cfg.TLSListen != "" {
		if err := s.setupTLS(); err != nil {
			s.closeListeners()
			st.Close()
			return nil, err
		}
	}
	s.vpceLns = map[string]net.Listener{}
	for id, addr := range cfg.VPCEndpoints {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("VPC endpoint %s listener: %w", id, err)
		}
		s.vpceLns[id] = ln
	}
	if err := s.setupACME(); err != nil {
		s.closeListeners()
		return nil, err
	}
	started = true
	return s, nil
}

func (s *Server) closeListeners() {
	s.dataLn.Close()
	s.adminLn.Close()
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	for _, ln := range s.vpceLns {
		ln.Close()
	}
}

// VPCEndpointAddr is the address of a VPC endpoint's listener, or "".
func (s *Server) VPCEndpointAddr(id string) string {
	if ln := s.vpceLns[id]; ln != nil {
		return ln.Addr().String()
	}
	return ""
}

// DataAddr is the data listener's address.
func (s *Server) DataAddr() string { return s.dataLn.Addr().String() }

// AdminAddr is the admin listener's address.
func (s *Server) AdminAddr() string { return s.adminLn.Addr().String() }

// settle loads or creates the account id and the root credentials.
func (s *Server) settle(ctx context.Context) error {
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		if err := checkKey(ctx, tx, s.masterKey, s.keySource); err != nil {
			return err
		}
		b, err := tx.Get(ctx, model.KindMeta, "account")
		switch {
		case err == nil:
			s.AccountID = string(b)
		case errors.Is(err, store.ErrNotFound):
			s.AccountID = randomDigits(12)
			if err := tx.Put(ctx, model.KindMeta, "account", []byte(s.AccountID)); err != nil {
				return err
			}
		default:
			return err
		}
		if s.cfg.RootAccessKeyID != "" || s.cfg.RootSecretAccessKey != "" {
			if s.cfg.RootAccessKeyID == "" || s.cfg.RootSecretAccessKey == "" {
				return errors.New("set both APIGW_ROOT_ACCESS_KEY_ID and APIGW_ROOT_SECRET_ACCESS_KEY, or neither")
			}
			s.Root = RootCredentials{s.cfg.RootAccessKeyID, s.cfg.RootSecretAccessKey}
			return nil
		}
		// The root secret is kept sealed with the master key, like every
		// other secret.
		var sealed struct {
			AccessKeyID string `json:"accessKeyId"`
			Secret      []byte `json:"sealedSecret"`
		}
		b, err = tx.Get(ctx, model.KindMeta, "root")
		if err == nil {
			if err := json.Unmarshal(b, &sealed); err != nil {
				return err
			}
			secret, err := iam.OpenSecret(s.masterKey, sealed.Secret, "meta/root")
			if err != nil {
				return fmt.Errorf("root credentials: %w (is the master key the one this store was created with?)", err)
			}
			s.Root = RootCredentials{sealed.AccessKeyID, secret}
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		s.Root = RootCredentials{AccessKeyID: "AKIA" + randomFrom(16, upperDigits), SecretAccessKey: randomFrom(40, secretChars)}
		sealed.AccessKeyID = s.Root.AccessKeyID
		if sealed.Secret, err = iam.SealSecret(s.masterKey, s.Root.SecretAccessKey, "meta/root"); err != nil {
			return err
		}
		b, _ = json.Marshal(sealed)
		if err := tx.Put(ctx, model.KindMeta, "root", b); err != nil {
			return err
		}
		return s.announce()
	})
	var mismatch *SecretKeyMismatchError
	if err != nil && !errors.As(err, &mismatch) {
		return fmt.Errorf("settle account: %w", err)
	}
	return err
}

// announce prints freshly generated root credentials once and writes them
// as an AWS shared-credentials file (profile apigw) and config file.
func (s *Server) announce() error {
	creds := fmt.Sprintf("[apigw]\naws_access_key_id = %s\naws_secret_access_key = %s\nregion = %s\n",
		s.Root.AccessKeyID, s.Root.SecretAccessKey, s.cfg.Region)
	path := filepath.Join(s.cfg.DataDir, "credentials")
	if err := os.WriteFile(path, []byte(creds), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	conf := fmt.Sprintf("[profile apigw]\nregion = %s\noutput = json\n", s.cfg.Region)
	if err := os.WriteFile(filepath.Join(s.cfg.DataDir, "config"), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	fmt.Fprintf(s.cfg.Out, "apigw: generated root credentials (shown once, also in %s):\n  access key id:     %s\n  secret access key: %s\n",
		path, s.Root.AccessKeyID, s.Root.SecretAccessKey)
	return nil
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomFrom(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, _ := rand.Int(rand.Reader, max)
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

func randomDigits(n int) string {
	s := randomFrom(n, "0123456789")
	if s[0] == '0' {
		s = "1" + s[1:]
	}
	return s
}

// Run serves both listeners until ctx ends, then shuts down gracefully:
// listeners close at once, requests in flight finish.
func (s *Server) Run(ctx context.Context) error {
	defer s.store.Close() // and the data dir's lock: after the quota counters
	// The gateway's request limits, not net/http's, decide what a head may
	// hold (net/http answers a plain-text 431 past its own).
	headBytes := s.Gateway.Limits.HeadBytes()
	data := &http.Server{
		Handler:           s.dataHandler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    headBytes,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	admin := &http.Server{
		Handler:           closeAfterChunked(s.AdminHandler()),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	syncCtx, stopSync := context.WithCancel(context.Background())
	defer stopSync()
	go s.Gateway.Run(syncCtx)
	go s.IAM.Run(syncCtx)
	if s.ACM.ACME != nil {
		go s.ACM.ACME.Run(syncCtx)
	}

	servers := []*http.Server{data, admin}
	errc := make(chan error, 3+len(s.vpceLns))
	go func() { errc <- data.Serve(s.dataLn) }()
	go func() { errc <- admin.Serve(s.adminLn) }()
	for id, ln := range s.vpceLns {
		id := id
		v := &http.Server{
			Handler:           s.dataHandler(),
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    headBytes,
			ErrorLog:          data.ErrorLog,
			BaseContext:       func(net.Listener) context.Context { return gateway.WithVPCEndpoint(context.Background(), id) },
		}
		servers = append(servers, v)
		go func() { errc <- v.Serve(ln) }()
	}
	if s.tlsLn != nil {
		secure := &http.Server{
			Handler:           s.Gateway,
			TLSConfig:         s.withACMEChallenges(s.Certificates.TLSConfig()),
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    headBytes,
			ErrorLog:          data.ErrorLog,
		}
		servers = append(servers, secure)
		go func() { errc <- secure.ServeTLS(s.tlsLn, "", "") }()
		attrs := []any{"tls", s.TLSAddr()}
		if s.LocalCA != nil {
			attrs = append(attrs, "localCA", s.LocalCA.CertFile)
		}
		s.cfg.Log.Info("apigw serving HTTPS (HTTP/1.1 and HTTP/2)", attrs...)
	}
	// One line says which node this is, on which store and which Redis.
	redisState := "none: limits are local to this node"
	if r, ok := s.Limiter.(*limit.Redis); ok {
		state := "answers"
		if !r.Shared() {
			state = "unreachable"
		}
		redisState = fmt.Sprintf("%s prefix %s (%s, %d nodes, on failure %s)", redactURL(s.cfg.Redis),
			cmp.Or(s.cfg.RedisPrefix, "apigw:"), state, r.Nodes(), cmp.Or(s.cfg.RedisFailure, "open"))
	}
	s.cfg.Log.Info("apigw serving", "node", s.node, "store", s.store.kind+" "+s.store.desc, "redis", redisState,
		"data", s.DataAddr(), "admin", s.AdminAddr(), "region", s.cfg.Region, "account", s.AccountID, "secret key", s.keySource)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var err error
	for _, srv := range servers {
		err = errors.Join(err, srv.Shutdown(shutCtx))
	}
	// With no request left, quota counters are written back exactly, and
	// function workers stop.
	err = errors.Join(err, s.Limiter.Close(shutCtx))
	if s.cacheRedis != nil {
		err = errors.Join(err, s.cacheRedis.Close())
	}
	s.Lambda.Wait()
	err = errors.Join(err, s.host.Close())
	if s.Gateway.AccessLog != nil {
		s.Gateway.AccessLog.Close()
		if s.accessLogFile != nil {
			err = errors.Join(err, s.accessLogFile.Close())
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}

// closeAfterChunked closes the connection after answering a request with
// a chunked body. RFC 9112 §6.1 requires it when the request also had a
// Content-Length, which net/http removes before any handler can see it;
// the data plane does the same (gateway.checkHead).
func closeAfterChunked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// AdminHandler serves the admin listener: health, and the AWS-compatible
// services chosen by the service name of the request's SigV4 scope. Every
// call is signed and authorized by the caller's policies (the root may do
// anything).
func (s *Server) AdminHandler() http.Handler {
	apigw := s.Control.Handler()
	lam := s.Lambda.Handler()
	acmH := s.ACM.Handler()
	iamH := s.IAM.IAMHandler(nil)
	stsH := s.IAM.STSHandler(nil)
	// Every answer, refusals before routing included, carries a request id.
	return requestid.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == MetricsPath {
			s.serveMetrics(w, r)
			return
		}
		if r.URL.Path == "/_apigw/health" {
			s.serveHealth(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, lambda.CodePathPrefix) {
			// Deployment package downloads carry their own signature.
			lam.ServeHTTP(w, r)
			return
		}
		scope, _ := sigv4.ParseScope(r)
		service := strings.ToLower(scope.Service)
		fail := func(e *control.Error) {
			switch service {
			case "iam", "sts":
				iam.WriteAuthError(w, service, &sigv4.Error{Code: e.Type, Status: e.Status, Message: e.Message})
			default:
				control.WriteError(w, e)
			}
		}
		if !sigv4.Present(r) {
			if service == "" {
				// No signature to name the service: a Query-protocol call
				// names itself by its Action and Version.
				service = iam.QueryService(r, s.adminAuth.peekForm(r))
			}
			fail(&control.Error{Status: http.StatusForbidden, Type: sigv4.CodeMissingAuthenticationToken, Message: "Missing Authentication Token"})
			return
		}
		// The body is read only once what can be checked without it
		// passed, within the budget of unverified bytes.
		res, body, authErr := s.adminAuth.authenticate(r, service)
		if authErr != nil {
			fail(authErr)
			return
		}
		p, _ := res.Credential.Principal.(*iam.Principal)
		if p == nil {
			fail(&control.Error{Status: http.StatusInternalServerError, Type: "InternalFailure", Message: "Internal server error"})
			return
		}
		r = r.WithContext(iam.WithPrincipal(r.Context(), p))
		r.Body = io.NopCloser(bytes.NewReader(body))
		switch service {
		case "apigateway":
			// apigateway:{METHOD} on arn:aws:apigateway:{region}::{path};
			// apigatewayv2's paths are named without their /v2 prefix.
			resource := "arn:aws:apigateway:" + s.cfg.Region + "::" + strings.TrimPrefix(r.URL.Path, "/v2")
			if err := s.IAM.Authorize(r.Context(), p, "apigateway:"+r.Method, resource, s.IAM.HTTPRequestContext(r, nil)); err != nil {
				if iam.IsAccessDenied(err) {
					control.WriteError(w, &control.Error{Status: http.StatusForbidden, Type: "AccessDeniedException", Message: err.Error()})
					return
				}
				s.cfg.Log.Error("authorization failed", "err", err)
				control.WriteError(w, &control.Error{Status: http.StatusInternalServerError, Type: "InternalFailure", Message: "Internal server error"})
				return
			}
			apigw.ServeHTTP(w, r)
		case "iam":
			iamH.ServeHTTP(w, r) // authorizes each action on its own resource
		case "sts":
			stsH.ServeHTTP(w, r)
		case "lambda":
			lam.ServeHTTP(w, r) // authorizes each operation on its function
		case "acm":
			acmH.ServeHTTP(w, r) // authorizes each operation on its certificate

		default:
			control.WriteError(w, &control.Error{Status: http.StatusBadRequest, Type: "UnknownServiceException",
				Message: fmt.Sprintf("apigw does not serve the %q service on this endpoint", res.Service)})
		}
	}))
}

// invokeURL returns the stage URL generated SDKs call: base with {apiId}
// replaced, or the data listener's path-style URL (on 127.0.0.1 when it
// listens on every address), then /{stage}.
func invokeURL(base string, data net.Addr) func(apiID, stage string) string {
	if base == "" {
		host, port, _ := net.SplitHostPort(data.String())
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		base = "http://" + net.JoinHostPort(host, port) + "/_aws/execute-api/{apiId}"
	}
	base = strings.TrimSuffix(base, "/")
	return func(apiID, stage string) string {
		return strings.ReplaceAll(base, "{apiId}", apiID) + "/" + stage
	}
}
