package aasapi

import (
	"context"
	"slices"
	"sort"

	"github.com/wharf-ecs/wharf/internal/autoscaling"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// PutScheduledAction creates or replaces a scheduled action of a registered
// target. Members an update leaves out keep their values; its schedule is
// counted from the update.
func (a *API) PutScheduledAction(ctx context.Context, in *putScheduledActionRequest) (*empty, error) {
	if err := checkName("ScheduledActionName", in.ScheduledActionName, true); err != nil {
		return nil, err
	}
	ref, err := in.check()
	if err != nil {
		return nil, err
	}
	if act := in.ScalableTargetAction; act != nil {
		for _, c := range []*int32{act.MinCapacity, act.MaxCapacity} {
			if c != nil && *c < 0 {
				return nil, invalid("ScalableTargetAction's MinCapacity and MaxCapacity must be 0 or more; got %d.", *c)
			}
		}
		if act.MinCapacity != nil && act.MaxCapacity != nil && *act.MinCapacity > *act.MaxCapacity {
			return nil, invalid("ScalableTargetAction's MinCapacity (%d) cannot be greater than its MaxCapacity (%d).", *act.MinCapacity, *act.MaxCapacity)
		}
	}
	key := state.ScheduledActionKey(ref, in.ScheduledActionName)
	err = retry(ctx, func() error {
		_, trev, err := a.target(ctx, in.targetRef, ref)
		if err != nil {
			return err
		}
		now := model.NewTime(a.now())
		s, rev, err := state.Get[state.ScheduledAction](ctx, a.st, key)
		switch {
		case isNotFound(err):
			kvs, _, err := a.st.List(ctx, state.ScheduledActionsOf(ref), store.ListOptions{})
			if err != nil {
				return err
			}
			if len(kvs) >= maxScheduledPerTarget {
				return awsproto.Errorf(codeLimitExceeded, "%s already has %d scheduled actions, the most a scalable target may have. Delete one first.", in.ResourceId, len(kvs))
			}
			s = &state.ScheduledAction{ScheduledActionName: in.ScheduledActionName, ServiceNamespace: in.ServiceNamespace,
				ResourceId: in.ResourceId, ScalableDimension: in.ScalableDimension,
				ScheduledActionARN: a.scheduledActionARN(in.ServiceNamespace, in.ResourceId, in.ScheduledActionName)}
		case err != nil:
			return err
		}
		if in.Schedule != "" {
			s.Schedule = in.Schedule
		}
		if in.Timezone != "" {
			s.Timezone = in.Timezone
		}
		if in.StartTime != nil {
			s.StartTime = in.StartTime
		}
		if in.EndTime != nil {
			s.EndTime = in.EndTime
		}
		if in.ScalableTargetAction != nil {
			s.ScalableTargetAction = in.ScalableTargetAction
		}
		s.CreationTime, s.Since = now, now
		if err := checkScheduled(s); err != nil {
			return err
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.ScalableTargetKey(ref), Revision: trev}, {Key: key, Revision: rev}},
			Ops:   []store.Op{state.Put(key, s)},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}

// checkScheduled validates a scheduled action as it would be stored.
func checkScheduled(s *state.ScheduledAction) error {
	if s.Schedule == "" {
		return invalid("Schedule is required: at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields).")
	}
	if len(s.Schedule) > 1600 || len(s.Timezone) > 1600 {
		return invalid("Schedule and Timezone may be at most 1600 characters long.")
	}
	act := s.ScalableTargetAction
	if act == nil || (act.MinCapacity == nil && act.MaxCapacity == nil) {
		return invalid("ScalableTargetAction is required: give its MinCapacity, its MaxCapacity or both.")
	}
	if _, err := autoscaling.ParseSchedule(autoscaling.SpecOf(s)); err != nil {
		return invalid("%v.", err)
	}
	return nil
}

// DescribeScheduledActions lists the scheduled actions of the namespace, or
// of one target, or the named ones.
func (a *API) DescribeScheduledActions(ctx context.Context, in *describeScheduledActionsRequest) (*describeScheduledActionsResponse, error) {
	limit, err := in.check(50)
	if err != nil {
		return nil, err
	}
	if len(in.ScheduledActionNames) > 50 {
		return nil, invalid("ScheduledActionNames takes at most 50 names; got %d.", len(in.ScheduledActionNames))
	}
	items, _, err := state.List[state.ScheduledAction](ctx, a.st, in.prefix(state.ScheduledActionsPrefix), store.ListOptions{})
	if err != nil {
		return nil, internal(err)
	}
	var keep []sorted[state.ScheduledAction]
	for _, it := range items {
		s := it.Val
		if in.matches(s.ResourceId, s.ScalableDimension) && (len(in.ScheduledActionNames) == 0 || slices.Contains(in.ScheduledActionNames, s.ScheduledActionName)) {
			keep = append(keep, sorted[state.ScheduledAction]{it.Key, outScheduledAction(s)})
		}
	}
	out, next, err := page("DescribeScheduledActions", in.NextToken, keep, limit)
	if err != nil {
		return nil, err
	}
	return &describeScheduledActionsResponse{ScheduledActions: out, NextToken: next}, nil
}

// DeleteScheduledAction deletes a scheduled action.
func (a *API) DeleteScheduledAction(ctx context.Context, in *deleteScheduledActionRequest) (*empty, error) {
	return a.deleteNamed(ctx, in.targetRef, "ScheduledActionName", in.ScheduledActionName, true, state.ScheduledActionKey, func() error {
		return awsproto.Errorf(codeObjectNotFound, "No scheduled action found for service namespace: %s, resource ID: %s, scalable dimension: %s, scheduled action name: %s.",
			in.ServiceNamespace, in.ResourceId, in.ScalableDimension, in.ScheduledActionName)
	})
}

// DescribeScalingActivities lists activities newest first: of one target,
// or of every target of the namespace.
func (a *API) DescribeScalingActivities(ctx context.Context, in *describeScalingActivitiesRequest) (*describeScalingActivitiesResponse, error) {
	limit, err := in.check(50)
	if err != nil {
		return nil, err
	}
	items, _, err := state.List[state.ScalingActivity](ctx, a.st, in.prefix(state.ScalingActivitiesPrefix), store.ListOptions{})
	if err != nil {
		return nil, internal(err)
	}
	notScaled := in.IncludeNotScaledActivities != nil && *in.IncludeNotScaledActivities
	var keep []sorted[state.ScalingActivity]
	for _, it := range items {
		act := it.Val
		if !in.matches(act.ResourceId, act.ScalableDimension) || (act.Kind == state.ActivityNotScaled && !notScaled) {
			continue
		}
		// What follows the target's reference sorts newest first.
		_, when, _ := cutLast(it.Key, '!')
		keep = append(keep, sorted[state.ScalingActivity]{when, outActivity(act)})
	}
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].key < keep[j].key })
	out, next, err := page("DescribeScalingActivities", in.NextToken, keep, limit)
	if err != nil {
		return nil, err
	}
	return &describeScalingActivitiesResponse{ScalingActivities: out, NextToken: next}, nil
}

func cutLast(s string, sep byte) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
