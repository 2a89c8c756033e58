package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// updateTask applies fn to a task of a cluster, both given as the request
// gave them, in a read-modify-write loop, bumps its version and returns it
// as written. fn may refuse with an API error.
func (a *API) updateTask(ctx context.Context, clusterRef, taskRef string, fn func(t *state.Task) error) (*model.Task, error) {
	c, _, err := a.activeCluster(ctx, clusterRef)
	if err != nil {
		return nil, err
	}
	id, err := taskInCluster(c.ClusterName, taskRef)
	if err != nil {
		return nil, err
	}
	key := state.TaskKey(c.ClusterName, id)
	var out model.Task
	err = retry(ctx, func() error {
		t, rev, err := state.Get[state.Task](ctx, a.st, key)
		if isNotFound(err) {
			return invalidParam("Task %s was not found in cluster %s.", taskRef, c.ClusterName)
		}
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
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
	return &out, nil
}
