package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
	"github.com/wharf-ecs/wharf/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	}, storetest.Features{
		Compact: func(ctx context.Context, s store.Store, rev int64) error {
			return s.(*bolt.Store).Compact(ctx, rev)
		},
	})
}

// open opens a store that the test closes unless it did so itself.
func open(tb testing.TB, path string, opts bolt.Options) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(path, opts)
	if err != nil {
		tb.Fatalf("Open(%s) = %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			tb.Errorf("Close() = %v", err)
		}
	})
	return s
}

func mustPut(tb testing.TB, s store.Store, key, value string) int64 {
	tb.Helper()
	rev, err := s.Commit(context.Background(), store.Txn{Ops: []store.Op{{Key: key, Value: []byte(value)}}})
	if err != nil {
		tb.Fatalf("Commit(put %q) = %v", key, err)
	}
	return rev
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "wharf.db")
	s := open(t, path, bolt.Options{})
	mustPut(t, s, "k/a", "a")
	mustPut(t, s, "k/b", "b")
	if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{
		{Key: "k/a", Delete: true},
		{Key: "k/c", Value: []byte("c")},
	}}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k/b", "b2")
	wantKVs, wantRev, err := s.List(ctx, "", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := drain(t, s, 0, wantRev)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path, bolt.Options{})
	gotKVs, gotRev, err := s.List(ctx, "", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gotRev != wantRev || fmt.Sprint(gotKVs) != fmt.Sprint(wantKVs) {
		t.Fatalf("after reopen List = %v at %d; want %v at %d", gotKVs, gotRev, wantKVs, wantRev)
	}
	if rev, err := s.Revision(ctx); err != nil || rev != wantRev {
		t.Fatalf("after reopen Revision() = %d, %v; want %d", rev, err, wantRev)
	}
	// Watch history survives too.
	if got := drain(t, s, 0, wantRev); fmt.Sprint(got) != fmt.Sprint(wantEvents) {
		t.Fatalf("after reopen history = %v; want %v", got, wantEvents)
	}
	if rev := mustPut(t, s, "k/d", "d"); rev != wantRev+1 {
		t.Fatalf("first commit after reopen at %d; want %d", rev, wantRev+1)
	}
}

// drain returns the events of revisions (from, to].
func drain(t *testing.T, s store.Store, from, to int64) []store.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := s.Watch(ctx, "", from)
	if err != nil {
		t.Fatalf("Watch(%d) = %v", from, err)
	}
	var evs []store.Event
	for from < to {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("watch closed early")
			}
			evs = append(evs, ev)
			from = ev.KV.Revision
		case <-time.After(15 * time.Second):
			t.Fatalf("watch stuck after revision %d", from)
		}
	}
	return evs
}

// The watch history holds whole values, so a count of revisions alone lets
// it grow with the values' size; HistoryBytes bounds it, also across a
// reopen, which has to learn the size of what the file already holds.
func TestHistoryIsBoundedInBytes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "wharf.db")
	value := strings.Repeat("v", 1000) // a record of 1,007 bytes
	opts := bolt.Options{HistoryBytes: 5000}
	s := open(t, path, opts)
	var last int64
	for range 12 {
		last = mustPut(t, s, "h/k", value)
	}
	keeps := func(n int64) {
		t.Helper()
		if _, err := s.Watch(ctx, "h/", last-n-1); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("Watch(%d) with %d revisions of history = %v; want ErrCompacted", last-n-1, n, err)
		}
		if evs := drain(t, s, last-n, last); int64(len(evs)) != n || evs[0].KV.Revision != last-n+1 || string(evs[0].KV.Value) != value {
			t.Fatalf("Watch(%d) replayed %d events; want the last %d in full", last-n, len(evs), n)
		}
	}
	keeps(4) // 4 records are 4,028 bytes, 5 would be 5,035
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, opts)
	last = mustPut(t, s, "h/k", value)
	keeps(4)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, bolt.Options{HistoryBytes: 2500})
	last = mustPut(t, s, "h/k", value)
	keeps(2)
}

func TestHistoryIsTrimmed(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "wharf.db")
	s := open(t, path, bolt.Options{History: 5})
	var revs []int64
	for i := range 12 {
		revs = append(revs, mustPut(t, s, "h/k", fmt.Sprint(i)))
	}
	last := revs[len(revs)-1]
	check := func() {
		t.Helper()
		if _, err := s.Watch(ctx, "h/", last-6); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("Watch(%d) with 5 revisions of history = %v; want ErrCompacted", last-6, err)
		}
		evs := drain(t, s, last-5, last)
		var got []int64
		for _, ev := range evs {
			got = append(got, ev.KV.Revision)
		}
		if want := revs[len(revs)-5:]; !slices.Equal(got, want) {
			t.Fatalf("Watch(%d) replayed revisions %v; want %v", last-5, got, want)
		}
	}
	check()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, bolt.Options{History: 5})
	check()

	// Compacting explicitly goes further but never past the head, and
	// going backwards is a no-op.
	if err := s.Compact(ctx, last+1); err == nil {
		t.Fatal("Compact beyond the current revision succeeded")
	}
	if err := s.Compact(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx, 1); err != nil {
		t.Fatalf("Compact to an already compacted revision = %v", err)
	}
	if _, err := s.Watch(ctx, "h/", last-1); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("Watch(%d) after Compact(%d) = %v; want ErrCompacted", last-1, last, err)
	}
}

