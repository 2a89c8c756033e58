package ecsapi

import (
	"context"
	"log/slog"
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
}

// cachedInstance is one instance as of its store revision. inst is shared:
// never modify it; Clone before writing.
type cachedInstance struct {
	key  string
	rev  int64
	inst *state.ContainerInstance
}

func newInstanceCache(st store.Store, log *slog.Logger) *instanceCache {
	c := &instanceCache{st: st, log: log, ready: make(chan struct{}), byCluster: map[string]map[string]cachedInstance{}}
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
	}
	if ev.KV.Revision > c.rev {
		c.rev = ev.KV.Revision
		c.caughtUp.Broadcast()
	}
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
