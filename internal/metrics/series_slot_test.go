package metrics

import (
	"math"
	"testing"
	"time"
	"unsafe"
)

// TestSeriesSlotsAreCompactAndPreciseEnough: every task with stats keeps a
// ring of slots, so a slot stays at 24 bytes; single precision still gives a
// minute's utilization to far better than the 0.1% anyone reads.
func TestSeriesSlotsAreCompactAndPreciseEnough(t *testing.T) {
	if n := unsafe.Sizeof(slot{}); n != 24 {
		t.Errorf("a series slot is %d bytes; want 24", n)
	}
	// And what is known of each task fits the 112-byte size class.
	if n := unsafe.Sizeof(task{}); n > 112 {
		t.Errorf("a task is %d bytes; want at most 112", n)
	}
	r := newSeries(15)
	at := time.Date(2026, 11, 21, 12, 0, 10, 0, time.UTC)
	for i := range 3000 { // a large service's minute: 3,000 samples
		r.add(sample{at: at.Add(time.Duration(i) * time.Millisecond), cpuUsed: 341.3333, cpuRes: 1024, memUsed: 100.1, memRes: 512})
	}
	p := r.sum(at.Add(-time.Minute), at)
	cpu, _ := p.value(CPUUtilization)
	mem, _ := p.value(MemoryUtilization)
	if math.Abs(cpu-33.333330) > 1e-3 || math.Abs(mem-19.55078) > 1e-3 || p.samples != 3000 {
		t.Errorf("3,000 samples sum to CPU %.6f%%, memory %.6f%% over %d samples; want 33.3333%%, 19.5508%% over 3000", cpu, mem, p.samples)
	}
}
