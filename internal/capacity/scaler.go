package capacity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// The scaler is a level-triggered loop: every Interval it re-reads the
// clusters, their capacity providers, instances, tasks and the launches it
// made, and for each provider with managed scaling (and each cluster's
// Fargate pool) computes CapacityProviderReservation, launches the
// instances the target asks for, and — once the metric has stayed below
// the target for ScaleInAfter — terminates instances that run no task
// other than a daemon's (managed termination protection). Launches are
// recorded in the store before the launcher is called, so a restarted
// server still knows, and can terminate, every instance it started.

// ECS is what the scaler needs of the ECS API.
type ECS interface {
	CreateJoinToken(ctx context.Context, in *agentproto.CreateJoinTokenRequest) (*agentproto.CreateJoinTokenResponse, error)
	DeleteJoinToken(ctx context.Context, in *agentproto.DeleteJoinTokenRequest) (*agentproto.DeleteJoinTokenResponse, error)
	DeregisterContainerInstance(ctx context.Context, in *model.DeregisterContainerInstanceRequest) (*model.DeregisterContainerInstanceResponse, error)
	// WaitingClusters names the clusters that have tasks waiting for
	// capacity, so that a round reads the tasks of those clusters and of
	// clusters with capacity to manage only.
	WaitingClusters() map[string]bool
}

// Tuning sets the scaler's timings; zero values take the defaults.
type Tuning struct {
	// Interval is how often the scaler reads and acts (default 5s).
	Interval time.Duration
	// ScaleInAfter is how long the metric must stay below the target
	// before instances are terminated (default 15 minutes, as ECS's
	// scale-in alarm).
	ScaleInAfter time.Duration
	// LaunchTimeout is how long a launched instance may take to register
	// before it is terminated and launched again (default 5 minutes).
	LaunchTimeout time.Duration
}

// Config configures a scaler.
type Config struct {
	Store    store.Store
	ECS      ECS
	Launcher Launcher
	// Endpoint is the URL the launched agents reach the server at.
	Endpoint string
	Tuning   Tuning
	Log      *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Scaler runs managed scaling.
type Scaler struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	// lowSince is when each group's desired count fell below its
	// instances, for the scale-in delay. Owned by the Run goroutine.
	lowSince map[string]time.Time
}

