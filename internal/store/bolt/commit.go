package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/wharf-ecs/wharf/internal/store"
)

// maxBatch bounds how many transactions share one bbolt transaction, so
// that one batch cannot grow without limit under a flood of commits.
const maxBatch = 1024

type commitReq struct {
	txn  store.Txn
	done chan commitResult // buffered: the writer never waits for a caller
}

type commitResult struct {
	rev int64
	err error
}

// Commit hands the transaction to the writer goroutine and waits for its
// batch to be on disk.
//
// ctx is honoured only until the writer has taken the transaction: after
// that the outcome is decided by the batch's fsync, and returning early
// could claim "not applied" for a write that is in fact durable. The wait
// after hand-off is one batch commit.
func (s *Store) Commit(ctx context.Context, txn store.Txn) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	if err := validateTxn(txn); err != nil {
		return 0, err
	}
	req := &commitReq{txn: txn, done: make(chan commitResult, 1)}
	// reqs is unbuffered, so a successful send is exactly the moment the
	// writer takes ownership; until then the caller can still walk away.
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-s.closing:
		return 0, store.ErrClosed
	}
	res := <-req.done
	return res.rev, res.err
}

// run is the writer goroutine: it owns s.rev and is the only caller of
// db.Begin(true) apart from Compact.
func (s *Store) run() {
	defer close(s.writerDone)
	batch := make([]*commitReq, 0, maxBatch)
	for {
		select {
		case req := <-s.reqs:
			batch = s.gather(append(batch[:0], req))
			s.commitBatch(batch)
		case <-s.closing:
			// Serve the commits already waiting rather than fail them; a
			// Commit that finds no writer here gets ErrClosed from its own
			// select, as reqs is unbuffered.
			for {
				batch = s.gather(batch[:0])
				if len(batch) == 0 {
					return
				}
				s.commitBatch(batch)
			}
		}
	}
}

// gather adds every commit already waiting, without blocking: the batch is
// whatever piled up while the previous fsync ran.
func (s *Store) gather(batch []*commitReq) []*commitReq {
	for len(batch) < maxBatch {
		select {
		case req := <-s.reqs:
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}

// commitBatch applies and commits the batch, answers every caller and
// publishes the events.
func (s *Store) commitBatch(batch []*commitReq) {
	for len(batch) > 0 {
		out, err := s.apply(batch)
		var bad *txnError
		if errors.As(err, &bad) {
			// One transaction broke mid-way and the bbolt transaction was
			// rolled back with it; the others deserve another try without it.
			batch[bad.index].done <- commitResult{err: fmt.Errorf("bolt: commit: %w", bad.err)}
			batch = append(batch[:bad.index:bad.index], batch[bad.index+1:]...)
			continue
		}
		if err != nil {
			s.log.Error("store batch failed to commit", "txns", len(batch), "err", err)
			for _, req := range batch {
				req.done <- commitResult{err: fmt.Errorf("bolt: commit: %w", err)}
			}
			return
		}
		s.rev = out.rev
		if err := s.comp.makeDicts(s.db); err != nil {
			s.log.Warn("store could not make a compression dictionary; values stay uncompressed until one is made from further samples", "err", err)
		}
		// Publish before answering so that when Commit returns, every watch
		// that was open already has the events queued.
		s.hub.publish(out.events)
		for i, req := range batch {
			req.done <- out.results[i]
		}
		return
	}
}

// txnError marks a failure that belongs to one transaction of the batch.
type txnError struct {
	index int
	err   error
}

func (e *txnError) Error() string { return e.err.Error() }

type batchOutcome struct {
	rev     int64
	results []commitResult
	events  []store.Event
}

// apply runs the batch in one bbolt transaction. Each txn's conditions are
// checked against the state left by the txns before it, so a conflict only
// skips that txn. Nothing is committed if no txn succeeded, since then
// nothing changed.
func (s *Store) apply(batch []*commitReq) (batchOutcome, error) {
	tx, err := s.db.Begin(true)
	if err != nil {
		return batchOutcome{}, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()

	meta, kv, logb := tx.Bucket(bucketMeta), tx.Bucket(bucketKV), tx.Bucket(bucketLog)
	out := batchOutcome{rev: s.rev, results: make([]commitResult, len(batch))}
	var record []byte
	var added int64 // bytes of log records written
	for i, req := range batch {
		conflict, err := checkConds(kv, req.txn.Conds)
		if err != nil {
			return batchOutcome{}, &txnError{index: i, err: err}
		}
		if conflict != nil {
			out.results[i].err = conflict
			continue
		}
		rev := out.rev + 1
		first := len(out.events)
		if out.events, record, err = s.applyOps(kv, rev, req.txn.Ops, out.events, record[:0]); err != nil {
			return batchOutcome{}, &txnError{index: i, err: err}
		}
		if len(out.events) > first {
			// bbolt holds on to the value until commit, so each record
			// needs its own buffer.
			if err := logb.Put(encodeRev(rev), append([]byte(nil), record...)); err != nil {
				return batchOutcome{}, &txnError{index: i, err: err}
			}
			added += int64(len(record))
		}
		out.rev = rev
		out.results[i].rev = rev
	}
	if out.rev == s.rev {
		return out, nil
	}
	if err := meta.Put(keyRev, encodeRev(out.rev)); err != nil {
		return batchOutcome{}, err
	}
	freed, err := trimLog(meta, logb, out.rev-s.history, s.logBytes.Load()+added, s.historyMax)
	if err != nil {
		return batchOutcome{}, err
	}
	if err := tx.Commit(); err != nil {
		return batchOutcome{}, err
	}
	committed = true
	s.logBytes.Add(added - freed)
	return out, nil
}

func checkConds(kv *bbolt.Bucket, conds []store.Cond) (*store.ConflictError, error) {
	for _, c := range conds {
		var actual int64
		if v := kv.Get([]byte(c.Key)); v != nil {
			var err error
			if actual, _, _, err = decodeValue(v); err != nil {
				return nil, fmt.Errorf("key %q: %w", c.Key, err)
			}
		}
		if actual != c.Revision {
			return &store.ConflictError{Key: c.Key, Want: c.Revision, Actual: actual}, nil
		}
	}
	return nil, nil
}

// applyOps writes the ops at rev, appends their events, and appends them
// to the revision's log record as they are stored. Deleting an absent key
// changes nothing and so yields no event, as in etcd.
func (s *Store) applyOps(kv *bbolt.Bucket, rev int64, ops []store.Op, events []store.Event, record []byte) ([]store.Event, []byte, error) {
	for _, op := range ops {
		key := []byte(op.Key)
		if op.Delete {
			if kv.Get(key) == nil {
				continue
			}
			if err := kv.Delete(key); err != nil {
				return events, record, err
			}
			events = append(events, store.Event{Type: store.EventDelete, KV: store.KV{Key: op.Key, Revision: rev}})
			record = appendEvent(record, store.EventDelete, op.Key, false, nil)
			continue
		}
		stored, compressed := s.comp.compress(op.Key, op.Value)
		buf := encodeValue(rev, compressed, stored)
		if err := kv.Put(key, buf); err != nil {
			return events, record, err
		}
		// Watchers get the value as it was given. Uncompressed, the tail
		// of bbolt's buffer is that value in a buffer of its own.
		value := buf[8:]
		if compressed {
			value = bytes.Clone(op.Value)
		}
		events = append(events, store.Event{Type: store.EventPut, KV: store.KV{Key: op.Key, Value: value, Revision: rev}})
		record = appendEvent(record, store.EventPut, op.Key, compressed, stored)
	}
	return events, record, nil
}
