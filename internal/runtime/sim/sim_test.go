package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

var ctx = context.Background()

// host is a runtime on a fake clock.
type host struct {
	*Runtime
	clock *fakeClock
	t     *testing.T
}

func newHost(t *testing.T, opts Options) *host {
	t.Helper()
	clock := newFakeClock()
	opts.Clock = clock
	return &host{Runtime: New(opts), clock: clock, t: t}
}

func (h *host) create(spec runtime.ContainerSpec) string {
	h.t.Helper()
	if spec.Image == "" {
		spec.Image = "app:1"
	}
	id, err := h.Create(ctx, spec)
	if err != nil {
		h.t.Fatalf("Create(%s) = %v", spec.Name, err)
	}
	return id
}

func (h *host) start(id string) {
	h.t.Helper()
	if err := h.Start(ctx, id); err != nil {
		h.t.Fatalf("Start(%s) = %v", id, err)
	}
}

func (h *host) inspect(id string) runtime.ContainerState {
	h.t.Helper()
	st, err := h.Inspect(ctx, id)
	if err != nil {
		h.t.Fatalf("Inspect(%s) = %v", id, err)
	}
	return st
}

// run creates and starts a container and lets its start delay pass.
func (h *host) run(spec runtime.ContainerSpec) string {
	h.t.Helper()
	id := h.create(spec)
	h.start(id)
	h.clock.Advance(h.opts.StartDelay)
	if st := h.inspect(id); st.Status != runtime.StatusRunning {
		h.t.Fatalf("%s is %s after its start delay; want running", spec.Name, st.Status)
	}
	return id
}

// stopAsync runs Stop on its own goroutine, since a Stop that waits for a
// kill only returns once the test advances the clock.
func (h *host) stopAsync(id string, timeout time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() { done <- h.Stop(ctx, id, timeout) }()
	return done
}

func TestCreateRefusesWhatDockerRefuses(t *testing.T) {
	tests := []struct {
		name string
		spec runtime.ContainerSpec
		want error
		msg  string
	}{
		{"no image", runtime.ContainerSpec{Name: "a"}, runtime.ErrInvalidSpec, "image is required"},
		{"missing image", runtime.ContainerSpec{Name: "a", Image: "absent:1"}, runtime.ErrImageNotFound, "absent:1"},
		{"health check without CMD", runtime.ContainerSpec{Name: "a", Image: "app:1",
			HealthCheck: &runtime.HealthCheck{Command: []string{"curl", "localhost"}}}, runtime.ErrInvalidSpec, "CMD or CMD-SHELL"},
		{"port protocol", runtime.ContainerSpec{Name: "a", Image: "app:1",
			PortMappings: []runtime.PortMapping{{ContainerPort: 80, Protocol: "sctp"}}}, runtime.ErrInvalidSpec, `"sctp"`},
		{"port out of range", runtime.ContainerSpec{Name: "a", Image: "app:1",
			PortMappings: []runtime.PortMapping{{ContainerPort: 70000}}}, runtime.ErrInvalidSpec, "out of range"},
		{"ports without network", runtime.ContainerSpec{Name: "a", Image: "app:1", NetworkMode: "none",
			PortMappings: []runtime.PortMapping{{ContainerPort: 80}}}, runtime.ErrInvalidSpec, "network mode is none"},
		{"host mode port pair", runtime.ContainerSpec{Name: "a", Image: "app:1", NetworkMode: "host",
			PortMappings: []runtime.PortMapping{{ContainerPort: 80, HostPort: 81}}}, runtime.ErrInvalidSpec, "must equal"},
		{"negative memory", runtime.ContainerSpec{Name: "a", Image: "app:1", MemoryMiB: -1}, runtime.ErrInvalidSpec, "negative"},
		{"bad exit delay", runtime.ContainerSpec{Name: "a", Image: "app:1",
			Env: map[string]string{EnvExitAfter: "soon"}}, runtime.ErrInvalidSpec, "SIM_EXIT_AFTER=\"soon\": want a duration"},
		{"exit code alone", runtime.ContainerSpec{Name: "a", Image: "app:1",
			Env: map[string]string{EnvExitCode: "3"}}, runtime.ErrInvalidSpec, "needs SIM_EXIT_AFTER"},
		{"exit code range", runtime.ContainerSpec{Name: "a", Image: "app:1",
			Env: map[string]string{EnvExitAfter: "1s", EnvExitCode: "300"}}, runtime.ErrInvalidSpec, "0 to 255"},
		{"health verdict", runtime.ContainerSpec{Name: "a", Image: "app:1",
			Env: map[string]string{EnvHealth: "sick"}}, runtime.ErrInvalidSpec, "HEALTHY, UNHEALTHY or UNKNOWN"},
		{"ignore flag", runtime.ContainerSpec{Name: "a", Image: "app:1",
			Env: map[string]string{EnvIgnoreSIGTERM: "yes please"}}, runtime.ErrInvalidSpec, "true or false"},
		{"cpu load", runtime.ContainerSpec{Name: "a", Image: "app:1",
			Env: map[string]string{EnvCPULoad: "2"}}, runtime.ErrInvalidSpec, "between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, Options{Images: []string{"app:1"}})
			_, err := h.Create(ctx, tt.spec)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Create = %v; want %v mentioning %q", err, tt.want, tt.msg)
			}
			if all, _ := h.List(ctx, nil); len(all) != 0 {
				t.Fatalf("a refused Create left %d containers", len(all))
			}
		})
	}
}

