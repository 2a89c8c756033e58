package autoscaling

import (
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/metrics"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func tracking(name, metric string, target float64, mod func(*state.TargetTrackingScalingPolicyConfiguration)) *state.ScalingPolicy {
	c := &state.TargetTrackingScalingPolicyConfiguration{TargetValue: &target,
		PredefinedMetricSpecification: &state.PredefinedMetricSpecification{PredefinedMetricType: metric}}
	if mod != nil {
		mod(c)
	}
	return &state.ScalingPolicy{PolicyName: name, PolicyType: state.PolicyTargetTrackingScaling, TargetTrackingScalingPolicyConfiguration: c,
		Alarms: []state.Alarm{{AlarmName: "TargetTracking-x-AlarmHigh-1"}, {AlarmName: "TargetTracking-x-AlarmLow-1"}}}
}

func steps(name, kind string, cooldown int32, st ...state.StepAdjustment) *state.ScalingPolicy {
	return &state.ScalingPolicy{PolicyName: name, PolicyType: state.PolicyStepScaling,
		StepScalingPolicyConfiguration: &state.StepScalingPolicyConfiguration{AdjustmentType: kind, StepAdjustments: st, Cooldown: &cooldown}}
}

func step(lo, hi *float64, adj int32) state.StepAdjustment {
	return state.StepAdjustment{MetricIntervalLowerBound: lo, MetricIntervalUpperBound: hi, ScalingAdjustment: &adj}
}

func f(v float64) *float64 { return &v }
func i32(v int32) *int32   { return &v }

func activity(kind, policy string, ago time.Duration, from, to int32) *state.ScalingActivity {
	return &state.ScalingActivity{Kind: kind, Policy: policy, StartTime: model.NewTime(t0.Add(-ago)), From: from, To: to}
}

// load is a metric source for decide: values by metric and window (short
// is ScaleOutWindow, long ScaleInWindow).
type load map[string][2]float64

func (l load) fn(tuning Tuning) func(string, time.Duration) (float64, bool) {
	return func(name string, w time.Duration) (float64, bool) {
		v, ok := l[name]
		if !ok {
			return 0, false
		}
		if w == tuning.ScaleInWindow {
			return v[1], true
		}
		return v[0], true
	}
}

