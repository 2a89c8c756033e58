package aasapi

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/wharf-ecs/wharf/internal/autoscaling"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// PutScalingPolicy creates or replaces a scaling policy of a registered
// target. A replaced policy keeps its ARN and creation time.
func (a *API) PutScalingPolicy(ctx context.Context, in *putScalingPolicyRequest) (*putScalingPolicyResponse, error) {
	if err := checkName("PolicyName", in.PolicyName, false); err != nil {
		return nil, err
	}
	ref, err := in.check()
	if err != nil {
		return nil, err
	}
	if in.PolicyType == "" {
		in.PolicyType = state.PolicyStepScaling // AWS's default
	}
	if err := in.checkConfiguration(); err != nil {
		return nil, err
	}
	key := state.ScalingPolicyKey(ref, in.PolicyName)
	var saved *state.ScalingPolicy
	err = retry(ctx, func() error {
		t, trev, err := a.target(ctx, in.targetRef, ref)
		if err != nil {
			return err
		}
		kvs, _, err := a.st.List(ctx, state.ScalingPoliciesOf(ref), store.ListOptions{})
		if err != nil {
			return err
		}
		p := &state.ScalingPolicy{PolicyName: in.PolicyName, ServiceNamespace: in.ServiceNamespace, ResourceId: in.ResourceId,
			ScalableDimension: in.ScalableDimension, PolicyType: in.PolicyType,
			StepScalingPolicyConfiguration:           in.StepScalingPolicyConfiguration,
			TargetTrackingScalingPolicyConfiguration: in.TargetTrackingScalingPolicyConfiguration}
		prev, prevRev, err := state.Get[state.ScalingPolicy](ctx, a.st, key)
		switch {
		case err == nil:
			p.PolicyARN, p.CreationTime = prev.PolicyARN, prev.CreationTime
		case isNotFound(err):
			if len(kvs) >= maxPoliciesPerTarget {
				return awsproto.Errorf(codeLimitExceeded, "%s already has %d scaling policies, the most a scalable target may have. Delete one first.", in.ResourceId, len(kvs))
			}
			p.PolicyARN, p.CreationTime = a.policyARN(in.ServiceNamespace, in.ResourceId, in.PolicyName), model.NewTime(a.now())
		default:
			return err
		}
		p.Alarms = a.policyAlarms(p, t)
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.ScalableTargetKey(ref), Revision: trev}, {Key: key, Revision: prevRev}},
			Ops:   []store.Op{state.Put(key, p)},
		})
		saved = p
		return err
	})
	if err != nil {
		return nil, err
	}
	return &putScalingPolicyResponse{PolicyARN: saved.PolicyARN, Alarms: saved.Alarms}, nil
}

// policyAlarms names a policy's alarms. Target tracking policies have the
// two alarms Application Auto Scaling would create (AlarmHigh, and AlarmLow
// unless scale-in is disabled); Wharf evaluates the metric itself, so the
// names identify the decisions in activities' causes and no CloudWatch alarm
// exists. A step scaling policy's alarm is its target's wharf:alarm: tag.
func (a *API) policyAlarms(p *state.ScalingPolicy, t *state.ScalableTarget) []state.Alarm {
	if p.PolicyType == state.PolicyStepScaling {
		name := autoscaling.AlarmTagPrefix + p.PolicyName
		if _, ok := t.Tags[name]; ok {
			return []state.Alarm{{AlarmName: name, AlarmARN: a.alarmARN(name)}}
		}
		return nil
	}
	id := autoscaling.NewUUID()
	alarms := []state.Alarm{{AlarmName: "TargetTracking-" + p.ResourceId + "-AlarmHigh-" + id}}
	if c := p.TargetTrackingScalingPolicyConfiguration; c.DisableScaleIn == nil || !*c.DisableScaleIn {
		alarms = append(alarms, state.Alarm{AlarmName: "TargetTracking-" + p.ResourceId + "-AlarmLow-" + id})
	}
	for i := range alarms {
		alarms[i].AlarmARN = a.alarmARN(alarms[i].AlarmName)
	}
	return alarms
}

