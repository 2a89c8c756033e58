package docker

import (
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/go-connections/nat"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

func TestToStateOfSparseInspect(t *testing.T) {
	// Docker omits parts it has nothing to say about; nothing may panic.
	if got := toState(container.InspectResponse{}); got.Health != runtime.HealthUnknown {
		t.Errorf("toState(empty).Health = %q; want UNKNOWN", got.Health)
	}
}

func TestToState(t *testing.T) {
	in := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: "abc", Name: "/web", Image: "sha256:1", Created: "2024-05-01T10:00:00.5Z",
			State: &container.State{
				Status: "exited", ExitCode: 137, OOMKilled: true,
				StartedAt: "2024-05-01T10:00:01Z", FinishedAt: "0001-01-01T00:00:00Z",
				Health: &container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{{Output: "  booting \n"}}},
			},
		},
		Config: &container.Config{Image: "wharf-testapp:latest", Labels: map[string]string{"a": "b"}},
	}
	got := toState(in)
	want := runtime.ContainerState{
		ID: "abc", Name: "web", Image: "wharf-testapp:latest", ImageID: "sha256:1", Labels: map[string]string{"a": "b"},
		Status: runtime.StatusExited, ExitCode: 137, OOMKilled: true,
		CreatedAt: time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC),
		StartedAt: time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC),
		Health:    runtime.HealthUnknown, HealthOutput: "booting",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("toState = %+v\nwant %+v", got, want)
	}
}

func TestHealthMapping(t *testing.T) {
	for status, want := range map[string]runtime.Health{
		container.Healthy: runtime.HealthHealthy, container.Unhealthy: runtime.HealthUnhealthy,
		container.Starting: runtime.HealthUnknown, container.NoHealthcheck: runtime.HealthUnknown,
	} {
		if got, _ := health(&container.Health{Status: status}); got != want {
			t.Errorf("health(%q) = %q; want %q", status, got, want)
		}
	}
}

func TestPortBindingsDeduplicatesIPv6(t *testing.T) {
	got := portBindings(nat.PortMap{
		"8080/tcp": {{HostIP: "0.0.0.0", HostPort: "49153"}, {HostIP: "::", HostPort: "49153"}},
		"53/udp":   {{HostIP: "0.0.0.0", HostPort: "5353"}},
		"9000/tcp": nil, // exposed, not published
	})
	want := []runtime.PortBinding{
		{ContainerPort: 53, HostPort: 5353, Protocol: "udp", HostIP: "0.0.0.0"},
		{ContainerPort: 8080, HostPort: 49153, Protocol: "tcp", HostIP: "0.0.0.0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("portBindings = %+v; want %+v", got, want)
	}
}

func TestToEvent(t *testing.T) {
	actor := func(attrs map[string]string) events.Actor {
		return events.Actor{ID: "abc", Attributes: attrs}
	}
	tests := []struct {
		action events.Action
		attrs  map[string]string
		want   runtime.Event
		ok     bool
	}{
		{events.ActionDie, map[string]string{"name": "web", "exitCode": "3"},
			runtime.Event{ID: "abc", Name: "web", Kind: runtime.EventExited, ExitCode: 3}, true},
		{events.ActionHealthStatusHealthy, nil, runtime.Event{ID: "abc", Kind: runtime.EventHealth, Health: runtime.HealthHealthy}, true},
		{events.ActionHealthStatusUnhealthy, nil, runtime.Event{ID: "abc", Kind: runtime.EventHealth, Health: runtime.HealthUnhealthy}, true},
		{events.ActionOOM, nil, runtime.Event{ID: "abc", Kind: runtime.EventOOM}, true},
		{events.ActionDestroy, nil, runtime.Event{ID: "abc", Kind: runtime.EventDestroyed}, true},
		{"exec_start: /testapp -healthcheck", nil, runtime.Event{}, false},
	}
	for _, tt := range tests {
		got, ok := toEvent(events.Message{Action: tt.action, Actor: actor(tt.attrs), TimeNano: 5})
		tt.want.Time = time.Unix(0, 5)
		if !ok {
			tt.want = runtime.Event{}
		}
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("toEvent(%q) = %+v, %t; want %+v, %t", tt.action, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWorkingSetExcludesReclaimableCache(t *testing.T) {
	tests := []struct {
		name string
		m    container.MemoryStats
		want uint64
	}{
		{"cgroup v1", container.MemoryStats{Usage: 100, Stats: map[string]uint64{"total_inactive_file": 30}}, 70},
		{"cgroup v2", container.MemoryStats{Usage: 100, Stats: map[string]uint64{"inactive_file": 40}}, 60},
		{"no stats", container.MemoryStats{Usage: 100}, 100},
		{"inconsistent", container.MemoryStats{Usage: 10, Stats: map[string]uint64{"inactive_file": 40}}, 0},
	}
	for _, tt := range tests {
		if got := workingSet(tt.m); got != tt.want {
			t.Errorf("workingSet(%s) = %d; want %d", tt.name, got, tt.want)
		}
	}
}
