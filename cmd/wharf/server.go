package main

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/server"
)

func serverCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: the ECS API on an embedded store",
		Example: `  wharf server --listen 127.0.0.1:8080 --data-dir ./wharf-data
  aws ecs list-clusters --endpoint-url http://127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			cfg.Log = log
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	f.StringVar(&cfg.DataDir, "data-dir", "wharf-data", "directory for the embedded store")
	f.StringVar(&cfg.Region, "region", "us-east-1", "region in ARNs")
	f.StringVar(&cfg.AccountID, "account-id", "123456789012", "12-digit account ID in ARNs")
	f.DurationVar(&cfg.AgentTimeout, "agent-timeout", time.Minute, "mark an instance disconnected when its agent has not polled for this long")
	return cmd
}