func TestDecide(t *testing.T) {
	cpu, mem := metrics.ServiceAverageCPU, metrics.ServiceAverageMemory
	noCooldown := func(c *state.TargetTrackingScalingPolicyConfiguration) {
		c.ScaleInCooldown, c.ScaleOutCooldown = i32(0), i32(0)
	}
	for _, tc := range []struct {
		name      string
		min, max  int32
		desired   int32
		deploying bool
		suspended state.SuspendedState
		tags      map[string]string
		policies  []*state.ScalingPolicy
		recent    []*state.ScalingActivity
		load      load
		wantKind  string
		wantTo    int32
		wantWhy   string
	}{
		{name: "scale out in proportion", min: 1, max: 10, desired: 2,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {90, 90}},
			wantKind: state.ActivityScaleOut, wantTo: 4},
		{name: "scale out stops at the maximum", min: 1, max: 3, desired: 2,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {90, 90}},
			wantKind: state.ActivityScaleOut, wantTo: 3},
		{name: "already at the maximum", min: 1, max: 3, desired: 3,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {90, 90}},
			wantKind: state.ActivityNotScaled, wantWhy: "AlreadyAtMaxCapacity"},
		{name: "no data, no scaling", min: 1, max: 10, desired: 2,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{}},
		{name: "in the scale-out cooldown the last scale-out counts as done", min: 1, max: 10, desired: 2,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {90, 90}},
			recent: []*state.ScalingActivity{activity(state.ActivityScaleOut, "cpu", 30*time.Second, 1, 2)}},
		{name: "in the scale-out cooldown a larger need still scales out", min: 1, max: 10, desired: 2,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {200, 200}},
			recent:   []*state.ScalingActivity{activity(state.ActivityScaleOut, "cpu", 30*time.Second, 1, 2)},
			wantKind: state.ActivityScaleOut, wantTo: 4},
		{name: "after the scale-out cooldown", min: 1, max: 10, desired: 2,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {90, 90}},
			recent:   []*state.ScalingActivity{activity(state.ActivityScaleOut, "cpu", 301*time.Second, 1, 2)},
			wantKind: state.ActivityScaleOut, wantTo: 4},
		{name: "scale in by what the higher average justifies", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {10, 20}},
			wantKind: state.ActivityScaleIn, wantTo: 2},
		{name: "no scale-in above 90% of the target", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {46, 46}}},
		{name: "no scale-in while the long average is high", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {10, 47}}},
		{name: "no scale-in when disabled", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, func(c *state.TargetTrackingScalingPolicyConfiguration) {
				c.DisableScaleIn = new(bool)
				*c.DisableScaleIn = true
			})},
			load: load{cpu: {10, 10}}},
		{name: "no scale-in while deploying", min: 1, max: 10, desired: 4, deploying: true,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {10, 10}}},
		{name: "no scale-in in the scale-in cooldown", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {10, 10}},
			recent: []*state.ScalingActivity{activity(state.ActivityScaleIn, "cpu", time.Minute, 6, 4)}},
		{name: "scale-in cooldown of zero", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, noCooldown)}, load: load{cpu: {10, 10}},
			recent:   []*state.ScalingActivity{activity(state.ActivityScaleIn, "cpu", time.Second, 6, 4)},
			wantKind: state.ActivityScaleIn, wantTo: 1},
		{name: "scale-in stops at the minimum", min: 2, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {10, 10}},
			wantKind: state.ActivityScaleIn, wantTo: 2},
		{name: "already at the minimum", min: 2, max: 10, desired: 2,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {10, 10}},
			wantKind: state.ActivityNotScaled, wantWhy: "AlreadyAtMinCapacity"},
		{name: "one policy holding keeps the others from scaling in", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil), tracking("mem", MetricMemory, 50, nil)},
			load:     load{cpu: {10, 10}, mem: {48, 48}}},
		{name: "every policy agreeing scales in by the least", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil), tracking("mem", MetricMemory, 50, nil)},
			load:     load{cpu: {10, 10}, mem: {30, 30}}, wantKind: state.ActivityScaleIn, wantTo: 3},
		{name: "any policy scales out", min: 1, max: 10, desired: 4,
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil), tracking("mem", MetricMemory, 50, nil)},
			load:     load{cpu: {10, 10}, mem: {60, 60}}, wantKind: state.ActivityScaleOut, wantTo: 5},
		{name: "scale-out suspended", min: 1, max: 10, desired: 2, suspended: state.SuspendedState{DynamicScalingOutSuspended: true},
			policies: []*state.ScalingPolicy{tracking("cpu", MetricCPU, 50, nil)}, load: load{cpu: {90, 90}}},
		{name: "customized AWS/ECS metric", min: 1, max: 10, desired: 1,
			policies: []*state.ScalingPolicy{{PolicyName: "c", PolicyType: state.PolicyTargetTrackingScaling,
				TargetTrackingScalingPolicyConfiguration: &state.TargetTrackingScalingPolicyConfiguration{TargetValue: f(40),
					CustomizedMetricSpecification: &state.CustomizedMetricSpecification{Namespace: "AWS/ECS", MetricName: "MemoryUtilization", Statistic: "Average",
						Dimensions: []state.MetricDimension{{Name: "ClusterName", Value: "default"}, {Name: "ServiceName", Value: "web"}}}}}},
			load: load{metrics.MemoryUtilization: {100, 100}}, wantKind: state.ActivityScaleOut, wantTo: 3},
		{name: "step out by the step the breach falls in", min: 1, max: 10, desired: 2,
			tags: map[string]string{AlarmTagPrefix + "up": "ECSServiceAverageCPUUtilization GreaterThanThreshold 70"},
			policies: []*state.ScalingPolicy{steps("up", "ChangeInCapacity", 60,
				step(f(0), f(10), 1), step(f(10), nil, 3))},
			load: load{cpu: {85, 85}}, wantKind: state.ActivityScaleOut, wantTo: 5},
		{name: "step alarm not breached", min: 1, max: 10, desired: 2,
			tags:     map[string]string{AlarmTagPrefix + "up": "ECSServiceAverageCPUUtilization GreaterThanThreshold 70"},
			policies: []*state.ScalingPolicy{steps("up", "ChangeInCapacity", 60, step(f(0), nil, 1))},
			load:     load{cpu: {60, 60}}},
		{name: "step policy without an alarm does nothing", min: 1, max: 10, desired: 2,
			policies: []*state.ScalingPolicy{steps("up", "ChangeInCapacity", 60, step(f(0), nil, 1))},
			load:     load{cpu: {99, 99}}},
		{name: "step percent change moves by at least one", min: 1, max: 10, desired: 3,
			tags:     map[string]string{AlarmTagPrefix + "up": "CPUUtilization GreaterThanOrEqualToThreshold 70"},
			policies: []*state.ScalingPolicy{steps("up", "PercentChangeInCapacity", 60, step(f(0), nil, 10))},
			load:     load{cpu: {70, 70}}, wantKind: state.ActivityScaleOut, wantTo: 4},
		{name: "step in below the threshold", min: 1, max: 10, desired: 5,
			tags:     map[string]string{AlarmTagPrefix + "down": "ECSServiceAverageMemoryUtilization LessThanThreshold 30"},
			policies: []*state.ScalingPolicy{steps("down", "ChangeInCapacity", 60, step(f(-10), f(0), -1), step(nil, f(-10), -2))},
			load:     load{mem: {15, 15}}, wantKind: state.ActivityScaleIn, wantTo: 3},
		{name: "step in waits out its cooldown", min: 1, max: 10, desired: 5,
			tags:     map[string]string{AlarmTagPrefix + "down": "ECSServiceAverageMemoryUtilization LessThanThreshold 30"},
			policies: []*state.ScalingPolicy{steps("down", "ChangeInCapacity", 60, step(nil, f(0), -1))},
			recent:   []*state.ScalingActivity{activity(state.ActivityScaleIn, "down", 30*time.Second, 6, 5)},
			load:     load{mem: {15, 15}}},
		{name: "step exact capacity", min: 1, max: 10, desired: 2,
			tags:     map[string]string{AlarmTagPrefix + "peak": "ECSServiceAverageCPUUtilization GreaterThanThreshold 90"},
			policies: []*state.ScalingPolicy{steps("peak", "ExactCapacity", 60, step(f(0), nil, 8))},
			load:     load{cpu: {95, 95}}, wantKind: state.ActivityScaleOut, wantTo: 8},
	} {
		tuning := Tuning{}.withDefaults()
		target := &state.ScalableTarget{ResourceId: "service/default/web", MinCapacity: tc.min, MaxCapacity: tc.max,
			SuspendedState: tc.suspended, Tags: tc.tags}
		d := decide(situation{now: t0, target: target, desired: tc.desired, deploying: tc.deploying, policies: tc.policies,
			recent: tc.recent, metric: tc.load.fn(tuning), tuning: tuning})
		if d.kind != tc.wantKind || (d.kind != state.ActivityNotScaled && d.to != tc.wantTo) || d.notScaled != tc.wantWhy {
			t.Errorf("%s: decide = %s to %d (%s; %s); want %s to %d (%s)", tc.name, d.kind, d.to, d.notScaled, d.details, tc.wantKind, tc.wantTo, tc.wantWhy)
		}
	}
}

func TestAdjust(t *testing.T) {
	for _, tc := range []struct {
		capacity int32
		kind     string
		adj      int32
		min      *int32
		want     int32
	}{
		{10, "ChangeInCapacity", 3, nil, 13},
		{2, "ChangeInCapacity", -5, nil, 0},
		{10, "PercentChangeInCapacity", 15, nil, 11},    // 1.5 rounds toward zero
		{10, "PercentChangeInCapacity", -15, nil, 9},    // -1.5 too
		{3, "PercentChangeInCapacity", 10, nil, 4},      // 0.3 moves by one
		{3, "PercentChangeInCapacity", -10, nil, 2},     // -0.3 too
		{10, "PercentChangeInCapacity", 15, i32(3), 13}, // MinAdjustmentMagnitude
		{10, "ExactCapacity", 4, nil, 4},
	} {
		if got := adjust(tc.capacity, tc.kind, tc.adj, tc.min); got != tc.want {
			t.Errorf("adjust(%d, %s, %d) = %d; want %d", tc.capacity, tc.kind, tc.adj, got, tc.want)
		}
	}
}
