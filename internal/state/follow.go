package state

import (
	"context"
	"log/slog"
	"time"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Follow keeps a reader's view of the keys under prefix current until ctx
// ends: it lists them and hands the listing to load, then hands every later
// change under prefix to apply, in order. When the watch breaks (compaction,
// a watcher too slow to keep up, a store restart) it lists again and calls
// load with the new listing, which the reader compares with what it had:
// changes in between arrive as the difference, never one by one.
func Follow(ctx context.Context, st store.Store, log *slog.Logger, prefix string, load func(kvs []store.KV, rev int64), apply func(ev store.Event)) {
	for ctx.Err() == nil {
		err := followOnce(ctx, st, prefix, load, apply)
		if ctx.Err() != nil {
			return
		}
		log.Warn("watch ended; listing again", "prefix", prefix, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func followOnce(ctx context.Context, st store.Store, prefix string, load func([]store.KV, int64), apply func(store.Event)) error {
	kvs, rev, err := st.List(ctx, prefix, store.ListOptions{})
	if err != nil {
		return err
	}
	load(kvs, rev)
	ch, err := st.Watch(ctx, prefix, rev)
	if err != nil {
		return err
	}
	for ev := range ch {
		apply(ev)
	}
	return nil
}
