package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
)

func agentCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var cfg agent.Config
	var attrs []string
	var reservedPorts []int
	var caFile, profile string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the container agent: register this machine and run its tasks on Docker",
		Example: `  wharf agent --endpoint http://10.0.0.1:8080 --cluster prod --attribute disk=ssd
  ECS_CLUSTER=prod wharf agent --endpoint http://10.0.0.1:8080
  wharf agent --endpoint https://10.0.0.1:8443 --ca-file ca.pem --cluster prod --join-token "$(cat token)"`,
		Long: `Run the container agent: register this machine and run its tasks on Docker.

Against a server with authentication on, the agent joins with a join token
(--join-token or WHARF_JOIN_TOKEN; an operator creates one with 'wharf
join-token create'): the server issues this instance a credential of its own,
kept in --data-dir. An access key in the AWS_* environment works too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			if cfg.Cluster == "" {
				cfg.Cluster = os.Getenv("ECS_CLUSTER")
			}
			cfg.Attributes, err = parseAttributes(attrs)
			if err != nil {
				return err
			}
			cfg.ReservedPorts = reservedPorts
			cfg.Log = log.With("role", "agent")
			if cfg.JoinToken == "" {
				cfg.JoinToken = os.Getenv("WHARF_JOIN_TOKEN")
			}
			if cfg.JoinToken == "" {
				// An access key (a user's or the root's) from the AWS
				// environment; none: unsigned requests.
				cfg.Credentials, err = awsCredentials(cmd.Context(), profile)
				if err != nil {
					return err
				}
			}
			cfg.HTTPClient, err = httpClient(caFile, 90*time.Second)
			if err != nil {
				return err
			}
			rt, err := docker.New(docker.Options{})
			if err != nil {
				return err
			}
			cfg.Runtime = rt
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Endpoint, "endpoint", "", "control plane URL, e.g. http://127.0.0.1:8080, or the URLs of replicated servers separated by commas to fail over between (required)")
	f.StringVar(&cfg.Cluster, "cluster", "", "cluster to join (default $ECS_CLUSTER, else \"default\", created if missing)")
	f.StringVar(&cfg.DataDir, "data-dir", "wharf-agent-data", "directory that keeps this instance's identity across restarts")
	f.StringArrayVar(&attrs, "attribute", nil, "custom attribute name=value (repeatable)")
	f.Int64Var(&cfg.CPU, "cpu", 0, "CPU units to offer (default 1024 per core)")
	f.Int64Var(&cfg.MemoryMiB, "memory", 0, "memory in MiB to offer (default: the host's less --reserved-memory)")
	f.Int64Var(&cfg.ReservedMiB, "reserved-memory", 256, "MiB kept for the host when --memory is not given")
	f.StringVar(&cfg.Zone, "zone", "local", "availability zone (attribute ecs.availability-zone)")
	f.StringVar(&cfg.InstanceType, "instance-type", "wharf.host", "instance type (attribute ecs.instance-type)")
	f.IntSliceVar(&reservedPorts, "reserved-port", nil, "host ports tasks may not use, beyond 22, 2375, 2376, 51678, 51679")
	f.DurationVar(&cfg.ContainerRetention, "container-retention", 0, "how long stopped containers are kept (default 1h)")
	f.BoolVar(&cfg.PrepullImages, "prepull-images", false, "pull the images of the cluster's active services ahead of their tasks")
	f.StringVar(&cfg.JoinToken, "join-token", "", "join token of the cluster (default $WHARF_JOIN_TOKEN)")
	f.StringVar(&caFile, "ca-file", "", "PEM certificates to trust for an HTTPS endpoint")
	f.StringVar(&profile, "profile", "", "AWS profile to sign with when no join token is given")
	f.StringVar(&cfg.Region, "region", envOr("AWS_REGION", "us-east-1"), "region of the server (in request signatures)")
	_ = cmd.MarkFlagRequired("endpoint")
	return cmd
}

func parseAttributes(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--attribute %q: use name=value", kv)
		}
		out[k] = v
	}
	return out, nil
}
