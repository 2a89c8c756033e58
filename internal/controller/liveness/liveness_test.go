package liveness

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

type fakeBeats map[string]time.Time

func (f fakeBeats) LastSeen(id string) (time.Time, bool) { t, ok := f[id]; return t, ok }

func TestCheckMarksOverdueAgentsDisconnected(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(id string, connected bool, status string) {
		inst := state.ContainerInstance{Cluster: "c", ID: id}
		inst.AgentConnected = model.Ptr(connected)
		inst.Status = status
		if _, err := st.Commit(ctx, store.Txn{Ops: []store.Op{state.Put(state.InstanceKey("c", id), inst)}}); err != nil {
			t.Fatal(err)
		}
	}
	put("fresh", true, "ACTIVE")
	put("stale", true, "ACTIVE")
	put("never", true, "ACTIVE")
	put("gone", true, "INACTIVE")

	start := time.Unix(1_000_000, 0)
	now := start
	beats := fakeBeats{}
	c := New(Config{Store: st, Heartbeats: beats, Timeout: time.Minute, Now: func() time.Time { return now }})
	c.started = start

	now = start.Add(50 * time.Second)
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"fresh", "stale", "never"} {
		if !connected(t, st, id) {
			t.Fatalf("%s disconnected within the grace period after start", id)
		}
	}

	beats["fresh"] = start.Add(100 * time.Second)
	beats["stale"] = start.Add(10 * time.Second)
	now = start.Add(130 * time.Second)
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"fresh": true, "stale": false, "never": false, "gone": true}
	for id, w := range want {
		if got := connected(t, st, id); got != w {
			t.Errorf("agentConnected(%s) = %v; want %v", id, got, w)
		}
	}
}

func connected(t *testing.T, st store.Store, id string) bool {
	t.Helper()
	inst, _, err := state.Get[state.ContainerInstance](context.Background(), st, state.InstanceKey("c", id))
	if err != nil {
		t.Fatal(err)
	}
	return model.Val(inst.AgentConnected)
}
