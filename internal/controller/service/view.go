package service

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// reasonHealthCheck is the stoppedReason ECS gives a task it replaced for
// failing its container health checks.
const reasonHealthCheck = "Task failed container health checks"

// tview is one of a service's tasks as a round sees it.
type tview struct {
	t    *state.Task
	id   string // task ID
	dep  string // deployment ID (the task's startedBy)
	inst *state.ContainerInstance
	zone string

	stopped  bool // lastStatus STOPPED
	stopping bool // desiredStatus STOPPED, not yet STOPPED
	running  bool // lastStatus RUNNING
	pending  bool // before RUNNING
	// lost: the instance's agent is disconnected. Nobody knows whether the
	// task still runs: it is not counted, and it is replaced elsewhere; once
	// the replacements run it is stopped (planReplica), so that its agent
	// stops it if it comes back.
	lost bool
	// gone: the instance was deregistered or removed; the task can never
	// run again and is stopped.
	gone bool
	// draining: the instance is DRAINING; the task is replaced elsewhere,
	// then stopped.
	draining  bool
	healthy   bool
	unhealthy bool // failed its health checks after the grace period
	// sickReason and sickEvent, when set, say it failed its target
	// group's health checks rather than its containers'.
	sickReason, sickEvent string
	failed                bool // stopped without being asked to, before it was healthy
}

// active is a task that is wanted and counts: not stopped or stopping, and
// on an instance whose agent answers.
func (v *tview) active() bool { return !v.stopped && !v.stopping && !v.lost && !v.gone }

// healthReason is the stoppedReason of a task replaced for failing health
// checks.
func (v *tview) healthReason() string {
	if v.sickReason != "" {
		return v.sickReason
	}
	return reasonHealthCheck
}

// classify builds the views of a service's tasks.
func (c *Controller) classify(ctx context.Context, svc *state.Service, tasks []*state.Task, env *clusterEnv, now time.Time) ([]*tview, error) {
	grace := time.Duration(model.Val(svc.HealthCheckGracePeriodSeconds)) * time.Second
	out := make([]*tview, 0, len(tasks))
	for _, t := range tasks {
		v := &tview{t: t, id: t.TaskArn[strings.LastIndexByte(t.TaskArn, '/')+1:], dep: t.StartedBy, zone: t.AvailabilityZone}
		v.stopped = t.LastStatus == "STOPPED"
		v.stopping = !v.stopped && t.DesiredStatus == "STOPPED"
		v.running = t.LastStatus == "RUNNING"
		v.pending = !v.stopped && !v.running && !isAfterRunning(t.LastStatus)
		if t.InstanceID != "" {
			v.inst = env.instances[t.InstanceID]
		}
		switch {
		case v.inst == nil || v.inst.Status == "INACTIVE" || v.inst.Status == "DEREGISTERING":
			v.gone = true
		case !model.Val(v.inst.AgentConnected):
			v.lost = true
		case v.inst.Status != "ACTIVE":
			v.draining = true
		}
		td, err := c.taskDef(ctx, t.TaskDefinitionArn)
		if err != nil {
			return nil, err
		}
		hc := td.healthCheck
		if v.running && t.StartedAt != nil {
			up := now.Sub(t.StartedAt.Time)
			if hc {
				v.healthy = t.HealthStatus == model.HealthStatusHealthy
				v.unhealthy = t.HealthStatus == model.HealthStatusUnhealthy && up >= grace
			} else {
				v.healthy = up >= c.tun.HealthyAfter
			}
			if len(svc.LoadBalancers) > 0 {
				if err := c.lbHealth(ctx, svc, v, env, up, grace, hc); err != nil {
					return nil, err
				}
			}
		}
		if !v.active() {
			v.healthy, v.unhealthy = false, false
		}
		v.failed = v.stopped && failedTask(t, c.tun.HealthyAfter)
		out = append(out, v)
	}
	return out, nil
}

func isAfterRunning(status string) bool {
	switch status {
	case "DEACTIVATING", "STOPPING", "DEPROVISIONING":
		return true
	}
	return false
}

// failedTask reports whether a stopped task counts as a failure for the
// circuit breaker and the launch backoff: it failed its health checks, or it
// stopped without anyone asking before it could have become healthy.
func failedTask(t *state.Task, healthyAfter time.Duration) bool {
	if t.StoppedReason == reasonHealthCheck || strings.HasPrefix(t.StoppedReason, reasonELBHealthPrefix) {
		return true
	}
	switch t.StopCode {
	case model.TaskStopCodeUserInitiated, model.TaskStopCodeServiceSchedulerInitiated:
		return false
	case model.TaskStopCodeTaskFailedToStart:
		return true
	}
	if t.StartedAt == nil {
		return true
	}
	return t.StoppedAt != nil && t.StoppedAt.Sub(t.StartedAt.Time) < healthyAfter
}

// limits are the deployment configuration's bounds for desired tasks:
// minimumHealthyPercent rounded up and maximumPercent rounded down, as ECS
// computes them.
func limits(svc *state.Service, desired int) (minHealthy, maxTotal int) {
	minP, maxP := int32(100), int32(200)
	if dc := svc.DeploymentConfiguration; dc != nil {
		minP, maxP = model.Val(dc.MinimumHealthyPercent), model.Val(dc.MaximumPercent)
	}
	minHealthy = int(math.Ceil(float64(desired) * float64(minP) / 100))
	maxTotal = int(math.Floor(float64(desired) * float64(maxP) / 100))
	return minHealthy, maxTotal
}

// breakerThreshold is the number of failed tasks that fails a deployment:
// half the desired count, at least 10 and at most 200.
func breakerThreshold(desired int) int {
	return min(max((desired+1)/2, 10), 200)
}

func taskIDOf(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }
