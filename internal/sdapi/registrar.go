package sdapi

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// HostIPAttribute is the container instance attribute that gives the address
// a host's published ports are reached at (`wharf agent --attribute
// wharf.host-ip=10.0.0.5`). Without it the registrar uses the server's
// default host address.
const HostIPAttribute = "wharf.host-ip"

// Registrar registers the tasks of ECS services that have serviceRegistries
// as Cloud Map instances, as ECS does: instance ID the task ID, address the
// task's host, port the host port bound to the registry's containerName and
// containerPort. A task is registered once it is RUNNING (and, when its task
// definition has health checks, HEALTHY — or, for a Cloud Map service with a
// custom health check, registered at once with its health reported), and
// deregistered when it is to stop or has stopped.
//
// It is level-triggered: a watch of tasks, services and container instances
// queues task keys; a worker computes each task's desired instance from the
// current view and converges the store, touching only instances it made.
// A periodic resync catches what the queue missed (a Cloud Map service
// created late, an instance deregistered by hand). One registrar runs per
// server for now; with replicated servers it belongs to the leader.
type Registrar struct {
	api    *API
	st     store.Store
	log    *slog.Logger
	hostIP string
	resync time.Duration

	mu         sync.Mutex
	keyRev     map[string]int64 // the revision of each key in the view
	tasks      map[string]*taskInfo
	byService  map[string]map[string]bool // ECS service key → task keys
	byInstance map[string]map[string]bool // container instance key → task keys
	services   map[string][]model.ServiceRegistry
	hosts      map[string]hostInfo
	pending    map[string]bool
	resyncAll  bool // a (re)listing asks the worker to look at every task
	wake       chan struct{}

	// Worker-only state.
	written  map[string]string // task key → instance key it wrote last
	tdHealth map[string]bool   // task definition ARN → has a health check
}

// RegistrarConfig configures a Registrar.
type RegistrarConfig struct {
	// HostIP is the address of hosts whose container instance has no
	// wharf.host-ip attribute; default DefaultHostIP().
	HostIP string
	// Resync is how often every task is looked at again; default 30s.
	Resync time.Duration
}

type taskInfo struct {
	cluster, id, arn string
	service          string // ECS service key
	instance         string // container instance key
	last, desired    string
	health           model.HealthStatus
	taskDef          string
	zone             string
	containers       []model.Container
}

type hostInfo struct {
	ip    string
	ec2ID string
}

// NewRegistrar returns a registrar writing through api.
func (a *API) NewRegistrar(cfg RegistrarConfig) *Registrar {
	r := &Registrar{api: a, st: a.st, log: a.log.With("component", "registrar"), hostIP: cfg.HostIP, resync: cfg.Resync,
		wake: make(chan struct{}, 1), written: map[string]string{}, tdHealth: map[string]bool{}}
	if r.hostIP == "" {
		r.hostIP = DefaultHostIP()
	}
	if r.resync <= 0 {
		r.resync = 30 * time.Second
	}
	r.reset()
	return r
}

// DefaultHostIP is this machine's address on its default route (the one
// containers and other hosts reach its published ports at), or 127.0.0.1
// when it has none. No packet is sent.
func DefaultHostIP() string {
	c, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
		return a.IP.String()
	}
	return "127.0.0.1"
}

func (r *Registrar) reset() {
	r.keyRev = map[string]int64{}
	r.tasks = map[string]*taskInfo{}
	r.byService = map[string]map[string]bool{}
	r.byInstance = map[string]map[string]bool{}
	r.services = map[string][]model.ServiceRegistry{}
	r.hosts = map[string]hostInfo{}
	if r.pending == nil {
		r.pending = map[string]bool{}
	}
}

// Run registers and deregisters until ctx ends.
func (r *Registrar) Run(ctx context.Context) {
	go follow(ctx, r.st, r.log, []string{state.TasksPrefix, state.ServicesPrefix, state.InstancesPrefix}, r.load, r.apply)
	t := time.NewTicker(r.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.enqueueAll()
		case <-r.wake:
			r.mu.Lock()
			all := r.resyncAll
			r.resyncAll = false
			r.mu.Unlock()
			if all {
				r.enqueueAll()
			}
		}
		r.drain(ctx)
	}
}

