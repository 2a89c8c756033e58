package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// A service task behind a load balancer is drained before it stops, as ECS
// does it: the service controller asks for the stop with DrainServiceTask,
// which leaves the task DEACTIVATING (desiredStatus STOPPED) while its
// targets drain; the agent is told to keep running it (PollTasks answers
// desiredStatus RUNNING for a DEACTIVATING task) until FinishDrain moves it
// to STOPPING, when the agent stops its containers.

// DrainServiceTask asks for a service task to stop after its load balancer
// targets drain. A task that is not RUNNING stops at once, as
// StopServiceTask stops it.
func (a *API) DrainServiceTask(ctx context.Context, cluster, taskArn, reason string) error {
	return a.stopServiceTask(ctx, cluster, taskArn, reason, true)
}

// FinishDrain lets a DEACTIVATING task's containers stop: it moves the task
// to STOPPING. Other tasks are left alone.
func (a *API) FinishDrain(ctx context.Context, cluster, taskArn string) error {
	_, id, err := parseTaskRef(taskArn)
	if err != nil {
		return err
	}
	key := state.TaskKey(cluster, id)
	return retry(ctx, func() error {
		t, rev, err := state.Get[state.Task](ctx, a.st, key)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.LastStatus != taskDeactivating {
			return nil
		}
		t.LastStatus = taskStopping
		t.Version = model.Ptr(model.Val(t.Version) + 1)
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: rev}},
			Ops:   []store.Op{state.Put(key, t)},
		})
		return err
	})
}

// agentDesiredStatus is the desiredStatus the agent is told: RUNNING while
// the task drains, so that its containers keep serving requests in flight.
func agentDesiredStatus(t *state.Task) string {
	if t.LastStatus == taskDeactivating && t.DesiredStatus == taskStopped {
		return taskRunning
	}
	return t.DesiredStatus
}
