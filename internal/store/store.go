// Package store is Wharf's state contract: a small, ordered key-value store with
// revisions, conditional transactions and watches. Every resource above it is a
// JSON document under a key. Backends (bolt/, later etcd/) pass one conformance
// suite (storetest/); no backend-specific code lives above this package.
package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned by Get for a key that does not exist.
var ErrNotFound = errors.New("store: key not found")

// ErrCompacted is returned by Watch when the requested revision is older than
// the history the backend still keeps. The watcher must re-list and watch again.
var ErrCompacted = errors.New("store: revision compacted")

// ErrClosed is returned by every call after Close.
var ErrClosed = errors.New("store: closed")

// ConflictError reports that a transaction's condition did not hold, so nothing
// of it was applied. Key names the first condition that failed.
type ConflictError struct {
	Key    string
	Want   int64 // the revision the condition asked for (0: absent)
	Actual int64 // the key's modification revision now (0: absent)
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: conflict on %q: want revision %d, have %d", e.Key, e.Want, e.Actual)
}

// IsConflict reports whether err is (or wraps) a *ConflictError.
func IsConflict(err error) bool {
	var c *ConflictError
	return errors.As(err, &c)
}

// KV is one stored key with its value and the revision that last modified it.
type KV struct {
	Key      string
	Value    []byte
	Revision int64 // modification revision: the store revision of the last write
}

// Cond is a transaction precondition on one key.
// Revision 0 means "the key must not exist"; N > 0 means "the key's
// modification revision must be exactly N".
type Cond struct {
	Key      string
	Revision int64
}

// Op is one write in a transaction: a put of Value, or a delete when Delete is
// set (deleting an absent key is not an error and produces no watch event).
// A key may appear in at most one Op of a transaction, as in etcd.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// Txn is applied atomically: if every condition holds, every op is applied and
// the store revision advances by exactly one; otherwise nothing changes and
// Commit returns a *ConflictError.
type Txn struct {
	Conds []Cond
	Ops   []Op
}

// ListOptions narrows a List.
type ListOptions struct {
	// After, when set, starts the listing strictly after this key (for pagination).
	After string
	// Limit bounds the number of KVs returned; 0 means no limit.
	Limit int
}

// EventType says what happened to a key.
type EventType int

const (
	EventPut EventType = iota + 1
	EventDelete
)

func (t EventType) String() string {
	switch t {
	case EventPut:
		return "PUT"
	case EventDelete:
		return "DELETE"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one change seen by a watch. For a delete, KV.Value is nil and
// KV.Revision is the revision of the deleting transaction. A backend may
// share an event's Value between watchers: treat it as read-only.
type Event struct {
	Type EventType
	KV   KV
	// Last marks the last event of its revision that the watch delivers:
	// a watch delivers a revision's events together, and a consumer that
	// has applied the one marked Last has all of that revision under its
	// prefix. One transaction can change many keys (a RunTask places ten
	// tasks at once); a view that claimed a revision after its first event
	// would answer readers with half of it.
	Last bool
}

// MultiGetter is implemented by backends that read several keys in one
// consistent read: one read transaction, one round trip. GetMany returns
// one KV per key, in order; a key that is absent has a zero KV (nil Value,
// Revision 0) rather than an error.
type MultiGetter interface {
	GetMany(ctx context.Context, keys []string) ([]KV, error)
}

// GetMany reads the keys with st's GetMany where it has one, else one Get
// each. Results are as MultiGetter's.
func GetMany(ctx context.Context, st Store, keys []string) ([]KV, error) {
	if mg, ok := st.(MultiGetter); ok {
		return mg.GetMany(ctx, keys)
	}
	out := make([]KV, len(keys))
	for i, k := range keys {
		kv, err := st.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = kv
	}
	return out, nil
}

// Store is the contract every backend implements. Keys are ordered bytewise.
// All methods are safe for concurrent use.
//
// Bad input (an empty key, a negative revision or Limit, one key in two Ops)
// returns an error that is not a *ConflictError and changes nothing.
type Store interface {
	// Get returns the key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns the keys with the prefix in ascending order, and the store
	// revision the listing reflects (a consistent snapshot).
	List(ctx context.Context, prefix string, opts ListOptions) ([]KV, int64, error)
	// Commit applies the transaction atomically and durably (it is on disk when
	// Commit returns nil) and returns the new store revision.
	Commit(ctx context.Context, txn Txn) (int64, error)
	// Watch streams every change to keys with the prefix whose revision is
	// greater than fromRev, in revision order, starting with history still kept
	// and continuing live. Pass the revision a List returned to follow on from
	// that listing; 0 asks for all history. The channel is closed when ctx ends or the store
	// closes; a watcher too slow to keep up has its channel closed too and must
	// re-list. It returns ErrCompacted if fromRev is older than kept history.
	Watch(ctx context.Context, prefix string, fromRev int64) (<-chan Event, error)
	// Revision returns the current store revision.
	Revision(ctx context.Context) (int64, error)
	// Close releases the backend. Pending watches end.
	Close() error
}
