//go:build linux

package ha

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
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
	t    *testing.T
	net  string   // the /24 prefix
	hist *history // the running scenario's
}

const tbCluster = "testbed"

// tbAgentTimeout is the test bed's --agent-timeout (scripts/testbed.sh). It
// is below the agents' 20 s long poll on purpose: the servers hold a poll at
// most a third of it, so idle agents are heard in time, which the partition
// scenario checks (no instance but the cut-off one is ever seen
// disconnected).
const tbAgentTimeout = 15 * time.Second

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
		"WHARF_TESTBED_DIR="+tb.t.TempDir(), "WHARF_TESTBED_NET="+tb.net, "WHARF_TESTBED_AGENT_TIMEOUT="+tbAgentTimeout.String())
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

// client is an ECS client of server i (1 to 3) that does not retry; its
// calls go into the running scenario's history.
func (tb *testbed) client(i int) *ecs.Client {
	var opts []func(*ecs.Options)
	if tb.hist != nil {
		opts = append(opts, tb.hist.record)
	}
	return ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(tb.serverURL(i)), Credentials: ecstest.TestCredentials,
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 30 * time.Second}}, opts...)
}

// scenario runs one scenario as a subtest with its own history, checked
// at its end.
func (tb *testbed) scenario(t *testing.T, name string, run func(tb *testbed)) {
	t.Run(name, func(t *testing.T) {
		tb.t = t
		tb.hist = newHistory(t, tbCluster, []string{tb.serverURL(1), tb.serverURL(2), tb.serverURL(3)},
			limits{lag: 5 * time.Second, grace: tbAgentTimeout})
		defer func() { tb.hist = nil }()
		run(tb)
		tb.hist.check(t, 2*time.Minute)
	})
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

	tb.scenario(t, "PartitionAgent", testPartition)
	tb.scenario(t, "LeaderKill9", testTestbedLeaderKill)
	tb.scenario(t, "EtcdMemberKilled", testTestbedEtcdKill)
	tb.scenario(t, "Kill9AllServersDuringBurst", testTestbedBurst)
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
// heal the stale copy is stopped, in the API and on the host, while the
// replacement keeps running.
func testPartition(tb *testbed) {
	t := tb.t
	ctx := context.Background()
	lost := tb.instanceOf("wharf-tb-agent-2")
	before := tb.serviceTasks("web")
	var stale []string
	for _, task := range before {
		if aws.ToString(task.ContainerInstanceArn) == lost {
			stale = append(stale, aws.ToString(task.TaskArn))
		}
	}
	if len(stale) == 0 {
		t.Fatalf("no service task on instance %s of wharf-tb-agent-2 to partition", lost)
	}
	tb.docker("network", "disconnect", "wharf-testbed", "wharf-tb-agent-2")
	cut := time.Now()
	waitFor(t, 2*tbAgentTimeout, "the partitioned instance judged disconnected", func() bool {
		out, err := tb.live().DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(tbCluster), ContainerInstances: []string{lost}})
		return err == nil && len(out.ContainerInstances) == 1 && !out.ContainerInstances[0].AgentConnected
	})
	var replacements []string
	waitFor(t, 60*time.Second, "the lost task replaced elsewhere", func() bool {
		replacements = nil
		for _, task := range tb.serviceTasks("web") {
			if aws.ToString(task.LastStatus) == "RUNNING" && !slices.Contains(arns(before), aws.ToString(task.TaskArn)) {
				replacements = append(replacements, aws.ToString(task.TaskArn))
			}
		}
		return len(replacements) == len(stale)
	})
	t.Logf("instance %s cut off; its tasks %v replaced by %v %v later", lost, stale, replacements, time.Since(cut).Round(time.Second))
	// The stale copy is to stop, but nobody can tell its agent: it still
	// runs on the host.
	waitFor(t, 30*time.Second, "the stale copies desired STOPPED", func() bool {
		for _, task := range tb.describe(stale) {
			if aws.ToString(task.DesiredStatus) != "STOPPED" {
				return false
			}
		}
		return true
	})
	for _, arn := range stale {
		if !tb.runsOnHost(arn) {
			t.Fatalf("stale task %s stopped on the host while its agent was cut off; want it left running", arn)
		}
	}

	healed := time.Now()
	tb.docker("network", "connect", "--ip", tb.net+".32", "wharf-testbed", "wharf-tb-agent-2")
	waitFor(t, 60*time.Second, "the stale copies STOPPED, in ECS and on the host", func() bool {
		for _, task := range tb.describe(stale) {
			if aws.ToString(task.LastStatus) != "STOPPED" || tb.runsOnHost(aws.ToString(task.TaskArn)) {
				return false
			}
		}
		return true
	})
	for _, task := range tb.describe(stale) {
		t.Logf("stale copy %s stopped %v after the heal: %s", aws.ToString(task.TaskArn), time.Since(healed).Round(time.Second), aws.ToString(task.StoppedReason))
	}
	waitFor(t, 60*time.Second, "the service at 4 tasks, in ECS and on the hosts", func() bool {
		return running(tb.serviceTasks("web")) == 4 && tb.containers() == 4
	})
	for _, task := range tb.describe(replacements) {
		if arn := aws.ToString(task.TaskArn); aws.ToString(task.LastStatus) != "RUNNING" || !tb.runsOnHost(arn) {
			t.Errorf("replacement %s is %s after the heal (on the host: %v); want it kept running", arn, aws.ToString(task.LastStatus), tb.runsOnHost(arn))
		}
	}
	// Only the partitioned instance was ever judged gone: the others'
	// tasks were never replaced behind their back.
	if got := tb.hist.disconnected(); !slices.Equal(got, []string{lost}) {
		t.Errorf("instances observed disconnected = %v; want only the partitioned %s", got, lost)
	}
}

