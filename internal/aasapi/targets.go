package aasapi

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/autoscaling"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// RegisterScalableTarget registers an ECS service's desired count as a
// scalable target, or updates a registered one (its range, suspended state,
// role). As in AWS, the service's desired count is then brought into the
// range.
func (a *API) RegisterScalableTarget(ctx context.Context, in *registerScalableTargetRequest) (*registerScalableTargetResponse, error) {
	ref, err := in.check()
	if err != nil {
		return nil, err
	}
	for _, c := range []*int32{in.MinCapacity, in.MaxCapacity} {
		if c != nil && *c < 0 {
			return nil, invalid("MinCapacity and MaxCapacity must be 0 or more; got %d.", *c)
		}
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	svc, err := a.act.Service(ctx, in.ResourceId)
	switch {
	case errors.Is(err, autoscaling.ErrNoService):
		return nil, invalid("ECS service doesn't exist: %s. Create the service first (aws ecs create-service), or check the cluster and service names.", in.ResourceId)
	case err != nil:
		return nil, internal(err)
	case svc.SchedulingStrategy == model.SchedulingStrategyDaemon:
		return nil, invalid("%s is a DAEMON service: it runs one task per instance and has no desired count to scale.", in.ResourceId)
	}
	key := state.ScalableTargetKey(ref)
	var saved *state.ScalableTarget
	err = retry(ctx, func() error {
		cur, rev, err := state.Get[state.ScalableTarget](ctx, a.st, key)
		if err != nil && !isNotFound(err) {
			return err
		}
		t := cur
		if t == nil {
			if in.MinCapacity == nil || in.MaxCapacity == nil {
				return invalid("MinCapacity and MaxCapacity are required to register a new scalable target.")
			}
			t = &state.ScalableTarget{ServiceNamespace: in.ServiceNamespace, ResourceId: in.ResourceId, ScalableDimension: in.ScalableDimension,
				RoleARN: a.roleARN(), CreationTime: model.NewTime(a.now()), ScalableTargetARN: a.targetARN()}
		} else {
			c := *t
			c.Tags = maps.Clone(t.Tags)
			t = &c
		}
		if in.MinCapacity != nil {
			t.MinCapacity = *in.MinCapacity
		}
		if in.MaxCapacity != nil {
			t.MaxCapacity = *in.MaxCapacity
		}
		if t.MinCapacity > t.MaxCapacity {
			return invalid("Minimum capacity cannot be greater than maximum capacity: MinCapacity would be %d and MaxCapacity %d.", t.MinCapacity, t.MaxCapacity)
		}
		if in.RoleARN != "" {
			t.RoleARN = in.RoleARN
		}
		if s := in.SuspendedState; s != nil {
			set := func(dst *bool, v *bool) {
				if v != nil {
					*dst = *v
				}
			}
			set(&t.SuspendedState.DynamicScalingInSuspended, s.DynamicScalingInSuspended)
			set(&t.SuspendedState.DynamicScalingOutSuspended, s.DynamicScalingOutSuspended)
			set(&t.SuspendedState.ScheduledScalingSuspended, s.ScheduledScalingSuspended)
		}
		if len(in.Tags) > 0 {
			if t.Tags == nil {
				t.Tags = map[string]string{}
			}
			maps.Copy(t.Tags, in.Tags)
			if len(t.Tags) > maxTagsPerTarget {
				return awsproto.Errorf(codeTooManyTags, "A scalable target may have at most %d tags; this would give it %d.", maxTagsPerTarget, len(t.Tags))
			}
		}
		if _, err := a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, t)}}); err != nil {
			return err
		}
		saved = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := a.act.Clamp(ctx, saved, autoscaling.RegisterCause); err != nil {
		a.log.Warn("bring the desired count into the registered range", "resource", saved.ResourceId, "err", err)
	}
	return &registerScalableTargetResponse{ScalableTargetARN: saved.ScalableTargetARN}, nil
}

// DeregisterScalableTarget removes a target with its scaling policies and
// scheduled actions; its activities stay until they expire.
func (a *API) DeregisterScalableTarget(ctx context.Context, in *deregisterScalableTargetRequest) (*empty, error) {
	ref, err := in.check()
	if err != nil {
		return nil, err
	}
	key := state.ScalableTargetKey(ref)
	err = retry(ctx, func() error {
		kv, err := a.st.Get(ctx, key)
		if isNotFound(err) {
			return in.notFound()
		}
		if err != nil {
			return err
		}
		ops := []store.Op{state.Delete(key)}
		for _, prefix := range []string{state.ScalingPoliciesOf(ref), state.ScheduledActionsOf(ref)} {
			kvs, _, err := a.st.List(ctx, prefix, store.ListOptions{})
			if err != nil {
				return err
			}
			for _, kv := range kvs {
				ops = append(ops, state.Delete(kv.Key))
			}
		}
		_, err = a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: kv.Revision}}, Ops: ops})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}

func (r targetRef) notFound() error {
	return awsproto.Errorf(codeObjectNotFound, "No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s. Register it first (RegisterScalableTarget).",
		r.ServiceNamespace, r.ResourceId, r.ScalableDimension)
}

// target reads a registered target with its revision.
func (a *API) target(ctx context.Context, r targetRef, ref string) (*state.ScalableTarget, int64, error) {
	t, rev, err := state.Get[state.ScalableTarget](ctx, a.st, state.ScalableTargetKey(ref))
	if isNotFound(err) {
		return nil, 0, r.notFound()
	}
	return t, rev, err
}

