package ecsapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// taskIndex follows the tasks in the store (list, then watch) and knows which
// tasks are assigned to which container instance, so an agent's poll finds its
// tasks without scanning the cluster and wakes as soon as one changes.
type taskIndex struct {
	st  store.Store
	log *slog.Logger

	mu     sync.Mutex
	ready  chan struct{}                  // closed once the first listing is loaded
	rev    int64                          // store revision the index reflects
	byTask map[string]packedEntry         // task key → what the index knows of it
	syms   symbols                        // the names in byTask
	byInst map[string]map[string]struct{} // instance ID → task keys
	// Active (not STOPPED) tasks, for placement: per group and instance, and
	// per instance.
	byGroup  map[string]map[string]int // group → instance ID → active tasks
	groupsOf map[string]map[string]int // instance ID → group → active tasks
	active   map[string]int            // instance ID → active tasks
	clusters map[string][6]int         // cluster → tasks by status class, then Fargate's by class
	unplaced map[string]string         // task key → cluster, for active tasks on no instance (waiting for capacity)
	// byProvider counts active tasks, placed or waiting, per group and
	// capacity provider (a service's split of its strategy).
	byProvider map[string]map[string]int
	changed    map[string]int64 // instance ID → revision of its last task change
	// left is, per instance, the revision at which a task last left its
	// active set (stopped, deleted or moved); loaded is the revision of
	// the last full listing, before which nothing is known.
	left    map[string]int64
	loaded  int64
	waiters map[string][]chan struct{} // instance ID → parked polls
	// caughtUp is broadcast whenever rev advances.
	caughtUp *sync.Cond
}

func newTaskIndex(st store.Store, log *slog.Logger) *taskIndex {
	x := &taskIndex{
		st: st, log: log, ready: make(chan struct{}),
		byTask: map[string]packedEntry{}, byInst: map[string]map[string]struct{}{},
		byGroup: map[string]map[string]int{}, active: map[string]int{}, groupsOf: map[string]map[string]int{},
		clusters: map[string][6]int{}, unplaced: map[string]string{}, byProvider: map[string]map[string]int{},
		changed: map[string]int64{}, waiters: map[string][]chan struct{}{}, left: map[string]int64{},
	}
	x.caughtUp = sync.NewCond(&x.mu)
	return x
}

// run keeps the index current until ctx ends.
func (x *taskIndex) run(ctx context.Context) {
	f := &follower{st: x.st, log: x.log, prefix: state.TasksPrefix, load: x.load, apply: x.apply,
		ready: func() { close(x.ready) }}
	f.run(ctx)
}

// load replaces the index with a listing of every task taken at rev.
func (x *taskIndex) load(kvs []store.KV, rev int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.byTask = map[string]packedEntry{}
	x.syms = symbols{}
	x.byInst = map[string]map[string]struct{}{}
	x.byGroup = map[string]map[string]int{}
	x.groupsOf = map[string]map[string]int{}
	x.active = map[string]int{}
	x.clusters = map[string][6]int{}
	x.unplaced = map[string]string{}
	x.byProvider = map[string]map[string]int{}
	x.left = map[string]int64{}
	x.loaded = rev
	for _, kv := range kvs {
		x.setLocked(kv.Key, entryOf(kv), rev)
	}
	x.rev = max(x.rev, rev)
	x.caughtUp.Broadcast()
	x.wakeAllLocked()
}

// apply takes one change of the store into the index.
func (x *taskIndex) apply(ev store.Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if strings.HasPrefix(ev.KV.Key, state.TasksPrefix) {
		var e taskEntry
		if ev.Type == store.EventPut {
			e = entryOf(ev.KV)
		}
		x.setLocked(ev.KV.Key, e, ev.KV.Revision)
	}
	// The index reflects a revision only once all of it is in: a poll
	// answered between two tasks of one RunTask would hand the agent that
	// revision, and its next poll, asking for changes after it, would
	// never see the second task.
	if ev.Last && ev.KV.Revision > x.rev {
		x.rev = ev.KV.Revision
		x.caughtUp.Broadcast()
	}
}

// taskEntry is what the index keeps of a task: where it runs, its group, and
// whether it still holds its place (not STOPPED).
type taskEntry struct {
	inst     string
	group    string
	provider string // capacityProviderName
	active   bool
	cluster  string
	class    int   // statusPending, statusRunning or 0, for the cluster's counts
	rev      int64 // the revision of the task's last change
	fargate  bool  // launchType FARGATE, counted apart in cluster statistics
}

