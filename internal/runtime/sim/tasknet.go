package sim

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Simulated task networks: each pause container gets the next address of
// 10.x.y.z (unique in the process, as the simulated hosts share one
// imaginary VPC) and a MAC derived from it; no network exists anywhere.

var netSeq atomic.Int64

var _ runtime.TaskNetworker = (*Runtime)(nil)

// EnsureTaskNetwork records a pause container with a fresh address, or
// answers the one recorded under the name.
func (r *Runtime) EnsureTaskNetwork(_ context.Context, spec runtime.TaskNetworkSpec) (runtime.TaskNetwork, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.nets == nil {
		r.nets = map[string]runtime.TaskNetwork{}
	}
	if n, ok := r.nets[spec.Name]; ok {
		return n, nil
	}
	s := int(netSeq.Add(1))
	n := runtime.TaskNetwork{
		ID:         fmt.Sprintf("sim-pause-%d", s),
		Network:    spec.Network,
		IPv4:       fmt.Sprintf("10.%d.%d.%d", 200+(s>>16)%50, (s>>8)&0xff, s&0xff),
		MACAddress: fmt.Sprintf("02:42:0a:%02x:%02x:%02x", (s>>16)&0xff, (s>>8)&0xff, s&0xff),
		Gateway:    "10.200.0.1",
	}
	r.nets[spec.Name] = n
	return n, nil
}

// RemoveTaskNetwork forgets the pause container.
func (r *Runtime) RemoveTaskNetwork(_ context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.nets, name)
	return nil
}

// TaskNetworks counts the pause containers that exist (tests).
func (r *Runtime) TaskNetworks() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.nets)
}
