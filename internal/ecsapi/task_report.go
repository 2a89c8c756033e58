package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// The agent's reports of task and container state. Statuses move forward
// only: a report that would move one backwards (a retry that arrives late, a
// restarted agent) is acknowledged and changes nothing, so reports are
// idempotent and may arrive in any order.

const ack = "ACK"

// taskRank orders the task lifecycle; 0 is an unknown status.
var taskRank = map[string]int{
	taskProvisioning: 1, taskPending: 2, taskActivating: 3, taskRunning: 4,
	taskDeactivating: 5, taskStopping: 6, taskDeprovisioning: 7, taskStopped: 8,
}

// containerRank orders the container lifecycle; 0 is an unknown status.
var containerRank = map[string]int{"PENDING": 1, "RUNNING": 2, "STOPPED": 3}

// Which of an instance's counts a task contributes to in a given status.
const (
	countNone = iota
	countPending
	countRunning
)

func countClass(status string) int {
	switch r := taskRank[status]; {
	case r == 0 || status == taskStopped:
		return countNone
	case r < taskRank[taskRunning]:
		return countPending
	default:
		return countRunning
	}
}

func validateContainerChange(name, status string, health model.HealthStatus) error {
	if name == "" {
		return invalidParam("Each container state change needs containerName.")
	}
	if status != "" && containerRank[status] == 0 {
		return invalidParam("Invalid status %q for container %s: use PENDING, RUNNING or STOPPED.", status, name)
	}
	if health != "" && !health.Valid() {
		return invalidParam("Invalid health status %q for container %s: use HEALTHY, UNHEALTHY or UNKNOWN.", health, name)
	}
	return nil
}

