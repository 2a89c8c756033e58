package heartbeat_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/heartbeat"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

// polls is a server's own memory of polls.
type polls struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (p *polls) LastSeen(id string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.seen[id]
	return t, ok
}

func (p *polls) beat(id string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[id] = t
}

// Two servers on one store: each hears of the polls the other received,
// and keeps the latest of its own and theirs.
func TestServersShareHeartbeats(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, id := range []string{"i1", "i2", "i3"} {
		inst := state.ContainerInstance{}
		inst.ID = id
		if _, err := st.Commit(ctx, store.Txn{Ops: []store.Op{state.Put(state.InstanceKey("c", id), inst)}}); err != nil {
			t.Fatal(err)
		}
	}
	base := time.UnixMilli(time.Now().UnixMilli())
	pa := &polls{seen: map[string]time.Time{"i1": base, "i2": base}}
	pb := &polls{seen: map[string]time.Time{"i2": base.Add(time.Second)}}
	a := heartbeat.New(heartbeat.Config{Store: st, Local: pa, Server: "a", Every: 20 * time.Millisecond})
	b := heartbeat.New(heartbeat.Config{Store: st, Local: pb, Server: "b", Every: 20 * time.Millisecond})
	go a.Run(ctx)
	go b.Run(ctx)

	want := func(s *heartbeat.Shared, name, id string, at time.Time) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, ok := s.LastSeen(id)
			if ok && got.Equal(at) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: LastSeen(%s) = %v, %v; want %v", name, id, got, ok, at)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want(b, "b", "i1", base)                  // only a saw it
	want(a, "a", "i2", base.Add(time.Second)) // b saw it later than a
	want(b, "b", "i2", base.Add(time.Second))
	if got, ok := a.LastSeen("i3"); ok {
		t.Fatalf("LastSeen(i3), polled nowhere = %v; want none", got)
	}
	// A newer poll at a reaches b.
	pa.beat("i1", base.Add(5*time.Second))
	want(b, "b", "i1", base.Add(5*time.Second))
}
