package metrics

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Metric names. CPUUtilization and MemoryUtilization are CloudWatch's names
// in the AWS/ECS namespace; the ECSService... names are Application Auto
// Scaling's predefined metric types, which mean the same service metrics.
const (
	CPUUtilization       = "CPUUtilization"
	MemoryUtilization    = "MemoryUtilization"
	ServiceAverageCPU    = "ECSServiceAverageCPUUtilization"
	ServiceAverageMemory = "ECSServiceAverageMemoryUtilization"
)

// Source is what Service Auto Scaling reads. *Utilization implements it; a
// test can hand a scaler a fake.
type Source interface {
	// ServiceAverage is the service's utilization in percent of what its
	// tasks reserved, over the samples of the last window (whole minutes:
	// the minute now falls in and the ones before it that the window
	// reaches). False when no task of the service reported in the window,
	// or none reserved the resource.
	ServiceAverage(cluster, service, metric string, window time.Duration) (float64, bool)
}

// Config configures a Utilization.
type Config struct {
	Store store.Store
	Log   *slog.Logger
	Now   func() time.Time // nil: time.Now
	// ServiceMinutes and TaskMinutes are how many one-minute points are
	// kept per service (default 60) and per running task (default 5: a
	// million running tasks hold 120 MB of them).
	ServiceMinutes, TaskMinutes int
}

// Utilization keeps the usage agents report as per-minute utilization of
// each task and service, and follows the store for what each task reserved,
// which service it belongs to, and the cluster state the Prometheus
// collector exports.
type Utilization struct {
	st                      store.Store
	log                     *slog.Logger
	now                     func() time.Time
	svcMinutes, taskMinutes int

	mu        sync.Mutex
	tasks     map[string]*task     // task key → what is known of it
	services  map[svcKey]*series   // per service
	instances map[string]*instance // instance key → its resources
	counts    map[statusKey]int    // tasks by cluster and lastStatus
	ready     [2]chan struct{}     // closed once tasks, instances are listed
	readyOnce [2]sync.Once

	accepted, dropped atomic.Uint64
}

type svcKey struct{ cluster, service string }

type statusKey struct{ cluster, status string }

// task is what Utilization knows of one task. A million running tasks
// keep one each, so it is kept small: the strings are interned or the
// map's own key, the latest sample is single precision.
type task struct {
	key                         string // tasks/CLUSTER/ID, the map's key
	service, instanceID, status string
	cpuRes, memRes              float32 // CPU units, MiB
	series                      series  // no points until a sample, and none once STOPPED
	lastAt                      int64   // the latest sample's time, Unix nanoseconds (0: none)
	lastCPU, lastMem            float32 // its usage: CPU units, MiB
}

// clusterID is the task's cluster and ID.
func (t *task) clusterID() (cluster, id string) { return splitKey(state.TasksPrefix, t.key) }

// latest is the latest sample.
func (t *task) latest() sample {
	return sample{at: time.Unix(0, t.lastAt), cpuUsed: float64(t.lastCPU), cpuRes: float64(t.cpuRes),
		memUsed: float64(t.lastMem), memRes: float64(t.memRes)}
}

// New returns a Utilization; Run keeps it current.
func New(cfg Config) *Utilization {
	u := &Utilization{
		st: cfg.Store, log: cfg.Log, now: cfg.Now,
		svcMinutes: cfg.ServiceMinutes, taskMinutes: cfg.TaskMinutes,
		tasks: map[string]*task{}, services: map[svcKey]*series{},
		instances: map[string]*instance{}, counts: map[statusKey]int{},
		ready: [2]chan struct{}{make(chan struct{}), make(chan struct{})},
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.now == nil {
		u.now = time.Now
	}
	if u.svcMinutes <= 0 {
		u.svcMinutes = 60
	}
	if u.taskMinutes <= 0 {
		u.taskMinutes = 5
	}
	return u
}

// Run follows the store's tasks and instances and drops the series of
// services that have reported nothing for as long as a series lasts, until
// ctx ends.
func (u *Utilization) Run(ctx context.Context) {
	go state.Follow(ctx, u.st, u.log, state.TasksPrefix, u.loadTasks, u.applyTask)
	go state.Follow(ctx, u.st, u.log, state.InstancesPrefix, u.loadInstances, u.applyInstance)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			u.sweep()
		}
	}
}

