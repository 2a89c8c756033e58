package autoscaling

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
)

// DefaultCooldown is the cooldown of ECS services' policies that give none
// (ScaleOutCooldown, ScaleInCooldown, Cooldown), in seconds.
const DefaultCooldown = 300

// scaleInShare is how far below its target a target tracking metric must be
// for the policy to scale in, as Application Auto Scaling's scale-in alarms
// are set at 90% of the target.
const scaleInShare = 0.9

// situation is what one evaluation of a target sees. It is data only: the
// metric function reads in memory and time is given.
type situation struct {
	now       time.Time
	target    *state.ScalableTarget
	desired   int32
	deploying bool
	policies  []*state.ScalingPolicy
	recent    []*state.ScalingActivity // this target's, newest first
	metric    func(name string, window time.Duration) (float64, bool)
	tuning    Tuning
}

// decision is what an evaluation concludes: a new desired count with why
// (kind ScaleOut or ScaleIn), a policy that could not scale (NotScaled), or
// nothing (kind "").
type decision struct {
	to        int32
	kind      string
	policy    string
	cause     string
	details   string
	notScaled string
}

// proposal is what one policy asks for.
type proposal struct {
	to      int32
	policy  *state.ScalingPolicy
	cause   string
	details string
}

// decide evaluates a target's policies. Target tracking policies scale out
// as soon as any of them asks for more, and scale in only when every one
// whose scale-in is enabled asks for less (then by the least reduction).
// Step policies act while their alarm is breached, independently of each
// other. Scale-in waits while the service deploys, as in ECS.
func decide(s situation) decision {
	var outs, ins []proposal
	trackingIns, trackingHold := []proposal(nil), false
	alarmsByPolicy := alarms(s.target.Tags)
	for _, p := range s.policies {
		switch p.PolicyType {
		case state.PolicyTargetTrackingScaling:
			out, in, hold := s.tracking(p)
			if out != nil {
				outs = append(outs, *out)
			}
			if in != nil {
				trackingIns = append(trackingIns, *in)
			}
			trackingHold = trackingHold || hold
		case state.PolicyStepScaling:
			a, ok := alarmsByPolicy[p.PolicyName]
			if !ok {
				continue
			}
			if pr, ok := s.step(p, a); ok {
				if pr.to > s.desired {
					outs = append(outs, pr)
				} else {
					ins = append(ins, pr)
				}
			}
		}
	}
	if !trackingHold {
		ins = append(ins, trackingIns...)
	}
	susp := s.target.SuspendedState
	if len(outs) > 0 && !susp.DynamicScalingOutSuspended {
		best := outs[0]
		for _, p := range outs[1:] {
			if p.to > best.to {
				best = p
			}
		}
		to := min(best.to, s.target.MaxCapacity)
		if to <= s.desired {
			return decision{kind: state.ActivityNotScaled, policy: best.policy.PolicyName, cause: best.cause, details: best.details, notScaled: "AlreadyAtMaxCapacity"}
		}
		return decision{to: to, kind: state.ActivityScaleOut, policy: best.policy.PolicyName, cause: best.cause, details: best.details}
	}
	if len(ins) == 0 || susp.DynamicScalingInSuspended || s.deploying {
		return decision{}
	}
	best := ins[0]
	for _, p := range ins[1:] {
		if p.to > best.to {
			best = p
		}
	}
	to := max(best.to, s.target.MinCapacity)
	if to >= s.desired {
		return decision{kind: state.ActivityNotScaled, policy: best.policy.PolicyName, cause: best.cause, details: best.details, notScaled: "AlreadyAtMinCapacity"}
	}
	return decision{to: to, kind: state.ActivityScaleIn, policy: best.policy.PolicyName, cause: best.cause, details: best.details}
}

// tracking evaluates a target tracking policy: a scale-out or scale-in
// proposal, and whether it holds the other policies back from scaling in.
func (s situation) tracking(p *state.ScalingPolicy) (out, in *proposal, holdIn bool) {
	c := p.TargetTrackingScalingPolicyConfiguration
	if c == nil || c.TargetValue == nil || *c.TargetValue <= 0 {
		return nil, nil, false
	}
	name, err := TrackedMetric(c, s.target.ResourceId)
	if err != nil {
		return nil, nil, false
	}
	target := *c.TargetValue
	scaleIn := c.DisableScaleIn == nil || !*c.DisableScaleIn
	v, ok := s.metric(name, s.tuning.ScaleOutWindow)
	if !ok {
		// No data is no reason to scale in.
		return nil, nil, scaleIn
	}
	alarmHigh, alarmLow := alarmNames(p)
	if v > target {
		// While the scale-out cooldown lasts, the capacity the last
		// scale-out added counts as already there: scale out again only
		// by what the metric asks beyond it.
		base := s.desired
		if last := s.last(state.ActivityScaleOut, ""); last != nil && s.now.Sub(last.StartTime.Time) < cooldown(c.ScaleOutCooldown) {
			base = last.From
		}
		want := ceil(float64(base) * v / target)
		if want > s.desired {
			out = &proposal{to: want, policy: p,
				cause:   fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", alarmHigh, p.PolicyName),
				details: fmt.Sprintf("%s was %.2f, above the target of %.2f, at a desired count of %d.", metricLabel(c), v, target, base)}
		}
		return out, nil, scaleIn
	}
	if !scaleIn {
		return nil, nil, false
	}
	long, ok := s.metric(name, s.tuning.ScaleInWindow)
	if !ok || v >= scaleInShare*target || long >= scaleInShare*target {
		return nil, nil, true
	}
	if last := s.last(state.ActivityScaleIn, ""); last != nil && s.now.Sub(last.StartTime.Time) < cooldown(c.ScaleInCooldown) {
		return nil, nil, true
	}
	// Remove only what the higher of the recent and the long average
	// justifies.
	m := max(v, long)
	want := ceil(float64(s.desired) * m / target)
	if want >= s.desired {
		return nil, nil, true
	}
	return nil, &proposal{to: want, policy: p,
		cause:   fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", alarmLow, p.PolicyName),
		details: fmt.Sprintf("%s was %.2f (%.2f over the last %s), below %.0f%% of the target of %.2f, at a desired count of %d.", metricLabel(c), v, long, s.tuning.ScaleInWindow, scaleInShare*100, target, s.desired)}, false
}

