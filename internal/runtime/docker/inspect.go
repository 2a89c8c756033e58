package docker

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/go-connections/nat"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// maxHealthOutput bounds the health check output kept in a state: it is
// for a person reading a stopped reason, not a log.
const maxHealthOutput = 1024

// Inspect reports the container's state; ErrNotFound once it is gone.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.ContainerState, error) {
	resp, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return runtime.ContainerState{}, r.fail("inspect", id, err)
	}
	return toState(resp), nil
}

// List inspects every container, stopped ones included, that carries all of
// labels. The summary Docker lists lacks exit codes, health and times, so
// each one is inspected; one that vanishes in between is left out.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.ContainerState, error) {
	found, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilter(labels)})
	if err != nil {
		return nil, r.fail("list", "", err)
	}
	out := make([]runtime.ContainerState, 0, len(found))
	for _, c := range found {
		st, err := r.Inspect(ctx, c.ID)
		switch {
		case err == nil:
			out = append(out, st)
		case errors.Is(err, runtime.ErrNotFound):
		default:
			return nil, err
		}
	}
	return out, nil
}

func labelFilter(labels map[string]string) filters.Args {
	f := filters.NewArgs()
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	return f
}

// toState maps Docker's inspect answer to the runtime's state. Docker
// leaves pointers nil for parts it has nothing to say about, so each is
// checked.
func toState(c container.InspectResponse) runtime.ContainerState {
	var s runtime.ContainerState
	if c.ContainerJSONBase != nil {
		s.ID = c.ID
		s.Name = strings.TrimPrefix(c.Name, "/")
		s.ImageID = c.Image
		s.CreatedAt = parseTime(c.Created)
		if st := c.State; st != nil {
			s.Status = runtime.Status(st.Status)
			s.ExitCode = st.ExitCode
			s.OOMKilled = st.OOMKilled
			s.Error = st.Error
			s.StartedAt = parseTime(st.StartedAt)
			s.FinishedAt = parseTime(st.FinishedAt)
			s.Health, s.HealthOutput = health(st.Health)
		}
	}
	if s.Health == "" {
		s.Health = runtime.HealthUnknown
	}
	if c.Config != nil {
		s.Image = c.Config.Image
		s.Labels = c.Config.Labels
	}
	if c.NetworkSettings != nil {
		s.Ports = portBindings(c.NetworkSettings.Ports)
	}
	return s
}

// health maps Docker's health to ECS's: "starting" and "none" are UNKNOWN.
func health(h *container.Health) (runtime.Health, string) {
	if h == nil {
		return runtime.HealthUnknown, ""
	}
	var out string
	if n := len(h.Log); n > 0 && h.Log[n-1] != nil {
		out = strings.TrimSpace(h.Log[n-1].Output)
		if len(out) > maxHealthOutput {
			out = out[:maxHealthOutput]
		}
	}
	switch h.Status {
	case container.Healthy:
		return runtime.HealthHealthy, out
	case container.Unhealthy:
		return runtime.HealthUnhealthy, out
	}
	return runtime.HealthUnknown, out
}

// portBindings flattens Docker's port map. Docker publishes each port on
// IPv4 and IPv6; some engines (20.10) even give the IPv6 side its own dynamic
// host port. A port with an IPv4 binding is reported by that binding alone,
// which is what clients on 127.0.0.1 or the host's address reach; IPv6-only
// bindings are kept.
func portBindings(pm nat.PortMap) []runtime.PortBinding {
	type portKey struct {
		port  int
		proto string
	}
	hasV4 := map[portKey]bool{}
	for port, binds := range pm {
		for _, b := range binds {
			if !strings.Contains(b.HostIP, ":") {
				hasV4[portKey{port.Int(), port.Proto()}] = true
			}
		}
	}
	var out []runtime.PortBinding
	seen := map[runtime.PortBinding]bool{}
	for port, binds := range pm {
		for _, b := range binds {
			hostPort, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue // exposed but not published
			}
			if strings.Contains(b.HostIP, ":") && hasV4[portKey{port.Int(), port.Proto()}] {
				continue
			}
			key := runtime.PortBinding{ContainerPort: port.Int(), HostPort: hostPort, Protocol: port.Proto()}
			if seen[key] {
				continue
			}
			seen[key] = true
			key.HostIP = b.HostIP
			out = append(out, key)
		}
	}
	slices.SortFunc(out, func(a, b runtime.PortBinding) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort), cmp.Compare(a.Protocol, b.Protocol),
			cmp.Compare(a.HostPort, b.HostPort))
	})
	return out
}

// parseTime reads Docker's RFC 3339 times; Docker writes the zero time
// ("0001-01-01T00:00:00Z") for "never", which parses to the zero Time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
