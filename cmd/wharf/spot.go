package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agentproto"
)

func spotInterruptCmd() *cobra.Command {
	var af adminFlags
	var in agentproto.InterruptSpotTaskRequest
	cmd := &cobra.Command{
		Use:   "spot-interrupt TASK",
		Short: "Interrupt a FARGATE_SPOT task as a Spot capacity reclaim would (SIGTERM, then SIGKILL after two minutes)",
		Long: `Interrupt a FARGATE_SPOT task on demand, to see how a workload and its
service take a Spot interruption: its containers get SIGTERM now and SIGKILL
after the notice (two minutes unless --notice is shorter), and the task
stops with stopCode SpotInterruption. A service starts a replacement.`,
		Example: "  wharf spot-interrupt 0123456789abcdef --cluster prod --notice 10",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Task = args[0]
			c, err := af.client(cmd.Context())
			if err != nil {
				return err
			}
			var out agentproto.InterruptSpotTaskResponse
			if err := c.Call(cmd.Context(), agentproto.AdminTargetPrefix+"."+agentproto.InterruptSpotTask, in, &out); err != nil {
				return fmt.Errorf("interrupt the Spot task: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "interrupted %s: SIGTERM now, SIGKILL after %ds\n", out.Task.TaskArn, noticeOr(in.NoticeSeconds))
			return nil
		},
	}
	af.add(cmd)
	cmd.Flags().StringVar(&in.Cluster, "cluster", "default", "cluster of the task")
	cmd.Flags().IntVar(&in.NoticeSeconds, "notice", 0, "seconds between SIGTERM and SIGKILL, 1 to 120 (default 120, Fargate Spot's two minutes)")
	return cmd
}

func noticeOr(n int) int {
	if n == 0 {
		return 120
	}
	return n
}
