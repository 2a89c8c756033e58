package service

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// reconcileService is one round for one service: observe (counts, failures,
// circuit breaker, finished deployments), act (stop, start), and record.
// A change of the deployments' shape (a rollback, a deployment that ended,
// the service becoming INACTIVE) is written before any task is touched for
// it, so that no task is ever started for a deployment that was not stored.
func (c *Controller) reconcileService(ctx context.Context, it state.Item[state.Service], tasks []*state.Task, env *clusterEnv) error {
	now := c.now()
	key, rev, base := it.Key, it.Rev, it.Val
	svc := model.Clone(it.Val)
	views, err := c.classify(ctx, svc, tasks, env, now)
	if err != nil {
		return err
	}
	if err := c.balance(ctx, key, svc, views, env, now); err != nil {
		return err
	}
	daemon := svc.SchedulingStrategy == model.SchedulingStrategyDaemon
	var targets []string
	if daemon && svc.Status == state.ServiceActive {
		td, err := c.taskDef(ctx, svc.TaskDefinition)
		if err != nil {
			return err
		}
		targets = daemonTargets(svc, env, td.memberOf)
		n := int32(len(targets))
		svc.DesiredCount = model.Ptr(n)
		if p := svc.Primary(); p != nil {
			p.DesiredCount = model.Ptr(n)
		}
	}
	desired := int(model.Val(svc.DesiredCount))
	if c.observe(key, svc, views, desired, now) {
		if rev, err = c.write(ctx, key, rev, svc); err != nil {
			return err
		}
		base = model.Clone(svc)
	}
	if svc.Status == state.ServiceInactive || svc.Primary() == nil {
		return nil
	}
	canLaunch := svc.RetryAt == nil || !now.Before(svc.RetryAt.Time)
	var pl plan
	if daemon {
		pl = planDaemon(svc, views, env, targets, canLaunch)
	} else {
		hold := c.rebalancing(key, views, desired, now)
		pl = planReplica(svc, views, canLaunch, hold)
		if canLaunch {
			pl = c.planRebalance(key, svc, views, env, pl, now)
		}
	}
	acted, err := c.act(ctx, key, svc, pl, env, now)
	if err != nil {
		return err
	}
	if acted {
		svc.SteadyAt = nil // it needed work: the next steady state is news
	} else {
		c.noteSteady(key, svc, views, desired, now)
	}
	if len(c.held[key]) == 0 && sameJSON(svc, base) {
		return nil
	}
	_, err = c.write(ctx, key, rev, svc)
	return err
}

// write stores the service with the events held for it, on the condition
// that it is still at rev, and returns its new revision.
func (c *Controller) write(ctx context.Context, key string, rev int64, svc *state.Service) (int64, error) {
	c.withHeldEvents(key, svc)
	newRev, err := c.st.Commit(ctx, store.Txn{
		Conds: []store.Cond{{Key: key, Revision: rev}},
		Ops:   []store.Op{state.Put(key, svc)},
	})
	if err != nil {
		return 0, err
	}
	delete(c.held, key)
	return newRev, nil
}

// observe brings the service's record up to date with its tasks. It reports
// whether the deployments changed shape.
func (c *Controller) observe(key string, svc *state.Service, views []*tview, desired int, now time.Time) bool {
	at := model.NewTime(now)
	byDep := map[string][]*tview{}
	var running, pending int32
	for _, v := range views {
		byDep[v.dep] = append(byDep[v.dep], v)
		if !v.stopped && !v.lost && !v.gone {
			if v.running {
				running++
			} else if v.pending {
				pending++
			}
		}
	}
	svc.RunningCount, svc.PendingCount = model.Ptr(running), model.Ptr(pending)

	newFailures := int32(0)
	for i := range svc.Deployments {
		newFailures += observeDeployment(&svc.Deployments[i], byDep[svc.Deployments[i].Id], at)
	}
	c.noteHealth(key, svc, views, newFailures, now)

	reshaped := false
	name := svc.ServiceName
	if p := svc.Primary(); p != nil && svc.Status == state.ServiceActive && breakerTrips(svc, p, desired) {
		p.RolloutState = model.DeploymentRolloutStateFailed
		p.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start."
		p.UpdatedAt = at
		c.addEvent(key, svc, msgDeploymentFailed(name, p.Id), now)
		reshaped = true
		if model.Val(svc.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback) && svc.LastCompleted != nil {
			rollBack(svc, p, at)
		}
	}

	kept := svc.Deployments[:0]
	for _, d := range svc.Deployments {
		if d.Status == state.DeploymentActive && !anyPresent(byDep[d.Id]) {
			reshaped = true
			continue
		}
		kept = append(kept, d)
	}
	svc.Deployments = kept

	if p := svc.Primary(); p != nil && svc.Status == state.ServiceActive && p.RolloutState == model.DeploymentRolloutStateInProgress &&
		len(svc.Deployments) == 1 && converged(views, p.Id, desired) {
		p.RolloutState = model.DeploymentRolloutStateCompleted
		p.RolloutStateReason = fmt.Sprintf("ECS deployment %s completed.", p.Id)
		p.UpdatedAt = at
		svc.LastCompleted = &state.CompletedDeployment{ID: p.Id, TaskDefinition: p.TaskDefinition}
		c.addEvent(key, svc, msgDeploymentCompleted(name, p.Id), now)
	}

	if svc.Status == state.ServiceDraining && !anyRemaining(views) {
		svc.Status = state.ServiceInactive
		svc.InactiveAt = at
		svc.RunningCount, svc.PendingCount = model.Ptr(int32(0)), model.Ptr(int32(0))
		reshaped = true
	}
	return reshaped
}

