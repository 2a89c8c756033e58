package service

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/elbapi"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Services behind load balancers, as ECS runs them: a task is registered in
// each target group of the service's loadBalancers once it is RUNNING (its
// target is the container instance and the host port of the named container
// port); it counts as healthy only when every target group says its target
// is healthy, and is replaced when one says it is unhealthy after the
// service's healthCheckGracePeriodSeconds; a task to stop is drained first:
// it goes DEACTIVATING, its targets are deregistered, and its containers stop
// only when the target groups' deregistration delay has passed and the
// targets are gone.

// drainer is what the launcher offers for draining (the ECS API does).
type drainer interface {
	DrainServiceTask(ctx context.Context, cluster, taskArn, reason string) error
	FinishDrain(ctx context.Context, cluster, taskArn string) error
}

// reasonELBHealthPrefix starts the stoppedReason of a task replaced for
// failing its target group's health checks, as ECS words it.
const reasonELBHealthPrefix = "Task failed ELB health checks in "

// lbState is what one round of a cluster knows of load balancing: the
// target groups and every registration.
type lbState struct {
	groups  map[string]*state.TargetGroup // by ARN
	targets []*state.Target
}

// lbState reads the target groups and registrations once per cluster round.
func (c *Controller) lbState(ctx context.Context, env *clusterEnv) (*lbState, error) {
	if env.lb != nil {
		return env.lb, nil
	}
	tgs, _, err := state.List[state.TargetGroup](ctx, c.st, state.TargetGroupsPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	regs, _, err := state.List[state.Target](ctx, c.st, state.TargetsPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	ls := &lbState{groups: make(map[string]*state.TargetGroup, len(tgs)), targets: make([]*state.Target, 0, len(regs))}
	for _, it := range tgs {
		ls.groups[it.Val.Arn] = it.Val
	}
	for _, it := range regs {
		ls.targets = append(ls.targets, it.Val)
	}
	env.lb = ls
	return ls, nil
}

// of lists a task's registrations.
func (ls *lbState) of(taskArn string) []*state.Target {
	var out []*state.Target
	for _, t := range ls.targets {
		if t.TaskArn == taskArn {
			out = append(out, t)
		}
	}
	return out
}

// target is the task's registration in a target group that is not
// draining, if any.
func (ls *lbState) target(tgArn, taskArn string) *state.Target {
	for _, t := range ls.targets {
		if t.TaskArn == taskArn && t.TargetGroupArn == tgArn && t.DrainUntil == nil {
			return t
		}
	}
	return nil
}

// lbHealth sets the health of a RUNNING task of a service behind load
// balancers from its targets: healthy only when every target group says its
// target is healthy (and its containers' health checks, if any, pass);
// unhealthy when one says it is unhealthy after the grace period.
func (c *Controller) lbHealth(ctx context.Context, svc *state.Service, v *tview, env *clusterEnv, up, grace time.Duration, containerChecks bool) error {
	ls, err := c.lbState(ctx, env)
	if err != nil {
		return err
	}
	healthy := !containerChecks || v.t.HealthStatus == model.HealthStatusHealthy
	for _, l := range svc.LoadBalancers {
		t := ls.target(l.TargetGroupArn, v.t.TaskArn)
		switch {
		case t == nil:
			healthy = false
		case t.Health == state.TargetHealthy:
		case t.Health == state.TargetUnhealthy && up >= grace:
			healthy = false
			v.unhealthy = true
			v.sickReason = reasonELBHealthPrefix + "(target-group " + l.TargetGroupArn + ")"
			v.sickEvent = fmt.Sprintf("(service %s) (task %s) (port %d) is unhealthy in (target-group %s) due to (reason %s).",
				svc.ServiceName, v.id, t.Port, l.TargetGroupArn, strings.TrimSuffix(t.Description, "."))
		default:
			healthy = false
		}
	}
	v.healthy = healthy
	return nil
}

// wantsTarget reports whether a task should be registered: it runs, is
// wanted, and its instance answers.
func wantsTarget(v *tview) bool {
	return v.running && !v.stopping && !v.stopped && !v.lost && !v.gone && v.t.DesiredStatus == "RUNNING"
}

// syncTargets registers the service's running tasks in its target groups
// and deregisters (drains) the targets of its tasks that stopped, are
// stopping, or belong to a target group it no longer names. Targets of tasks
// on lost instances are left as they are: their health checks tell.
func (c *Controller) syncTargets(ctx context.Context, key string, svc *state.Service, views []*tview, env *clusterEnv, now time.Time) error {
	ls, err := c.lbState(ctx, env)
	if err != nil {
		return err
	}
	byTask := make(map[string]*tview, len(views))
	for _, v := range views {
		byTask[v.t.TaskArn] = v
	}
	wanted := map[string]map[string]bool{} // target group → task ARN
	for _, l := range svc.LoadBalancers {
		tg := ls.groups[l.TargetGroupArn]
		if tg == nil || l.ContainerPort == nil {
			continue
		}
		want := map[string]bool{}
		wanted[tg.Arn] = want
		var add []elbapi.TargetSpec
		for _, v := range views {
			if !wantsTarget(v) || v.inst == nil {
				continue
			}
			want[v.t.TaskArn] = true
			if ls.target(tg.Arn, v.t.TaskArn) != nil {
				continue
			}
			if spec, ok := targetOf(v, tg, l.ContainerName, *l.ContainerPort); ok {
				spec.Service, spec.TaskArn = svc.ServiceArn, v.t.TaskArn
				add = append(add, spec)
			}
		}
		if len(add) == 0 {
			continue
		}
		if err := elbapi.RegisterTargets(ctx, c.st, now, tg.Arn, add); err != nil {
			return err
		}
		c.addEvent(key, svc, fmt.Sprintf("(service %s) registered %d targets in (target-group %s)", svc.ServiceName, len(add), tg.Arn), now)
	}
	drop := map[string][]elbapi.TargetRef{}
	for _, t := range ls.targets {
		if t.Service != svc.ServiceArn || t.DrainUntil != nil || wanted[t.TargetGroupArn][t.TaskArn] {
			continue
		}
		if v := byTask[t.TaskArn]; v != nil && v.lost {
			continue
		}
		drop[t.TargetGroupArn] = append(drop[t.TargetGroupArn], elbapi.TargetRef{ID: t.ID, Port: t.Port})
	}
	for tg, refs := range drop {
		if err := c.deregister(ctx, key, svc, tg, refs, now); err != nil {
			return err
		}
	}
	return nil
}

func (c *Controller) deregister(ctx context.Context, key string, svc *state.Service, tgArn string, refs []elbapi.TargetRef, now time.Time) error {
	if err := elbapi.DeregisterTargets(ctx, c.st, now, tgArn, refs); err != nil {
		if e, ok := awsproto.AsError(err); ok && e.Code == "TargetGroupNotFound" {
			return nil // the group went, and its registrations with it
		}
		return err
	}
	c.addEvent(key, svc, fmt.Sprintf("(service %s) deregistered %d targets in (target-group %s)", svc.ServiceName, len(refs), tgArn), now)
	return nil
}

// targetOf is a task's target in tg: the host port bound to the container
// port, on the container instance (instance target groups) or its address
// (ip target groups).
func targetOf(v *tview, tg *state.TargetGroup, container string, port int32) (elbapi.TargetSpec, bool) {
	addr := elbapi.InstanceAddress(v.inst)
	for _, ct := range v.t.Containers {
		if ct.Name != container {
			continue
		}
		for _, nb := range ct.NetworkBindings {
			if model.Val(nb.ContainerPort) != port || nb.Protocol != "" && nb.Protocol != model.TransportProtocolTcp || nb.HostPort == nil {
				continue
			}
			if ip, err := netip.ParseAddr(nb.BindIP); err == nil && ip.Is6() && !ip.Is4In6() {
				continue // the IPv4 binding serves
			} else if err == nil && !ip.IsUnspecified() {
				addr = ip.String() // bound to one address only
			}
			spec := elbapi.TargetSpec{Port: *nb.HostPort, Address: addr, AvailabilityZone: v.zone}
			spec.ID = addr
			if tg.TargetType != "ip" {
				spec.ID = v.inst.Ec2InstanceId
			}
			return spec, spec.ID != ""
		}
	}
	return elbapi.TargetSpec{}, false
}

// stopTask stops a task the plan let go: a running task with targets drains
// first; any other stops at once.
func (c *Controller) stopTask(ctx context.Context, key string, svc *state.Service, v *tview, reason string, env *clusterEnv, now time.Time) error {
	d, ok := c.ln.(drainer)
	if !ok || !v.running {
		return c.ln.StopServiceTask(ctx, env.cluster, v.t.TaskArn, reason)
	}
	ls, err := c.lbState(ctx, env)
	if err != nil {
		return err
	}
	drop := map[string][]elbapi.TargetRef{}
	for _, t := range ls.of(v.t.TaskArn) {
		if t.DrainUntil == nil {
			drop[t.TargetGroupArn] = append(drop[t.TargetGroupArn], elbapi.TargetRef{ID: t.ID, Port: t.Port})
		}
	}
	if len(drop) == 0 {
		return c.ln.StopServiceTask(ctx, env.cluster, v.t.TaskArn, reason)
	}
	// DEACTIVATING first: should this round end here, the next one sees a
	// task to deregister, never one to register again.
	if err := d.DrainServiceTask(ctx, env.cluster, v.t.TaskArn, reason); err != nil {
		return err
	}
	c.addEvent(key, svc, fmt.Sprintf("(service %s) has begun draining connections on 1 tasks.", svc.ServiceName), now)
	for tg, refs := range drop {
		if err := c.deregister(ctx, key, svc, tg, refs, now); err != nil {
			return err
		}
	}
	return nil
}

// maxDrain bounds how long a task waits DEACTIVATING for its targets, should
// they never go (the longest deregistration delay, and a margin).
const maxDrain = time.Hour + time.Minute

// finishDrains lets the containers of DEACTIVATING tasks stop once none of
// their targets remains registered.
func (c *Controller) finishDrains(ctx context.Context, views []*tview, env *clusterEnv, now time.Time) error {
	d, ok := c.ln.(drainer)
	if !ok {
		return nil
	}
	for _, v := range views {
		if v.t.LastStatus != "DEACTIVATING" {
			continue
		}
		ls, err := c.lbState(ctx, env)
		if err != nil {
			return err
		}
		overdue := v.t.StoppingAt != nil && now.Sub(v.t.StoppingAt.Time) > maxDrain
		if len(ls.of(v.t.TaskArn)) > 0 && !overdue {
			continue
		}
		if err := d.FinishDrain(ctx, env.cluster, v.t.TaskArn); err != nil {
			return err
		}
	}
	return nil
}

// loadBalanced reports whether a round of the service has load balancing to
// look after: target groups to register in, or targets of its own left.
func (c *Controller) loadBalanced(ctx context.Context, svc *state.Service, env *clusterEnv) (bool, error) {
	if len(svc.LoadBalancers) > 0 {
		return true, nil
	}
	ls, err := c.lbState(ctx, env)
	if err != nil {
		return false, err
	}
	for _, t := range ls.targets {
		if t.Service == svc.ServiceArn && t.DrainUntil == nil {
			return true, nil
		}
	}
	return false, nil
}

// balance is one round's load balancing for a service: targets registered
// and deregistered, drained tasks let go.
func (c *Controller) balance(ctx context.Context, key string, svc *state.Service, views []*tview, env *clusterEnv, now time.Time) error {
	lbd, err := c.loadBalanced(ctx, svc, env)
	if err != nil {
		return err
	}
	if lbd {
		if err := c.syncTargets(ctx, key, svc, views, env, now); err != nil {
			return err
		}
	}
	return c.finishDrains(ctx, views, env, now)
}