// checkConfiguration validates the policy type and its configuration.
func (in *putScalingPolicyRequest) checkConfiguration() error {
	step, tt := in.StepScalingPolicyConfiguration, in.TargetTrackingScalingPolicyConfiguration
	switch in.PolicyType {
	case state.PolicyTargetTrackingScaling:
		if tt == nil {
			return invalid("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy.")
		}
		if step != nil {
			return invalid("StepScalingPolicyConfiguration is not allowed in a TargetTrackingScaling policy.")
		}
		return checkTracking(tt, in.ResourceId)
	case state.PolicyStepScaling:
		if step == nil {
			return invalid("StepScalingPolicyConfiguration is required for a StepScaling policy (PolicyType defaults to StepScaling).")
		}
		if tt != nil {
			return invalid("TargetTrackingScalingPolicyConfiguration is not allowed in a StepScaling policy; set PolicyType to TargetTrackingScaling.")
		}
		return checkStep(step)
	case state.PolicyPredictiveScaling:
		return invalid("Wharf does not support predictive scaling: use a TargetTrackingScaling or StepScaling policy, or scheduled actions.")
	}
	return invalid("PolicyType %s is not valid: use TargetTrackingScaling or StepScaling.", in.PolicyType)
}

func checkTracking(c *state.TargetTrackingScalingPolicyConfiguration, rid string) error {
	switch {
	case c.TargetValue == nil:
		return invalid("TargetValue is required.")
	case math.IsNaN(*c.TargetValue) || *c.TargetValue < 8.515920e-109 || *c.TargetValue > 1.174271e+108:
		return invalid("TargetValue must be between 8.515920e-109 and 1.174271e+108; got %v.", *c.TargetValue)
	case (c.PredefinedMetricSpecification == nil) == (c.CustomizedMetricSpecification == nil):
		return invalid("Give exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification.")
	}
	for _, cd := range []*int32{c.ScaleInCooldown, c.ScaleOutCooldown} {
		if cd != nil && *cd < 0 {
			return invalid("ScaleInCooldown and ScaleOutCooldown must be 0 or more seconds; got %d.", *cd)
		}
	}
	if p := c.PredefinedMetricSpecification; p != nil && p.ResourceLabel != "" && p.PredefinedMetricType != autoscaling.MetricALBRequestCount {
		return invalid("ResourceLabel is only for ALBRequestCountPerTarget; remove it for %s.", p.PredefinedMetricType)
	}
	if _, err := autoscaling.TrackedMetric(c, rid); err != nil {
		return invalid("%v.", err)
	}
	return nil
}

var adjustmentTypes = []string{"ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity"}

func checkStep(c *state.StepScalingPolicyConfiguration) error {
	switch {
	case !slices.Contains(adjustmentTypes, c.AdjustmentType):
		return invalid("AdjustmentType must be one of %s; got %q.", strings.Join(adjustmentTypes, ", "), c.AdjustmentType)
	case len(c.StepAdjustments) == 0:
		return invalid("StepAdjustments is required: give at least one step adjustment.")
	case c.Cooldown != nil && *c.Cooldown < 0:
		return invalid("Cooldown must be 0 or more seconds; got %d.", *c.Cooldown)
	case c.MetricAggregationType != "" && !slices.Contains([]string{"Average", "Minimum", "Maximum"}, c.MetricAggregationType):
		return invalid("MetricAggregationType must be Average, Minimum or Maximum; got %q.", c.MetricAggregationType)
	}
	if m := c.MinAdjustmentMagnitude; m != nil {
		if c.AdjustmentType != "PercentChangeInCapacity" {
			return invalid("MinAdjustmentMagnitude is only for the PercentChangeInCapacity adjustment type.")
		}
		if *m < 1 {
			return invalid("MinAdjustmentMagnitude must be 1 or more; got %d.", *m)
		}
	}
	steps := slices.Clone(c.StepAdjustments)
	for _, s := range steps {
		switch {
		case s.ScalingAdjustment == nil:
			return invalid("Every step adjustment needs a ScalingAdjustment.")
		case c.AdjustmentType == "ExactCapacity" && *s.ScalingAdjustment < 0:
			return invalid("An ExactCapacity ScalingAdjustment is a capacity and must be 0 or more; got %d.", *s.ScalingAdjustment)
		case s.MetricIntervalLowerBound != nil && s.MetricIntervalUpperBound != nil && *s.MetricIntervalUpperBound <= *s.MetricIntervalLowerBound:
			return invalid("A step adjustment's MetricIntervalUpperBound (%v) must be greater than its MetricIntervalLowerBound (%v).",
				*s.MetricIntervalUpperBound, *s.MetricIntervalLowerBound)
		}
	}
	lower := func(s state.StepAdjustment) float64 {
		if s.MetricIntervalLowerBound == nil {
			return math.Inf(-1)
		}
		return *s.MetricIntervalLowerBound
	}
	sort.SliceStable(steps, func(i, j int) bool { return lower(steps[i]) < lower(steps[j]) })
	for i, s := range steps {
		if i > 0 && s.MetricIntervalLowerBound == nil {
			return invalid("Only one step adjustment may have no MetricIntervalLowerBound.")
		}
		if i < len(steps)-1 {
			next := steps[i+1]
			if s.MetricIntervalUpperBound == nil {
				return invalid("Only the step adjustment with the highest bounds may have no MetricIntervalUpperBound.")
			}
			if next.MetricIntervalLowerBound == nil || *next.MetricIntervalLowerBound != *s.MetricIntervalUpperBound {
				return invalid("The step adjustments' intervals must not overlap or leave a gap: the interval ending at %v must be followed by one beginning at %v.",
					*s.MetricIntervalUpperBound, *s.MetricIntervalUpperBound)
			}
		}
	}
	return nil
}