// rollBack returns the service to its last COMPLETED deployment. As in ECS,
// that deployment becomes PRIMARY and IN_PROGRESS again, keeping the tasks it
// still runs, and cannot be rolled back to again until it completes; if it
// has already drained away, a new deployment of its task definition starts.
func rollBack(svc *state.Service, failed *state.Deployment, at *model.Time) {
	back := *svc.LastCompleted
	svc.LastCompleted = nil
	reason := fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", back.ID)
	// The rollback launches at once: the failures were the failed
	// deployment's.
	svc.LaunchFailures, svc.LastFailureAt, svc.RetryAt = 0, nil, nil
	for i := range svc.Deployments {
		d := &svc.Deployments[i]
		if d.Id != back.ID {
			continue
		}
		failed.Status = state.DeploymentActive
		d.Status = state.DeploymentPrimary
		d.RolloutState = model.DeploymentRolloutStateInProgress
		d.RolloutStateReason = reason
		d.DesiredCount = model.Ptr(model.Val(svc.DesiredCount))
		d.UpdatedAt = at
		svc.TaskDefinition = d.TaskDefinition
		svc.SteadyAt = nil
		return
	}
	svc.StartDeployment(back.TaskDefinition, at).RolloutStateReason = reason
}

// observeDeployment updates one deployment's counts and returns how many
// newly failed tasks it saw.
func observeDeployment(d *state.Deployment, views []*tview, at *model.Time) int32 {
	before := *model.Clone(d)
	var failed, running, pending, active int32
	anyHealthy := false
	for _, v := range views {
		if v.failed {
			failed++
		}
		if v.healthy {
			anyHealthy = true
		}
		if v.stopped || v.lost || v.gone {
			continue
		}
		if v.running {
			running++
		} else if v.pending {
			pending++
		}
		if v.active() {
			active++
		}
	}
	var fresh int32
	if failed > d.FailedTotal {
		fresh = failed - d.FailedTotal
		d.FailedTotal = failed
	}
	if anyHealthy && !d.HadHealthy {
		d.HadHealthy = true
		d.FailedBase = d.FailedTotal
	}
	d.FailedTasks = model.Ptr(d.FailedTotal - d.FailedBase)
	d.RunningCount, d.PendingCount = model.Ptr(running), model.Ptr(pending)
	if d.Status == state.DeploymentActive {
		d.DesiredCount = model.Ptr(active)
	}
	if !sameJSON(&before, d) {
		d.UpdatedAt = at
	}
	return fresh
}

// noteHealth keeps the launch backoff: every round that sees new failures
// doubles the wait before the next launch; a task that became healthy since
// the last failure ends it.
func (c *Controller) noteHealth(key string, svc *state.Service, views []*tview, newFailures int32, now time.Time) {
	if svc.LastFailureAt != nil {
		for _, v := range views {
			if v.healthy && v.t.StartedAt != nil && v.t.StartedAt.After(svc.LastFailureAt.Time) {
				svc.LaunchFailures, svc.LastFailureAt, svc.RetryAt = 0, nil, nil
				break
			}
		}
	}
	if newFailures == 0 {
		return
	}
	c.backoff(key, svc, now)
}

func (c *Controller) backoff(key string, svc *state.Service, now time.Time) {
	svc.LaunchFailures++
	svc.LastFailureAt = model.NewTime(now)
	d := c.tun.BackoffBase << min(svc.LaunchFailures-1, 30)
	if d <= 0 || d > c.tun.BackoffMax {
		d = c.tun.BackoffMax
	}
	svc.RetryAt = model.NewTime(now.Add(d))
	if svc.LaunchFailures == 3 {
		c.addEvent(key, svc, msgStartImpaired(svc.ServiceName), now)
	}
}

