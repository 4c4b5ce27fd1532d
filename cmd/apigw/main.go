// Command apigw is a self-hosted API gateway that behaves like Amazon API
// Gateway. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/spf13/cobra"

	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/sigv4"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "apigw:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "apigw",
		Short:         "A self-hosted API gateway that behaves like Amazon API Gateway",
		SilenceUsage:  true,
		SilenceErrors: true, // main prints them, as "apigw: ..."
	}
	root.AddCommand(serveCmd(), presignCmd(), migrateCmd(), versionCmd())
	return root
}

// env returns the environment's value for key, or def.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// envBool reports whether the environment sets key to a true value
// (1, true, yes).
func envBool(key string) bool {
	b, err := strconv.ParseBool(os.Getenv(key))
	return err == nil && b || strings.EqualFold(os.Getenv(key), "yes")
}

// envFloat returns the environment's number for key, or def.
func envFloat(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil && v > 0 {
		return v
	}
	return def
}

func serveCmd() *cobra.Command {
	var cfg server.Config
	var remotes map[string]string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway: data listener, admin listener and store",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.RootAccessKeyID = os.Getenv("APIGW_ROOT_ACCESS_KEY_ID")
			cfg.RootSecretAccessKey = os.Getenv("APIGW_ROOT_SECRET_ACCESS_KEY")
			cfg.Out = cmd.OutOrStdout()
			cfg.LambdaRemotes = remotes
			if len(remotes) > 0 {
				// Remote functions are called with the usual AWS credentials.
				awsCfg, err := config.LoadDefaultConfig(cmd.Context())
				if err != nil {
					return err
				}
				cfg.RemoteCredentials = awsCfg.Credentials
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := server.New(ctx, cfg)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", env("APIGW_DATA_DIR", "./apigw-data"), "directory of the embedded store and generated credentials (APIGW_DATA_DIR)")
	f.StringVar(&cfg.Listen, "listen", env("APIGW_LISTEN", "127.0.0.1:8080"), "data listener address: invoke endpoint (APIGW_LISTEN)")
	f.StringVar(&cfg.AdminListen, "admin-listen", env("APIGW_ADMIN_LISTEN", "127.0.0.1:8081"), "admin listener address: AWS-compatible management API (APIGW_ADMIN_LISTEN)")
	f.StringVar(&cfg.TLSListen, "tls-listen", env("APIGW_TLS_LISTEN", ""), "HTTPS data listener address (HTTP/1.1 and HTTP/2, TLS 1.2+), e.g. 127.0.0.1:8443; off when empty (APIGW_TLS_LISTEN)")
	f.StringVar(&cfg.DomainTarget, "domain-target", env("APIGW_DOMAIN_TARGET", ""), "host name custom domain names report as regionalDomainName/distributionDomainName, where their CNAME points (APIGW_DOMAIN_TARGET); empty: d-{id}.execute-api.{region}.localhost")
	f.StringVar(&cfg.InvokeURL, "invoke-url", env("APIGW_INVOKE_URL", ""), "base URL of a stage in generated SDKs, {apiId} standing for the API's id, /{stage} added, e.g. https://{apiId}.execute-api.example.com (APIGW_INVOKE_URL); empty: http://{listen}/_aws/execute-api/{apiId}")
	f.StringVar(&cfg.TLSCertFile, "tls-cert", env("APIGW_TLS_CERT", ""), "PEM certificate chain the HTTPS listener serves by default; empty: one from apigw's local CA in the data dir (APIGW_TLS_CERT)")
	f.StringVar(&cfg.TLSKeyFile, "tls-key", env("APIGW_TLS_KEY", ""), "PEM private key of --tls-cert (APIGW_TLS_KEY)")
	f.StringVar(&cfg.BackendCAFile, "backend-ca-file", env("APIGW_BACKEND_CA_FILE", ""), "PEM bundle trusted for https:// backends besides the system's roots (APIGW_BACKEND_CA_FILE)")
	f.StringVar(&cfg.ACMEDirectory, "acme-directory", env("APIGW_ACME_DIRECTORY", "https://acme-v02.api.letsencrypt.org/directory"), "ACME directory URL acm request-certificate obtains certificates from (APIGW_ACME_DIRECTORY)")
	f.StringVar(&cfg.ACMEEmail, "acme-email", env("APIGW_ACME_EMAIL", ""), "contact email of the ACME account (APIGW_ACME_EMAIL)")
	f.StringVar(&cfg.ACMECAFile, "acme-ca-file", env("APIGW_ACME_CA_FILE", ""), "PEM bundle trusted for the ACME directory's HTTPS besides the system's roots, for a private ACME CA (APIGW_ACME_CA_FILE)")
	f.StringVar(&cfg.Region, "region", env("APIGW_REGION", "us-east-1"), "AWS region this gateway presents itself as (APIGW_REGION)")
	f.Float64Var(&cfg.AccountRateLimit, "account-rate-limit", envFloat("APIGW_ACCOUNT_RATE_LIMIT", 10000), "account-wide throttle: requests per second (APIGW_ACCOUNT_RATE_LIMIT)")
	f.Int64Var(&cfg.AccountBurstLimit, "account-burst-limit", int64(envFloat("APIGW_ACCOUNT_BURST_LIMIT", 5000)), "account-wide throttle: burst (APIGW_ACCOUNT_BURST_LIMIT)")
	f.IntVar(&cfg.LambdaConcurrency, "lambda-concurrency", int(envFloat("APIGW_LAMBDA_CONCURRENCY", 0)), "most Lambda workers at once, per function and in all; more calls wait for one; 0 = 4 per CPU, bounded by memory (APIGW_LAMBDA_CONCURRENCY)")
	f.IntVar(&cfg.RequestLimits.URLLength, "max-url-length", int(envFloat("APIGW_MAX_URL_LENGTH", gateway.DefaultMaxURLLength)), "longest request URL (path and query) on the data listener, in characters; longer: 414 (APIGW_MAX_URL_LENGTH)")
	f.IntVar(&cfg.RequestLimits.HeaderBytes, "max-header-bytes", int(envFloat("APIGW_MAX_HEADER_BYTES", gateway.DefaultMaxHeaderBytes)), "largest header section on the data listener, in bytes; larger: 431 (APIGW_MAX_HEADER_BYTES)")
	f.IntVar(&cfg.RequestLimits.PrivateHeaderBytes, "max-private-header-bytes", int(envFloat("APIGW_MAX_PRIVATE_HEADER_BYTES", gateway.DefaultMaxPrivateHeaderBytes)), "largest header section on VPC endpoint listeners (private APIs), in bytes (APIGW_MAX_PRIVATE_HEADER_BYTES)")
	f.IntVar(&cfg.RequestLimits.HeaderCount, "max-header-count", int(envFloat("APIGW_MAX_HEADER_COUNT", gateway.DefaultMaxHeaderCount)), "most header fields in a data plane request; more: 431 (APIGW_MAX_HEADER_COUNT)")
	f.StringVar(&cfg.AccessLog, "access-log", env("APIGW_ACCESS_LOG", ""), "write an access log line per request to this file, or - for standard output (APIGW_ACCESS_LOG); stages' accessLogSettings.format applies")
	f.BoolVar(&cfg.MetricsPublic, "metrics-public", envBool("APIGW_METRICS_PUBLIC"), "serve GET /_apigw/metrics on the admin listener without authentication (APIGW_METRICS_PUBLIC)")
	f.StringVar(&cfg.MetricsTokenFile, "metrics-token-file", env("APIGW_METRICS_TOKEN_FILE", ""), "file holding the bearer token GET /_apigw/metrics requires (APIGW_METRICS_TOKEN_FILE)")
	f.StringVar(&cfg.Store, "store", env("APIGW_STORE", "sqlite"), "state store: sqlite ({data-dir}/apigw.db, one process), or postgres://user@host:5432/db shared by several nodes (APIGW_STORE)")
	f.StringVar(&cfg.SecretKeyFile, "secret-key-file", env("APIGW_SECRET_KEY_FILE", ""), "file holding the key that seals the store's secrets, the same on every node (default: APIGW_MASTER_KEY, else {data-dir}/master.key) (APIGW_SECRET_KEY_FILE)")
	f.StringVar(&cfg.Redis, "redis", env("APIGW_REDIS", ""), "share throttles and quotas with the other nodes through this Redis, redis://[:password@]host:port/db (APIGW_REDIS)")
	f.StringVar(&cfg.RedisFailure, "redis-failure", env("APIGW_REDIS_FAILURE", "open"), "while Redis is unreachable: open = local limits, each node admitting its share; closed = answer 503 (APIGW_REDIS_FAILURE)")
	f.Int64Var(&cfg.StageCacheMaxBytes, "stage-cache-max-bytes", int64(envFloat("APIGW_STAGE_CACHE_MAX_BYTES", gateway.DefaultStageCacheMaxBytes)), "most memory one stage's cache uses, in bytes: its cacheClusterSize in GB × 2^30, at most this (APIGW_STAGE_CACHE_MAX_BYTES)")
	f.StringVar(&cfg.RedisPrefix, "redis-prefix", env("APIGW_REDIS_PREFIX", "apigw:"), "prefix of apigw's keys in Redis, one per cluster (APIGW_REDIS_PREFIX)")
	f.StringToStringVar(&remotes, "lambda-remote", nil, "run functions whose ARN starts with a prefix on a Lambda-compatible endpoint, arn-prefix=URL (signed with the usual AWS credentials); repeatable")
	f.StringToStringVar(&cfg.AWSEndpoints, "aws-endpoint", nil, "call an AWS service at this endpoint instead of AWS's, service=URL (e.g. dynamodb=http://127.0.0.1:8000, s3=http://127.0.0.1:9000), for AWS integrations and s3:// truststores; repeatable")
	f.StringToStringVar(&cfg.VpcLinkTargets, "vpc-link-target", nil, "where a VPC link's network load balancer is, arn=host:port: VPC_LINK integrations through a link naming the ARN connect there; repeatable")
	f.Var(vpceFlag{&cfg.VPCEndpoints}, "vpce", "a VPC endpoint as an extra data listener, id=address (e.g. vpce-0abc=127.0.0.1:8090); repeatable")
	return cmd
}

func migrateCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "migrate --from sqlite:./apigw-data --to postgres://...",
		Short: "Copy an installation's store into another (e.g. the embedded one into PostgreSQL)",
		Long: "Copy every record of a store into an empty one: APIs, deployments, keys, plans, usage,\n" +
			"IAM users and their sealed secrets, functions, certificates, domains. Stop apigw serve on the source first.\n" +
			"The nodes of the new store need the source's secret key (its data dir's master.key,\n" +
			"or APIGW_MASTER_KEY).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return fmt.Errorf("migrate needs --from and --to")
			}
			n, err := server.Migrate(cmd.Context(), from, to, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "apigw: copied %d records from %s\n", n, from)
			if dir, ok := strings.CutPrefix(from, "sqlite:"); ok && os.Getenv("APIGW_MASTER_KEY") == "" {
				fmt.Fprintf(cmd.OutOrStdout(), "apigw: give every node the secret key: --secret-key-file %s\n", filepath.Join(dir, "master.key"))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source store: sqlite:DATA-DIR or postgres://...")
	f.StringVar(&to, "to", "", "destination store, empty: postgres://... or sqlite:DATA-DIR")
	return cmd
}