func TestCreateNames(t *testing.T) {
	h := newHost(t, Options{})
	id := h.create(runtime.ContainerSpec{Name: "web"})
	if _, err := h.Create(ctx, runtime.ContainerSpec{Name: "web", Image: "app:1"}); !errors.Is(err, runtime.ErrNameInUse) {
		t.Fatalf("second Create(web) = %v; want ErrNameInUse", err)
	}
	if err := h.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.create(runtime.ContainerSpec{Name: "web"}) // the name is free again
	anon := h.inspect(h.create(runtime.ContainerSpec{}))
	if !strings.HasPrefix(anon.Name, "sim_") {
		t.Errorf("unnamed container is called %q; want a generated sim_ name", anon.Name)
	}
}

func TestStartDelayAndLifecycle(t *testing.T) {
	h := newHost(t, Options{StartDelay: 100 * time.Millisecond})
	id := h.create(runtime.ContainerSpec{Name: "web", Labels: map[string]string{"k": "v"}})
	st := h.inspect(id)
	if st.Status != runtime.StatusCreated || !st.StartedAt.IsZero() || st.ImageID == "" || st.Labels["k"] != "v" {
		t.Fatalf("after Create: %+v; want created, never started, with image id and labels", st)
	}
	h.start(id)
	h.clock.Advance(99 * time.Millisecond)
	if st := h.inspect(id); st.Status != runtime.StatusCreated {
		t.Fatalf("status before the start delay = %s; want created", st.Status)
	}
	h.start(id) // a second Start while starting changes nothing
	h.clock.Advance(time.Millisecond)
	st = h.inspect(id)
	if st.Status != runtime.StatusRunning || !st.Running() || !st.StartedAt.Equal(h.clock.Now()) {
		t.Fatalf("after the start delay: %+v; want running since now", st)
	}
	if err := h.Stop(ctx, id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	st = h.inspect(id)
	if st.Status != runtime.StatusExited || st.ExitCode != 0 || st.FinishedAt.IsZero() {
		t.Fatalf("after Stop: %+v; want exited 0 with a finish time", st)
	}
	if err := h.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("Stop of an exited container = %v; want nil", err)
	}
	// Start again: a new run.
	h.clock.Advance(time.Minute)
	h.start(id)
	h.clock.Advance(100 * time.Millisecond)
	if st2 := h.inspect(id); st2.Status != runtime.StatusRunning || !st2.StartedAt.After(st.StartedAt) || !st2.FinishedAt.IsZero() {
		t.Fatalf("after a restart: %+v; want running with a new start time", st2)
	}
	if err := h.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Inspect": func() error { _, err := h.Inspect(ctx, id); return err }(),
		"Start":   h.Start(ctx, id),
		"Stop":    h.Stop(ctx, id, time.Second),
		"Remove":  h.Remove(ctx, id),
		"Stats":   func() error { _, err := h.Stats(ctx, id); return err }(),
	} {
		if !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("%s after Remove = %v; want ErrNotFound", name, err)
		}
	}
	if n := h.clock.pending(); n != 0 {
		t.Errorf("%d timers still pending after Remove; want none", n)
	}
}

func TestStopDuringStartDelay(t *testing.T) {
	h := newHost(t, Options{StartDelay: time.Second})
	id := h.create(runtime.ContainerSpec{Name: "slow"})
	h.start(id)
	if err := h.Stop(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Second)
	st := h.inspect(id)
	if st.Status != runtime.StatusExited || !st.StartedAt.IsZero() {
		t.Fatalf("stopped before it ran: %+v; want exited and never started", st)
	}
}

func TestStopExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		rules    []Rule
		image    string
		labels   map[string]string
		env      map[string]string
		timeout  time.Duration
		wantCode int
	}{
		{name: "honours SIGTERM", image: "app:1", timeout: 10 * time.Second, wantCode: 0},
		{name: "image rule", rules: []Rule{{Image: "stubborn"}}, image: "stubborn:latest", timeout: 10 * time.Second, wantCode: 137},
		{name: "other image", rules: []Rule{{Image: "stubborn"}}, image: "app:1", timeout: 10 * time.Second, wantCode: 0},
		{name: "label rule", rules: []Rule{{Labels: map[string]string{"sigterm": "ignore"}}}, image: "app:1",
			labels: map[string]string{"sigterm": "ignore"}, timeout: 10 * time.Second, wantCode: 137},
		{name: "environment", image: "app:1", env: map[string]string{EnvIgnoreSIGTERM: "true"}, timeout: 10 * time.Second, wantCode: 137},
		{name: "no grace period", image: "app:1", env: map[string]string{EnvIgnoreSIGTERM: "true"}, timeout: 0, wantCode: 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, Options{IgnoreSIGTERM: tt.rules})
			id := h.run(runtime.ContainerSpec{Name: "c", Image: tt.image, Labels: tt.labels, Env: tt.env})
			done := h.stopAsync(id, tt.timeout)
			if tt.wantCode == 137 && tt.timeout > 0 {
				select {
				case err := <-done:
					t.Fatalf("Stop returned (%v) before its timeout passed", err)
				case <-time.After(20 * time.Millisecond):
				}
				if st := h.inspect(id); !st.Running() {
					t.Fatalf("a container ignoring SIGTERM is %s before the timeout; want running", st.Status)
				}
				h.clock.Advance(tt.timeout)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if st := h.inspect(id); st.Status != runtime.StatusExited || st.ExitCode != tt.wantCode {
				t.Fatalf("after Stop: %s exit %d; want exited %d", st.Status, st.ExitCode, tt.wantCode)
			}
		})
	}
}

func TestStopGivesUpWithItsContext(t *testing.T) {
	h := newHost(t, Options{})
	id := h.run(runtime.ContainerSpec{Name: "c", Env: map[string]string{EnvIgnoreSIGTERM: "true"}})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Stop(cctx, id, time.Minute) }()
	for h.clock.pending() == 0 { // until Stop has armed the kill
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop with a cancelled context = %v; want context.Canceled", err)
	}
	// The kill it armed still happens, as Docker's does.
	h.clock.Advance(time.Minute)
	if st := h.inspect(id); st.ExitCode != 137 {
		t.Fatalf("exit code = %d; want 137", st.ExitCode)
	}
}

func TestScriptedExits(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		after    time.Duration
		wantCode int
		wantOOM  bool
	}{
		{"exits cleanly", map[string]string{EnvExitAfter: "2s"}, 2 * time.Second, 0, false},
		{"exits with a code", map[string]string{EnvExitAfter: "2s", EnvExitCode: "3"}, 2 * time.Second, 3, false},
		{"exits at once", map[string]string{EnvExitAfter: "0s", EnvExitCode: "1"}, 0, 1, false},
		{"killed for memory", map[string]string{EnvOOMAfter: "5s"}, 5 * time.Second, 137, true},
		{"first end wins", map[string]string{EnvOOMAfter: "5s", EnvExitAfter: "1s", EnvExitCode: "2"}, time.Second, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, Options{})
			id := h.create(runtime.ContainerSpec{Name: "job", Env: tt.env})
			h.start(id)
			if tt.after > 0 {
				h.clock.Advance(tt.after - time.Millisecond)
				if st := h.inspect(id); !st.Running() {
					t.Fatalf("%s before its time; want running", st.Status)
				}
			}
			h.clock.Advance(time.Millisecond)
			st := h.inspect(id)
			if st.Status != runtime.StatusExited || st.ExitCode != tt.wantCode || st.OOMKilled != tt.wantOOM {
				t.Fatalf("got %s exit %d oom %v; want exited %d oom %v", st.Status, st.ExitCode, st.OOMKilled, tt.wantCode, tt.wantOOM)
			}
			h.clock.Advance(time.Hour)
			if again := h.inspect(id); again.ExitCode != tt.wantCode || again.FinishedAt != st.FinishedAt {
				t.Fatalf("a later timer of the same run changed the exit: %+v", again)
			}
		})
	}
}

