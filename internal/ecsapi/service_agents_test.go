package ecsapi_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/agent"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// svImages are the images present on the simulated hosts; any other image
// cannot be pulled, so its tasks fail to start.
var svImages = []string{"wharf-testapp:latest", "wharf-testapp:1", "wharf-testapp:2"}

// svCrash makes the containers of a task exit as if killed behind the
// agent's back (docker kill): the agent finds them exited.
func svCrash(t testing.TB, rt *sim.Runtime, taskArn string) int {
	t.Helper()
	ctx := context.Background()
	cs, err := rt.List(ctx, map[string]string{"com.amazonaws.ecs.task-arn": taskArn})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs {
		if c.Running() {
			if err := rt.Stop(ctx, c.ID, 0); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}

// svCluster is a test server with in-process agents on simulated runtimes.
type svCluster struct {
	srv    *ecstest.Server
	c      *ecs.Client
	agents []*svAgent
}

// svAgent is one agent; stop and start keep its data directory and
// runtime, as an agent process restarted on the same host.
type svAgent struct {
	t    testing.TB
	srv  *ecstest.Server
	zone string
	rt   *sim.Runtime
	dir  string
	ag   *agent.Agent
	stop func()
}

// svAgentTimeout is the server's agent timeout in these tests: long enough
// for the agents' one-second polls under load, short enough for a test.
const svAgentTimeout = 3 * time.Second

func svOptions() ecstest.Options {
	return ecstest.Options{
		AgentTimeout: svAgentTimeout,
		ServiceTuning: servicectl.Tuning{
			Interval: 100 * time.Millisecond, HealthyAfter: 300 * time.Millisecond,
			BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		},
	}
}

func svStartCluster(t testing.TB, zones ...string) *svCluster {
	t.Helper()
	srv := ecstest.StartWith(t, svOptions())
	cl := &svCluster{srv: srv, c: srv.Client}
	for _, z := range zones {
		cl.addAgent(t, z)
	}
	return cl
}

// restartServer stops the server and starts a new one on the same data and
// address; the agents find it again on their own.
func (cl *svCluster) restartServer(t testing.TB) {
	t.Helper()
	addr := cl.srv.Addr()
	cl.srv.Stop()
	o := svOptions()
	o.DataDir, o.Listen = cl.srv.DataDir, addr
	cl.srv = ecstest.StartWith(t, o)
	cl.c = cl.srv.Client
}

func (cl *svCluster) addAgent(t testing.TB, zone string) *svAgent {
	t.Helper()
	a := &svAgent{t: t, srv: cl.srv, zone: zone, rt: sim.New(sim.Options{Images: svImages}), dir: t.TempDir()}
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
		Endpoint: a.srv.URL(), Credentials: ecstest.TestCredentials, Cluster: "default", DataDir: a.dir, CPU: 1024, MemoryMiB: 1024,
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
func svWait(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
