package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agentproto"
)

func restartContainerCmd() *cobra.Command {
	var af adminFlags
	var in agentproto.RestartContainerRequest
	cmd := &cobra.Command{
		Use:   "restart-container TASK --container NAME",
		Short: "Restart one container of a running task, leaving the task and its other containers running",
		Long: `Restart one container of a RUNNING task in place: its agent stops the container
(SIGTERM, then SIGKILL after its stopTimeout) and starts the same container
again. The task keeps its ARN, instance, reservation and other containers.`,
		Example: "  wharf restart-container arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef --cluster prod --container web",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Task = args[0]
			c, err := af.client(cmd.Context())
			if err != nil {
				return err
			}
			if err := c.Call(cmd.Context(), agentproto.AdminTargetPrefix+"."+agentproto.RestartContainer, in, nil); err != nil {
				return fmt.Errorf("restart container: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "asked the agent to restart container %s of %s\n", in.Container, in.Task)
			return nil
		},
	}
	af.add(cmd)
	cmd.Flags().StringVar(&in.Cluster, "cluster", "default", "cluster of the task")
	cmd.Flags().StringVar(&in.Container, "container", "", "name of the container to restart (required)")
	_ = cmd.MarkFlagRequired("container")
	return cmd
}
