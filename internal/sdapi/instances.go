package sdapi

import (
	"context"
	"maps"
	"slices"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func instanceNotFound(serviceID, id string) error {
	return awsproto.Errorf(codeInstanceNotFound, "Instance %s is not registered with service %s. List the service's instances with aws servicediscovery list-instances --service-id %s.", id, serviceID, serviceID)
}

// RegisterInstance creates an instance, or updates the attributes of one
// registered with the same ID.
func (a *API) RegisterInstance(ctx context.Context, in *registerInstanceInput) (*operationOutput, error) {
	if err := checkInstanceID(in.InstanceId); err != nil {
		return nil, err
	}
	if err := checkCommon("", in.CreatorRequestId); err != nil {
		return nil, err
	}
	var opID string
	err := retry(ctx, func() error {
		svc, svcRev, err := a.service(ctx, in.ServiceId)
		if err != nil {
			return err
		}
		if err := checkAttributes(in.Attributes, svc); err != nil {
			return err
		}
		inst := &state.CloudMapInstance{ID: in.InstanceId, ServiceID: svc.ID, CreatorRequestID: in.CreatorRequestId,
			Attributes: maps.Clone(in.Attributes), CreateDate: a.timeNow()}
		op := a.newOperation(state.CloudMapOpRegisterInstance, map[string]string{"SERVICE": svc.ID, "INSTANCE": in.InstanceId})
		opID = op.ID
		_, err = a.putInstance(ctx, svc, svcRev, inst, op)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &operationOutput{OperationId: opID}, nil
}

// putInstance writes an instance (with op, the operation record, if any).
// A new instance rewrites its service so that a concurrent DeleteService
// fails its condition; an update keeps the instance's health status, which
// only health reports change. It returns the instance as written.
func (a *API) putInstance(ctx context.Context, svc *state.CloudMapService, svcRev int64, inst *state.CloudMapInstance, op *state.CloudMapOperation) (*state.CloudMapInstance, error) {
	key := state.CloudMapInstanceKey(svc.ID, inst.ID)
	cur, rev, err := state.Get[state.CloudMapInstance](ctx, a.st, key)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	txn := store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}}
	switch {
	case cur != nil:
		inst.CreateDate = cur.CreateDate
		if inst.Health == "" {
			inst.Health = cur.Health
		}
	default:
		txn.Conds = append(txn.Conds, store.Cond{Key: state.CloudMapServiceKey(svc.ID), Revision: svcRev})
		txn.Ops = append(txn.Ops, state.Put(state.CloudMapServiceKey(svc.ID), svc))
	}
	if !svc.CustomHealth {
		inst.Health = ""
	} else if inst.Health == "" {
		inst.Health = state.CloudMapHealthy
		if h := inst.Attributes[state.CloudMapAttrInitHealth]; h != "" {
			inst.Health = h
		}
	}
	txn.Ops = append(txn.Ops, state.Put(key, inst))
	if op != nil {
		txn.Ops = append(txn.Ops, state.Put(state.CloudMapOperationKey(op.ID), op))
	}
	_, err = a.st.Commit(ctx, txn)
	return inst, err
}

func (a *API) DeregisterInstance(ctx context.Context, in *instanceRefInput) (*operationOutput, error) {
	if in.InstanceId == "" {
		return nil, invalid("InstanceId is required.")
	}
	var opID string
	err := retry(ctx, func() error {
		svc, _, err := a.service(ctx, in.ServiceId)
		if err != nil {
			return err
		}
		key := state.CloudMapInstanceKey(svc.ID, in.InstanceId)
		kv, err := a.st.Get(ctx, key)
		if isNotFound(err) {
			return instanceNotFound(svc.ID, in.InstanceId)
		}
		if err != nil {
			return err
		}
		op := a.newOperation(state.CloudMapOpDeregisterInstance, map[string]string{"SERVICE": svc.ID, "INSTANCE": in.InstanceId})
		opID = op.ID
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: kv.Revision}},
			Ops:   []store.Op{state.Delete(key), state.Put(state.CloudMapOperationKey(op.ID), op)},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &operationOutput{OperationId: opID}, nil
}

func (a *API) instanceShape(i *state.CloudMapInstance) instance {
	attrs := i.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	return instance{Id: i.ID, CreatorRequestId: i.CreatorRequestID, Attributes: attrs, CreatedByAccount: a.account}
}

func (a *API) GetInstance(ctx context.Context, in *instanceRefInput) (*getInstanceOutput, error) {
	svc, _, err := a.service(ctx, in.ServiceId)
	if err != nil {
		return nil, err
	}
	if in.InstanceId == "" {
		return nil, invalid("InstanceId is required.")
	}
	inst, _, err := state.Get[state.CloudMapInstance](ctx, a.st, state.CloudMapInstanceKey(svc.ID, in.InstanceId))
	if isNotFound(err) {
		return nil, instanceNotFound(svc.ID, in.InstanceId)
	}
	if err != nil {
		return nil, err
	}
	sh := a.instanceShape(inst)
	return &getInstanceOutput{ResourceOwner: a.account, Instance: &sh}, nil
}

func (a *API) ListInstances(ctx context.Context, in *listInstancesInput) (*listInstancesOutput, error) {
	limit, err := pageLimit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	svc, _, err := a.service(ctx, in.ServiceId)
	if err != nil {
		return nil, err
	}
	list, next, err := scanPage(ctx, a.st, "ListInstances", state.CloudMapInstancesOf(svc.ID), in.NextToken, limit,
		func(*state.CloudMapInstance) bool { return true })
	if err != nil {
		return nil, err
	}
	out := &listInstancesOutput{ResourceOwner: a.account, NextToken: next, Instances: make([]instance, 0, len(list))}
	for _, i := range list {
		out.Instances = append(out.Instances, a.instanceShape(i))
	}
	return out, nil
}

// healthOf is an instance's health as the API reports it: UNKNOWN for a
// service without health checks.
func healthOf(svc *state.CloudMapService, i *state.CloudMapInstance) string {
	if !svc.CustomHealth || i.Health == "" {
		return state.CloudMapUnknown
	}
	return i.Health
}

func (a *API) GetInstancesHealthStatus(ctx context.Context, in *healthStatusInput) (*healthStatusOutput, error) {
	limit, err := pageLimit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	if in.Instances != nil && len(in.Instances) == 0 {
		return nil, invalid("Instances, when given, must list at least one instance ID; omit it for every instance.")
	}
	svc, _, err := a.service(ctx, in.ServiceId)
	if err != nil {
		return nil, err
	}
	list, next, err := scanPage(ctx, a.st, "GetInstancesHealthStatus", state.CloudMapInstancesOf(svc.ID), in.NextToken, limit,
		func(i *state.CloudMapInstance) bool {
			return in.Instances == nil || slices.Contains(in.Instances, i.ID)
		})
	if err != nil {
		return nil, err
	}
	out := &healthStatusOutput{Status: map[string]string{}, NextToken: next}
	for _, i := range list {
		out.Status[i.ID] = healthOf(svc, i)
	}
	for _, id := range in.Instances {
		if _, ok := out.Status[id]; !ok && next == "" {
			return nil, instanceNotFound(svc.ID, id)
		}
	}
	return out, nil
}

// UpdateInstanceCustomHealthStatus sets the health of an instance of a
// service with HealthCheckCustomConfig.
func (a *API) UpdateInstanceCustomHealthStatus(ctx context.Context, in *updateHealthInput) (*empty, error) {
	if in.Status != state.CloudMapHealthy && in.Status != state.CloudMapUnhealthy {
		return nil, invalid("Invalid Status %q: use HEALTHY or UNHEALTHY.", in.Status)
	}
	if in.InstanceId == "" {
		return nil, invalid("InstanceId is required.")
	}
	err := retry(ctx, func() error {
		svc, _, err := a.service(ctx, in.ServiceId)
		if err != nil {
			return err
		}
		if !svc.CustomHealth {
			return awsproto.Errorf(codeCustomHealthNotFound, "Service %s has no custom health check: create the service with HealthCheckCustomConfig to report instance health.", svc.ID)
		}
		key := state.CloudMapInstanceKey(svc.ID, in.InstanceId)
		inst, rev, err := state.Get[state.CloudMapInstance](ctx, a.st, key)
		if isNotFound(err) {
			return instanceNotFound(svc.ID, in.InstanceId)
		}
		if err != nil || inst.Health == in.Status {
			return err
		}
		inst.Health = in.Status
		_, err = a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, inst)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}
