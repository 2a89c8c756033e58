package sim

import (
	"context"
	"slices"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// record is an event in the replay history, with the labels Watch filters on
// (the container's own map, never changed after Create, so it is shared).
type record struct {
	ev     runtime.Event
	labels map[string]string
}

// watcher is one Watch call. The runtime queues its events under the
// runtime's lock; Watch's own goroutine delivers them, so fn never runs
// under the lock and a slow fn never holds up a timer.
type watcher struct {
	labels map[string]string
	queue  []runtime.Event
	wake   chan struct{}
}

// emit stamps ev with the container and the time, keeps it for replay, and
// queues it for every watcher whose labels the container carries.
func (r *Runtime) emit(c *container, ev runtime.Event) {
	ev.ID, ev.Name, ev.Time = c.st.ID, c.st.Name, r.clock.Now()
	if len(r.history) == r.opts.EventHistory {
		copy(r.history, r.history[1:])
		r.history = r.history[:len(r.history)-1]
	}
	r.history = append(r.history, record{ev: ev, labels: c.st.Labels})
	for _, w := range r.watchers {
		if hasLabels(c.st.Labels, w.labels) {
			w.queue = append(w.queue, ev)
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Watch delivers events about containers that carry all of labels until ctx
// ends. With a since time it first replays the remembered events from then
// on (the last EventHistory of them). The stream never fails by itself.
func (r *Runtime) Watch(ctx context.Context, since time.Time, labels map[string]string, fn func(runtime.Event)) error {
	w := &watcher{labels: labels, wake: make(chan struct{}, 1)}
	r.mu.Lock()
	if !since.IsZero() {
		for _, rec := range r.history {
			if !rec.ev.Time.Before(since) && hasLabels(rec.labels, labels) {
				w.queue = append(w.queue, rec.ev)
			}
		}
	}
	r.watchers = append(r.watchers, w)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.watchers = slices.DeleteFunc(r.watchers, func(x *watcher) bool { return x == w })
		r.mu.Unlock()
	}()
	for {
		r.mu.Lock()
		batch := w.queue
		w.queue = nil
		r.mu.Unlock()
		for _, ev := range batch {
			fn(ev)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.wake:
		}
	}
}