func presignCmd() *cobra.Command {
	var method, profile, region string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "presign URL",
		Short: "Print a presigned (SigV4 query string) URL for a stage path",
		Long: "Print a presigned URL for calling an AWS_IAM method without headers.\n" +
			"Credentials come from the usual AWS places (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/\n" +
			"AWS_SESSION_TOKEN, AWS_PROFILE or --profile with AWS_SHARED_CREDENTIALS_FILE).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			opts := []func(*config.LoadOptions) error{}
			if profile != "" {
				opts = append(opts, config.WithSharedConfigProfile(profile))
			}
			cfg, err := config.LoadDefaultConfig(ctx, opts...)
			if err != nil {
				return err
			}
			if region == "" {
				region = cfg.Region
			}
			if region == "" {
				region = "us-east-1"
			}
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return fmt.Errorf("no AWS credentials: %w", err)
			}
			u, err := sigv4.Presign(ctx, creds, region, method, args[0], expires, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), u)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&method, "method", "GET", "HTTP method the URL is for")
	f.DurationVar(&expires, "expires", 15*time.Minute, "validity (1s to 168h)")
	f.StringVar(&profile, "profile", "", "AWS profile to take credentials from")
	f.StringVar(&region, "region", "", "region of the signature (default: the profile's, else us-east-1)")
	return cmd
}

// vpceFlag parses repeatable --vpce id=address values.
type vpceFlag struct{ m *map[string]string }

func (f vpceFlag) String() string {
	if f.m == nil || *f.m == nil {
		return ""
	}
	var parts []string
	for id, addr := range *f.m {
		parts = append(parts, id+"="+addr)
	}
	return strings.Join(parts, ",")
}

func (f vpceFlag) Set(v string) error {
	id, addr, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(id, "vpce-") || addr == "" {
		return fmt.Errorf("want vpce-{id}=host:port, got %q", v)
	}
	if *f.m == nil {
		*f.m = map[string]string{}
	}
	(*f.m)[id] = addr
	return nil
}

func (f vpceFlag) Type() string { return "id=address" }

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "apigw", version)
		},
	}
}
