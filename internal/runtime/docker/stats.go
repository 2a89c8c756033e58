package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Stats takes one sample without waiting for a second one (Docker's
// one-shot mode): callers compute rates from consecutive samples anyway.
func (r *Runtime) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	resp, err := r.cli.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return runtime.Stats{}, r.fail("stats", id, err)
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return runtime.Stats{}, r.fail("stats", id, fmt.Errorf("decode: %w", err))
	}
	return toStats(s), nil
}

func toStats(s container.StatsResponse) runtime.Stats {
	out := runtime.Stats{
		Time:        s.Read,
		CPUTotal:    time.Duration(s.CPUStats.CPUUsage.TotalUsage),
		SystemCPU:   time.Duration(s.CPUStats.SystemUsage),
		OnlineCPUs:  int(s.CPUStats.OnlineCPUs),
		MemoryBytes: workingSet(s.MemoryStats),
		MemoryLimit: s.MemoryStats.Limit,
		Pids:        s.PidsStats.Current,
	}
	if out.OnlineCPUs == 0 {
		// Older engines leave online_cpus out but list per-CPU usage.
		out.OnlineCPUs = len(s.CPUStats.CPUUsage.PercpuUsage)
	}
	for _, n := range s.Networks {
		out.NetworkRx += n.RxBytes
		out.NetworkTx += n.TxBytes
	}
	return out
}

// workingSet is memory in use without the page cache the kernel can
// reclaim at will, as docker stats shows it; counting the cache would make
// every container that reads files look close to its limit.
func workingSet(m container.MemoryStats) uint64 {
	inactive, ok := m.Stats["total_inactive_file"] // cgroup v1
	if !ok {
		inactive = m.Stats["inactive_file"] // cgroup v2
	}
	if inactive > m.Usage {
		return 0
	}
	return m.Usage - inactive
}
