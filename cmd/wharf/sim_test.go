package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// lockedBuffer is runSim's output, read by the test while runSim writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func simTestConfig(endpoint string) simConfig {
	return simConfig{
		Endpoint: endpoint, Cluster: "load", Instances: 50, CPU: 2048, MemoryMiB: 4096,
		Zones: []string{"a", "b", "c"}, Attributes: map[string]string{"disk": "ssd"},
		InstanceType: "wharf.sim", PollWait: 5 * time.Second, Retention: time.Minute, Concurrency: 8,
		Credentials: ecstest.TestCredentials,
	}
}

func TestSimRegistersInstancesAcrossZones(t *testing.T) {
	srv := ecstest.Start(t)
	cfg := simTestConfig(srv.URL())
	cfg.Deregister = true
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runSim(ctx, cfg, &out) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "registered 50/50 instances in cluster load") {
		select {
		case err := <-done:
			t.Fatalf("runSim ended early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances not registered after 30s; output:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	zones := map[string]int{}
	for _, ci := range describeAll(t, srv.Client, "load") {
		attrs := map[string]string{}
		for _, a := range ci.Attributes {
			attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		zones[attrs["ecs.availability-zone"]]++
		if attrs["disk"] != "ssd" || attrs["ecs.instance-type"] != "wharf.sim" {
			t.Errorf("instance %s: disk=%q instance-type=%q; want ssd and wharf.sim", aws.ToString(ci.ContainerInstanceArn), attrs["disk"], attrs["ecs.instance-type"])
		}
		if ci.RemainingResources == nil || !ci.AgentConnected {
			t.Errorf("instance %s: agentConnected %v; want a connected agent", aws.ToString(ci.ContainerInstanceArn), ci.AgentConnected)
		}
	}
	if zones["a"] != 17 || zones["b"] != 17 || zones["c"] != 16 {
		t.Errorf("instances per zone = %v; want a:17 b:17 c:16 (round-robin)", zones)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runSim after interrupt = %v; want nil", err)
	}
	if !strings.Contains(out.String(), "stopped 50 simulated agents") || !strings.Contains(out.String(), "deregistered 50 instances") {
		t.Errorf("output lacks the stop and deregistration summary:\n%s", out.String())
	}
	if left := describeAll(t, srv.Client, "load"); len(left) != 0 {
		t.Errorf("%d instances still ACTIVE after --deregister", len(left))
	}
}

// describeAll lists the cluster's ACTIVE instances page by page and
// describes them.
func describeAll(t *testing.T, c *ecs.Client, cluster string) []types.ContainerInstance {
	t.Helper()
	ctx := context.Background()
	var arns []string
	p := ecs.NewListContainerInstancesPaginator(c, &ecs.ListContainerInstancesInput{
		Cluster: aws.String(cluster), Status: types.ContainerInstanceStatusActive, MaxResults: aws.Int32(20),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, page.ContainerInstanceArns...)
	}
	var out []types.ContainerInstance
	for len(arns) > 0 {
		n := min(len(arns), 100)
		d, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: arns[:n]})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.ContainerInstances...)
		arns = arns[n:]
	}
	return out
}

func TestSimFailsFastWhenRegistrationIsRefused(t *testing.T) {
	srv := ecstest.Start(t)
	cfg := simTestConfig(srv.URL())
	cfg.Cluster = "not a valid name!"
	var out lockedBuffer
	done := make(chan error, 1)
	go func() { done <- runSim(context.Background(), cfg, &out) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "failed to register") || !strings.Contains(err.Error(), "InvalidParameterException") {
			t.Fatalf("runSim = %v; want the registration's InvalidParameterException", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runSim kept going after every registration was refused")
	}
}

func TestSimConfigCheck(t *testing.T) {
	good := simTestConfig("http://127.0.0.1:1")
	tests := []struct {
		name   string
		change func(*simConfig)
		want   string
	}{
		{"no endpoint", func(c *simConfig) { c.Endpoint = "" }, "--endpoint is required"},
		{"no instances", func(c *simConfig) { c.Instances = 0 }, "--instances 0"},
		{"no cpu", func(c *simConfig) { c.CPU = 0 }, "--cpu 0"},
		{"no zones", func(c *simConfig) { c.Zones = splitList(" , ") }, "--zones"},
		{"no concurrency", func(c *simConfig) { c.Concurrency = 0 }, "--concurrency 0"},
	}
	if err := good.check(); err != nil {
		t.Fatalf("check of a good config = %v", err)
	}
	for _, tt := range tests {
		c := good
		tt.change(&c)
		if err := c.check(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: check = %v; want an error mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestSimLogGoesQuietOnStop(t *testing.T) {
	var buf lockedBuffer
	stop, cancel := context.WithCancel(context.Background())
	log := slog.New(quietAfter{Handler: slog.NewTextHandler(&buf, nil), stop: stop}).With("role", "agent")
	log.Warn("control plane unreachable")
	cancel()
	log.Warn("request cancelled")
	if got := buf.String(); !strings.Contains(got, "control plane unreachable") || strings.Contains(got, "cancelled") {
		t.Fatalf("log = %q; want the line before the stop and none after", got)
	}
}

// The agents share several transports, each with its share of the idle
// connections: one transport's lock could not keep up with ten thousand.
func TestSimHTTPClientsAreSharded(t *testing.T) {
	for _, tt := range []struct{ instances, clients, idle int }{
		{10000, 64, (10000/4+64)/64 + 1},
		{3, 3, (3/4+64)/3 + 1},
	} {
		clients := newSimHTTPClients(&simConfig{Instances: tt.instances, Concurrency: 64, PollWait: time.Second}, 0)
		if len(clients) != tt.clients {
			t.Fatalf("%d instances: %d clients; want %d", tt.instances, len(clients), tt.clients)
		}
		seen := map[*http.Transport]bool{}
		for _, c := range clients {
			tr := c.Transport.(*http.Transport)
			if seen[tr] || tr.MaxIdleConnsPerHost != tt.idle {
				t.Fatalf("%d instances: transport shared or with %d idle connections; want its own with %d", tt.instances, tr.MaxIdleConnsPerHost, tt.idle)
			}
			seen[tr] = true
		}
	}
	// Under a limit of open files, the clients' connections together stay
	// below it, yet leave each shard's agents a long poll each.
	for _, tt := range []struct {
		files uint64
		want  int
	}{{20000, (20000 - 1024) / 64}, {4096, 10000/64 + 1 + 16}, {1 << 40, 0}} {
		clients := newSimHTTPClients(&simConfig{Instances: 10000, Concurrency: 64, PollWait: time.Second}, tt.files)
		if got := clients[0].Transport.(*http.Transport).MaxConnsPerHost; got != tt.want {
			t.Errorf("%d open files: %d connections a client; want %d", tt.files, got, tt.want)
		}
	}
}
