package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// follower ships one container's output. Its goroutine owns the cursor.
type follower struct {
	s      *logShipper
	id     string
	target logTarget
	log    *slog.Logger

	state  cursorFile
	lastMs int64 // the last event's timestamp: a batch must be in order
}

// line is one line read, with the cursor after it.
type line struct {
	time time.Time
	text []byte
	end  cursor
}

func (f *follower) run(ctx context.Context) {
	drained := false
	defer func() { f.s.stopped(f.id, drained) }()
	for attempt := 0; ; attempt++ {
		err := f.start(ctx)
		if err == nil {
			drained, err = f.pass(ctx)
		}
		switch {
		case drained || ctx.Err() != nil:
			return
		case errors.Is(err, runtime.ErrNotFound):
			return // removed: the next scan forgets its cursor
		case err != nil:
			f.log.Warn("shipping container output failed; will retry", "attempt", attempt+1, "err", err)
			if !retryBackoff(ctx, attempt) {
				return
			}
		}
	}
}

// start loads the saved cursor and settles a batch that was in flight when
// the agent stopped: if the stream ends with it, it arrived.
func (f *follower) start(ctx context.Context) error {
	st, err := f.s.loadCursor(f.id)
	if err != nil {
		f.log.Warn("unreadable log cursor; shipping this container's output from the start", "err", err)
		st = cursorFile{}
	}
	st.Group, st.Stream = f.target.group, f.target.stream
	if st.Inflight != nil {
		arrived, err := f.arrived(ctx, st.Inflight)
		if err != nil {
			return fmt.Errorf("check whether the last batch arrived: %w", err)
		}
		if arrived {
			st.Acked = st.Inflight.End
		}
		st.Inflight = nil
		f.log.Debug("settled the batch in flight at the last stop", "arrived", arrived)
	}
	st.Drained = false
	f.state = st
	return f.s.saveCursor(f.id, &f.state)
}

// arrived reports whether the stream's last events are the batch in flight.
func (f *follower) arrived(ctx context.Context, in *inflight) (bool, error) {
	var out struct {
		Events []struct {
			Timestamp int64  `json:"timestamp"`
			Message   string `json:"message"`
		} `json:"events"`
	}
	err := f.s.a.c.callAs(ctx, "logs", logsTarget+"GetLogEvents", map[string]any{
		"logGroupName": f.target.group, "logStreamName": f.target.stream, "limit": in.Events, "startFromHead": false}, &out)
	if errorCode(err) == "ResourceNotFoundException" {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(out.Events) != in.Events {
		return false, nil
	}
	h := sha256.New()
	for _, e := range out.Events {
		hashEvent(h, e.Timestamp, []byte(e.Message))
	}
	return hex.EncodeToString(h.Sum(nil)) == in.Hash, nil
}

// pass reads the container's output from the cursor and ships it until the
// container has stopped and all is shipped (true), or something fails.
func (f *follower) pass(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan line, 4096)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		readErr <- f.read(ctx, lines)
	}()
	err := f.ship(ctx, lines)
	cancel()
	for range lines { // let the reader finish
	}
	if rerr := <-readErr; err == nil && rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = rerr
	}
	if err != nil {
		return false, err
	}
	f.state.Drained = true
	return true, f.s.saveCursor(f.id, &f.state)
}

// read follows the output from the acknowledged cursor.
func (f *follower) read(ctx context.Context, out chan<- line) error {
	from := f.state.Acked
	r := newReading(from)
	var seen int64
	return f.s.rd.Logs(ctx, f.id, from.Since, true, func(l runtime.LogLine) error {
		end := r.advance(l.Time)
		seen++
		if seen <= from.Skip {
			return nil // shipped before
		}
		select {
		case out <- line{time: l.Time, text: message(append([]byte(nil), l.Text...)), end: end}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// ship batches lines and puts each batch when it is full, when the oldest
// line in it has waited flushEvery, and when the lines end.
func (f *follower) ship(ctx context.Context, lines <-chan line) error {
	b := newBatch(f.target)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			if err := f.flush(ctx, b); err != nil {
				return err
			}
		case l, ok := <-lines:
			if !ok {
				return f.flush(ctx, b)
			}
			ms := max(l.time.UnixMilli(), f.lastMs)
			if !b.fits(ms, l.text) {
				if err := f.flush(ctx, b); err != nil {
					return err
				}
			}
			if b.lines == 0 {
				timer.Reset(f.s.flushEvery)
			}
			b.add(ms, l.text, l.end)
			f.lastMs = ms
		}
	}
}

// flush puts the batch, retrying until it is acknowledged, and moves the
// cursor past it.
func (f *follower) flush(ctx context.Context, b *batch) error {
	if b.lines == 0 {
		return nil
	}
	if b.events > 0 {
		f.state.Inflight = &inflight{End: b.end, Events: b.events, Hash: b.hash()}
		if err := f.s.saveCursor(f.id, &f.state); err != nil {
			return fmt.Errorf("save log cursor: %w", err)
		}
		if err := f.put(ctx, b); err != nil {
			return err
		}
	}
	f.state.Acked, f.state.Inflight = b.end, nil
	b.reset()
	return f.s.saveCursor(f.id, &f.state)
}

// put sends one batch until the server takes it. A batch the server refuses
// as invalid cannot get better: it is logged and dropped.
func (f *follower) put(ctx context.Context, b *batch) error {
	body := b.request()
	for attempt := 0; ; attempt++ {
		if err := f.s.ensure(ctx, f.target); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.complain(attempt, "the log group or stream cannot be created; will retry", err)
			if !retryBackoff(ctx, attempt) {
				return ctx.Err()
			}
			continue
		}
		var out struct {
			Rejected *struct {
				TooNew  *int `json:"tooNewLogEventStartIndex"`
				TooOld  *int `json:"tooOldLogEventEndIndex"`
				Expired *int `json:"expiredLogEventEndIndex"`
			} `json:"rejectedLogEventsInfo"`
		}
		err := f.s.a.c.callAs(ctx, "logs", logsTarget+"PutLogEvents", body, &out)
		if err == nil {
			if r := out.Rejected; r != nil {
				f.log.Warn("the log service rejected some events of a batch for their timestamps (more than 14 days old, past the group's retention, or over 2 hours ahead: is the clock right?)",
					"too_old_before", r.TooOld, "expired_before", r.Expired, "too_new_from", r.TooNew)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *APIError
		switch {
		case errorCode(err) == "ResourceNotFoundException":
			f.s.forget(f.target) // deleted behind our back: create it again
		case errorCode(err) == "InvalidParameterException":
			f.log.Error("the log service refused a batch as invalid; dropping it", "events", b.events, "err", err)
			return nil
		case errors.As(err, &ae) && ae.Status < 500 && ae.Code != "ThrottlingException":
			f.complain(attempt, "the log service refused the batch; will retry", err)
		default:
			f.complain(attempt, "the log service is unreachable; will retry", err)
		}
		if !retryBackoff(ctx, attempt) {
			return ctx.Err()
		}
	}
}

// complain logs a retried failure, at first and then now and then.
func (f *follower) complain(attempt int, msg string, err error) {
	if attempt == 0 || attempt%20 == 0 {
		f.log.Warn(msg, "attempt", attempt+1, "err", err)
	}
}