func validateTaskReport(in *agentproto.SubmitTaskStateChangeInput) error {
	if in.Task == "" {
		return invalidParam("task is required: give the ID or ARN of the task whose state changed.")
	}
	if in.Status != "" && taskRank[in.Status] == 0 {
		return invalidParam("Invalid task status %q: use PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING or STOPPED.", in.Status)
	}
	if in.StopCode != "" && !in.StopCode.Valid() {
		return invalidParam("Invalid wharfStopCode %q.", in.StopCode)
	}
	if in.HealthStatus != "" && !in.HealthStatus.Valid() {
		return invalidParam("Invalid wharfHealthStatus %q: use HEALTHY, UNHEALTHY or UNKNOWN.", in.HealthStatus)
	}
	for _, c := range in.Containers {
		if err := validateContainerChange(c.ContainerName, c.Status, ""); err != nil {
			return err
		}
	}
	for name, h := range in.ContainerHealth {
		if err := validateContainerChange(name, "", h); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) SubmitTaskStateChange(ctx context.Context, in *agentproto.SubmitTaskStateChangeInput) (*model.SubmitTaskStateChangeResponse, error) {
	if err := validateTaskReport(in); err != nil {
		return nil, err
	}
	err := a.applyReport(ctx, in.Cluster, in.Task, func(t *state.Task, now *model.Time) (bool, error) {
		changed, err := applyTaskReport(t, in, now)
		return a.applyNetworkReport(t, in.NetworkInterface) || changed, err
	})
	if err != nil {
		return nil, err
	}
	return &model.SubmitTaskStateChangeResponse{Acknowledgment: ack}, nil
}

func (a *API) SubmitContainerStateChange(ctx context.Context, in *agentproto.SubmitContainerStateChangeInput) (*model.SubmitContainerStateChangeResponse, error) {
	if in.Task == "" {
		return nil, invalidParam("task is required: give the ID or ARN of the task that holds the container.")
	}
	if err := validateContainerChange(in.ContainerName, in.Status, in.HealthStatus); err != nil {
		return nil, err
	}
	change := model.ContainerStateChange{
		ContainerName: in.ContainerName, RuntimeId: in.RuntimeId, Status: in.Status,
		ExitCode: in.ExitCode, Reason: in.Reason, NetworkBindings: in.NetworkBindings,
	}
	err := a.applyReport(ctx, in.Cluster, in.Task, func(t *state.Task, now *model.Time) (bool, error) {
		return applyContainerReport(t, change, in.HealthStatus)
	})
	if err != nil {
		return nil, err
	}
	return &model.SubmitContainerStateChangeResponse{Acknowledgment: ack}, nil
}

// applyReport runs apply on the task in a read-modify-write loop. When the
// task's status moves, its instance's counts follow and, on STOPPED, the
// task's resources go back to the instance, in the same transaction.
//
// An agent credential may report only for tasks placed on its own instance.
func (a *API) applyReport(ctx context.Context, clusterRef, taskRef string, apply func(*state.Task, *model.Time) (bool, error)) error {
	c, _, err := a.activeCluster(ctx, clusterRef)
	if err != nil {
		return err
	}
	id, err := taskInCluster(c.ClusterName, taskRef)
	if err != nil {
		return err
	}
	key := state.TaskKey(c.ClusterName, id)
	return retry(ctx, func() error {
		t, rev, err := state.Get[state.Task](ctx, a.st, key)
		if isNotFound(err) {
			return invalidParam("The referenced task was not found in cluster %s.", c.ClusterName)
		}
		if err != nil {
			return err
		}
		if ag := auth.AgentFrom(ctx); ag != nil && (ag.Cluster != c.ClusterName || t.InstanceID != ag.InstanceID) {
			return auth.AgentDenied(ag, "report the state of task "+t.TaskArn+", which runs on another instance")
		}
		before := countClass(t.LastStatus)
		wasStopped := t.LastStatus == taskStopped
		changed, err := apply(t, a.timeNow())
		if err != nil || !changed {
			return err
		}
		t.Version = model.Ptr(model.Val(t.Version) + 1)
		txn := store.Txn{
			Conds: []store.Cond{{Key: key, Revision: rev}},
			Ops:   []store.Op{state.Put(key, t)},
		}
		// The store's followers will decode what is written: hand them
		// the values.
		state.Tasks.Remember(key, txn.Ops[0].Value, t)
		after := countClass(t.LastStatus)
		release := !wasStopped && t.LastStatus == taskStopped && t.Reserved != nil
		if t.InstanceID != "" && (before != after || release) {
			ikey := state.InstanceKey(c.ClusterName, t.InstanceID)
			shared, irev, err := state.Instances.Get(ctx, a.st, ikey)
			switch {
			case isNotFound(err):
				// The instance is gone, and what the task held with it.
			case err != nil:
				return err
			default:
				// A shallow copy of the shared decoding: moveCount and
				// releaseOn replace the fields they change, never modify
				// them, so the 4 KB of attributes are neither decoded
				// again nor copied.
				inst := *shared
				moveCount(&inst, before, after)
				if release {
					releaseOn(&inst, *t.Reserved)
				}
				op := state.Put(ikey, &inst)
				state.Instances.Remember(ikey, op.Value, &inst)
				txn.Conds = append(txn.Conds, store.Cond{Key: ikey, Revision: irev})
				txn.Ops = append(txn.Ops, op)
			}
		}
		_, err = a.st.Commit(ctx, txn)
		return err
	})
}

// moveCount moves a task from one of the instance's counts to another.
func moveCount(inst *state.ContainerInstance, from, to int) {
	if from == to {
		return
	}
	add := func(p **int32, d int32) {
		*p = model.Ptr(max(model.Val(*p)+d, 0))
	}
	switch from {
	case countPending:
		add(&inst.PendingTasksCount, -1)
	case countRunning:
		add(&inst.RunningTasksCount, -1)
	}
	switch to {
	case countPending:
		add(&inst.PendingTasksCount, 1)
	case countRunning:
		add(&inst.RunningTasksCount, 1)
	}
	bumpInstanceVersion(inst)
}

// applyTaskReport applies an agent's task report to t and reports whether
// anything changed. Containers go first, so that the task's own move to
// STOPPED only fills in the containers the report left out.
func applyTaskReport(t *state.Task, in *agentproto.SubmitTaskStateChangeInput, now *model.Time) (bool, error) {
	changed := false
	for _, cs := range in.Containers {
		ch, err := applyContainerReport(t, cs, in.ContainerHealth[cs.ContainerName])
		if err != nil {
			return false, err
		}
		changed = changed || ch
	}
	for name, h := range in.ContainerHealth {
		ch, err := applyContainerReport(t, model.ContainerStateChange{ContainerName: name}, h)
		if err != nil {
			return false, err
		}
		changed = changed || ch
	}
	if t.Connectivity == "" {
		t.Connectivity, t.ConnectivityAt = model.ConnectivityConnected, now
		changed = true
	}
	setTime := func(dst **model.Time, v *model.Time) {
		if v != nil && *dst == nil {
			*dst, changed = v, true
		}
	}
	setTime(&t.PullStartedAt, in.PullStartedAt)
	setTime(&t.PullStoppedAt, in.PullStoppedAt)
	if in.HealthStatus != "" && in.HealthStatus != t.HealthStatus && t.LastStatus != taskStopped {
		t.HealthStatus, changed = in.HealthStatus, true
	}
	next := in.Status
	if next == "" || taskRank[next] <= taskRank[t.LastStatus] {
		return changed, nil
	}
	t.LastStatus = next
	if next != taskStopped && taskRank[next] >= taskRank[taskRunning] && t.StartedAt == nil {
		t.StartedAt = now
	}
	if taskRank[next] >= taskRank[taskDeactivating] && t.StoppingAt == nil {
		t.StoppingAt = now
	}
	if next == taskStopped {
		setTime(&t.ExecutionStoppedAt, in.ExecutionStoppedAt)
		if !t.StoppedByUser {
			t.StopCode = in.StopCode
			if t.StopCode == "" && t.StartedAt == nil {
				t.StopCode = model.TaskStopCodeTaskFailedToStart
			} else if t.StopCode == "" {
				t.StopCode = model.TaskStopCodeEssentialContainerExited
			}
			t.StoppedReason = in.Reason
			if t.StoppedReason == "" && t.StopCode == model.TaskStopCodeEssentialContainerExited {
				t.StoppedReason = "Essential container in task exited"
			}
		}
		markStopped(t, now)
	}
	return true, nil
}

// markStopped completes a task's move to STOPPED: the timestamps, the desired
// status, and every container not yet reported stopped.
func markStopped(t *state.Task, now *model.Time) {
	t.LastStatus = taskStopped
	t.DesiredStatus = taskStopped
	if t.StoppingAt == nil {
		t.StoppingAt = now
	}
	if t.ExecutionStoppedAt == nil {
		t.ExecutionStoppedAt = now
	}
	t.StoppedAt = now
	for i := range t.Containers {
		t.Containers[i].LastStatus = "STOPPED"
	}
}

// applyContainerReport applies one container's report to its task. A report
// for a container the task does not have is refused; one that would move the
// container backwards is ignored.
func applyContainerReport(t *state.Task, cs model.ContainerStateChange, health model.HealthStatus) (bool, error) {
	var c *model.Container
	for i := range t.Containers {
		if t.Containers[i].Name == cs.ContainerName {
			c = &t.Containers[i]
		}
	}
	if c == nil {
		return false, invalidParam("Task %s has no container named %q.", t.TaskArn, cs.ContainerName)
	}
	if cs.Status != "" && containerRank[cs.Status] < containerRank[c.LastStatus] {
		return false, nil
	}
	changed := false
	if cs.Status != "" && cs.Status != c.LastStatus {
		c.LastStatus, changed = cs.Status, true
	}
	if cs.RuntimeId != "" && cs.RuntimeId != c.RuntimeId {
		c.RuntimeId, changed = cs.RuntimeId, true
	}
	if cs.ImageDigest != "" && cs.ImageDigest != c.ImageDigest {
		c.ImageDigest, changed = cs.ImageDigest, true
	}
	if len(cs.NetworkBindings) > 0 {
		c.NetworkBindings, changed = cs.NetworkBindings, true
	}
	if cs.ExitCode != nil && c.LastStatus == "STOPPED" && (c.ExitCode == nil || *c.ExitCode != *cs.ExitCode) {
		c.ExitCode, changed = model.Ptr(*cs.ExitCode), true
	}
	if cs.Reason != "" && cs.Reason != c.Reason {
		c.Reason, changed = cs.Reason, true
	}
	if health != "" && health != c.HealthStatus {
		c.HealthStatus, changed = health, true
	}
	return changed, nil
}
