package etcd

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Watch follows etcd's watch of the key range from fromRev+1.
//
// Missing nothing across failures is etcd's client's work: when the
// connection to a member breaks, it reopens the watch on another member
// from the revision after the last one it delivered. What it cannot bridge
// it reports, and the channel is closed for the caller to re-list, as the
// contract asks of a watcher that fell behind: history compacted while
// disconnected, or the member cut off from its cluster's leader (the watch
// requires a leader, so a partitioned member cannot feed it stale silence).
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) (<-chan store.Event, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if fromRev < 0 {
		return nil, fmt.Errorf("etcd: watch from negative revision %d", fromRev)
	}
	// An etcd watch reports compaction asynchronously; the contract wants
	// it from Watch. A read at fromRev fails exactly when the revision is
	// gone, and a future revision is simply waited for.
	cctx, cancel := s.bound(ctx)
	_, err := s.cli.Get(cctx, s.revKey, clientv3.WithRev(max(fromRev, 1)), clientv3.WithCountOnly())
	cancel()
	if err != nil {
		switch {
		case errors.Is(err, rpctypes.ErrCompacted):
			return nil, fmt.Errorf("%w: watch from %d", store.ErrCompacted, fromRev)
		case errors.Is(err, rpctypes.ErrFutureRev):
		default:
			return nil, s.wrap(ctx, err)
		}
	}
	// Registered before the watch starts, so Close cannot miss it; Close
	// waits for the pump only after closing done, so it cannot wait forever.
	s.watches.Add(1)
	if s.closed.Load() {
		s.watches.Done()
		return nil, store.ErrClosed
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	from := s.kvPrefix + prefix
	wch := s.cli.Watch(wctx, from,
		clientv3.WithRange(clientv3.GetPrefixRangeEnd(from)),
		clientv3.WithRev(fromRev+1))
	out := make(chan store.Event, 64)
	go func() {
		defer s.watches.Done()
		defer cancel()
		defer close(out)
		s.pump(ctx, prefix, wch, out)
	}()
	return out, nil
}

// pump forwards etcd's events to out until the watch, its context or the
// store ends. There is no slow-watcher cut-off as in package bolt: etcd's
// client already buffers a watch's responses without limit, whatever this
// side does, and a bound here would only drop a consumer that is replaying
// a long history at its own pace.
func (s *Store) pump(ctx context.Context, prefix string, wch clientv3.WatchChan, out chan<- store.Event) {
	for {
		var resp clientv3.WatchResponse
		select {
		case r, ok := <-wch:
			if !ok {
				return
			}
			resp = r
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
		if err := resp.Err(); err != nil || resp.Canceled {
			if ctx.Err() == nil && !s.closed.Load() {
				s.log.Warn("etcd watch ended, watcher must re-list", "prefix", prefix, "err", err, "compact_revision", resp.CompactRevision)
			}
			return
		}
		// etcd never splits a revision across watch responses (this
		// watch asks for no fragmenting).
		for i, ev := range resp.Events {
			e := s.event(ev)
			e.Last = i == len(resp.Events)-1 || resp.Events[i+1].Kv.ModRevision != ev.Kv.ModRevision
			select {
			case out <- e:
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
	}
}

func (s *Store) event(ev *clientv3.Event) store.Event {
	kv := store.KV{Key: string(ev.Kv.Key[len(s.kvPrefix):]), Revision: ev.Kv.ModRevision}
	if ev.Type == mvccpb.DELETE {
		return store.Event{Type: store.EventDelete, KV: kv}
	}
	kv.Value = nonNil(ev.Kv.Value)
	return store.Event{Type: store.EventPut, KV: kv}
}