func (r *Registrar) load(lists [][]store.KV, _ int64) {
	r.mu.Lock()
	r.reset()
	for _, l := range lists {
		for _, kv := range l {
			r.putLocked(kv)
		}
	}
	r.resyncAll = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Registrar) apply(ev store.Event) {
	k := ev.KV.Key
	if !strings.HasPrefix(k, state.TasksPrefix) && !strings.HasPrefix(k, state.ServicesPrefix) && !strings.HasPrefix(k, state.InstancesPrefix) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.KV.Revision <= r.keyRev[k] {
		return // a later listing already had this change
	}
	if ev.Type == store.EventDelete {
		// Events come in revision order: once a key is deleted, no older
		// change of it can follow, and its revision need not be kept.
		r.removeLocked(k)
		delete(r.keyRev, k)
		return
	}
	r.putLocked(ev.KV)
}

// putLocked takes one document into the view; only those the registrar
// needs are kept (with their revision): service tasks, services with
// registries, container instances.
func (r *Registrar) putLocked(kv store.KV) {
	switch {
	case strings.HasPrefix(kv.Key, state.TasksPrefix):
		t, err := state.Tasks.Decode(kv)
		if err != nil {
			r.log.Error("undecodable document ignored", "key", kv.Key, "err", err)
			return
		}
		name, ok := strings.CutPrefix(t.Group, "service:")
		if !ok {
			return
		}
		rest := strings.TrimPrefix(kv.Key, state.TasksPrefix)
		cluster, id, _ := strings.Cut(rest, "/")
		info := &taskInfo{cluster: cluster, id: id, arn: t.TaskArn, service: state.ServiceKey(cluster, name),
			last: t.LastStatus, desired: t.DesiredStatus, health: t.HealthStatus, taskDef: t.TaskDefinitionArn,
			zone: t.AvailabilityZone, containers: t.Containers}
		if t.InstanceID != "" {
			info.instance = state.InstanceKey(cluster, t.InstanceID)
		}
		r.removeTaskLocked(kv.Key)
		r.keyRev[kv.Key] = kv.Revision
		r.tasks[kv.Key] = info
		index(r.byService, info.service, kv.Key)
		if info.instance != "" {
			index(r.byInstance, info.instance, kv.Key)
		}
		r.enqueueLocked(kv.Key)
	case strings.HasPrefix(kv.Key, state.ServicesPrefix):
		s := decodeInto[state.Service](kv, r.log)
		if s == nil {
			return
		}
		if len(s.ServiceRegistries) == 0 && len(r.services[kv.Key]) == 0 {
			return
		}
		r.keyRev[kv.Key] = kv.Revision
		r.services[kv.Key] = s.ServiceRegistries
		for t := range r.byService[kv.Key] {
			r.enqueueLocked(t)
		}
	case strings.HasPrefix(kv.Key, state.InstancesPrefix):
		ci, err := state.Instances.Decode(kv)
		if err != nil {
			r.log.Error("undecodable document ignored", "key", kv.Key, "err", err)
			return
		}
		r.keyRev[kv.Key] = kv.Revision
		h := hostInfo{ec2ID: ci.Ec2InstanceId}
		for _, a := range ci.Attributes {
			if a.Name != HostIPAttribute {
				continue
			}
			if ip, err := netip.ParseAddr(a.Value); err == nil && ip.Is4() {
				h.ip = ip.String()
			} else {
				r.log.Warn("container instance attribute "+HostIPAttribute+" is not an IPv4 address; using the default host address", "instance", kv.Key, "value", a.Value)
			}
		}
		if old, ok := r.hosts[kv.Key]; ok && old == h {
			return
		}
		r.hosts[kv.Key] = h
		for t := range r.byInstance[kv.Key] {
			r.enqueueLocked(t)
		}
	}
}

func (r *Registrar) removeLocked(key string) {
	switch {
	case strings.HasPrefix(key, state.TasksPrefix):
		r.removeTaskLocked(key)
		r.enqueueLocked(key)
	case strings.HasPrefix(key, state.ServicesPrefix):
		delete(r.services, key)
		for t := range r.byService[key] {
			r.enqueueLocked(t)
		}
	case strings.HasPrefix(key, state.InstancesPrefix):
		delete(r.hosts, key)
	}
}

func (r *Registrar) removeTaskLocked(key string) {
	old := r.tasks[key]
	if old == nil {
		return
	}
	unindex(r.byService, old.service, key)
	if old.instance != "" {
		unindex(r.byInstance, old.instance, key)
	}
	delete(r.tasks, key)
}

