package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/wharf-ecs/wharf/internal/store"
)

// history commits a fixed sequence under w/ and returns its revisions:
// put 1, put 2, delete 1, a two-key txn (3 and 4), overwrite of 2.
func history(t *testing.T, s store.Store) []int64 {
	return []int64{
		put(t, s, "w/1", "one"),
		put(t, s, "w/2", "two"),
		del(t, s, "w/1"),
		commit(t, s, store.Txn{Ops: []store.Op{{Key: "w/3", Value: []byte("three")}, {Key: "w/4", Value: []byte("four")}}}),
		put(t, s, "w/2", "two again"),
	}
}

// wantHistory checks the events of history() from index i on.
func wantHistory(t *testing.T, ch <-chan store.Event, revs []int64, from int) {
	t.Helper()
	want := []struct {
		typ   store.EventType
		key   string
		value string
		rev   int64
	}{
		{store.EventPut, "w/1", "one", revs[0]},
		{store.EventPut, "w/2", "two", revs[1]},
		{store.EventDelete, "w/1", "", revs[2]},
		{store.EventPut, "w/3", "three", revs[3]},
		{store.EventPut, "w/4", "four", revs[3]},
		{store.EventPut, "w/2", "two again", revs[4]},
	}
	skip := map[int]int{0: 0, 1: 1, 2: 2, 3: 3, 4: 5}[from]
	for _, w := range want[skip:] {
		wantEvent(t, next(t, ch), w.typ, w.key, w.value, w.rev)
	}
}

func testWatchFromZero(t *testing.T, s store.Store) {
	revs := history(t, s)
	wantHistory(t, watch(t, s, "w/", 0), revs, 0)
}

func testWatchFromMiddle(t *testing.T, s store.Store) {
	revs := history(t, s)
	for i := 1; i < len(revs); i++ {
		// Watching from revs[i-1] means "after it": history from revs[i] on.
		wantHistory(t, watch(t, s, "w/", revs[i-1]), revs, i)
	}

	// From the current revision there is nothing old, only what comes next.
	ch := watch(t, s, "w/", revs[len(revs)-1])
	r := put(t, s, "w/5", "five")
	wantEvent(t, next(t, ch), store.EventPut, "w/5", "five", r)
}

func testWatchLive(t *testing.T, s store.Store) {
	put(t, s, "l/before", "ignored")
	ch := watch(t, s, "l/", revision(t, s))

	r1 := put(t, s, "l/a", "1")
	r2 := put(t, s, "l/a", "2")
	r3 := commit(t, s, store.Txn{Ops: []store.Op{
		{Key: "l/b", Value: []byte("b")},
		{Key: "l/c", Value: []byte("c")},
		{Key: "l/a", Delete: true},
	}})
	wantEvent(t, next(t, ch), store.EventPut, "l/a", "1", r1)
	wantEvent(t, next(t, ch), store.EventPut, "l/a", "2", r2)

	// The order of events inside one transaction is not part of the
	// contract; that all three arrive with its revision is.
	got := map[string]store.Event{}
	for range 3 {
		ev := next(t, ch)
		got[ev.KV.Key] = ev
	}
	wantEvent(t, got["l/b"], store.EventPut, "l/b", "b", r3)
	wantEvent(t, got["l/c"], store.EventPut, "l/c", "c", r3)
	wantEvent(t, got["l/a"], store.EventDelete, "l/a", "", r3)

	// A watch from a revision not reached yet waits for it.
	future := watch(t, s, "l/", r3+1)
	put(t, s, "l/x", "skipped")
	r5 := put(t, s, "l/y", "seen")
	wantEvent(t, next(t, future), store.EventPut, "l/y", "seen", r5)
}

