package docker

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Bounds of CPU shares the Linux kernel accepts; ECS clamps cpu units to them.
const (
	minCPUShares = 2
	maxCPUShares = 262144
)

// ECS health check defaults, applied where the spec leaves a zero, because
// Docker's own defaults differ (its timeout is 30s, not 5s).
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 5 * time.Second
	defaultHealthRetries  = 3
)

// Create makes the container. A missing image gives ErrImageNotFound, a
// taken name ErrNameInUse, a spec Docker refuses ErrInvalidSpec.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	cfg, host, err := translate(spec)
	if err != nil {
		return "", err
	}
	resp, err := r.cli.ContainerCreate(ctx, cfg, host, nil, nil, spec.Name)
	if err != nil {
		what := "docker create " + spec.Name
		switch {
		case cerrdefs.IsNotFound(err):
			// The only thing create looks up is the image.
			return "", fmt.Errorf("%s: %w: %s: %w", what, runtime.ErrImageNotFound, spec.Image, err)
		case cerrdefs.IsConflict(err):
			return "", fmt.Errorf("%s: %w: %w", what, runtime.ErrNameInUse, err)
		case cerrdefs.IsInvalidArgument(err):
			return "", fmt.Errorf("%s: %w: %w", what, runtime.ErrInvalidSpec, err)
		}
		return "", r.fail("create", spec.Name, err)
	}
	return resp.ID, nil
}

