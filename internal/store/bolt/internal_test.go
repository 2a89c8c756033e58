package bolt

import (
	"context"
	"errors"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/wharf-ecs/wharf/internal/store"
)

// A transaction that fails for a reason of its own (here a corrupt record)
// must fail alone: the rest of its batch is committed.
func TestBatchSurvivesOneBrokenTxn(t *testing.T) {
	s := openTemp(t)
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketKV).Put([]byte("broken"), []byte{1, 2})
	}); err != nil {
		t.Fatal(err)
	}

	// Build the batch by hand so that all three share one bbolt transaction.
	batch := []*commitReq{
		{txn: store.Txn{Ops: []store.Op{{Key: "a", Value: []byte("a")}}}, done: make(chan commitResult, 1)},
		{txn: store.Txn{Conds: []store.Cond{{Key: "broken", Revision: 1}}, Ops: []store.Op{{Key: "b", Value: []byte("b")}}}, done: make(chan commitResult, 1)},
		{txn: store.Txn{Ops: []store.Op{{Key: "c", Value: []byte("c")}}}, done: make(chan commitResult, 1)},
	}
	// No Commit is running, so the writer goroutine sits idle and this test
	// may stand in for it.
	s.commitBatch(batch)

	var got []commitResult
	for _, r := range batch {
		got = append(got, <-r.done)
	}
	if got[0].err != nil || got[0].rev != 1 || got[2].err != nil || got[2].rev != 2 {
		t.Fatalf("healthy txns: %+v, %+v; want revisions 1 and 2", got[0], got[2])
	}
	if got[1].err == nil || store.IsConflict(got[1].err) || !errors.Is(got[1].err, errCorrupt) {
		t.Fatalf("broken txn: %+v; want a corruption error", got[1])
	}
	for key, want := range map[string]bool{"a": true, "b": false, "c": true} {
		_, err := s.Get(context.Background(), key)
		if (err == nil) != want {
			t.Errorf("Get(%q) = %v; want present=%v", key, err, want)
		}
	}
}
