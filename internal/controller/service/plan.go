package service

import (
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler/cql"
	"github.com/wharf-ecs/wharf/internal/state"
)

// plan is what one round decides for a service: pure, from the service and
// the views of its tasks.
type plan struct {
	stops  []stopReq
	launch int      // REPLICA: tasks to place
	onto   []string // DAEMON: instances to start one task on each
}

type stopReq struct {
	v      *tview
	reason string
	health bool // it failed its health checks (ECS reports that as its own event)
}

func (p *plan) stop(v *tview, reason string) {
	p.stops = append(p.stops, stopReq{v: v, reason: reason})
}

// scalingReason is the stoppedReason of a task the service scheduler stops,
// as ECS words it.
func scalingReason(deploymentID string) string {
	return "Scaling activity initiated by (deployment " + deploymentID + ")"
}

// stopAll is the plan of a DRAINING (deleted) service: every task goes,
// whatever the deployment configuration says.
func stopAll(views []*tview, reason string) plan {
	var pl plan
	for _, v := range views {
		if !v.stopped && !v.stopping {
			pl.stop(v, reason)
		}
	}
	return pl
}

// planReplica follows ECS's rolling update: start tasks of the PRIMARY
// deployment while the total (counting tasks still stopping) stays within
// maximumPercent, stop tasks that must go (other deployments, draining
// instances, unhealthy, surplus) while the healthy ones stay at or above
// minimumHealthyPercent. Lost tasks (agent disconnected) are not counted, so
// they are replaced; once their replacements run they are stale copies and
// are stopped (retireStale). One that comes back before that counts again,
// and the service's surplus goes by the usual rule.
// holdSurplus, during a rebalancing step, leaves the one task of surplus to
// the step, which stops the task its new one replaces (rebalance.go).
func planReplica(svc *state.Service, views []*tview, canLaunch, holdSurplus bool) plan {
	p := svc.Primary()
	reason := scalingReason(p.Id)
	if svc.Status == state.ServiceDraining {
		return stopAll(views, reason)
	}
	var pl plan
	desired := int(model.Val(svc.DesiredCount))
	minHealthy, maxTotal := limits(svc, desired)
	failed := p.RolloutState == model.DeploymentRolloutStateFailed
	var keep, old, moving, sick []*tview
	live, _, total, healthy := triage(views, &pl, reason)
	for _, v := range live {
		switch {
		case v.dep != p.Id:
			old = append(old, v)
		case v.unhealthy:
			sick = append(sick, v)
		case v.draining:
			moving = append(moving, v)
		default:
			keep = append(keep, v)
		}
	}
	if canLaunch && !failed && len(keep) < desired {
		pl.launch = max(0, min(desired-len(keep), maxTotal-total))
	}
	retireStale(views, keep, desired, &pl)
	// An unhealthy task is replaced first, then stopped, as long as there
	// is room to start its replacement beside it.
	for _, v := range sick {
		if len(keep) >= desired || total >= maxTotal {
			pl.stops = append(pl.stops, stopReq{v: v, reason: v.healthReason(), health: true})
		}
	}
	if failed {
		// A failed deployment launches nothing, so the tasks of the older
		// deployments are all the service has: they stay.
		old = nil
	}
	budget := healthy - minHealthy
	// take stops n of cands. Tasks that do not run cost nothing against
	// the minimum; running ones do, even those not yet counted healthy
	// (they would be soon), except surplus ones when scaling in.
	take := func(cands []*tview, n int, warmingFree bool) {
		var idle, serving []*tview
		for _, v := range cands {
			if !v.running || warmingFree && !v.healthy {
				idle = append(idle, v)
			} else {
				serving = append(serving, v)
			}
		}
		for _, v := range pickVictims(idle, views, n) {
			pl.stop(v, reason)
			n--
		}
		for _, v := range pickVictims(serving, views, min(n, budget)) {
			pl.stop(v, reason)
			budget--
		}
	}
	take(moving, len(moving), false)
	take(old, len(old), false)
	if holdSurplus && len(keep) == desired+1 {
		return pl
	}
	take(keep, len(keep)-desired, true)
	return pl
}

// reasonStale is the stoppedReason of a task stopped because it was
// replaced while its instance's agent was disconnected.
const reasonStale = "Task replaced while its container instance's agent was disconnected"

// retireStale stops the lost tasks once desired tasks of the PRIMARY
// deployment run without them. Nothing reaches such a task's containers
// while its agent is away; the stop is recorded now so that the agent stops
// it the moment it is heard again. Chosen then, at the heal, the surplus
// would be picked by the scale-in rule, which stops the newest task: the
// replacement, leaving the copy that missed everything while it was cut off.
// Until its replacements run, a lost task keeps its chance: should its agent
// come back first, it counts again and nothing was lost.
func retireStale(views, keep []*tview, desired int, pl *plan) {
	running := 0
	for _, v := range keep {
		if v.running {
			running++
		}
	}
	if running < desired {
		return
	}
	for _, v := range views {
		if v.lost && !v.stopped && !v.stopping {
			pl.stop(v, reasonStale)
		}
	}
}

