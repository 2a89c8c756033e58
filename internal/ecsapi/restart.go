package ecsapi

import (
	"context"
	"maps"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/state"
)

// RestartContainer restarts one container of a RUNNING task without
// restarting the task (beyond ECS): it records the request on the task, and
// the task's agent, which sees the change in its next poll answer, stops the
// container (with its stopTimeout) and starts it again. The task keeps its
// ARN, its instance, its other containers and its reservation.
func (a *API) RestartContainer(ctx context.Context, in *agentproto.RestartContainerRequest) (*agentproto.RestartContainerResponse, error) {
	if in.Task == "" || in.Container == "" {
		return nil, invalidParam("task and container are required: give the task's ID or ARN and the name of one of its containers.")
	}
	out, err := a.updateTask(ctx, in.Cluster, in.Task, func(t *state.Task) error {
		if t.LastStatus != "RUNNING" || t.DesiredStatus != "RUNNING" {
			return invalidParam("Task %s is %s (desired %s); only a RUNNING task's containers can be restarted.", t.TaskArn, t.LastStatus, t.DesiredStatus)
		}
		found := false
		var names []string
		for _, ctr := range t.Containers {
			names = append(names, ctr.Name)
			found = found || ctr.Name == in.Container
		}
		if !found {
			return invalidParam("Task %s has no container %q; its containers are %v.", t.TaskArn, in.Container, names)
		}
		restarts := maps.Clone(t.Restarts)
		if restarts == nil {
			restarts = map[string]int{}
		}
		restarts[in.Container]++
		t.Restarts = restarts
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &agentproto.RestartContainerResponse{Task: *out}, nil
}
