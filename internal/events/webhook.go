package events

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// webhook POSTs events to one URL, one at a time and in order, retrying
// failures with backoff. Its queue is bounded: when it is full the oldest
// undelivered event is dropped, so a dead endpoint costs memory for at most
// the queue, and the bus never waits.
type webhook struct {
	url   string
	queue chan *Event
	hc    *http.Client
	log   *slog.Logger

	delivered, failed, overflowed atomic.Uint64
}

// Webhook retries: a failed POST is tried again after 0.5s, 1s, 2s ... up to
// maxBackoff, at most maxAttempts times in all.
const (
	maxAttempts = 8
	maxBackoff  = 30 * time.Second
)

func newWebhook(url string, queue int, hc *http.Client, log *slog.Logger) *webhook {
	return &webhook{url: url, queue: make(chan *Event, queue), hc: hc, log: log.With("webhook", url)}
}

// enqueue adds e without blocking; the caller is the only sender.
func (w *webhook) enqueue(e *Event) {
	select {
	case w.queue <- e:
		return
	default:
	}
	select {
	case <-w.queue: // drop the oldest
		w.overflowed.Add(1)
	default:
	}
	select {
	case w.queue <- e:
	default:
		w.overflowed.Add(1)
	}
}

func (w *webhook) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-w.queue:
			w.deliver(ctx, e)
		}
	}
}

// deliver posts e until it is accepted, refused for good, or out of tries.
func (w *webhook) deliver(ctx context.Context, e *Event) {
	backoff := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		retry, err := w.post(ctx, e)
		if err == nil {
			w.delivered.Add(1)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if !retry || attempt == maxAttempts {
			w.failed.Add(1)
			w.log.Warn("event not delivered to webhook", "event", e.ID, "detail_type", e.DetailType, "attempts", attempt, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// post sends e once. It reports whether a failure is worth retrying: network
// errors, 5xx, 408 and 429 are; other answers mean the endpoint refuses the
// event.
func (w *webhook) post(ctx context.Context, e *Event) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(e.JSON()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wharf-events")
	resp, err := w.hc.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("webhook answered %s", resp.Status)
	}
	return false, fmt.Errorf("webhook answered %s", resp.Status)
}
