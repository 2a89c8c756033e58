// Package leader decides which of several Wharf servers on one store runs
// the single-writer loops (the liveness, service and retention
// controllers). Every server serves the API; one leads.
//
// A server alone (bbolt) always leads. Servers on etcd campaign with an
// etcd lease: the candidate whose key is oldest leads, and its lease ends
// when it dies or is cut off from etcd, which lets the next one lead.
package leader

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Elector runs the leader-only work whenever this server leads.
type Elector interface {
	// Run calls lead each time this server becomes leader, with a context
	// that ends as soon as leadership is lost, and waits for lead to return
	// before campaigning again. Run returns once ctx has ended and lead has
	// returned.
	Run(ctx context.Context, lead func(ctx context.Context))
}

// Always is the elector of a server alone: it leads from start to end.
type Always struct{}

// Run calls lead once, for as long as ctx lasts.
func (Always) Run(ctx context.Context, lead func(ctx context.Context)) { lead(ctx) }

// ErrNotLeader is returned by a fenced store's Commit when this server does
// not lead (any more).
var ErrNotLeader = errors.New("leader: this server is not the leader")

// Fence makes a leader's writes conditional on its leadership: a Fenced
// store's every commit also requires the leader key to be at the
// revision at which this server won. When the lease ends, etcd deletes the
// key, and no commit of the old leader can land after that, however late
// it arrives: a cut-off leader that has not noticed yet is harmless.
type Fence struct {
	cond atomic.Pointer[store.Cond]
}

// set arms the fence with this term's leader key, or disarms it (nil):
// commits fail with ErrNotLeader until the next term.
func (f *Fence) set(c *store.Cond) { f.cond.Store(c) }

// Cond is the condition a leader's write must carry this term, or
// ErrNotLeader between terms: for writes made through another path than
// Store (the placement worker's batches).
func (f *Fence) Cond() (store.Cond, error) {
	c := f.cond.Load()
	if c == nil {
		return store.Cond{}, ErrNotLeader
	}
	return *c, nil
}

// Store wraps st so that its commits carry the fence's condition. Reads
// and watches pass through.
func (f *Fence) Store(st store.Store) store.Store { return &fenced{Store: st, fence: f} }

type fenced struct {
	store.Store
	fence *Fence
}

var _ store.MultiGetter = (*fenced)(nil)

// GetMany reads through, in one read where the store can.
func (s *fenced) GetMany(ctx context.Context, keys []string) ([]store.KV, error) {
	return store.GetMany(ctx, s.Store, keys)
}

func (s *fenced) Commit(ctx context.Context, txn store.Txn) (int64, error) {
	c := s.fence.cond.Load()
	if c == nil {
		return 0, ErrNotLeader
	}
	txn.Conds = append(slices.Clip(txn.Conds), *c)
	rev, err := s.Store.Commit(ctx, txn)
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Key == c.Key {
		// Not a conflict to retry: the term is over.
		return 0, fmt.Errorf("%w: leader key %s is gone", ErrNotLeader, c.Key)
	}
	return rev, err
}
