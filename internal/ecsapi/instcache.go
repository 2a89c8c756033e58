package ecsapi

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// instanceCache keeps every container instance decoded in memory, current by
// store watch, so placement reads a cluster's instances without listing and
// decoding them from the store on every RunTask. Entries are never mutated:
// a change replaces the entry, so a snapshot handed out stays consistent.
type instanceCache struct {
	st  store.Store
	log *slog.Logger

	mu        sync.Mutex
	ready     chan struct{}
	rev       int64
	byCluster map[string]map[string]cachedInstance // cluster → instance ID → entry
	caughtUp  *sync.Cond                           // broadcast whenever rev advances
	// Every change of an entry is numbered (gen) and noted in its
	// cluster's log of recent changes, so that a reader who keeps a copy
	// (the placement worker) asks for what changed since its last look
	// instead of going over ten thousand instances for every batch.
	gen     int64
	loadGen int64                 // gen of the last load: older gens see everything anew
	changes map[string]*changeLog // cluster → its recent changes
}

// changeLog is a cluster's recent changes, oldest first; the changes up to
// dropped have been let go.
type changeLog struct {
	entries []instanceChange
	dropped int64
}

// instanceChange notes that an instance of a cluster changed or left at gen.
type instanceChange struct {
	gen int64
	id  string
}

// cachedInstance is one instance as of its store revision. inst is shared:
// never modify it; Clone before writing.
type cachedInstance struct {
	key  string
	rev  int64
	inst *state.ContainerInstance
}

func newInstanceCache(st store.Store, log *slog.Logger) *instanceCache {
	c := &instanceCache{st: st, log: log, ready: make(chan struct{}), byCluster: map[string]map[string]cachedInstance{},
		changes: map[string]*changeLog{}}
	c.caughtUp = sync.NewCond(&c.mu)
	return c
}

func (c *instanceCache) run(ctx context.Context) {
	f := &follower{st: c.st, log: c.log, prefix: state.InstancesPrefix, load: c.load, apply: c.apply,
		ready: func() { close(c.ready) }}
	f.run(ctx)
	c.mu.Lock()
	c.caughtUp.Broadcast()
	c.mu.Unlock()
}

// load replaces the cache with a listing of every instance taken at rev.
func (c *instanceCache) load(kvs []store.KV, rev int64) {
	fresh := map[string]map[string]cachedInstance{}
	for _, kv := range kvs {
		if e, cluster, ok := decodeCached(kv); ok {
			if fresh[cluster] == nil {
				fresh[cluster] = map[string]cachedInstance{}
			}
			fresh[cluster][e.inst.ID] = e
		}
	}
	c.mu.Lock()
	c.byCluster = fresh
	c.gen++
	c.loadGen = c.gen
	c.changes = map[string]*changeLog{}
	c.rev = max(c.rev, rev)
	c.caughtUp.Broadcast()
	c.mu.Unlock()
}

// apply replaces, adds or drops the entry an event is about.
func (c *instanceCache) apply(ev store.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cluster, id, ok := splitInstanceKey(ev.KV.Key) // false for other resources' keys
	if ok {
		if ev.Type == store.EventDelete {
			delete(c.byCluster[cluster], id)
		} else if e, _, ok := decodeCached(ev.KV); ok {
			if c.byCluster[cluster] == nil {
				c.byCluster[cluster] = map[string]cachedInstance{}
			}
			c.byCluster[cluster][id] = e
		}
		c.noteLocked(cluster, id)
	}
	if ev.Last && ev.KV.Revision > c.rev { // once the whole revision is in
		c.rev = ev.KV.Revision
		c.caughtUp.Broadcast()
	}
}

// noteLocked numbers a change of an instance and logs it. A cluster's log
// keeps at most about twice as many changes as the cluster has instances
// (and a few thousand more): a reader further behind than that reads the
// whole cluster, which costs no more.
func (c *instanceCache) noteLocked(cluster, id string) {
	c.gen++
	log := c.changes[cluster]
	if log == nil {
		log = &changeLog{dropped: c.loadGen}
		c.changes[cluster] = log
	}
	log.entries = append(log.entries, instanceChange{gen: c.gen, id: id})
	if limit := 2*len(c.byCluster[cluster]) + 4096; len(log.entries) > limit {
		cut := len(log.entries) - limit/2
		log.dropped = log.entries[cut-1].gen
		log.entries = slices.Delete(log.entries, 0, cut)
	}
}

