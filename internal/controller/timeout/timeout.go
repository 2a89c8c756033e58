// Package timeout stops tasks that ran longer than their execution timeout
// (the wharf:executionTimeout tag; beyond ECS). It follows the tasks in the
// store, keeps the few that have a limit, and stops each once it has run
// that long since it started, through StopTask, with a reason saying so.
package timeout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Stopper stops a task as StopTask does.
type Stopper interface {
	StopTask(ctx context.Context, in *model.StopTaskRequest) (*model.StopTaskResponse, error)
}

// Config configures the controller.
type Config struct {
	Store   store.Store
	Stopper Stopper
	// Tick is how often deadlines are checked; default one second.
	Tick time.Duration
	Now  func() time.Time
	Log  *slog.Logger
}

// Controller is the execution-timeout loop.
type Controller struct {
	cfg Config
	// limited holds the tasks with a limit that have not been told to stop,
	// by key.
	limited map[string]limitedTask
}

type limitedTask struct {
	cluster, arn string
	started      time.Time // zero until the task started
	limit        time.Duration
}

// New returns a controller.
func New(cfg Config) *Controller {
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Controller{cfg: cfg, limited: map[string]limitedTask{}}
}

// marker is in the stored document of every task with a limit, so that the
// others are skipped without decoding.
var marker = []byte(`"wharfExecutionTimeout"`)

// Run follows the store and stops overdue tasks until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := c.follow(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Log.Warn("task watch ended; re-listing", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (c *Controller) follow(ctx context.Context) error {
	kvs, rev, err := c.cfg.Store.List(ctx, state.TasksPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	clear(c.limited)
	for _, kv := range kvs {
		c.see(kv.Key, kv.Value)
	}
	events, err := c.cfg.Store.Watch(ctx, state.TasksPrefix, rev)
	if err != nil {
		return err
	}
	tick := time.NewTicker(c.cfg.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("watch closed")
			}
			if !strings.HasPrefix(ev.KV.Key, state.TasksPrefix) {
				continue
			}
			if ev.Type == store.EventDelete {
				delete(c.limited, ev.KV.Key)
				continue
			}
			c.see(ev.KV.Key, ev.KV.Value)
		case <-tick.C:
			c.stopOverdue(ctx)
		}
	}
}

// see records or forgets a task after a change.
func (c *Controller) see(key string, value []byte) {
	if !bytes.Contains(value, marker) {
		delete(c.limited, key)
		return
	}
	var t state.Task
	if err := json.Unmarshal(value, &t); err != nil || t.ExecutionTimeout <= 0 ||
		t.DesiredStatus == "STOPPED" || t.LastStatus == "STOPPED" {
		delete(c.limited, key)
		return
	}
	lt := limitedTask{cluster: t.ClusterArn, arn: t.TaskArn, limit: time.Duration(t.ExecutionTimeout) * time.Second}
	if t.StartedAt != nil {
		lt.started = t.StartedAt.Time
	}
	c.limited[key] = lt
}

func (c *Controller) stopOverdue(ctx context.Context) {
	now := c.cfg.Now()
	for key, t := range c.limited {
		if t.started.IsZero() || now.Sub(t.started) < t.limit {
			continue
		}
		reason := fmt.Sprintf("Task execution timeout: the task ran for longer than its %s limit (tag wharf:executionTimeout).", t.limit)
		_, err := c.cfg.Stopper.StopTask(ctx, &model.StopTaskRequest{Cluster: t.cluster, Task: t.arn, Reason: reason})
		if err != nil {
			c.cfg.Log.Warn("could not stop a task past its execution timeout; retrying", "task", t.arn, "err", err)
			continue
		}
		c.cfg.Log.Info("stopped a task past its execution timeout", "task", t.arn, "limit", t.limit)
		delete(c.limited, key) // its desired status is STOPPED now
	}
}
