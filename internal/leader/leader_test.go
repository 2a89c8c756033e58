package leader_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharf-ecs/wharf/internal/leader"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/etcd"
	"github.com/wharf-ecs/wharf/internal/store/etcd/etcdtest"
)

const ttl = 2 * time.Second // etcd's minimum with default timings

// terms records who led when, as the lead functions see it.
type terms struct {
	mu      sync.Mutex
	current map[string]time.Time // leading now → since
	ended   []term
	overlap bool
	changed chan struct{}
}

type term struct {
	name       string
	start, end time.Time
}

func newTerms() *terms {
	return &terms{current: map[string]time.Time{}, changed: make(chan struct{}, 100)}
}

// lead is the leader-only work of server name: it holds the term until its
// context ends.
func (tr *terms) lead(name string) func(ctx context.Context) {
	return func(ctx context.Context) {
		tr.mu.Lock()
		if len(tr.current) > 0 {
			tr.overlap = true
		}
		tr.current[name] = time.Now()
		tr.mu.Unlock()
		tr.changed <- struct{}{}
		<-ctx.Done()
		tr.mu.Lock()
		tr.ended = append(tr.ended, term{name, tr.current[name], time.Now()})
		delete(tr.current, name)
		tr.mu.Unlock()
		tr.changed <- struct{}{}
	}
}

// waitLeader waits until exactly one server other than not leads, and
// returns it.
func (tr *terms) waitLeader(t *testing.T, not string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	for {
		tr.mu.Lock()
		if tr.overlap {
			tr.mu.Unlock()
			t.Fatal("two servers led at once")
		}
		for name := range tr.current {
			if name != not {
				tr.mu.Unlock()
				return name
			}
		}
		tr.mu.Unlock()
		select {
		case <-tr.changed:
		case <-deadline:
			t.Fatalf("no leader other than %q within %v", not, within)
		}
	}
}

type server struct {
	name   string
	st     *etcd.Store
	el     *leader.Etcd
	cancel context.CancelFunc
	done   chan struct{}
}

