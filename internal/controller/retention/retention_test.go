package retention_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync/atomic"
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

// countingStore counts the listings of tasks.
type countingStore struct {
	store.Store
	taskLists atomic.Int64
}

func (c *countingStore) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.KV, int64, error) {
	if prefix == state.TasksPrefix {
		c.taskLists.Add(1)
	}
	return c.Store.List(ctx, prefix, opts)
}

// While Run runs, sweeps work from the STOPPED tasks it follows: a task
// that stops is removed once its retention passes, one that stopped
// recently stays, and the tasks are listed once, not on every sweep.
func TestRunFollowsStoppedTasksInsteadOfListing(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	put := func(id, last string, stoppedAt time.Time) {
		t.Helper()
		task := state.Task{Task: model.Task{LastStatus: last}}
		if !stoppedAt.IsZero() {
			task.StoppedAt = model.NewTime(stoppedAt)
		}
		if _, err := st.Commit(ctx, store.Txn{Ops: []store.Op{state.Put(state.TaskKey("c", id), task)}}); err != nil {
			t.Fatal(err)
		}
	}
	has := func(id string) bool {
		_, err := st.Get(ctx, state.TaskKey("c", id))
		return err == nil
	}
	put("stopped-before", "STOPPED", start.Add(-2*time.Hour)) // in the first listing
	r := retention.New(retention.Config{Store: cs, Now: now, Interval: 10 * time.Millisecond})
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("the task stopped before Run to go", func() bool { return !has("stopped-before") })

	put("running", "RUNNING", time.Time{})
	put("stops", "RUNNING", time.Time{})
	put("stops", "STOPPED", start.Add(-10*time.Minute)) // seen as it happens
	time.Sleep(100 * time.Millisecond)                  // ten sweeps
	if !has("stops") || !has("running") {
		t.Fatal("a task removed before its retention passed")
	}
	clock.Store(start.Add(51 * time.Minute).UnixNano())
	waitFor("the stopped task to go once its hour passed", func() bool { return !has("stops") })
	if !has("running") {
		t.Error("a running task was removed")
	}
	if n := cs.taskLists.Load(); n != 1 {
		t.Errorf("tasks were listed %d times; want once, by the follower", n)
	}
	cancel()
	<-done
}
