package ecsapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

const tdMaxDelete = 10

// DeleteTaskDefinitions moves INACTIVE revisions to DELETE_IN_PROGRESS and
// removes each one as soon as no task still uses it. A revision that cannot
// be deleted is reported in failures while the others go ahead, as in ECS.
func (a *API) DeleteTaskDefinitions(ctx context.Context, in *model.DeleteTaskDefinitionsRequest) (*model.DeleteTaskDefinitionsResponse, error) {
	switch n := len(in.TaskDefinitions); {
	case n == 0:
		return nil, invalidParam("taskDefinitions is required: give up to %d task definitions as family:revision or ARN.", tdMaxDelete)
	case n > tdMaxDelete:
		return nil, invalidParam("DeleteTaskDefinitions takes at most %d task definitions per call; got %d.", tdMaxDelete, n)
	}
	out := &model.DeleteTaskDefinitionsResponse{TaskDefinitions: []model.TaskDefinition{}, Failures: []model.Failure{}}
	for _, ref := range in.TaskDefinitions {
		td, fail, err := a.markForDeletion(ctx, ref)
		if err != nil {
			return nil, err
		}
		if fail != nil {
			out.Failures = append(out.Failures, *fail)
			continue
		}
		out.TaskDefinitions = append(out.TaskDefinitions, *td)
	}
	// Sweeping every pending deletion, not only this call's, is what
	// finishes the ones that were still in use the last time.
	if err := a.sweepTaskDefinitions(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// markForDeletion moves one INACTIVE revision to DELETE_IN_PROGRESS. It
// answers a failure for a reference that cannot be deleted, and an error
// only for a fault of the store.
func (a *API) markForDeletion(ctx context.Context, ref string) (*model.TaskDefinition, *model.Failure, error) {
	family, rev, err := revisionRef("DeleteTaskDefinitions", ref)
	if err != nil {
		return nil, &model.Failure{Arn: ref, Reason: "INVALID", Detail: tdErrDetail(err)}, nil
	}
	arn := a.arns.TaskDefinition(family, rev)
	key := state.TaskDefKey(family, rev)
	var out *model.TaskDefinition
	var fail *model.Failure
	err = retry(ctx, func() error {
		out, fail = nil, nil
		rec, recRev, err := state.Get[state.TaskDefinition](ctx, a.st, key)
		if isNotFound(err) {
			fail = &model.Failure{Arn: arn, Reason: "MISSING", Detail: fmt.Sprintf("Task definition %s:%d does not exist (or its deletion has finished).", family, rev)}
			return nil
		}
		if err != nil {
			return err
		}
		td := &rec.TaskDefinition
		switch td.Status {
		case model.TaskDefinitionStatusActive:
			fail = &model.Failure{Arn: arn, Reason: "ACTIVE", Detail: fmt.Sprintf("Task definition %s:%d is still ACTIVE; deregister it with DeregisterTaskDefinition, then delete it.", family, rev)}
			return nil
		case model.TaskDefinitionStatusDeleteInProgress:
			out = td
			return nil
		}
		td.Status = model.TaskDefinitionStatusDeleteInProgress
		td.DeleteRequestedAt = a.timeNow()
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: recRev}},
			Ops:   []store.Op{state.Put(key, rec)},
		})
		out = td
		return err
	})
	return out, fail, err
}

// tdErrDetail is the message of an API error, for a failure's detail.
func tdErrDetail(err error) string {
	if e, ok := awsproto.AsError(err); ok {
		return e.Message
	}
	return err.Error()
}

// sweepTaskDefinitions removes the DELETE_IN_PROGRESS revisions that no task
// uses any longer. A task stops using its revision when it reaches STOPPED.
// Tasks cannot newly start from a revision in this state, so a revision
// found unused stays unused; the delete is still conditioned on the
// revision's own store revision against a concurrent tag change.
func (a *API) sweepTaskDefinitions(ctx context.Context) error {
	pending, _, err := state.List[tdStatus](ctx, a.st, state.TaskDefsPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	var doomed []state.Item[tdStatus]
	for _, it := range pending {
		if it.Val.TaskDefinition.Status == model.TaskDefinitionStatusDeleteInProgress {
			doomed = append(doomed, it)
		}
	}
	if len(doomed) == 0 {
		return nil
	}
	inUse, err := a.taskDefinitionsInUse(ctx)
	if err != nil {
		return err
	}
	for _, it := range doomed {
		if inUse[it.Val.TaskDefinition.Arn] {
			continue
		}
		_, err := a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: it.Key, Revision: it.Rev}},
			Ops:   []store.Op{state.Delete(it.Key)},
		})
		if err != nil && !store.IsConflict(err) {
			return err
		}
		// A conflict means someone rewrote the record (its tags); the next
		// sweep sees it again.
	}
	return nil
}

// taskDefinitionsInUse returns the ARNs of the task definitions that tasks
// not yet STOPPED were started from.
func (a *API) taskDefinitionsInUse(ctx context.Context) (map[string]bool, error) {
	kvs, _, err := a.st.List(ctx, state.TasksPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	inUse := map[string]bool{}
	for _, kv := range kvs {
		var t struct {
			TaskDefinitionArn string `json:"taskDefinitionArn"`
			LastStatus        string `json:"lastStatus"`
		}
		if err := json.Unmarshal(kv.Value, &t); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		if t.LastStatus != "STOPPED" {
			inUse[t.TaskDefinitionArn] = true
		}
	}
	return inUse, nil
}