// New returns a scaler; Run starts it.
func New(cfg Config) *Scaler {
	if cfg.Tuning.Interval <= 0 {
		cfg.Tuning.Interval = 5 * time.Second
	}
	if cfg.Tuning.ScaleInAfter <= 0 {
		cfg.Tuning.ScaleInAfter = 15 * time.Minute
	}
	if cfg.Tuning.LaunchTimeout <= 0 {
		cfg.Tuning.LaunchTimeout = 5 * time.Minute
	}
	s := &Scaler{cfg: cfg, log: cfg.Log, now: cfg.Now, lowSince: map[string]time.Time{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Run scales until ctx ends.
func (s *Scaler) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Tuning.Interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("managed scaling round failed; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// group is one provider in one cluster: the unit managed scaling acts on.
type group struct {
	cluster, provider string
	fargate           bool
	managed           bool // managed scaling ENABLED (always for the Fargate pool)
	target            int
	steps             Steps
	size              Resources // the provider's instance size from its tags (0: the agent's)
	warmup            time.Duration
	instances         []*state.ContainerInstance
	launches          []*state.InstanceLaunch
	waiting           []Resources
	busy              map[string]bool // instance ID → runs a non-daemon task
}

func (g *group) key() string { return g.cluster + "/" + g.provider }

// Tick is one round over every cluster.
func (s *Scaler) Tick(ctx context.Context) error {
	clusters, _, err := state.List[state.Cluster](ctx, s.cfg.Store, state.ClustersPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	providers, _, err := state.List[state.CapacityProvider](ctx, s.cfg.Store, state.CapacityProvidersPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	launches, _, err := state.List[state.InstanceLaunch](ctx, s.cfg.Store, state.CapacityLaunchesPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	byName := map[string]*state.CapacityProvider{}
	for _, p := range providers {
		byName[p.Val.Name] = p.Val
	}
	waiting := s.cfg.ECS.WaitingClusters()
	var errs []error
	seen := map[string]bool{}
	for _, c := range clusters {
		groups, err := s.groups(ctx, c.Val, byName, launches, waiting[c.Val.ClusterName])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, g := range groups {
			seen[g.key()] = true
			if err := s.scale(ctx, g); err != nil {
				errs = append(errs, fmt.Errorf("%s in cluster %s: %w", g.provider, g.cluster, err))
			}
		}
	}
	// Launches of providers no cluster uses any more (or of deleted
	// clusters): their instances go once idle.
	for _, l := range launches {
		if !seen[l.Val.Cluster+"/"+l.Val.Provider] {
			if err := s.retireOrphan(ctx, l.Val); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// groups gathers a cluster's provider groups: each associated provider with
// managed scaling, and the Fargate pool when the cluster has Fargate tasks
// or pool instances.
func (s *Scaler) groups(ctx context.Context, c *state.Cluster, providers map[string]*state.CapacityProvider, launches []state.Item[state.InstanceLaunch], waiting bool) ([]*group, error) {
	if c.Status != "ACTIVE" {
		return nil, nil
	}
	name := c.ClusterName
	launched := slices.ContainsFunc(launches, func(l state.Item[state.InstanceLaunch]) bool { return l.Val.Cluster == name })
	if !waiting && !launched && len(c.CapacityProviders) == 0 {
		// Nothing waits, nothing was launched, no provider: the cluster
		// has no capacity to manage, bar a pool started by hand (which
		// the scaler leaves alone while nothing waits for it).
		return nil, nil
	}
	var out []*group
	byProvider := map[string]*group{}
	for _, pn := range c.CapacityProviders {
		p := providers[pn]
		if p == nil || p.Status != model.CapacityProviderStatusActive || p.AssociatedCluster != name || p.AutoScalingGroupProvider == nil {
			continue
		}
		ms := p.AutoScalingGroupProvider.ManagedScaling
		g := &group{cluster: name, provider: pn, managed: ms != nil && ms.Status == model.ManagedScalingStatusEnabled, busy: map[string]bool{}}
		if ms != nil {
			g.warmup = time.Duration(model.Val(ms.InstanceWarmupPeriod)) * time.Second
			g.target = int(model.Val(ms.TargetCapacity))
			g.steps = Steps{Min: int(model.Val(ms.MinimumScalingStepSize)), Max: int(model.Val(ms.MaximumScalingStepSize))}
		}
		g.size = sizeFromTags(p.Tags)
		out = append(out, g)
		byProvider[pn] = g
	}
	pool := &group{cluster: name, provider: state.FargatePool, fargate: true, managed: true, target: 100, steps: Steps{Min: 1, Max: 10}, busy: map[string]bool{}}
	byProvider[state.FargatePool] = pool
	insts, _, err := state.List[state.ContainerInstance](ctx, s.cfg.Store, state.ClusterInstancesPrefix(name), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, it := range insts {
		in := it.Val
		if in.Status == "INACTIVE" {
			continue
		}
		attrs := attrMap(in.Attributes)
		var g *group
		if _, ok := attrs[state.AttrFargate]; ok {
			g = pool
		} else if pn, ok := attrs[state.AttrCapacityProvider]; ok {
			g = byProvider[pn]
		}
		if g != nil {
			g.instances = append(g.instances, in)
		}
	}
	for _, l := range launches {
		if l.Val.Cluster == name {
			if g := byProvider[l.Val.Provider]; g != nil {
				g.launches = append(g.launches, l.Val)
			}
		}
	}
	if err := s.readTasks(ctx, name, byProvider); err != nil {
		return nil, err
	}
	if len(pool.instances) > 0 || len(pool.launches) > 0 || len(pool.waiting) > 0 || len(pool.busy) > 0 {
		out = append(out, pool)
	}
	return out, nil
}

// readTasks finds, per group, the tasks waiting for capacity and the
// instances that run a task other than a daemon's.
func (s *Scaler) readTasks(ctx context.Context, cluster string, groups map[string]*group) error {
	svcs, _, err := state.List[state.Service](ctx, s.cfg.Store, state.ClusterServicesPrefix(cluster), store.ListOptions{})
	if err != nil {
		return err
	}
	daemon := map[string]bool{}
	for _, sv := range svcs {
		if sv.Val.SchedulingStrategy == model.SchedulingStrategyDaemon {
			daemon[state.ServiceGroup(sv.Val.ServiceName)] = true
		}
	}
	instGroup := map[string]*group{}
	for _, g := range groups {
		for _, in := range g.instances {
			instGroup[in.ID] = g
		}
	}
	tasks, _, err := state.List[state.Task](ctx, s.cfg.Store, state.ClusterTasksPrefix(cluster), store.ListOptions{})
	if err != nil {
		return err
	}
	for _, it := range tasks {
		t := it.Val
		if t.LastStatus == "STOPPED" {
			continue
		}
		if t.InstanceID != "" {
			if g := instGroup[t.InstanceID]; g != nil && !daemon[t.Group] {
				g.busy[t.InstanceID] = true
			}
			continue
		}
		if t.DesiredStatus == "STOPPED" {
			continue
		}
		var g *group
		switch {
		case t.LaunchType == model.LaunchTypeFargate:
			g = groups[state.FargatePool]
		case t.CapacityProviderName != "":
			g = groups[t.CapacityProviderName]
		}
		if g != nil {
			g.waiting = append(g.waiting, taskNeeds(t))
		}
	}
	return nil
}

func taskNeeds(t *state.Task) Resources {
	cpu, _ := strconv.ParseInt(t.Cpu, 10, 64)
	mem, _ := strconv.ParseInt(t.Memory, 10, 64)
	return Resources{CPU: cpu, Memory: mem}
}

func attrMap(attrs []model.Attribute) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.Name] = a.Value
	}
	return m
}

// Provider tags that size the instances a launcher starts (beyond ECS,
// whose Auto Scaling group's launch template says it).
const (
	TagInstanceCPU    = "wharf:instanceCpu"
	TagInstanceMemory = "wharf:instanceMemory"
)

func sizeFromTags(tags []model.Tag) Resources {
	var r Resources
	for _, t := range tags {
		v, err := strconv.ParseInt(t.Value, 10, 64)
		if err != nil || v <= 0 {
			continue
		}
		switch t.Key {
		case TagInstanceCPU:
			r.CPU = v
		case TagInstanceMemory:
			r.Memory = v
		}
	}
	return r
}
