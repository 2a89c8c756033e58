package ecsapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/agent"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

// svRuntime is an in-memory container runtime for the service tests (until
// the simulated runtime, internal/runtime/sim, is there): a container runs
// from Start until Stop or Crash. An image whose name contains "missing"
// is not available, so its tasks fail to start; a container with a health
// check is HEALTHY once started, unless its image contains "unhealthy".
type svRuntime struct {
	mu   sync.Mutex
	seq  int
	ctrs map[string]*runtime.ContainerState
}

func newSvRuntime() *svRuntime { return &svRuntime{ctrs: map[string]*runtime.ContainerState{}} }

func (r *svRuntime) Create(_ context.Context, spec runtime.ContainerSpec) (string, error) {
	if strings.Contains(spec.Image, "missing") {
		return "", fmt.Errorf("image %s: %w", spec.Image, runtime.ErrImageNotFound)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.ctrs {
		if c.Name == spec.Name {
			return "", runtime.ErrNameInUse
		}
	}
	r.seq++
	id := fmt.Sprintf("c%06d", r.seq)
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	health := runtime.Health("")
	if spec.HealthCheck != nil {
		health = runtime.HealthHealthy
		if strings.Contains(spec.Image, "unhealthy") {
			health = runtime.HealthUnhealthy
		}
	}
	r.ctrs[id] = &runtime.ContainerState{ID: id, Name: spec.Name, Image: spec.Image, Labels: labels,
		Status: runtime.StatusCreated, CreatedAt: time.Now(), Health: health}
	return id, nil
}

func (r *svRuntime) get(id string) (*runtime.ContainerState, error) {
	c := r.ctrs[id]
	if c == nil {
		return nil, runtime.ErrNotFound
	}
	return c, nil
}

func (r *svRuntime) Start(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return err
	}
	c.Status, c.StartedAt, c.FinishedAt = runtime.StatusRunning, time.Now(), time.Time{}
	return nil
}

func (r *svRuntime) exit(c *runtime.ContainerState, code int) {
	if c.Status == runtime.StatusRunning {
		c.Status, c.ExitCode, c.FinishedAt = runtime.StatusExited, code, time.Now()
	}
}

func (r *svRuntime) Stop(_ context.Context, id string, _ time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return err
	}
	r.exit(c, 0)
	return nil
}

// Crash makes every running container of the task exit with code 137, as a
// docker kill would.
func (r *svRuntime) Crash(taskArn string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.ctrs {
		if c.Labels["com.amazonaws.ecs.task-arn"] == taskArn && c.Status == runtime.StatusRunning {
			r.exit(c, 137)
			n++
		}
	}
	return n
}

func (r *svRuntime) Remove(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.ctrs, id)
	return nil
}

func (r *svRuntime) Inspect(_ context.Context, id string) (runtime.ContainerState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return runtime.ContainerState{}, err
	}
	return *c, nil
}

func (r *svRuntime) List(_ context.Context, labels map[string]string) ([]runtime.ContainerState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.ContainerState
next:
	for _, c := range r.ctrs {
		for k, v := range labels {
			if c.Labels[k] != v {
				continue next
			}
		}
		out = append(out, *c)
	}
	return out, nil
}

// Watch sends no events: the agents re-read the runtime on a short resync.
func (r *svRuntime) Watch(ctx context.Context, _ time.Time, _ map[string]string, _ func(runtime.Event)) error {
	<-ctx.Done()
	return ctx.Err()
}

func (r *svRuntime) Stats(context.Context, string) (runtime.Stats, error) {
	return runtime.Stats{Time: time.Now(), OnlineCPUs: 1}, nil
}

func (r *svRuntime) ImageExists(_ context.Context, ref string) (bool, error) {
	return !strings.Contains(ref, "missing"), nil
}

func (r *svRuntime) Pull(_ context.Context, ref string) error {
	return fmt.Errorf("pull %s: no registry: %w", ref, runtime.ErrImageNotFound)
}

// svCluster is a test server with in-process agents on in-memory runtimes.
type svCluster struct {
	srv    *ecstest.Server
	c      *ecs.Client
	agents []*svAgent
}

// svAgent is one agent; stop and start keep its data directory and
// runtime, as an agent process restarted on the same host.
type svAgent struct {
	t    *testing.T
	srv  *ecstest.Server
	zone string
	rt   *svRuntime
	dir  string
	ag   *agent.Agent
	stop func()
}

// svAgentTimeout is the server's agent timeout in these tests: long enough
// for the agents' one-second polls under load, short enough for a test.
const svAgentTimeout = 3 * time.Second

func svStartCluster(t *testing.T, zones ...string) *svCluster {
	t.Helper()
	srv := ecstest.StartWith(t, ecstest.Options{
		AgentTimeout: svAgentTimeout,
		ServiceTuning: servicectl.Tuning{
			Interval: 100 * time.Millisecond, HealthyAfter: 300 * time.Millisecond,
			BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		},
	})
	cl := &svCluster{srv: srv, c: srv.Client}
	for _, z := range zones {
		cl.addAgent(t, z)
	}
	return cl
}

func (cl *svCluster) addAgent(t *testing.T, zone string) *svAgent {
	t.Helper()
	a := &svAgent{t: t, srv: cl.srv, zone: zone, rt: newSvRuntime(), dir: t.TempDir()}
	a.start()
	cl.agents = append(cl.agents, a)
	return a
}

func (a *svAgent) start() {
	a.t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WHARF_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ag, err := agent.New(agent.Config{
		Endpoint: a.srv.URL(), Cluster: "default", DataDir: a.dir, CPU: 1024, MemoryMiB: 1024,
		Zone: a.zone, Runtime: a.rt, Log: log,
		PollWait: time.Second, ResyncInterval: 50 * time.Millisecond, ContainerRetention: time.Hour,
	})
	if err != nil {
		a.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	var once sync.Once
	a.ag = ag
	a.stop = func() { once.Do(func() { cancel(); <-done }) }
	a.t.Cleanup(a.stop)
	svWait(a.t, 10*time.Second, "agent registered", func() bool { return ag.InstanceArn() != "" })
}

// svWait polls cond every 25ms until it holds or d passes.
func svWait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