// step evaluates a step scaling policy against its alarm.
func (s situation) step(p *state.ScalingPolicy, a Alarm) (proposal, bool) {
	c := p.StepScalingPolicyConfiguration
	if c == nil {
		return proposal{}, false
	}
	v, ok := s.metric(a.Metric, s.tuning.ScaleOutWindow)
	if !ok || !a.Breached(v) {
		return proposal{}, false
	}
	adj, ok := stepFor(c.StepAdjustments, v-a.Threshold)
	if !ok {
		return proposal{}, false
	}
	last := s.last("", p.PolicyName)
	inCooldown := last != nil && s.now.Sub(last.StartTime.Time) < cooldown(c.Cooldown)
	base := s.desired
	if inCooldown && last.Kind == state.ActivityScaleOut {
		base = last.From
	}
	to := adjust(base, c.AdjustmentType, adj, c.MinAdjustmentMagnitude)
	if to == s.desired || (to < s.desired && inCooldown) {
		return proposal{}, false
	}
	return proposal{to: to, policy: p,
		cause:   fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", a.Name, p.PolicyName),
		details: fmt.Sprintf("The service's %s was %.2f against the alarm's threshold of %.2f: step adjustment %s %d at a desired count of %d.", a.Metric, v, a.Threshold, c.AdjustmentType, adj, base)}, true
}

// stepFor finds the step whose interval holds diff, the metric's distance
// from the threshold. Above the threshold a step's lower bound is inclusive
// and its upper bound exclusive; below it, the other way round.
func stepFor(steps []state.StepAdjustment, diff float64) (int32, bool) {
	for _, st := range steps {
		lo, hi := math.Inf(-1), math.Inf(1)
		if st.MetricIntervalLowerBound != nil {
			lo = *st.MetricIntervalLowerBound
		}
		if st.MetricIntervalUpperBound != nil {
			hi = *st.MetricIntervalUpperBound
		}
		in := lo <= diff && diff < hi
		if diff < 0 {
			in = lo < diff && diff <= hi
		}
		if in && st.ScalingAdjustment != nil {
			return *st.ScalingAdjustment, true
		}
	}
	return 0, false
}

// adjust applies a step adjustment to capacity. A percentage change is
// rounded toward zero but moves by at least one (and by MinAdjustmentMagnitude
// when given), as Application Auto Scaling does.
func adjust(capacity int32, kind string, adj int32, minMagnitude *int32) int32 {
	switch kind {
	case "ExactCapacity":
		return max(adj, 0)
	case "PercentChangeInCapacity":
		d := float64(capacity) * float64(adj) / 100
		n := int32(d) // toward zero
		if n == 0 && d != 0 {
			n = int32(math.Copysign(1, d))
		}
		if minMagnitude != nil && abs(n) < *minMagnitude && n != 0 {
			n = *minMagnitude * sign(n)
		}
		return max(capacity+n, 0)
	}
	return max(capacity+adj, 0)
}

func abs(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}

func sign(n int32) int32 {
	if n < 0 {
		return -1
	}
	return 1
}

// ceil rounds up, forgiving the float error of a ratio that is whole.
func ceil(x float64) int32 {
	c := math.Ceil(x - 1e-9)
	if c > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(c)
}

func cooldown(seconds *int32) time.Duration {
	if seconds == nil {
		return DefaultCooldown * time.Second
	}
	return time.Duration(*seconds) * time.Second
}

// last is the newest scaling activity of the kind (any when "") by the
// policy (any when ""), or nil.
func (s situation) last(kind, policy string) *state.ScalingActivity {
	for _, a := range s.recent {
		if a.Kind != state.ActivityScaleOut && a.Kind != state.ActivityScaleIn {
			continue
		}
		if (kind == "" || a.Kind == kind) && (policy == "" || a.Policy == policy) && a.StartTime != nil {
			return a
		}
	}
	return nil
}

// alarmNames are the names a target tracking policy's alarms go by.
func alarmNames(p *state.ScalingPolicy) (high, low string) {
	for _, a := range p.Alarms {
		switch {
		case high == "" && strings.Contains(a.AlarmName, "-AlarmHigh-"):
			high = a.AlarmName
		case low == "" && strings.Contains(a.AlarmName, "-AlarmLow-"):
			low = a.AlarmName
		}
	}
	return high, low
}

func metricLabel(c *state.TargetTrackingScalingPolicyConfiguration) string {
	if p := c.PredefinedMetricSpecification; p != nil {
		return p.PredefinedMetricType
	}
	return "AWS/ECS " + c.CustomizedMetricSpecification.MetricName
}
