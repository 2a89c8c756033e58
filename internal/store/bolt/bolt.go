// Package bolt is Wharf's embedded store backend: store.Store on one bbolt
// file, the default for a single machine.
//
// Every Commit is durable (fsynced) before it returns. To afford that at
// thousands of commits per second, commits are funnelled to one writer
// goroutine that applies all of the waiting transactions in a single bbolt
// transaction and pays for one fsync per batch. Watch history lives in the
// same file, trimmed to the last Options.History revisions and
// Options.HistoryBytes bytes.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Defaults for the zero Options.
const (
	DefaultHistory      = 100_000
	DefaultHistoryBytes = 32 << 20
	DefaultWatchBuffer  = 10_000
	DefaultLockTimeout  = 10 * time.Second
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// History is how many of the most recent revisions Watch can replay.
	// Older history is dropped as commits arrive, and a Watch from before it
	// returns store.ErrCompacted. Zero means DefaultHistory.
	History int64
	// HistoryBytes bounds the watch history by size as well: the log
	// records every changed value (compressed, as stored), so at thousands
	// of commits a second a count alone lets it grow to gigabytes of file
	// and page cache. The oldest revisions go first. Zero means
	// DefaultHistoryBytes: 32 MiB, some 130,000 changes of tasks.
	HistoryBytes int64
	// WatchBuffer is how many events a watcher may leave undelivered before
	// it counts as too slow and its channel is closed. Zero means
	// DefaultWatchBuffer.
	WatchBuffer int
	// LockTimeout bounds the wait for the file lock when another process
	// holds the file open; bbolt would otherwise wait forever. Zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// Logger hears about the few things an operator should know: a dropped
	// slow watcher, a batch that failed to commit. Nil discards.
	Logger *slog.Logger
}

// Store is a store.Store backed by a bbolt file. Create it with Open.
type Store struct {
	db                  *bbolt.DB
	history, historyMax int64 // revisions, bytes
	log                 *slog.Logger
	// logBytes is the size of the log records kept. Commits and Compact
	// change it only after their bbolt transaction committed; bbolt runs
	// one writing transaction at a time.
	logBytes atomic.Int64

	reqs       chan *commitReq
	closing    chan struct{}
	writerDone chan struct{}
	closed     atomic.Bool

	// rev is the last committed store revision. Only the writer goroutine
	// touches it once Open has returned.
	rev int64

	hub hub

	comp *compressor
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.MultiGetter = (*Store)(nil)
)

// Open opens (creating if needed) the store file at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.History < 0 || opts.HistoryBytes < 0 || opts.WatchBuffer < 0 || opts.LockTimeout < 0 {
		return nil, fmt.Errorf("bolt: negative option in %+v", opts)
	}
	if opts.History == 0 {
		opts.History = DefaultHistory
	}
	if opts.HistoryBytes == 0 {
		opts.HistoryBytes = DefaultHistoryBytes
	}
	if opts.WatchBuffer == 0 {
		opts.WatchBuffer = DefaultWatchBuffer
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: opts.LockTimeout,
		// The hashmap freelist stays fast as the file fragments; the array
		// one degrades badly once the log has been trimmed for a while.
		FreelistType: bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	var rev, logBytes int64
	var comp *compressor
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketKV, bucketLog, bucketDict} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		var f int64 // 0: a new file
		var err error
		if v := meta.Get(keyFormat); v != nil {
			if f, err = decodeRev(v); err != nil {
				return err
			}
		}
		switch f {
		case formatVersion:
		case 0, 1: // new, or the same layout without compression: marked as it is
			if err := meta.Put(keyFormat, encodeRev(formatVersion)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("bolt: file format %d, this build reads %d and older: open it with a newer wharf", f, formatVersion)
		}
		if comp, err = loadCompressor(tx); err != nil {
			return err
		}
		if _, err := readInt(meta, keyCompacted); err != nil {
			return err
		}
		if rev, err = readInt(meta, keyRev); err != nil {
			return err
		}
		return tx.Bucket(bucketLog).ForEach(func(_, v []byte) error {
			logBytes += int64(len(v))
			return nil
		})
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}

	s := &Store{
		db:         db,
		history:    opts.History,
		historyMax: opts.HistoryBytes,
		log:        logger,
		reqs:       make(chan *commitReq),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		rev:        rev,
		comp:       comp,
	}
	s.logBytes.Store(logBytes)
	s.hub.init(opts.WatchBuffer, logger)
	go s.run()
	return s, nil
}

// Close waits for the commits already handed to the writer, ends every
// watch and closes the file.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return store.ErrClosed
	}
	close(s.closing)
	<-s.writerDone
	s.hub.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close: %w", err)
	}
	return nil
}

// Get returns a copy of the stored value; the caller may keep and modify it.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if err := s.usable(ctx); err != nil {
		return store.KV{}, err
	}
	kvs, err := s.GetMany(ctx, []string{key})
	if err != nil {
		return store.KV{}, err
	}
	if kvs[0].Value == nil {
		return store.KV{}, store.ErrNotFound
	}
	return kvs[0], nil
}

// GetMany implements store.MultiGetter with one read transaction.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]store.KV, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	for _, key := range keys {
		if err := checkKey(key); err != nil {
			return nil, err
		}
	}
	out := make([]store.KV, len(keys))
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		for i, key := range keys {
			k := []byte(key)
			v := b.Get(k)
			if v == nil {
				continue
			}
			rev, compressed, val, err := decodeValue(v)
			if err == nil {
				val, err = s.comp.value(k, compressed, val)
			}
			if err != nil {
				return fmt.Errorf("key %q: %w", key, err)
			}
			out[i] = store.KV{Key: key, Value: val, Revision: rev}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	return out, nil
}