func testWatchPrefix(t *testing.T, s store.Store) {
	put(t, s, "pre/a/old", "old")
	put(t, s, "pre/ab", "sibling")
	start := revision(t, s)

	replay := watch(t, s, "pre/a/", 0)
	wantEvent(t, next(t, replay), store.EventPut, "pre/a/old", "old", start-1)

	live := watch(t, s, "pre/a/", start)
	put(t, s, "pre/b/1", "other")
	put(t, s, "pre/a", "shorter than the prefix")
	put(t, s, "pre/ab", "sibling")
	commit(t, s, store.Txn{Ops: []store.Op{{Key: "pre/zz", Value: []byte("z")}, {Key: "pre/a/in", Value: []byte("in")}}})
	r := revision(t, s)

	// Only the matching half of the last transaction arrives, and nothing
	// before it.
	for _, ch := range []<-chan store.Event{replay, live} {
		wantEvent(t, next(t, ch), store.EventPut, "pre/a/in", "in", r)
	}

	// The empty prefix matches everything.
	all := watch(t, s, "", start)
	for _, key := range []string{"pre/b/1", "pre/a", "pre/ab"} {
		if ev := next(t, all); ev.KV.Key != key {
			t.Fatalf("Watch(\"\") event for %q; want %q", ev.KV.Key, key)
		}
	}
}

// Each revision's last event for the watch's prefix is marked Last, in
// replay and live alike, so a view knows when it holds a whole revision.
func testWatchMarksLastOfRevision(t *testing.T, s store.Store) {
	start := revision(t, s)
	live := watch(t, s, "m/a/", start)
	ops := func(keys ...string) store.Txn {
		var txn store.Txn
		for _, k := range keys {
			txn.Ops = append(txn.Ops, store.Op{Key: k, Value: []byte(k)})
		}
		return txn
	}
	commit(t, s, ops("m/a/1", "m/a/2", "m/b/x", "m/a/3", "m/b/y"))
	commit(t, s, ops("m/a/4"))
	commit(t, s, ops("m/b/z"))
	commit(t, s, store.Txn{Ops: []store.Op{{Key: "m/a/1", Delete: true}, {Key: "m/a/5", Value: []byte("5")}}})
	replay := watch(t, s, "m/a/", start)
	want := []struct {
		key  string
		last bool
	}{{"m/a/1", false}, {"m/a/2", false}, {"m/a/3", true}, {"m/a/4", true}, {"m/a/1", false}, {"m/a/5", true}}
	for name, ch := range map[string]<-chan store.Event{"live": live, "replay": replay} {
		for i, w := range want {
			ev := next(t, ch)
			if ev.KV.Key != w.key || ev.Last != w.last {
				t.Fatalf("%s watch, event %d: %s Last=%v; want %s Last=%v", name, i, ev.KV.Key, ev.Last, w.key, w.last)
			}
		}
	}
}

func testWatchDeletes(t *testing.T, s store.Store) {
	ra := put(t, s, "d/a", "a")
	ch := watch(t, s, "d/", ra)

	rd := del(t, s, "d/a")
	// Deleting an absent key changes nothing a watcher could see.
	del(t, s, "d/never")
	rb := put(t, s, "d/b", "b")

	wantEvent(t, next(t, ch), store.EventDelete, "d/a", "", rd)
	wantEvent(t, next(t, ch), store.EventPut, "d/b", "b", rb)

	// The same sequence replayed from history.
	replay := watch(t, s, "d/", ra)
	wantEvent(t, next(t, replay), store.EventDelete, "d/a", "", rd)
	wantEvent(t, next(t, replay), store.EventPut, "d/b", "b", rb)
}

