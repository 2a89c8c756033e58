package runtime

import "time"

// ContainerSpec is what a container is made from: an ECS container
// definition after the agent has resolved task-level details (docker names
// for links and volumesFrom, host paths for volumes, labels). Units are ECS
// units; the runtime converts them (CPU units to shares, MiB to bytes).
type ContainerSpec struct {
	Name       string // the runtime's container name, unique on the host
	Image      string
	Entrypoint []string // nil: the image's
	Command    []string // nil: the image's
	Env        map[string]string
	WorkingDir string
	User       string
	Hostname   string
	Labels     map[string]string

	// CPU is the ECS cpu units of the container. Like the ECS agent (1.2.0
	// and later), values below 2 become 2 shares and values above 262144
	// become 262144, the kernel's bounds.
	CPU                  int64
	MemoryMiB            int64  // hard limit; 0: none
	MemoryReservationMiB int64  // soft limit; 0: none
	MaxSwapMiB           *int64 // nil: the host's swap setting; 0: no swap
	Swappiness           *int64 // nil: the host's default
	ShmSizeMiB           int64  // 0: Docker's default

	PortMappings []PortMapping
	NetworkMode  string   // bridge (default), host, none, or a Docker network name
	Links        []string // "container:alias"
	ExtraHosts   []ExtraHost
	DNSServers   []string
	DNSSearch    []string

	Mounts      []Mount
	VolumesFrom []VolumeFrom
	Tmpfs       []Tmpfs

	Ulimits         []Ulimit
	ReadonlyRootfs  bool
	Privileged      bool
	CapAdd          []string
	CapDrop         []string
	SecurityOptions []string
	Sysctls         map[string]string
	Init            bool // run an init process as PID 1 (initProcessEnabled)
	PseudoTerminal  bool
	Interactive     bool

	HealthCheck *HealthCheck
	StopSignal  string        // "": the image's, else SIGTERM
	StopTimeout time.Duration // default grace period of a stop; 0: the runtime's default
	LogConfig   *LogConfig    // nil: json-file with default options
}

// PortMapping publishes a container port on the host.
type PortMapping struct {
	ContainerPort int
	HostPort      int    // 0: a dynamic port the runtime picks (see ContainerState.Ports)
	Protocol      string // "tcp" (default) or "udp"
	HostIP        string // "": all interfaces
}

// ExtraHost is an /etc/hosts entry.
type ExtraHost struct {
	Hostname  string
	IPAddress string
}

// MountType says what a Mount's Source names.
type MountType string

const (
	MountBind   MountType = "bind"   // Source is a host path
	MountVolume MountType = "volume" // Source is a named volume; "" makes an anonymous one
)

// Mount puts a host path or a volume into the container.
type Mount struct {
	Type     MountType
	Source   string
	Target   string // absolute path in the container
	ReadOnly bool
}

// VolumeFrom mounts every volume of another container.
type VolumeFrom struct {
	Container string // runtime name or id of the source container
	ReadOnly  bool
}

// Tmpfs mounts a tmpfs.
type Tmpfs struct {
	ContainerPath string
	SizeMiB       int64
	MountOptions  []string
}

// Ulimit is a resource limit (RLIMIT_*) by its short name, e.g. "nofile".
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// HealthCheck is an ECS container health check. Zero durations and retries
// take the ECS defaults (interval 30s, timeout 5s, 3 retries, no start period),
// which differ from Docker's own (a 30s timeout).
type HealthCheck struct {
	// Command starts with "CMD" (exec the rest) or "CMD-SHELL" (run the
	// single string after it with the container's shell), as in ECS.
	Command     []string
	Interval    time.Duration
	Timeout     time.Duration
	Retries     int
	StartPeriod time.Duration
}

// LogConfig selects the log driver of a container.
type LogConfig struct {
	Driver  string
	Options map[string]string
}