// packedEntry is a taskEntry as the index keeps it: a million of them, so
// with its names as symbols (a quarter of a string header each, and no
// pointers for the collector to follow) it is 32 bytes instead of 96.
type packedEntry struct {
	rev                            int64
	inst, group, provider, cluster symbol
	class                          int8
	active, fargate                bool
}

// symbol stands for a name in the index's symbol table; 0 is "".
type symbol uint32

// symbols numbers the names entries use: instance IDs, groups, providers,
// clusters. It grows by the names ever seen, and starts afresh with each
// full listing of the tasks.
type symbols struct {
	names []string
	ids   map[string]symbol
}

func (s *symbols) of(name string) symbol {
	if name == "" {
		return 0
	}
	if id, ok := s.ids[name]; ok {
		return id
	}
	if s.ids == nil {
		s.ids = map[string]symbol{}
		s.names = []string{""}
	}
	id := symbol(len(s.names))
	s.names = append(s.names, name)
	s.ids[name] = id
	return id
}

func (s *symbols) name(id symbol) string {
	if id == 0 {
		return ""
	}
	return s.names[id]
}

func (x *taskIndex) pack(e taskEntry) packedEntry {
	return packedEntry{rev: e.rev, inst: x.syms.of(e.inst), group: x.syms.of(e.group), provider: x.syms.of(e.provider),
		cluster: x.syms.of(e.cluster), class: int8(e.class), active: e.active, fargate: e.fargate}
}

func (x *taskIndex) unpack(p packedEntry) taskEntry {
	return taskEntry{rev: p.rev, inst: x.syms.name(p.inst), group: x.syms.name(p.group), provider: x.syms.name(p.provider),
		cluster: x.syms.name(p.cluster), class: int(p.class), active: p.active, fargate: p.fargate}
}

// Task status classes the cluster counts distinguish.
const (
	classPending = 1 // PROVISIONING, PENDING, ACTIVATING
	classRunning = 2 // RUNNING
)

func entryOf(kv store.KV) taskEntry {
	key := kv.Key
	var t struct {
		InstanceID string `json:"wharfInstanceId"`
		Group      string `json:"group"`
		LastStatus string `json:"lastStatus"`
		Provider   string `json:"capacityProviderName"`
		LaunchType string `json:"launchType"`
	}
	if m := state.Tasks.Peek(kv); m != nil {
		t.InstanceID, t.Group, t.LastStatus, t.Provider, t.LaunchType = m.InstanceID, m.Group, m.LastStatus, m.CapacityProviderName, string(m.LaunchType)
	} else {
		_ = json.Unmarshal(kv.Value, &t)
	}
	// Interned: a million tasks name ten thousand instances and a few
	// groups, clusters and providers.
	e := taskEntry{inst: state.Intern(t.InstanceID), group: state.Intern(t.Group), provider: state.Intern(t.Provider),
		active: t.LastStatus != "STOPPED", fargate: t.LaunchType == string(model.LaunchTypeFargate)}
	rest := strings.TrimPrefix(key, state.TasksPrefix)
	e.cluster = state.Intern(rest[:max(strings.IndexByte(rest, '/'), 0)])
	switch t.LastStatus {
	case "RUNNING":
		e.class = classRunning
	case "PROVISIONING", "PENDING", "ACTIVATING":
		e.class = classPending
	}
	return e
}

// setLocked records what task key now is as of rev (the zero entry for a
// deleted task), and wakes the polls of the instances it left and joined.
func (x *taskIndex) setLocked(key string, e taskEntry, rev int64) {
	if p, ok := x.byTask[key]; ok {
		old := x.unpack(p)
		if old.active && old.inst != "" && (!e.active || e.inst != old.inst) {
			x.left[old.inst] = rev
		}
		x.classCount(old, -1)
		x.providerCount(old, -1)
		delete(x.byInst[old.inst], key)
		if len(x.byInst[old.inst]) == 0 {
			delete(x.byInst, old.inst)
		}
		x.count(old, -1)
		x.touchLocked(old.inst, rev)
		delete(x.byTask, key)
		delete(x.unplaced, key)
	}
	if e.cluster == "" {
		return
	}
	e.rev = rev
	x.byTask[key] = x.pack(e)
	x.classCount(e, +1)
	x.providerCount(e, +1)
	if e.inst == "" {
		if e.active {
			x.unplaced[key] = e.cluster // waiting for capacity
		}
		return // not placed: counted for its cluster only
	}
	if x.byInst[e.inst] == nil {
		x.byInst[e.inst] = map[string]struct{}{}
	}
	x.byInst[e.inst][key] = struct{}{}
	x.count(e, +1)
	x.touchLocked(e.inst, rev)
}

