package ecsapi

import (
	"context"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
)

// ExplainPlacement says why each container instance would accept or refuse a
// launch, check by check with the figures, where ECS answers one reason per
// instance and only for failures. It runs the placement engine on a snapshot
// of the cluster as it is and commits nothing.
//
// For an existing task (Task), the launch is rebuilt from the task: its task
// definition, overrides and group, and, for a service's task, the service's
// constraints and strategies; the task's own reservation is given back to its
// instance first, so the answer says whether it would land where it is today.
func (a *API) ExplainPlacement(ctx context.Context, in *agentproto.ExplainPlacementRequest) (*agentproto.ExplainPlacementResponse, error) {
	rt := in.RunTaskRequest
	var task *state.Task
	if in.Task != "" {
		c, _, err := a.activeCluster(ctx, rt.Cluster)
		if err != nil {
			return nil, err
		}
		id, err := taskInCluster(c.ClusterName, in.Task)
		if err != nil {
			return nil, err
		}
		task, _, err = state.Get[state.Task](ctx, a.st, state.TaskKey(c.ClusterName, id))
		if isNotFound(err) {
			return nil, invalidParam("Task %s was not found in cluster %s.", in.Task, c.ClusterName)
		}
		if err != nil {
			return nil, err
		}
		rt = model.RunTaskRequest{Cluster: c.ClusterName, TaskDefinition: task.TaskDefinitionArn, Group: task.Group,
			Overrides: task.Overrides, LaunchType: task.LaunchType,
			PlacementConstraints: task.PlacementConstraints, PlacementStrategy: task.PlacementStrategy}
	}
	count, err := validateCount(rt.Count)
	if err != nil {
		return nil, err
	}
	distinct, err := validatePlacementConstraints(rt.PlacementConstraints)
	if err != nil {
		return nil, err
	}
	if err := validatePlacementStrategy(rt.PlacementStrategy); err != nil {
		return nil, err
	}
	l, err := a.prepareLaunch(ctx, launchInput{Cluster: rt.Cluster, TaskDefinition: rt.TaskDefinition, Group: rt.Group,
		Overrides: rt.Overrides, AllowInactive: task != nil}, 128)
	if err != nil {
		return nil, err
	}
	var strategy []model.CapacityProviderStrategyItem
	if l.launchType, strategy, err = resolveCapacity(l.cluster, rt.LaunchType, rt.CapacityProviderStrategy); err != nil {
		return nil, err
	}
	switch {
	case task != nil && task.CapacityProviderName != "":
		l.capacityProvider = task.CapacityProviderName
	case len(strategy) > 0:
		// The explanation is of the first provider the strategy would use.
		l.capacityProvider = splitStrategy(strategy, 1, nil)[0].provider
	}
	constraints, strategies := rt.PlacementConstraints, rt.PlacementStrategy
	defaults := scheduler.RunTaskDefaultStrategies()
	out := &agentproto.ExplainPlacementResponse{Cluster: l.cluster.ClusterArn, TaskDefinitionArn: l.td.TaskDefinitionArn,
		Group: l.group, CPU: l.demand.CPU, Memory: l.demand.Memory}
	if task != nil {
		out.Task = task.TaskArn
		out.RunsOn = task.ContainerInstanceArn
		if name, ok := serviceOfGroup(task.Group); ok {
			svc, _, err := state.Get[state.Service](ctx, a.st, state.ServiceKey(l.cluster.ClusterName, name))
			if err == nil {
				constraints, strategies = svc.PlacementConstraints, svc.PlacementStrategy
				defaults = scheduler.ServiceDefaultStrategies()
			}
		}
	}
	if distinct {
		constraints = append(slices.Clone(constraints), model.PlacementConstraint{Type: model.PlacementConstraintTypeDistinctInstance})
	}
	req, err := schedRequest(l, count, constraints, strategies, defaults)
	if err != nil {
		return nil, err
	}
	req.Explain = true
	out.Constraints = append(out.Constraints, constraints...)
	for _, c := range l.td.PlacementConstraints {
		out.Constraints = append(out.Constraints, model.PlacementConstraint{Type: model.PlacementConstraintType(c.Type), Expression: c.Expression})
	}
	for _, s := range req.Strategies {
		out.Strategies = append(out.Strategies, model.PlacementStrategy{Type: model.PlacementStrategyType(s.Type), Field: s.Field})
	}
	snap, arns, err := a.explainSnapshot(ctx, l.cluster.ClusterName, task)
	if err != nil {
		return nil, err
	}
	if len(arns) == 0 {
		out.Note = "The cluster has no container instances: register one (wharf agent) and ask again."
		out.Tasks = []agentproto.TaskExplanation{}
		return out, nil
	}
	plan, err := scheduler.Place(snap, &req)
	if err != nil {
		return nil, invalidParam("%v", err)
	}
	for _, p := range plan.Tasks {
		te := agentproto.TaskExplanation{ChosenInstanceArn: p.ARN}
		rejected := map[string]scheduler.Rejection{}
		for _, r := range p.Rejections {
			rejected[r.ARN] = r
		}
		for _, arn := range arns {
			v := agentproto.InstanceVerdict{ContainerInstanceArn: arn, Accepted: true, Chosen: arn == p.ARN}
			if r, ok := rejected[arn]; ok {
				v = agentproto.InstanceVerdict{ContainerInstanceArn: arn, Check: r.Check, Reason: r.Reason, Detail: r.Detail}
			}
			te.Instances = append(te.Instances, v)
		}
		out.Tasks = append(out.Tasks, te)
		if p.ARN == "" {
			break // no later task fits either
		}
	}
	return out, nil
}

