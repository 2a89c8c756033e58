package etcd

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Commit is one etcd Txn: If every condition's mod revision compare holds,
// Then the ops; Else read the condition keys, in the same atomic step, so
// that the conflict names the revision that beat us.
//
// Every successful commit also puts the revision key. The contract says a
// commit advances the revision by exactly one even when it changes nothing
// (a condition-only commit, a delete of an absent key), and etcd advances
// it only for a write; one extra put makes both true at once. Watches do
// not see it: they cover <prefix>kv/ only.
//
// As with any network store, an error other than a conflict (a timeout, a
// lost connection) leaves the outcome unknown: the commit may have been
// applied. Success is always the truth.
func (s *Store) Commit(ctx context.Context, txn store.Txn) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	if err := validateTxn(txn); err != nil {
		return 0, err
	}
	cmps := make([]clientv3.Cmp, 0, len(txn.Conds))
	reads := make([]clientv3.Op, 0, len(txn.Conds))
	for _, c := range txn.Conds {
		k := s.kvPrefix + c.Key
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", c.Revision))
		reads = append(reads, clientv3.OpGet(k, clientv3.WithKeysOnly()))
	}
	ops := make([]clientv3.Op, 0, len(txn.Ops)+1)
	for _, op := range txn.Ops {
		k := s.kvPrefix + op.Key
		if op.Delete {
			ops = append(ops, clientv3.OpDelete(k))
		} else {
			ops = append(ops, clientv3.OpPut(k, string(op.Value)))
		}
	}
	ops = append(ops, clientv3.OpPut(s.revKey, ""))

	cctx, cancel := s.bound(ctx)
	defer cancel()
	resp, err := s.cli.Txn(cctx).If(cmps...).Then(ops...).Else(reads...).Commit()
	if err != nil {
		return 0, s.wrap(ctx, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	for i, c := range txn.Conds {
		var actual int64
		if kvs := resp.Responses[i].GetResponseRange().GetKvs(); len(kvs) > 0 {
			actual = kvs[0].ModRevision
		}
		if actual != c.Revision {
			return 0, &store.ConflictError{Key: c.Key, Want: c.Revision, Actual: actual}
		}
	}
	// Unreachable unless etcd and this code disagree on a compare.
	return 0, fmt.Errorf("etcd: transaction refused though every condition holds at revision %d", resp.Header.Revision)
}

// validateTxn rejects what etcd would refuse with a less helpful message
// (empty keys, one key in two ops) and what it cannot express (a negative
// revision), so that both backends answer bad input alike.
func validateTxn(txn store.Txn) error {
	for _, c := range txn.Conds {
		if c.Key == "" {
			return fmt.Errorf("condition: %w", errEmptyKey)
		}
		if c.Revision < 0 {
			return fmt.Errorf("etcd: condition on %q: negative revision %d", c.Key, c.Revision)
		}
	}
	seen := make(map[string]struct{}, len(txn.Ops))
	for _, op := range txn.Ops {
		if op.Key == "" {
			return fmt.Errorf("op: %w", errEmptyKey)
		}
		if _, dup := seen[op.Key]; dup {
			return fmt.Errorf("etcd: key %q appears in more than one op", op.Key)
		}
		seen[op.Key] = struct{}{}
	}
	return nil
}
