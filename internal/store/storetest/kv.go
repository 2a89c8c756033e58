package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/wharf-ecs/wharf/internal/store"
)

func testGetPutDelete(t *testing.T, s store.Store) {
	wantAbsent(t, s, "clusters/a")

	r1 := put(t, s, "clusters/a", "one")
	wantKV(t, s, "clusters/a", "one", r1)

	r2 := put(t, s, "clusters/a", "two")
	if r2 <= r1 {
		t.Fatalf("overwrite committed at revision %d, not after %d", r2, r1)
	}
	wantKV(t, s, "clusters/a", "two", r2)

	del(t, s, "clusters/a")
	wantAbsent(t, s, "clusters/a")

	// Deleting what is not there is allowed and still commits.
	if r := del(t, s, "clusters/never"); r <= r2 {
		t.Fatalf("delete of an absent key committed at revision %d, not after %d", r, r2)
	}

	// A deleted key can be created again.
	r3 := put(t, s, "clusters/a", "three")
	wantKV(t, s, "clusters/a", "three", r3)
}

// GetMany answers each key in order, absent ones as zero KVs, through the
// backend's own MultiGetter when it has one; with more keys than an etcd
// transaction takes by default.
func testGetMany(t *testing.T, s store.Store) {
	var keys []string
	want := map[string]int64{}
	for i := range 130 {
		key := fmt.Sprintf("tasks/c/%03d", i)
		keys = append(keys, key)
		if i%3 != 1 {
			want[key] = put(t, s, key, "v"+key)
		}
	}
	keys = append(keys, keys[0]) // twice
	for _, gm := range []func(context.Context, []string) ([]store.KV, error){
		func(ctx context.Context, keys []string) ([]store.KV, error) { return store.GetMany(ctx, s, keys) },
		func(ctx context.Context, keys []string) ([]store.KV, error) {
			mg, ok := s.(store.MultiGetter)
			if !ok {
				return store.GetMany(ctx, s, keys)
			}
			return mg.GetMany(ctx, keys)
		},
	} {
		got, err := gm(t.Context(), keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(keys) {
			t.Fatalf("GetMany of %d keys answered %d", len(keys), len(got))
		}
		for i, key := range keys {
			rev, present := want[key]
			switch {
			case !present && (got[i].Value != nil || got[i].Revision != 0 || got[i].Key != ""):
				t.Fatalf("GetMany[%d] (%s, absent) = %+v; want a zero KV", i, key, got[i])
			case present && (got[i].Key != key || string(got[i].Value) != "v"+key || got[i].Revision != rev):
				t.Fatalf("GetMany[%d] = %q %q rev %d; want %q %q rev %d", i, got[i].Key, got[i].Value, got[i].Revision, key, "v"+key, rev)
			}
		}
	}
	if got, err := store.GetMany(t.Context(), s, nil); err != nil || len(got) != 0 {
		t.Fatalf("GetMany(no keys) = %v, %v", got, err)
	}
	if _, err := store.GetMany(t.Context(), s, []string{"tasks/c/000", ""}); err == nil || store.IsConflict(err) {
		t.Fatalf("GetMany with an empty key = %v; want a plain error", err)
	}
}

func testValues(t *testing.T, s store.Store) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	cases := []struct {
		key   string
		value []byte
	}{
		{"v/empty", []byte{}},
		{"v/nil", nil},
		{"v/binary", []byte{0, 1, 0xff, 0, '\n'}},
		{"v/big", big},
		{"v/\x00\xffkey", []byte("odd key bytes")},
	}
	for _, c := range cases {
		rev := commit(t, s, store.Txn{Ops: []store.Op{{Key: c.key, Value: c.value}}})
		kv := get(t, s, c.key)
		if kv.Key != c.key || !bytes.Equal(kv.Value, c.value) || kv.Revision != rev {
			t.Errorf("Get(%q) = key %q, %d bytes, rev %d; want the %d bytes written at rev %d",
				c.key, kv.Key, len(kv.Value), kv.Revision, len(c.value), rev)
		}
	}

	// The store must not keep the caller's slice, nor hand out its own.
	value := []byte("original")
	commit(t, s, store.Txn{Ops: []store.Op{{Key: "v/alias", Value: value}}})
	copy(value, "MUTATED!")
	kv := get(t, s, "v/alias")
	if string(kv.Value) != "original" {
		t.Fatalf("after the caller changed its slice, Get = %q; want %q", kv.Value, "original")
	}
	copy(kv.Value, "MUTATED!")
	if kv := get(t, s, "v/alias"); string(kv.Value) != "original" {
		t.Fatalf("after changing a returned value, Get = %q; want %q", kv.Value, "original")
	}
}