func index(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

func unindex(m map[string]map[string]bool, k, v string) {
	delete(m[k], v)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

func (r *Registrar) enqueueLocked(task string) {
	r.pending[task] = true
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// enqueueAll queues every service task known and every task the registrar
// has instances for (whose task may be gone). Only the worker calls it.
func (r *Registrar) enqueueAll() {
	owners := r.api.catalog.owners()
	r.mu.Lock()
	defer r.mu.Unlock()
	for t := range r.tasks {
		r.enqueueLocked(t)
	}
	for _, t := range owners {
		r.enqueueLocked(t)
	}
	for t := range r.written {
		r.enqueueLocked(t)
	}
}

func (r *Registrar) drain(ctx context.Context) {
	for ctx.Err() == nil {
		r.mu.Lock()
		var keys []string
		for k := range r.pending {
			keys = append(keys, k)
		}
		clear(r.pending)
		r.mu.Unlock()
		if len(keys) == 0 {
			return
		}
		for _, k := range keys {
			if err := r.reconcile(ctx, k); err != nil && ctx.Err() == nil {
				r.log.Warn("service registry update failed; retrying", "task", k, "err", err)
				go r.requeueLater(ctx, k)
			}
		}
	}
}

func (r *Registrar) requeueLater(ctx context.Context, key string) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		r.mu.Lock()
		r.enqueueLocked(key)
		r.mu.Unlock()
	}
}

// reconcile makes the store hold exactly the instance a task should have.
func (r *Registrar) reconcile(ctx context.Context, taskKey string) error {
	want, err := r.desired(ctx, taskKey)
	if err != nil {
		return err
	}
	candidates := map[string]bool{}
	for _, k := range r.api.catalog.ownedBy(taskKey) {
		candidates[k] = true
	}
	if k := r.written[taskKey]; k != "" {
		candidates[k] = true
	}
	wantKey := ""
	if want != nil {
		wantKey = state.CloudMapInstanceKey(want.ServiceID, want.ID)
		if err := r.register(ctx, wantKey, want); err != nil {
			return err
		}
		r.written[taskKey] = wantKey
	} else {
		delete(r.written, taskKey)
	}
	for k := range candidates {
		if k == wantKey {
			continue
		}
		if err := r.deregister(ctx, k, taskKey); err != nil {
			return err
		}
	}
	return nil
}

func (r *Registrar) register(ctx context.Context, key string, want *state.CloudMapInstance) error {
	return retry(ctx, func() error {
		cur, _, err := state.Get[state.CloudMapInstance](ctx, r.st, key)
		if err != nil && !isNotFound(err) {
			return err
		}
		if cur != nil && cur.Task == want.Task && cur.Health == want.Health && maps.Equal(cur.Attributes, want.Attributes) {
			return nil
		}
		svc, svcRev, err := state.Get[state.CloudMapService](ctx, r.st, state.CloudMapServiceKey(want.ServiceID))
		if isNotFound(err) {
			return nil // the Cloud Map service is gone: nothing to register with
		}
		if err != nil {
			return err
		}
		inst := *want
		inst.Attributes = maps.Clone(want.Attributes)
		inst.CreateDate = r.api.timeNow()
		if _, err := r.api.putInstance(ctx, svc, svcRev, &inst, nil); err != nil {
			return err
		}
		r.log.Info("task registered", "task", want.Task, "service", svc.Name, "instance", inst.ID,
			"ipv4", inst.Attributes[state.CloudMapAttrIPv4], "port", inst.Attributes[state.CloudMapAttrPort], "health", inst.Health)
		return nil
	})
}

// deregister removes an instance the registrar made for task; one somebody
// registered again by hand since is left alone.
func (r *Registrar) deregister(ctx context.Context, key, task string) error {
	return retry(ctx, func() error {
		cur, rev, err := state.Get[state.CloudMapInstance](ctx, r.st, key)
		if isNotFound(err) {
			return nil
		}
		if err != nil || cur.Task != task {
			return err
		}
		_, err = r.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Delete(key)}})
		if err == nil {
			r.log.Info("task deregistered", "task", task, "instance", cur.ID, "service_id", cur.ServiceID)
		}
		return err
	})
}