func (x *taskIndex) classCount(e taskEntry, d int) {
	if e.class == 0 {
		return
	}
	c := x.clusters[e.cluster]
	c[e.class] += d
	if e.fargate {
		c[3+e.class] += d
	}
	x.clusters[e.cluster] = c
}

func (x *taskIndex) providerCount(e taskEntry, d int) {
	if e.active && e.provider != "" {
		addCount(x.byProvider, e.group, e.provider, d)
	}
}

// providerCounts returns a copy of a group's active tasks per capacity
// provider.
func (x *taskIndex) providerCounts(group string) map[string]int {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make(map[string]int, len(x.byProvider[group]))
	for k, v := range x.byProvider[group] {
		out[k] = v
	}
	return out
}

// clusterCounts returns a cluster's running and pending tasks.
// clusterCounts returns the cluster's RUNNING and pending tasks, and how
// many of each are Fargate's.
func (x *taskIndex) clusterCounts(cluster string) (running, pending, fargateRunning, fargatePending int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c := x.clusters[cluster]
	return c[classRunning], c[classPending], c[3+classRunning], c[3+classPending]
}

func (x *taskIndex) count(e taskEntry, d int) {
	if !e.active {
		return
	}
	x.active[e.inst] += d
	if x.active[e.inst] <= 0 {
		delete(x.active, e.inst)
	}
	addCount(x.byGroup, e.group, e.inst, d)
	addCount(x.groupsOf, e.inst, e.group, d)
}

// addCount adds d to m[outer][inner], dropping entries that reach zero.
func addCount(m map[string]map[string]int, outer, inner string, d int) {
	g := m[outer]
	if g == nil {
		g = map[string]int{}
		m[outer] = g
	}
	g[inner] += d
	if g[inner] <= 0 {
		delete(g, inner)
		if len(g) == 0 {
			delete(m, outer)
		}
	}
}

// instanceTasks returns, for each instance, a copy of its active task counts
// by group and its active task count.
func (x *taskIndex) instanceTasks(ids []string) (groups []map[string]int, active []int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	groups, active = make([]map[string]int, len(ids)), make([]int, len(ids))
	for i, id := range ids {
		g := make(map[string]int, len(x.groupsOf[id]))
		for k, v := range x.groupsOf[id] {
			g[k] = v
		}
		groups[i], active[i] = g, x.active[id]
	}
	return groups, active
}

// groupCounts returns, for the instances given, how many active tasks of
// group each runs and how many active tasks it runs in all.
func (x *taskIndex) groupCounts(group string, instIDs []string) (inGroup, all []int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	inGroup, all = make([]int, len(instIDs)), make([]int, len(instIDs))
	g := x.byGroup[group]
	for i, id := range instIDs {
		inGroup[i] = g[id]
		all[i] = x.active[id]
	}
	return inGroup, all
}

// groupsOn returns the groups of the active tasks an instance runs (for the
// task:group subject of the cluster query language).
func (x *taskIndex) groupsOn(instID string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for key := range x.byInst[instID] {
		if e := x.byTask[key]; e.active {
			out = append(out, x.syms.name(e.group))
		}
	}
	return out
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

// tasksSince returns the keys of the instance's tasks changed after since and
// of all its tasks not STOPPED, and the revision the index reflects.
//
// kept is set when no task left the instance's active set after since, if
// the caller asked (keep): active is then left empty, the caller's set plus
// the changed tasks being the whole of it.
func (x *taskIndex) tasksSince(inst string, since int64, keep bool) (changed, active []string, kept bool, rev int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	kept = keep && since >= x.loaded && x.left[inst] <= since
	for k := range x.byInst[inst] {
		e := x.byTask[k]
		if e.rev > since {
			changed = append(changed, k)
		}
		if e.active && !kept {
			active = append(active, k)
		}
	}
	return changed, active, kept, x.rev
}

// taskIDFromKey returns the task ID of a task key.
func taskIDFromKey(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

// fresh waits until the index reflects the store at revision rev or later,
// so a reader sees its own and every earlier write.
func (x *taskIndex) fresh(ctx context.Context, rev int64) error {
	select {
	case <-x.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	return waitRev(ctx, &x.mu, x.caughtUp, func() bool { return x.rev >= rev })
}

// unplacedTasks returns the keys of the active tasks on no instance (those
// waiting for capacity), by cluster.
func (x *taskIndex) unplacedTasks() map[string][]string {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.unplaced) == 0 {
		return nil
	}
	out := map[string][]string{}
	for key, cluster := range x.unplaced {
		out[cluster] = append(out[cluster], key)
	}
	return out
}