func testRevisions(t *testing.T, s store.Store) {
	r0 := revision(t, s)

	ra := put(t, s, "r/a", "1")
	if ra != r0+1 {
		t.Fatalf("first commit at revision %d; want %d", ra, r0+1)
	}
	// Several ops in one transaction are one revision.
	rb := commit(t, s, store.Txn{Ops: []store.Op{{Key: "r/b", Value: []byte("1")}, {Key: "r/c", Value: []byte("1")}}})
	if rb != ra+1 {
		t.Fatalf("second commit at revision %d; want %d", rb, ra+1)
	}
	// A transaction that only checks conditions still commits one revision.
	rc := commit(t, s, store.Txn{Conds: []store.Cond{{Key: "r/a", Revision: ra}}})
	if rc != rb+1 {
		t.Fatalf("condition-only commit at revision %d; want %d", rc, rb+1)
	}
	// So does one whose only op deletes nothing.
	rd := del(t, s, "r/absent")
	if rd != rc+1 {
		t.Fatalf("no-op delete committed at revision %d; want %d", rd, rc+1)
	}
	if got := revision(t, s); got != rd {
		t.Fatalf("Revision() = %d; want %d", got, rd)
	}

	// Each key keeps the revision of its own last write.
	wantKV(t, s, "r/a", "1", ra)
	wantKV(t, s, "r/b", "1", rb)
	wantKV(t, s, "r/c", "1", rb)

	// A failed commit does not advance the revision.
	_, err := s.Commit(t.Context(), store.Txn{Conds: []store.Cond{{Key: "r/a", Revision: 0}}})
	if !store.IsConflict(err) {
		t.Fatalf("Commit with a false condition = %v; want a conflict", err)
	}
	if got := revision(t, s); got != rd {
		t.Fatalf("Revision() after a conflict = %d; want %d", got, rd)
	}
}

func testConditions(t *testing.T, s store.Store) {
	rx := put(t, s, "c/x", "x")
	ry := put(t, s, "c/y", "y")
	rz := put(t, s, "c/z", "z")
	del(t, s, "c/z")

	cases := []struct {
		name  string
		conds []store.Cond
		// want is nil when the commit must succeed.
		want *store.ConflictError
	}{
		{"absent key, want absent", []store.Cond{{Key: "c/none", Revision: 0}}, nil},
		{"present key, want absent", []store.Cond{{Key: "c/x", Revision: 0}}, &store.ConflictError{Key: "c/x", Want: 0, Actual: rx}},
		{"present key at its revision", []store.Cond{{Key: "c/x", Revision: rx}}, nil},
		{"present key at an older revision", []store.Cond{{Key: "c/y", Revision: rx}}, &store.ConflictError{Key: "c/y", Want: rx, Actual: ry}},
		{"present key at a future revision", []store.Cond{{Key: "c/y", Revision: ry + 100}}, &store.ConflictError{Key: "c/y", Want: ry + 100, Actual: ry}},
		{"absent key at a revision", []store.Cond{{Key: "c/none", Revision: rx}}, &store.ConflictError{Key: "c/none", Want: rx, Actual: 0}},
		{"deleted key at its old revision", []store.Cond{{Key: "c/z", Revision: rz}}, &store.ConflictError{Key: "c/z", Want: rz, Actual: 0}},
		{"deleted key, want absent", []store.Cond{{Key: "c/z", Revision: 0}}, nil},
		{"all hold", []store.Cond{{Key: "c/x", Revision: rx}, {Key: "c/y", Revision: ry}, {Key: "c/z"}}, nil},
		{"second fails", []store.Cond{{Key: "c/x", Revision: rx}, {Key: "c/y", Revision: rx}}, &store.ConflictError{Key: "c/y", Want: rx, Actual: ry}},
		{"same key twice, one fails", []store.Cond{{Key: "c/x", Revision: rx}, {Key: "c/x", Revision: 0}}, &store.ConflictError{Key: "c/x", Want: 0, Actual: rx}},
	}
	for _, c := range cases {
		before := revision(t, s)
		rev, err := s.Commit(t.Context(), store.Txn{
			Conds: c.conds,
			Ops:   []store.Op{{Key: "c/marker", Value: []byte(c.name)}},
		})
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: Commit = %v; want success", c.name, err)
			} else if rev != before+1 {
				t.Errorf("%s: Commit at revision %d; want %d", c.name, rev, before+1)
			}
			continue
		}
		var ce *store.ConflictError
		if !errors.As(err, &ce) {
			t.Errorf("%s: Commit = %d, %v; want %v", c.name, rev, err, c.want)
			continue
		}
		if *ce != *c.want {
			t.Errorf("%s: conflict = %+v; want %+v", c.name, *ce, *c.want)
		}
		if !store.IsConflict(err) {
			t.Errorf("%s: IsConflict(%v) = false", c.name, err)
		}
		if kv, err := s.Get(t.Context(), "c/marker"); err == nil && string(kv.Value) == c.name {
			t.Errorf("%s: the op of a failed transaction was applied", c.name)
		}
	}
}

