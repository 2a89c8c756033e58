package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// The Prometheus side: a collector that reads Utilization's state on every
// scrape (so series of tasks and instances that are gone simply stop), and
// the API latency histogram.

var (
	descTasks = prometheus.NewDesc("wharf_tasks", "Tasks in the store by cluster and lastStatus.",
		[]string{"cluster", "last_status"}, nil)
	descInstances = prometheus.NewDesc("wharf_container_instances", "Container instances by cluster, status and whether their agent is connected.",
		[]string{"cluster", "status", "agent_connected"}, nil)
	descInstanceCPU = prometheus.NewDesc("wharf_container_instance_cpu_units", "CPU units of a container instance: registered, or remaining for new tasks.",
		[]string{"cluster", "container_instance", "kind"}, nil)
	descInstanceMemory = prometheus.NewDesc("wharf_container_instance_memory_mib", "Memory (MiB) of a container instance: registered, or remaining for new tasks.",
		[]string{"cluster", "container_instance", "kind"}, nil)
	descInstanceTasks = prometheus.NewDesc("wharf_container_instance_tasks", "Tasks on a container instance by state (running, pending).",
		[]string{"cluster", "container_instance", "state"}, nil)
	descServiceCPU = prometheus.NewDesc("wharf_service_cpu_utilization_percent",
		"A service's CPUUtilization: CPU units its tasks used over the last minute, in percent of what they reserved (may exceed 100).",
		[]string{"cluster", "service"}, nil)
	descServiceMemory = prometheus.NewDesc("wharf_service_memory_utilization_percent",
		"A service's MemoryUtilization: memory its tasks used over the last minute, in percent of what they reserved.",
		[]string{"cluster", "service"}, nil)
	descTaskCPU = prometheus.NewDesc("wharf_task_cpu_utilization_percent",
		"A running task's CPU units used in its latest sample, in percent of what it reserved.",
		[]string{"cluster", "service", "task"}, nil)
	descTaskMemory = prometheus.NewDesc("wharf_task_memory_utilization_percent",
		"A running task's memory in use in its latest sample, in percent of what it reserved.",
		[]string{"cluster", "service", "task"}, nil)
	descSamples = prometheus.NewDesc("wharf_agent_stats_samples_total",
		"Task usage samples agents sent: accepted, or dropped (task unknown, not on the reporting instance, stopped, or too old).",
		[]string{"outcome"}, nil)
)

// latestFresh is how old a task's latest sample may be for its gauges.
const latestFresh = 2 * time.Minute

// Collector exports the utilization of services and tasks, tasks by state
// and container instances' resources.
func (u *Utilization) Collector() prometheus.Collector { return collector{u} }

type collector struct{ u *Utilization }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTasks, descInstances, descInstanceCPU, descInstanceMemory,
		descInstanceTasks, descServiceCPU, descServiceMemory, descTaskCPU, descTaskMemory, descSamples} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	u := c.u
	now := u.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	accepted, dropped := u.Samples()
	ch <- prometheus.MustNewConstMetric(descSamples, prometheus.CounterValue, float64(accepted), "accepted")
	ch <- prometheus.MustNewConstMetric(descSamples, prometheus.CounterValue, float64(dropped), "dropped")

	u.mu.Lock()
	defer u.mu.Unlock()
	for k, n := range u.counts {
		gauge(descTasks, float64(n), k.cluster, k.status)
	}
	type instKey struct {
		cluster, status string
		connected       bool
	}
	byState := map[instKey]int{}
	for _, in := range u.instances {
		byState[instKey{in.cluster, in.status, in.connected}]++
		gauge(descInstanceCPU, float64(in.cpu[0]), in.cluster, in.id, "registered")
		gauge(descInstanceCPU, float64(in.cpu[1]), in.cluster, in.id, "remaining")
		gauge(descInstanceMemory, float64(in.memory[0]), in.cluster, in.id, "registered")
		gauge(descInstanceMemory, float64(in.memory[1]), in.cluster, in.id, "remaining")
		gauge(descInstanceTasks, float64(in.runningTasks), in.cluster, in.id, "running")
		gauge(descInstanceTasks, float64(in.pendingTasks), in.cluster, in.id, "pending")
	}
	for k, n := range byState {
		gauge(descInstances, float64(n), k.cluster, k.status, strconv.FormatBool(k.connected))
	}
	for k, s := range u.services {
		p := s.sum(now.Add(-time.Minute), now)
		if v, ok := p.value(CPUUtilization); ok {
			gauge(descServiceCPU, v, k.cluster, k.service)
		}
		if v, ok := p.value(MemoryUtilization); ok {
			gauge(descServiceMemory, v, k.cluster, k.service)
		}
	}
	for _, t := range u.tasks {
		if t.series.pts == nil || now.Sub(time.Unix(0, t.lastAt)) > latestFresh {
			continue
		}
		p := point{}
		p.add(t.latest())
		cluster, id := t.clusterID()
		if v, ok := p.value(CPUUtilization); ok {
			gauge(descTaskCPU, v, cluster, t.service, id)
		}
		if v, ok := p.value(MemoryUtilization); ok {
			gauge(descTaskMemory, v, cluster, t.service, id)
		}
	}
}

// Calls is the latency histogram of answered AWS JSON calls by service,
// operation and error code ("OK" for success). Operations a service does
// not implement are counted as "unknown", so that callers cannot grow the
// label set at will.
type Calls struct {
	h *prometheus.HistogramVec
}

// NewCalls returns an empty histogram.
func NewCalls() *Calls {
	return &Calls{h: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "wharf_api_request_duration_seconds",
		Help: "Time to answer an AWS JSON API call, by service (X-Amz-Target prefix), operation and error code. Long polls (PollTasks) wait up to their waitSeconds by design.",
		// Up to a minute: the agent's long poll waits 20 s by default.
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"service", "operation", "code"})}
}

// Observe records one answered call (server.Setup.OnCall).
func (c *Calls) Observe(op awsproto.Op, err error, took time.Duration) {
	svc, name := "unknown", "unknown"
	if op.Service != nil {
		svc = op.Service.TargetPrefix
		if op.Service.Implemented(op.Name) {
			name = op.Name
		}
	}
	code := "OK"
	if err != nil {
		code = "ServerException"
		if e, ok := awsproto.AsError(err); ok {
			code = e.Code
		}
	}
	c.h.WithLabelValues(svc, name, code).Observe(took.Seconds())
}

// Collector is the histogram to register.
func (c *Calls) Collector() prometheus.Collector { return c.h }
