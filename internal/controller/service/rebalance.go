package service

import (
	"slices"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Rebalancing moves a REPLICA service's tasks to restore a spread that
// drifted (after a scale-in, an instance that left and came back, a zone
// that was down). It runs for services with ECS's availabilityZoneRebalancing
// ENABLED (spread over Availability Zones) and, beyond ECS, for services
// tagged wharf:rebalance=spread (spread over the field of the service's first
// spread strategy: zones, instances, or an attribute's values).
//
// A step happens only when the service is steady (every task of the primary
// deployment running and healthy, no other deployment's tasks) and the
// buckets differ by more than one task: one task is launched onto an
// instance of the emptiest bucket (which needs room under maximumPercent),
// and once it runs and is healthy the usual scale-in picks the surplus from
// the fullest bucket. One step at a time, at most one per rebalanceCooldown.

// RebalanceTag opts a service into spread rebalancing beyond ECS.
const RebalanceTag = "wharf:rebalance"

const (
	rebalanceCooldown = 10 * time.Second
	// rebalanceGiveUp ends a step whose task never became healthy.
	rebalanceGiveUp = 5 * time.Minute
)

type rebalanceStep struct {
	started time.Time
}

// rebalanceBucket returns how a service's tasks are bucketed for
// rebalancing, or nil when it does not rebalance.
func rebalanceBucket(svc *state.Service) func(inst *state.ContainerInstance) string {
	field := ""
	if svc.AvailabilityZoneRebalancing == model.AvailabilityZoneRebalancingEnabled {
		field = "attribute:ecs.availability-zone"
	}
	for _, t := range svc.Tags {
		if t.Key == RebalanceTag && strings.EqualFold(t.Value, "spread") {
			for _, s := range svc.PlacementStrategy {
				if strings.EqualFold(string(s.Type), "spread") {
					field = s.Field
					break
				}
			}
			if field == "" {
				field = "attribute:ecs.availability-zone" // the service default spreads on zones first
			}
		}
	}
	switch {
	case field == "":
		return nil
	case strings.EqualFold(field, "instanceId") || strings.EqualFold(field, "host"):
		return func(inst *state.ContainerInstance) string { return inst.ID }
	case strings.HasPrefix(field, "attribute:"):
		name := strings.TrimPrefix(field, "attribute:")
		return func(inst *state.ContainerInstance) string {
			for _, at := range inst.Attributes {
				if at.Name == name {
					return at.Value
				}
			}
			return ""
		}
	}
	return nil
}

// rebalancing reports whether a step of the service is under way, ending
// steps that finished or gave up.
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

// planRebalance adds a rebalancing launch to an otherwise empty plan.
func (c *Controller) planRebalance(key string, svc *state.Service, views []*tview, env *clusterEnv, pl plan, now time.Time) plan {
	bucket := rebalanceBucket(svc)
	if bucket == nil || svc.Status != state.ServiceActive || pl.launch > 0 || len(pl.stops) > 0 || len(pl.onto) > 0 {
		return pl
	}
	if _, busy := c.rebalances[key]; busy || now.Sub(c.rebalancedAt[key]) < rebalanceCooldown {
		return pl
	}
	p := svc.Primary()
	desired := int(model.Val(svc.DesiredCount))
	_, maxTotal := limits(svc, desired)
	if p == nil || desired == 0 || maxTotal <= desired {
		return pl
	}
	counts := map[string]int{}
	perInst := map[string]int{}
	live := 0
	for _, v := range views {
		if v.stopped {
			continue
		}
		if !v.active() || v.dep != p.Id || !v.running || !v.healthy || v.inst == nil {
			return pl // not steady
		}
		counts[bucket(v.inst)]++
		perInst[v.inst.ID]++
		live++
	}
	if live != desired {
		return pl
	}
	// Every bucket an ACTIVE instance with a connected agent offers counts,
	// empty ones too.
	candidates := map[string][]*state.ContainerInstance{}
	for _, id := range env.instanceOrder {
		inst := env.instances[id]
		if inst.Status != "ACTIVE" || !model.Val(inst.AgentConnected) {
			continue
		}
		b := bucket(inst)
		candidates[b] = append(candidates[b], inst)
		if _, ok := counts[b]; !ok {
			counts[b] = 0
		}
	}
	lo, hi := -1, -1
	var emptiest string
	for b, n := range counts {
		if len(candidates[b]) > 0 && (lo < 0 || n < lo || n == lo && b < emptiest) {
			lo, emptiest = n, b
		}
		hi = max(hi, n)
	}
	if lo < 0 || hi-lo <= 1 {
		return pl
	}
	insts := candidates[emptiest]
	slices.SortFunc(insts, func(a, b *state.ContainerInstance) int {
		if d := perInst[a.ID] - perInst[b.ID]; d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	pl.onto = []string{insts[0].ID}
	c.rebalances[key] = rebalanceStep{started: now}
	c.addEvent(key, svc, "(service "+svc.ServiceName+") is rebalancing: starting a task in the emptiest of its spread's buckets, then stopping one from the fullest.", now)
	return pl
}
