package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/server"
)

func serverCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var cfg server.Config
	var credsFile, auditLog, debugListen string
	var launcher capacityFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: the ECS API on an embedded store",
		Long: `Run the control plane: the ECS API on an embedded store.

Requests are verified with AWS Signature Version 4 against the root key in
WHARF_ACCESS_KEY_ID and WHARF_SECRET_ACCESS_KEY and the users of
--credentials-file. With neither, authentication is off, which is allowed only
on a loopback address (or with --insecure-no-auth).`,
		Example: `  WHARF_ACCESS_KEY_ID=AKIAEXAMPLE WHARF_SECRET_ACCESS_KEY=... \
    wharf server --listen 0.0.0.0:8443 --data-dir ./wharf-data --tls-cert cert.pem --tls-key key.pem
  wharf server --listen 127.0.0.1:8080 --data-dir ./wharf-data --credentials-file users.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			cfg.Log = log
			cfg.Credentials, err = loadCredentials(credsFile)
			if err != nil {
				return err
			}
			if cfg.Capacity, err = launcher.options(cmd.Context(), log); err != nil {
				return err
			}
			if auditLog != "" {
				f, err := os.OpenFile(auditLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
				if err != nil {
					return fmt.Errorf("open --audit-log: %w", err)
				}
				defer f.Close()
				cfg.AuditLog = f
			}
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			if debugListen != "" {
				if err := serveDebug(cmd.Context(), debugListen, log); err != nil {
					return err
				}
			}
			return srv.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	launcher.add(f)
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	f.StringVar(&cfg.DataDir, "data-dir", "wharf-data", "directory for the embedded store")
	f.StringVar(&cfg.Region, "region", "us-east-1", "region in ARNs and in request signatures")
	f.StringVar(&cfg.AccountID, "account-id", "123456789012", "12-digit account ID in ARNs")
	f.DurationVar(&cfg.AgentTimeout, "agent-timeout", time.Minute, "mark an instance disconnected when its agent has not polled for this long")
	f.StringVar(&credsFile, "credentials-file", "", "JSON file of users, their access keys and policies (see docs/security.md)")
	f.BoolVar(&cfg.InsecureNoAuth, "insecure-no-auth", false, "allow serving a non-loopback address with no credentials configured")
	f.StringVar(&cfg.MasterKeyFile, "master-key-file", "", "key sealing secrets at rest and deriving agent credentials (default DATA-DIR/master.key, created if missing)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	f.Float64Var(&cfg.RateLimitScale, "rate-limit-scale", 1, "per-access-key rate limits as a multiple of ECS's throttling buckets; 0 turns them off")
	f.Int32Var(&cfg.MaxStopTimeout, "max-stop-timeout", 120, "largest container stopTimeout (seconds) task definitions may ask for; ECS caps it at 120")
	f.StringVar(&auditLog, "audit-log", "", "append one JSON line per mutating call to this file (default: into the server log)")
	f.StringArrayVar(&cfg.EventWebhooks, "events-webhook", nil, "POST every ECS event (EventBridge JSON) to this URL; repeat for several (see docs/observability.md)")
	f.Int64Var(&cfg.LogStorageLimit, "log-storage-limit", 1<<30, "bytes of container log events to keep (CloudWatch Logs API), oldest deleted first; negative: no limit")
	f.StringVar(&cfg.DNSListen, "dns-listen", "", "UDP and TCP address of the DNS server for Cloud Map's DNS namespaces, e.g. 127.0.0.1:8053 (default: no DNS server)")
	f.StringVar(&cfg.LoadBalancerAddress, "lb-address", "", "host address the load balancers' listeners bind on (default: every interface); \"off\" leaves them to wharf lb nodes (see docs/load-balancing.md)")
	f.StringSliceVar(&cfg.Etcd.Endpoints, "etcd-endpoints", nil, "keep the state in etcd at these client URLs (comma-separated) instead of DATA-DIR/wharf.db, so several servers share it; give every server the same --master-key-file (see docs/ha.md)")
	f.StringVar(&cfg.Etcd.Prefix, "etcd-prefix", "/wharf/", "prefix of every etcd key, to share one etcd between Wharf clusters")
	f.StringVar(&cfg.Etcd.CAFile, "etcd-ca-file", "", "PEM CA certificate(s) to verify the etcd members with")
	f.StringVar(&cfg.Etcd.CertFile, "etcd-cert-file", "", "PEM client certificate to present to etcd")
	f.StringVar(&cfg.Etcd.KeyFile, "etcd-key-file", "", "PEM private key of --etcd-cert-file")
	f.DurationVar(&cfg.AutoScaling.Interval, "autoscaling-interval", 15*time.Second, "how often Service Auto Scaling evaluates scaling policies (see docs/autoscaling.md)")
	f.DurationVar(&cfg.Etcd.LeaseTTL, "leader-lease", 5*time.Second, "with etcd, how long a leader that died or was cut off keeps the others from leading")
	f.StringVar(&debugListen, "debug-listen", "", "loopback address to serve Go's runtime profiles on (net/http/pprof: heap, goroutines, CPU), e.g. 127.0.0.1:6060")
	return cmd
}

// loadCredentials reads the root key from the environment and the users of
// path; nil when there are none (authentication off).
func loadCredentials(path string) (auth.Credentials, error) {
	root, err := auth.FromEnv()
	if err != nil {
		return nil, err
	}
	var chain auth.Chain
	if root != nil {
		chain = append(chain, root)
	}
	if path != "" {
		users, err := auth.LoadUsersFile(path)
		if err != nil {
			return nil, err
		}
		chain = append(chain, users)
	}
	if len(chain) == 0 {
		return nil, nil
	}
	return chain, nil
}
