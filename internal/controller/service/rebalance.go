package service

import (
	"slices"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Rebalancing moves a REPLICA service's tasks back to the layout its
// placement asks for after it drifted (a scale-in, an instance that left and
// came back, a zone that was down). It runs for services with ECS's
// availabilityZoneRebalancing ENABLED (spread over Availability Zones) and,
// beyond ECS, for services tagged wharf:rebalance=spread (spread over the
// field of the service's first spread strategy: zones, instances or an
// attribute's values) or wharf:rebalance=binpack (pack the service's tasks
// onto the instances that are fullest already, emptying the least used).
//
// One task moves at a time, and only when the service is steady (every task
// of the primary deployment running and healthy, no other deployment's
// tasks): a task is launched onto the chosen instance (which needs room under
// maximumPercent); once it runs and is healthy, the task it replaces is
// stopped — from the fullest spread bucket, or from the instance being
// emptied. The service never runs fewer than its desired count. At most one
// step per rebalanceCooldown; a step whose task never became healthy ends
// after rebalanceGiveUp.

// RebalanceTag opts a service into rebalancing beyond ECS: "spread" or
// "binpack".
const RebalanceTag = "wharf:rebalance"

const (
	rebalanceCooldown = 10 * time.Second
	rebalanceGiveUp   = 5 * time.Minute
)

// rebalanceStep is a move under way: the task launched onto target, and the
// task to stop once it is healthy — one on victimInst (binpack), or one from
// the fullest bucket (spread).
type rebalanceStep struct {
	started    time.Time
	victimInst string
	bucket     func(*state.ContainerInstance) string
}

type rebalanceMode struct {
	binpack bool
	bucket  func(*state.ContainerInstance) string // spread only
}

// rebalanceModeOf returns how a service rebalances, or false.
func rebalanceModeOf(svc *state.Service) (rebalanceMode, bool) {
	field := ""
	if svc.AvailabilityZoneRebalancing == model.AvailabilityZoneRebalancingEnabled {
		field = "attribute:ecs.availability-zone"
	}
	for _, t := range svc.Tags {
		if t.Key != RebalanceTag {
			continue
		}
		switch strings.ToLower(t.Value) {
		case "binpack":
			return rebalanceMode{binpack: true}, true
		case "spread":
			for _, s := range svc.PlacementStrategy {
				if strings.EqualFold(string(s.Type), "spread") {
					field = s.Field
					break
				}
			}
			if field == "" {
				field = "attribute:ecs.availability-zone" // the services' default spreads on zones first
			}
		}
	}
	switch {
	case strings.EqualFold(field, "instanceId") || strings.EqualFold(field, "host"):
		return rebalanceMode{bucket: func(inst *state.ContainerInstance) string { return inst.ID }}, true
	case strings.HasPrefix(field, "attribute:"):
		name := strings.TrimPrefix(field, "attribute:")
		return rebalanceMode{bucket: func(inst *state.ContainerInstance) string {
			for _, at := range inst.Attributes {
				if at.Name == name {
					return at.Value
				}
			}
			return ""
		}}, true
	}
	return rebalanceMode{}, false
}

// rebalancing reports whether a step of the service is under way (the usual
// scale-in then leaves the surplus to the step), ending steps that finished
// or gave up.
func (c *Controller) rebalancing(key string, views []*tview, desired int, now time.Time) bool {
	step, ok := c.rebalances[key]
	if !ok {
		return false
	}
	live := 0
	for _, v := range views {
		if v.active() {
			live++
		}
	}
	if live <= desired || now.Sub(step.started) > rebalanceGiveUp {
		delete(c.rebalances, key)
		c.rebalancedAt[key] = now
		return false
	}
	return true
}

// steadyTasks returns the service's live tasks when every one belongs to the
// primary deployment and runs healthy on a known instance; ok is false
// otherwise.
func steadyTasks(svc *state.Service, views []*tview) (live []*tview, ok bool) {
	p := svc.Primary()
	if p == nil {
		return nil, false
	}
	for _, v := range views {
		if v.stopped {
			continue
		}
		if !v.active() || v.dep != p.Id || !v.running || !v.healthy || v.inst == nil {
			return nil, false
		}
		live = append(live, v)
	}
	return live, true
}

// planRebalance adds to an otherwise empty plan the next action of a
// rebalancing: the stop that completes a step under way, or the launch that
// begins one.
func (c *Controller) planRebalance(key string, svc *state.Service, views []*tview, env *clusterEnv, pl plan, now time.Time) plan {
	mode, ok := rebalanceModeOf(svc)
	if !ok || svc.Status != state.ServiceActive || pl.launch > 0 || len(pl.stops) > 0 || len(pl.onto) > 0 {
		return pl
	}
	desired := int(model.Val(svc.DesiredCount))
	live, steady := steadyTasks(svc, views)
	if step, busy := c.rebalances[key]; busy {
		if steady && len(live) == desired+1 {
			if v := rebalanceVictim(step, live); v != nil {
				pl.stop(v, scalingReason(svc.Primary().Id))
			}
		}
		return pl
	}
	if !steady || len(live) != desired || desired == 0 || now.Sub(c.rebalancedAt[key]) < rebalanceCooldown {
		return pl
	}
	if _, maxTotal := limits(svc, desired); maxTotal <= desired {
		return pl
	}
	var target string
	step := rebalanceStep{started: now}
	if mode.binpack {
		target, step.victimInst = binpackMove(live, env)
	} else {
		target = spreadTarget(live, env, mode.bucket)
		step.bucket = mode.bucket
	}
	if target == "" {
		return pl
	}
	pl.onto = []string{target}
	c.rebalances[key] = step
	c.addEvent(key, svc, "(service "+svc.ServiceName+") is rebalancing: it starts a task on "+target+" and will then stop one to restore its placement.", now)
	return pl
}

// spreadTarget returns an instance of the emptiest bucket when the buckets
// (every bucket an ACTIVE instance with a connected agent offers, empty ones
// too) differ by more than one task; "" when the spread holds.
func spreadTarget(live []*tview, env *clusterEnv, bucket func(*state.ContainerInstance) string) string {
	counts, perInst := map[string]int{}, map[string]int{}
	for _, v := range live {
		counts[bucket(v.inst)]++
		perInst[v.inst.ID]++
	}
	candidates := map[string][]*state.ContainerInstance{}
	for _, id := range env.instanceOrder {
		inst := env.instances[id]
		if inst.Status != "ACTIVE" || !model.Val(inst.AgentConnected) {
			continue
		}
		b := bucket(inst)
		candidates[b] = append(candidates[b], inst)
		counts[b] += 0
	}
	lo, hi, emptiest := -1, -1, ""
	for b, n := range counts {
		if len(candidates[b]) > 0 && (lo < 0 || n < lo || n == lo && b < emptiest) {
			lo, emptiest = n, b
		}
		hi = max(hi, n)
	}
	if lo < 0 || hi-lo <= 1 {
		return ""
	}
	insts := candidates[emptiest]
	slices.SortFunc(insts, func(a, b *state.ContainerInstance) int {
		if d := perInst[a.ID] - perInst[b.ID]; d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return insts[0].ID
}

// binpackMove picks the instance to empty — the one holding the fewest of the
// service's tasks, ties to the one with the most memory left — and a fuller
// instance that holds the service's tasks too and has room for one more;
// both "" when no move packs tighter.
func binpackMove(live []*tview, env *clusterEnv) (target, victim string) {
	perInst := map[string]int{}
	var need *state.TaskReservation
	for _, v := range live {
		perInst[v.inst.ID]++
		if need == nil {
			need = v.t.Reserved
		}
	}
	if need == nil || len(perInst) < 2 {
		return "", ""
	}
	ids := make([]string, 0, len(perInst))
	for id := range perInst {
		ids = append(ids, id)
	}
	free := func(id string) (cpu, mem int) {
		inst := env.instances[id]
		for _, r := range inst.RemainingResources {
			switch r.Name {
			case "CPU":
				cpu = int(model.Val(r.IntegerValue))
			case "MEMORY":
				mem = int(model.Val(r.IntegerValue))
			}
		}
		return cpu, mem
	}
	slices.SortFunc(ids, func(a, b string) int {
		if d := perInst[a] - perInst[b]; d != 0 {
			return d
		}
		_, ma := free(a)
		_, mb := free(b)
		if ma != mb {
			return mb - ma // more memory left first
		}
		return strings.Compare(a, b)
	})
	victim = ids[0]
	_, victimMem := free(victim)
	for _, id := range slices.Backward(ids) {
		inst := env.instances[id]
		if id == victim || inst == nil || inst.Status != "ACTIVE" || !model.Val(inst.AgentConnected) {
			continue
		}
		cpu, mem := free(id)
		if cpu >= int(need.CPU) && mem >= int(need.Memory) && mem-int(need.Memory) < victimMem {
			return id, victim
		}
	}
	return "", ""
}

// rebalanceVictim is the task a finished launch replaces: one on the
// instance being emptied (binpack), or the newest in the fullest bucket
// (spread).
func rebalanceVictim(step rebalanceStep, live []*tview) *tview {
	if step.victimInst != "" {
		for _, v := range live {
			if v.inst.ID == step.victimInst {
				return v
			}
		}
		return nil
	}
	counts := map[string]int{}
	for _, v := range live {
		counts[step.bucket(v.inst)]++
	}
	var best *tview
	for _, v := range live {
		if best == nil || counts[step.bucket(v.inst)] > counts[step.bucket(best.inst)] ||
			counts[step.bucket(v.inst)] == counts[step.bucket(best.inst)] && createdAt(v).After(createdAt(best)) {
			best = v
		}
	}
	return best
}