// breakerTrips applies the deployment circuit breaker to the PRIMARY
// deployment: it fails once its failed tasks reach the threshold before any
// of its tasks was healthy.
func breakerTrips(svc *state.Service, p *state.Deployment, desired int) bool {
	dc := svc.DeploymentConfiguration
	if dc == nil || dc.DeploymentCircuitBreaker == nil || !model.Val(dc.DeploymentCircuitBreaker.Enable) {
		return false
	}
	return p.RolloutState == model.DeploymentRolloutStateInProgress && !p.HadHealthy &&
		int(model.Val(p.FailedTasks)) >= breakerThreshold(desired)
}

// anyPresent reports whether a task still occupies its instance.
func anyPresent(views []*tview) bool {
	for _, v := range views {
		if !v.stopped && !v.lost && !v.gone {
			return true
		}
	}
	return false
}

// anyRemaining reports whether a deleted service still has a task to wait
// for. A task on an instance that is gone or lost, already asked to stop,
// is not waited for: its agent stops it if it ever comes back.
func anyRemaining(views []*tview) bool {
	for _, v := range views {
		if !v.stopped && !(v.stopping && (v.lost || v.gone)) {
			return true
		}
	}
	return false
}

// converged reports whether exactly desired healthy tasks of the deployment
// run on ACTIVE instances and nothing else of the service is present.
func converged(views []*tview, dep string, desired int) bool {
	good := 0
	for _, v := range views {
		switch {
		case v.stopped || v.lost:
		case v.active() && v.dep == dep && !v.draining && v.healthy:
			good++
		default:
			return false
		}
	}
	return good == desired
}

// noteSteady reports a steady state when the service reaches one (and again
// every six hours while it stays there, as ECS does).
func (c *Controller) noteSteady(key string, svc *state.Service, views []*tview, desired int, now time.Time) {
	p := svc.Primary()
	if svc.Status != state.ServiceActive || len(svc.Deployments) != 1 || p.RolloutState != model.DeploymentRolloutStateCompleted || !converged(views, p.Id, desired) {
		svc.SteadyAt = nil
		return
	}
	if svc.SteadyAt == nil || now.Sub(svc.SteadyAt.Time) >= repeatAfter {
		c.addEvent(key, svc, msgSteady(svc.ServiceName), now)
		svc.SteadyAt = model.NewTime(now)
	}
}

// act carries out a plan and reports whether it did anything.
func (c *Controller) act(ctx context.Context, key string, svc *state.Service, pl plan, env *clusterEnv, now time.Time) (bool, error) {
	name := svc.ServiceName
	var stopped []string
	for _, s := range pl.stops {
		if s.health && s.v.sickEvent != "" {
			c.addEvent(key, svc, s.v.sickEvent, now)
		} else if s.health {
			c.addEvent(key, svc, msgHealthCheck(name, s.v.id), now)
		}
		if err := c.stopTask(ctx, key, svc, s.v, s.reason, env, now); err != nil {
			c.eventsFor(key, svc, msgsStopped(name, stopped), now)
			return true, err
		}
		stopped = append(stopped, s.v.id)
	}
	c.eventsFor(key, svc, msgsStopped(name, stopped), now)
	if pl.launch == 0 && len(pl.onto) == 0 {
		return len(stopped) > 0, nil
	}
	p := svc.Primary()
	launched, failures, err := c.ln.LaunchServiceTasks(ctx, ecsapi.ServiceLaunch{
		Cluster: env.cluster, Service: name, DeploymentID: p.Id, TaskDefinition: p.TaskDefinition,
		LaunchType: svc.LaunchType, Count: pl.launch, Instances: pl.onto,
		PlacementConstraints: svc.PlacementConstraints, PlacementStrategy: svc.PlacementStrategy,
		Tags: svc.Tags, PropagateTags: svc.PropagateTags,
		EnableECSManagedTags: model.Val(svc.EnableECSManagedTags), EnableExecuteCommand: model.Val(svc.EnableExecuteCommand),
		Fence: c.fence,
	})
	ids := make([]string, len(launched))
	for i, arn := range launched {
		ids[i] = taskIDOf(arn)
	}
	c.eventsFor(key, svc, msgsStarted(name, ids), now)
	if err != nil {
		ae, ok := awsproto.AsError(err)
		if !ok || ae.Status >= http.StatusInternalServerError {
			return true, err
		}
		// The launch itself is refused (the task definition was deleted,
		// say): tell the user, and try again after a backoff.
		c.addEvent(key, svc, msgLaunchError(name, ae.Message), now)
		c.backoff(key, svc, now)
	}
	if len(failures) > 0 {
		c.addEvent(key, svc, msgUnableToPlace(name, failures[0]), now)
	}
	return true, nil
}

func (c *Controller) eventsFor(key string, svc *state.Service, msgs []string, now time.Time) {
	for _, m := range msgs {
		c.addEvent(key, svc, m, now)
	}
}
