package service

import (
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// When a partitioned agent comes back, the copy that lived through the
// partition is stopped, not the replacement started meanwhile, even though
// the replacement is newer and its instance holds more tasks.
func TestStaleCopyIsStoppedFirstAfterAHeal(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	healed := &state.ContainerInstance{ID: "healed", DisconnectedAt: model.NewTime(t0.Add(time.Minute))}
	busy := &state.ContainerInstance{ID: "busy"}
	task := func(id string, inst *state.ContainerInstance, created time.Time) *tview {
		tk := &state.Task{InstanceID: inst.ID}
		tk.CreatedAt = model.NewTime(created)
		return &tview{t: tk, id: id, inst: inst, zone: "a", running: true, healthy: true}
	}
	stale := task("stale", healed, t0)
	replacement := task("replacement", busy, t0.Add(2*time.Minute))
	other := task("other", busy, t0)
	all := []*tview{stale, replacement, other}
	got := pickVictims(all, all, 1)
	if len(got) != 1 || got[0] != stale {
		t.Fatalf("victim = %v; want the stale copy", got[0].id)
	}
	// Without a loss of contact, the usual rule holds: the fuller
	// instance, then the newest task.
	healed.DisconnectedAt = nil
	if got := pickVictims(all, all, 1); got[0] != replacement {
		t.Fatalf("victim = %v; want the newest task on the fuller instance", got[0].id)
	}
}
