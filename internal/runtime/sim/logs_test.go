package sim

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

func (h *host) logs(id string, since time.Time, follow bool) ([]string, []time.Time) {
	h.t.Helper()
	var texts []string
	var times []time.Time
	err := h.Logs(ctx, id, since, follow, func(l runtime.LogLine) error {
		texts = append(texts, string(l.Text))
		times = append(times, l.Time)
		return nil
	})
	if err != nil {
		h.t.Fatalf("Logs(%s) = %v", id, err)
	}
	return texts, times
}

func TestLogsScripted(t *testing.T) {
	h := newHost(t, Options{})
	id := h.run(runtime.ContainerSpec{Name: "web", Env: map[string]string{
		EnvLogLines: "5", EnvLogRate: "10", EnvLogText: "hello", EnvLogLineBytes: "10"}})
	started := h.inspect(id).StartedAt
	if got, _ := h.logs(id, time.Time{}, false); !sameStrings(got, []string{"hello 0..."}) {
		t.Fatalf("at start = %q; want the first line, padded", got)
	}
	h.clock.Advance(250 * time.Millisecond)
	got, times := h.logs(id, time.Time{}, false)
	if !sameStrings(got, []string{"hello 0...", "hello 1...", "hello 2..."}) || !times[2].Equal(started.Add(200*time.Millisecond)) {
		t.Fatalf("after 250ms = %q at %v", got, times)
	}
	// Since a line's own time starts at that line.
	if got, _ := h.logs(id, times[1], false); !sameStrings(got, []string{"hello 1...", "hello 2..."}) {
		t.Fatalf("since the second line's time = %q", got)
	}
	if got, _ := h.logs(id, times[1].Add(time.Nanosecond), false); !sameStrings(got, []string{"hello 2..."}) {
		t.Fatalf("just after the second line's time = %q", got)
	}
	h.clock.Advance(time.Hour)
	if got, _ := h.logs(id, time.Time{}, true); len(got) != 5 {
		t.Fatalf("all written: following returns %d lines; want 5 and the end", len(got))
	}
	if _, err := parseLogScript(map[string]string{EnvLogLines: "x"}); err == nil {
		t.Error("SIM_LOG_LINES=x accepted")
	}
	if _, err := h.Create(ctx, runtime.ContainerSpec{Name: "bad", Image: "app:1", Env: map[string]string{EnvLogLines: "1", EnvLogRate: "0"}}); !errors.Is(err, runtime.ErrInvalidSpec) {
		t.Errorf("SIM_LOG_RATE=0: %v; want ErrInvalidSpec", err)
	}
}

// TestLogsFollowUntilExit follows a container that writes as time passes
// and exits before it has written everything: the follower gets what was
// written, in order, and returns when the container has stopped.
func TestLogsFollowUntilExit(t *testing.T) {
	h := newHost(t, Options{})
	id := h.run(runtime.ContainerSpec{Name: "w", Env: map[string]string{EnvLogLines: "100", EnvLogRate: "100", EnvExitAfter: "495ms"}})
	got := make(chan []string, 1)
	go func() {
		var lines []string
		_ = h.Logs(ctx, id, time.Time{}, true, func(l runtime.LogLine) error {
			lines = append(lines, string(l.Text))
			return nil
		})
		got <- lines
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.clock.Advance(10 * time.Millisecond)
		select {
		case lines := <-got:
			if len(lines) != 50 || lines[0] != "line 0" || lines[49] != "line 49" {
				t.Fatalf("followed %d lines %q...; want lines 0 to 49", len(lines), lines[:min(3, len(lines))])
			}
		case <-time.After(time.Millisecond): // let the follower run
			if time.Now().After(deadline) {
				t.Fatal("the follower did not return after the container exited")
			}
			continue
		}
		break
	}
	err := h.Logs(ctx, "nope", time.Time{}, false, func(runtime.LogLine) error { return nil })
	if !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Logs of a missing container = %v", err)
	}
	stop := fmt.Errorf("enough")
	err = h.Logs(ctx, id, time.Time{}, false, func(runtime.LogLine) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("fn's error = %v; want it returned", err)
	}
}

func sameStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}