// List reads from one bbolt read transaction, so the KVs and the revision
// returned describe the same instant.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.KV, int64, error) {
	if err := s.usable(ctx); err != nil {
		return nil, 0, err
	}
	if opts.Limit < 0 {
		return nil, 0, fmt.Errorf("bolt: negative list limit %d", opts.Limit)
	}
	var (
		kvs []store.KV
		rev int64
	)
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		if rev, err = readInt(tx.Bucket(bucketMeta), keyRev); err != nil {
			return err
		}
		c := tx.Bucket(bucketKV).Cursor()
		var k, v []byte
		if opts.After != "" && opts.After >= prefix {
			k, v = c.Seek([]byte(opts.After))
			if k != nil && string(k) == opts.After {
				k, v = c.Next()
			}
		} else {
			k, v = c.Seek([]byte(prefix))
		}
		for ; k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			mod, compressed, val, err := decodeValue(v)
			if err == nil {
				val, err = s.comp.value(k, compressed, val)
			}
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			kvs = append(kvs, store.KV{Key: string(k), Value: val, Revision: mod})
			if opts.Limit > 0 && len(kvs) == opts.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.wrap(err)
	}
	return kvs, rev, nil
}

// Revision reads the revision from the file rather than from the writer's
// counter so that it never runs ahead of what Get and List can see.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	var rev int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		rev, err = readInt(tx.Bucket(bucketMeta), keyRev)
		return err
	})
	return rev, s.wrap(err)
}

// Compact drops the watch history of every revision up to and including
// rev, ahead of the automatic trimming; Watch from before rev then returns
// store.ErrCompacted. Compacting to a revision already compacted does
// nothing. Keys and their values are not affected.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	var freed int64
	err := s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		cur, err := readInt(meta, keyRev)
		if err != nil {
			return err
		}
		if rev < 0 || rev > cur {
			return fmt.Errorf("bolt: compact to revision %d: current revision is %d", rev, cur)
		}
		freed, err = trimLog(meta, tx.Bucket(bucketLog), rev, s.logBytes.Load(), -1)
		return err
	})
	if err == nil {
		s.logBytes.Add(-freed)
	}
	return s.wrap(err)
}

// trimLog deletes the log records up to and including rev, and then the
// oldest ones while those kept, of logBytes in all, are more than maxBytes
// (negative: no bound), and remembers how far history now reaches back. It
// returns the bytes it deleted.
func trimLog(meta, logb *bbolt.Bucket, rev, logBytes, maxBytes int64) (int64, error) {
	done, err := readInt(meta, keyCompacted)
	if err != nil {
		return 0, err
	}
	// Collect first: deleting under a moving cursor is easy to get wrong.
	var doomed [][]byte
	var freed int64
	cut := done
	c := logb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		r, err := decodeRev(k)
		if err != nil {
			return 0, err
		}
		if r > rev && (maxBytes < 0 || logBytes-freed <= maxBytes) {
			break
		}
		doomed = append(doomed, bytes.Clone(k))
		freed += int64(len(v))
		cut = max(cut, r)
	}
	cut = max(cut, rev)
	if cut <= done {
		return 0, nil
	}
	for _, k := range doomed {
		if err := logb.Delete(k); err != nil {
			return 0, err
		}
	}
	return freed, meta.Put(keyCompacted, encodeRev(cut))
}

func readInt(b *bbolt.Bucket, key []byte) (int64, error) {
	v := b.Get(key)
	if v == nil {
		return 0, nil
	}
	n, err := decodeRev(v)
	if err != nil {
		return 0, fmt.Errorf("meta %s: %w", key, err)
	}
	return n, nil
}

func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// wrap maps bbolt's "not open" (a call racing with Close) to the contract's
// ErrClosed and leaves the store's own sentinels untouched.
func (s *Store) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return store.ErrClosed
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCompacted), errors.Is(err, store.ErrClosed):
		return err
	}
	return fmt.Errorf("bolt: %w", err)
}

var errEmptyKey = errors.New("bolt: empty key")

func checkKey(key string) error {
	if key == "" {
		return errEmptyKey
	}
	if len(key) > bbolt.MaxKeySize {
		return fmt.Errorf("bolt: key of %d bytes exceeds %d", len(key), bbolt.MaxKeySize)
	}
	return nil
}

// maxTxnBytes keeps a transaction's log record (every key and value it
// writes) within what bbolt accepts as one value.
const maxTxnBytes = bbolt.MaxValueSize - 1<<20

// validateTxn rejects what could otherwise fail halfway through a batch or
// be ambiguous: empty or oversized keys, negative revisions, and two ops on
// one key (etcd refuses those too, so both backends agree).
func validateTxn(txn store.Txn) error {
	for _, c := range txn.Conds {
		if err := checkKey(c.Key); err != nil {
			return fmt.Errorf("condition: %w", err)
		}
		if c.Revision < 0 {
			return fmt.Errorf("bolt: condition on %q: negative revision %d", c.Key, c.Revision)
		}
	}
	var seen map[string]struct{}
	if len(txn.Ops) > 1 {
		seen = make(map[string]struct{}, len(txn.Ops))
	}
	size := 0
	for _, op := range txn.Ops {
		if err := checkKey(op.Key); err != nil {
			return fmt.Errorf("op: %w", err)
		}
		if seen != nil {
			if _, dup := seen[op.Key]; dup {
				return fmt.Errorf("bolt: key %q appears in more than one op", op.Key)
			}
			seen[op.Key] = struct{}{}
		}
		size += len(op.Key) + len(op.Value) + 2*binary.MaxVarintLen64 + 1
		if size > maxTxnBytes {
			return fmt.Errorf("bolt: transaction writes more than %d bytes", maxTxnBytes)
		}
	}
	return nil
}
