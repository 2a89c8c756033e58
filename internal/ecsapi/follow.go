package ecsapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/wharf-ecs/wharf/internal/store"
)

// follower keeps an in-memory view current with the store: it lists prefix,
// hands the listing to load, then applies every change from the whole
// keyspace (so the view's revision follows the store's and readers can wait
// for a revision they know of), and starts over with a fresh listing whenever
// the watch breaks (compaction, a slow consumer, a store restart).
type follower struct {
	st     store.Store
	log    *slog.Logger
	prefix string
	// load replaces the view with a listing taken at rev.
	load func(kvs []store.KV, rev int64)
	// apply applies one change, which may be about any key.
	apply func(ev store.Event)
	// ready, if set, is called once after the first load.
	ready func()
}

func (f *follower) run(ctx context.Context) {
	first := true
	for ctx.Err() == nil {
		if err := f.once(ctx, &first); err != nil && ctx.Err() == nil {
			f.log.Warn("watch ended; re-listing", "prefix", f.prefix, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func (f *follower) once(ctx context.Context, first *bool) error {
	kvs, rev, err := f.st.List(ctx, f.prefix, store.ListOptions{})
	if err != nil {
		return err
	}
	f.load(kvs, rev)
	if *first {
		*first = false
		if f.ready != nil {
			f.ready()
		}
	}
	ch, err := f.st.Watch(ctx, "", rev)
	if err != nil {
		return err
	}
	for ev := range ch {
		f.apply(ev)
	}
	return ctx.Err()
}
