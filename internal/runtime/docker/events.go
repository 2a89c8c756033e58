package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// watchedActions are the Docker container events that change what the
// agent reports. The rest (exec_* from every health check run, attach,
// kill, ...) are filtered out by the daemon.
var watchedActions = []events.Action{
	events.ActionCreate, events.ActionStart, events.ActionDie,
	events.ActionOOM, events.ActionHealthStatus, events.ActionDestroy,
}

// Watch streams container events (see runtime.Runtime). It returns ctx's
// error when ctx ends, and otherwise the reason the stream broke.
func (r *Runtime) Watch(ctx context.Context, since time.Time, labels map[string]string, fn func(runtime.Event)) error {
	f := labelFilter(labels)
	f.Add("type", string(events.ContainerEventType))
	for _, a := range watchedActions {
		f.Add("event", string(a))
	}
	opts := events.ListOptions{Filters: f}
	if !since.IsZero() {
		// Docker replays buffered events from this time on (only its last
		// 256, one more reason callers also List); the format is its
		// "seconds.nanoseconds" Unix timestamp.
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	msgs, errs := r.cli.Events(ctx, opts)
	for {
		select {
		case m := <-msgs:
			if ev, ok := toEvent(m); ok {
				fn(ev)
			}
		case err := <-errs:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return r.fail("events", "", fmt.Errorf("event stream ended: %w", err))
		}
	}
}

// toEvent maps a Docker event; ok is false for events the runtime does not
// report.
func toEvent(m events.Message) (ev runtime.Event, ok bool) {
	ev = runtime.Event{
		ID:   m.Actor.ID,
		Name: m.Actor.Attributes["name"],
		Time: time.Unix(0, m.TimeNano),
	}
	if m.TimeNano == 0 {
		ev.Time = time.Unix(m.Time, 0)
	}
	action := string(m.Action)
	switch {
	case action == string(events.ActionCreate):
		ev.Kind = runtime.EventCreated
	case action == string(events.ActionStart):
		ev.Kind = runtime.EventStarted
	case action == string(events.ActionDie):
		ev.Kind = runtime.EventExited
		ev.ExitCode, _ = strconv.Atoi(m.Actor.Attributes["exitCode"])
	case action == string(events.ActionOOM):
		ev.Kind = runtime.EventOOM
	case action == string(events.ActionDestroy):
		ev.Kind = runtime.EventDestroyed
	case strings.HasPrefix(action, string(events.ActionHealthStatus)):
		// "health_status: healthy", "health_status: unhealthy", and (in
		// newer engines) "health_status: running" for a passing check.
		ev.Kind = runtime.EventHealth
		switch strings.TrimSpace(strings.TrimPrefix(action, string(events.ActionHealthStatus)+":")) {
		case "healthy":
			ev.Health = runtime.HealthHealthy
		case "unhealthy":
			ev.Health = runtime.HealthUnhealthy
		default:
			ev.Health = runtime.HealthUnknown
		}
	default:
		return runtime.Event{}, false
	}
	return ev, true
}