func testConflictAppliesNothing(t *testing.T, s store.Store) {
	rKeep := put(t, s, "n/keep", "keep")
	rGone := put(t, s, "n/doomed", "still here")
	before := revision(t, s)

	_, err := s.Commit(t.Context(), store.Txn{
		Conds: []store.Cond{{Key: "n/keep", Revision: rKeep}, {Key: "n/doomed", Revision: 0}},
		Ops: []store.Op{
			{Key: "n/keep", Value: []byte("changed")},
			{Key: "n/new", Value: []byte("new")},
			{Key: "n/doomed", Delete: true},
		},
	})
	if !store.IsConflict(err) {
		t.Fatalf("Commit = %v; want a conflict", err)
	}
	wantKV(t, s, "n/keep", "keep", rKeep)
	wantKV(t, s, "n/doomed", "still here", rGone)
	wantAbsent(t, s, "n/new")
	if got := revision(t, s); got != before {
		t.Fatalf("Revision() = %d after a conflict; want %d", got, before)
	}
	// Nor may a watcher hear of it: the next event is the next real commit.
	ch := watch(t, s, "n/", before)
	r := put(t, s, "n/after", "after")
	wantEvent(t, next(t, ch), store.EventPut, "n/after", "after", r)
}

func testMultiOpAtomic(t *testing.T, s store.Store) {
	put(t, s, "m/old", "old")
	rev := commit(t, s, store.Txn{Ops: []store.Op{
		{Key: "m/a", Value: []byte("a")},
		{Key: "m/b", Value: []byte("b")},
		{Key: "m/old", Delete: true},
		{Key: "m/c", Value: []byte("c")},
	}})
	for _, k := range []string{"m/a", "m/b", "m/c"} {
		wantKV(t, s, k, k[2:], rev)
	}
	wantAbsent(t, s, "m/old")

	kvs, listRev, err := s.List(t.Context(), "m/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != 3 || listRev != rev {
		t.Fatalf("List(m/) = %d keys at revision %d; want 3 at %d", len(kvs), listRev, rev)
	}
}

