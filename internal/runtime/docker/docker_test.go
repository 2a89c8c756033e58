package docker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// These tests drive the real Docker Engine with the images that
// scripts/test-images.sh builds (see newRuntime).

func TestTestappServesOnDynamicPortAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	id, url := startTestapp(t, r, runtime.ContainerSpec{Env: map[string]string{"GREETING": "hello from wharf"}})

	if code, body, err := get(url + "/env/GREETING"); err != nil || code != http.StatusOK || body != "hello from wharf" {
		t.Errorf("GET /env/GREETING = %d %q %v; want 200 %q", code, body, err, "hello from wharf")
	}
	st, err := r.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running() || st.Status != runtime.StatusRunning || st.StartedAt.IsZero() || st.Image != testappImage {
		t.Errorf("Inspect(running) = %+v; want running, started, image %s", st, testappImage)
	}

	if err := r.Stop(ctx, id, 20*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	st, err = r.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Exit code 0 means the SIGTERM reached the handler; a SIGKILL would be 137.
	if st.Status != runtime.StatusExited || st.ExitCode != 0 || st.FinishedAt.IsZero() || len(st.Ports) != 0 {
		t.Errorf("Inspect(stopped) = status %s, exit %d, finished %v, ports %v; want exited 0, finished, no ports",
			st.Status, st.ExitCode, st.FinishedAt, st.Ports)
	}
	if err := r.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("Stop(already stopped) = %v; want nil", err)
	}
}

func TestStopEscalatesToSIGKILLAfterTimeout(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	// Ready means the signal handler is installed, so the SIGTERM is ignored
	// by the workload's choice, not by PID 1's default.
	id, _ := startTestapp(t, r, runtime.ContainerSpec{Env: map[string]string{"IGNORE_SIGTERM": "true"}})

	if err := r.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	st, err := r.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != runtime.StatusExited || st.ExitCode != 137 {
		t.Errorf("Inspect after Stop of a SIGTERM-ignoring container = %s, exit %d; want exited 137 (SIGKILL)", st.Status, st.ExitCode)
	}
}

func TestExitCodeOfContainerThatExitsByItself(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	group := map[string]string{"test": "exit-code-" + runID}
	since := time.Now()
	id := create(t, r, runtime.ContainerSpec{Image: busyboxImage, Command: []string{"sh", "-c", "exit 3"}, Labels: group})
	if err := r.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}

	events := watchUntil(t, r, since, group, 30*time.Second, func(ev runtime.Event) bool { return ev.Kind == runtime.EventExited })
	var kinds []runtime.EventKind
	for _, ev := range events {
		if ev.ID != id {
			t.Errorf("Watch event for %s; want only %s", ev.ID, id)
		}
		kinds = append(kinds, ev.Kind)
	}
	want := []runtime.EventKind{runtime.EventCreated, runtime.EventStarted, runtime.EventExited}
	if strings.Join(kindStrings(kinds), ",") != strings.Join(kindStrings(want), ",") {
		t.Errorf("Watch kinds = %v; want %v", kinds, want)
	}
	if last := events[len(events)-1]; last.ExitCode != 3 {
		t.Errorf("exited event ExitCode = %d; want 3", last.ExitCode)
	}

	st, err := r.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != runtime.StatusExited || st.ExitCode != 3 || st.OOMKilled || st.Running() {
		t.Errorf("Inspect = %s exit %d oom %t; want exited 3, not OOM", st.Status, st.ExitCode, st.OOMKilled)
	}
}

