package docker

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

func TestTranslateCPUShares(t *testing.T) {
	// ECS agent >= 1.84.0: below 2 (including unset) is 2, above 262144 is 262144.
	for cpu, want := range map[int64]int64{0: 2, 1: 2, 2: 2, 256: 256, 1024: 1024, 262144: 262144, 300000: 262144} {
		_, host, err := translate(runtime.ContainerSpec{Image: "x", CPU: cpu})
		if err != nil {
			t.Fatal(err)
		}
		if host.CPUShares != want {
			t.Errorf("translate(cpu %d).CPUShares = %d; want %d", cpu, host.CPUShares, want)
		}
	}
}

func TestTranslateMemory(t *testing.T) {
	swap := int64(64)
	_, host, err := translate(runtime.ContainerSpec{Image: "x", MemoryMiB: 256, MemoryReservationMiB: 128, MaxSwapMiB: &swap, ShmSizeMiB: 32})
	if err != nil {
		t.Fatal(err)
	}
	if host.Memory != 256<<20 || host.MemoryReservation != 128<<20 || host.MemorySwap != 320<<20 || host.ShmSize != 32<<20 {
		t.Errorf("translate memory = %d/%d/swap %d/shm %d; want %d/%d/%d/%d",
			host.Memory, host.MemoryReservation, host.MemorySwap, host.ShmSize, 256<<20, 128<<20, 320<<20, 32<<20)
	}
	noSwap := int64(0)
	_, host, err = translate(runtime.ContainerSpec{Image: "x", MemoryMiB: 100, MaxSwapMiB: &noSwap})
	if err != nil || host.MemorySwap != host.Memory {
		t.Errorf("translate(maxSwap 0) MemorySwap = %d, %v; want %d (no swap)", host.MemorySwap, err, host.Memory)
	}
}

