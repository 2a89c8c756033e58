package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// DescribeCapacityScaling answers managed scaling's last readings for a
// cluster's providers and its Fargate pool (beyond ECS, which publishes the
// CapacityProviderReservation metric to CloudWatch).
func (a *API) DescribeCapacityScaling(ctx context.Context, in *agentproto.DescribeCapacityScalingRequest) (*agentproto.DescribeCapacityScalingResponse, error) {
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	items, _, err := state.List[state.CapacityScaling](ctx, a.st, state.CapacityScalingPrefix+c.ClusterName+"/", store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := &agentproto.DescribeCapacityScalingResponse{Cluster: c.ClusterArn, Readings: []agentproto.CapacityScaling{}}
	for _, it := range items {
		r := it.Val
		out.Readings = append(out.Readings, agentproto.CapacityScaling{CapacityProvider: r.Provider,
			CapacityProviderReservation: r.Reservation, InstancesNeeded: r.Needed, InstancesRunning: r.Running,
			DesiredInstances: r.Desired, ProvisioningTasks: r.Provisioning, UpdatedAt: r.UpdatedAt})
	}
	return out, nil
}

// registerCapacityAdmin adds the admin operations of capacity: readings,
// Spot interruptions.
func (a *API) registerCapacityAdmin(s *awsproto.Service) {
	awsproto.Handle(s, agentproto.DescribeCapacityScaling, a.DescribeCapacityScaling)
}