// Ready is closed once the first listing of tasks and instances is loaded.
func (u *Utilization) Ready(ctx context.Context) error {
	for _, ch := range u.ready {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (u *Utilization) sweep() {
	oldest := unixMinute(u.now()) - int64(u.svcMinutes)
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, s := range u.services {
		if s.newest() <= oldest {
			delete(u.services, k)
		}
	}
}

// RecordTaskStats keeps the samples of tasks placed on the reporting
// instance and answers how many it kept (ecsapi.StatsSink). Samples are
// moved by the difference between the agent's clock and the server's.
func (u *Utilization) RecordTaskStats(cluster, instanceID string, in *agentproto.SubmitTaskStatsRequest) int {
	now := u.now()
	var skew time.Duration
	if !in.SentAt.IsZero() {
		skew = now.Sub(in.SentAt)
	}
	oldest := now.Add(-time.Duration(u.svcMinutes) * time.Minute)
	kept := 0
	u.mu.Lock()
	defer u.mu.Unlock()
	key := []byte(state.ClusterTasksPrefix(cluster))
	prefix := len(key)
	for _, s := range in.Samples {
		id, ok := taskIDOf(s.TaskArn, cluster)
		key = append(key[:prefix], id...)
		t := u.tasks[string(key)] // no string is made for a lookup
		if !ok || t == nil || t.instanceID != instanceID || t.status == "STOPPED" {
			continue
		}
		at := s.Time.Add(skew)
		if at.After(now) {
			at = now
		}
		if at.Before(oldest) {
			continue
		}
		smp := sample{at: at, cpuUsed: s.CPUUnits, cpuRes: float64(t.cpuRes), memUsed: s.MemoryMiB, memRes: float64(t.memRes)}
		if t.series.pts == nil {
			t.series = newSeries(u.taskMinutes)
		}
		t.series.add(smp)
		if at.UnixNano() >= t.lastAt {
			t.lastAt, t.lastCPU, t.lastMem = at.UnixNano(), float32(s.CPUUnits), float32(s.MemoryMiB)
		}
		if t.service != "" {
			k := svcKey{cluster, t.service}
			if u.services[k] == nil {
				r := newSeries(u.svcMinutes)
				u.services[k] = &r
			}
			u.services[k].add(smp)
		}
		kept++
	}
	u.accepted.Add(uint64(kept))
	u.dropped.Add(uint64(len(in.Samples) - kept))
	return kept
}

// taskIDOf is the ID of a task ARN of cluster (arn:...:task/CLUSTER/ID).
func taskIDOf(arn, cluster string) (string, bool) {
	i := strings.LastIndex(arn, ":task/")
	if i < 0 {
		return "", false
	}
	c, id, ok := strings.Cut(arn[i+len(":task/"):], "/")
	return id, ok && c == cluster && id != "" && !strings.Contains(id, "/")
}

// ServiceAverage implements Source.
func (u *Utilization) ServiceAverage(cluster, service, metric string, window time.Duration) (float64, bool) {
	now := u.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.services[svcKey{cluster, service}]
	if s == nil {
		return 0, false
	}
	p := s.sum(now.Add(-window), now)
	return p.value(metric)
}

// TaskAverage is a task's CPUUtilization or MemoryUtilization over the
// last window, as ServiceAverage computes it; for running tasks only.
func (u *Utilization) TaskAverage(cluster, taskID, metric string, window time.Duration) (float64, bool) {
	now := u.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	t := u.tasks[state.TaskKey(cluster, taskID)]
	if t == nil || t.series.pts == nil {
		return 0, false
	}
	p := t.series.sum(now.Add(-window), now)
	return p.value(metric)
}

// ServiceSeries is the service's metric per minute over the minutes kept,
// oldest first (for graphs).
func (u *Utilization) ServiceSeries(cluster, service, metric string) []Point {
	now := u.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.services[svcKey{cluster, service}]
	if s == nil {
		return nil
	}
	return s.points(metric, now)
}

// Samples counts the samples kept and dropped since the start.
func (u *Utilization) Samples() (accepted, dropped uint64) {
	return u.accepted.Load(), u.dropped.Load()
}
