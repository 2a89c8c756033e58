package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
	"github.com/wharf-ecs/wharf/internal/server"
	"github.com/wharf-ecs/wharf/internal/store/etcd/etcdtest"
)

const haAgentTimeout = 2 * time.Second

type replica struct {
	srv    *server.Server
	client *ecs.Client
	stop   func()
}

// startReplica runs a server on the etcd at endpoint, sharing keyFile.
func startReplica(t *testing.T, endpoint, keyFile string) *replica {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WHARF_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.New(server.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), Log: log,
		Credentials: ecstest.RootCredentials(), MasterKeyFile: keyFile,
		AgentTimeout: haAgentTimeout,
		ServiceTuning: servicectl.Tuning{Interval: 100 * time.Millisecond, HealthyAfter: 200 * time.Millisecond,
			BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond},
		Etcd: server.EtcdConfig{Endpoints: []string{endpoint}, LeaseTTL: 2 * time.Second},
	})
	if err != nil {
		t.Fatalf("start a replica: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	r := &replica{srv: srv, client: ecstest.NewClient(srv.URL())}
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replica shutdown: %v", err)
		}
	}
	t.Cleanup(r.stop)
	return r
}

type leaderAnswer struct {
	Server  string `json:"server"`
	Leading bool   `json:"leading"`
	Leader  string `json:"leader"`
}

func (r *replica) leader(t *testing.T) leaderAnswer {
	t.Helper()
	resp, err := http.Get(r.srv.URL() + "/leader")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out leaderAnswer
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitLeading waits until exactly one of the replicas leads, and all
// name it, and returns its index.
func waitLeading(t *testing.T, within time.Duration, rs ...*replica) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		leading, names := -1, map[string]bool{}
		var self string
		for i, r := range rs {
			a := r.leader(t)
			names[a.Leader] = true
			if a.Leading {
				if leading >= 0 {
					t.Fatalf("replicas %d and %d both lead", leading, i)
				}
				leading, self = i, a.Server
			}
		}
		if leading >= 0 && len(names) == 1 && names[self] {
			return leading
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single leader within %v (names %v)", within, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicasOnEtcd runs two servers on one etcd: both serve the API on
// the same state, one leads; an agent polling the other stays connected
// (its polls reach the leader's liveness check), services converge through
// the leader's controller, and when the leader stops the other takes over
// and carries on.
func TestReplicasOnEtcd(t *testing.T) {
	ep := etcdtest.Start(t)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	rs := []*replica{startReplica(t, ep, keyFile), startReplica(t, ep, keyFile)}
	li := waitLeading(t, 10*time.Second, rs...)
	lead, other := rs[li], rs[1-li]
	ctx := t.Context()

	if _, err := lead.client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ha")}); err != nil {
		t.Fatal(err)
	}
	if out, err := other.client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"ha"}}); err != nil || len(out.Clusters) != 1 {
		t.Fatalf("DescribeClusters(ha) through the other replica = %v, %v; want the cluster created through the leader", out, err)
	}

	ag, err := agent.New(agent.Config{
		Endpoint: other.srv.URL(), Credentials: ecstest.TestCredentials, Cluster: "ha", DataDir: t.TempDir(),
		CPU: 2048, MemoryMiB: 2048, Runtime: sim.New(sim.Options{StartDelay: 20 * time.Millisecond}),
		PollWait: time.Second, ResyncInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(context.Background())
	agentDone := make(chan struct{})
	go func() { _ = ag.Run(actx); close(agentDone) }()
	t.Cleanup(func() { cancel(); <-agentDone })
	waitUntil(t, 10*time.Second, "agent registered", func() bool { return ag.InstanceArn() != "" })

	if _, err := other.client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("busybox:latest"), Memory: aws.Int32(64), Essential: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("ha"), ServiceName: aws.String("svc"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, lead.client, "ha", "svc", 2)

	// Three agent timeouts: the leader hears of the agent's polls at the
	// other replica, so the instance stays connected.
	time.Sleep(3 * haAgentTimeout)
	ci, err := lead.client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("ha"), ContainerInstances: []string{ag.InstanceArn()}})
	if err != nil || len(ci.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances = %v, %v", ci, err)
	}
	if !ci.ContainerInstances[0].AgentConnected {
		t.Fatal("the instance whose agent polls the other replica was marked disconnected by the leader")
	}

	// The leader stops cleanly: the other leads at once and runs the
	// service controller, which converges a scale-up.
	lead.stop()
	if i := waitLeading(t, 5*time.Second, other); i != 0 {
		t.Fatal("the remaining replica does not lead")
	}
	if _, err := other.client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("ha"), Service: aws.String("svc"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, other.client, "ha", "svc", 3)
}

func waitRunning(t *testing.T, c *ecs.Client, cluster, service string, n int32) {
	t.Helper()
	waitUntil(t, 20*time.Second, "service running", func() bool {
		out, err := c.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
		return err == nil && len(out.Services) == 1 && out.Services[0].RunningCount == n
	})
}

func waitUntil(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
