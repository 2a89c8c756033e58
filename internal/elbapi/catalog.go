package elbapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// catalog is every load balancing document, decoded, kept current by a watch
// of the whole keyspace (so that its revision follows the store's and a
// reader can wait for the revision of a write it knows of). Describe
// operations and the data plane's configuration read it; writes go to the
// store with conditions on what they read there.
type catalog struct {
	st  store.Store
	log *slog.Logger

	mu     sync.RWMutex
	rev    int64 // the store revision the catalog reflects
	elbRev int64 // the last revision that changed a load balancing document
	docs   map[string]doc
	wake   chan struct{} // closed and replaced whenever rev moves
	ready  chan struct{} // closed after the first listing
	once   sync.Once
}

// doc is one decoded document with its modification revision.
type doc struct {
	val any
	rev int64
}

func newCatalog(st store.Store, log *slog.Logger) *catalog {
	return &catalog{st: st, log: log, docs: map[string]doc{}, wake: make(chan struct{}), ready: make(chan struct{})}
}

// decodeDoc decodes the document under key into its record type; nil for a
// key of no known kind or a document that does not decode.
func decodeDoc(key string, b []byte) any {
	var v any
	switch {
	case strings.HasPrefix(key, state.LoadBalancersPrefix):
		v = new(state.LoadBalancer)
	case strings.HasPrefix(key, state.TargetGroupsPrefix):
		v = new(state.TargetGroup)
	case strings.HasPrefix(key, state.ListenersPrefix):
		v = new(state.Listener)
	case strings.HasPrefix(key, state.RulesPrefix):
		v = new(state.Rule)
	case strings.HasPrefix(key, state.TargetsPrefix):
		v = new(state.Target)
	case strings.HasPrefix(key, state.ListenerPortsPrefix):
		v = new(state.PortClaim)
	default:
		return nil
	}
	if json.Unmarshal(b, v) != nil {
		return nil
	}
	return v
}

// run follows the store until ctx ends, re-listing whenever the watch breaks.
func (c *catalog) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("load balancing catalog: watch ended; re-listing", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *catalog) follow(ctx context.Context) error {
	kvs, rev, err := c.st.List(ctx, state.ELBPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	docs := make(map[string]doc, len(kvs))
	for _, kv := range kvs {
		if v := decodeDoc(kv.Key, kv.Value); v != nil {
			docs[kv.Key] = doc{val: v, rev: kv.Revision}
		}
	}
	c.mu.Lock()
	c.docs = docs
	c.elbRev = rev
	c.publish(rev)
	c.mu.Unlock()
	c.once.Do(func() { close(c.ready) })
	ch, err := c.st.Watch(ctx, "", rev)
	if err != nil {
		return err
	}
	for ev := range ch {
		c.mu.Lock()
		if strings.HasPrefix(ev.KV.Key, state.ELBPrefix) {
			if ev.Type == store.EventDelete {
				delete(c.docs, ev.KV.Key)
			} else if v := decodeDoc(ev.KV.Key, ev.KV.Value); v != nil {
				c.docs[ev.KV.Key] = doc{val: v, rev: ev.KV.Revision}
			}
			c.elbRev = ev.KV.Revision
		}
		// A transaction's changes share one revision: while more of them
		// may be queued, the catalog reflects only the one before.
		if len(ch) == 0 {
			c.publish(ev.KV.Revision)
		} else {
			c.publish(ev.KV.Revision - 1)
		}
		c.mu.Unlock()
	}
	return ctx.Err()
}

// publish moves rev forward and wakes the waiters; c.mu is held.
func (c *catalog) publish(rev int64) {
	if rev <= c.rev {
		return
	}
	c.rev = rev
	close(c.wake)
	c.wake = make(chan struct{})
}

// waitRev waits until the catalog reflects rev.
func (c *catalog) waitRev(ctx context.Context, rev int64) error {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		c.mu.RLock()
		cur, wake := c.rev, c.wake
		c.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// current waits until the catalog reflects every write committed so far.
func (c *catalog) current(ctx context.Context) error {
	rev, err := c.st.Revision(ctx)
	if err != nil {
		return err
	}
	return c.waitRev(ctx, rev)
}

// waitChange waits until a load balancing document changed after since, or
// wait passes, and returns the revision of the last change.
func (c *catalog) waitChange(ctx context.Context, since int64, wait time.Duration) int64 {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return since
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		c.mu.RLock()
		cur, wake := c.elbRev, c.wake
		c.mu.RUnlock()
		if cur > since {
			return cur
		}
		select {
		case <-wake:
		case <-timer.C:
			return cur
		case <-ctx.Done():
			return cur
		}
	}
}

// view is a consistent read of the catalog's documents, sorted by key.
type view struct {
	lbs       []*state.LoadBalancer
	tgs       []*state.TargetGroup
	listeners []*state.Listener
	rules     []*state.Rule
	targets   []*state.Target
	rev       int64 // elbRev of the view
}

// snapshot returns the documents as they are now. The records are shared:
// readers must not modify them.
func (c *catalog) snapshot() *view {
	c.mu.RLock()
	keys := make([]string, 0, len(c.docs))
	for k := range c.docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	v := &view{rev: c.elbRev}
	for _, k := range keys {
		switch d := c.docs[k].val.(type) {
		case *state.LoadBalancer:
			v.lbs = append(v.lbs, d)
		case *state.TargetGroup:
			v.tgs = append(v.tgs, d)
		case *state.Listener:
			v.listeners = append(v.listeners, d)
		case *state.Rule:
			v.rules = append(v.rules, d)
		case *state.Target:
			v.targets = append(v.targets, d)
		}
	}
	c.mu.RUnlock()
	return v
}

// lbArnsOf maps each target group ARN to the load balancers whose listeners
// or rules forward to it, in the order the view lists them.
func (v *view) lbArnsOf() map[string][]string {
	out := map[string][]string{}
	add := func(tg, lb string) {
		for _, have := range out[tg] {
			if have == lb {
				return
			}
		}
		out[tg] = append(out[tg], lb)
	}
	lbOfListener := map[string]string{}
	for _, l := range v.listeners {
		lbOfListener[l.Arn] = l.LoadBalancerArn
		for _, a := range l.DefaultActions {
			for _, tg := range a.TargetGroupArns() {
				add(tg, l.LoadBalancerArn)
			}
		}
	}
	for _, r := range v.rules {
		lb, ok := lbOfListener[r.ListenerArn]
		if !ok {
			continue
		}
		for _, a := range r.Actions {
			for _, tg := range a.TargetGroupArns() {
				add(tg, lb)
			}
		}
	}
	return out
}