func TestStartError(t *testing.T) {
	h := newHost(t, Options{})
	id := h.create(runtime.ContainerSpec{Name: "bad", Env: map[string]string{EnvStartError: "exec: \"/app\": no such file"}})
	err := h.Start(ctx, id)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Start = %v; want the scripted error", err)
	}
	if st := h.inspect(id); st.Status != runtime.StatusCreated || st.Error == "" {
		t.Fatalf("after a failed start: %s with error %q; want created with the error kept", st.Status, st.Error)
	}
}

func TestHealth(t *testing.T) {
	check := &runtime.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}}
	type step struct {
		at   time.Duration // since it started running
		want runtime.Health
	}
	tests := []struct {
		name  string
		delay time.Duration
		check *runtime.HealthCheck
		env   map[string]string
		steps []step
	}{
		{"no check", time.Second, nil, map[string]string{EnvHealth: "HEALTHY"},
			[]step{{0, runtime.HealthUnknown}, {time.Hour, runtime.HealthUnknown}}},
		{"passes after the delay", time.Second, check, nil,
			[]step{{0, runtime.HealthUnknown}, {999 * time.Millisecond, runtime.HealthUnknown}, {time.Second, runtime.HealthHealthy}}},
		{"passes at once", 0, check, nil, []step{{0, runtime.HealthHealthy}}},
		{"told unhealthy", time.Second, check, map[string]string{EnvHealth: "unhealthy"},
			[]step{{0, runtime.HealthUnknown}, {time.Second, runtime.HealthUnhealthy}}},
		{"own delay", time.Second, check, map[string]string{EnvHealthAfter: "5s"},
			[]step{{time.Second, runtime.HealthUnknown}, {5 * time.Second, runtime.HealthHealthy}}},
		{"turns unhealthy", time.Second, check, map[string]string{EnvUnhealthyAfter: "10s"},
			[]step{{time.Second, runtime.HealthHealthy}, {10 * time.Second, runtime.HealthUnhealthy}}},
		{"fails before its verdict", 5 * time.Second, check, map[string]string{EnvUnhealthyAfter: "1s"},
			[]step{{time.Second, runtime.HealthUnhealthy}, {time.Minute, runtime.HealthUnhealthy}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, Options{HealthDelay: tt.delay})
			id := h.run(runtime.ContainerSpec{Name: "c", HealthCheck: tt.check, Env: tt.env})
			var now time.Duration
			for _, s := range tt.steps {
				h.clock.Advance(s.at - now)
				now = s.at
				if got := h.inspect(id).Health; got != s.want {
					t.Fatalf("health %s after running = %s; want %s", s.at, got, s.want)
				}
			}
		})
	}
}

func TestImagesAndPull(t *testing.T) {
	h := newHost(t, Options{Images: []string{"busybox"}, Registry: []string{"registry:5000/app:2"}})
	for ref, want := range map[string]bool{"busybox": true, "busybox:latest": true, "busybox:1.36": false, "registry:5000/app:2": false} {
		if got, err := h.ImageExists(ctx, ref); err != nil || got != want {
			t.Errorf("ImageExists(%s) = %v, %v; want %v", ref, got, err, want)
		}
	}
	if err := h.Pull(ctx, "nowhere/app"); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Fatalf("Pull of an image no registry has = %v; want ErrImageNotFound", err)
	}
	if err := h.Pull(ctx, "registry:5000/app:2"); err != nil {
		t.Fatal(err)
	}
	h.create(runtime.ContainerSpec{Name: "pulled", Image: "registry:5000/app:2"})

	all := newHost(t, Options{})
	if ok, _ := all.ImageExists(ctx, "anything:at-all"); !ok {
		t.Error("by default every image should be present")
	}
	if err := all.Pull(ctx, "anything:at-all"); err != nil {
		t.Errorf("Pull of a present image = %v; want nil", err)
	}
}

func TestRuntimesAreIsolated(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	id, err := a.Create(ctx, runtime.ContainerSpec{Name: "web", Image: "app:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, runtime.ContainerSpec{Name: "web", Image: "app:1"}); err != nil {
		t.Fatalf("the same name on another host = %v; want nil", err)
	}
	if _, err := b.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("another host's container = %v; want ErrNotFound", err)
	}
}