// testWatchReplayMeetsLive opens watches while commits stream in, so that
// replay and live delivery meet at an unpredictable revision. Each watch
// must see every revision after its start exactly once, in order.
func testWatchReplayMeetsLive(t *testing.T, s store.Store) {
	const total = 120
	revs := make(chan int64, total)
	errc := make(chan error, 1)
	go func() {
		defer close(revs)
		for i := range total {
			rev, err := s.Commit(t.Context(), store.Txn{Ops: []store.Op{{Key: fmt.Sprintf("rl/%03d", i), Value: []byte("v")}}})
			if err != nil {
				errc <- err
				return
			}
			revs <- rev
		}
	}()

	var all []int64
	var watches []<-chan store.Event
	for rev := range revs {
		all = append(all, rev)
		if len(all)%20 == 1 {
			// Start from a little in the past: part replay, part live.
			watches = append(watches, watch(t, s, "rl/", max(0, rev-3)))
		}
	}
	select {
	case err := <-errc:
		t.Fatalf("Commit = %v", err)
	default:
	}
	last := all[len(all)-1]
	for i, ch := range watches {
		start := max(0, all[i*20]-3)
		want := start + 1
		if want < all[0] {
			want = all[0]
		}
		for want <= last {
			ev := next(t, ch)
			if ev.KV.Revision != want {
				t.Fatalf("watch %d from %d: got revision %d (%q); want %d", i, start, ev.KV.Revision, ev.KV.Key, want)
			}
			want++
		}
	}
}

func testWatchManyWatchers(t *testing.T, s store.Store) {
	from := revision(t, s)
	var chans []<-chan store.Event
	for range 8 {
		chans = append(chans, watch(t, s, "mw/", from))
	}
	var revs []int64
	for i := range 5 {
		revs = append(revs, put(t, s, "mw/k", fmt.Sprint(i)))
	}
	for i, ch := range chans {
		var got []int64
		for range revs {
			got = append(got, next(t, ch).KV.Revision)
		}
		if !slices.Equal(got, revs) {
			t.Fatalf("watcher %d saw revisions %v; want %v", i, got, revs)
		}
	}
}

func testWatchCancel(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, "wc/", revision(t, s))
	if err != nil {
		t.Fatal(err)
	}
	other := watch(t, s, "wc/", revision(t, s))
	r := put(t, s, "wc/a", "a")
	wantEvent(t, next(t, ch), store.EventPut, "wc/a", "a", r)

	cancel()
	waitClosed(t, ch)

	// The store and the other watcher carry on; the canceled channel is
	// drained and stays closed.
	r2 := put(t, s, "wc/b", "b")
	wantEvent(t, next(t, other), store.EventPut, "wc/a", "a", r)
	wantEvent(t, next(t, other), store.EventPut, "wc/b", "b", r2)
	if _, ok := <-ch; ok {
		t.Fatal("a canceled watch delivered an event")
	}

	// Canceling a watch that is still replaying ends it too.
	for i := range 50 {
		put(t, s, fmt.Sprintf("wc/h%02d", i), "h")
	}
	ctx2, cancel2 := context.WithCancel(t.Context())
	replaying, err := s.Watch(ctx2, "wc/", 0)
	if err != nil {
		t.Fatal(err)
	}
	next(t, replaying)
	cancel2()
	waitClosed(t, replaying)
}

func testWatchCompacted(t *testing.T, s store.Store, f Features) {
	var revs []int64
	for i := range 5 {
		revs = append(revs, put(t, s, "cp/k", fmt.Sprint(i)))
	}
	if err := f.Compact(t.Context(), s, revs[3]); err != nil {
		t.Fatalf("Features.Compact(%d) = %v", revs[3], err)
	}
	for _, from := range []int64{0, revs[0], revs[2]} {
		if ch, err := s.Watch(t.Context(), "cp/", from); !errors.Is(err, store.ErrCompacted) {
			t.Errorf("Watch from %d after compacting to %d = %v, %v; want ErrCompacted", from, revs[3], ch, err)
		}
	}

	// From the compaction point on, history is whole, and data is untouched.
	ch := watch(t, s, "cp/", revs[3])
	wantEvent(t, next(t, ch), store.EventPut, "cp/k", "4", revs[4])
	r := put(t, s, "cp/k", "5")
	wantEvent(t, next(t, ch), store.EventPut, "cp/k", "5", r)
	wantKV(t, s, "cp/k", "5", r)
}