// testSnapshotsSeeWholeTxns races readers against a writer that always
// writes two keys together; no List may see one without the other.
func testSnapshotsSeeWholeTxns(t *testing.T, s store.Store) {
	const commits = 60
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				kvs, rev, err := s.List(ctx, "pair/", store.ListOptions{})
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("List: %w", err)
					}
					return
				}
				if len(kvs) == 0 {
					continue
				}
				if len(kvs) != 2 || string(kvs[0].Value) != string(kvs[1].Value) ||
					kvs[0].Revision != kvs[1].Revision || kvs[0].Revision > rev {
					errs <- fmt.Errorf("List at revision %d saw a partial transaction: %+v", rev, kvs)
					return
				}
			}
		}()
	}
	for i := range commits {
		v := []byte(fmt.Sprint(i))
		commit(t, s, store.Txn{Ops: []store.Op{{Key: "pair/a", Value: v}, {Key: "pair/b", Value: v}}})
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testListOrderAndPrefix(t *testing.T, s store.Store) {
	// Written out of order; bytewise order puts "a/10" before "a/2" and the
	// high byte last.
	keys := []string{"a/2", "b", "a/10", "a", "a0", "a/\xff", "a/", "a/1", "ab/1"}
	revs := map[string]int64{}
	for _, k := range keys {
		revs[k] = put(t, s, k, "v"+k)
	}
	head := revision(t, s)

	cases := []struct {
		prefix string
		want   []string
	}{
		{"a/", []string{"a/", "a/1", "a/10", "a/2", "a/\xff"}},
		{"a", []string{"a", "a/", "a/1", "a/10", "a/2", "a/\xff", "a0", "ab/1"}},
		{"", []string{"a", "a/", "a/1", "a/10", "a/2", "a/\xff", "a0", "ab/1", "b"}},
		{"a/1", []string{"a/1", "a/10"}},
		{"c", nil},
		{"a/3", nil},
	}
	for _, c := range cases {
		kvs, rev, err := s.List(t.Context(), c.prefix, store.ListOptions{})
		if err != nil {
			t.Fatalf("List(%q) = %v", c.prefix, err)
		}
		if rev != head {
			t.Errorf("List(%q) revision = %d; want %d", c.prefix, rev, head)
		}
		if got := keysOf(kvs); !slices.Equal(got, c.want) {
			t.Errorf("List(%q) = %q; want %q", c.prefix, got, c.want)
		}
		for _, kv := range kvs {
			if string(kv.Value) != "v"+kv.Key || kv.Revision != revs[kv.Key] {
				t.Errorf("List(%q) entry %q = %q rev %d; want %q rev %d", c.prefix, kv.Key, kv.Value, kv.Revision, "v"+kv.Key, revs[kv.Key])
			}
		}
	}

	// The snapshot revision follows commits, also when nothing matches.
	r := put(t, s, "z", "z")
	if _, rev, err := s.List(t.Context(), "nothing/", store.ListOptions{}); err != nil || rev != r {
		t.Fatalf("List(nothing/) revision = %d, %v; want %d", rev, err, r)
	}
}

func testListPaging(t *testing.T, s store.Store) {
	var all []string
	for i := range 7 {
		k := fmt.Sprintf("p/%02d", i)
		put(t, s, k, k)
		all = append(all, k)
	}
	put(t, s, "p0", "outside")
	put(t, s, "o", "outside")

	cases := []struct {
		name string
		opts store.ListOptions
		want []string
	}{
		{"limit", store.ListOptions{Limit: 3}, all[:3]},
		{"limit above count", store.ListOptions{Limit: 100}, all},
		{"after existing key", store.ListOptions{After: "p/02"}, all[3:]},
		{"after missing key", store.ListOptions{After: "p/025"}, all[3:]},
		{"after and limit", store.ListOptions{After: "p/02", Limit: 2}, all[3:5]},
		{"after last", store.ListOptions{After: "p/06"}, nil},
		{"after before prefix", store.ListOptions{After: "o"}, all},
		{"after past prefix", store.ListOptions{After: "p0"}, nil},
	}
	for _, c := range cases {
		kvs, _, err := s.List(t.Context(), "p/", c.opts)
		if err != nil {
			t.Fatalf("%s: List = %v", c.name, err)
		}
		if got := keysOf(kvs); !slices.Equal(got, c.want) {
			t.Errorf("%s: List(p/, %+v) = %q; want %q", c.name, c.opts, got, c.want)
		}
	}

	// Paging by After walks every key exactly once.
	var got []string
	after := ""
	for range len(all) + 2 {
		kvs, _, err := s.List(t.Context(), "p/", store.ListOptions{After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) == 0 {
			break
		}
		got = append(got, keysOf(kvs)...)
		after = kvs[len(kvs)-1].Key
	}
	if !slices.Equal(got, all) {
		t.Fatalf("paging collected %q; want %q", got, all)
	}
}

func testBadInput(t *testing.T, s store.Store) {
	put(t, s, "bad/x", "x")
	before := revision(t, s)
	ctx := t.Context()

	txns := []struct {
		name string
		txn  store.Txn
	}{
		{"empty op key", store.Txn{Ops: []store.Op{{Key: "bad/y", Value: []byte("y")}, {Key: "", Value: []byte("v")}}}},
		{"empty delete key", store.Txn{Ops: []store.Op{{Key: "", Delete: true}}}},
		{"empty condition key", store.Txn{Conds: []store.Cond{{Key: ""}}, Ops: []store.Op{{Key: "bad/y", Value: []byte("y")}}}},
		{"negative condition revision", store.Txn{Conds: []store.Cond{{Key: "bad/x", Revision: -1}}, Ops: []store.Op{{Key: "bad/y", Value: []byte("y")}}}},
		{"same key in two ops", store.Txn{Ops: []store.Op{{Key: "bad/y", Value: []byte("1")}, {Key: "bad/y", Delete: true}}}},
	}
	for _, c := range txns {
		_, err := s.Commit(ctx, c.txn)
		if err == nil || store.IsConflict(err) {
			t.Errorf("%s: Commit = %v; want an error that is not a conflict", c.name, err)
		}
	}
	if _, err := s.Get(ctx, ""); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(\"\") = %v; want an error other than ErrNotFound", err)
	}
	if _, _, err := s.List(ctx, "bad/", store.ListOptions{Limit: -1}); err == nil {
		t.Error("List with Limit -1 succeeded; want an error")
	}
	if _, err := s.Watch(ctx, "bad/", -1); err == nil {
		t.Error("Watch from revision -1 succeeded; want an error")
	}

	if got := revision(t, s); got != before {
		t.Fatalf("Revision() = %d after rejected input; want %d", got, before)
	}
	wantAbsent(t, s, "bad/y")
}

func testCanceledContext(t *testing.T, s store.Store) {
	put(t, s, "ctx/a", "a")
	before := revision(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	// Repeated because a backend that races the context against its queue
	// would let some through by chance.
	for range 20 {
		if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "ctx/b", Value: []byte("b")}}}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Commit with a canceled context = %v; want context.Canceled", err)
		}
	}
	if _, err := s.Get(ctx, "ctx/a"); err == nil {
		t.Error("Get with a canceled context succeeded")
	}
	if _, _, err := s.List(ctx, "ctx/", store.ListOptions{}); err == nil {
		t.Error("List with a canceled context succeeded")
	}
	if ch, err := s.Watch(ctx, "ctx/", 0); err == nil {
		// Acceptable only if the watch ends at once.
		waitClosed(t, ch)
	}
	if got := revision(t, s); got != before {
		t.Fatalf("Revision() = %d; want %d: a canceled commit was applied", got, before)
	}
	wantAbsent(t, s, "ctx/b")
}

func testClosed(t *testing.T, s store.Store) {
	put(t, s, "cl/a", "a")
	ch := watch(t, s, "cl/", revision(t, s))
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	waitClosed(t, ch)

	ctx := t.Context()
	checks := map[string]error{}
	_, checks["Get"] = s.Get(ctx, "cl/a")
	_, _, checks["List"] = s.List(ctx, "cl/", store.ListOptions{})
	_, checks["Commit"] = s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "cl/b", Value: []byte("b")}}})
	_, checks["Watch"] = s.Watch(ctx, "cl/", 0)
	_, checks["Revision"] = s.Revision(ctx)
	checks["Close"] = s.Close()
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v; want ErrClosed", name, err)
		}
	}
}

func keysOf(kvs []store.KV) []string {
	var keys []string
	for _, kv := range kvs {
		keys = append(keys, kv.Key)
	}
	return keys
}
