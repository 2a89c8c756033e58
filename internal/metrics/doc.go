// Package metrics turns the usage samples agents send into the utilization
// ECS reports, and exports it and the control plane's own figures to
// Prometheus.
//
// # Where the numbers come from
//
// Every agent samples the CPU and memory of its running containers (runtime
// Stats, every 10 s by default), sums them per task, and sends the samples
// in batches (WharfAgent_v1.SubmitTaskStats, every 20 s). The server keeps
// a sample only if its task is placed on the reporting instance and not
// STOPPED. A task's reservation is what placement reserved for it: the
// task-level cpu and memory if set, else the sum of its containers' (memory
// per container: memoryReservation, else memory). As ECS computes them,
//
//	CPUUtilization    = CPU units used / CPU units reserved × 100
//	MemoryUtilization = MiB in use (without page cache) / MiB reserved × 100
//
// for a task, and for a service the same ratio of the sums over its tasks:
// the CPU units used by all its tasks over the CPU units they reserved. CPU
// may exceed 100 (CPU units are a soft share; a task may use idle cores).
// A task that reserved no CPU (or memory) counts for nothing in that metric.
//
// Samples are kept in memory as one-minute points: 60 minutes per service,
// 5 per running task. They are lost when the server restarts and are per
// server: with several servers, each holds the samples of the agents that
// reach it.
//
// # The Go API (for Service Auto Scaling)
//
// Server.Metrics() returns the server's *Utilization, which implements
// Source:
//
//	type Source interface {
//		ServiceAverage(cluster, service, metric string, window time.Duration) (float64, bool)
//	}
//
// cluster and service are names (not ARNs). metric is
// ServiceAverageCPU ("ECSServiceAverageCPUUtilization") or
// ServiceAverageMemory ("ECSServiceAverageMemoryUtilization"), as a target
// tracking policy's PredefinedMetricType names them; CPUUtilization and
// MemoryUtilization are accepted as synonyms. window is how far back to
// look; it covers whole minutes, the current one included (a 3-minute
// window reads the current minute and the 3 before it). The result is
// percent of what the service's tasks reserved, false when no task of the
// service reported in the window (new service, agents not reporting, every
// task stopped) or the tasks reserved none of the resource: a scaler should
// then do nothing. Other metric names answer false.
//
// A target tracking scaler evaluates, say, every minute:
//
//	v, ok := src.ServiceAverage("default", "web", metrics.ServiceAverageCPU, 3*time.Minute)
//	if ok && v > target { /* scale out */ }
//
// Agents report every 20 s, so a minute holds about three samples per task;
// a change in load shows in ServiceAverage within about half a minute.
// TaskAverage and ServiceSeries (per-minute points, for graphs) read the
// same data.
//
// # Prometheus
//
// The collector (Utilization.Collector) exports on every scrape:
// wharf_service_cpu_utilization_percent and
// wharf_service_memory_utilization_percent (last minute),
// wharf_task_cpu_utilization_percent and
// wharf_task_memory_utilization_percent (latest sample of running tasks),
// wharf_tasks by cluster and lastStatus, wharf_container_instances by
// status and agent connection, wharf_container_instance_cpu_units,
// _memory_mib and _tasks per instance, and wharf_agent_stats_samples_total.
// Calls is the API latency histogram, wharf_api_request_duration_seconds.
// The server adds placement, controller and event figures beside them
// (docs/observability.md lists them all).
package metrics
