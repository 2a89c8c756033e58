package ecsapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// taskIndex follows the tasks in the store (list, then watch) and knows which
// tasks are assigned to which container instance, so an agent's poll finds its
// tasks without scanning the cluster and wakes as soon as one changes.
type taskIndex struct {
	st  store.Store
	log *slog.Logger

	mu      sync.Mutex
	ready   chan struct{}                  // closed once the first listing is loaded
	rev     int64                          // store revision the index reflects
	byTask  map[string]string              // task key → instance ID
	byInst  map[string]map[string]struct{} // instance ID → task keys
	changed map[string]int64               // instance ID → revision of its last task change
	waiters map[string][]chan struct{}     // instance ID → parked polls
}

func newTaskIndex(st store.Store, log *slog.Logger) *taskIndex {
	return &taskIndex{
		st: st, log: log, ready: make(chan struct{}),
		byTask: map[string]string{}, byInst: map[string]map[string]struct{}{},
		changed: map[string]int64{}, waiters: map[string][]chan struct{}{},
	}
}

// run keeps the index current until ctx ends, re-listing whenever the watch
// breaks (compaction, a slow consumer, a store restart).
func (x *taskIndex) run(ctx context.Context) {
	first := true
	for ctx.Err() == nil {
		if err := x.follow(ctx, &first); err != nil && ctx.Err() == nil {
			x.log.Warn("task index watch ended; re-listing", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func (x *taskIndex) follow(ctx context.Context, first *bool) error {
	kvs, rev, err := x.st.List(ctx, state.TasksPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.byTask = map[string]string{}
	x.byInst = map[string]map[string]struct{}{}
	for _, kv := range kvs {
		x.setLocked(kv.Key, instanceOf(kv.Value), rev)
	}
	x.rev = rev
	x.wakeAllLocked()
	x.mu.Unlock()
	if *first {
		close(x.ready)
		*first = false
	}
	ch, err := x.st.Watch(ctx, state.TasksPrefix, rev)
	if err != nil {
		return err
	}
	for ev := range ch {
		x.mu.Lock()
		inst := ""
		if ev.Type == store.EventPut {
			inst = instanceOf(ev.KV.Value)
		}
		x.setLocked(ev.KV.Key, inst, ev.KV.Revision)
		if ev.KV.Revision > x.rev {
			x.rev = ev.KV.Revision
		}
		x.mu.Unlock()
	}
	return ctx.Err()
}

func instanceOf(doc []byte) string {
	var t struct {
		InstanceID string `json:"wharfInstanceId"`
	}
	_ = json.Unmarshal(doc, &t)
	return t.InstanceID
}

// setLocked records that task key now belongs to inst ("" for none) as of rev,
// and wakes the polls of the instances it left and joined.
func (x *taskIndex) setLocked(key, inst string, rev int64) {
	if old, ok := x.byTask[key]; ok {
		delete(x.byInst[old], key)
		x.touchLocked(old, rev)
		delete(x.byTask, key)
	}
	if inst == "" {
		return
	}
	x.byTask[key] = inst
	if x.byInst[inst] == nil {
		x.byInst[inst] = map[string]struct{}{}
	}
	x.byInst[inst][key] = struct{}{}
	x.touchLocked(inst, rev)
}

func (x *taskIndex) touchLocked(inst string, rev int64) {
	x.changed[inst] = rev
	for _, w := range x.waiters[inst] {
		close(w)
	}
	delete(x.waiters, inst)
}

func (x *taskIndex) wakeAllLocked() {
	for inst := range x.waiters {
		x.touchLocked(inst, x.rev)
	}
}

// wait returns once the instance's tasks changed after since, or the timeout
// passes, or ctx ends.
func (x *taskIndex) wait(ctx context.Context, inst string, since int64, timeout time.Duration) {
	select {
	case <-x.ready:
	case <-ctx.Done():
		return
	}
	x.mu.Lock()
	if x.changed[inst] > since {
		x.mu.Unlock()
		return
	}
	w := make(chan struct{})
	x.waiters[inst] = append(x.waiters[inst], w)
	x.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w:
	case <-t.C:
	case <-ctx.Done():
	}
}

// tasks returns the keys of the instance's tasks and the revision the index
// reflects.
func (x *taskIndex) tasks(inst string) ([]string, int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	keys := make([]string, 0, len(x.byInst[inst]))
	for k := range x.byInst[inst] {
		keys = append(keys, k)
	}
	return keys, x.rev
}

// taskIDFromKey returns the task ID of a task key.
func taskIDFromKey(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }
