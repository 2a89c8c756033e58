package autoscaling

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/metrics"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Predefined metric types Wharf tracks, and the one it refuses with a reason.
const (
	MetricCPU                  = "ECSServiceAverageCPUUtilization"
	MetricMemory               = "ECSServiceAverageMemoryUtilization"
	MetricCPUHighResolution    = "ECSServiceAverageCPUUtilizationHighResolution"
	MetricMemoryHighResolution = "ECSServiceAverageMemoryUtilizationHighResolution"
	MetricALBRequestCount      = "ALBRequestCountPerTarget"
)

// ServiceOf splits an ECS resource ID, service/CLUSTER/SERVICE.
func ServiceOf(resourceID string) (cluster, service string, ok bool) {
	rest, ok := strings.CutPrefix(resourceID, "service/")
	if !ok {
		return "", "", false
	}
	cluster, service, ok = strings.Cut(rest, "/")
	return cluster, service, ok && cluster != "" && service != "" && !strings.Contains(service, "/")
}

// TrackedMetric is the metrics.Source name of the metric a target tracking
// policy follows for the service of resourceID. Errors say what Wharf cannot
// track and what it can.
func TrackedMetric(c *state.TargetTrackingScalingPolicyConfiguration, resourceID string) (string, error) {
	if p := c.PredefinedMetricSpecification; p != nil {
		switch p.PredefinedMetricType {
		case MetricCPU, MetricCPUHighResolution:
			return metrics.ServiceAverageCPU, nil
		case MetricMemory, MetricMemoryHighResolution:
			return metrics.ServiceAverageMemory, nil
		case MetricALBRequestCount:
			return "", fmt.Errorf("Wharf cannot track %s yet: its load balancers do not count requests per target group. Track %s or %s instead", MetricALBRequestCount, MetricCPU, MetricMemory)
		}
		return "", fmt.Errorf("PredefinedMetricType %s is not a metric of ECS services; use %s or %s", p.PredefinedMetricType, MetricCPU, MetricMemory)
	}
	if m := c.CustomizedMetricSpecification; m != nil {
		return customMetric(m, resourceID)
	}
	return "", fmt.Errorf("give a PredefinedMetricSpecification or a CustomizedMetricSpecification")
}

// customMetric accepts the CloudWatch metrics Wharf keeps: AWS/ECS
// CPUUtilization and MemoryUtilization of the policy's own service, as an
// Average.
func customMetric(m *state.CustomizedMetricSpecification, resourceID string) (string, error) {
	const only = "Wharf tracks only the AWS/ECS metrics CPUUtilization and MemoryUtilization of the policy's own service (dimensions ClusterName and ServiceName, statistic Average), or use a PredefinedMetricSpecification"
	if len(m.Metrics) > 0 {
		return "", fmt.Errorf("metric math (Metrics) is not supported: %s", only)
	}
	if m.Namespace != "AWS/ECS" || (m.MetricName != metrics.CPUUtilization && m.MetricName != metrics.MemoryUtilization) {
		return "", fmt.Errorf("the metric %s/%s is not kept: %s", m.Namespace, m.MetricName, only)
	}
	if m.Statistic != "" && m.Statistic != "Average" {
		return "", fmt.Errorf("statistic %s is not kept: %s", m.Statistic, only)
	}
	cluster, service, _ := ServiceOf(resourceID)
	dims := map[string]string{}
	for _, d := range m.Dimensions {
		dims[d.Name] = d.Value
	}
	if len(dims) != 2 || dims["ClusterName"] != cluster || dims["ServiceName"] != service {
		return "", fmt.Errorf("the dimensions must be ClusterName=%s and ServiceName=%s: %s", cluster, service, only)
	}
	return m.MetricName, nil
}

// AlarmTagPrefix begins the tag keys of a scalable target that declare the
// alarms of its step scaling policies: the tag wharf:alarm:POLICY with the
// value "METRIC COMPARISON THRESHOLD" invokes POLICY while the service's
// METRIC compares so to THRESHOLD. Wharf has no CloudWatch alarms; this
// stands in for one whose action is the policy.
const AlarmTagPrefix = "wharf:alarm:"

// Alarm is a step scaling policy's alarm.
type Alarm struct {
	Name       string // the tag key
	Metric     string // a metrics.Source name
	Comparison string
	Threshold  float64
}

// CloudWatch's comparison operators.
var comparisons = map[string]func(v, t float64) bool{
	"GreaterThanOrEqualToThreshold": func(v, t float64) bool { return v >= t },
	"GreaterThanThreshold":          func(v, t float64) bool { return v > t },
	"LessThanThreshold":             func(v, t float64) bool { return v < t },
	"LessThanOrEqualToThreshold":    func(v, t float64) bool { return v <= t },
}

// ParseAlarm reads an alarm tag's value.
func ParseAlarm(key, value string) (Alarm, error) {
	f := strings.Fields(value)
	bad := func(why string) (Alarm, error) {
		return Alarm{}, fmt.Errorf("the tag %s must be \"METRIC COMPARISON THRESHOLD\", such as \"%s GreaterThanThreshold 70\" (METRIC %s or %s; COMPARISON GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold): %s",
			key, MetricCPU, MetricCPU, MetricMemory, why)
	}
	if len(f) != 3 {
		return bad(fmt.Sprintf("%q has %d words", value, len(f)))
	}
	a := Alarm{Name: key, Comparison: f[1]}
	switch f[0] {
	case MetricCPU, metrics.CPUUtilization:
		a.Metric = metrics.ServiceAverageCPU
	case MetricMemory, metrics.MemoryUtilization:
		a.Metric = metrics.ServiceAverageMemory
	default:
		return bad("unknown metric " + f[0])
	}
	if comparisons[f[1]] == nil {
		return bad("unknown comparison " + f[1])
	}
	t, err := strconv.ParseFloat(f[2], 64)
	if err != nil || t != t {
		return bad("the threshold " + f[2] + " is not a number")
	}
	a.Threshold = t
	return a, nil
}

// Breached reports whether value sets the alarm off.
func (a Alarm) Breached(value float64) bool { return comparisons[a.Comparison](value, a.Threshold) }

// alarms reads a target's alarm tags by policy name; malformed ones (the
// API refuses them) are skipped.
func alarms(tags map[string]string) map[string]Alarm {
	var out map[string]Alarm
	for k, v := range tags {
		policy, ok := strings.CutPrefix(k, AlarmTagPrefix)
		if !ok {
			continue
		}
		if a, err := ParseAlarm(k, v); err == nil {
			if out == nil {
				out = map[string]Alarm{}
			}
			out[policy] = a
		}
	}
	return out
}
