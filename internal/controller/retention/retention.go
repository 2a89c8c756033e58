// Package retention removes what ECS keeps visible only for a while: STOPPED
// tasks (an hour after they stopped, by default) and INACTIVE services (an
// hour after they were deleted).
package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Config configures the retention loop. Zero values take the defaults.
type Config struct {
	Store store.Store
	// Tasks is how long a STOPPED task stays; default one hour.
	Tasks time.Duration
	// Services is how long an INACTIVE service stays; default one hour.
	Services time.Duration
	// Interval is how often the store is swept; default one minute.
	Interval time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// Retention is the sweeper.
type Retention struct{ cfg Config }

// New returns a sweeper.
func New(cfg Config) *Retention {
	if cfg.Tasks <= 0 {
		cfg.Tasks = time.Hour
	}
	if cfg.Services <= 0 {
		cfg.Services = time.Hour
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Retention{cfg: cfg}
}

// Run sweeps on every interval until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := r.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			r.cfg.Log.Warn("retention sweep failed; retrying next interval", "err", err)
		}
		if n > 0 {
			r.cfg.Log.Debug("retention removed documents", "count", n)
		}
	}
}

// expiring decodes just what retention looks at.
type expiring struct {
	Status     string      `json:"status"`
	LastStatus string      `json:"lastStatus"`
	StoppedAt  *model.Time `json:"stoppedAt"`
	InactiveAt *model.Time `json:"wharfInactiveAt"`
}

// Sweep removes every STOPPED task and INACTIVE service past its retention
// and returns how many it removed. Each removal is conditioned on the
// revision read, so a document that changed meanwhile is left for the next
// sweep.
func (r *Retention) Sweep(ctx context.Context) (int, error) {
	now := r.cfg.Now()
	tasks, err := r.sweep(ctx, state.TasksPrefix, `"lastStatus":"STOPPED"`, func(e expiring) bool {
		return e.LastStatus == "STOPPED" && e.StoppedAt != nil && now.Sub(e.StoppedAt.Time) >= r.cfg.Tasks
	})
	if err != nil {
		return tasks, err
	}
	services, err := r.sweep(ctx, state.ServicesPrefix, `"status":"`+state.ServiceInactive+`"`, func(e expiring) bool {
		return e.Status == state.ServiceInactive && e.InactiveAt != nil && now.Sub(e.InactiveAt.Time) >= r.cfg.Services
	})
	return tasks + services, err
}

// sweep removes the expired documents under prefix. Only documents that
// hold marker (as the server's JSON writes the status they must have) are
// decoded: in a store of a million tasks, most are not STOPPED.
func (r *Retention) sweep(ctx context.Context, prefix, marker string, expired func(expiring) bool) (int, error) {
	const batch = 500
	mark := []byte(marker)
	removed := 0
	after := ""
	for {
		kvs, _, err := r.cfg.Store.List(ctx, prefix, store.ListOptions{After: after, Limit: batch})
		if err != nil {
			return removed, err
		}
		for _, kv := range kvs {
			if !bytes.Contains(kv.Value, mark) {
				continue
			}
			var e expiring
			if err := json.Unmarshal(kv.Value, &e); err != nil || !expired(e) {
				continue
			}
			_, err := r.cfg.Store.Commit(ctx, store.Txn{
				Conds: []store.Cond{{Key: kv.Key, Revision: kv.Revision}},
				Ops:   []store.Op{state.Delete(kv.Key)},
			})
			if store.IsConflict(err) {
				continue
			}
			if err != nil {
				return removed, err
			}
			removed++
		}
		if len(kvs) < batch {
			return removed, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