func TestTranslatePorts(t *testing.T) {
	cfg, host, err := translate(runtime.ContainerSpec{Image: "x", PortMappings: []runtime.PortMapping{
		{ContainerPort: 8080},                                // dynamic host port, tcp by default
		{ContainerPort: 53, HostPort: 5353, Protocol: "UDP"}, // ECS enum is lower case; be lenient
		{ContainerPort: 8080, HostPort: 9090, HostIP: "127.0.0.1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantBindings := nat.PortMap{
		"8080/tcp": {{HostPort: ""}, {HostIP: "127.0.0.1", HostPort: "9090"}},
		"53/udp":   {{HostPort: "5353"}},
	}
	if !reflect.DeepEqual(host.PortBindings, wantBindings) {
		t.Errorf("PortBindings = %v; want %v", host.PortBindings, wantBindings)
	}
	if _, ok := cfg.ExposedPorts["53/udp"]; !ok || len(cfg.ExposedPorts) != 2 {
		t.Errorf("ExposedPorts = %v; want 8080/tcp and 53/udp", cfg.ExposedPorts)
	}
	if host.NetworkMode != "bridge" {
		t.Errorf("NetworkMode = %q; want bridge by default", host.NetworkMode)
	}

	_, host, err = translate(runtime.ContainerSpec{Image: "x", NetworkMode: "host", PortMappings: []runtime.PortMapping{{ContainerPort: 80, HostPort: 80}}})
	if err != nil || host.PortBindings != nil {
		t.Errorf("translate(host mode) PortBindings = %v, %v; want none (the container binds itself)", host.PortBindings, err)
	}
}

func TestTranslateHealthCheck(t *testing.T) {
	cfg, _, err := translate(runtime.ContainerSpec{Image: "x", HealthCheck: &runtime.HealthCheck{
		Command: []string{"CMD-SHELL", "wget -q -O- http://127.0.0.1/ || exit 1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := &container.HealthConfig{
		Test:     []string{"CMD-SHELL", "wget -q -O- http://127.0.0.1/ || exit 1"},
		Interval: 30 * time.Second, Timeout: 5 * time.Second, Retries: 3,
	}
	if !reflect.DeepEqual(cfg.Healthcheck, want) {
		t.Errorf("Healthcheck = %+v; want ECS defaults %+v", cfg.Healthcheck, want)
	}
	cfg, _, err = translate(runtime.ContainerSpec{Image: "x", HealthCheck: &runtime.HealthCheck{
		Command:  []string{"CMD", "/testapp", "-healthcheck", "http://127.0.0.1:8080/health"},
		Interval: 5 * time.Second, Timeout: 2 * time.Second, Retries: 1, StartPeriod: 10 * time.Second,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Healthcheck; h.Interval != 5*time.Second || h.Timeout != 2*time.Second || h.Retries != 1 || h.StartPeriod != 10*time.Second {
		t.Errorf("Healthcheck = %+v; want the given interval, timeout, retries, start period", h)
	}
}

func TestTranslateStorageAndMisc(t *testing.T) {
	cfg, host, err := translate(runtime.ContainerSpec{
		Image:       "x",
		Env:         map[string]string{"B": "2", "A": "1"},
		Entrypoint:  []string{},
		Command:     []string{"sh", "-c", "true"},
		StopTimeout: 1500 * time.Millisecond,
		Init:        true,
		Mounts: []runtime.Mount{
			{Type: runtime.MountBind, Source: "/srv/data", Target: "/data", ReadOnly: true},
			{Type: runtime.MountVolume, Source: "cache", Target: "/cache"},
			{Type: runtime.MountVolume, Target: "/scratch"},
		},
		VolumesFrom: []runtime.VolumeFrom{{Container: "other", ReadOnly: true}},
		Tmpfs:       []runtime.Tmpfs{{ContainerPath: "/run", SizeMiB: 16, MountOptions: []string{"noexec"}}},
		ExtraHosts:  []runtime.ExtraHost{{Hostname: "db", IPAddress: "10.0.0.5"}},
		Ulimits:     []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Env", cfg.Env, []string{"A=1", "B=2"}},
		{"Entrypoint (empty means the image's)", cfg.Entrypoint == nil, true},
		{"StopTimeout (rounded up)", *cfg.StopTimeout, 2},
		{"Init", *host.Init, true},
		{"Binds", host.Binds, []string{"/srv/data:/data:ro", "cache:/cache"}},
		{"Volumes", cfg.Volumes, map[string]struct{}{"/scratch": {}}},
		{"VolumesFrom", host.VolumesFrom, []string{"other:ro"}},
		{"Tmpfs", host.Tmpfs, map[string]string{"/run": "size=16m,noexec"}},
		{"ExtraHosts", host.ExtraHosts, []string{"db:10.0.0.5"}},
		{"Ulimits", *host.Ulimits[0], container.Ulimit{Name: "nofile", Soft: 1024, Hard: 4096}},
		{"LogConfig", host.LogConfig.Type, "json-file"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("translate: %s = %#v; want %#v", c.name, c.got, c.want)
		}
	}
}

func TestTranslateRejects(t *testing.T) {
	tests := map[string]runtime.ContainerSpec{
		"no image":              {},
		"health without CMD":    {Image: "x", HealthCheck: &runtime.HealthCheck{Command: []string{"curl", "x"}}},
		"health without a body": {Image: "x", HealthCheck: &runtime.HealthCheck{Command: []string{"CMD-SHELL"}}},
		"awsvpc":                {Image: "x", NetworkMode: "awsvpc"},
		"ports with none":       {Image: "x", NetworkMode: "none", PortMappings: []runtime.PortMapping{{ContainerPort: 80}}},
		"host port differs":     {Image: "x", NetworkMode: "host", PortMappings: []runtime.PortMapping{{ContainerPort: 80, HostPort: 81}}},
		"bad protocol":          {Image: "x", PortMappings: []runtime.PortMapping{{ContainerPort: 80, Protocol: "sctp"}}},
		"port out of range":     {Image: "x", PortMappings: []runtime.PortMapping{{ContainerPort: 70000}}},
		"relative target":       {Image: "x", Mounts: []runtime.Mount{{Type: runtime.MountVolume, Source: "v", Target: "data"}}},
		"relative bind source":  {Image: "x", Mounts: []runtime.Mount{{Type: runtime.MountBind, Source: "data", Target: "/data"}}},
		"unknown mount type":    {Image: "x", Mounts: []runtime.Mount{{Type: "nfs", Source: "/x", Target: "/data"}}},
		"swap without memory":   {Image: "x", MaxSwapMiB: new(int64)},
	}
	for name, spec := range tests {
		if _, _, err := translate(spec); !errors.Is(err, runtime.ErrInvalidSpec) {
			t.Errorf("translate(%s) error = %v; want ErrInvalidSpec", name, err)
		}
	}
}

// Docker 20.10 may give a port's IPv6 binding its own dynamic host port; the
// IPv4 one is what is reported, and IPv6-only bindings are kept.
func TestPortBindingsPreferIPv4(t *testing.T) {
	pm := nat.PortMap{
		"8080/tcp": {{HostIP: "::", HostPort: "32818"}, {HostIP: "0.0.0.0", HostPort: "32819"}},
		"9090/udp": {{HostIP: "::", HostPort: "40000"}},
		"7070/tcp": {{HostIP: "0.0.0.0", HostPort: "5000"}, {HostIP: "::", HostPort: "5000"}},
	}
	got := portBindings(pm)
	want := []runtime.PortBinding{
		{ContainerPort: 7070, HostPort: 5000, Protocol: "tcp", HostIP: "0.0.0.0"},
		{ContainerPort: 8080, HostPort: 32819, Protocol: "tcp", HostIP: "0.0.0.0"},
		{ContainerPort: 9090, HostPort: 40000, Protocol: "udp", HostIP: "::"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("portBindings = %+v; want %+v", got, want)
	}
}
