package sdapi

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

// Catalog is an in-memory view of the Cloud Map documents, fed by a store
// watch: the DNS server and DiscoverInstances answer from it without
// touching the store. Records in it are replaced, never changed in place,
// so readers may keep the pointers they are handed.
type Catalog struct {
	st  store.Store
	log *slog.Logger

	mu         sync.RWMutex
	rev        int64         // the store revision the view reflects
	changed    chan struct{} // closed and replaced whenever rev moves
	namespaces map[string]*state.CloudMapNamespace
	nsByName   map[string]string // lower-case name → namespace ID
	services   map[string]*state.CloudMapService
	svcByName  map[string]string // namespace ID "/" lower-case name → service ID
	instances  map[string]map[string]*state.CloudMapInstance
	// instRev is each service's InstancesRevision: the store revision of
	// the last change to its instances.
	instRev map[string]int64
	// owned indexes the instances Wharf's registrar made by task key.
	owned map[string]map[string]bool
}

// NewCatalog returns an empty catalog; Run fills it and keeps it current.
func NewCatalog(st store.Store, log *slog.Logger) *Catalog {
	c := &Catalog{st: st, log: log, changed: make(chan struct{})}
	c.reset()
	return c
}

func (c *Catalog) reset() {
	c.namespaces = map[string]*state.CloudMapNamespace{}
	c.nsByName = map[string]string{}
	c.services = map[string]*state.CloudMapService{}
	c.svcByName = map[string]string{}
	c.instances = map[string]map[string]*state.CloudMapInstance{}
	c.owned = map[string]map[string]bool{}
	// instRev survives a reset: a re-listing must not move a service's
	// InstancesRevision backwards.
	if c.instRev == nil {
		c.instRev = map[string]int64{}
	}
}

// Run follows the store until ctx ends.
func (c *Catalog) Run(ctx context.Context) {
	follow(ctx, c.st, c.log, []string{state.CloudMapPrefix}, c.load, c.apply)
}

func (c *Catalog) load(lists [][]store.KV, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reset()
	for _, kv := range lists[0] {
		c.put(kv, rev)
	}
	// Any service's instances may have changed while the watch was down.
	for id := range c.instRev {
		c.instRev[id] = rev
	}
	c.advance(rev)
}

func (c *Catalog) apply(ev store.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.HasPrefix(ev.KV.Key, state.CloudMapPrefix) {
		if ev.Type == store.EventDelete {
			c.remove(ev.KV.Key, ev.KV.Revision)
		} else {
			c.put(ev.KV, ev.KV.Revision)
		}
	}
	c.advance(ev.KV.Revision)
}

