package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// The server's ECS events (GET /events, docs/observability.md) reach the
// console through the same route as any client's, served in process with
// the signed-in user's key as Basic authentication: the route itself decides
// whether the user may read them (wharf:GetEvents on the cluster). Pages
// re-read what they show when an event arrives instead of every few
// seconds, and the events page lists the stream's recent history.

// sseEvent is one event of the stream: its ID and its JSON.
type sseEvent struct {
	id   string
	data []byte
}

// subscription is an in-process GET /events.
type subscription struct {
	// chunks are the route's writes, each whole events (or a keep-alive);
	// it is closed when the stream ends.
	chunks <-chan []byte
	cancel context.CancelFunc
	done   chan struct{}
}

// codeNoEvents is the refusal when the server streams no events.
const codeNoEvents = "EventsUnavailable"

// subscribe opens the event stream of cluster ("" for all), from after the
// event ID lastID ("" for only new events).
func (k caller) subscribe(cluster, lastID string) (*subscription, error) {
	if k.c.events == nil {
		return nil, &awsproto.Error{Code: codeNoEvents, Message: "This server streams no events.", Status: http.StatusNotFound}
	}
	target := "/events"
	if cluster != "" {
		target += "?cluster=" + url.QueryEscape(cluster)
	}
	ctx, cancel := context.WithCancel(k.ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+k.host()+target, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.RemoteAddr = k.from.RemoteAddr
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	if k.key != "" {
		secret, _, ok := k.c.creds.Lookup(k.key)
		if !ok {
			cancel()
			return nil, errSignedOut
		}
		req.SetBasicAuth(k.key, secret)
	}
	chunks := make(chan []byte, 16)
	w := &streamWriter{header: http.Header{}, chunks: chunks, ctx: ctx, started: make(chan struct{})}
	s := &subscription{chunks: chunks, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(chunks)
		k.c.events.ServeHTTP(w, req)
	}()
	select {
	case <-w.started:
	case <-s.done:
	}
	if w.status == http.StatusOK {
		return s, nil
	}
	// A refusal: its body is an AWS error in JSON.
	var body bytes.Buffer
	for c := range chunks {
		body.Write(c)
	}
	s.close()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body.Bytes(), &e)
	switch {
	case w.status == http.StatusMethodNotAllowed || w.status == http.StatusNotFound || e.Type == "":
		return nil, &awsproto.Error{Code: codeNoEvents, Message: "This server streams no events.", Status: http.StatusNotFound}
	}
	return nil, &awsproto.Error{Code: e.Type, Message: e.Message, Status: w.status}
}

// close ends the subscription and waits for the route to return.
func (s *subscription) close() {
	s.cancel()
	for range s.chunks {
		// Drain, so that a write in flight does not hold the route up.
	}
	<-s.done
}

// history returns the events the server still keeps of cluster, oldest
// first, and whether older ones are gone. The route writes a new
// subscriber's backlog in its first write.
func (k caller) history(cluster string) ([]sseEvent, bool, error) {
	// Last-Event-ID 1 asks for everything after the first event the server
	// numbered; an ID of 0 would mean "none".
	s, err := k.subscribe(cluster, "1")
	if err != nil {
		return nil, false, err
	}
	defer s.close()
	first, ok := <-s.chunks
	if !ok {
		return nil, false, nil
	}
	evs, gap := parseStream(first)
	return evs, gap, nil
}

// parseStream splits server-sent events; gap reports an "event: gap"
// message among them.
func parseStream(chunk []byte) (evs []sseEvent, gap bool) {
	for _, block := range bytes.Split(chunk, []byte("\n\n")) {
		var ev sseEvent
		for _, line := range bytes.Split(block, []byte("\n")) {
			switch {
			case bytes.HasPrefix(line, []byte("id: ")):
				ev.id = string(line[len("id: "):])
			case bytes.HasPrefix(line, []byte("data: ")):
				ev.data = line[len("data: "):]
			case bytes.Equal(line, []byte("event: gap")):
				gap = true
				ev.data = nil
			}
		}
		if ev.id != "" && ev.data != nil {
			evs = append(evs, ev)
		}
	}
	return evs, gap
}

// hasEvents reports whether a chunk of the stream carries an event (not
// only a keep-alive comment).
func hasEvents(chunk []byte) bool { return bytes.Contains(chunk, []byte("data: ")) }

// streamWriter is the ResponseWriter of an in-process stream: each write
// goes to chunks, as a copy.
type streamWriter struct {
	header  http.Header
	status  int
	chunks  chan<- []byte
	ctx     context.Context
	once    sync.Once
	started chan struct{} // closed at the status line
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(status int) {
	w.once.Do(func() {
		w.status = status
		close(w.started)
	})
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	select {
	case w.chunks <- bytes.Clone(p):
		return len(p), nil
	case <-w.ctx.Done():
		return 0, w.ctx.Err()
	}
}

// Flush is a no-op: every write is delivered as it is made.
func (w *streamWriter) Flush() {}
