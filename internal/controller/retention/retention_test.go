package retention_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/controller/retention"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

func TestSweepRemovesOnlyWhatExpired(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *model.Time { return model.NewTime(now.Add(-d)) }
	task := func(last string, stoppedAt *model.Time) state.Task {
		return state.Task{Task: model.Task{LastStatus: last, StoppedAt: stoppedAt}}
	}
	svc := func(status string, inactiveAt *model.Time) state.Service {
		return state.Service{Service: model.Service{Status: status}, InactiveAt: inactiveAt}
	}
	docs := map[string]any{
		state.TaskKey("c", "old-stopped"):    task("STOPPED", ago(2*time.Hour)),
		state.TaskKey("c", "new-stopped"):    task("STOPPED", ago(10*time.Minute)),
		state.TaskKey("c", "running"):        task("RUNNING", nil),
		state.TaskKey("d", "old-stopped"):    task("STOPPED", ago(61*time.Minute)),
		state.ServiceKey("c", "old-deleted"): svc(state.ServiceInactive, ago(3*time.Hour)),
		state.ServiceKey("c", "new-deleted"): svc(state.ServiceInactive, ago(time.Minute)),
		state.ServiceKey("c", "active"):      svc(state.ServiceActive, nil),
	}
	var txn store.Txn
	for k, v := range docs {
		txn.Ops = append(txn.Ops, state.Put(k, v))
	}
	if _, err := st.Commit(ctx, txn); err != nil {
		t.Fatal(err)
	}
	r := retention.New(retention.Config{Store: st, Now: func() time.Time { return now }})
	n, err := r.Sweep(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Sweep = %d, %v; want 3 removed", n, err)
	}
	var left []string
	for _, prefix := range []string{state.TasksPrefix, state.ServicesPrefix} {
		kvs, _, err := st.List(ctx, prefix, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range kvs {
			left = append(left, kv.Key)
		}
	}
	want := []string{state.TaskKey("c", "new-stopped"), state.TaskKey("c", "running"), state.ServiceKey("c", "active"), state.ServiceKey("c", "new-deleted")}
	slices.Sort(left)
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("after Sweep the store holds %v; want %v", left, want)
	}
	if n, err := r.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("a second Sweep = %d, %v; want nothing to remove", n, err)
	}
}
