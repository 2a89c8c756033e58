package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/wharf-ecs/wharf/internal/store"
)

// testConcurrentIncrements is optimistic concurrency under contention: many
// goroutines read a counter, add one and commit on the condition that it
// has not changed, retrying on conflict. A lost update would leave the
// counter below the number of successful commits.
func testConcurrentIncrements(t *testing.T, s store.Store) {
	const (
		workers    = 8
		increments = 20
		key        = "counter"
	)
	type result struct {
		revs      []int64
		conflicts int
		err       error
	}
	results := make([]result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[w]
			for len(res.revs) < increments {
				n, rev, err := readCounter(t, s, key)
				if err != nil {
					res.err = err
					return
				}
				newRev, err := s.Commit(t.Context(), store.Txn{
					Conds: []store.Cond{{Key: key, Revision: rev}},
					Ops:   []store.Op{{Key: key, Value: []byte(strconv.Itoa(n + 1))}},
				})
				switch {
				case store.IsConflict(err):
					res.conflicts++
				case err != nil:
					res.err = err
					return
				default:
					res.revs = append(res.revs, newRev)
				}
			}
		}()
	}
	wg.Wait()

	var revs []int64
	conflicts := 0
	for w, res := range results {
		if res.err != nil {
			t.Fatalf("worker %d: %v", w, res.err)
		}
		revs = append(revs, res.revs...)
		conflicts += res.conflicts
	}
	n, rev, err := readCounter(t, s, key)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(revs) {
		t.Fatalf("counter = %d after %d successful increments (%d conflicts): updates were lost", n, len(revs), conflicts)
	}
	slices.Sort(revs)
	if dup := slices.Compact(slices.Clone(revs)); len(dup) != len(revs) {
		t.Fatalf("two successful commits reported the same revision: %v", revs)
	}
	if rev != revs[len(revs)-1] {
		t.Fatalf("counter revision = %d; want the last successful commit %d", rev, revs[len(revs)-1])
	}
	t.Logf("%d increments, %d conflicts retried", len(revs), conflicts)
}

func readCounter(t *testing.T, s store.Store, key string) (int, int64, error) {
	kv, err := s.Get(t.Context(), key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	n, err := strconv.Atoi(string(kv.Value))
	return n, kv.Revision, err
}

// testConcurrentDistinctKeys commits from many goroutines at once. With
// nothing else writing, every commit takes the next revision, so together
// they must cover a contiguous range with no revision given twice, and
// every key must hold the revision its commit reported.
func testConcurrentDistinctKeys(t *testing.T, s store.Store) {
	const (
		workers = 16
		each    = 15
	)
	start := revision(t, s)
	revs := make([][]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := fmt.Sprintf("dk/%02d/%02d", w, i)
				rev, err := s.Commit(t.Context(), store.Txn{
					Conds: []store.Cond{{Key: key}},
					Ops:   []store.Op{{Key: key, Value: []byte(key)}},
				})
				if err != nil {
					errs[w] = fmt.Errorf("Commit(%q) = %w", key, err)
					return
				}
				revs[w] = append(revs[w], rev)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	var all []int64
	for w := range workers {
		for i, rev := range revs[w] {
			wantKV(t, s, fmt.Sprintf("dk/%02d/%02d", w, i), fmt.Sprintf("dk/%02d/%02d", w, i), rev)
		}
		all = append(all, revs[w]...)
	}
	slices.Sort(all)
	for i, rev := range all {
		if rev != start+1+int64(i) {
			t.Fatalf("commit revisions %v; want each of %d..%d exactly once", all, start+1, start+workers*each)
		}
	}
	if got := revision(t, s); got != start+workers*each {
		t.Fatalf("Revision() = %d; want %d", got, start+workers*each)
	}
}