// A watcher that stops reading is cut off; one that keeps reading is not,
// and neither slows the writer down.
func TestSlowWatcherIsClosed(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{WatchBuffer: 10})
	const commits = 150
	slow := watchAll(t, s)
	fast := watchAll(t, s)

	// The fast watcher reads each event before the next commit, so it is
	// never more than one event behind, whatever the scheduler does.
	for i := range commits {
		rev := mustPut(t, s, fmt.Sprintf("s/%03d", i), "v")
		select {
		case ev, ok := <-fast:
			if !ok || ev.KV.Revision != rev {
				t.Fatalf("fast watcher: event %v (open %v); want revision %d", ev, ok, rev)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("fast watcher: no event for revision %d", rev)
		}
	}

	var rev int64
	n := 0
	for ev := range slow {
		if ev.KV.Revision != rev+1 {
			t.Fatalf("slow watcher got revision %d after %d", ev.KV.Revision, rev)
		}
		rev = ev.KV.Revision
		n++
	}
	if n >= commits {
		t.Fatalf("slow watcher received all %d events; want it closed early", n)
	}
}

func watchAll(t *testing.T, s store.Store) <-chan store.Event {
	t.Helper()
	ch, err := s.Watch(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// Commits racing with Close or with their own deadline must report the
// truth: success means durable, an error means not applied.
func TestCommitOutcomesAreTruthful(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wharf.db")
	s := open(t, path, bolt.Options{})

	type outcome struct {
		key string
		err error
	}
	const workers = 16
	outcomes := make(chan outcome, 1<<16)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("t/%02d/%05d", w, i)
				// Most deadlines are short enough to expire while the commit
				// waits its turn; every seventh commit has none, so that
				// some succeed however slow the machine is.
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if i%7 != 6 {
					ctx, cancel = context.WithTimeout(ctx, time.Duration(i%7)*100*time.Microsecond)
				}
				_, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: key, Value: []byte(key)}}})
				cancel()
				outcomes <- outcome{key, err}
				if errors.Is(err, store.ErrClosed) {
					return
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(outcomes)

	s = open(t, path, bolt.Options{})
	counts := map[string]int{}
	for o := range outcomes {
		_, err := s.Get(t.Context(), o.key)
		switch {
		case o.err == nil:
			counts["applied"]++
			if err != nil {
				t.Fatalf("commit of %q succeeded but after reopen Get = %v", o.key, err)
			}
		case errors.Is(o.err, store.ErrClosed), errors.Is(o.err, context.DeadlineExceeded):
			counts[o.err.Error()]++
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("commit of %q failed with %v but after reopen Get = %v", o.key, o.err, err)
			}
		default:
			t.Fatalf("commit of %q = %v", o.key, o.err)
		}
	}
	if counts["applied"] == 0 || counts[store.ErrClosed.Error()] != workers {
		t.Fatalf("outcomes %v; want some applied and one ErrClosed per worker", counts)
	}
	t.Logf("outcomes: %v", counts)
}

func TestOpenRejectsBadOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wharf.db")
	for _, opts := range []bolt.Options{{History: -1}, {HistoryBytes: -1}, {WatchBuffer: -1}, {LockTimeout: -time.Second}} {
		if s, err := bolt.Open(path, opts); err == nil {
			s.Close()
			t.Errorf("Open with %+v succeeded", opts)
		}
	}
}

// A second Open of a file in use waits for the lock, then gives up.
func TestOpenLockedFileTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wharf.db")
	open(t, path, bolt.Options{})
	if s, err := bolt.Open(path, bolt.Options{LockTimeout: 50 * time.Millisecond}); err == nil {
		s.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
}

func BenchmarkCommitSerial(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), bolt.Options{})
	value := make([]byte, 128)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: fmt.Sprintf("bench/%d", i), Value: value}}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkCommitParallel measures group commit: many callers with small
// puts to distinct keys, every batch fsynced. The sub-benchmark name gives
// the number of committing goroutines per GOMAXPROCS.
func BenchmarkCommitParallel(b *testing.B) {
	for _, p := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("p=%d", p), func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "bench.db"), bolt.Options{})
			var ids atomic.Int64
			value := make([]byte, 128)
			b.SetParallelism(p)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := ids.Add(1)
				ctx := context.Background()
				for i := 0; pb.Next(); i++ {
					key := fmt.Sprintf("bench/%d/%d", id, i)
					if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: key, Value: value}}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// preload writes n keys named prefix%05d in a few large transactions.
func preload(b *testing.B, s store.Store, prefix string, n int) {
	value := make([]byte, 512)
	for start := 0; start < n; start += 1000 {
		var ops []store.Op
		for i := start; i < min(n, start+1000); i++ {
			ops = append(ops, store.Op{Key: fmt.Sprintf("%s%05d", prefix, i), Value: value})
		}
		if _, err := s.Commit(context.Background(), store.Txn{Ops: ops}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), bolt.Options{})
	preload(b, s, "tasks/c/", 10_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Get(ctx, fmt.Sprintf("tasks/c/%05d", i%10_000)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList100(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), bolt.Options{})
	preload(b, s, "tasks/a/", 5_000)
	preload(b, s, "tasks/b/", 100)
	preload(b, s, "tasks/c/", 5_000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		kvs, _, err := s.List(ctx, "tasks/b/", store.ListOptions{})
		if err != nil || len(kvs) != 100 {
			b.Fatalf("List = %d keys, %v", len(kvs), err)
		}
	}
}
