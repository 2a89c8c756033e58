// Package heartbeat shares agents' polls between replicated servers. An
// agent polls one server at a time, which remembers the poll in memory;
// only the leader runs the liveness check, so without this it would judge
// every agent polling another server as gone. Each server writes the agents
// that polled it into the store every few seconds (one write per server,
// whatever the number of agents), and follows the others' records.
package heartbeat

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Local is this server's own memory of polls (ecsapi.API).
type Local interface {
	LastSeen(instanceID string) (time.Time, bool)
}

// Config configures a Shared.
type Config struct {
	Store  store.Store
	Local  Local
	Server string // this server's name: its record's key
	// Every is how often the record is written; the liveness check hears
	// of a poll at another server at most this late. Zero means 5 s.
	Every time.Duration
	Log   *slog.Logger
}

// Shared is every server's polls: this one's and the latest records of the
// others.
type Shared struct {
	cfg Config

	mu     sync.Mutex
	remote map[string]map[string]time.Time // server → instance → last poll
}

// New returns a Shared; Run keeps it current.
func New(cfg Config) *Shared {
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Shared{cfg: cfg, remote: map[string]map[string]time.Time{}}
}

// LastSeen is the latest poll of the instance's agent at any server.
func (s *Shared) LastSeen(instanceID string) (time.Time, bool) {
	last, ok := s.cfg.Local.LastSeen(instanceID)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seen := range s.remote {
		if t, found := seen[instanceID]; found && (!ok || t.After(last)) {
			last, ok = t, true
		}
	}
	return last, ok
}

// Run publishes this server's record and follows the others' until ctx
// ends.
func (s *Shared) Run(ctx context.Context) {
	go s.follow(ctx)
	t := time.NewTicker(s.cfg.Every)
	defer t.Stop()
	for {
		if err := s.publish(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("publishing agent heartbeats failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publish writes the instances whose agent polled this server.
func (s *Shared) publish(ctx context.Context) error {
	items, _, err := state.List[state.ContainerInstance](ctx, s.cfg.Store, state.InstancesPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	rec := state.Heartbeats{Server: s.cfg.Server, Seen: map[string]int64{}}
	for _, it := range items {
		if t, ok := s.cfg.Local.LastSeen(it.Val.ID); ok {
			rec.Seen[it.Val.ID] = t.UnixMilli()
		}
	}
	_, err = s.cfg.Store.Commit(ctx, store.Txn{Ops: []store.Op{state.Put(state.HeartbeatKey(s.cfg.Server), rec)}})
	return err
}

// follow keeps the other servers' records, listing then watching, and
// listing again whenever the watch ends.
func (s *Shared) follow(ctx context.Context) {
	for ctx.Err() == nil {
		if err := s.followOnce(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("following agent heartbeats failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Shared) followOnce(ctx context.Context) error {
	items, rev, err := state.List[state.Heartbeats](ctx, s.cfg.Store, state.HeartbeatsPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.remote = map[string]map[string]time.Time{}
	s.mu.Unlock()
	for _, it := range items {
		s.take(it.Key, it.Val)
	}
	ch, err := s.cfg.Store.Watch(ctx, state.HeartbeatsPrefix, rev)
	if err != nil {
		return err
	}
	for ev := range ch {
		if ev.Type == store.EventDelete {
			s.take(ev.KV.Key, nil)
			continue
		}
		var rec state.Heartbeats
		if err := json.Unmarshal(ev.KV.Value, &rec); err != nil {
			s.cfg.Log.Warn("unreadable heartbeat record", "key", ev.KV.Key, "err", err)
			continue
		}
		s.take(ev.KV.Key, &rec)
	}
	return nil
}

// take replaces one server's record (nil: removes it). This server's own
// record is skipped: its memory is fresher.
func (s *Shared) take(key string, rec *state.Heartbeats) {
	if key == state.HeartbeatKey(s.cfg.Server) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec == nil {
		delete(s.remote, key)
		return
	}
	seen := make(map[string]time.Time, len(rec.Seen))
	for id, ms := range rec.Seen {
		seen[id] = time.UnixMilli(ms)
	}
	s.remote[key] = seen
}
