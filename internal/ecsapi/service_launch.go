package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/awsproto"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// The service controller starts and stops tasks through these two methods,
// so that a service's tasks are placed and stopped exactly as RunTask,
// StartTask and StopTask do it: one placement, one resource accounting.

// ServiceLaunch asks for tasks of one deployment of a service.
type ServiceLaunch struct {
	Cluster        string
	Service        string // the name; the tasks' group is service:NAME
	DeploymentID   string // ecs-svc/…, the tasks' startedBy
	TaskDefinition string // ARN
	LaunchType     model.LaunchType
	// Count tasks are placed on the cluster's instances (REPLICA).
	Count int
	// Instances, when given, asks for one task on each of these container
	// instance IDs instead (DAEMON); Count is then ignored.
	Instances []string
	// Placement is the service's, applied by the scheduler.
	PlacementConstraints []model.PlacementConstraint
	PlacementStrategy    []model.PlacementStrategy
	Tags                 []model.Tag // the service's tags
	PropagateTags        model.PropagateTags
	EnableECSManagedTags bool
	EnableExecuteCommand bool
	// Fence, when set, is the launching leader's fence: every write of the
	// launch carries the condition it returns, so that a leader that lost
	// its term launches nothing, and an error from it ends the launch.
	Fence func() (store.Cond, error)
}

// ReasonNoInstances is the failure reason LaunchServiceTasks reports when the
// cluster has no ACTIVE container instance at all.
const ReasonNoInstances = "NoContainerInstances"

// serviceLaunchBatch bounds the tasks placed in one transaction, so that a
// large scale-out does not lose every race with the agents' reports that
// touch the same instances.
const serviceLaunchBatch = 10

// LaunchServiceTasks starts tasks for a service deployment and returns the
// ARNs of those it placed and, when it placed fewer than asked, why. An error
// is an awsproto error when the launch itself is invalid (task definition
// gone, cluster deleted) and any other error when the store failed.
func (a *API) LaunchServiceTasks(ctx context.Context, in ServiceLaunch) (launched []string, failures []model.Failure, err error) {
	li := launchInput{
		Cluster:              in.Cluster,
		TaskDefinition:       in.TaskDefinition,
		Group:                state.ServiceGroup(in.Service),
		StartedBy:            in.DeploymentID,
		EnableECSManagedTags: model.Ptr(in.EnableECSManagedTags),
		EnableExecuteCommand: model.Ptr(in.EnableExecuteCommand),
		AllowInactive:        true,
	}
	switch in.PropagateTags {
	case model.PropagateTagsService:
		li.Tags = in.Tags
	case model.PropagateTagsTaskDefinition:
		li.PropagateTags = model.PropagateTagsTaskDefinition
	}
	l, err := a.prepareLaunch(ctx, li, 128)
	if err != nil {
		return nil, nil, err
	}
	svc, err := a.serviceCapacity(ctx, l.cluster.ClusterName, in.Service)
	if err != nil {
		if _, ok := awsproto.AsError(err); !ok {
			return nil, nil, err
		}
		svc = &state.Service{}
	}
	l.network = svc.NetworkConfiguration
	l.fence = in.Fence
	l.launchType = in.LaunchType
	var strategy []model.CapacityProviderStrategyItem
	if l.launchType == "" {
		l.launchType = serviceLaunchType(&svc.Service)
		strategy = svc.CapacityProviderStrategy
	}
	if err := checkLaunchType(l.td, l.launchType); err != nil {
		return nil, nil, err
	}
	if in.EnableECSManagedTags {
		l.tags = append(l.tags, model.Tag{Key: "aws:ecs:serviceName", Value: in.Service})
	}
	if _, err := validatePlacementConstraints(in.PlacementConstraints); err != nil {
		return nil, nil, err
	}
	// The scheduler applies the service's constraints and strategies, with
	// ECS's service default (spread across zones, then instances).
	l.constraints = in.PlacementConstraints
	l.strategies = in.PlacementStrategy
	l.defaultStrategies = scheduler.ServiceDefaultStrategies()
	if len(in.Instances) > 0 {
		var out *model.StartTaskResponse
		err = retry(ctx, func() error {
			var err error
			out, err = a.startOnce(ctx, l, make([]string, len(in.Instances)), in.Instances)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		for _, t := range out.Tasks {
			launched = append(launched, t.TaskArn)
		}
		return launched, out.Failures, nil
	}
	if len(strategy) > 0 {
		return a.launchServiceStrategy(ctx, l, strategy, in.Count)
	}
	if l.launchType == model.LaunchTypeFargate {
		l.waitFor = defaultCapacityWait
	} else if ok, err := a.hasActiveInstance(ctx, l.cluster.ClusterName); err != nil || !ok {
		return nil, []model.Failure{{Arn: l.cluster.ClusterArn, Reason: ReasonNoInstances,
			Detail: "No Container Instances were found in your cluster."}}, err
	}
	for len(launched) < in.Count {
		n := min(in.Count-len(launched), serviceLaunchBatch)
		var out *model.RunTaskResponse
		err = retry(ctx, func() error {
			var err error
			out, err = a.runOnce(ctx, l, n, false, "")
			return err
		})
		if err != nil {
			return launched, nil, err
		}
		for _, t := range out.Tasks {
			launched = append(launched, t.TaskArn)
		}
		if len(out.Tasks) < n {
			return launched, out.Failures, nil
		}
	}
	return launched, nil, nil
}

// hasActiveInstance reads the instance cache, once it reflects every write so
// far, rather than decoding each instance from the store on every launch.
func (a *API) hasActiveInstance(ctx context.Context, cluster string) (bool, error) {
	rev, err := a.st.Revision(ctx)
	if err != nil {
		return false, err
	}
	entries, err := a.instances.instances(ctx, cluster, rev)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.inst.Status == instanceActive && !inFargatePool(e.inst) {
			return true, nil
		}
	}
	return false, nil
}

// StopServiceTask asks for a service task to stop, as StopTask does, with
// stopCode ServiceSchedulerInitiated. Stopping a task that is already
// stopping, or gone, is not an error.
func (a *API) StopServiceTask(ctx context.Context, cluster, taskArn, reason string) error {
	return a.stopServiceTask(ctx, cluster, taskArn, reason, false)
}

// stopServiceTask stops a service task; with drain, a RUNNING task first
// goes DEACTIVATING, its containers left running while load balancers drain
// it (DrainServiceTask).
func (a *API) stopServiceTask(ctx context.Context, cluster, taskArn, reason string, drain bool) error {
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
		if t.DesiredStatus == taskStopped {
			return nil
		}
		now := a.timeNow()
		t.DesiredStatus = taskStopped
		t.StopCode = model.TaskStopCodeServiceSchedulerInitiated
		t.StoppedReason = reason
		// The stop was asked for here: the agent's later report keeps this
		// stop code and reason, as it does for StopTask's.
		t.StoppedByUser = true
		t.StoppingAt = now
		t.Tags = nil
		orphan, err := a.orphaned(ctx, t)
		if err != nil {
			return err
		}
		if orphan {
			markStopped(t, now)
		} else if drain && t.LastStatus == taskRunning {
			t.LastStatus = taskDeactivating
		}
		t.Version = model.Ptr(model.Val(t.Version) + 1)
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: rev}},
			Ops:   []store.Op{state.Put(key, t)},
		})
		return err
	})
}