// instanceOf is the container instance the agent in the named container
// registered, as its log says.
func (tb *testbed) instanceOf(container string) string {
	tb.t.Helper()
	m := regexp.MustCompile(`msg="container instance registered".* instance=(\S+)`).FindStringSubmatch(tb.docker("logs", container))
	if m == nil {
		tb.t.Fatalf("%s has not logged its registration", container)
	}
	return m[1]
}

// describe describes the given tasks (none when the call fails).
func (tb *testbed) describe(arns []string) []ecstypes.Task {
	out, err := tb.live().DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(tbCluster), Tasks: arns})
	if err != nil {
		return nil
	}
	return out.Tasks
}

// runsOnHost says whether a container of the task runs on the Docker host.
func (tb *testbed) runsOnHost(arn string) bool {
	return tb.docker("ps", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+arn) != ""
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

// testTestbedEtcdKill: an etcd member killed; every server still places,
// and stops.
func testTestbedEtcdKill(tb *testbed) {
	t := tb.t
	ctx := context.Background()
	tb.docker("kill", "--signal", "KILL", "wharf-tb-etcd-1")
	var ran []string
	for i := 1; i <= 3; i++ {
		var out *ecs.RunTaskOutput
		var err error
		for range 20 {
			if out, err = tb.client(i).RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(tbCluster), TaskDefinition: aws.String("app")}); err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("RunTask through server %d with an etcd member down = %v", i, err)
		}
		ran = append(ran, arns(out.Tasks)...)
	}
	// A stop through another server than the one that placed the task.
	if _, err := tb.client(3).StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(tbCluster), Task: aws.String(ran[0])}); err != nil {
		t.Fatalf("StopTask with an etcd member down = %v", err)
	}
	tb.docker("start", "wharf-tb-etcd-1")
}

// testTestbedBurst: kill -9 of every server's container during a RunTask
// burst; after they restart every acknowledged task exists exactly once and
// no instance holds more than its memory (the history's invariants).
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
	t.Logf("%d calls acknowledged before every server was killed", acked)
}
