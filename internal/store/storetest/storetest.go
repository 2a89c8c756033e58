// Package storetest is the conformance suite for store.Store. Every backend
// runs it from its own tests:
//
//	storetest.Run(t, func(t *testing.T) store.Store { ... }, storetest.Features{...})
//
// The suite checks the contract only, never a backend's internals or speed.
// Waits on channels have a generous limit that detects hangs; they are not
// timing assertions.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Features describes what a backend can do on demand for the suite.
type Features struct {
	// Compact makes the watch history of revisions up to and including rev
	// unavailable, as the backend does by itself when history runs out.
	// Afterwards Watch from a revision below rev must fail with
	// store.ErrCompacted and Watch from rev must work. A backend that never
	// drops history leaves it nil, and the ErrCompacted test does not run
	// (the suite logs that it did not).
	Compact func(ctx context.Context, s store.Store, rev int64) error
}

// hangLimit is how long a test waits for something that should happen
// promptly before it declares a hang.
const hangLimit = 15 * time.Second

// Run runs the conformance suite. open must return a new, empty store for
// each call; the suite closes it (and tolerates store.ErrClosed, since some
// tests close it themselves).
func Run(t *testing.T, open func(t *testing.T) store.Store, f Features) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"GetMany", testGetMany},
		{"Values", testValues},
		{"Revisions", testRevisions},
		{"Conditions", testConditions},
		{"ConflictAppliesNothing", testConflictAppliesNothing},
		{"MultiOpAtomic", testMultiOpAtomic},
		{"SnapshotsSeeWholeTxns", testSnapshotsSeeWholeTxns},
		{"ListOrderAndPrefix", testListOrderAndPrefix},
		{"ListPaging", testListPaging},
		{"BadInput", testBadInput},
		{"CanceledContext", testCanceledContext},
		{"Closed", testClosed},
		{"WatchFromZero", testWatchFromZero},
		{"WatchFromMiddle", testWatchFromMiddle},
		{"WatchLive", testWatchLive},
		{"WatchPrefix", testWatchPrefix},
		{"WatchDeletes", testWatchDeletes},
		{"WatchMarksLastOfRevision", testWatchMarksLastOfRevision},
		{"WatchReplayMeetsLive", testWatchReplayMeetsLive},
		{"WatchManyWatchers", testWatchManyWatchers},
		{"WatchCancel", testWatchCancel},
		{"WatchCompacted", func(t *testing.T, s store.Store) { testWatchCompacted(t, s, f) }},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"ConcurrentDistinctKeys", testConcurrentDistinctKeys},
	}
	for _, tc := range tests {
		if tc.name == "WatchCompacted" && f.Compact == nil {
			t.Log("WatchCompacted not run: the backend declares no Features.Compact")
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
					t.Errorf("Close() = %v", err)
				}
			})
			tc.run(t, s)
		})
	}
}

func commit(t *testing.T, s store.Store, txn store.Txn) int64 {
	t.Helper()
	rev, err := s.Commit(t.Context(), txn)
	if err != nil {
		t.Fatalf("Commit(%s) = %v", describe(txn), err)
	}
	return rev
}

func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	return commit(t, s, store.Txn{Ops: []store.Op{{Key: key, Value: []byte(value)}}})
}

func del(t *testing.T, s store.Store, key string) int64 {
	t.Helper()
	return commit(t, s, store.Txn{Ops: []store.Op{{Key: key, Delete: true}}})
}

func get(t *testing.T, s store.Store, key string) store.KV {
	t.Helper()
	kv, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) = %v", key, err)
	}
	return kv
}

func wantAbsent(t *testing.T, s store.Store, key string) {
	t.Helper()
	if kv, err := s.Get(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %+v, %v; want ErrNotFound", key, kv, err)
	}
}

func wantKV(t *testing.T, s store.Store, key, value string, rev int64) {
	t.Helper()
	kv := get(t, s, key)
	if kv.Key != key || string(kv.Value) != value || kv.Revision != rev {
		t.Fatalf("Get(%q) = {%q %q rev %d}; want {%q %q rev %d}", key, kv.Key, kv.Value, kv.Revision, key, value, rev)
	}
}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision() = %v", err)
	}
	return rev
}

func watch(t *testing.T, s store.Store, prefix string, from int64) <-chan store.Event {
	t.Helper()
	ch, err := s.Watch(t.Context(), prefix, from)
	if err != nil {
		t.Fatalf("Watch(%q, %d) = %v", prefix, from, err)
	}
	return ch
}

// next returns the next event, failing on a closed channel or a hang.
func next(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	timer := time.NewTimer(hangLimit)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed; want an event")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no watch event within %v", hangLimit)
	}
	return store.Event{}
}

// wantEvent fails unless ev is the given change. A delete must carry no value.
func wantEvent(t *testing.T, ev store.Event, typ store.EventType, key, value string, rev int64) {
	t.Helper()
	if ev.Type != typ || ev.KV.Key != key || string(ev.KV.Value) != value || ev.KV.Revision != rev {
		t.Fatalf("event = %s; want %s", fmtEvent(ev), fmtEvent(store.Event{Type: typ, KV: store.KV{Key: key, Value: []byte(value), Revision: rev}}))
	}
}

// waitClosed drains ch until it closes, failing on a hang.
func waitClosed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	timer := time.NewTimer(hangLimit)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("watch channel still open after %v", hangLimit)
		}
	}
}

func fmtEvent(ev store.Event) string {
	return fmt.Sprintf("{%v %q %q rev %d}", ev.Type, ev.KV.Key, ev.KV.Value, ev.KV.Revision)
}

func describe(txn store.Txn) string {
	s := "{"
	for _, c := range txn.Conds {
		s += fmt.Sprintf(" if %q@%d", c.Key, c.Revision)
	}
	for _, op := range txn.Ops {
		if op.Delete {
			s += fmt.Sprintf(" del %q", op.Key)
		} else {
			v := op.Value
			if len(v) > 32 {
				v = fmt.Appendf(v[:32:32], "...(%d bytes)", len(op.Value))
			}
			s += fmt.Sprintf(" put %q=%q", op.Key, v)
		}
	}
	return s + " }"
}