// explainSnapshot is the cluster's placement snapshot as the caches hold it
// now, with task's reservation (when given) returned to its instance, and the
// instances' ARNs in order.
func (a *API) explainSnapshot(ctx context.Context, cluster string, task *state.Task) (*scheduler.Snapshot, []string, error) {
	rev, err := a.st.Revision(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := a.index.fresh(ctx, rev); err != nil {
		return nil, nil, err
	}
	entries, err := a.instances.instances(ctx, cluster, rev)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.inst.ID
	}
	groups, active := a.index.instanceTasks(ids)
	insts := make([]scheduler.Instance, len(entries))
	arns := make([]string, len(entries))
	for i, e := range entries {
		si := schedInstance(e.inst, groups[i], active[i])
		if task != nil && task.InstanceID == e.inst.ID && task.Reserved != nil && task.LastStatus != taskStopped {
			si = withoutTask(si, task)
		}
		insts[i] = si
		arns[i] = e.inst.ContainerInstanceArn
	}
	slices.Sort(arns)
	return scheduler.NewSnapshot(insts), arns, nil
}

// withoutTask is si with task's reservation given back.
func withoutTask(si scheduler.Instance, task *state.Task) scheduler.Instance {
	r := task.Reserved
	si.CPU += int64(r.CPU)
	si.Memory += int64(r.Memory)
	drop := func(have []int32, ports []string) []int32 {
		gone := portNumbers(ports)
		return slices.DeleteFunc(slices.Clone(have), func(p int32) bool { return slices.Contains(gone, p) })
	}
	si.PortsTCP = drop(si.PortsTCP, r.PortsTCP)
	si.PortsUDP = drop(si.PortsUDP, r.PortsUDP)
	groups := make(map[string]int, len(si.Groups))
	for k, v := range si.Groups {
		groups[k] = v
	}
	if groups[task.Group] > 0 {
		groups[task.Group]--
	}
	si.Groups = groups
	return si
}

// serviceOfGroup returns the service name of a "service:NAME" task group.
func serviceOfGroup(group string) (string, bool) {
	name, ok := strings.CutPrefix(group, "service:")
	return name, ok && name != ""
}
