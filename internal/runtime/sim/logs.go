package sim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Environment variables that make a simulated container write output, for
// tests and benchmarks of log shipping. The lines are computed, not stored:
// line i (from 0) is "TEXT i", padded with dots to SIM_LOG_LINE_BYTES, and
// is written at StartedAt plus i times the interval 1s/SIM_LOG_RATE.
const (
	// EnvLogLines is how many lines the container writes in all.
	EnvLogLines = "SIM_LOG_LINES"
	// EnvLogRate is how many lines a second it writes (default: all of
	// them at once as it starts, a nanosecond apart).
	EnvLogRate = "SIM_LOG_RATE"
	// EnvLogText begins every line (default "line").
	EnvLogText = "SIM_LOG_TEXT"
	// EnvLogLineBytes pads every line to at least this many bytes.
	EnvLogLineBytes = "SIM_LOG_LINE_BYTES"
)

// logScript is what a container's SIM_LOG_ variables ask it to write.
type logScript struct {
	lines    int64
	interval time.Duration
	text     string
	pad      int
}

// parseLogScript reads the SIM_LOG_ variables; nil when the container
// writes nothing.
func parseLogScript(env map[string]string) (*logScript, error) {
	v, ok := env[EnvLogLines]
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%s=%q: want a number of lines", EnvLogLines, v)
	}
	s := &logScript{lines: n, interval: time.Nanosecond, text: "line"}
	if v, ok := env[EnvLogRate]; ok {
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || rate <= 0 || rate > 1e9 {
			return nil, fmt.Errorf("%s=%q: want lines a second, more than 0", EnvLogRate, v)
		}
		s.interval = max(time.Duration(float64(time.Second)/rate), time.Nanosecond)
	}
	if v, ok := env[EnvLogText]; ok {
		s.text = v
	}
	if v, ok := env[EnvLogLineBytes]; ok {
		if s.pad, err = strconv.Atoi(v); err != nil || s.pad < 0 || s.pad > 1<<20 {
			return nil, fmt.Errorf("%s=%q: want a line length in bytes, at most 1048576", EnvLogLineBytes, v)
		}
	}
	return s, nil
}

// line writes line i into b.
func (s *logScript) line(b []byte, i int64) []byte {
	b = append(b[:0], s.text...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, i, 10)
	for len(b) < s.pad {
		b = append(b, '.')
	}
	return b
}

var _ runtime.LogReader = (*Runtime)(nil)

// logPoll bounds how long a follower sleeps before it looks again at a
// container that writes nothing for a while.
const logPoll = 100 * time.Millisecond

// Logs reads the lines the container's SIM_LOG_ variables make it write:
// those whose time has come while it ran.
func (r *Runtime) Logs(ctx context.Context, id string, since time.Time, follow bool, fn func(runtime.LogLine) error) error {
	var buf []byte
	next := int64(-1)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.mu.Lock()
		c, err := r.lookup(id)
		if err != nil {
			r.mu.Unlock()
			return err
		}
		ls, started, running, starting := c.logs, c.st.StartedAt, c.st.Running(), c.starting
		end := r.clock.Now()
		if !running {
			end = c.st.FinishedAt
		}
		r.mu.Unlock()
		if ls == nil || started.IsZero() {
			if !follow || !running && !starting {
				return nil
			}
			if !r.sleep(ctx, logPoll) {
				return ctx.Err()
			}
			continue
		}
		if next < 0 {
			next = 0
			if d := since.Sub(started); d > 0 {
				next = int64((d + ls.interval - 1) / ls.interval) // the first line at or after since
			}
		}
		written := min(ls.lines, int64(end.Sub(started)/ls.interval)+1)
		if end.Before(started) {
			written = 0
		}
		for ; next < written; next++ {
			buf = ls.line(buf, next)
			if err := fn(runtime.LogLine{Time: started.Add(time.Duration(next) * ls.interval), Text: buf}); err != nil {
				return err
			}
		}
		if !follow || !running || next >= ls.lines {
			return nil
		}
		wait := min(started.Add(time.Duration(next)*ls.interval).Sub(r.clock.Now()), logPoll)
		if !r.sleep(ctx, max(wait, time.Millisecond)) {
			return ctx.Err()
		}
	}
}

// sleep waits d on the runtime's clock; false when ctx ended first.
func (r *Runtime) sleep(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	t := r.clock.AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
