package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

func webSpec(name string, mappings ...runtime.PortMapping) runtime.ContainerSpec {
	return runtime.ContainerSpec{Name: name, Image: "app:1", PortMappings: mappings}
}

func TestDynamicPortsNeverCollide(t *testing.T) {
	h := newHost(t, Options{StartDelay: time.Second})
	seen := map[int]string{}
	var ids []string
	for i := range 50 {
		id := h.run(webSpec(fmt.Sprint("web", i), runtime.PortMapping{ContainerPort: 8080}, runtime.PortMapping{ContainerPort: 8443}))
		ids = append(ids, id)
		for _, p := range h.inspect(id).Ports {
			if p.HostPort < 32768 || p.HostPort > 60999 {
				t.Fatalf("dynamic port %d outside 32768-60999", p.HostPort)
			}
			if other, dup := seen[p.HostPort]; dup {
				t.Fatalf("host port %d given to both %s and web%d", p.HostPort, other, i)
			}
			seen[p.HostPort] = fmt.Sprint("web", i)
		}
	}
	if len(seen) != 100 {
		t.Fatalf("%d distinct host ports for 50 containers × 2 mappings; want 100", len(seen))
	}
	// A stopped container gives its ports back and reports none.
	if err := h.Stop(ctx, ids[0], time.Second); err != nil {
		t.Fatal(err)
	}
	if p := h.inspect(ids[0]).Ports; len(p) != 0 {
		t.Fatalf("an exited container reports ports %v; want none", p)
	}
	if got := len(h.ports.tcp.used); got != 98 {
		t.Fatalf("%d tcp ports held after one container stopped; want 98", got)
	}
}

func TestPortsOnlyWhileRunning(t *testing.T) {
	h := newHost(t, Options{StartDelay: time.Second})
	id := h.create(webSpec("web", runtime.PortMapping{ContainerPort: 80, HostPort: 8080, HostIP: "127.0.0.1"}))
	h.start(id)
	if p := h.inspect(id).Ports; len(p) != 0 {
		t.Fatalf("a starting container reports ports %v; want none until it runs", p)
	}
	h.clock.Advance(time.Second)
	want := []runtime.PortBinding{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"}}
	if p := h.inspect(id).Ports; !slices.Equal(p, want) {
		t.Fatalf("ports = %v; want %v", p, want)
	}
}

func TestFixedPortConflicts(t *testing.T) {
	h := newHost(t, Options{})
	h.run(webSpec("first", runtime.PortMapping{ContainerPort: 80, HostPort: 8080}))
	udp := h.run(webSpec("udp", runtime.PortMapping{ContainerPort: 53, HostPort: 8080, Protocol: "udp"}))
	if p := h.inspect(udp).Ports; len(p) != 1 || p[0].Protocol != "udp" {
		t.Fatalf("udp 8080 beside tcp 8080: ports %v; want one udp binding", p)
	}
	second := h.create(webSpec("second", runtime.PortMapping{ContainerPort: 81}, runtime.PortMapping{ContainerPort: 80, HostPort: 8080}))
	err := h.Start(ctx, second)
	if err == nil || !strings.Contains(err.Error(), "8080/tcp: port is already allocated") {
		t.Fatalf("Start with a taken host port = %v; want a port is already allocated error", err)
	}
	if st := h.inspect(second); st.Status != runtime.StatusCreated || st.Error == "" {
		t.Fatalf("after the failed start: %s, error %q; want created with the error", st.Status, st.Error)
	}
	if got := len(h.ports.tcp.used); got != 1 {
		t.Fatalf("%d tcp ports held after a failed start; want only the first container's", got)
	}
	// Host and none networks publish nothing.
	host := h.run(runtime.ContainerSpec{Name: "host", Image: "app:1", NetworkMode: "host",
		PortMappings: []runtime.PortMapping{{ContainerPort: 8080, HostPort: 8080}}})
	if p := h.inspect(host).Ports; len(p) != 0 {
		t.Fatalf("host network mode reports bindings %v; want none", p)
	}
}

func TestDynamicRangeExhausted(t *testing.T) {
	h := newHost(t, Options{PortMin: 40000, PortMax: 40001})
	h.run(webSpec("a", runtime.PortMapping{ContainerPort: 1}, runtime.PortMapping{ContainerPort: 2}))
	id := h.create(webSpec("b", runtime.PortMapping{ContainerPort: 3}))
	if err := h.Start(ctx, id); err == nil || !strings.Contains(err.Error(), "no free host port in 40000-40001") {
		t.Fatalf("Start with the range used up = %v; want no free host port", err)
	}
}

func TestListByLabels(t *testing.T) {
	h := newHost(t, Options{})
	for i, task := range []string{"t1", "t1", "t2"} {
		h.create(runtime.ContainerSpec{Name: fmt.Sprint("c", i), Image: "app:1", Labels: map[string]string{"task": task, "host": "h"}})
	}
	for _, tt := range []struct {
		labels map[string]string
		want   []string
	}{
		{nil, []string{"c0", "c1", "c2"}},
		{map[string]string{"task": "t1"}, []string{"c0", "c1"}},
		{map[string]string{"task": "t2", "host": "h"}, []string{"c2"}},
		{map[string]string{"task": "t2", "host": "other"}, nil},
		{map[string]string{"absent": ""}, nil},
	} {
		got, err := h.List(ctx, tt.labels)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, st := range got {
			names = append(names, st.Name)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("List(%v) = %v; want %v", tt.labels, names, tt.want)
		}
	}
	// Labels are read only and shared (runtime.ContainerState): a hundred
	// thousand simulated containers listed every few seconds would
	// otherwise copy them all each time.
	got, _ := h.List(ctx, map[string]string{"task": "t2"})
	again, _ := h.List(ctx, map[string]string{"task": "t2"})
	if len(got) != 1 || len(again) != 1 || !maps.Equal(got[0].Labels, again[0].Labels) || got[0].Labels["task"] != "t2" {
		t.Fatalf("List twice = %v, %v; want the same labels", got, again)
	}
}

// watch collects the events of a Watch until the test ends.
type watch struct {
	mu     sync.Mutex
	events []runtime.Event
}

func startWatch(t *testing.T, r *Runtime, since time.Time, labels map[string]string) *watch {
	t.Helper()
	w := &watch{}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- r.Watch(cctx, since, labels, func(ev runtime.Event) {
			w.mu.Lock()
			w.events = append(w.events, ev)
			w.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch ended with %v; want context.Canceled", err)
		}
	})
	return w
}

