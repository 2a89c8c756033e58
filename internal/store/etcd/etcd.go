// Package etcd is Wharf's replicated store backend: store.Store on an etcd
// cluster, for several servers sharing one state.
//
// The store's revisions are etcd's revisions, its conditions are etcd
// compares on mod revision (0: the key is absent), and its watches are etcd
// watches. Everything lives under one configurable prefix:
//
//	<prefix>kv/<key>   the store's keys and values
//	<prefix>rev        written by every commit (see Commit)
//	<prefix>leader/    leader election (package leader), outside the store
//
// so several Wharf clusters can share one etcd, and nothing a store caller
// writes can collide with the bookkeeping keys.
package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Defaults for the zero Options.
const (
	DefaultPrefix         = "/wharf/"
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
)

// Options configure a Store. Endpoints is required.
type Options struct {
	// Endpoints are the etcd client URLs (http://host:2379 or https://...).
	Endpoints []string
	// Prefix is prepended to every key Wharf writes. Zero means
	// DefaultPrefix. Two Wharf clusters on one etcd need different prefixes.
	Prefix string
	// TLS, when set, is used for https endpoints (CA, client certificate).
	TLS *tls.Config
	// DialTimeout bounds the wait for the first connection. Zero means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// RequestTimeout bounds a call whose context has no deadline: etcd's
	// client waits for a usable connection, and a server cut off from etcd
	// should answer with an error rather than hang. Zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger hears of dropped watchers and lost watch streams. Nil discards.
	Logger *slog.Logger
}

// Store is a store.Store on etcd. Create it with Open.
type Store struct {
	cli      *clientv3.Client
	prefix   string
	kvPrefix string // prefix + "kv/"
	revKey   string // prefix + "rev"
	timeout  time.Duration
	log      *slog.Logger

	closed  atomic.Bool
	done    chan struct{} // closed by Close: watch pumps end
	watches sync.WaitGroup
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.MultiGetter = (*Store)(nil)
)

// Open connects to etcd and checks that it answers, so that a wrong
// endpoint fails at start-up rather than at the first request.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	if opts.DialTimeout < 0 || opts.RequestTimeout < 0 {
		return nil, fmt.Errorf("etcd: negative option in %+v", opts)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   opts.Endpoints,
		DialTimeout: opts.DialTimeout,
		TLS:         opts.TLS,
		// Dead connections are noticed within seconds, so that a watch
		// moves to another member instead of waiting on a dead socket.
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: connect to %s: %w", strings.Join(opts.Endpoints, ","), err)
	}
	s := &Store{
		cli:      cli,
		prefix:   opts.Prefix,
		kvPrefix: opts.Prefix + "kv/",
		revKey:   opts.Prefix + "rev",
		timeout:  opts.RequestTimeout,
		log:      logger,
		done:     make(chan struct{}),
	}
	// The revision key exists from the start, so that Revision never
	// falls back to etcd's cluster-wide revision (see Revision). Writing it
	// also checks that etcd answers, so a wrong endpoint fails here rather
	// than at the first request.
	initCtx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	_, err = cli.Txn(initCtx).
		If(clientv3.Compare(clientv3.CreateRevision(s.revKey), "=", 0)).
		Then(clientv3.OpPut(s.revKey, "")).
		Commit()
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("etcd: no answer from %s: %w", strings.Join(opts.Endpoints, ","), err)
	}
	return s, nil
}

// Client is the connection the store uses, for what needs etcd itself
// rather than the store contract (leader election's leases).
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix is the key prefix the store was opened with.
func (s *Store) Prefix() string { return s.prefix }

// KeyPrefix is the etcd key prefix of the store's keys: store key k is etcd
// key KeyPrefix()+k.
func (s *Store) KeyPrefix() string { return s.kvPrefix }

// Close ends every watch and closes the connection.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return store.ErrClosed
	}
	close(s.done)
	s.watches.Wait()
	if err := s.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcd: close: %w", err)
	}
	return nil
}

// Get is a linearizable read: it sees every commit that returned before it
// started, whichever server made it.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if err := s.usable(ctx); err != nil {
		return store.KV{}, err
	}
	if key == "" {
		return store.KV{}, errEmptyKey
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()
	resp, err := s.cli.Get(cctx, s.kvPrefix+key)
	if err != nil {
		return store.KV{}, s.wrap(ctx, err)
	}
	if len(resp.Kvs) == 0 {
		return store.KV{}, store.ErrNotFound
	}
	kv := resp.Kvs[0]
	return store.KV{Key: key, Value: nonNil(kv.Value), Revision: kv.ModRevision}, nil
}

