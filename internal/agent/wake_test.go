package agent

import (
	"testing"

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
		a.runners[prefix+id] = &runner{arn: prefix + id, wake: make(chan struct{}, 1)}
	}
	woken := func() (out []bool) {
		for _, id := range ids {
			select {
			case <-a.runners[prefix+id].wake:
				out = append(out, true)
			default:
				out = append(out, false)
			}
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
