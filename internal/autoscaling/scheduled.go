package autoscaling

import (
	"context"
	"fmt"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// SpecOf is the schedule of a stored scheduled action.
func SpecOf(a *state.ScheduledAction) ScheduleSpec {
	s := ScheduleSpec{Expr: a.Schedule, Timezone: a.Timezone}
	if a.StartTime != nil {
		s.Start = a.StartTime.Time
	}
	if a.EndTime != nil {
		s.End = a.EndTime.Time
	}
	if a.CreationTime != nil {
		s.Created = a.CreationTime.Time
	}
	return s
}

// schedule fires a scheduled action if it is due: it sets the target's
// range, records the activity and brings the desired count into the range.
// A firing missed while no server ran happens once, late. It returns the
// target as it now is and when the action fires next (zero: never).
func (c *Controller) schedule(ctx context.Context, t *state.ScalableTarget, rev int64, it state.Item[state.ScheduledAction]) (*state.ScalableTarget, int64, time.Time) {
	a := it.Val
	sched, err := ParseSchedule(SpecOf(a))
	if err != nil {
		c.log.Warn("scheduled action has a bad schedule", "resource", a.ResourceId, "action", a.ScheduledActionName, "err", err)
		return t, rev, time.Time{}
	}
	since := a.CreationTime
	if a.Since != nil {
		since = a.Since
	}
	if since == nil {
		since = model.NewTime(time.Time{})
	}
	due, ok := sched.Next(since.Time)
	now := c.now()
	if !ok || due.After(now) {
		if !ok {
			due = time.Time{}
		}
		return t, rev, due
	}
	next, _ := sched.Next(now)
	na := *a
	na.Since = model.NewTime(now)
	txn := store.Txn{
		Conds: []store.Cond{{Key: it.Key, Revision: it.Rev}},
		Ops:   []store.Op{state.Put(it.Key, &na)},
	}
	// Suspended scheduled scaling skips the firing.
	fire := !t.SuspendedState.ScheduledScalingSuspended && a.ScalableTargetAction != nil
	nt := *t
	if fire {
		setRange(&nt, a.ScalableTargetAction)
		key := state.ScalableTargetKey(t.Ref())
		txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: rev})
		txn.Ops = append(txn.Ops, state.Put(key, &nt))
	}
	newRev, err := c.st.Commit(ctx, txn)
	if err != nil {
		if !store.IsConflict(err) {
			c.log.Warn("fire scheduled action", "resource", a.ResourceId, "action", a.ScheduledActionName, "err", err)
		}
		// Changed meanwhile: the next round looks again.
		return t, rev, now
	}
	if !fire {
		return t, rev, next
	}
	rangeText := fmt.Sprintf("min capacity to %d and max capacity to %d", nt.MinCapacity, nt.MaxCapacity)
	act := state.ScalingActivity{Kind: state.ActivitySchedule, Policy: a.ScheduledActionName,
		Description:   "Setting " + rangeText,
		Cause:         fmt.Sprintf("scheduled action name %s was triggered", a.ScheduledActionName),
		StartTime:     model.NewTime(now),
		EndTime:       model.NewTime(c.now()),
		StatusCode:    state.ActivitySuccessful,
		StatusMessage: "Successfully set " + rangeText,
	}
	c.log.Info("scheduled action fired", "resource", a.ResourceId, "action", a.ScheduledActionName, "min", nt.MinCapacity, "max", nt.MaxCapacity)
	if err := c.act.Record(ctx, &nt, act); err != nil {
		c.log.Warn("record activity", "resource", a.ResourceId, "err", err)
	}
	err = c.act.Clamp(ctx, &nt, func(bound string, n int32) string {
		return fmt.Sprintf("%s capacity was set to %d by scheduled action %s", bound, n, a.ScheduledActionName)
	})
	if err != nil {
		c.log.Warn("bring desired count into range", "resource", a.ResourceId, "err", err)
	}
	return &nt, newRev, next
}

// setRange applies a scheduled action's capacities; a bound given alone
// that crosses the other moves the other with it.
func setRange(t *state.ScalableTarget, a *state.ScalableTargetAction) {
	if a.MinCapacity != nil {
		t.MinCapacity = *a.MinCapacity
		t.MaxCapacity = max(t.MaxCapacity, t.MinCapacity)
	}
	if a.MaxCapacity != nil {
		t.MaxCapacity = *a.MaxCapacity
		t.MinCapacity = min(t.MinCapacity, t.MaxCapacity)
	}
}

// RegisterCause is the cause of the activity that brings a service into
// the range a registration set ("minimum capacity was set to 2").
func RegisterCause(bound string, n int32) string {
	return fmt.Sprintf("%s capacity was set to %d", bound, n)
}
