package autoscaling

import "time"

// Tuning sets the controller's timings; zero values take the defaults.
// Tests shorten them.
type Tuning struct {
	// Interval is how often policies are evaluated and scheduled actions
	// looked at; default 15 seconds. A scheduled action also wakes the
	// controller at its time.
	Interval time.Duration
	// ScaleOutWindow is how far back a policy's metric is averaged to
	// decide a scale-out (and a step policy's alarm); default one minute,
	// which reads the current minute and the one before it.
	ScaleOutWindow time.Duration
	// ScaleInWindow is how long a target tracking metric must stay below
	// 90% of its target before the policy scales in; default 15 minutes,
	// as the scale-in alarms of Application Auto Scaling wait.
	ScaleInWindow time.Duration
}

// Default timings.
const (
	DefaultInterval       = 15 * time.Second
	DefaultScaleOutWindow = time.Minute
	DefaultScaleInWindow  = 15 * time.Minute
)

func (t Tuning) withDefaults() Tuning {
	if t.Interval <= 0 {
		t.Interval = DefaultInterval
	}
	if t.ScaleOutWindow <= 0 {
		t.ScaleOutWindow = DefaultScaleOutWindow
	}
	if t.ScaleInWindow <= 0 {
		t.ScaleInWindow = DefaultScaleInWindow
	}
	return t
}