// translate maps a ContainerSpec to Docker's create request. It is pure, so
// the ECS-to-Docker rules are unit tested without a daemon.
func translate(s runtime.ContainerSpec) (*container.Config, *container.HostConfig, error) {
	if s.Image == "" {
		return nil, nil, invalid("image is required")
	}
	cfg := &container.Config{
		Image:      s.Image,
		Hostname:   s.Hostname,
		User:       s.User,
		WorkingDir: s.WorkingDir,
		Env:        envList(s.Env),
		Labels:     maps.Clone(s.Labels),
		StopSignal: s.StopSignal,
		Tty:        s.PseudoTerminal,
		OpenStdin:  s.Interactive,
	}
	// An empty list means "the image's", as in ECS; Docker would take an
	// empty non-nil list as "none".
	if len(s.Entrypoint) > 0 {
		cfg.Entrypoint = slices.Clone(s.Entrypoint)
	}
	if len(s.Command) > 0 {
		cfg.Cmd = slices.Clone(s.Command)
	}
	if s.StopTimeout > 0 {
		secs := ceilSeconds(s.StopTimeout)
		cfg.StopTimeout = &secs
	}
	hc, err := healthConfig(s.HealthCheck)
	if err != nil {
		return nil, nil, err
	}
	cfg.Healthcheck = hc

	host := &container.HostConfig{
		Links:          slices.Clone(s.Links),
		DNS:            slices.Clone(s.DNSServers),
		DNSSearch:      slices.Clone(s.DNSSearch),
		Privileged:     s.Privileged,
		ReadonlyRootfs: s.ReadonlyRootfs,
		CapAdd:         slices.Clone(s.CapAdd),
		CapDrop:        slices.Clone(s.CapDrop),
		SecurityOpt:    slices.Clone(s.SecurityOptions),
		Sysctls:        maps.Clone(s.Sysctls),
		ShmSize:        s.ShmSizeMiB << 20,
		LogConfig:      container.LogConfig{Type: "json-file"},
	}
	if s.Init {
		init := true
		host.Init = &init
	}
	if s.LogConfig != nil && s.LogConfig.Driver != "" {
		host.LogConfig = container.LogConfig{Type: s.LogConfig.Driver, Config: maps.Clone(s.LogConfig.Options)}
	}
	for _, h := range s.ExtraHosts {
		host.ExtraHosts = append(host.ExtraHosts, h.Hostname+":"+h.IPAddress)
	}
	for _, u := range s.Ulimits {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	if err := setResources(s, &host.Resources); err != nil {
		return nil, nil, err
	}
	if err := setNetwork(s, cfg, host); err != nil {
		return nil, nil, err
	}
	if err := setStorage(s, cfg, host); err != nil {
		return nil, nil, err
	}
	return cfg, host, nil
}

func setResources(s runtime.ContainerSpec, res *container.Resources) error {
	res.CPUShares = min(max(s.CPU, minCPUShares), maxCPUShares)
	if s.MemoryMiB < 0 || s.MemoryReservationMiB < 0 {
		return invalid("memory must not be negative")
	}
	res.Memory = s.MemoryMiB << 20
	res.MemoryReservation = s.MemoryReservationMiB << 20
	if s.MaxSwapMiB != nil {
		// Docker's MemorySwap is memory plus swap, and needs a memory limit.
		if s.MemoryMiB == 0 {
			return invalid("maxSwap needs a hard memory limit")
		}
		res.MemorySwap = (s.MemoryMiB + *s.MaxSwapMiB) << 20
	}
	if s.Swappiness != nil {
		v := *s.Swappiness
		res.MemorySwappiness = &v
	}
	return nil
}

func setNetwork(s runtime.ContainerSpec, cfg *container.Config, host *container.HostConfig) error {
	mode := s.NetworkMode
	switch mode {
	case "":
		mode = "bridge"
	case "awsvpc":
		return invalid("network mode awsvpc is not a Docker network mode; the agent must give the task's network")
	}
	host.NetworkMode = container.NetworkMode(mode)
	if len(s.PortMappings) == 0 {
		return nil
	}
	if mode == "none" {
		return invalid("port mappings need a network: network mode is none")
	}
	cfg.ExposedPorts = nat.PortSet{}
	if mode != "host" {
		host.PortBindings = nat.PortMap{}
	}
	for _, pm := range s.PortMappings {
		proto := strings.ToLower(pm.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" {
			return invalid("port mapping protocol %q: want tcp or udp", pm.Protocol)
		}
		if pm.ContainerPort < 1 || pm.ContainerPort > 65535 || pm.HostPort < 0 || pm.HostPort > 65535 {
			return invalid("port mapping %d:%d out of range", pm.HostPort, pm.ContainerPort)
		}
		port, err := nat.NewPort(proto, strconv.Itoa(pm.ContainerPort))
		if err != nil {
			return invalid("port mapping: %v", err)
		}
		cfg.ExposedPorts[port] = struct{}{}
		if mode == "host" {
			// The container binds host ports itself; ECS allows only the same
			// port (or none) on the host side.
			if pm.HostPort != 0 && pm.HostPort != pm.ContainerPort {
				return invalid("host network mode: hostPort %d must equal containerPort %d", pm.HostPort, pm.ContainerPort)
			}
			continue
		}
		b := nat.PortBinding{HostIP: pm.HostIP}
		if pm.HostPort != 0 {
			b.HostPort = strconv.Itoa(pm.HostPort)
		} // else empty: Docker picks a free ephemeral port.
		host.PortBindings[port] = append(host.PortBindings[port], b)
	}
	return nil
}

func setStorage(s runtime.ContainerSpec, cfg *container.Config, host *container.HostConfig) error {
	for _, m := range s.Mounts {
		if !path.IsAbs(m.Target) {
			return invalid("mount target %q must be an absolute path", m.Target)
		}
		suffix := ""
		if m.ReadOnly {
			suffix = ":ro"
		}
		switch m.Type {
		case runtime.MountBind:
			if !path.IsAbs(m.Source) {
				return invalid("bind mount source %q must be an absolute host path", m.Source)
			}
			// Binds, not Mounts: Docker then creates a missing host
			// directory, as ECS does for a host sourcePath.
			host.Binds = append(host.Binds, m.Source+":"+m.Target+suffix)
		case runtime.MountVolume:
			if m.Source != "" {
				host.Binds = append(host.Binds, m.Source+":"+m.Target+suffix)
				continue
			}
			if m.ReadOnly {
				return invalid("anonymous volume at %q cannot be read-only", m.Target)
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[m.Target] = struct{}{}
		default:
			return invalid("mount type %q: want bind or volume", m.Type)
		}
	}
	for _, v := range s.VolumesFrom {
		ref := v.Container
		if v.ReadOnly {
			ref += ":ro"
		}
		host.VolumesFrom = append(host.VolumesFrom, ref)
	}
	for _, t := range s.Tmpfs {
		if !path.IsAbs(t.ContainerPath) {
			return invalid("tmpfs path %q must be absolute", t.ContainerPath)
		}
		opts := slices.Clone(t.MountOptions)
		if t.SizeMiB > 0 {
			opts = append([]string{"size=" + strconv.FormatInt(t.SizeMiB, 10) + "m"}, opts...)
		}
		if host.Tmpfs == nil {
			host.Tmpfs = map[string]string{}
		}
		host.Tmpfs[t.ContainerPath] = strings.Join(opts, ",")
	}
	return nil
}

// healthConfig maps an ECS health check; ECS's CMD / CMD-SHELL forms are
// Docker's own, so the command passes through once checked.
func healthConfig(h *runtime.HealthCheck) (*container.HealthConfig, error) {
	if h == nil {
		return nil, nil
	}
	if len(h.Command) < 2 || (h.Command[0] != "CMD" && h.Command[0] != "CMD-SHELL") {
		return nil, invalid("health check command %q must be CMD or CMD-SHELL followed by the command", h.Command)
	}
	if h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 || h.Retries < 0 {
		return nil, invalid("health check durations and retries must not be negative")
	}
	hc := &container.HealthConfig{
		Test:        slices.Clone(h.Command),
		Interval:    cmp.Or(h.Interval, defaultHealthInterval),
		Timeout:     cmp.Or(h.Timeout, defaultHealthTimeout),
		Retries:     cmp.Or(h.Retries, defaultHealthRetries),
		StartPeriod: h.StartPeriod,
	}
	return hc, nil
}

// envList renders the environment sorted, so equal specs give equal requests.
func envList(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", runtime.ErrInvalidSpec, fmt.Sprintf(format, args...))
}