// kinds waits until the watch has n events and returns their kinds.
func (w *watch) kinds(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		var out []string
		for _, ev := range w.events {
			k := string(ev.Kind)
			switch ev.Kind {
			case runtime.EventExited:
				k += fmt.Sprint(":", ev.ExitCode)
			case runtime.EventHealth:
				k += ":" + string(ev.Health)
			}
			out = append(out, ev.Name+" "+k)
		}
		w.mu.Unlock()
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchEvents(t *testing.T) {
	h := newHost(t, Options{StartDelay: time.Second})
	mine := map[string]string{"instance": "i-1"}
	w := startWatch(t, h.Runtime, time.Time{}, mine)
	waitWatchers(t, h.Runtime, 1)

	h.create(runtime.ContainerSpec{Name: "other", Image: "app:1"})
	id := h.create(runtime.ContainerSpec{Name: "web", Image: "app:1", Labels: mine,
		HealthCheck: &runtime.HealthCheck{Command: []string{"CMD", "true"}}, Env: map[string]string{EnvOOMAfter: "5s"}})
	h.start(id)
	h.clock.Advance(time.Second)
	h.clock.Advance(5 * time.Second)
	if err := h.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	want := []string{"web created", "web started", "web health:HEALTHY", "web oom", "web exited:137", "web destroyed"}
	if got := w.kinds(t, len(want)); !slices.Equal(got, want) {
		t.Fatalf("events = %v; want %v", got, want)
	}

	// A later watch from a time replays what happened since.
	h.clock.Advance(time.Second)
	from := startWatch(t, h.Runtime, h.inspect(h.run(runtime.ContainerSpec{Name: "late", Image: "app:1"})).CreatedAt, nil)
	if got := from.kinds(t, 2); !slices.Equal(got, []string{"late created", "late started"}) {
		t.Fatalf("replayed events = %v; want late's create and start", got)
	}
}

func waitWatchers(t *testing.T, r *Runtime, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.watchers)
		r.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d watchers; want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEventHistoryIsBounded(t *testing.T) {
	h := newHost(t, Options{EventHistory: 4})
	for i := range 10 {
		h.create(runtime.ContainerSpec{Name: fmt.Sprint("c", i), Image: "app:1"})
	}
	if len(h.history) != 4 || h.history[0].ev.Name != "c6" {
		t.Fatalf("history holds %d events from %s; want the last 4, from c6", len(h.history), h.history[0].ev.Name)
	}
}

func TestStats(t *testing.T) {
	h := newHost(t, Options{CPUs: 4, MemoryMiB: 8192})
	id := h.run(runtime.ContainerSpec{Name: "c", Image: "app:1", CPU: 512, MemoryMiB: 256,
		Env: map[string]string{EnvCPULoad: "0.5", EnvMemoryLoad: "0.25"}})
	first, err := h.Stats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Second)
	second, _ := h.Stats(ctx, id)
	// 512 units = half a CPU, at load 0.5: a quarter of one CPU busy.
	busy := float64(second.CPUTotal-first.CPUTotal) / float64(second.SystemCPU-first.SystemCPU) * float64(second.OnlineCPUs)
	if busy != 0.25 {
		t.Errorf("CPUs busy = %v; want 0.25", busy)
	}
	if second.MemoryBytes != 64<<20 || second.MemoryLimit != 256<<20 || second.Pids != 1 {
		t.Errorf("memory %d of %d, %d pids; want 64 MiB of 256 MiB, 1 pid", second.MemoryBytes, second.MemoryLimit, second.Pids)
	}
	if second.NetworkRx <= first.NetworkRx || second.NetworkTx <= first.NetworkTx {
		t.Errorf("network counters did not grow: %+v then %+v", first, second)
	}

	if err := h.Stop(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	stopped, _ := h.Stats(ctx, id)
	if stopped.CPUTotal != second.CPUTotal || stopped.MemoryBytes != 0 || stopped.Pids != 0 {
		t.Errorf("a stopped container's stats = %+v; want its CPU time kept and no memory or pids", stopped)
	}
	plain := h.run(runtime.ContainerSpec{Name: "plain", Image: "app:1"})
	if s, _ := h.Stats(ctx, plain); s.MemoryLimit != 8192<<20 || s.MemoryBytes != 32<<20 {
		t.Errorf("without memory settings: %d of %d; want 32 MiB of the host's 8192 MiB", s.MemoryBytes, s.MemoryLimit)
	}
}

// Simulated hosts cost timers, not goroutines: thousands of running
// containers with pending exits and health verdicts add none.
func TestManyHostsNeedNoGoroutines(t *testing.T) {
	before := goruntime.NumGoroutine()
	hosts := make([]*Runtime, 2000)
	for i := range hosts {
		hosts[i] = New(Options{HealthDelay: time.Hour})
		for j := range 3 {
			id, err := hosts[i].Create(ctx, runtime.ContainerSpec{
				Name: fmt.Sprint("c", j), Image: "app:1", PortMappings: []runtime.PortMapping{{ContainerPort: 80}},
				HealthCheck: &runtime.HealthCheck{Command: []string{"CMD", "true"}},
				Env:         map[string]string{EnvExitAfter: "1h"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := hosts[i].Start(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if after := goruntime.NumGoroutine(); after > before+5 {
		t.Fatalf("%d goroutines after running 6000 simulated containers; was %d", after, before)
	}
	for _, h := range hosts {
		all, _ := h.List(ctx, nil)
		for _, st := range all {
			if err := h.Remove(ctx, st.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// BenchmarkLifecycle is one container's whole life on a simulated host:
// what each simulated task costs the process beside the agent.
func BenchmarkLifecycle(b *testing.B) {
	r := New(Options{})
	spec := runtime.ContainerSpec{Name: "web", Image: "app:1", CPU: 256, MemoryMiB: 512,
		Labels:       map[string]string{"com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:123456789012:task/default/0123"},
		PortMappings: []runtime.PortMapping{{ContainerPort: 8080}},
		HealthCheck:  &runtime.HealthCheck{Command: []string{"CMD", "true"}}}
	b.ReportAllocs()
	for b.Loop() {
		id, err := r.Create(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Inspect(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := r.Stop(ctx, id, time.Second); err != nil {
			b.Fatal(err)
		}
		if err := r.Remove(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}
