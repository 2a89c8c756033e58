package ecsapi

import (
	"context"
	"maps"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
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
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	id, err := taskInCluster(c.ClusterName, in.Task)
	if err != nil {
		return nil, err
	}
	key := state.TaskKey(c.ClusterName, id)
	var out model.Task
	err = retry(ctx, func() error {
		t, rev, err := state.Get[state.Task](ctx, a.st, key)
		if isNotFound(err) {
			return invalidParam("Task %s was not found in cluster %s.", in.Task, c.ClusterName)
		}
		if err != nil {
			return err
		}
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
		t.Version = model.Ptr(model.Val(t.Version) + 1)
		if _, err := a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, t)}}); err != nil {
			return err
		}
		out = t.Task
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &agentproto.RestartContainerResponse{Task: out}, nil
}
