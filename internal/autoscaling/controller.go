// Package autoscaling is Service Auto Scaling's controller: it fires the
// scheduled actions of registered scalable targets and evaluates their
// target tracking and step scaling policies against the services' CPU and
// memory utilization, setting the services' desired counts through the ECS
// API and recording every change as a scaling activity. internal/aasapi
// serves the Application Auto Scaling API that configures it.
//
// The controller is level-triggered: every round re-reads the targets,
// policies, scheduled actions and recent activities from the store, and the
// cooldowns are measured from the recorded activities, so a restarted or new
// leader carries on where the last one stopped. Decisions (decide.go) are
// pure: a target's situation in, a desired count and its cause out.
package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/metrics"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Config configures a controller.
type Config struct {
	// Store is where targets, policies and activities live (the leader's
	// store among replicated servers).
	Store    store.Store
	Metrics  metrics.Source
	Services ServiceUpdater
	Tuning   Tuning
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now
}

// activityRetention is how long activities are kept, as in AWS.
const activityRetention = 6 * 7 * 24 * time.Hour

// recentActivities is how many of a target's newest activities a round reads
// to measure cooldowns.
const recentActivities = 50

// Controller runs Service Auto Scaling.
type Controller struct {
	st      store.Store
	metrics metrics.Source
	act     *Actuator
	tuning  Tuning
	log     *slog.Logger
	now     func() time.Time
	// notScaled is the last not-scaled activity recorded per target, so
	// that a policy held at a bound records it once, not every round.
	notScaled map[string]string
}

