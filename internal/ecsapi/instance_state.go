package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// UpdateContainerInstancesState moves instances between ACTIVE and DRAINING.
// Draining only stops placement here; replacing a draining instance's service
// tasks is the service scheduler's job, which reads the status.
func (a *API) UpdateContainerInstancesState(ctx context.Context, in *model.UpdateContainerInstancesStateRequest) (*model.UpdateContainerInstancesStateResponse, error) {
	if len(in.ContainerInstances) == 0 {
		return nil, invalidParam("containerInstances is required: give 1 to 10 container instance IDs or ARNs.")
	}
	if len(in.ContainerInstances) > 10 {
		return nil, invalidParam("UpdateContainerInstancesState takes at most 10 container instances; got %d.", len(in.ContainerInstances))
	}
	switch in.Status {
	case model.ContainerInstanceStatusActive, model.ContainerInstanceStatusDraining:
	case "":
		return nil, invalidParam("status is required: ACTIVE or DRAINING.")
	default:
		return nil, invalidParam("Container instance status should be one of [ACTIVE, DRAINING]; got %q. Use DeregisterContainerInstance to remove an instance.", in.Status)
	}
	type target struct{ ref, arnCluster, id string }
	var targets []target
	for _, ref := range in.ContainerInstances {
		arnCluster, id, err := parseInstanceRef(ref)
		if err != nil {
			return nil, err
		}
		targets = append(targets, target{ref, arnCluster, id})
	}
	status := string(in.Status)
	var out *model.UpdateContainerInstancesStateResponse
	var changed []*state.ContainerInstance
	var cluster string
	err := retry(ctx, func() error {
		c, _, err := a.activeCluster(ctx, in.Cluster)
		if err != nil {
			return err
		}
		cluster = c.ClusterName
		out = &model.UpdateContainerInstancesStateResponse{ContainerInstances: []model.ContainerInstance{}, Failures: []model.Failure{}}
		changed = nil
		var txn store.Txn
		done := map[string]bool{}
		for _, t := range targets {
			if t.arnCluster != "" && t.arnCluster != c.ClusterName {
				out.Failures = append(out.Failures, model.Failure{Arn: t.ref, Reason: "MISSING",
					Detail: "the ARN names cluster " + t.arnCluster + "; update it with --cluster " + t.arnCluster})
				continue
			}
			if done[t.id] {
				continue
			}
			done[t.id] = true
			key := state.InstanceKey(c.ClusterName, t.id)
			inst, rev, err := state.Get[state.ContainerInstance](ctx, a.st, key)
			if isNotFound(err) {
				out.Failures = append(out.Failures, model.Failure{Arn: a.arns.ContainerInstance(c.ClusterName, t.id), Reason: "MISSING"})
				continue
			}
			if err != nil {
				return err
			}
			switch inst.Status {
			case instanceActive, instanceDraining:
			case instanceInactive:
				out.Failures = append(out.Failures, model.Failure{Arn: inst.ContainerInstanceArn, Reason: "INACTIVE",
					Detail: "the container instance is deregistered; register the agent again to get a new instance"})
				continue
			default:
				out.Failures = append(out.Failures, model.Failure{Arn: inst.ContainerInstanceArn, Reason: inst.Status,
					Detail: "only ACTIVE or DRAINING container instances can change state"})
				continue
			}
			if inst.Status != status {
				inst.Status = status
				inst.Version = model.Ptr(model.Val(inst.Version) + 1)
				txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: rev})
				txn.Ops = append(txn.Ops, state.Put(key, inst))
			}
			changed = append(changed, inst)
		}
		if len(txn.Ops) == 0 {
			return nil
		}
		// One transaction: either every instance changes or, on a race,
		// none does and the whole request is read again.
		_, err = a.st.Commit(ctx, txn)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		views, err := a.instanceViews(ctx, cluster, changed, nil)
		if err != nil {
			return nil, err
		}
		out.ContainerInstances = views
	}
	return out, nil
}