func kindStrings(ks []runtime.EventKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func TestHealthCheckGoesHealthyThenUnhealthy(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	group := map[string]string{"test": "health-" + runID}
	since := time.Now()
	// The exec form: the FROM scratch image has no shell.
	id, url := startTestapp(t, r, runtime.ContainerSpec{Labels: group, HealthCheck: &runtime.HealthCheck{
		Command:  []string{"CMD", "/testapp", "-healthcheck", "http://127.0.0.1:8080/health"},
		Interval: time.Second, Timeout: 2 * time.Second, Retries: 1,
	}})
	awaitHealth(t, r, id, since, group, runtime.HealthHealthy)

	since = time.Now()
	if code, _, err := get(url + "/fail"); err != nil || code != http.StatusOK {
		t.Fatalf("GET /fail = %d %v", code, err)
	}
	st := awaitHealth(t, r, id, since, group, runtime.HealthUnhealthy)
	if !strings.Contains(st.HealthOutput, "500") {
		t.Errorf("HealthOutput = %q; want the failing check's output (a 500)", st.HealthOutput)
	}
}

func TestHealthCheckShellForm(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	group := map[string]string{"test": "health-shell-" + runID}
	since := time.Now()
	id := create(t, r, runtime.ContainerSpec{
		Image:   busyboxImage,
		Command: []string{"sh", "-c", "touch /tmp/ready; exec sleep 600"},
		Labels:  group,
		HealthCheck: &runtime.HealthCheck{
			Command:  []string{"CMD-SHELL", "test -f /tmp/ready && echo ready"},
			Interval: time.Second, Retries: 1,
		},
	})
	if err := r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	st := awaitHealth(t, r, id, since, group, runtime.HealthHealthy)
	if st.HealthOutput != "ready" {
		t.Errorf("HealthOutput = %q; want %q", st.HealthOutput, "ready")
	}
}

// awaitHealth waits for a health event with want and checks that Inspect
// agrees.
func awaitHealth(t *testing.T, r *Runtime, id string, since time.Time, group map[string]string, want runtime.Health) runtime.ContainerState {
	t.Helper()
	watchUntil(t, r, since, group, 30*time.Second, func(ev runtime.Event) bool {
		return ev.ID == id && ev.Kind == runtime.EventHealth && ev.Health == want
	})
	st, err := r.Inspect(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Health != want {
		t.Fatalf("Inspect.Health = %s after a %s event; want %s", st.Health, want, want)
	}
	return st
}

func TestListByLabelIncludesStoppedContainers(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	group := map[string]string{"test": "list-" + runID}
	since := time.Now()
	exited := create(t, r, runtime.ContainerSpec{Image: busyboxImage, Command: []string{"true"}, Labels: group})
	running := create(t, r, runtime.ContainerSpec{Image: busyboxImage, Command: []string{"sleep", "600"}, Labels: group})
	created := create(t, r, runtime.ContainerSpec{Image: busyboxImage, Labels: group})
	create(t, r, runtime.ContainerSpec{Image: busyboxImage, Labels: map[string]string{"test": "other-" + runID}})
	for _, id := range []string{exited, running} {
		if err := r.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	watchUntil(t, r, since, group, 30*time.Second, func(ev runtime.Event) bool {
		return ev.ID == exited && ev.Kind == runtime.EventExited
	})

	list, err := r.List(ctx, withRunLabel(group))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runtime.Status{}
	for _, st := range list {
		got[st.ID] = st.Status
		if st.Labels["test"] != group["test"] {
			t.Errorf("List(%v) returned %s with labels %v", group, st.Name, st.Labels)
		}
	}
	want := map[string]runtime.Status{exited: runtime.StatusExited, running: runtime.StatusRunning, created: runtime.StatusCreated}
	if len(got) != len(want) {
		t.Errorf("List(%v) = %v; want %v", group, got, want)
	}
	for id, status := range want {
		if got[id] != status {
			t.Errorf("List(%v)[%s] = %q; want %q", group, id[:12], got[id], status)
		}
	}
}

func TestRemovedContainerIsNotFound(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	spec := runtime.ContainerSpec{Image: busyboxImage, Command: []string{"sleep", "600"}}
	id := create(t, r, spec)
	if err := r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Remove kills a running container: the agent may clean up after a
	// stop that never completed.
	if err := r.Remove(ctx, id); err != nil {
		t.Fatalf("Remove(running): %v", err)
	}
	if _, err := r.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect(removed) error = %v; want ErrNotFound", err)
	}
	if err := r.Stop(ctx, id, time.Second); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Stop(removed) error = %v; want ErrNotFound", err)
	}
	if err := r.Remove(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Remove(removed) error = %v; want ErrNotFound", err)
	}
	if _, err := r.Stats(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Stats(removed) error = %v; want ErrNotFound", err)
	}
}

func TestCreateWithTakenNameIsNameInUse(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	id := create(t, r, runtime.ContainerSpec{Image: busyboxImage})
	st, err := r.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Create(ctx, runtime.ContainerSpec{Name: st.Name, Image: busyboxImage})
	if !errors.Is(err, runtime.ErrNameInUse) {
		t.Errorf("Create(taken name %s) error = %v; want ErrNameInUse", st.Name, err)
	}
}

func TestMissingImageFailsFast(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	const missing = "wharf-test-no-such-image:never"
	if ok, err := r.ImageExists(ctx, missing); ok || err != nil {
		t.Errorf("ImageExists(%s) = %t, %v; want false, nil", missing, ok, err)
	}
	_, err := r.Create(ctx, runtime.ContainerSpec{Name: uniqueName(t), Image: missing})
	if !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("Create(missing image) error = %v; want ErrImageNotFound", err)
	}
	// A refused connection and an address that never answers (TEST-NET-1):
	// both must fail with ErrImageNotFound well within the test's deadline,
	// the second one through the stall watchdog at the latest.
	for _, ref := range []string{"127.0.0.1:1/wharf/none:latest", "192.0.2.1:5000/wharf/none:latest"} {
		err := r.Pull(ctx, ref)
		if !errors.Is(err, runtime.ErrImageNotFound) || ctx.Err() != nil {
			t.Errorf("Pull(%s) error = %v; want ErrImageNotFound", ref, err)
		}
		t.Logf("Pull(%s): %v", ref, err)
	}
}

