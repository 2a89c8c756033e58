package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/server"
)

func upCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	var listen, dataDir string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole cluster on this machine: the control plane and an agent on the local Docker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logger()
			if err != nil {
				return err
			}
			return runUp(cmd.Context(), log, listen, dataDir, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the API")
	cmd.Flags().StringVar(&dataDir, "data-dir", "wharf-data", "directory of the store and the agent's identity")
	return cmd
}

func runUp(ctx context.Context, log *slog.Logger, listen, dataDir string, out interface{ Write([]byte) (int, error) }) error {
	rt, err := docker.New(docker.Options{})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Listen: listen, DataDir: filepath.Join(dataDir, "server"), Log: log.With("role", "server")})
	if err != nil {
		return err
	}
	_, portStr, _ := net.SplitHostPort(srv.Addr())
	port, _ := strconv.Atoi(portStr)
	ag, err := agent.New(agent.Config{
		Endpoint:      srv.URL(),
		Cluster:       "default",
		DataDir:       filepath.Join(dataDir, "agent"),
		ReservedPorts: []int{port},
		Runtime:       rt,
		Log:           log.With("role", "agent"),
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
	agentCtx, stopAgent := context.WithCancel(context.Background())
	defer stopAgent()
	agentDone := make(chan error, 1)
	go func() { agentDone <- ag.Run(agentCtx) }()
	go func() {
		for i := 0; i < 200 && ag.InstanceArn() == "" && ctx.Err() == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if ag.InstanceArn() != "" {
			fmt.Fprintf(out, `
Wharf is up: an ECS control plane at %[1]s and this machine as container instance of cluster "default".

  export AWS_ACCESS_KEY_ID=wharf AWS_SECRET_ACCESS_KEY=wharf AWS_DEFAULT_REGION=us-east-1
  aws ecs list-container-instances --endpoint-url %[1]s

Press Ctrl-C to stop (tasks keep running and are adopted at the next start).
`, srv.URL())
		}
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