// start opens a store on endpoints and campaigns as name.
func start(t *testing.T, endpoints []string, name string, tr *terms) *server {
	t.Helper()
	st, err := etcd.Open(t.Context(), etcd.Options{Endpoints: endpoints, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	el, err := leader.NewEtcd(leader.Config{Client: st.Client(), Namespace: st.KeyPrefix(), Name: name, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{name: name, st: st, el: el, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		el.Run(ctx, tr.lead(name))
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	s.cancel()
	<-s.done
	_ = s.st.Close()
}

func TestOneLeaderAndTakeover(t *testing.T) {
	ep := etcdtest.Start(t)
	tr := newTerms()
	servers := map[string]*server{}
	for _, name := range []string{"a", "b", "c"} {
		servers[name] = start(t, []string{ep}, name, tr)
	}
	first := tr.waitLeader(t, "", 10*time.Second)
	if !servers[first].el.Leading() {
		t.Fatalf("%s leads but Leading() = false", first)
	}
	if cur, err := leader.Current(t.Context(), servers[first].st.Client(), servers[first].st.KeyPrefix()); err != nil || cur != first {
		t.Fatalf("Current() = %q, %v; want %q", cur, err, first)
	}

	// A clean stop gives the lease back: the next one leads at once.
	began := time.Now()
	servers[first].stop()
	second := tr.waitLeader(t, first, 10*time.Second)
	if took := time.Since(began); took > ttl {
		t.Errorf("takeover after a clean stop took %v; want well under the TTL %v", took, ttl)
	}

	// A crash does not: the lease runs out first. Closing the client is
	// what a killed process does to etcd.
	began = time.Now()
	_ = servers[second].st.Client().Close()
	third := tr.waitLeader(t, second, 10*time.Second)
	took := time.Since(began)
	t.Logf("leaders %s, %s, %s; takeover after a crash took %v", first, second, third, took)
	if took > ttl+3*time.Second {
		t.Errorf("takeover after a crash took %v; want about the TTL %v", took, ttl)
	}
}

// TestFence: once the leader's lease is gone, its fenced commits fail even
// before it notices, and it stops leading within a renewal period.
func TestFence(t *testing.T) {
	ep := etcdtest.Start(t)
	tr := newTerms()
	s := start(t, []string{ep}, "a", tr)
	tr.waitLeader(t, "", 10*time.Second)
	fenced := s.el.Fence().Store(s.st)
	ctx := t.Context()

	rev, err := fenced.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "clusters/x", Value: []byte("1")}}})
	if err != nil {
		t.Fatalf("leader's fenced Commit = %v", err)
	}
	// An ordinary conflict is still reported as one.
	_, err = fenced.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: "clusters/x", Revision: rev - 1}}})
	if !store.IsConflict(err) {
		t.Fatalf("fenced Commit with a stale condition = %v; want a conflict", err)
	}

	// Another client revokes the lease, as etcd does when it expires.
	other, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	keys, err := other.Get(ctx, s.st.KeyPrefix()+state.LeaderPrefix, clientv3.WithPrefix())
	if err != nil || len(keys.Kvs) != 1 {
		t.Fatalf("leader keys = %v, %v; want one", keys, err)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(string(keys.Kvs[0].Key), s.st.KeyPrefix()+state.LeaderPrefix), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	if _, err := other.Revoke(ctx, clientv3.LeaseID(id)); err != nil {
		t.Fatal(err)
	}
	if _, err := fenced.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "clusters/x", Value: []byte("late")}}}); !errors.Is(err, leader.ErrNotLeader) {
		t.Fatalf("fenced Commit after the lease was revoked = %v; want ErrNotLeader", err)
	}
	if kv, err := s.st.Get(ctx, "clusters/x"); err != nil || string(kv.Value) != "1" {
		t.Fatalf("clusters/x = %q, %v; the old leader's late write landed", kv.Value, err)
	}
	waitNotLeading(t, tr, "a", ttl)
	t.Logf("the leader stopped %v after its lease was revoked", time.Since(revoked))
	// It campaigns again, and being alone, leads again under a new lease.
	tr.waitLeader(t, "", 10*time.Second)
	if _, err := fenced.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "clusters/x", Value: []byte("2")}}}); err != nil {
		t.Fatalf("fenced Commit in the new term = %v", err)
	}
}

func waitNotLeading(t *testing.T, tr *terms, name string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		tr.mu.Lock()
		_, leading := tr.current[name]
		tr.mu.Unlock()
		if !leading {
			return
		}
		select {
		case <-tr.changed:
		case <-deadline:
			t.Fatalf("%s still leads %v later", name, within)
		}
	}
}

// TestCutOffLeaderStopsFirst cuts the leader off from etcd by killing the
// one member it talks to. It must stop leading before anyone else starts:
// it stops when its last confirmed renewal is about to run out, and etcd
// expires the lease only after that.
func TestCutOffLeaderStopsFirst(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	tr := newTerms()
	var servers []*server
	for i, name := range []string{"a", "b", "c"} {
		servers = append(servers, start(t, []string{c.Endpoints()[i]}, name, tr))
	}
	first := tr.waitLeader(t, "", 10*time.Second)
	i := int(first[0] - 'a')
	cut := time.Now()
	c.Member(i).Kill()
	second := tr.waitLeader(t, first, 15*time.Second)

	tr.mu.Lock()
	defer tr.mu.Unlock()
	var old term
	for _, tm := range tr.ended {
		if tm.name == first {
			old = tm
		}
	}
	if old.end.IsZero() {
		t.Fatalf("%s still leads after being cut off, next to %s", first, second)
	}
	next := tr.current[second]
	if !old.end.Before(next) {
		t.Fatalf("%s stopped at %v, after %s started at %v", first, old.end.Sub(cut), second, next.Sub(cut))
	}
	t.Logf("cut off %s stopped %v after the cut; %s led %v after it", first, old.end.Sub(cut), second, next.Sub(cut))
}

func TestAlways(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	led := make(chan struct{})
	go func() {
		<-led
		cancel()
	}()
	leader.Always{}.Run(ctx, func(ctx context.Context) {
		close(led)
		<-ctx.Done()
	})
}
