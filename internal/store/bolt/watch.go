package bolt

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Replay reads history in chunks so that no read transaction stays open
// while a consumer is slow: a long bbolt read transaction stalls the writer
// whenever the file has to grow.
const (
	replayChunkRevs   = 256
	replayChunkEvents = 1024
	outBuffer         = 64
)

// Watch replays the kept history after fromRev and then follows live
// commits. Event values are shared between watchers: treat them as
// read-only.
//
// Ordering without gaps or repeats: the watcher is registered with the hub
// before the head revision is read, so every revision above the head is
// published to it live, and everything up to the head is in the log.
// Live events at or below the head are the overlap and are dropped.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) (<-chan store.Event, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if fromRev < 0 {
		return nil, fmt.Errorf("bolt: watch from negative revision %d", fromRev)
	}
	w := &watcher{
		prefix: prefix,
		out:    make(chan store.Event, outBuffer),
		notify: make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	if !s.hub.add(w) {
		return nil, store.ErrClosed
	}
	var head int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var err error
		if head, err = readInt(meta, keyRev); err != nil {
			return err
		}
		compacted, err := readInt(meta, keyCompacted)
		if err != nil {
			return err
		}
		if fromRev < compacted {
			return fmt.Errorf("%w: watch from %d, history starts after %d", store.ErrCompacted, fromRev, compacted)
		}
		return nil
	})
	if err != nil {
		s.hub.release(w)
		return nil, s.wrap(err)
	}
	go s.pump(ctx, w, fromRev, head)
	return w.out, nil
}

// pump is the one goroutine that sends on w.out, and closes it.
func (s *Store) pump(ctx context.Context, w *watcher, from, head int64) {
	defer s.hub.release(w)
	defer close(w.out)

	for next := from; next < head; {
		events, upTo, err := s.readHistory(w.prefix, next, head)
		if err != nil {
			// Typically compacted while this watcher was still replaying;
			// closing the channel tells it to re-list.
			s.log.Warn("store watch ended during replay", "prefix", w.prefix, "at", next, "err", err)
			return
		}
		for i, ev := range events {
			ev.Last = i == len(events)-1 || events[i+1].KV.Revision != ev.KV.Revision
			if !w.send(ctx, ev) {
				return
			}
		}
		next = upTo
	}
	seen := max(from, head)
	for {
		select {
		case <-w.notify:
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		}
		// The hub queues whole revisions, and a replay chunk ends on one.
		events := w.take()
		for i, ev := range events {
			if ev.KV.Revision <= seen {
				continue
			}
			ev.Last = i == len(events)-1 || events[i+1].KV.Revision != ev.KV.Revision
			if !w.send(ctx, ev) {
				return
			}
		}
	}
}

// readHistory returns the events for keys with the prefix in revisions
// (after, upTo], reading at most one chunk; upTo <= head.
func (s *Store) readHistory(prefix string, after, head int64) (events []store.Event, upTo int64, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		compacted, err := readInt(tx.Bucket(bucketMeta), keyCompacted)
		if err != nil {
			return err
		}
		if after < compacted {
			return store.ErrCompacted
		}
		upTo = head
		c := tx.Bucket(bucketLog).Cursor()
		revs := 0
		for k, v := c.Seek(encodeRev(after + 1)); k != nil; k, v = c.Next() {
			rev, err := decodeRev(k)
			if err != nil {
				return err
			}
			if rev > head {
				break
			}
			if events, err = decodeEvents(v, rev, prefix, s.comp, events); err != nil {
				return err
			}
			revs++
			if revs >= replayChunkRevs || len(events) >= replayChunkEvents {
				upTo = rev
				break
			}
		}
		return nil
	})
	return events, upTo, s.wrap(err)
}

type watcher struct {
	prefix string
	out    chan store.Event
	notify chan struct{} // capacity 1: a wake-up call; the data is in queue
	stop   chan struct{} // closed by the hub only: store closing or watcher too slow

	mu    sync.Mutex
	queue []store.Event
}

func (w *watcher) send(ctx context.Context, ev store.Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-ctx.Done():
		return false
	case <-w.stop:
		return false
	}
}

func (w *watcher) take() []store.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

// hub fans committed events out to watchers without ever blocking the
// writer: each watcher has a queue capped at limit events, and a watcher
// whose queue would overflow is dropped.
type hub struct {
	limit int
	log   *slog.Logger

	mu       sync.Mutex
	watchers map[*watcher]struct{}
	closed   bool
	pumps    sync.WaitGroup
}

func (h *hub) init(limit int, log *slog.Logger) {
	h.limit = limit
	h.log = log
	h.watchers = make(map[*watcher]struct{})
}

// add registers w and counts its pump; it fails once the hub is closed so
// that close's wait cannot miss a pump.
func (h *hub) add(w *watcher) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.watchers[w] = struct{}{}
	h.pumps.Add(1)
	return true
}

// release undoes add, once, when w's pump (or a failed Watch) is done.
func (h *hub) release(w *watcher) {
	h.mu.Lock()
	delete(h.watchers, w)
	h.mu.Unlock()
	h.pumps.Done()
}

// drop removes w and stops its pump; the caller holds h.mu. Only the hub
// closes stop, and only while w is still registered, so it happens once.
func (h *hub) drop(w *watcher) {
	delete(h.watchers, w)
	close(w.stop)
}

func (h *hub) publish(events []store.Event) {
	if len(events) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		n := 0
		for i := range events {
			if strings.HasPrefix(events[i].KV.Key, w.prefix) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		w.mu.Lock()
		// An empty queue takes the batch whatever its size, so one large
		// transaction cannot cost a watcher that was keeping up.
		if len(w.queue) > 0 && len(w.queue)+n > h.limit {
			w.mu.Unlock()
			h.log.Warn("store watcher too slow, closing it", "prefix", w.prefix, "buffered", h.limit)
			h.drop(w)
			continue
		}
		for i := range events {
			if strings.HasPrefix(events[i].KV.Key, w.prefix) {
				w.queue = append(w.queue, events[i])
			}
		}
		w.mu.Unlock()
		select {
		case w.notify <- struct{}{}:
		default:
		}
	}
}

// close stops every pump and waits for them, so that nothing reads the
// file after Close returns.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for w := range h.watchers {
		h.drop(w)
	}
	h.mu.Unlock()
	h.pumps.Wait()
}
