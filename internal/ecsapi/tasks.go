package ecsapi

import (
	"context"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func (a *API) registerTasks(s *awsproto.Service) {
	awsproto.Handle(s, "RunTask", a.RunTask)
	awsproto.Handle(s, "StartTask", a.StartTask)
	awsproto.Handle(s, "StopTask", a.StopTask)
	awsproto.Handle(s, "DescribeTasks", a.describeTasksWire)
	awsproto.Handle(s, "ListTasks", a.ListTasks)
	awsproto.Handle(s, "SubmitTaskStateChange", a.SubmitTaskStateChange)
	awsproto.Handle(s, "SubmitContainerStateChange", a.SubmitContainerStateChange)
	awsproto.Handle(s, "ExecuteCommand", a.ExecuteCommand)
}

// Task statuses as the Task shape spells them (the model has no enum).
const (
	taskProvisioning   = "PROVISIONING"
	taskPending        = "PENDING"
	taskActivating     = "ACTIVATING"
	taskRunning        = "RUNNING"
	taskDeactivating   = "DEACTIVATING"
	taskStopping       = "STOPPING"
	taskDeprovisioning = "DEPROVISIONING"
	taskStopped        = "STOPPED"
)

func (a *API) RunTask(ctx context.Context, in *model.RunTaskRequest) (*model.RunTaskResponse, error) {
	count, err := validateCount(in.Count)
	if err != nil {
		return nil, err
	}
	if err := validateClientToken(in.ClientToken); err != nil {
		return nil, err
	}
	distinct, err := validatePlacementConstraints(in.PlacementConstraints)
	if err != nil {
		return nil, err
	}
	if err := validatePlacementStrategy(in.PlacementStrategy); err != nil {
		return nil, err
	}
	l, err := a.prepareLaunch(ctx, launchInput{
		Cluster: in.Cluster, TaskDefinition: in.TaskDefinition, Group: in.Group, StartedBy: in.StartedBy,
		Overrides: in.Overrides, Tags: in.Tags, PropagateTags: in.PropagateTags,
		EnableECSManagedTags: in.EnableECSManagedTags, EnableExecuteCommand: in.EnableExecuteCommand,
		NetworkConfiguration: in.NetworkConfiguration, VolumeConfigurations: in.VolumeConfigurations,
	}, 128)
	if err != nil {
		return nil, err
	}
	var strategy []model.CapacityProviderStrategyItem
	if l.launchType, strategy, err = resolveCapacity(l.cluster, in.LaunchType, in.CapacityProviderStrategy); err != nil {
		return nil, err
	}
	if err := checkPlatformVersion(in.PlatformVersion, l.launchType); err != nil {
		return nil, err
	}
	if err := checkAwsvpc(l.td, l.launchType, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	l.network = in.NetworkConfiguration
	if err := checkLaunchType(l.td, l.launchType); err != nil {
		return nil, err
	}
	if n := len(in.PlacementConstraints) + len(l.td.PlacementConstraints); n > maxConstraints {
		return nil, invalidParam("At most %d placement constraints are allowed per task, counting the task definition's; got %d.", maxConstraints, n)
	}
	l.token = in.ClientToken
	l.constraints = in.PlacementConstraints
	l.strategies = in.PlacementStrategy
	if l.waitFor, err = waitForCapacity(in.Tags, l.cluster.Tags); err != nil {
		return nil, err
	}
	hash := ""
	if l.token != "" {
		hash = runTaskHash(l.cluster.ClusterName, in)
	}
	if len(strategy) > 0 {
		return a.runStrategy(ctx, l, strategy, count, distinct, hash)
	}
	if l.launchType == model.LaunchTypeFargate && l.waitFor == 0 {
		l.waitFor = defaultCapacityWait
	}
	var out *model.RunTaskResponse
	err = retry(ctx, func() error {
		var err error
		out, err = a.runOnce(ctx, l, count, distinct, hash)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// runOnce is one attempt of a launch: replay a known clientToken, or hand
// the launch to the cluster's placement worker (placer.go), which places it
// with the scheduler and commits it with the instances' new remaining
// resources on the condition that nothing it read has changed. A conflict
// comes back as a store conflict, for the caller's retry loop.
func (a *API) runOnce(ctx context.Context, l *taskLaunch, count int, distinct bool, hash string) (*model.RunTaskResponse, error) {
	cluster := l.cluster.ClusterName
	job := &placeJob{l: l, count: count}
	if l.token != "" {
		key := runTaskTokenKey(cluster, l.token)
		rec, _, err := state.Get[runTaskToken](ctx, a.st, key)
		if err == nil {
			return a.replayRunTask(ctx, cluster, rec, hash)
		}
		if !isNotFound(err) {
			return nil, err
		}
		job.tokenKey, job.tokenHash = key, hash
	}
	constraints := l.constraints
	if distinct {
		constraints = append(slices.Clone(constraints), model.PlacementConstraint{Type: model.PlacementConstraintTypeDistinctInstance})
	}
	defaults := l.defaultStrategies
	if defaults == nil {
		defaults = scheduler.RunTaskDefaultStrategies()
	}
	req, err := schedRequest(l, count, constraints, l.strategies, defaults)
	if err != nil {
		return nil, err
	}
	job.req = req
	return a.placerFor(cluster).place(ctx, job)
}

func (a *API) StartTask(ctx context.Context, in *model.StartTaskRequest) (*model.StartTaskResponse, error) {
	if len(in.ContainerInstances) == 0 {
		return nil, invalidParam("containerInstances is required: give the IDs or ARNs of up to %d container instances, one task is started on each.", maxStartTaskTargets)
	}
	if len(in.ContainerInstances) > maxStartTaskTargets {
		return nil, invalidParam("StartTask takes at most %d container instances; got %d.", maxStartTaskTargets, len(in.ContainerInstances))
	}
	refs := make([]string, len(in.ContainerInstances))
	arnClusters := make([]string, len(in.ContainerInstances))
	for i, ref := range in.ContainerInstances {
		c, id, err := parseInstanceRef(ref)
		if err != nil {
			return nil, err
		}
		arnClusters[i], refs[i] = c, id
	}
	l, err := a.prepareLaunch(ctx, launchInput{
		Cluster: in.Cluster, TaskDefinition: in.TaskDefinition, Group: in.Group, StartedBy: in.StartedBy,
		Overrides: in.Overrides, Tags: in.Tags, PropagateTags: in.PropagateTags,
		EnableECSManagedTags: in.EnableECSManagedTags, EnableExecuteCommand: in.EnableExecuteCommand,
		NetworkConfiguration: in.NetworkConfiguration, VolumeConfigurations: in.VolumeConfigurations,
	}, 36)
	if err != nil {
		return nil, err
	}
	l.launchType = model.LaunchTypeEc2
	if err := checkLaunchType(l.td, l.launchType); err != nil {
		return nil, err
	}
	var out *model.StartTaskResponse
	err = retry(ctx, func() error {
		var err error
		out, err = a.startOnce(ctx, l, arnClusters, refs)
		return err
	})
	return out, err
}

// startOnce is one optimistic attempt of StartTask. StartTask is the manual
// placement ECS offers to custom schedulers: it checks resources and the
// agent but no placement constraints.
func (a *API) startOnce(ctx context.Context, l *taskLaunch, arnClusters, ids []string) (*model.StartTaskResponse, error) {
	cluster := l.cluster.ClusterName
	_, crev, err := a.activeCluster(ctx, cluster)
	if err != nil {
		return nil, err
	}
	txn := store.Txn{Conds: []store.Cond{{Key: state.ClusterKey(cluster), Revision: crev}}}
	type target struct {
		key   string
		inst  *state.ContainerInstance
		cand  taskCandidate
		taken bool
	}
	targets := map[string]*target{}
	var order []*target
	out := &model.StartTaskResponse{Tasks: []model.Task{}, Failures: []model.Failure{}}
	now := a.timeNow()
	for i, id := range ids {
		arn := a.arns.ContainerInstance(cluster, id)
		if arnClusters[i] != "" && arnClusters[i] != cluster {
			out.Failures = append(out.Failures, model.Failure{Arn: a.arns.ContainerInstance(arnClusters[i], id), Reason: reasonMissing,
				Detail: "the container instance belongs to cluster " + arnClusters[i] + ", not " + cluster})
			continue
		}
		tg := targets[id]
		if tg == nil {
			key := state.InstanceKey(cluster, id)
			inst, rev, err := state.Get[state.ContainerInstance](ctx, a.st, key)
			if isNotFound(err) {
				out.Failures = append(out.Failures, model.Failure{Arn: arn, Reason: reasonMissing, Detail: "no such container instance in cluster " + cluster})
				continue
			}
			if err != nil {
				return nil, err
			}
			tg = &target{key: key, inst: inst, cand: candidateOf(inst)}
			targets[id] = tg
			txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: rev})
		}
		if reason, detail := taskFit(&tg.cand, l.demand, false); reason != "" {
			out.Failures = append(out.Failures, model.Failure{Arn: arn, Reason: reason, Detail: detail})
			continue
		}
		tg.cand.take(l.demand)
		t := a.newTask(l, tg.inst, now)
		reserveOn(tg.inst, l.demand)
		if !tg.taken {
			tg.taken = true
			order = append(order, tg)
		}
		key := state.TaskKey(cluster, taskIDFromKey(t.TaskArn))
		txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: 0})
		txn.Ops = append(txn.Ops, state.Put(key, t))
		out.Tasks = append(out.Tasks, t.Task)
	}
	if len(out.Tasks) == 0 {
		return out, nil
	}
	for _, tg := range order {
		txn.Ops = append(txn.Ops, state.Put(tg.key, tg.inst))
	}
	if l.fence != nil {
		c, err := l.fence()
		if err != nil {
			return nil, err
		}
		txn.Conds = append(txn.Conds, c)
	}
	if _, err := a.st.Commit(ctx, txn); err != nil {
		return nil, err
	}
	return out, nil
}

// parseTaskRef accepts a task ID or ARN (long form task/CLUSTER/ID, or the
// old short form task/ID) and returns the cluster named in the ARN ("" when
// none) and the ID.
func parseTaskRef(ref string) (cluster, id string, err error) {
	s := ref
	if strings.HasPrefix(ref, "arn:") {
		p, perr := ParseARN(ref)
		if perr != nil || p.Type != "task" || len(p.Parts) < 1 || len(p.Parts) > 2 {
			return "", "", invalidParam("Task Identifier is invalid: %q is not a task ID or an ARN of the form arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID.", ref)
		}
		if len(p.Parts) == 2 {
			cluster = p.Parts[0]
		}
		s = p.Parts[len(p.Parts)-1]
	}
	if !validTaskID(s) {
		return "", "", invalidParam("Task Identifier is invalid: %q is not a task ID (up to 64 letters and digits) or a task ARN.", ref)
	}
	return cluster, s, nil
}

func validTaskID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// taskInCluster resolves a task reference within the request's cluster.
func taskInCluster(cluster, ref string) (string, error) {
	arnCluster, id, err := parseTaskRef(ref)
	if err != nil {
		return "", err
	}
	if arnCluster != "" && arnCluster != cluster {
		return "", invalidParam("Task %s belongs to cluster %s, not %s: pass cluster %s.", ref, arnCluster, cluster, arnCluster)
	}
	return id, nil
}

func (a *API) StopTask(ctx context.Context, in *model.StopTaskRequest) (*model.StopTaskResponse, error) {
	if in.Task == "" {
		return nil, invalidParam("task is required: give the ID or ARN of the task to stop.")
	}
	if err := validateReason(in.Reason); err != nil {
		return nil, err
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
	var out *model.Task
	err = retry(ctx, func() error {
		t, rev, err := state.Get[state.Task](ctx, a.st, key)
		if isNotFound(err) {
			return invalidParam("The referenced task was not found. Check the task ID and that it runs in cluster %s; stopped tasks are kept only for a while.", c.ClusterName)
		}
		if err != nil {
			return err
		}
		if t.DesiredStatus == taskStopped {
			out = &t.Task // already stopping: StopTask is idempotent
			return nil
		}
		now := a.timeNow()
		t.DesiredStatus = taskStopped
		t.StopCode = model.TaskStopCodeUserInitiated
		t.StoppedReason = in.Reason
		if t.StoppedReason == "" {
			t.StoppedReason = "Task stopped by user"
		}
		t.StoppedByUser = true
		t.StoppingAt = now
		// ECS deletes a task's tags when it is stopped.
		t.Tags = nil
		orphan, err := a.orphaned(ctx, t)
		if err != nil {
			return err
		}
		if orphan {
			// No agent will ever report this task: it stops here.
			markStopped(t, now)
		}
		t.Version = model.Ptr(model.Val(t.Version) + 1)
		if _, err := a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: rev}},
			Ops:   []store.Op{state.Put(key, t)},
		}); err != nil {
			return err
		}
		out = &t.Task
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.StopTaskResponse{Task: out}, nil
}

// orphaned reports whether no agent will report the task any more: it was
// never placed, or its instance is gone. Such a task holds no resources that
// anyone could still use, so it stops without a release.
func (a *API) orphaned(ctx context.Context, t *state.Task) (bool, error) {
	if t.InstanceID == "" {
		return true, nil
	}
	_, cluster, err := clusterOfTask(t.TaskArn)
	if err != nil {
		return false, err
	}
	inst, _, err := state.Get[state.ContainerInstance](ctx, a.st, state.InstanceKey(cluster, t.InstanceID))
	if isNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return inst.Status == "INACTIVE", nil
}

// clusterOfTask returns the ID and cluster name of a stored task's ARN.
func clusterOfTask(taskArn string) (id, cluster string, err error) {
	cluster, id, err = parseTaskRef(taskArn)
	if err == nil && cluster == "" {
		err = errServer("stored task %s has no cluster in its ARN", taskArn)
	}
	return id, cluster, err
}
