// Package liveness marks container instances whose agent stopped polling as
// disconnected (agentConnected=false), so placement stops choosing them. The
// agent's next poll marks the instance connected again.
package liveness

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Heartbeats tells when an instance's agent last polled.
type Heartbeats interface {
	LastSeen(instanceID string) (time.Time, bool)
}

// Config configures the controller.
type Config struct {
	Store      store.Store
	Heartbeats Heartbeats
	// Timeout is how long an agent may go without polling before its instance
	// is marked disconnected.
	Timeout time.Duration
	// Interval is how often instances are checked; default Timeout/4.
	Interval time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// Controller runs the liveness check.
type Controller struct {
	cfg     Config
	started time.Time
}

// New returns a liveness controller.
func New(cfg Config) *Controller {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = cfg.Timeout / 4
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Controller{cfg: cfg}
}

// Run checks on every interval until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	// Heartbeats live in memory, so after a server start every agent gets a
	// full timeout to poll before it is judged.
	c.started = c.cfg.Now()
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Check(ctx); err != nil && ctx.Err() == nil {
				c.cfg.Log.Warn("liveness check failed", "err", err)
			}
		}
	}
}

// Check marks every connected instance whose agent is overdue as disconnected.
func (c *Controller) Check(ctx context.Context) error {
	now := c.cfg.Now()
	kvs, _, err := c.cfg.Store.List(ctx, state.InstancesPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		// Only the few fields judged here are decoded: a fleet of ten
		// thousand instances, each with its attributes, is checked every
		// few seconds and almost always found alive.
		var probe struct {
			Status         string `json:"status"`
			AgentConnected *bool  `json:"agentConnected"`
			ID             string `json:"wharfId"`
		}
		if err := json.Unmarshal(kv.Value, &probe); err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		if probe.Status == "INACTIVE" || !model.Val(probe.AgentConnected) {
			continue
		}
		last, ok := c.cfg.Heartbeats.LastSeen(probe.ID)
		if !ok || last.Before(c.started) {
			last = c.started
		}
		if now.Sub(last) <= c.cfg.Timeout {
			continue
		}
		inst := new(state.ContainerInstance)
		if err := json.Unmarshal(kv.Value, inst); err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		inst.AgentConnected = model.Ptr(false)
		inst.Version = model.Ptr(model.Val(inst.Version) + 1)
		_, err := c.cfg.Store.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: kv.Key, Revision: kv.Revision}},
			Ops:   []store.Op{state.Put(kv.Key, inst)},
		})
		if store.IsConflict(err) {
			continue // changed under us (maybe a poll): judge it next round
		}
		if err != nil {
			return err
		}
		c.cfg.Log.Warn("container instance agent disconnected", "cluster", inst.Cluster, "instance", inst.ContainerInstanceArn, "last_poll", last)
	}
	return nil
}
