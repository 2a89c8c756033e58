package ecsapi

import (
	"context"
	"encoding/json"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler/cql"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// instanceTasks returns the tasks placed on an instance that are not STOPPED,
// from one consistent listing of the cluster's tasks.
func (a *API) instanceTasks(ctx context.Context, cluster, id string) ([]state.Item[state.Task], error) {
	items, _, err := state.List[state.Task](ctx, a.st, state.ClusterTasksPrefix(cluster), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []state.Item[state.Task]
	for _, it := range items {
		if it.Val.InstanceID == id && it.Val.LastStatus != "STOPPED" {
			out = append(out, it)
		}
	}
	return out, nil
}

type taskCounts struct{ running, pending int32 }

// add counts a task in its lastStatus, in the classes the task reports keep
// the instance's counts by (countClass): pending before RUNNING, running
// from RUNNING until STOPPED.
func (c *taskCounts) add(lastStatus string) {
	switch countClass(lastStatus) {
	case countPending:
		c.pending++
	case countRunning:
		c.running++
	}
}

// instanceTaskCounts derives each instance's task counts from the cluster's
// tasks, as the cluster's counts are, so that what the API shows is right
// even if the counts kept in an instance document drifted.
func (a *API) instanceTaskCounts(ctx context.Context, cluster string) (map[string]taskCounts, error) {
	kvs, _, err := a.st.List(ctx, state.ClusterTasksPrefix(cluster), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]taskCounts{}
	for _, kv := range kvs {
		var t struct {
			LastStatus string `json:"lastStatus"`
			InstanceID string `json:"wharfInstanceId"`
		}
		if err := json.Unmarshal(kv.Value, &t); err != nil {
			return nil, err
		}
		if t.InstanceID == "" {
			continue
		}
		c := out[t.InstanceID]
		c.add(t.LastStatus)
		out[t.InstanceID] = c
	}
	return out, nil
}

// instanceViews turns stored instances of one cluster into what the API
// returns: counts filled in, tags and health only when asked for.
func (a *API) instanceViews(ctx context.Context, cluster string, insts []*state.ContainerInstance, include map[model.ContainerInstanceField]bool) ([]model.ContainerInstance, error) {
	counts, err := a.instanceTaskCounts(ctx, cluster)
	if err != nil {
		return nil, err
	}
	out := make([]model.ContainerInstance, 0, len(insts))
	for _, inst := range insts {
		v := inst.ContainerInstance
		c := counts[inst.ID]
		v.RunningTasksCount = model.Ptr(c.running)
		v.PendingTasksCount = model.Ptr(c.pending)
		if !include[model.ContainerInstanceFieldTags] {
			v.Tags = nil
		}
		if include[model.ContainerInstanceFieldContainerInstanceHealth] {
			v.HealthStatus = a.instanceHealth(inst)
		}
		out = append(out, v)
	}
	return out, nil
}

// instanceHealth reports what Wharf knows of an instance's health: whether
// its agent keeps polling. The agent's poll doubles as its heartbeat, so
// lastUpdated is the last poll this server saw (registration counts).
func (a *API) instanceHealth(inst *state.ContainerInstance) *model.ContainerInstanceHealthStatus {
	check := model.InstanceHealthCheckResult{Type: model.InstanceHealthCheckTypeAgentConnectivity}
	switch {
	case inst.Status == instanceInactive:
		check.Status = model.InstanceHealthCheckStateInsufficientData
		check.StatusReason = "the container instance is deregistered"
	case model.Val(inst.AgentConnected):
		check.Status = model.InstanceHealthCheckStateOk
	default:
		check.Status = model.InstanceHealthCheckStateImpaired
		check.StatusReason = "the agent has stopped polling the server"
	}
	if t, ok := a.LastSeen(inst.ID); ok {
		check.LastUpdated = model.NewTime(t)
	}
	return &model.ContainerInstanceHealthStatus{OverallStatus: check.Status, Details: []model.InstanceHealthCheckResult{check}}
}

func (a *API) DescribeContainerInstances(ctx context.Context, in *model.DescribeContainerInstancesRequest) (*model.DescribeContainerInstancesResponse, error) {
	if len(in.ContainerInstances) == 0 {
		return nil, invalidParam("containerInstances is required: give 1 to 100 container instance IDs or ARNs (ListContainerInstances lists them).")
	}
	if len(in.ContainerInstances) > 100 {
		return nil, invalidParam("DescribeContainerInstances takes at most 100 container instances; got %d.", len(in.ContainerInstances))
	}
	include := map[model.ContainerInstanceField]bool{}
	for _, f := range in.Include {
		if !f.Valid() {
			return nil, invalidParam("Invalid include value %q: use TAGS or CONTAINER_INSTANCE_HEALTH.", f)
		}
		include[f] = true
	}
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &model.DescribeContainerInstancesResponse{ContainerInstances: []model.ContainerInstance{}, Failures: []model.Failure{}}
	var found []*state.ContainerInstance
	seen := map[string]bool{}
	for _, ref := range in.ContainerInstances {
		arnCluster, id, err := parseInstanceRef(ref)
		switch {
		case err != nil:
			out.Failures = append(out.Failures, model.Failure{Arn: ref, Reason: "MISSING", Detail: "not a container instance ID or ARN"})
			continue
		case arnCluster != "" && arnCluster != c.ClusterName:
			out.Failures = append(out.Failures, model.Failure{Arn: ref, Reason: "MISSING",
				Detail: "the ARN names cluster " + arnCluster + "; describe it with --cluster " + arnCluster})
			continue
		case seen[id]:
			continue
		}
		seen[id] = true
		inst, _, err := state.Get[state.ContainerInstance](ctx, a.st, state.InstanceKey(c.ClusterName, id))
		if isNotFound(err) || err == nil && inFargatePool(inst) {
			out.Failures = append(out.Failures, model.Failure{Arn: a.arns.ContainerInstance(c.ClusterName, id), Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, err
		}
		found = append(found, inst)
	}
	if len(found) > 0 {
		views, err := a.instanceViews(ctx, c.ClusterName, found, include)
		if err != nil {
			return nil, err
		}
		out.ContainerInstances = views
	}
	return out, nil
}

func (a *API) ListContainerInstances(ctx context.Context, in *model.ListContainerInstancesRequest) (*model.ListContainerInstancesResponse, error) {
	limit, err := pageSize(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	if in.Status != "" && !in.Status.Valid() {
		return nil, invalidParam("Invalid status %q: use ACTIVE, DRAINING, REGISTERING, DEREGISTERING or REGISTRATION_FAILED. Deregistered (INACTIVE) instances are not listed; describe them by ID.", in.Status)
	}
	var filter cql.Expr
	if in.Filter != "" {
		if filter, err = parseQuery("filter", in.Filter); err != nil {
			return nil, err
		}
	}
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Filter != "" {
		// Task counts and groups come from the task index: let it catch up
		// with every write made before this request.
		rev, err := a.st.Revision(ctx)
		if err != nil {
			return nil, err
		}
		if err := a.index.fresh(ctx, rev); err != nil {
			return nil, err
		}
	}
	arns, next, err := scan(ctx, a.st, state.ClusterInstancesPrefix(c.ClusterName), in.NextToken, limit, func(kv store.KV) (string, bool, error) {
		var inst state.ContainerInstance
		if err := json.Unmarshal(kv.Value, &inst); err != nil {
			return "", false, err
		}
		keep := inst.Status != instanceInactive && !inFargatePool(&inst)
		if in.Status != "" && keep {
			keep = inst.Status == string(in.Status)
		}
		if keep && in.Filter != "" {
			keep = filter.Eval(a.queryInstance(&inst, filter.UsesTaskGroups()))
		}
		return inst.ContainerInstanceArn, keep, nil
	})
	if err != nil {
		return nil, err
	}
	if arns == nil {
		arns = []string{}
	}
	return &model.ListContainerInstancesResponse{ContainerInstanceArns: arns, NextToken: next}, nil
}
