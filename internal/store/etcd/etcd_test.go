package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/etcd"
	"github.com/wharf-ecs/wharf/internal/store/etcd/etcdtest"
	"github.com/wharf-ecs/wharf/internal/store/storetest"
)

// TestConformance runs the store contract against a real etcd. Each
// subtest gets its own one-member cluster: the suite counts revisions, and
// etcd's revision is global to a cluster.
func TestConformance(t *testing.T) {
	etcdtest.Binary(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, etcd.Options{Endpoints: []string{etcdtest.Start(t)}})
	}, storetest.Features{
		Compact: func(ctx context.Context, s store.Store, rev int64) error {
			return s.(*etcd.Store).Compact(ctx, rev)
		},
	})
}

// open opens a store that the test closes unless it did so itself.
func open(tb testing.TB, opts etcd.Options) *etcd.Store {
	tb.Helper()
	s, err := etcd.Open(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("Open(%v) = %v", opts.Endpoints, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			tb.Errorf("Close() = %v", err)
		}
	})
	return s
}

// Two Wharf clusters on one etcd, told apart by prefix, see nothing of
// each other, and the keys sit where docs/ha.md says.
func TestPrefixesIsolate(t *testing.T) {
	ep := etcdtest.Start(t)
	a := open(t, etcd.Options{Endpoints: []string{ep}, Prefix: "/a/"})
	b := open(t, etcd.Options{Endpoints: []string{ep}, Prefix: "/b/"})
	ctx := t.Context()

	watchB, err := b.Watch(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	ra := mustPut(t, a, "clusters/x", "from a")
	rb := mustPut(t, b, "clusters/y", "from b")
	// b's commit raised etcd's revision, but a's store has not changed: a
	// reader of a that waits for its watch to reach a.Revision() must not
	// wait for an event under /b/.
	if rev, err := a.Revision(ctx); err != nil || rev != ra {
		t.Fatalf("a.Revision() after a commit under /b/ = %d, %v; want a's last commit %d", rev, err, ra)
	}
	if ev := <-watchB; ev.KV.Key != "clusters/y" || ev.KV.Revision != rb {
		t.Fatalf("b's watch saw %+v first; want its own clusters/y at %d", ev, rb)
	}
	for _, c := range []struct {
		s    *etcd.Store
		want string
	}{{a, "clusters/x"}, {b, "clusters/y"}} {
		kvs, _, err := c.s.List(ctx, "", store.ListOptions{})
		if err != nil || len(kvs) != 1 || kvs[0].Key != c.want {
			t.Errorf("List under %s = %v, %v; want only %s", c.s.Prefix(), kvs, err, c.want)
		}
	}
	raw, err := a.Client().Get(ctx, "/a/kv/clusters/x")
	if err != nil || len(raw.Kvs) != 1 || string(raw.Kvs[0].Value) != "from a" {
		t.Fatalf("etcd key /a/kv/clusters/x = %v, %v; want the value put through the store", raw, err)
	}
}

func TestOpenFailsWithoutEtcd(t *testing.T) {
	start := time.Now()
	s, err := etcd.Open(t.Context(), etcd.Options{
		Endpoints:   []string{"http://127.0.0.1:1"},
		DialTimeout: 500 * time.Millisecond,
	})
	if err == nil {
		s.Close()
		t.Fatal("Open with nothing listening succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Open error %q does not name the endpoint", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open took %v to give up; want about its DialTimeout", d)
	}
	for _, opts := range []etcd.Options{{}, {Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: -1}} {
		if s, err := etcd.Open(t.Context(), opts); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", opts)
		}
	}
}

// TestWatchAcrossMemberLoss kills etcd members, one after the other, under
// a watch and a writer, with the store connected to all three. Whatever
// member the watch was on, every revision arrives exactly once and in
// order: either the watch carries on by itself, or it closes and a new
// Watch from the last revision seen picks up where it stopped.
func TestWatchAcrossMemberLoss(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	s := open(t, etcd.Options{Endpoints: c.Endpoints(), DialTimeout: 2 * time.Second})
	ctx := t.Context()
	start, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const total = 150
	written := make(chan int64, 1)
	errc := make(chan error, 1)
	go func() {
		var last int64
		for i := range total {
			switch i {
			case total / 3:
				c.Member(0).Kill()
			case 2 * total / 3:
				if err := c.Restart(c.Member(0)); err != nil {
					errc <- err
					return
				}
				c.Member(1).Kill()
			}
			rev, err := putRetrying(ctx, s, fmt.Sprintf("ml/%03d", i))
			if err != nil {
				errc <- err
				return
			}
			last = rev
		}
		written <- last
	}()

	seen := start
	resumes := 0
	ch, err := s.Watch(ctx, "ml/", seen)
	if err != nil {
		t.Fatal(err)
	}
	var last int64 = -1
	for last < 0 || seen < last {
		select {
		case ev, ok := <-ch:
			if !ok {
				resumes++
				if ch, err = s.Watch(ctx, "ml/", seen); err != nil {
					t.Fatalf("Watch(%d) after the watch closed = %v", seen, err)
				}
				continue
			}
			if ev.KV.Revision != seen+1 {
				t.Fatalf("event %q at revision %d after %d: a revision was lost or repeated", ev.KV.Key, ev.KV.Revision, seen)
			}
			seen = ev.KV.Revision
		case last = <-written:
		case err := <-errc:
			t.Fatal(err)
		case <-time.After(30 * time.Second):
			t.Fatalf("no event after revision %d for 30s", seen)
		}
	}
	if seen != start+total {
		t.Fatalf("saw revisions up to %d; want %d", seen, start+total)
	}
	t.Logf("%d revisions across two member kills; the watch was reopened %d times", total, resumes)
}

// putRetrying creates key, retrying while the cluster recovers. A retry
// whose first attempt did land meets a conflict: that is success too.
func putRetrying(ctx context.Context, s store.Store, key string) (int64, error) {
	var lastErr error
	for range 100 {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		rev, err := s.Commit(cctx, store.Txn{
			Conds: []store.Cond{{Key: key}},
			Ops:   []store.Op{{Key: key, Value: []byte("v")}},
		})
		cancel()
		var ce *store.ConflictError
		switch {
		case err == nil:
			return rev, nil
		case errors.As(err, &ce):
			return ce.Actual, nil
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	return 0, fmt.Errorf("commit %s: %w", key, lastErr)
}

func mustPut(tb testing.TB, s store.Store, key, value string) int64 {
	tb.Helper()
	rev, err := s.Commit(tb.Context(), store.Txn{Ops: []store.Op{{Key: key, Value: []byte(value)}}})
	if err != nil {
		tb.Fatalf("Commit(put %q) = %v", key, err)
	}
	return rev
}

// With etcd gone, a call without a deadline fails after the request
// timeout instead of waiting for etcd to come back.
func TestCallsFailWhenEtcdIsGone(t *testing.T) {
	c := etcdtest.StartCluster(t, 1)
	s := open(t, etcd.Options{Endpoints: c.Endpoints(), RequestTimeout: 500 * time.Millisecond})
	mustPut(t, s, "k", "v")
	c.Member(0).Kill()
	ctx := context.Background()
	checks := map[string]func() error{
		"Get":      func() error { _, err := s.Get(ctx, "k"); return err },
		"List":     func() error { _, _, err := s.List(ctx, "", store.ListOptions{}); return err },
		"Revision": func() error { _, err := s.Revision(ctx); return err },
		"Commit": func() error {
			_, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "k", Value: []byte("w")}}})
			return err
		},
	}
	for name, call := range checks {
		start := time.Now()
		err := call()
		if err == nil || !strings.Contains(err.Error(), "no answer") {
			t.Errorf("%s with etcd gone = %v; want a no-answer error", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v to fail; want about the request timeout", name, d)
		}
	}
}
