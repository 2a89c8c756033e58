package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agentproto"
)

// capacityCmd prints managed scaling's readings: the metric ECS publishes
// to CloudWatch as CapacityProviderReservation, per provider of a cluster.
func capacityCmd() *cobra.Command {
	var af adminFlags
	var in agentproto.DescribeCapacityScalingRequest
	cmd := &cobra.Command{
		Use:   "capacity",
		Short: "Show managed scaling: CapacityProviderReservation and instances per capacity provider of a cluster",
		Long: `Show managed scaling's last reading per capacity provider of a cluster (and
its Fargate pool, "fargate-pool"): CapacityProviderReservation = M / N × 100,
where M is the instances the provider's tasks need and N the instances it has.
Managed scaling steers N towards M × 100 / targetCapacity.`,
		Example: "  wharf capacity --cluster prod",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client(cmd.Context())
			if err != nil {
				return err
			}
			var out agentproto.DescribeCapacityScalingResponse
			if err := c.Call(cmd.Context(), agentproto.AdminTargetPrefix+"."+agentproto.DescribeCapacityScaling, in, &out); err != nil {
				return fmt.Errorf("describe capacity scaling: %w", err)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PROVIDER\tRESERVATION\tNEEDED (M)\tRUNNING (N)\tDESIRED\tPROVISIONING TASKS\tUPDATED")
			for _, r := range out.Readings {
				updated := ""
				if r.UpdatedAt != nil {
					updated = r.UpdatedAt.Time.Format("15:04:05")
				}
				fmt.Fprintf(w, "%s\t%d%%\t%d\t%d\t%d\t%d\t%s\n", r.CapacityProvider, r.CapacityProviderReservation,
					r.InstancesNeeded, r.InstancesRunning, r.DesiredInstances, r.ProvisioningTasks, updated)
			}
			return w.Flush()
		},
	}
	af.add(cmd)
	cmd.Flags().StringVar(&in.Cluster, "cluster", "default", "cluster whose providers to show")
	return cmd
}
