//go:build linux

package ha

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// testbed is scripts/testbed.sh's multi-host Wharf: every member a
// container with its own address on a private Docker network.
type testbed struct {
	t   *testing.T
	net string // the /24 prefix
}

const tbCluster = "testbed"

// startTestbed brings the test bed up (building its image when needed) and
// down at the end. It needs Docker, etcd and the test images: missing, the
// test fails under CI=true and is skipped elsewhere.
func startTestbed(t *testing.T) *testbed {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv("CI") == "true" {
		unavailable = t.Fatalf
	}
	if out, err := exec.Command("docker", "image", "inspect", "wharf-testapp:latest").CombinedOutput(); err != nil {
		unavailable("Docker or the image wharf-testapp:latest is missing (run scripts/test-images.sh): %v %s", err, out)
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		unavailable("etcd is missing (apt-get install etcd-server): %v", err)
	}
	tb := &testbed{t: t, net: "172.29.0"}
	tb.script("up")
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"wharf-tb-server-1", "wharf-tb-server-2", "wharf-tb-server-3", "wharf-tb-agent-2"} {
				out, _ := exec.Command("docker", "logs", "--tail", "40", name).CombinedOutput()
				t.Logf("logs of %s:\n%s", name, out)
			}
		}
		tb.script("down")
	})
	return tb
}

func (tb *testbed) script(args ...string) {
	tb.t.Helper()
	cmd := exec.Command("../../scripts/testbed.sh", args...)
	cmd.Env = append(os.Environ(), "WHARF_ACCESS_KEY_ID="+ecstest.TestAccessKeyID, "WHARF_SECRET_ACCESS_KEY="+ecstest.TestSecretAccessKey,
		"WHARF_TESTBED_DIR="+tb.t.TempDir(), "WHARF_TESTBED_NET="+tb.net)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.t.Fatalf("testbed.sh %v: %v\n%s", args, err, out)
	}
}

func (tb *testbed) docker(args ...string) string {
	tb.t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		tb.t.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (tb *testbed) serverURL(i int) string { return fmt.Sprintf("http://%s.2%d:8080", tb.net, i) }

// client is an ECS client of server i (1 to 3) that does not retry.
func (tb *testbed) client(i int) *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(tb.serverURL(i)), Credentials: ecstest.TestCredentials,
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 30 * time.Second}})
}

// live is a client of the first server that answers.
func (tb *testbed) live() *ecs.Client {
	for i := 1; i <= 3; i++ {
		if healthy(tb.serverURL(i)) {
			return tb.client(i)
		}
	}
	tb.t.Fatal("no server answers")
	return nil
}

// leader returns the server (1 to 3) that says it leads, 0 if none does.
func (tb *testbed) leader() int {
	for i := 1; i <= 3; i++ {
		if leads(tb.serverURL(i)) {
			return i
		}
	}
	return 0
}

func (tb *testbed) waitLeader(within time.Duration) int {
	tb.t.Helper()
	var l int
	waitFor(tb.t, within, "a leader", func() bool { l = tb.leader(); return l > 0 })
	return l
}

func (tb *testbed) waitHealthy(i int) {
	tb.t.Helper()
	waitFor(tb.t, 30*time.Second, fmt.Sprintf("server %d healthy", i), func() bool { return healthy(tb.serverURL(i)) })
}

// serviceTasks describes the service's tasks that should run.
func (tb *testbed) serviceTasks(service string) []ecstypes.Task {
	ctx := context.Background()
	cl := tb.live()
	list, err := cl.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(tbCluster), ServiceName: aws.String(service)})
	if err != nil || len(list.TaskArns) == 0 {
		return nil
	}
	out, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(tbCluster), Tasks: list.TaskArns})
	if err != nil {
		return nil
	}
	return out.Tasks
}

