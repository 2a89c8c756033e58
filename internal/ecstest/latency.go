package ecstest

import (
	"slices"
	"testing"
	"time"
)

// ReportLatency reports the median and 99th percentile of calls' latencies
// as the benchmark metrics NAME-p50-ms and NAME-p99-ms (p50-ms and p99-ms
// when name is ""). It sorts took.
func ReportLatency(b *testing.B, took []time.Duration, name string) {
	b.Helper()
	if len(took) == 0 {
		return
	}
	if name != "" {
		name += "-"
	}
	slices.Sort(took)
	q := func(p float64) float64 {
		return float64(took[min(int(p*float64(len(took))), len(took)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), name+"p50-ms")
	b.ReportMetric(q(0.99), name+"p99-ms")
}
