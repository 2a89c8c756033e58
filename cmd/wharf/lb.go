package main

import (
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/lb"
)

func lbCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var address, endpoint, caFile, profile, region string
	cmd := &cobra.Command{
		Use:   "lb",
		Short: "Run a load balancer node: serve the listeners of the ELBv2 load balancers on this machine",
		Long: `Run a load balancer node: bind the listeners of every load balancer created
with the ELBv2 API (aws elbv2) on this machine and proxy to their targets.

The node long-polls the server for the configuration (load balancers,
listeners, rules, target groups and their targets with the health the
server's checks concluded), signed with an access key from the AWS
environment or --profile: root, or a user allowed wharf:GetLoadBalancerConfig.
Run several behind DNS or a virtual IP to scale out; start the server with
--lb-address off when only these nodes should bind the listeners.`,
		Example: `  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... wharf lb --endpoint http://10.0.0.1:8080
  wharf lb --endpoint https://10.0.0.1:8443 --ca-file ca.pem --address 10.0.0.7 --profile wharf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			if endpoint == "" {
				return errors.New("--endpoint is required: the Wharf server's URL")
			}
			creds, err := awsCredentials(cmd.Context(), profile)
			if err != nil {
				return err
			}
			if creds == nil {
				log.Warn("no AWS credentials found: requests go unsigned, which only a server without authentication accepts")
			}
			hc, err := httpClient(caFile, 90*time.Second)
			if err != nil {
				return err
			}
			node := lb.NewNode(lb.NodeConfig{
				Source:  &lb.Remote{Endpoint: endpoint, Region: region, Credentials: creds, HTTP: hc},
				Address: address,
				Log:     log.With("role", "lb"),
			})
			log.Info("load balancer node following the server", "endpoint", endpoint, "address", address)
			return node.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint", "", "the Wharf server's URL, e.g. http://127.0.0.1:8080 (required)")
	f.StringVar(&address, "address", "", "host address to bind the listeners on (default: every interface)")
	f.StringVar(&caFile, "ca-file", "", "PEM certificates to trust for an HTTPS endpoint")
	f.StringVar(&profile, "profile", "", "AWS profile to sign with")
	f.StringVar(&region, "region", envOr("AWS_REGION", "us-east-1"), "region of the server (in request signatures)")
	return cmd
}
