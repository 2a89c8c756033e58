package metrics

import "time"

// point is one minute of samples, summed: CPU units used and reserved, MiB
// used and reserved, over every task sample that landed in the minute. A
// utilization is a ratio of two sums, so that each sample weighs the same
// however the tasks come and go within the minute.
//
// A task that reserved no CPU (or no memory) adds nothing to that metric:
// its usage is a share of nothing.
type point struct {
	minute          int64 // Unix minute; 0: empty slot
	cpuUsed, cpuRes float64
	memUsed, memRes float64
	samples         int
}

func (p *point) add(s sample) {
	p.samples++
	if s.cpuRes > 0 {
		p.cpuUsed += s.cpuUsed
		p.cpuRes += s.cpuRes
	}
	if s.memRes > 0 {
		p.memUsed += s.memUsed
		p.memRes += s.memRes
	}
}

// sample is one task's usage over one sampling interval and what it
// reserved.
type sample struct {
	at              time.Time
	cpuUsed, cpuRes float64 // CPU units
	memUsed, memRes float64 // MiB
}

// slot is a point as a ring keeps it: single precision, half a point's
// size. Every task with stats has a ring of them, so with a million tasks
// this is a hundred megabytes or more; a minute's sums need no more than seven
// significant digits.
type slot struct {
	minute                           int32 // Unix minute; 0: empty slot
	samples                          int32
	cpuUsed, cpuRes, memUsed, memRes float32
}

func (s *slot) point() point {
	return point{minute: int64(s.minute), samples: int(s.samples), cpuUsed: float64(s.cpuUsed), cpuRes: float64(s.cpuRes),
		memUsed: float64(s.memUsed), memRes: float64(s.memRes)}
}

// series is a ring of per-minute slots: the last len(pts) minutes.
type series struct {
	pts []slot
}

func newSeries(minutes int) series { return series{pts: make([]slot, minutes)} }

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

// add puts s into the point of its minute, unless that minute is older than
// the ring holds.
func (r *series) add(s sample) {
	m := unixMinute(s.at)
	p := &r.pts[int(m%int64(len(r.pts)))]
	if int64(p.minute) != m {
		if int64(p.minute) > m {
			return // the slot already holds a newer minute
		}
		*p = slot{minute: int32(m)}
	}
	p.samples++
	if s.cpuRes > 0 {
		p.cpuUsed += float32(s.cpuUsed)
		p.cpuRes += float32(s.cpuRes)
	}
	if s.memRes > 0 {
		p.memUsed += float32(s.memUsed)
		p.memRes += float32(s.memRes)
	}
}

// sum adds up the points of the minutes that overlap (from, to].
func (r *series) sum(from, to time.Time) point {
	var out point
	first, last := unixMinute(from), unixMinute(to)
	for i := range r.pts {
		p := r.pts[i].point()
		if p.minute == 0 || p.minute < first || p.minute > last {
			continue
		}
		out.cpuUsed += p.cpuUsed
		out.cpuRes += p.cpuRes
		out.memUsed += p.memUsed
		out.memRes += p.memRes
		out.samples += p.samples
	}
	return out
}

// newest is the minute of the latest point, 0 when there is none.
func (r *series) newest() int64 {
	var m int64
	for i := range r.pts {
		m = max(m, int64(r.pts[i].minute))
	}
	return m
}

// Point is one minute of a utilization series.
type Point struct {
	Time  time.Time // the minute's start
	Value float64   // percent of what was reserved
}

// points returns the metric's per-minute values from the oldest minute held
// to the newest, leaving out minutes without samples.
func (r *series) points(metric string, now time.Time) []Point {
	first := unixMinute(now) - int64(len(r.pts)) + 1
	var out []Point
	for m := first; m <= unixMinute(now); m++ {
		p := r.pts[int(m%int64(len(r.pts)))].point()
		if p.minute != m {
			continue
		}
		if v, ok := p.value(metric); ok {
			out = append(out, Point{Time: time.Unix(m*60, 0).UTC(), Value: v})
		}
	}
	return out
}

// value is the metric over the samples of p.
func (p *point) value(metric string) (float64, bool) {
	switch metric {
	case CPUUtilization, ServiceAverageCPU:
		if p.cpuRes > 0 {
			return p.cpuUsed / p.cpuRes * 100, true
		}
	case MemoryUtilization, ServiceAverageMemory:
		if p.memRes > 0 {
			return p.memUsed / p.memRes * 100, true
		}
	}
	return 0, false
}
