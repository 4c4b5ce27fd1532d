// Command apigw is a self-hosted API gateway that behaves like Amazon API
// Gateway. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/apigw/apigw/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := rootCmd().Execute(); err != nil {
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "apigw",
		Short:         "A self-hosted API gateway that behaves like Amazon API Gateway",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(serveCmd(), versionCmd())
	return root
}

// env returns the environment's value for key, or def.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func serveCmd() *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway: data listener, admin listener and store",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.RootAccessKeyID = os.Getenv("APIGW_ROOT_ACCESS_KEY_ID")
			cfg.RootSecretAccessKey = os.Getenv("APIGW_ROOT_SECRET_ACCESS_KEY")
			cfg.Out = cmd.OutOrStdout()
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
	f.StringVar(&cfg.Region, "region", env("APIGW_REGION", "us-east-1"), "AWS region this gateway presents itself as (APIGW_REGION)")
	f.StringVar(&cfg.Store, "store", env("APIGW_STORE", "sqlite"), "state store: sqlite (APIGW_STORE)")
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "apigw", version)
		},
	}
}
