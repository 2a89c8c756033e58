package ecsapi

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func commit(t *testing.T, st store.Store, ops ...store.Op) int64 {
	t.Helper()
	rev, err := st.Commit(context.Background(), store.Txn{Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func putTask(id, inst, group, status string) store.Op {
	t := state.Task{InstanceID: inst}
	t.Group, t.LastStatus = group, status
	return state.Put(state.TaskKey("c", id), t)
}

// A million tasks keep an entry each: it stays at 32 bytes, pointer-free.
func TestTaskIndexEntriesArePacked(t *testing.T) {
	if n := unsafe.Sizeof(packedEntry{}); n != 32 {
		t.Errorf("packedEntry is %d bytes; want 32", n)
	}
	x := newTaskIndex(nil, nil)
	if got := x.unpack(packedEntry{}); got != (taskEntry{}) {
		t.Errorf("the zero entry of an empty table comes back as %+v", got)
	}
	e := taskEntry{inst: "i1", group: "service:web", provider: "FARGATE", cluster: "c", class: classRunning, rev: 7, active: true, fargate: true}
	if got := x.unpack(x.pack(e)); got != e {
		t.Errorf("unpack(pack(%+v)) = %+v", e, got)
	}
	if got := x.unpack(x.pack(taskEntry{})); got != (taskEntry{}) {
		t.Errorf("the zero entry comes back as %+v", got)
	}
}

func TestTaskIndexCountsActiveTasksByGroup(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	commit(t, st, putTask("t1", "i1", "service:web", "RUNNING"), putTask("t2", "i1", "service:web", "PENDING"))
	x := newTaskIndex(st, slog.New(slog.DiscardHandler))
	go x.run(ctx)
	rev := commit(t, st, putTask("t3", "i2", "service:web", "RUNNING"), putTask("t4", "i2", "family:batch", "RUNNING"),
		putTask("t5", "i3", "service:web", "STOPPED"))
	waitIndex(t, x, rev)
	in, all := x.groupCounts("service:web", []string{"i1", "i2", "i3", "nope"})
	if !slices.Equal(in, []int{2, 1, 0, 0}) || !slices.Equal(all, []int{2, 2, 0, 0}) {
		t.Fatalf("groupCounts = %v, %v; want [2 1 0 0], [2 2 0 0]", in, all)
	}
	// A task stops, another moves, one is deleted.
	rev = commit(t, st, putTask("t1", "i1", "service:web", "STOPPED"), putTask("t4", "i3", "family:batch", "RUNNING"),
		state.Delete(state.TaskKey("c", "t3")))
	waitIndex(t, x, rev)
	in, all = x.groupCounts("service:web", []string{"i1", "i2", "i3"})
	if !slices.Equal(in, []int{1, 0, 0}) || !slices.Equal(all, []int{1, 0, 1}) {
		t.Fatalf("after changes groupCounts = %v, %v; want [1 0 0], [1 0 1]", in, all)
	}
	if g := x.groupsOn("i3"); !slices.Equal(g, []string{"family:batch"}) {
		t.Fatalf("groupsOn(i3) = %v; want [family:batch]", g)
	}
}

func waitIndex(t *testing.T, x *taskIndex, rev int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		x.mu.Lock()
		r := x.rev
		x.mu.Unlock()
		if r >= rev {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task index stuck at revision %d; want %d", r, rev)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInstanceCacheFollowsTheStore(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	put := func(cluster, id string, cpu int32) store.Op {
		inst := state.ContainerInstance{Cluster: cluster, ID: id}
		inst.RemainingResources = []model.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: model.Ptr(cpu)}}
		return state.Put(state.InstanceKey(cluster, id), inst)
	}
	commit(t, st, put("a", "i1", 1024))
	c := newInstanceCache(st, slog.New(slog.DiscardHandler))
	go c.run(ctx)
	rev := commit(t, st, put("a", "i2", 2048), put("b", "i3", 512))
	got, err := c.instances(ctx, "a", rev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("cluster a has %d instances in the cache; want 2", len(got))
	}
	rev = commit(t, st, put("a", "i1", 1), state.Delete(state.InstanceKey("a", "i2")))
	got, err = c.instances(ctx, "a", rev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].inst.ID != "i1" || got[0].rev != rev || resourceInt(got[0].inst.RemainingResources, "CPU") != 1 {
		t.Fatalf("after update and delete: %+v; want i1 at revision %d with CPU 1", got, rev)
	}
	// Waiting for a revision the cache has not reached ends with ctx.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := c.instances(short, "a", rev+100); err == nil {
		t.Fatal("instances waited for a future revision and returned without error")
	}
}

// A revision that places several tasks on one instance reaches the index
// one event at a time. A poll answered in between must not be handed that
// revision, or its next poll (changes after it) never sees the rest.
func TestTaskIndexClaimsOnlyWholeRevisions(t *testing.T) {
	x := newTaskIndex(nil, slog.New(slog.DiscardHandler))
	x.load(nil, 5)
	close(x.ready)
	ev := func(id string, rev int64, last bool) store.Event {
		op := putTask(id, "i1", "family:batch", "PENDING")
		return store.Event{Type: store.EventPut, KV: store.KV{Key: op.Key, Value: op.Value, Revision: rev}, Last: last}
	}
	x.apply(ev("t1", 6, false))
	changed, _, _, rev := x.tasksSince("i1", 5, true)
	if rev != 5 || !slices.Equal(changed, []string{state.TaskKey("c", "t1")}) {
		t.Fatalf("mid-revision: tasksSince = %v at revision %d; want t1 at revision 5 (6 is not whole yet)", changed, rev)
	}
	x.apply(ev("t2", 6, true))
	changed, _, _, rev = x.tasksSince("i1", 5, true)
	slices.Sort(changed)
	if rev != 6 || !slices.Equal(changed, []string{state.TaskKey("c", "t1"), state.TaskKey("c", "t2")}) {
		t.Fatalf("after the revision: tasksSince = %v at revision %d; want t1 and t2 at revision 6", changed, rev)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := x.fresh(ctx, 6); err != nil {
		t.Fatalf("fresh(6) after the revision's last event: %v", err)
	}
}