// DescribeScalableTargets lists targets of the namespace, optionally only
// those of ResourceIds and ScalableDimension.
func (a *API) DescribeScalableTargets(ctx context.Context, in *describeScalableTargetsRequest) (*describeScalableTargetsResponse, error) {
	in.ResourceId = ""
	if in.ScalableDimension != "" {
		if err := checkDimension(in.ScalableDimension); err != nil {
			return nil, err
		}
	}
	dim := in.ScalableDimension
	in.ScalableDimension = ""
	limit, err := in.check(50)
	if err != nil {
		return nil, err
	}
	if len(in.ResourceIds) > 50 {
		return nil, invalid("ResourceIds takes at most 50 resource IDs; got %d.", len(in.ResourceIds))
	}
	items, _, err := state.List[state.ScalableTarget](ctx, a.st, state.ScalableTargetsPrefix+in.ServiceNamespace+"/", store.ListOptions{})
	if err != nil {
		return nil, internal(err)
	}
	var keep []sorted[state.ScalableTarget]
	for _, it := range items {
		t := it.Val
		if (dim != "" && t.ScalableDimension != dim) || (len(in.ResourceIds) > 0 && !slices.Contains(in.ResourceIds, t.ResourceId)) {
			continue
		}
		keep = append(keep, sorted[state.ScalableTarget]{it.Key, outTarget(t)})
	}
	out, next, err := page("DescribeScalableTargets", in.NextToken, keep, limit)
	if err != nil {
		return nil, err
	}
	return &describeScalableTargetsResponse{ScalableTargets: out, NextToken: next}, nil
}

// checkTags validates tags given to a target, including the wharf:alarm:
// tags that stand in for step scaling policies' alarms.
func checkTags(tags map[string]string) error {
	if len(tags) > maxTagsPerTarget {
		return awsproto.Errorf(codeTooManyTags, "A scalable target may have at most %d tags; got %d.", maxTagsPerTarget, len(tags))
	}
	for k, v := range tags {
		switch {
		case k == "" || len(k) > 128:
			return invalid("Tag keys must be 1 to 128 characters long; got %q.", k)
		case len(v) > 256:
			return invalid("The value of tag %s is %d characters long; at most 256 are allowed.", k, len(v))
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return invalid("Tag key %s begins with aws:, which is reserved for AWS's own tags.", k)
		}
		if strings.HasPrefix(k, autoscaling.AlarmTagPrefix) {
			if _, err := autoscaling.ParseAlarm(k, v); err != nil {
				return invalid("%v.", err)
			}
		}
	}
	return nil
}

// targetByARN finds a target by its ARN.
func (a *API) targetByARN(ctx context.Context, arn string) (*state.ScalableTarget, string, int64, error) {
	if arn == "" {
		return nil, "", 0, invalid("ResourceARN is required: the scalable target's ARN, as DescribeScalableTargets shows it.")
	}
	items, _, err := state.List[state.ScalableTarget](ctx, a.st, state.ScalableTargetsPrefix, store.ListOptions{})
	if err != nil {
		return nil, "", 0, internal(err)
	}
	for _, it := range items {
		if it.Val.ScalableTargetARN == arn {
			return it.Val, it.Key, it.Rev, nil
		}
	}
	return nil, "", 0, awsproto.Errorf(codeResourceNotFound, "No scalable target has the ARN %s: DescribeScalableTargets shows the ARNs of registered targets.", arn)
}

// TagResource adds or replaces tags of a target.
func (a *API) TagResource(ctx context.Context, in *tagResourceRequest) (*empty, error) {
	if len(in.Tags) == 0 {
		return nil, invalid("Tags is required: give at least one tag.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	return a.retag(ctx, in.ResourceARN, func(tags map[string]string) {
		maps.Copy(tags, in.Tags)
	})
}

// UntagResource removes tags of a target.
func (a *API) UntagResource(ctx context.Context, in *untagResourceRequest) (*empty, error) {
	if len(in.TagKeys) > 200 {
		return nil, invalid("TagKeys takes at most 200 keys; got %d.", len(in.TagKeys))
	}
	return a.retag(ctx, in.ResourceARN, func(tags map[string]string) {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
	})
}

func (a *API) retag(ctx context.Context, arn string, change func(map[string]string)) (*empty, error) {
	err := retry(ctx, func() error {
		t, key, rev, err := a.targetByARN(ctx, arn)
		if err != nil {
			return err
		}
		c := *t
		c.Tags = maps.Clone(t.Tags)
		if c.Tags == nil {
			c.Tags = map[string]string{}
		}
		change(c.Tags)
		if len(c.Tags) > maxTagsPerTarget {
			return awsproto.Errorf(codeTooManyTags, "A scalable target may have at most %d tags; this would give it %d.", maxTagsPerTarget, len(c.Tags))
		}
		_, err = a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, &c)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}

// ListTagsForResource answers a target's tags.
func (a *API) ListTagsForResource(ctx context.Context, in *listTagsForResourceRequest) (*listTagsForResourceResponse, error) {
	t, _, _, err := a.targetByARN(ctx, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return &listTagsForResourceResponse{Tags: t.Tags}, nil
}