func (c *Catalog) advance(rev int64) {
	if rev > c.rev {
		c.rev = rev
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

func decodeInto[T any](kv store.KV, log *slog.Logger) *T {
	v := new(T)
	if err := json.Unmarshal(kv.Value, v); err != nil {
		log.Error("undecodable document ignored", "key", kv.Key, "err", err)
		return nil
	}
	return v
}

func (c *Catalog) put(kv store.KV, rev int64) {
	key := kv.Key
	switch {
	case strings.HasPrefix(key, state.CloudMapNamespacesPrefix):
		c.removeNamespace(strings.TrimPrefix(key, state.CloudMapNamespacesPrefix))
		if ns := decodeInto[state.CloudMapNamespace](kv, c.log); ns != nil {
			c.namespaces[ns.ID] = ns
			c.nsByName[strings.ToLower(ns.Name)] = ns.ID
		}
	case strings.HasPrefix(key, state.CloudMapServicesPrefix):
		c.removeService(strings.TrimPrefix(key, state.CloudMapServicesPrefix))
		if s := decodeInto[state.CloudMapService](kv, c.log); s != nil {
			c.services[s.ID] = s
			c.svcByName[s.NamespaceID+"/"+strings.ToLower(s.Name)] = s.ID
			if _, ok := c.instRev[s.ID]; !ok {
				c.instRev[s.ID] = rev
			}
		}
	case strings.HasPrefix(key, state.CloudMapInstancesPrefix):
		i := decodeInto[state.CloudMapInstance](kv, c.log)
		if i == nil {
			return
		}
		c.removeInstance(key, rev)
		m := c.instances[i.ServiceID]
		if m == nil {
			m = map[string]*state.CloudMapInstance{}
			c.instances[i.ServiceID] = m
		}
		m[i.ID] = i
		if i.Task != "" {
			if c.owned[i.Task] == nil {
				c.owned[i.Task] = map[string]bool{}
			}
			c.owned[i.Task][key] = true
		}
		c.instRev[i.ServiceID] = rev
	}
}

func (c *Catalog) remove(key string, rev int64) {
	switch {
	case strings.HasPrefix(key, state.CloudMapNamespacesPrefix):
		c.removeNamespace(strings.TrimPrefix(key, state.CloudMapNamespacesPrefix))
	case strings.HasPrefix(key, state.CloudMapServicesPrefix):
		id := strings.TrimPrefix(key, state.CloudMapServicesPrefix)
		c.removeService(id)
		delete(c.instRev, id)
	case strings.HasPrefix(key, state.CloudMapInstancesPrefix):
		c.removeInstance(key, rev)
	}
}

func (c *Catalog) removeNamespace(id string) {
	if ns := c.namespaces[id]; ns != nil {
		delete(c.nsByName, strings.ToLower(ns.Name))
		delete(c.namespaces, id)
	}
}

func (c *Catalog) removeService(id string) {
	if s := c.services[id]; s != nil {
		delete(c.svcByName, s.NamespaceID+"/"+strings.ToLower(s.Name))
		delete(c.services, id)
	}
}

func (c *Catalog) removeInstance(key string, rev int64) {
	svcID, id, ok := state.ParseCloudMapInstanceKey(key)
	if !ok {
		return
	}
	old := c.instances[svcID][id]
	if old == nil {
		return
	}
	delete(c.instances[svcID], id)
	if len(c.instances[svcID]) == 0 {
		delete(c.instances, svcID)
	}
	if old.Task != "" {
		delete(c.owned[old.Task], key)
		if len(c.owned[old.Task]) == 0 {
			delete(c.owned, old.Task)
		}
	}
	c.instRev[svcID] = rev
}

// Sync waits, up to a second, until the catalog reflects every change the
// store had committed when Sync was called (a reader's own writes).
func (c *Catalog) Sync(ctx context.Context) error {
	want, err := c.st.Revision(ctx)
	if err != nil {
		return err
	}
	deadline := time.NewTimer(time.Second)
	defer deadline.Stop()
	for {
		c.mu.RLock()
		rev, ch := c.rev, c.changed
		c.mu.RUnlock()
		if rev >= want {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			// A transaction that only deleted absent keys moves the
			// revision without an event; answer from what is known.
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Revision is the store revision the catalog reflects.
func (c *Catalog) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// entry is what a name resolves to: a service with its namespace and
// instances, as of one moment.
type entry struct {
	ns        *state.CloudMapNamespace
	svc       *state.CloudMapService
	instances []*state.CloudMapInstance
	revision  int64
}

// lookup finds the service name in a namespace, both without case; ns is
// nil when the namespace is unknown, svc nil when the service is.
func (c *Catalog) lookup(namespaceName, serviceName string) entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ns := c.namespaces[c.nsByName[strings.ToLower(namespaceName)]]
	if ns == nil {
		return entry{}
	}
	return c.entryLocked(ns, serviceName)
}

func (c *Catalog) entryLocked(ns *state.CloudMapNamespace, serviceName string) entry {
	svc := c.services[c.svcByName[ns.ID+"/"+strings.ToLower(serviceName)]]
	if svc == nil {
		return entry{ns: ns}
	}
	e := entry{ns: ns, svc: svc, revision: c.instRev[svc.ID]}
	for _, i := range c.instances[svc.ID] {
		e.instances = append(e.instances, i)
	}
	return e
}

// zone finds the DNS namespace a DNS name falls in (the longest one that is
// a suffix of it) and returns it with the part of the name before it ("" at
// the namespace's apex). The name is lower case without the final dot.
func (c *Catalog) zone(name string) (*state.CloudMapNamespace, string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for rest, suffix := "", name; ; {
		if ns := c.namespaces[c.nsByName[suffix]]; ns != nil && ns.IsDNS() {
			return ns, rest
		}
		i := strings.IndexByte(suffix, '.')
		if i < 0 {
			return nil, ""
		}
		if rest == "" {
			rest = suffix[:i]
		} else {
			rest += "." + suffix[:i]
		}
		suffix = suffix[i+1:]
	}
}

// entryIn resolves a service name within a known namespace.
func (c *Catalog) entryIn(ns *state.CloudMapNamespace, serviceName string) entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.entryLocked(ns, serviceName)
}

// service returns a service by ID.
func (c *Catalog) service(id string) *state.CloudMapService {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.services[id]
}

// ownedBy lists the instance keys the registrar made for a task.
func (c *Catalog) ownedBy(task string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.owned[task]))
	for k := range c.owned[task] {
		out = append(out, k)
	}
	return out
}

// owners lists the tasks the registrar has instances for.
func (c *Catalog) owners() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.owned))
	for t := range c.owned {
		out = append(out, t)
	}
	return out
}

// hasNamesUnder reports whether a namespace has a service whose name ends
// in "."+rest: rest is then a name that exists without records of its own.
func (c *Catalog) hasNamesUnder(ns *state.CloudMapNamespace, rest string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	prefix, suffix := ns.ID+"/", "."+rest
	for k := range c.svcByName {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}
