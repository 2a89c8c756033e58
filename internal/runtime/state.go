package runtime

import "time"

// Status is the runtime's lifecycle state of a container, as Docker names it.
type Status string

const (
	StatusCreated    Status = "created"
	StatusRunning    Status = "running"
	StatusPaused     Status = "paused"
	StatusRestarting Status = "restarting"
	StatusRemoving   Status = "removing"
	StatusExited     Status = "exited"
	StatusDead       Status = "dead"
)

// Health is a container's health in the ECS HealthStatus enum.
type Health string

const (
	HealthHealthy   Health = "HEALTHY"
	HealthUnhealthy Health = "UNHEALTHY"
	// HealthUnknown covers no health check at all and a check that has not
	// passed or failed yet, as ECS reports both.
	HealthUnknown Health = "UNKNOWN"
)

// ContainerState is a container as the runtime sees it now.
type ContainerState struct {
	ID      string
	Name    string
	Image   string // the reference it was created from
	ImageID string // the image's content id (digest)
	// Labels are read only: a runtime may hand every caller the same map
	// (labels never change after create).
	Labels map[string]string

	Status     Status
	ExitCode   int // meaningful once Status is exited or dead
	OOMKilled  bool
	Error      string // why the runtime failed to start or run it, if it did
	CreatedAt  time.Time
	StartedAt  time.Time // zero if never started
	FinishedAt time.Time // zero if it has not exited

	Health       Health
	HealthOutput string // output of the latest health check, for diagnosis

	// Ports are the actual host bindings of published ports, so dynamic
	// host ports can be reported; empty unless the container runs.
	Ports []PortBinding
}

// Running reports whether the container's processes are alive.
func (s ContainerState) Running() bool {
	return s.Status == StatusRunning || s.Status == StatusPaused || s.Status == StatusRestarting
}

// PortBinding is one published port as bound on the host.
type PortBinding struct {
	ContainerPort int
	HostPort      int
	Protocol      string // "tcp" or "udp"
	HostIP        string
}

// EventKind is what happened to a container.
type EventKind string

const (
	EventCreated   EventKind = "created"
	EventStarted   EventKind = "started"
	EventExited    EventKind = "exited"
	EventOOM       EventKind = "oom"
	EventHealth    EventKind = "health"
	EventDestroyed EventKind = "destroyed"
)

// Event reports a change to a container. It is a hint to Inspect it.
type Event struct {
	ID       string
	Name     string
	Kind     EventKind
	Time     time.Time
	ExitCode int    // with EventExited
	Health   Health // with EventHealth
}

// Stats is one sample of a container's resource usage. CPU counters are
// cumulative, so a utilisation is the difference of two samples:
// (ΔCPUTotal / ΔSystemCPU) × OnlineCPUs is the number of CPUs busy.
type Stats struct {
	Time        time.Time
	CPUTotal    time.Duration // CPU time used by the container so far
	SystemCPU   time.Duration // CPU time of the whole host so far
	OnlineCPUs  int
	MemoryBytes uint64 // in use, without reclaimable page cache (as docker stats)
	MemoryLimit uint64 // the effective limit: the hard limit or the host's memory
	NetworkRx   uint64 // bytes received, summed over interfaces
	NetworkTx   uint64 // bytes sent, summed over interfaces
	Pids        uint64
}