// DescribeScalingPolicies lists the policies of the namespace, or of one
// target, or the named ones.
func (a *API) DescribeScalingPolicies(ctx context.Context, in *describeScalingPoliciesRequest) (*describeScalingPoliciesResponse, error) {
	limit, err := in.check(10)
	if err != nil {
		return nil, err
	}
	if len(in.PolicyNames) > 50 {
		return nil, invalid("PolicyNames takes at most 50 names; got %d.", len(in.PolicyNames))
	}
	items, _, err := state.List[state.ScalingPolicy](ctx, a.st, in.prefix(state.ScalingPoliciesPrefix), store.ListOptions{})
	if err != nil {
		return nil, internal(err)
	}
	targets := map[string]*state.ScalableTarget{}
	var keep []sorted[state.ScalingPolicy]
	for _, it := range items {
		p := it.Val
		if !in.matches(p.ResourceId, p.ScalableDimension) || (len(in.PolicyNames) > 0 && !slices.Contains(in.PolicyNames, p.PolicyName)) {
			continue
		}
		if p.PolicyType == state.PolicyStepScaling {
			// A step policy's alarm follows its target's tags.
			ref := state.ScalableRef(p.ServiceNamespace, p.ScalableDimension, p.ResourceId)
			t, ok := targets[ref]
			if !ok {
				t, _, _ = state.Get[state.ScalableTarget](ctx, a.st, state.ScalableTargetKey(ref))
				targets[ref] = t
			}
			if t != nil {
				p.Alarms = a.policyAlarms(p, t)
			}
		}
		keep = append(keep, sorted[state.ScalingPolicy]{it.Key, p})
	}
	out, next, err := page("DescribeScalingPolicies", in.NextToken, keep, limit)
	if err != nil {
		return nil, err
	}
	return &describeScalingPoliciesResponse{ScalingPolicies: out, NextToken: next}, nil
}

// DeleteScalingPolicy deletes a policy.
func (a *API) DeleteScalingPolicy(ctx context.Context, in *deleteScalingPolicyRequest) (*empty, error) {
	return a.deleteNamed(ctx, in.targetRef, "PolicyName", in.PolicyName, false, state.ScalingPolicyKey, func() error {
		return awsproto.Errorf(codeObjectNotFound, "No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s.",
			in.ServiceNamespace, in.ResourceId, in.ScalableDimension, in.PolicyName)
	})
}

// deleteNamed deletes the policy or scheduled action name of a target, or
// answers notFound.
func (a *API) deleteNamed(ctx context.Context, r targetRef, what, name string, scheduled bool, keyOf func(ref, name string) string, notFound func() error) (*empty, error) {
	if err := checkName(what, name, scheduled); err != nil {
		return nil, err
	}
	ref, err := r.check()
	if err != nil {
		return nil, err
	}
	key := keyOf(ref, name)
	err = retry(ctx, func() error {
		kv, err := a.st.Get(ctx, key)
		if isNotFound(err) {
			return notFound()
		}
		if err != nil {
			return err
		}
		_, err = a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: kv.Revision}}, Ops: []store.Op{state.Delete(key)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}
