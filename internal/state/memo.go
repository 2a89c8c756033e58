package state

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/wharf-ecs/wharf/internal/store"
)

// A Memo shares decoded documents among the readers of one change. Several
// followers of the store (the placer's instance cache, utilization metrics,
// the service discovery registrar) each see every rewrite of a container
// instance or task; decoding a 4 KB instance document once per follower
// was a third of the CPU of a RunTask burst. The writer that made a document
// can hand over the value it encoded (Remember), and the first follower to
// decode a change shares its result with the others (Decode).
//
// Values handed out are shared: callers must not modify them.
//
// Entries are keyed by store key and a hash of the document's bytes: the
// same bytes decode to the same value whatever their revision, so a writer
// can remember a document before its commit, and a memo shared by several
// stores in one process (tests, replicas) never confuses two of them. It
// holds the last size entries.
type Memo[T any] struct {
	// share, if set, lets values share parts with values decoded before.
	share func(*T)

	mu      sync.Mutex
	entries map[memoKey]*T
	ring    []memoKey
	next    int
}

type memoKey struct {
	key string
	sum uint64
}

// The documents decoded by more than one follower.
var (
	Instances = func() *Memo[ContainerInstance] {
		m := NewMemo[ContainerInstance](1024)
		m.share = shareAttributes
		return m
	}()
	Tasks = NewMemo[Task](4096)
)

var memoSeed = maphash.MakeSeed()

// NewMemo returns a memo of the last size documents.
func NewMemo[T any](size int) *Memo[T] {
	return &Memo[T]{entries: make(map[memoKey]*T, size), ring: make([]memoKey, size)}
}

// Decode returns the value of kv's document: the one remembered for it, or
// a fresh decoding, remembered for the next reader.
func (m *Memo[T]) Decode(kv store.KV) (*T, error) {
	k := memoKey{kv.Key, maphash.Bytes(memoSeed, kv.Value)}
	m.mu.Lock()
	v, ok := m.entries[k]
	m.mu.Unlock()
	if ok {
		return v, nil
	}
	v = new(T)
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return nil, err
	}
	if m.share != nil {
		m.share(v)
	}
	m.put(k, v)
	return v, nil
}

// Peek returns the value remembered for kv's document, or nil: for a reader
// that has a cheaper decoding of its own for the rest (a few members).
func (m *Memo[T]) Peek(kv store.KV) *T {
	k := memoKey{kv.Key, maphash.Bytes(memoSeed, kv.Value)}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entries[k]
}

// Get reads key from the store and decodes it through the memo: the value is
// shared, for reading only.
func (m *Memo[T]) Get(ctx context.Context, st store.Store, key string) (*T, int64, error) {
	kv, err := st.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	v, err := m.Decode(kv)
	if err != nil {
		return nil, 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, kv.Revision, nil
}

// Remember records that doc, written at key, encodes v, which must not
// change from now on.
func (m *Memo[T]) Remember(key string, doc []byte, v *T) {
	if m.share != nil {
		m.share(v)
	}
	m.put(memoKey{key, maphash.Bytes(memoSeed, doc)}, v)
}

func (m *Memo[T]) put(k memoKey, v *T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[k]; ok {
		return
	}
	if old := m.ring[m.next]; old.key != "" {
		delete(m.entries, old)
	}
	m.ring[m.next] = k
	m.next = (m.next + 1) % len(m.ring)
	m.entries[k] = v
}
