package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/server"
)

type upOptions struct {
	listen, dataDir string
	rateLimitScale  float64
	dnsListen       string
}

func upCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole cluster on this machine: the control plane and an agent on the local Docker",
		Long: `Run a whole cluster on this machine: the control plane and an agent on the local Docker.

Requests are signed with a root key: WHARF_ACCESS_KEY_ID and
WHARF_SECRET_ACCESS_KEY when set, else a key generated on first start and
kept in the data directory. wharf up prints the aws configure lines.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			return runUp(cmd.Context(), log, o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the API")
	cmd.Flags().StringVar(&o.dataDir, "data-dir", "wharf-data", "directory of the store, the root key and the agent's identity")
	cmd.Flags().StringVar(&o.dnsListen, "dns-listen", "", "answer DNS for Cloud Map's private DNS namespaces on this address, e.g. 127.0.0.1:8053")
	cmd.Flags().Float64Var(&o.rateLimitScale, "rate-limit-scale", 1, "per-access-key rate limits as a multiple of ECS's throttling buckets; 0 turns them off")
	return cmd
}

// upCredentials returns the root key of wharf up: the WHARF_* environment's
// when set, else the one kept in dataDir, generated on first start.
func upCredentials(dataDir string) (id, secret string, generated bool, err error) {
	env, err := auth.FromEnv()
	if err != nil {
		return "", "", false, err
	}
	for k, v := range env {
		return k, v.Secret, false, nil
	}
	path := filepath.Join(dataDir, "root-key.json")
	var saved struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
	}
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &saved); err != nil || saved.AccessKeyID == "" || saved.SecretAccessKey == "" {
			return "", "", false, fmt.Errorf("%s is not a key file; remove it to have a new key generated", path)
		}
		return saved.AccessKeyID, saved.SecretAccessKey, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", "", false, err
	}
	saved.AccessKeyID, saved.SecretAccessKey = auth.NewAccessKey()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", "", false, err
	}
	b, _ = json.MarshalIndent(saved, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return "", "", false, fmt.Errorf("save the generated key: %w", err)
	}
	return saved.AccessKeyID, saved.SecretAccessKey, true, nil
}

func runUp(ctx context.Context, log *slog.Logger, o upOptions, out io.Writer) error {
	rt, err := docker.New(docker.Options{})
	if err != nil {
		return err
	}
	keyID, secret, generated, err := upCredentials(o.dataDir)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Listen:  o.listen,
		DataDir: filepath.Join(o.dataDir, "server"),
		Log:     log.With("role", "server"),
		Credentials: auth.StaticCredentials{keyID: {Secret: secret,
			Principal: &auth.Principal{Kind: auth.Root, Name: auth.RootUser, AccessKeyID: keyID}}},
		RateLimitScale: o.rateLimitScale,
		DNSListen:      o.dnsListen,
	})
	if err != nil {
		return err
	}
	// The server and the agent get their own contexts so that on Ctrl-C the
	// agent stops first and the server still takes its last reports.
	srvCtx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(srvCtx) }()
	stopEarly := func(err error) error {
		stopServer()
		<-srvDone
		return err
	}
	// The embedded agent joins as any agent does, with a join token, and
	// keeps the credential it is issued in its data directory.
	if _, err := srv.API().CreateCluster(ctx, &model.CreateClusterRequest{ClusterName: "default"}); err != nil {
		return stopEarly(fmt.Errorf("create the default cluster: %w", err))
	}
	tok, err := srv.API().CreateJoinToken(ctx, &agentproto.CreateJoinTokenRequest{Cluster: "default", ExpiresInSeconds: 600, Description: "wharf up"})
	if err != nil {
		return stopEarly(fmt.Errorf("create a join token for the local agent: %w", err))
	}
	_, portStr, _ := net.SplitHostPort(srv.Addr())
	port, _ := strconv.Atoi(portStr)
	ag, err := agent.New(agent.Config{
		Endpoint:      srv.URL(),
		Cluster:       "default",
		DataDir:       filepath.Join(o.dataDir, "agent"),
		ReservedPorts: []int{port},
		Runtime:       rt,
		JoinToken:     tok.Token,
		Log:           log.With("role", "agent"),
	})
	if err != nil {
		return stopEarly(err)
	}
	agentCtx, stopAgent := context.WithCancel(context.Background())
	defer stopAgent()
	agentDone := make(chan error, 1)
	go func() { agentDone <- ag.Run(agentCtx) }()
	go func() {
		for i := 0; i < 200 && ag.InstanceArn() == "" && ctx.Err() == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		// The token has done its work: the agent now holds its own
		// credential.
		_, _ = srv.API().DeleteJoinToken(context.Background(), &agentproto.DeleteJoinTokenRequest{TokenID: tok.JoinToken.TokenID})
		if ag.InstanceArn() == "" {
			return
		}
		keyNote := "the root key from WHARF_ACCESS_KEY_ID"
		if generated {
			keyNote = "a root key generated for this data directory (kept in " + filepath.Join(o.dataDir, "root-key.json") + ")"
		} else if os.Getenv(auth.EnvAccessKeyID) == "" {
			keyNote = "the root key kept in " + filepath.Join(o.dataDir, "root-key.json")
		}
		fmt.Fprintf(out, `
Wharf is up: an ECS control plane at %[1]s and this machine as container instance of cluster "default".
Requests must be signed with %[4]s. Point the aws CLI at it:

  aws configure set aws_access_key_id %[2]s --profile wharf
  aws configure set aws_secret_access_key %[3]s --profile wharf
  aws configure set region us-east-1 --profile wharf
  aws ecs list-container-instances --profile wharf --endpoint-url %[1]s

The web console is at %[1]s/console/ (sign in with the key above).

Press Ctrl-C to stop (tasks keep running and are adopted at the next start).
`, srv.URL(), keyID, secret, keyNote)
	}()
	var runErr error
	agentRunning, serverRunning := true, true
	select {
	case <-ctx.Done():
	case runErr = <-agentDone:
		agentRunning = false
	case runErr = <-srvDone:
		serverRunning = false
	}
	stopAgent()
	if agentRunning {
		if err := <-agentDone; runErr == nil {
			runErr = err
		}
	}
	stopServer()
	if serverRunning {
		if err := <-srvDone; runErr == nil {
			runErr = err
		}
	}
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return runErr
}
