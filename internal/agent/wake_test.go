package agent

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// TestWakeForWakesTheEventsTaskOnly: a container event wakes the runner of
// the task the container belongs to, known by the container's name, and no
// other; an event the name does not tie to a runner wakes them all.
func TestWakeForWakesTheEventsTaskOnly(t *testing.T) {
	const prefix = "arn:aws:ecs:us-east-1:123456789012:task/c/"
	ids := []string{"0a1b2c3d4e5f60718293a4b5c6d7e8f9", "ffeeddccbbaa99887766554433221100"}
	a := &Agent{runners: map[string]*runner{}}
	for _, id := range ids {
		// Active: a goroutine steps it already, so a poke only asks for a round.
		a.runners[prefix+id] = &runner{arn: prefix + id, active: true}
	}
	woken := func() (out []bool) {
		for _, id := range ids {
			r := a.runners[prefix+id]
			out = append(out, r.pending)
			r.pending = false
		}
		return out
	}
	for _, name := range []string{containerName(prefix+ids[1], "app"), "/" + containerName(prefix+ids[1], "side-car")} {
		a.wakeFor(runtime.Event{Name: name})
		if got := woken(); got[0] || !got[1] {
			t.Errorf("event for %s woke %v; want only the second task's runner", name, got)
		}
	}
	for _, name := range []string{"", "someone-else", containerName(prefix+"00000000000000000000000000000000", "app")} {
		a.wakeFor(runtime.Event{Name: name})
		if got := woken(); !got[0] || !got[1] {
			t.Errorf("event for %q woke %v; want every runner", name, got)
		}
	}
}

// A stopped and acknowledged task waits out its retention with no goroutine:
// neither a poke nor a resync steps it again. Nor does anything step once
// the agent's context has ended.
func TestPokeStepsNothingOnceDone(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		r    *runner
	}{
		{"done", &runner{a: &Agent{ctx: context.Background()}, done: true}},
		{"agent stopped", &runner{a: &Agent{ctx: ended}}},
	} {
		c.r.poke()
		c.r.resyncDue(time.Now(), 0)
		if c.r.active {
			t.Errorf("%s: poke started a goroutine to step the runner", c.name)
		}
	}
}
