package events

import (
	"net/http"
	"strconv"
	"time"
)

// keepAlive is how often an idle stream gets a comment line, so proxies and
// clients do not take it for dead.
const keepAlive = 15 * time.Second

// ServeStream streams the events of cluster ("" for all) to w as
// server-sent events: one "id: SEQ" and one "data: EVENT-JSON" line per
// event. A client that reconnects with the Last-Event-ID header (browsers'
// EventSource does so by itself) first gets the events it missed that the
// history still holds; if some are gone, the stream begins with an
// "event: gap" message. The stream ends when the client leaves, when it
// falls too far behind, or when the bus closes.
func (b *Bus) ServeStream(w http.ResponseWriter, r *http.Request, cluster string) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported on this connection", http.StatusInternalServerError)
		return
	}
	var after uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		after, _ = strconv.ParseUint(v, 10, 64) // a foreign ID means from now
	}
	sub, backlog, gap := b.Subscribe(cluster, after)
	defer b.Unsubscribe(sub)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	buf := []byte(": connected\n\n")
	if gap {
		buf = append(buf, "event: gap\ndata: some events since Last-Event-ID are no longer kept; re-read the state you need\n\n"...)
	}
	for _, e := range backlog {
		buf = appendEvent(buf, e)
	}
	if _, err := w.Write(buf); err != nil {
		return
	}
	flusher.Flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		buf = buf[:0]
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			buf = append(buf, ": keep-alive\n\n"...)
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			buf = appendEvent(buf, e)
			// Send what else is waiting in the same write.
		more:
			for len(buf) < 64<<10 {
				select {
				case e, ok := <-sub.C:
					if !ok {
						break more
					}
					buf = appendEvent(buf, e)
				default:
					break more
				}
			}
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		flusher.Flush()
	}
}

func appendEvent(buf []byte, e *Event) []byte {
	buf = append(buf, "id: "...)
	buf = strconv.AppendUint(buf, e.Seq, 10)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, e.JSON()...)
	return append(buf, "\n\n"...)
}
