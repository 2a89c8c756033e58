package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
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
	awsproto.Handle(s, agentproto.InterruptSpotTask, a.InterruptSpotTask)
	awsproto.Handle(s, agentproto.StartExecSession, a.StartExecSession)
}

// spotNotice is the warning Fargate Spot gives before it reclaims capacity.
const spotNotice = 120

// InterruptSpotTask interrupts a FARGATE_SPOT task on demand, as a Spot
// capacity reclaim would: its containers get SIGTERM at once and SIGKILL
// after the notice (two minutes), and it stops with stopCode
// SpotInterruption; a service replaces it as it would any stopped task.
func (a *API) InterruptSpotTask(ctx context.Context, in *agentproto.InterruptSpotTaskRequest) (*agentproto.InterruptSpotTaskResponse, error) {
	if in.Task == "" {
		return nil, invalidParam("task is required: give the ID or ARN of a FARGATE_SPOT task.")
	}
	notice := in.NoticeSeconds
	if notice == 0 {
		notice = spotNotice
	}
	if notice < 1 || notice > spotNotice {
		return nil, invalidParam("noticeSeconds must be between 1 and %d; got %d.", spotNotice, in.NoticeSeconds)
	}
	out, err := a.updateTask(ctx, in.Cluster, in.Task, func(t *state.Task) error {
		if t.CapacityProviderName != providerFargateSpot {
			return invalidParam("Task %s does not run on FARGATE_SPOT (its capacity provider is %q): only Fargate Spot tasks can be interrupted.", t.TaskArn, t.CapacityProviderName)
		}
		if t.DesiredStatus == taskStopped {
			return invalidParam("Task %s is already stopping (%s): it cannot be interrupted.", t.TaskArn, t.LastStatus)
		}
		now := a.timeNow()
		t.DesiredStatus = taskStopped
		t.StopCode = model.TaskStopCodeSpotInterruption
		t.StoppedReason = "Your Spot Task was interrupted."
		t.StoppedByUser = true // the agent's report keeps this code and reason
		t.StoppingAt = now
		t.StopGraceSeconds = notice
		orphan, err := a.orphaned(ctx, t)
		if err != nil {
			return err
		}
		if orphan {
			markStopped(t, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &agentproto.InterruptSpotTaskResponse{Task: *out}, nil
}