// New returns a controller; Run runs it.
func New(cfg Config) *Controller {
	c := &Controller{st: cfg.Store, metrics: cfg.Metrics, tuning: cfg.Tuning.withDefaults(), log: cfg.Log, now: cfg.Now,
		notScaled: map[string]string{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.act = NewActuator(cfg.Store, cfg.Services, c.now, c.log)
	return c
}

// Run evaluates every target each Interval, and wakes for scheduled actions
// at their time, until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	lastSweep := time.Time{}
	for ctx.Err() == nil {
		next := c.Round(ctx)
		now := c.now()
		if now.Sub(lastSweep) > time.Hour {
			c.sweep(ctx, now)
			lastSweep = now
		}
		wait := c.tuning.Interval
		if !next.IsZero() && next.Sub(now) < wait {
			wait = max(next.Sub(now), 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Round fires the scheduled actions that are due and evaluates every
// target's policies once. It returns the time of the next scheduled firing
// (zero if none).
func (c *Controller) Round(ctx context.Context) time.Time {
	targets, _, err := state.List[state.ScalableTarget](ctx, c.st, state.ScalableTargetsPrefix, store.ListOptions{})
	if err != nil {
		c.log.Warn("list scalable targets", "err", err)
		return time.Time{}
	}
	policies, err := byTarget[state.ScalingPolicy](ctx, c.st, state.ScalingPoliciesPrefix)
	if err != nil {
		c.log.Warn("list scaling policies", "err", err)
		return time.Time{}
	}
	actions, err := byTarget[state.ScheduledAction](ctx, c.st, state.ScheduledActionsPrefix)
	if err != nil {
		c.log.Warn("list scheduled actions", "err", err)
		return time.Time{}
	}
	var next time.Time
	live := map[string]bool{}
	for _, it := range targets {
		t, rev := it.Val, it.Rev
		ref := t.Ref()
		live[ref] = true
		for _, a := range actions[ref] {
			var due time.Time
			t, rev, due = c.schedule(ctx, t, rev, a)
			if !due.IsZero() && (next.IsZero() || due.Before(next)) {
				next = due
			}
		}
		if ps := policies[ref]; len(ps) > 0 {
			c.evaluate(ctx, t, ps)
		}
	}
	for ref := range c.notScaled {
		if !live[ref] {
			delete(c.notScaled, ref)
		}
	}
	return next
}

// byTarget lists the documents under prefix grouped by their target's
// reference.
func byTarget[T any](ctx context.Context, st store.Store, prefix string) (map[string][]state.Item[T], error) {
	items, _, err := state.List[T](ctx, st, prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string][]state.Item[T]{}
	for _, it := range items {
		ref, _, _ := strings.Cut(strings.TrimPrefix(it.Key, prefix), "!")
		out[ref] = append(out[ref], it)
	}
	return out, nil
}

// evaluate runs a target's scaling policies.
func (c *Controller) evaluate(ctx context.Context, t *state.ScalableTarget, items []state.Item[state.ScalingPolicy]) {
	svc, err := c.act.Service(ctx, t.ResourceId)
	if err != nil {
		if !errors.Is(err, ErrNoService) {
			c.log.Warn("read service", "resource", t.ResourceId, "err", err)
		}
		return
	}
	if svc.SchedulingStrategy == model.SchedulingStrategyDaemon {
		return
	}
	recent, _, err := state.List[state.ScalingActivity](ctx, c.st, state.ScalingActivitiesOf(t.Ref()), store.ListOptions{Limit: recentActivities})
	if err != nil {
		c.log.Warn("list scaling activities", "resource", t.ResourceId, "err", err)
		return
	}
	s := situation{now: c.now(), target: t, desired: model.Val(svc.DesiredCount), deploying: deploying(svc), tuning: c.tuning}
	for _, it := range items {
		s.policies = append(s.policies, it.Val)
	}
	for _, it := range recent {
		s.recent = append(s.recent, it.Val)
	}
	cluster, name, _ := ServiceOf(t.ResourceId)
	s.metric = func(m string, window time.Duration) (float64, bool) {
		return c.metrics.ServiceAverage(cluster, name, m, window)
	}
	d := decide(s)
	ref := t.Ref()
	switch d.kind {
	case state.ActivityScaleOut, state.ActivityScaleIn:
		delete(c.notScaled, ref)
		act := state.ScalingActivity{Kind: d.kind, Policy: d.policy, Cause: d.cause, Details: d.details}
		if err := c.act.SetDesired(ctx, t, s.desired, d.to, act); err != nil {
			c.log.Warn("scale", "resource", t.ResourceId, "to", d.to, "err", err)
		}
	case state.ActivityNotScaled:
		if c.notScaled[ref] == d.policy+"/"+d.notScaled {
			return
		}
		c.notScaled[ref] = d.policy + "/" + d.notScaled
		cur := s.desired
		reason := state.NotScaledReason{Code: d.notScaled, CurrentCapacity: &cur}
		if d.notScaled == "AlreadyAtMaxCapacity" {
			reason.MaxCapacity = &t.MaxCapacity
		} else {
			reason.MinCapacity = &t.MinCapacity
		}
		act := state.ScalingActivity{Kind: d.kind, Policy: d.policy, Cause: d.cause, Details: d.details,
			Description: "Attempting to scale due to alarm triggered", StatusCode: state.ActivityFailed,
			StatusMessage:    fmt.Sprintf("Failed to set desired count: the service is already at its %s capacity of %d.", boundOf(d.notScaled), boundValue(t, d.notScaled)),
			NotScaledReasons: []state.NotScaledReason{reason}, From: cur, To: cur}
		if err := c.act.Record(ctx, t, act); err != nil {
			c.log.Warn("record activity", "resource", t.ResourceId, "err", err)
		}
	}
}

func boundOf(code string) string {
	if code == "AlreadyAtMaxCapacity" {
		return "maximum"
	}
	return "minimum"
}

func boundValue(t *state.ScalableTarget, code string) int32 {
	if code == "AlreadyAtMaxCapacity" {
		return t.MaxCapacity
	}
	return t.MinCapacity
}

// deploying reports whether the service is in a deployment, during which
// ECS's Service Auto Scaling does not scale in.
func deploying(svc *state.Service) bool {
	p := svc.Primary()
	return len(svc.Deployments) > 1 || (p != nil && p.RolloutState == model.DeploymentRolloutStateInProgress)
}

// sweep deletes activities older than the retention.
func (c *Controller) sweep(ctx context.Context, now time.Time) {
	items, _, err := state.List[state.ScalingActivity](ctx, c.st, state.ScalingActivitiesPrefix, store.ListOptions{})
	if err != nil {
		return
	}
	var ops []store.Op
	for _, it := range items {
		if it.Val.StartTime != nil && now.Sub(it.Val.StartTime.Time) > activityRetention {
			ops = append(ops, state.Delete(it.Key))
		}
	}
	for len(ops) > 0 {
		n := min(len(ops), 100)
		if _, err := c.st.Commit(ctx, store.Txn{Ops: ops[:n]}); err != nil {
			c.log.Warn("delete old scaling activities", "err", err)
			return
		}
		ops = ops[n:]
	}
}