// changedSince returns the cluster's instances changed after gen, as the
// cache holds them now, and the IDs of those that left; next is the gen to
// ask from next time. all is set when the cache cannot tell what changed
// since gen (gen 0, a reload, or too far back): then changed holds every
// instance of the cluster and gone is empty. Like instances, it waits for the
// cache to have seen the store at atLeast.
func (c *instanceCache) changedSince(ctx context.Context, cluster string, atLeast, gen int64) (changed []cachedInstance, gone []string, next int64, all bool, err error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, nil, 0, false, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := waitRevLocked(ctx, &c.mu, c.caughtUp, func() bool { return c.rev >= atLeast }); err != nil {
		return nil, nil, 0, false, err
	}
	m := c.byCluster[cluster]
	log := c.changes[cluster]
	if log == nil {
		log = &changeLog{dropped: c.loadGen}
	}
	if gen <= 0 || gen < log.dropped {
		changed = make([]cachedInstance, 0, len(m))
		for _, e := range m {
			changed = append(changed, e)
		}
		return changed, nil, c.gen, true, nil
	}
	i, _ := slices.BinarySearchFunc(log.entries, gen+1, func(ch instanceChange, g int64) int { return cmp.Compare(ch.gen, g) })
	seen := make(map[string]bool, len(log.entries)-i)
	for _, ch := range log.entries[i:] {
		if seen[ch.id] {
			continue
		}
		seen[ch.id] = true
		if e, ok := m[ch.id]; ok {
			changed = append(changed, e)
		} else {
			gone = append(gone, ch.id)
		}
	}
	return changed, gone, c.gen, false, nil
}

func decodeCached(kv store.KV) (cachedInstance, string, bool) {
	cluster, id, ok := splitInstanceKey(kv.Key)
	if !ok {
		return cachedInstance{}, "", false
	}
	inst, err := state.Instances.Decode(kv) // shared: copied before a change
	if err != nil {
		return cachedInstance{}, "", false
	}
	if inst.ID != id || inst.Cluster != cluster {
		c := *inst
		c.ID, c.Cluster = id, cluster
		inst = &c
	}
	return cachedInstance{key: kv.Key, rev: kv.Revision, inst: inst}, cluster, true
}

func splitInstanceKey(key string) (cluster, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, state.InstancesPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "/")
}

// instances returns the cluster's instances as the cache holds them, once the
// cache has seen every instance change up to atLeast (a revision the caller
// committed or read, so it sees its own writes). The slice is the caller's;
// the instances in it are shared and read-only.
func (c *instanceCache) instances(ctx context.Context, cluster string, atLeast int64) ([]cachedInstance, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := waitRevLocked(ctx, &c.mu, c.caughtUp, func() bool { return c.rev >= atLeast }); err != nil {
		return nil, err
	}
	m := c.byCluster[cluster]
	out := make([]cachedInstance, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	return out, nil
}

// lookup returns the instance as the cache holds it now, without waiting:
// false when the cache has not loaded yet or does not know the instance (a
// registration it has not seen). It is for readers that may act on a view a
// moment old, as the agents' polls and reports do; the entry is shared.
func (c *instanceCache) lookup(cluster, id string) (cachedInstance, bool) {
	select {
	case <-c.ready:
	default:
		return cachedInstance{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byCluster[cluster][id]
	return e, ok
}

// waitRev waits, with mu not held, until done (called with mu held) is true
// or ctx ends; cond must be broadcast whenever done may have become true.
func waitRev(ctx context.Context, mu *sync.Mutex, cond *sync.Cond, done func() bool) error {
	mu.Lock()
	defer mu.Unlock()
	return waitRevLocked(ctx, mu, cond, done)
}

// waitRevLocked is waitRev with mu already held.
func waitRevLocked(ctx context.Context, mu *sync.Mutex, cond *sync.Cond, done func() bool) error {
	if done() {
		return nil
	}
	// Wake the waiter if ctx ends while it sleeps on the condition.
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		cond.Broadcast()
		mu.Unlock()
	})
	defer stop()
	for !done() && ctx.Err() == nil {
		cond.Wait()
	}
	return ctx.Err()
}

// countInstances returns how many of the cluster's instances are registered
// (ACTIVE or DRAINING), once the cache has seen the store at atLeast.
func (c *instanceCache) countInstances(ctx context.Context, cluster string, atLeast int64) (int, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := waitRevLocked(ctx, &c.mu, c.caughtUp, func() bool { return c.rev >= atLeast }); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range c.byCluster[cluster] {
		if (e.inst.Status == instanceActive || e.inst.Status == instanceDraining) && !inFargatePool(e.inst) {
			n++
		}
	}
	return n, nil
}