func TestPullOfSilentRegistryStopsAtStallTimeout(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	r.opts.PullStallTimeout = time.Second
	// A "registry" that accepts connections and never says a word: the
	// daemon's own timeouts would take far longer than the watchdog.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil { // the listener closed with the test: let go of all
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	ref := ln.Addr().String() + "/wharf/silent:latest"
	err = r.Pull(testCtx(t), ref)
	if !errors.Is(err, runtime.ErrImageNotFound) || !strings.Contains(err.Error(), "no progress") {
		t.Errorf("Pull(%s) error = %v; want ErrImageNotFound for no progress", ref, err)
	}
}

func TestPullReturnsCallersCancellation(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.Pull(ctx, "192.0.2.1:5000/wharf/none:latest")
	if !errors.Is(err, context.Canceled) || errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("Pull(cancelled ctx) error = %v; want context.Canceled, not ErrImageNotFound", err)
	}
}

func TestOOMKilled(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	noSwap := int64(0)
	group := map[string]string{"test": "oom-" + runID}
	since := time.Now()
	id := create(t, r, runtime.ContainerSpec{
		Image: testappImage, Labels: group, MemoryMiB: 16, MaxSwapMiB: &noSwap,
		Env: map[string]string{"HOLD_MEMORY_MB": "64"},
	})
	if err := r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	watchUntil(t, r, since, group, 30*time.Second, func(ev runtime.Event) bool { return ev.Kind == runtime.EventExited })
	st, err := r.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !st.OOMKilled || st.ExitCode != 137 {
		t.Errorf("Inspect(over its memory limit) = oom %t exit %d; want OOM-killed, 137", st.OOMKilled, st.ExitCode)
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	ctx := testCtx(t)
	id, _ := startTestapp(t, r, runtime.ContainerSpec{
		MemoryMiB: 128,
		Env:       map[string]string{"BURN_CPU": "1", "HOLD_MEMORY_MB": "32"},
	})
	first, err := r.Stats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	second, err := r.Stats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if second.CPUTotal <= first.CPUTotal || second.SystemCPU <= first.SystemCPU || second.OnlineCPUs < 1 {
		t.Errorf("Stats CPU = %+v then %+v; want the counters to grow while it burns CPU", first, second)
	}
	if second.MemoryBytes < 32<<20 || second.MemoryLimit != 128<<20 {
		t.Errorf("Stats memory = %d of %d; want at least 32 MiB of a 128 MiB limit", second.MemoryBytes, second.MemoryLimit)
	}
}

func TestUnreachableDaemonSaysSo(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Inspect(context.Background(), "anything")
	if !errors.Is(err, runtime.ErrUnavailable) || !strings.Contains(err.Error(), "cannot reach the Docker daemon") {
		t.Errorf("Inspect with no daemon: error = %v; want ErrUnavailable saying the daemon cannot be reached", err)
	}
}