// daemonTargets lists the instances a DAEMON service runs on: ACTIVE, with a
// connected agent, and meeting every memberOf constraint of the service and
// of its task definition. A lost instance keeps its task (nobody can stop
// it) but gets no new one. An expression that does not parse (the API
// refuses them, so only a stored one from an older version could) matches
// nothing.
func daemonTargets(svc *state.Service, env *clusterEnv, tdMemberOf []string) []string {
	exprs := make([]string, 0, len(svc.PlacementConstraints)+len(tdMemberOf))
	for _, pc := range svc.PlacementConstraints {
		if pc.Type == model.PlacementConstraintTypeMemberOf {
			exprs = append(exprs, pc.Expression)
		}
	}
	exprs = append(exprs, tdMemberOf...)
	parsed := make([]cql.Expr, 0, len(exprs))
	for _, x := range exprs {
		e, err := cql.Parse(x)
		if err != nil {
			return nil
		}
		parsed = append(parsed, e)
	}
	var out []string
next:
	for _, id := range env.instanceOrder {
		inst := env.instances[id]
		if inst.Status != "ACTIVE" || !model.Val(inst.AgentConnected) {
			continue
		}
		if len(parsed) > 0 {
			q := queryInstance(inst, env.groups[id])
			for _, e := range parsed {
				if !e.Eval(q) {
					continue next
				}
			}
		}
		out = append(out, id)
	}
	return out
}

// queryInstance is what the cluster query language sees of an instance.
func queryInstance(inst *state.ContainerInstance, groups []string) cql.Instance {
	q := cql.Instance{
		Attributes:        make(map[string]string, len(inst.Attributes)),
		AgentConnected:    model.Val(inst.AgentConnected),
		EC2InstanceID:     inst.Ec2InstanceId,
		RunningTasksCount: int(model.Val(inst.RunningTasksCount)),
		TaskGroups:        groups,
	}
	for _, at := range inst.Attributes {
		q.Attributes[at.Name] = at.Value
	}
	if inst.VersionInfo != nil {
		q.AgentVersion = inst.VersionInfo.AgentVersion
	}
	if inst.RegisteredAt != nil {
		q.RegisteredAt = inst.RegisteredAt.Time
	}
	return q
}

// planDaemon keeps exactly one task of the PRIMARY deployment on every
// target instance (daemonTargets), replaces older deployments' tasks instance by instance
// within the deployment configuration's limits, and stops tasks on instances
// that no longer qualify (on a draining instance, once the instance's REPLICA
// service tasks are gone).
func planDaemon(svc *state.Service, views []*tview, env *clusterEnv, targets []string, canLaunch bool) plan {
	p := svc.Primary()
	reason := scalingReason(p.Id)
	if svc.Status == state.ServiceDraining {
		return stopAll(views, reason)
	}
	var pl plan
	ok := make(map[string]bool, len(targets))
	for _, id := range targets {
		ok[id] = true
	}
	minHealthy, maxTotal := limits(svc, len(targets))
	failed := p.RolloutState == model.DeploymentRolloutStateFailed
	on := map[string][]*tview{}
	live, going, total, healthy := triage(views, &pl, reason)
	stopping := map[string]bool{}
	for _, v := range going {
		stopping[v.t.InstanceID] = true
	}
	for _, v := range live {
		if !ok[v.t.InstanceID] {
			// On a draining instance the daemon task outlives the REPLICA
			// tasks it may serve; elsewhere it goes at once.
			if !v.draining || !env.replicaBusy[v.t.InstanceID] {
				pl.stop(v, reason)
			}
			continue
		}
		on[v.t.InstanceID] = append(on[v.t.InstanceID], v)
	}
	budget := healthy - minHealthy
	for _, id := range targets {
		var prim, old []*tview
		for _, v := range on[id] {
			if v.dep == p.Id {
				prim = append(prim, v)
			} else {
				old = append(old, v)
			}
		}
		// One task per instance: keep the healthy (else the oldest) one.
		if len(prim) > 1 {
			best := 0
			for i, v := range prim {
				if v.healthy && !prim[best].healthy || v.healthy == prim[best].healthy && createdAt(v).Before(createdAt(prim[best])) {
					best = i
				}
			}
			for i, v := range prim {
				if i != best {
					pl.stop(v, reason)
				}
			}
			prim = prim[best : best+1]
		}
		if len(prim) == 1 && prim[0].unhealthy {
			pl.stops = append(pl.stops, stopReq{v: prim[0], reason: prim[0].healthReason(), health: true})
		}
		if len(prim) == 0 && canLaunch && !failed && !stopping[id] && (len(old) == 0 || total+len(pl.onto) < maxTotal) {
			pl.onto = append(pl.onto, id)
		}
		if failed {
			continue
		}
		replaced := len(prim) == 1 && prim[0].healthy
		for _, v := range old {
			switch {
			case !v.running || v.unhealthy || replaced:
				pl.stop(v, reason)
			case budget > 0:
				budget--
				pl.stop(v, reason)
			}
		}
	}
	return pl
}

// triage sorts a deployment's task views the way both plans need: stopped and
// lost tasks are left out, gone ones are stopped, tasks still stopping count
// towards the total without being live. It returns the live views, the
// stopping ones, the total and how many of the live ones are healthy.
func triage(views []*tview, pl *plan, reason string) (live, stopping []*tview, total, healthy int) {
	for _, v := range views {
		switch {
		case v.stopped || v.lost:
			continue
		case v.gone:
			if !v.stopping {
				pl.stop(v, reason)
			}
			continue
		case v.stopping:
			total++
			stopping = append(stopping, v)
			continue
		}
		total++
		if v.healthy {
			healthy++
		}
		live = append(live, v)
	}
	return live, stopping, total, healthy
}
