package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// DefaultTTL is the lease of a campaign: how long a leader that died or
// was cut off keeps the others waiting.
const DefaultTTL = 5 * time.Second

// Config configures an Etcd elector.
type Config struct {
	Client *clientv3.Client
	// Namespace is the etcd key prefix under which the store keeps its
	// keys (etcd.Store.KeyPrefix). Candidates' keys go under
	// Namespace+state.LeaderPrefix, inside the store, so that the fence's
	// condition is an ordinary store condition.
	Namespace string
	// Name identifies this server to the others and in logs.
	Name string
	// TTL is the campaign lease; zero means DefaultTTL. etcd may raise it
	// to its minimum (about 2 s with default timings).
	TTL time.Duration
	Log *slog.Logger
}

// Etcd elects one leader among the servers sharing an etcd: the campaign
// of each is a key under its own lease, and the oldest key leads (etcd's
// election recipe, written here on leases, transactions and watches so that
// this server knows exactly until when its lease is certainly alive).
type Etcd struct {
	cfg     Config
	fence   Fence
	leading atomic.Bool
}

// NewEtcd returns an elector; Run campaigns.
func NewEtcd(cfg Config) (*Etcd, error) {
	if cfg.Client == nil || cfg.Namespace == "" || cfg.Name == "" {
		return nil, errors.New("leader: an etcd client, a namespace and a name are required")
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("leader: negative TTL %v", cfg.TTL)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Etcd{cfg: cfg}, nil
}

// Fence is the fence of this elector's terms: give the leader-only loops
// Fence().Store(st) and their commits fail once leadership is lost.
func (e *Etcd) Fence() *Fence { return &e.fence }

// Leading reports whether this server leads now.
func (e *Etcd) Leading() bool { return e.leading.Load() }

// Run campaigns, leads, and campaigns again after losing leadership, until
// ctx ends.
func (e *Etcd) Run(ctx context.Context, lead func(ctx context.Context)) {
	for ctx.Err() == nil {
		if err := e.term(ctx, lead); err != nil && ctx.Err() == nil {
			e.cfg.Log.Warn("leader election: campaign ended; campaigning again", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

var errLost = errors.New("leader: lease lost")

// term is one campaign under a new lease: wait for our turn, lead until the
// lease is lost or ctx ends, then give the lease back.
func (e *Etcd) term(ctx context.Context, lead func(ctx context.Context)) error {
	cli := e.cfg.Client
	sent := time.Now()
	g, err := cli.Grant(ctx, int64(math.Ceil(e.cfg.TTL.Seconds())))
	if err != nil {
		return fmt.Errorf("grant lease: %w", err)
	}
	ttl := time.Duration(g.TTL) * time.Second
	defer e.revoke(g.ID)

	kctx, stopKeeping := context.WithCancel(ctx)
	lost := make(chan struct{})
	go func() {
		defer close(lost)
		e.keep(kctx, g.ID, ttl, sent.Add(ttl))
	}()
	defer func() { stopKeeping(); <-lost }()

	id := fmt.Sprintf("%016x", int64(g.ID))
	key := e.cfg.Namespace + state.LeaderPrefix + id
	put, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, e.cfg.Name, clientv3.WithLease(g.ID))).
		Commit()
	if err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	if !put.Succeeded {
		return fmt.Errorf("campaign: key %s of a new lease exists", key)
	}
	rev := put.Header.Revision
	if err := e.waitTurn(ctx, lost, rev); err != nil {
		return err
	}

	e.fence.set(&store.Cond{Key: state.LeaderPrefix + id, Revision: rev})
	e.leading.Store(true)
	e.cfg.Log.Info("leading", "server", e.cfg.Name, "lease", id, "revision", rev)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(lctx)
	}()
	select {
	case <-lost:
		err = errLost
		e.cfg.Log.Warn("lost leadership: the lease is gone or could not be renewed in time; stopping the leader's work", "server", e.cfg.Name)
	case <-ctx.Done():
	case <-done:
	}
	// Disarm the fence before the loops hear of it: a commit racing with
	// the cancellation fails rather than lands.
	e.fence.set(nil)
	e.leading.Store(false)
	cancel()
	<-done
	return err
}

// waitTurn returns once no older campaign than ours (revision rev) exists.
// It waits for the deletion of the next older one only, so a departure
// wakes one candidate, not all.
func (e *Etcd) waitTurn(ctx context.Context, lost <-chan struct{}, rev int64) error {
	cli := e.cfg.Client
	prefix := e.cfg.Namespace + state.LeaderPrefix
	for {
		resp, err := cli.Get(ctx, prefix, append([]clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithMaxCreateRev(rev - 1)}, clientv3.WithLastCreate()...)...)
		if err != nil {
			return fmt.Errorf("read campaigns: %w", err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		older := string(resp.Kvs[0].Key)
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := cli.Watch(wctx, older, clientv3.WithRev(resp.Header.Revision+1))
		err = waitDelete(wch, lost)
		cancel()
		if err != nil {
			return err
		}
	}
}

// waitDelete returns nil when the watched key is deleted or the watch
// breaks (the caller looks again), and errLost when our own lease is lost.
func waitDelete(wch clientv3.WatchChan, lost <-chan struct{}) error {
	for {
		select {
		case r, ok := <-wch:
			if !ok || r.Err() != nil || r.Canceled {
				return nil
			}
			for _, ev := range r.Events {
				if ev.Type == mvccpb.DELETE {
					return nil
				}
			}
		case <-lost:
			return errLost
		}
	}
}

// keep renews the lease until ctx ends, and returns as soon as the lease
// can no longer be known to be alive: etcd says it is gone, or the last
// renewal etcd confirmed is about to run out.
//
// A renewal sent at time t keeps the lease until at least t+TTL, since etcd
// renews it when it receives the request, so validUntil is known on this
// server's clock without trusting etcd's. Stopping a fifth of the TTL
// earlier leaves room for the leader's loops to stop and for clocks that
// run at slightly different rates: a cut-off leader stops before etcd
// expires its lease and lets another one lead.
func (e *Etcd) keep(ctx context.Context, lease clientv3.LeaseID, ttl time.Duration, validUntil time.Time) {
	margin := ttl / 5
	every := ttl / 4
	for {
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, every)
		resp, err := e.cfg.Client.KeepAliveOnce(rctx, lease)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			return
		case err == nil && resp.TTL > 0:
			validUntil = sent.Add(time.Duration(resp.TTL) * time.Second)
		case err != nil:
			e.cfg.Log.Warn("leader election: lease renewal failed", "err", err, "valid_for", time.Until(validUntil).Round(time.Millisecond))
		}
		deadline := validUntil.Add(-margin)
		if !time.Now().Before(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(time.Until(sent.Add(every)), time.Until(deadline))):
		}
		if !time.Now().Before(deadline) {
			return
		}
	}
}

// revoke gives the lease back so that another server leads at once after
// a clean shutdown or a lost term, rather than after the TTL.
func (e *Etcd) revoke(lease clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = e.cfg.Client.Revoke(ctx, lease)
}

// Current returns the name of the server that leads now on the etcd
// namespace, or "" when none does.
func Current(ctx context.Context, cli *clientv3.Client, namespace string) (string, error) {
	resp, err := cli.Get(ctx, namespace+state.LeaderPrefix, append([]clientv3.OpOption{clientv3.WithPrefix()}, clientv3.WithFirstCreate()...)...)
	if err != nil {
		return "", err
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}
