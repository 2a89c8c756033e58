// Package service is the service controller: it keeps each ECS service's
// tasks at its desired state. It is level-triggered: on a timer and on every
// change to the services, tasks and container instances of a cluster, it
// re-reads the service (desired) and its tasks and instances (actual), and
// acts idempotently: starts missing tasks, replaces those that stopped or
// were lost, stops the surplus, rolls deployments within the deployment
// configuration's limits, and trips the circuit breaker. It records what it
// observes (counts, rollout states, events) on the service.
//
// Only one controller may run against a store: two would both start the
// missing tasks. The server runs one; leader election through the store
// arrives with replicated control planes.
package service

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Launcher starts and stops a service's tasks; the ECS API implements it, so
// that service tasks are placed and stopped exactly like RunTask's.
type Launcher interface {
	LaunchServiceTasks(ctx context.Context, l ecsapi.ServiceLaunch) (launched []string, failures []model.Failure, err error)
	StopServiceTask(ctx context.Context, cluster, taskArn, reason string) error
}

// Tuning holds the controller's timings. Zero values take the defaults.
type Tuning struct {
	// Interval is how often every service is reconciled even if nothing
	// changed (health that comes with time, backoffs that end); default 1s.
	Interval time.Duration
	// HealthyAfter is how long a task without container health checks must
	// be RUNNING to count as healthy, as ECS does; default 40s.
	HealthyAfter time.Duration
	// BackoffBase and BackoffMax bound the exponential delay between
	// launches of a service whose tasks keep failing to start; default 1s
	// and 1 minute.
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

func (t Tuning) withDefaults() Tuning {
	if t.Interval <= 0 {
		t.Interval = time.Second
	}
	if t.HealthyAfter <= 0 {
		t.HealthyAfter = 40 * time.Second
	}
	if t.BackoffBase <= 0 {
		t.BackoffBase = time.Second
	}
	if t.BackoffMax <= 0 {
		t.BackoffMax = time.Minute
	}
	return t
}

// Config configures the controller.
type Config struct {
	Store    store.Store
	Launcher Launcher
	// Fence, on a replicated control plane, is the leader's fence: the
	// launches carry its condition as Store's writes do (ServiceLaunch.Fence).
	Fence  func() (store.Cond, error)
	Tuning Tuning
	Now    func() time.Time
	Log    *slog.Logger
}

// Controller reconciles services.
type Controller struct {
	st    store.Store
	ln    Launcher
	fence func() (store.Cond, error)
	tun   Tuning
	now   func() time.Time
	log   *slog.Logger
	tds   map[string]*tdInfo              // task definition ARN → what the controller needs of it
	held  map[string][]model.ServiceEvent // service key → events not yet written (a write lost a race)
	// rebalances are the rebalancing steps under way, rebalancedAt when each
	// service's last one ended (rebalance.go), by service key.
	rebalances   map[string]rebalanceStep
	rebalancedAt map[string]time.Time

	mu    sync.Mutex
	dirty map[string]bool // clusters changed since the last round
	kick  chan struct{}
}

// New returns a service controller.
func New(cfg Config) *Controller {
	c := &Controller{
		st: cfg.Store, ln: cfg.Launcher, fence: cfg.Fence, tun: cfg.Tuning.withDefaults(), now: cfg.Now, log: cfg.Log,
		tds: map[string]*tdInfo{}, held: map[string][]model.ServiceEvent{},
		rebalances: map[string]rebalanceStep{}, rebalancedAt: map[string]time.Time{},
		dirty: map[string]bool{}, kick: make(chan struct{}, 1),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Run reconciles until ctx ends: every service on each interval, and the
// services of a cluster as soon as something in it changes.
func (c *Controller) Run(ctx context.Context) {
	for _, prefix := range []string{state.ServicesPrefix, state.TasksPrefix, state.InstancesPrefix} {
		go c.follow(ctx, prefix)
	}
	tick := time.NewTicker(c.tun.Interval)
	defer tick.Stop()
	all := true
	for {
		if err := c.Round(ctx, all); err != nil && ctx.Err() == nil {
			c.log.Warn("service reconcile round failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			all = true
		case <-c.kick:
			all = false
			// Let a burst of changes (a commit of many tasks, their
			// reports) settle into one round.
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// follow marks the cluster of every changed key under prefix dirty. A watch
// that breaks is resumed; what happened in between is caught by the timer.
func (c *Controller) follow(ctx context.Context, prefix string) {
	for ctx.Err() == nil {
		rev, err := c.st.Revision(ctx)
		if err == nil {
			var ch <-chan store.Event
			ch, err = c.st.Watch(ctx, prefix, rev)
			if err == nil {
				for ev := range ch {
					c.markDirty(clusterOfKey(prefix, ev.KV.Key))
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Warn("watch failed; resuming", "prefix", prefix, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// clusterOfKey is CLUSTER of PREFIX/CLUSTER/REST.
func clusterOfKey(prefix, key string) string {
	rest := strings.TrimPrefix(key, prefix)
	cluster, _, _ := strings.Cut(rest, "/")
	return cluster
}

func (c *Controller) markDirty(cluster string) {
	if cluster == "" {
		return
	}
	c.mu.Lock()
	c.dirty[cluster] = true
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Controller) takeDirty() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.dirty
	c.dirty = map[string]bool{}
	return d
}

// Round reconciles the services of every cluster (all) or of the clusters
// that changed since the last round.
func (c *Controller) Round(ctx context.Context, all bool) error {
	dirty := c.takeDirty()
	var clusters []string
	if all {
		items, _, err := state.List[state.Service](ctx, c.st, state.ServicesPrefix, store.ListOptions{})
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, it := range items {
			if !seen[it.Val.Cluster] {
				seen[it.Val.Cluster] = true
				clusters = append(clusters, it.Val.Cluster)
			}
		}
	} else {
		for cl := range dirty {
			clusters = append(clusters, cl)
		}
	}
	var firstErr error
	for _, cl := range clusters {
		if err := c.reconcileCluster(ctx, cl); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.log.Warn("reconcile cluster failed", "cluster", cl, "err", err)
			c.markDirty(cl) // try again next round
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// reconcileCluster reads the cluster's services, tasks and instances once
// and reconciles each service that is not INACTIVE.
func (c *Controller) reconcileCluster(ctx context.Context, cluster string) error {
	svcs, _, err := state.List[state.Service](ctx, c.st, state.ClusterServicesPrefix(cluster), store.ListOptions{})
	if err != nil {
		return err
	}
	live := svcs[:0]
	for _, it := range svcs {
		if it.Val.Status == state.ServiceActive || it.Val.Status == state.ServiceDraining {
			live = append(live, it)
		}
	}
	if len(live) == 0 {
		return nil
	}
	// Instances first: a task placed after this read changes its
	// instance, and the next round sees both.
	insts, _, err := state.List[state.ContainerInstance](ctx, c.st, state.ClusterInstancesPrefix(cluster), store.ListOptions{})
	if err != nil {
		return err
	}
	tasks, _, err := state.List[state.Task](ctx, c.st, state.ClusterTasksPrefix(cluster), store.ListOptions{})
	if err != nil {
		return err
	}
	env := &clusterEnv{cluster: cluster, instances: map[string]*state.ContainerInstance{}, replicaBusy: map[string]bool{}, groups: map[string][]string{}}
	for _, it := range insts {
		env.instances[it.Val.ID] = it.Val
		env.instanceOrder = append(env.instanceOrder, it.Val.ID)
	}
	daemons := map[string]bool{}
	for _, it := range live {
		if it.Val.SchedulingStrategy == model.SchedulingStrategyDaemon {
			daemons[state.ServiceGroup(it.Val.ServiceName)] = true
		}
	}
	byGroup := map[string][]*state.Task{}
	for _, it := range tasks {
		t := it.Val
		if t.LastStatus != "STOPPED" && t.InstanceID != "" {
			env.groups[t.InstanceID] = append(env.groups[t.InstanceID], t.Group)
		}
		if !strings.HasPrefix(t.Group, "service:") {
			continue
		}
		byGroup[t.Group] = append(byGroup[t.Group], t)
		if !daemons[t.Group] && t.LastStatus != "STOPPED" && t.InstanceID != "" {
			env.replicaBusy[t.InstanceID] = true
		}
	}
	var firstErr error
	for _, it := range live {
		if err := c.reconcileService(ctx, it, byGroup[state.ServiceGroup(it.Val.ServiceName)], env); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !store.IsConflict(err) {
				c.log.Warn("reconcile service failed", "service", it.Val.ServiceArn, "err", err)
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// clusterEnv is what every service of a cluster shares in one round.
type clusterEnv struct {
	cluster       string
	instances     map[string]*state.ContainerInstance // by ID
	instanceOrder []string                            // key order
	// replicaBusy marks instances that still hold tasks of REPLICA
	// services: a DAEMON task on a draining instance outlives them.
	replicaBusy map[string]bool
	// groups lists the groups of each instance's tasks that are not
	// STOPPED, for memberOf's task:group.
	groups map[string][]string
	// lb is the load balancing state, read when a service needs it.
	lb *lbState
}

// tdInfo is what the controller needs of a task definition: whether an
// essential container has a health check (its tasks then count as healthy
// only when ECS reports them HEALTHY) and its memberOf constraints (which a
// DAEMON service's instances must meet).
type tdInfo struct {
	healthCheck bool
	memberOf    []string
}

// taskDef reads what the controller needs of a task definition. Task
// definitions never change, so the answer is kept.
func (c *Controller) taskDef(ctx context.Context, arn string) (*tdInfo, error) {
	if v, ok := c.tds[arn]; ok {
		return v, nil
	}
	info := &tdInfo{}
	fam, rev, ok := taskDefOfARN(arn)
	if !ok {
		return info, nil
	}
	td, _, err := state.Get[state.TaskDefinition](ctx, c.st, state.TaskDefKey(fam, rev))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err == nil {
		for _, cd := range td.TaskDefinition.ContainerDefinitions {
			if cd.HealthCheck != nil && (cd.Essential == nil || *cd.Essential) {
				info.healthCheck = true
			}
		}
		for _, pc := range td.TaskDefinition.PlacementConstraints {
			if pc.Type == model.TaskDefinitionPlacementConstraintTypeMemberOf {
				info.memberOf = append(info.memberOf, pc.Expression)
			}
		}
	}
	c.tds[arn] = info
	return info, nil
}

// taskDefOfARN splits …:task-definition/FAMILY:REV.
func taskDefOfARN(arn string) (family string, rev int32, ok bool) {
	i := strings.LastIndex(arn, "task-definition/")
	if i < 0 {
		return "", 0, false
	}
	family, revStr, found := strings.Cut(arn[i+len("task-definition/"):], ":")
	n, err := strconv.ParseInt(revStr, 10, 32)
	if !found || err != nil || n < 1 {
		return "", 0, false
	}
	return family, int32(n), true
}
