// Package retention removes what ECS keeps visible only for a while: STOPPED
// tasks (an hour after they stopped, by default) and INACTIVE services (an
// hour after they were deleted).
//
// A store of a million tasks holds few STOPPED ones, so while Run runs the
// sweeper follows the store's tasks and keeps only those; a sweep then
// looks at them alone rather than reading every task every minute.
package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
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
type Retention struct {
	cfg Config

	mu        sync.Mutex
	following bool                   // Run keeps stopped current
	stopped   map[string]stoppedTask // task key → a STOPPED task
}

// stoppedTask is what a sweep needs of a STOPPED task: when it stopped,
// and the revision seen, which its removal is conditioned on.
type stoppedTask struct {
	at  time.Time
	rev int64
}

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

// Run sweeps on every interval until ctx ends, following the store's tasks
// meanwhile.
func (r *Retention) Run(ctx context.Context) {
	loaded := make(chan struct{})
	var once sync.Once
	go state.Follow(ctx, r.cfg.Store, r.cfg.Log, state.TasksPrefix, func(kvs []store.KV, rev int64) {
		r.load(kvs, rev)
		r.mu.Lock()
		r.following = true
		r.mu.Unlock()
		once.Do(func() { close(loaded) })
	}, r.apply)
	select {
	case <-loaded:
	case <-ctx.Done():
		return
	}
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

// stoppedMarker is how the server's JSON writes a STOPPED task's status:
// only documents that hold it are decoded.
const stoppedMarker = `"lastStatus":"STOPPED"`

// stoppedOf returns the task in kv if it is STOPPED.
func stoppedOf(kv store.KV) (stoppedTask, bool) {
	if !bytes.Contains(kv.Value, []byte(stoppedMarker)) {
		return stoppedTask{}, false
	}
	var e expiring
	if err := json.Unmarshal(kv.Value, &e); err != nil || e.LastStatus != "STOPPED" || e.StoppedAt == nil {
		return stoppedTask{}, false
	}
	return stoppedTask{at: e.StoppedAt.Time, rev: kv.Revision}, true
}

// load replaces the view of STOPPED tasks with those of a listing.
func (r *Retention) load(kvs []store.KV, _ int64) {
	stopped := map[string]stoppedTask{}
	for _, kv := range kvs {
		if t, ok := stoppedOf(kv); ok {
			stopped[kv.Key] = t
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = stopped
}

// apply takes one change of a task into the view.
func (r *Retention) apply(ev store.Event) {
	t, ok := stoppedOf(ev.KV) // a delete has no value: not stopped
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok && r.stopped != nil {
		r.stopped[ev.KV.Key] = t
	} else {
		delete(r.stopped, ev.KV.Key)
	}
}

// Sweep removes every STOPPED task and INACTIVE service past its retention
// and returns how many it removed. Each removal is conditioned on the
// revision read, so a document that changed meanwhile is left for the next
// sweep. Outside Run, it lists the tasks to find the STOPPED ones.
func (r *Retention) Sweep(ctx context.Context) (int, error) {
	now := r.cfg.Now()
	r.mu.Lock()
	following := r.following
	r.mu.Unlock()
	if !following {
		kvs, rev, err := r.cfg.Store.List(ctx, state.TasksPrefix, store.ListOptions{})
		if err != nil {
			return 0, err
		}
		r.load(kvs, rev)
	}
	var conds []store.Cond
	r.mu.Lock()
	for key, t := range r.stopped {
		if now.Sub(t.at) >= r.cfg.Tasks {
			conds = append(conds, store.Cond{Key: key, Revision: t.rev})
		}
	}
	r.mu.Unlock()
	tasks := 0
	for _, c := range conds {
		removed, err := r.remove(ctx, c)
		if err != nil {
			return tasks, err
		}
		if removed {
			tasks++
		}
	}
	services, err := r.sweep(ctx, state.ServicesPrefix, `"status":"`+state.ServiceInactive+`"`, func(e expiring) bool {
		return e.Status == state.ServiceInactive && e.InactiveAt != nil && now.Sub(e.InactiveAt.Time) >= r.cfg.Services
	})
	return tasks + services, err
}

// remove deletes the document c names if it is still at c's revision.
func (r *Retention) remove(ctx context.Context, c store.Cond) (bool, error) {
	_, err := r.cfg.Store.Commit(ctx, store.Txn{Conds: []store.Cond{c}, Ops: []store.Op{state.Delete(c.Key)}})
	if store.IsConflict(err) {
		return false, nil
	}
	return err == nil, err
}

// sweep removes the expired documents under prefix, read page by page.
// Only documents that hold marker (as the server's JSON writes the status
// they must have) are decoded.
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
			ok, err := r.remove(ctx, store.Cond{Key: kv.Key, Revision: kv.Revision})
			if err != nil {
				return removed, err
			}
			if ok {
				removed++
			}
		}
		if len(kvs) < batch {
			return removed, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
