package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
)

// adminFlags are the connection flags of commands that call the control
// plane as an operator.
type adminFlags struct {
	endpoint, profile, caFile, region string
}

func (f *adminFlags) add(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.endpoint, "endpoint", envOr("WHARF_ENDPOINT", "http://127.0.0.1:8080"), "control plane URL (default $WHARF_ENDPOINT)")
	fl.StringVar(&f.profile, "profile", "", "AWS profile whose credentials sign the request (default: the AWS_* environment, then the default profile)")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM certificates to trust for an HTTPS endpoint")
	fl.StringVar(&f.region, "region", envOr("AWS_REGION", "us-east-1"), "region of the signature")
}

func (f *adminFlags) client(ctx context.Context) (*agent.APIClient, error) {
	hc, err := httpClient(f.caFile, time.Minute)
	if err != nil {
		return nil, err
	}
	creds, err := awsCredentials(ctx, f.profile)
	if err != nil {
		return nil, err
	}
	if creds == nil {
		return nil, fmt.Errorf("no AWS credentials to sign with: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --profile (wharf up prints the lines that make a 'wharf' profile)")
	}
	return agent.NewAPIClient(f.endpoint, hc, creds, f.region), nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func joinTokenCmd() *cobra.Command {
	var af adminFlags
	cmd := &cobra.Command{
		Use:   "join-token",
		Short: "Create, list and revoke the tokens agents join a cluster with",
		Long: `Agents join a cluster with a join token: 'wharf agent --join-token TOKEN'.
The server registers the agent's container instance and issues it a credential
of its own, which can act only for that instance. Revoking a token stops new
joins; instances that already joined keep their credentials until they are
deregistered.`,
	}
	af.add(cmd)
	var cluster, description string
	var ttl time.Duration
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create a join token for a cluster (printed once)",
		Example: "  wharf join-token create --cluster prod --ttl 1h --endpoint https://wharf.example:8443",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client(cmd.Context())
			if err != nil {
				return err
			}
			var out agentproto.CreateJoinTokenResponse
			err = c.Call(cmd.Context(), agentproto.AdminTargetPrefix+"."+agentproto.CreateJoinToken,
				agentproto.CreateJoinTokenRequest{Cluster: cluster, ExpiresInSeconds: int64(ttl / time.Second), Description: description}, &out)
			if err != nil {
				return fmt.Errorf("create join token: %w", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, out.Token)
			fmt.Fprintf(cmd.ErrOrStderr(), "join token %s for cluster %s, valid until %s; start agents with:\n  wharf agent --endpoint %s --cluster %s --join-token <token>\n",
				out.JoinToken.TokenID, out.JoinToken.Cluster, out.JoinToken.ExpiresAt.Time.Format(time.RFC3339), af.endpoint, out.JoinToken.Cluster)
			return nil
		},
	}
	create.Flags().StringVar(&cluster, "cluster", "default", "cluster the token registers instances in")
	create.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the token is valid")
	create.Flags().StringVar(&description, "description", "", "a note shown by list")
	list := &cobra.Command{
		Use:   "list",
		Short: "List join tokens (without their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client(cmd.Context())
			if err != nil {
				return err
			}
			var out agentproto.ListJoinTokensResponse
			if err := c.Call(cmd.Context(), agentproto.AdminTargetPrefix+"."+agentproto.ListJoinTokens,
				agentproto.ListJoinTokensRequest{Cluster: cluster}, &out); err != nil {
				return fmt.Errorf("list join tokens: %w", err)
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	list.Flags().StringVar(&cluster, "cluster", "", "only this cluster's tokens")
	del := &cobra.Command{
		Use:   "delete TOKEN-ID",
		Short: "Revoke a join token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client(cmd.Context())
			if err != nil {
				return err
			}
			if err := c.Call(cmd.Context(), agentproto.AdminTargetPrefix+"."+agentproto.DeleteJoinToken,
				agentproto.DeleteJoinTokenRequest{TokenID: args[0]}, nil); err != nil {
				return fmt.Errorf("delete join token: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "join token %s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
