package sim

import (
	"context"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Made-up workload figures for Stats, steady so that a utilisation computed
// from two samples is exactly the container's load.
const (
	idleCores        = 0.1 // what a container without CPU units keeps busy at load 1
	defaultMemoryMiB = 64  // usage base of a container without memory settings
	rxBytesPerSecond = 2048
	txBytesPerSecond = 1024
)

// Stats makes up a sample from the spec: CPU time at the container's share
// of its CPU units (SIM_CPU_LOAD) for as long as it has run, memory at its
// share of its memory (SIM_MEMORY_LOAD) while it runs, and steady traffic.
func (r *Runtime) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	if err := ctx.Err(); err != nil {
		return runtime.Stats{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookup(id)
	if err != nil {
		return runtime.Stats{}, err
	}
	now := r.clock.Now()
	ran := c.ranFor
	running := c.st.Running()
	if running {
		ran += now.Sub(c.st.StartedAt)
	}
	cpuLoad, memLoad := defaultCPULoad, defaultMemoryLoad
	if c.script != nil {
		cpuLoad, memLoad = c.script.cpuLoad, c.script.memoryLoad
	}
	cores := idleCores
	if c.cpu > 0 {
		cores = min(float64(c.cpu)/1024, float64(r.opts.CPUs))
	}
	s := runtime.Stats{
		Time:        now,
		CPUTotal:    time.Duration(float64(ran) * cores * cpuLoad),
		SystemCPU:   now.Sub(r.boot) * time.Duration(r.opts.CPUs),
		OnlineCPUs:  r.opts.CPUs,
		MemoryLimit: uint64(cmpOr(c.limitMiB, r.opts.MemoryMiB)) << 20,
		NetworkRx:   uint64(ran.Seconds() * rxBytesPerSecond),
		NetworkTx:   uint64(ran.Seconds() * txBytesPerSecond),
	}
	if running {
		s.MemoryBytes = uint64(float64(cmpOr(c.memMiB, defaultMemoryMiB)<<20) * memLoad)
		s.Pids = 1
	}
	return s, nil
}
