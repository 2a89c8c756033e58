package ecsapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// RunTask that waits for capacity (beyond ECS). A RunTask tagged
// wharf:waitForCapacity (or run in a cluster so tagged) does not fail the
// tasks that fit on no instance: it answers them as tasks, PROVISIONING and on
// no instance, and they are placed as soon as capacity frees up (a task stops,
// an instance joins) — or stopped with TaskFailedToStart once the wait has
// passed. Without the tag RunTask behaves as in ECS.

// WaitForCapacityTag opts a RunTask, or every RunTask of a cluster, into
// waiting: a Go duration ("5m") or whole seconds, at most an hour.
const WaitForCapacityTag = "wharf:waitForCapacity"

const (
	maxWaitForCapacity = time.Hour
	// queueTick is how often waiting tasks are offered to placement.
	queueTick = 250 * time.Millisecond
)

// waitForCapacity reads the wait from the launch's tags, else the cluster's.
func waitForCapacity(launch, cluster []model.Tag) (time.Duration, error) {
	for _, tags := range [][]model.Tag{launch, cluster} {
		for _, t := range tags {
			if t.Key != WaitForCapacityTag {
				continue
			}
			d, err := time.ParseDuration(t.Value)
			if err != nil {
				n, nerr := strconv.ParseInt(t.Value, 10, 64)
				if nerr != nil {
					return 0, invalidParam("Tag %s has value %q: give a duration such as 5m, or whole seconds.", WaitForCapacityTag, t.Value)
				}
				d = time.Duration(n) * time.Second
			}
			if d < time.Second || d > maxWaitForCapacity {
				return 0, invalidParam("Tag %s is %q: give between 1s and %s.", WaitForCapacityTag, t.Value, maxWaitForCapacity)
			}
			return d, nil
		}
	}
	return 0, nil
}

// queuedTask is a task of launch l that waits for capacity: PROVISIONING, on
// no instance, holding nothing.
func (a *API) queuedTask(l *taskLaunch, now *model.Time) *state.Task {
	t := a.newTask(l, &state.ContainerInstance{}, now)
	t.LastStatus = "PROVISIONING"
	t.Reserved = nil
	t.QueuedUntil = model.NewTime(now.Time.Add(l.waitFor))
	return t
}

// placeQueued is the waiting task q placed on inst, reserving demand.
func placeQueued(q *state.Task, inst *state.ContainerInstance, demand state.TaskReservation) *state.Task {
	t := *q
	t.Containers = slices.Clone(q.Containers)
	t.ContainerInstanceArn = inst.ContainerInstanceArn
	t.InstanceID = inst.ID
	t.AvailabilityZone = instanceAttr(inst, "ecs.availability-zone")
	if arch := instanceAttr(inst, "ecs.cpu-architecture"); arch != "" {
		t.Attributes = []model.Attribute{{Name: "ecs.cpu-architecture", Value: arch}}
	}
	t.Reserved = model.Clone(&demand)
	hideFargateInstance(&t)
	t.LastStatus = "PENDING"
	t.QueuedUntil = nil
	t.Version = model.Ptr(model.Val(q.Version) + 1)
	return &t
}

// waitingQueue remembers, per waiting task, why the last attempt found no
// instance, for the stopped reason if the wait runs out.
type waitingQueue struct {
	mu   sync.Mutex
	last map[string]string // task key → the last refusal, in words
}

func (w *waitingQueue) note(key, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[string]string{}
	}
	w.last[key] = why
}

func (w *waitingQueue) take(key string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	why := w.last[key]
	delete(w.last, key)
	return why
}

// runQueue offers the waiting tasks to placement until ctx ends.
func (a *API) runQueue(ctx context.Context) {
	t := time.NewTicker(queueTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for cluster, keys := range a.index.unplacedTasks() {
				a.offerWaiting(ctx, cluster, keys)
			}
		}
	}
}

type waitingTask struct {
	key string
	rev int64
	t   *state.Task
}

