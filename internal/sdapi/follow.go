package sdapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/wharf-ecs/wharf/internal/store"
)

// follow keeps an in-memory view current with the store: it lists each
// prefix, hands the listings to load, then applies every change of the whole
// keyspace from the oldest listing's revision on (so the view's revision
// follows the store's), and starts over with fresh listings whenever the
// watch breaks (compaction, a slow consumer, a store restart).
//
// With several prefixes the listings are taken one after another, so apply
// may be handed a change a later listing already reflects: views keep each
// key's revision and ignore changes no newer than what they hold.
func follow(ctx context.Context, st store.Store, log *slog.Logger, prefixes []string,
	load func(kvs [][]store.KV, rev int64), apply func(ev store.Event)) {
	for ctx.Err() == nil {
		err := followOnce(ctx, st, prefixes, load, apply)
		if err != nil && ctx.Err() == nil {
			log.Warn("watch ended; re-listing", "prefixes", prefixes, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func followOnce(ctx context.Context, st store.Store, prefixes []string,
	load func(kvs [][]store.KV, rev int64), apply func(ev store.Event)) error {
	lists := make([][]store.KV, len(prefixes))
	from := int64(-1)
	for i, p := range prefixes {
		kvs, rev, err := st.List(ctx, p, store.ListOptions{})
		if err != nil {
			return err
		}
		lists[i] = kvs
		if from < 0 {
			from = rev
		}
	}
	load(lists, from)
	ch, err := st.Watch(ctx, "", from)
	if err != nil {
		return err
	}
	for ev := range ch {
		apply(ev)
	}
	return ctx.Err()
}
