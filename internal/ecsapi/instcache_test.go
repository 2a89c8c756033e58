package ecsapi

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// TestInstanceCacheChangedSince: a reader that keeps a copy of a cluster's
// instances gets, from the generation it last saw, the instances changed
// since (their current entries) and those gone; everything when it has seen
// nothing yet, after the cache reloaded, or once it fell further behind than
// the log of changes keeps.
func TestInstanceCacheChangedSince(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	put := func(cluster, id string) store.Op {
		inst := state.ContainerInstance{Cluster: cluster, ID: id}
		inst.Status = "ACTIVE"
		return state.Put(state.InstanceKey(cluster, id), inst)
	}
	rev := commit(t, st, put("c", "a"), put("c", "b"), put("other", "x"))
	c := newInstanceCache(st, slog.New(slog.DiscardHandler))
	go c.run(ctx)
	ids := func(es []cachedInstance) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.inst.ID)
		}
		slices.Sort(out)
		return out
	}

	changed, gone, gen, all, err := c.changedSince(ctx, "c", rev, 0)
	if err != nil || !all || !slices.Equal(ids(changed), []string{"a", "b"}) || len(gone) != 0 {
		t.Fatalf("first look: %v %v all=%v err=%v; want a and b, all", ids(changed), gone, all, err)
	}
	// b changes twice, c joins, a leaves, and another cluster changes.
	commit(t, st, put("c", "b"))
	commit(t, st, put("c", "b"), put("c", "c"), put("other", "x"))
	rev = commit(t, st, state.Delete(state.InstanceKey("c", "a")))
	changed, gone, gen2, all, err := c.changedSince(ctx, "c", rev, gen)
	if err != nil || all || !slices.Equal(ids(changed), []string{"b", "c"}) || !slices.Equal(gone, []string{"a"}) || gen2 <= gen {
		t.Fatalf("after changes: changed %v gone %v all=%v gen %d→%d err=%v; want b, c changed, a gone, no full listing",
			ids(changed), gone, all, gen, gen2, err)
	}
	for _, e := range changed {
		if e.inst.ID == "b" && e.rev != rev-1 {
			t.Errorf("b comes at revision %d; want its last, %d", e.rev, rev-1)
		}
	}
	// Nothing changed since: nothing to take.
	if changed, gone, _, all, _ := c.changedSince(ctx, "c", rev, gen2); all || len(changed)+len(gone) != 0 {
		t.Errorf("with nothing changed: %v %v all=%v; want nothing", ids(changed), gone, all)
	}
	// Far behind: the log keeps about twice the cluster's instances and
	// some thousands more; past that, everything again.
	for range 5000 {
		commit(t, st, put("c", "b"))
	}
	rev = commit(t, st, put("c", "b"))
	if changed, _, _, all, _ := c.changedSince(ctx, "c", rev, gen2); !all || !slices.Equal(ids(changed), []string{"b", "c"}) {
		t.Errorf("after 5,001 changes: %v all=%v; want every instance, all", ids(changed), all)
	}
	// A reload (the follower re-listed) also means everything.
	c.load([]store.KV{}, rev)
	if changed, _, _, all, _ := c.changedSince(ctx, "c", rev, gen2); !all || len(changed) != 0 {
		t.Errorf("after a reload with no instances: %v all=%v; want the (empty) whole, all", ids(changed), all)
	}
}
