package agent

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

// The agent samples the CPU and memory of every running container of its
// instance, sums them per task, and sends the samples to the control plane
// in batches (SubmitTaskStats), which turns them into utilization of what
// each task reserved. Like the runners, it asks the runtime which containers
// run on every round instead of trusting its own memory.

const (
	defaultStatsInterval       = 10 * time.Second
	defaultStatsReportInterval = 20 * time.Second
	// maxPendingSamples bounds what is kept while the control plane is
	// unreachable; the oldest samples go first.
	maxPendingSamples = agentproto.MaxStatsSamples
)

// statsSampler owns the sampling state; only the stats goroutine uses it.
type statsSampler struct {
	a       *Agent
	prev    map[string]runtime.Stats // container ID → its previous sample
	pending []agentproto.TaskStatsSample
	failing bool // the last report failed (logged once until one succeeds)
}

// runStats samples on every interval and reports on every report interval
// until ctx ends.
func (a *Agent) runStats(ctx context.Context) {
	if a.cfg.StatsInterval < 0 {
		return
	}
	every := cmp.Or(a.cfg.StatsInterval, defaultStatsInterval)
	reportEvery := max(cmp.Or(a.cfg.StatsReportInterval, defaultStatsReportInterval), every)
	s := &statsSampler{a: a, prev: map[string]runtime.Stats{}}
	tick := time.NewTicker(every)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.sample(ctx, now)
			if now.Sub(lastReport) >= reportEvery-every/2 {
				s.report(ctx)
				lastReport = now
			}
		}
	}
}

// sample takes one sample of every running container of the instance and
// adds one per task to the pending samples. A task is left out of a round
// when one of its containers has no previous sample yet to take a CPU rate
// from (it just started, or the agent did), so that a half-measured task
// never reads as idle.
func (s *statsSampler) sample(ctx context.Context, now time.Time) {
	rt := s.a.rt
	states, err := rt.List(ctx, map[string]string{labelInstance: s.a.InstanceArn()})
	if err != nil {
		s.a.log.Debug("list containers for stats", "err", err)
		return
	}
	type acc struct {
		cpu, mem float64
		complete bool
	}
	running := states[:0]
	for _, st := range states {
		if st.Labels[labelTaskArn] != "" && st.Running() {
			running = append(running, st)
		}
	}
	samples := statsOf(ctx, rt, running)
	tasks := map[string]*acc{}
	var order []string
	seen := make(map[string]bool, len(running))
	for i, st := range running {
		arn := st.Labels[labelTaskArn]
		cur, err := samples[i].stats, samples[i].err
		if err != nil {
			if !errors.Is(err, runtime.ErrNotFound) {
				s.a.log.Debug("container stats", "container", st.Name, "err", err)
			}
			continue
		}
		seen[st.ID] = true
		t := tasks[arn]
		if t == nil {
			t = &acc{complete: true}
			tasks[arn] = t
			order = append(order, arn)
		}
		prev, ok := s.prev[st.ID]
		s.prev[st.ID] = cur
		units, ok2 := cpuUnits(prev, cur)
		if !ok || !ok2 {
			t.complete = false
			continue
		}
		t.cpu += units
		t.mem += float64(cur.MemoryBytes) / (1 << 20)
	}
	for id := range s.prev {
		if !seen[id] {
			delete(s.prev, id)
		}
	}
	for _, arn := range order {
		if t := tasks[arn]; t.complete {
			s.pending = append(s.pending, agentproto.TaskStatsSample{TaskArn: arn, Time: now.UTC(), CPUUnits: t.cpu, MemoryMiB: t.mem})
		}
	}
	if over := len(s.pending) - maxPendingSamples; over > 0 {
		s.pending = append(s.pending[:0], s.pending[over:]...)
	}
}

// statsConcurrency bounds the Stats calls in flight. Docker answers a
// one-shot stats request at its collector's next tick (up to a second with
// many containers), so the calls of a round are made together, not in turn.
const statsConcurrency = 64

type statsResult struct {
	stats runtime.Stats
	err   error
}

// statsOf samples the containers, statsConcurrency at a time.
func statsOf(ctx context.Context, rt runtime.Runtime, cs []runtime.ContainerState) []statsResult {
	out := make([]statsResult, len(cs))
	sem := make(chan struct{}, statsConcurrency)
	var wg sync.WaitGroup
	for i := range cs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i].stats, out[i].err = rt.Stats(ctx, cs[i].ID)
		}()
	}
	wg.Wait()
	return out
}

// cpuUnits is the CPU units (1024 per core) a container kept busy between
// two samples: its CPU time over the host's, times the host's CPUs, as
// docker stats computes it; over wall time when the runtime gives no host
// figures. False when the samples cannot give a rate (a restart reset the
// counters, or no time passed).
func cpuUnits(prev, cur runtime.Stats) (float64, bool) {
	used := cur.CPUTotal - prev.CPUTotal
	if used < 0 {
		return 0, false
	}
	if host := cur.SystemCPU - prev.SystemCPU; host > 0 && cur.OnlineCPUs > 0 {
		return float64(used) / float64(host) * float64(cur.OnlineCPUs) * 1024, true
	}
	if wall := cur.Time.Sub(prev.Time); wall > 0 {
		return float64(used) / float64(wall) * 1024, true
	}
	return 0, false
}

// report sends the pending samples; they stay pending if it fails.
func (s *statsSampler) report(ctx context.Context) {
	if len(s.pending) == 0 {
		return
	}
	var out agentproto.SubmitTaskStatsResponse
	err := s.a.c.call(ctx, agentproto.TargetPrefix+"."+agentproto.SubmitTaskStats, agentproto.SubmitTaskStatsRequest{
		Cluster:              s.a.cfg.Cluster,
		ContainerInstanceArn: s.a.InstanceArn(),
		SentAt:               time.Now().UTC(),
		Samples:              s.pending,
	}, &out)
	var ae *APIError
	switch {
	case err == nil:
		if s.failing {
			s.a.log.Info("usage samples reach the control plane again")
		}
		s.failing = false
		s.pending = s.pending[:0]
	case errors.As(err, &ae) && ae.Status < 500 && ae.Code != "ThrottlingException":
		// Refused for good (a server without the operation, bad input):
		// keeping the samples would only grow the next request.
		s.a.log.Warn("the control plane refused usage samples; dropping them", "samples", len(s.pending), "err", err)
		s.pending = s.pending[:0]
	case ctx.Err() == nil && !s.failing:
		s.failing = true
		s.a.log.Warn("could not send usage samples; keeping them for the next report", "samples", len(s.pending), "err", err)
	}
}