// TestTestbed runs the fault scenarios on scripts/testbed.sh: three etcd
// members, three servers and four agents running real containers, each in
// its own container on a private network. The scenarios run in turn on one
// test bed.
func TestTestbed(t *testing.T) {
	tb := startTestbed(t)
	ctx := context.Background()
	waitFor(t, 30*time.Second, "4 instances", func() bool {
		out, err := tb.live().ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(tbCluster)})
		return err == nil && len(out.ContainerInstanceArns) == 4
	})
	if _, err := tb.live().RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("app"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"),
			Memory: aws.Int32(32), Essential: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	// One task on each instance to begin with.
	if _, err := tb.live().CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(tbCluster), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(4),
		PlacementStrategy: []ecstypes.PlacementStrategy{{Type: ecstypes.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "4 service tasks running", func() bool { return running(tb.serviceTasks("web")) == 4 })

	t.Run("PartitionAgent", func(t *testing.T) { tb.t = t; testPartition(tb) })
	t.Run("LeaderKill9", func(t *testing.T) { tb.t = t; testTestbedLeaderKill(tb) })
	t.Run("EtcdMemberKilled", func(t *testing.T) { tb.t = t; testTestbedEtcdKill(tb) })
	t.Run("Kill9AllServersDuringBurst", func(t *testing.T) { tb.t = t; testTestbedBurst(tb) })
}

func running(tasks []ecstypes.Task) int {
	n := 0
	for _, task := range tasks {
		if aws.ToString(task.LastStatus) == "RUNNING" {
			n++
		}
	}
	return n
}

// testPartition disconnects an agent from the network: its service task
// is replaced on another instance once the agent is judged gone, and on
// heal the stale copy is stopped, on the host as in ECS.
func testPartition(tb *testbed) {
	t := tb.t
	ctx := context.Background()
	before := tb.serviceTasks("web")
	tb.docker("network", "disconnect", "wharf-testbed", "wharf-tb-agent-2")
	cut := time.Now()
	var lostInstance string
	waitFor(t, 60*time.Second, "the partitioned instance judged disconnected", func() bool {
		out, err := tb.live().ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(tbCluster)})
		if err != nil {
			return false
		}
		desc, err := tb.live().DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(tbCluster), ContainerInstances: out.ContainerInstanceArns})
		if err != nil {
			return false
		}
		for _, ci := range desc.ContainerInstances {
			if !ci.AgentConnected {
				lostInstance = aws.ToString(ci.ContainerInstanceArn)
				return true
			}
		}
		return false
	})
	var stale []string
	for _, task := range before {
		if aws.ToString(task.ContainerInstanceArn) == lostInstance {
			stale = append(stale, aws.ToString(task.TaskArn))
		}
	}
	if len(stale) == 0 {
		t.Fatalf("no service task was on the partitioned instance %s", lostInstance)
	}
	waitFor(t, 60*time.Second, "the lost task replaced elsewhere", func() bool {
		n := 0
		for _, task := range tb.serviceTasks("web") {
			if aws.ToString(task.LastStatus) == "RUNNING" && aws.ToString(task.ContainerInstanceArn) != lostInstance {
				n++
			}
		}
		return n == 4
	})
	t.Logf("instance %s cut off; its task replaced elsewhere %v later", lostInstance, time.Since(cut).Round(time.Second))
	// The stale copy still runs on the host: the agent cannot hear.
	for _, arn := range stale {
		if ids := tb.docker("ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+arn); ids == "" {
			t.Fatalf("stale task %s stopped on the host while its agent was cut off; want it left running", arn)
		}
	}

	healed := time.Now()
	tb.docker("network", "connect", "--ip", tb.net+".32", "wharf-testbed", "wharf-tb-agent-2")
	// The agent is heard again and its task counts again: the surplus
	// goes, on the hosts as in ECS, and the service is back at 4.
	waitFor(t, 60*time.Second, "the service back at 4 tasks after the heal, in ECS and on the hosts", func() bool {
		return running(tb.serviceTasks("web")) == 4 && tb.containers() == 4
	})
	stillRunning := 0
	for _, arn := range stale {
		if tb.docker("ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+arn) != "" {
			stillRunning++
		}
	}
	t.Logf("after the heal the service was back at 4 in %v; %d of %d stale copies kept (a replacement went instead)",
		time.Since(healed).Round(time.Second), stillRunning, len(stale))
}

// containers counts the task containers running on the Docker host
// (every task of the test bed is of family app, and until the later
// scenarios all of them are the service's).
func (tb *testbed) containers() int {
	return len(strings.Fields(tb.docker("ps", "-q", "--filter", "label=com.amazonaws.ecs.cluster="+tbCluster,
		"--filter", "label=com.amazonaws.ecs.task-definition-family=app")))
}

// testTestbedLeaderKill: kill -9 of the leader's container; another server
// leads within 10 s and places a scale-up.
func testTestbedLeaderKill(tb *testbed) {
	t := tb.t
	ctx := context.Background()
	old := tb.waitLeader(10 * time.Second)
	name := fmt.Sprintf("wharf-tb-server-%d", old)
	killed := time.Now()
	tb.docker("kill", "--signal", "KILL", name)
	next := tb.waitLeader(10 * time.Second)
	if next == old {
		t.Fatalf("server %d still leads after kill -9", old)
	}
	t.Logf("server %d killed; server %d leads %v later", old, next, time.Since(killed).Round(time.Millisecond))
	if _, err := tb.client(next).UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(tbCluster), Service: aws.String("web"), DesiredCount: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the scale-up running", func() bool { return running(tb.serviceTasks("web")) == 5 })
	tb.docker("start", name)
	tb.waitHealthy(old)
}

// testTestbedEtcdKill: an etcd member killed; every server still places.
func testTestbedEtcdKill(tb *testbed) {
	t := tb.t
	ctx := context.Background()
	tb.docker("kill", "--signal", "KILL", "wharf-tb-etcd-1")
	for i := 1; i <= 3; i++ {
		var err error
		for range 20 {
			if _, err = tb.client(i).RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(tbCluster), TaskDefinition: aws.String("app")}); err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("RunTask through server %d with an etcd member down = %v", i, err)
		}
	}
	tb.docker("start", "wharf-tb-etcd-1")
}

// testTestbedBurst: kill -9 of every server's container during a RunTask
// burst; after they restart every acknowledged task exists exactly once and
// no instance holds more than its memory.
func testTestbedBurst(tb *testbed) {
	t := tb.t
	clients := []*ecs.Client{tb.client(1), tb.client(2), tb.client(3)}
	acked := burst(t, clients, tbCluster, "tb", 12, func() {
		tb.docker("kill", "--signal", "KILL", "wharf-tb-server-1", "wharf-tb-server-2", "wharf-tb-server-3")
	})
	tb.docker("start", "wharf-tb-server-1", "wharf-tb-server-2", "wharf-tb-server-3")
	for i := 1; i <= 3; i++ {
		tb.waitHealthy(i)
	}
	checkExactlyOnce(t, tb.live(), tbCluster, "tb", acked)
	checkCapacity(t, tb.live(), tbCluster, 32)
}