// getManyChunk keeps each transaction of GetMany under etcd's default
// --max-txn-ops (128).
const getManyChunk = 100

// GetMany implements store.MultiGetter: one etcd transaction of reads per
// hundred keys (each transaction a consistent read).
func (s *Store) GetMany(ctx context.Context, keys []string) ([]store.KV, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	for _, key := range keys {
		if key == "" {
			return nil, errEmptyKey
		}
	}
	out := make([]store.KV, len(keys))
	for from := 0; from < len(keys); from += getManyChunk {
		chunk := keys[from:min(from+getManyChunk, len(keys))]
		ops := make([]clientv3.Op, len(chunk))
		for i, key := range chunk {
			ops[i] = clientv3.OpGet(s.kvPrefix + key)
		}
		cctx, cancel := s.bound(ctx)
		resp, err := s.cli.Txn(cctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			return nil, s.wrap(ctx, err)
		}
		for i, r := range resp.Responses {
			rr := r.GetResponseRange()
			if rr == nil || len(rr.Kvs) == 0 {
				continue
			}
			kv := rr.Kvs[0]
			out[from+i] = store.KV{Key: chunk[i], Value: nonNil(kv.Value), Revision: kv.ModRevision}
		}
	}
	return out, nil
}

// List is one etcd range read, so the KVs and the revision describe the
// same instant.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.KV, int64, error) {
	if err := s.usable(ctx); err != nil {
		return nil, 0, err
	}
	if opts.Limit < 0 {
		return nil, 0, fmt.Errorf("etcd: negative list limit %d", opts.Limit)
	}
	from := s.kvPrefix + prefix
	end := clientv3.GetPrefixRangeEnd(from)
	if opts.After != "" && opts.After >= prefix {
		// The smallest key strictly after After.
		from = s.kvPrefix + opts.After + "\x00"
	}
	ropts := []clientv3.OpOption{clientv3.WithRange(end)}
	if opts.Limit > 0 {
		ropts = append(ropts, clientv3.WithLimit(int64(opts.Limit)))
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()
	resp, err := s.cli.Get(cctx, from, ropts...)
	if err != nil {
		return nil, 0, s.wrap(ctx, err)
	}
	kvs := make([]store.KV, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		kvs = append(kvs, store.KV{Key: string(kv.Key[len(s.kvPrefix):]), Value: nonNil(kv.Value), Revision: kv.ModRevision})
	}
	if len(kvs) == 0 {
		kvs = nil
	}
	return kvs, resp.Header.Revision, nil
}

// Revision is the revision of this store's last commit: the mod revision
// of the key every commit writes. etcd's own revision would be wrong on a
// shared etcd, where other prefixes' writes raise it: a reader waiting for
// its watch to reach the store revision would wait for an event that never
// comes under this prefix.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()
	resp, err := s.cli.Get(cctx, s.revKey)
	if err != nil {
		return 0, s.wrap(ctx, err)
	}
	if len(resp.Kvs) == 0 {
		// Deleted behind Wharf's back: the cluster-wide revision is an
		// upper bound, which is safe for everything but waiting on it.
		return resp.Header.Revision, nil
	}
	return resp.Kvs[0].ModRevision, nil
}

// Compact drops etcd's history before rev, so Watch from before rev
// returns store.ErrCompacted (the store contract's "up to and including"
// is met because a watch from fromRev needs the revision fromRev itself to
// be readable). In production etcd compacts by itself
// (--auto-compaction-retention); this is for tests and operators.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	cctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.cli.Compact(cctx, rev, clientv3.WithCompactPhysical())
	if errors.Is(err, rpctypes.ErrCompacted) {
		return nil // already compacted at least that far
	}
	return s.wrap(ctx, err)
}

// bound gives a call without a deadline the request timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// wrap maps errors of a call racing with Close to ErrClosed, keeps the
// caller's own context errors, and names etcd in everything else.
func (s *Store) wrap(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case s.closed.Load():
		return store.ErrClosed
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("etcd: no answer within %v (can this server reach a quorum of the etcd members?): %w", s.timeout, err)
	case errors.Is(err, rpctypes.ErrTooManyOps):
		return fmt.Errorf("etcd: %w (raise etcd's --max-txn-ops; Wharf's scheduler commits up to a few hundred tasks at once, see docs/ha.md)", err)
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("etcd: %w (raise etcd's --max-request-bytes, see docs/ha.md)", err)
	}
	return fmt.Errorf("etcd: %w", err)
}

// nonNil keeps "a put of an empty value" distinguishable from a delete
// event, whose Value is nil; etcd decodes an empty value as nil.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

var errEmptyKey = errors.New("etcd: empty key")