// offerWaiting tries to place a cluster's waiting tasks, oldest first, and
// stops those whose wait ran out.
func (a *API) offerWaiting(ctx context.Context, cluster string, keys []string) {
	var ws []waitingTask
	for _, key := range keys {
		t, rev, err := state.Get[state.Task](ctx, a.st, key)
		if err != nil || t.QueuedUntil == nil || t.InstanceID != "" || t.DesiredStatus == taskStopped || t.LastStatus != "PROVISIONING" {
			continue
		}
		ws = append(ws, waitingTask{key, rev, t})
	}
	slices.SortFunc(ws, func(x, y waitingTask) int { return x.t.CreatedAt.Time.Compare(y.t.CreatedAt.Time) })
	now := a.now()
	for _, w := range ws {
		if ctx.Err() != nil {
			return
		}
		if !now.Before(w.t.QueuedUntil.Time) {
			if err := a.expireWaiting(ctx, w); err != nil && !isConflict(err) {
				a.log.Warn("could not stop a task whose wait for capacity ran out", "task", w.t.TaskArn, "err", err)
			}
			continue
		}
		out, err := a.placeWaiting(ctx, cluster, w)
		switch {
		case err != nil && !isConflict(err):
			a.log.Warn("placing a task waiting for capacity failed; trying again", "task", w.t.TaskArn, "err", err)
		case err == nil && len(out.Tasks) == 0:
			a.waiting.note(w.key, summarizeFailures(out.Failures))
		case err == nil:
			a.waiting.take(w.key)
		}
	}
}

func isConflict(err error) bool { return store.IsConflict(err) }

// placeWaiting submits one waiting task to the cluster's placement worker,
// with the launch it was made from.
func (a *API) placeWaiting(ctx context.Context, cluster string, w waitingTask) (*model.RunTaskResponse, error) {
	t := w.t
	l, err := a.prepareLaunch(ctx, launchInput{Cluster: cluster, TaskDefinition: t.TaskDefinitionArn, Group: t.Group,
		Overrides: t.Overrides, AllowInactive: true}, 128)
	if err != nil {
		return nil, err
	}
	l.launchType = t.LaunchType
	l.capacityProvider = t.CapacityProviderName
	req, err := schedRequest(l, 1, t.PlacementConstraints, t.PlacementStrategy, scheduler.RunTaskDefaultStrategies())
	if err != nil {
		return nil, err
	}
	return a.placerFor(cluster).place(ctx, &placeJob{l: l, count: 1, req: req, queued: t, queuedRev: w.rev})
}

// expireWaiting stops a task whose wait for capacity ran out.
func (a *API) expireWaiting(ctx context.Context, w waitingTask) error {
	t := w.t
	now := a.timeNow()
	wait := t.QueuedUntil.Time.Sub(t.CreatedAt.Time).Round(time.Second)
	reason := fmt.Sprintf("Capacity unavailable: no container instance could take the task within its %s wait (%s)", wait, WaitForCapacityTag)
	if why := a.waiting.take(w.key); why != "" {
		reason += "; last refusals: " + why
	}
	if len(reason) > 255 {
		reason = reason[:252] + "..."
	}
	t.StopCode = model.TaskStopCodeTaskFailedToStart
	t.StoppedReason = reason
	t.QueuedUntil = nil
	markStopped(t, now)
	t.Version = model.Ptr(model.Val(t.Version) + 1)
	_, err := a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: w.key, Revision: w.rev}}, Ops: []store.Op{state.Put(w.key, t)}})
	return err
}

// summarizeFailures counts RunTask failures by reason: "RESOURCE:MEMORY on 3
// instances, ATTRIBUTE on 1".
func summarizeFailures(fs []model.Failure) string {
	counts := map[string]int{}
	var order []string
	for _, f := range fs {
		r := f.Reason
		if counts[r] == 0 {
			order = append(order, r)
		}
		counts[r]++
	}
	parts := make([]string, 0, len(order))
	for _, r := range order {
		parts = append(parts, fmt.Sprintf("%s on %d %s", r, counts[r], map[bool]string{true: "instance", false: "instances"}[counts[r] == 1]))
	}
	if len(parts) == 0 {
		return "no active container instance"
	}
	return strings.Join(parts, ", ")
}
