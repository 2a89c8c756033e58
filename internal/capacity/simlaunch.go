package capacity

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// SimLauncher starts instances as real agents in this process, each on a
// simulated container runtime: managed scaling at the speed of memory, for
// tests and for `wharf sim`-style experiments.
type SimLauncher struct {
	// CPU and MemoryMiB size an instance whose spec gives no size
	// (defaults 2048 and 4096).
	CPU, MemoryMiB int64
	// Sim configures each instance's simulated runtime.
	Sim sim.Options
	// PollWait is the agents' long-poll wait (default 1s).
	PollWait time.Duration
	Log      *slog.Logger

	mu      sync.Mutex
	running map[string]*simInstance
	next    int
}

type simInstance struct {
	agent  *agent.Agent
	cancel context.CancelFunc
	done   chan struct{}
}

// Launch starts an agent that joins the cluster with the spec's token.
func (l *SimLauncher) Launch(_ context.Context, spec InstanceSpec) (string, error) {
	cpu, mem := spec.CPU, spec.MemoryMiB
	if cpu <= 0 {
		cpu = l.CPU
	}
	if cpu <= 0 {
		cpu = 2048
	}
	if mem <= 0 {
		mem = l.MemoryMiB
	}
	if mem <= 0 {
		mem = 4096
	}
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wait := l.PollWait
	if wait <= 0 {
		wait = time.Second
	}
	ag, err := agent.New(agent.Config{Endpoint: spec.Endpoint, Cluster: spec.Cluster, JoinToken: spec.JoinToken,
		Attributes: spec.Attributes, CPU: cpu, MemoryMiB: mem, Runtime: sim.New(l.Sim),
		Log: log.With("instance", spec.Name), PollWait: wait, ResyncInterval: 100 * time.Millisecond,
		StatsInterval: -1})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &simInstance{agent: ag, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(in.done)
		if err := ag.Run(ctx); err != nil && ctx.Err() == nil {
			log.Warn("simulated instance stopped", "instance", spec.Name, "err", err)
		}
	}()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running == nil {
		l.running = map[string]*simInstance{}
	}
	l.next++
	handle := fmt.Sprintf("sim-%d-%s", l.next, spec.Name)
	l.running[handle] = in
	return handle, nil
}

// Terminate stops the instance's agent (its simulated containers vanish
// with it).
func (l *SimLauncher) Terminate(_ context.Context, handle string) error {
	l.mu.Lock()
	in := l.running[handle]
	delete(l.running, handle)
	l.mu.Unlock()
	if in != nil {
		in.cancel()
		<-in.done
	}
	return nil
}

// Running counts the instances launched and not terminated.
func (l *SimLauncher) Running() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.running)
}

// Close terminates every instance.
func (l *SimLauncher) Close() {
	l.mu.Lock()
	handles := make([]string, 0, len(l.running))
	for h := range l.running {
		handles = append(handles, h)
	}
	l.mu.Unlock()
	for _, h := range handles {
		_ = l.Terminate(context.Background(), h)
	}
}
