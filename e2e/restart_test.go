package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/runtime/docker"
)

func removeContainersOfTask(t testing.TB, rt *docker.Runtime, taskArn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	states, err := rt.List(ctx, map[string]string{"com.amazonaws.ecs.task-arn": taskArn})
	if err != nil {
		return
	}
	for _, s := range states {
		_ = rt.Remove(ctx, s.ID)
	}
}

// kill -9 of the agent with a task running: the restarted agent is the same
// container instance, adopts the running container (no duplicate, no orphan),
// and when the container is later removed behind its back it reports the task
// stopped.
func TestAgentKill9ReadoptsContainers(t *testing.T) {
	rt := requireDocker(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	srv := start(t, "server", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", t.TempDir())
	waitHealthy(t, url, srv)
	agentDir := t.TempDir()
	agentArgs := []string{"agent", "--endpoint", url, "--cluster", "restarts", "--data-dir", agentDir, "--cpu", "1024", "--memory", "1024"}
	ag := start(t, agentArgs...)
	c := client(url)
	ctx := context.Background()
	waitFor(t, 20*time.Second, "the agent's container instance", func() bool {
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("restarts")})
		return err == nil && len(out.ContainerInstanceArns) == 1
	})
	td := registerTestapp(t, c, "survivor")
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("restarts"), TaskDefinition: aws.String(td)})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	t.Cleanup(func() { removeContainersOfTask(t, rt, arn) })
	describe := func() types.Task {
		o, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("restarts"), Tasks: []string{arn}})
		if err != nil || len(o.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %v %+v", err, o)
		}
		return o.Tasks[0]
	}
	waitFor(t, 30*time.Second, "task RUNNING", func() bool { return aws.ToString(describe().LastStatus) == "RUNNING" })
	port := hostPortOf(t, describe())

	ag.kill9(t)
	ag2 := start(t, agentArgs...)
	time.Sleep(3 * time.Second) // let it register, poll and reconcile
	instances, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("restarts")})
	if err != nil || len(instances.ContainerInstanceArns) != 1 {
		t.Fatalf("after restart: %v, instances %v; want the same single instance", err, instances.ContainerInstanceArns)
	}
	states, err := rt.List(ctx, map[string]string{"com.amazonaws.ecs.task-arn": arn})
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || !states[0].Running() {
		t.Fatalf("after agent restart the task has %d containers (%+v); want its one running container", len(states), states)
	}
	if !httpOK(fmt.Sprintf("http://127.0.0.1:%d/health", port)) {
		t.Fatal("the task's HTTP port stopped answering across the agent restart")
	}
	if got := aws.ToString(describe().LastStatus); got != "RUNNING" {
		t.Fatalf("task = %s after the agent restart; want RUNNING", got)
	}

	// Removed behind the agent's back: reported as stopped.
	if err := rt.Remove(ctx, states[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "task STOPPED after its container vanished", func() bool {
		return aws.ToString(describe().LastStatus) == "STOPPED"
	})
	if task := describe(); task.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("stopCode = %s; want EssentialContainerExited", task.StopCode)
	}
	ag2.terminate(t)
	srv.terminate(t)
}

// kill -9 of the server: every acknowledged write is there after a restart on
// the same data directory.
func TestServerKill9KeepsAcknowledgedWrites(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	url := "http://" + addr
	dir := t.TempDir()
	// A burst of registrations: ECS's own limits (1 per second after 20)
	// would throttle it, and durability, not throttling, is under test.
	srv := start(t, "server", "--listen", addr, "--data-dir", dir, "--rate-limit-scale", "0")
	waitHealthy(t, url, srv)
	c := client(url)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("durable")}); err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := 0; i < n; i++ {
		registerTestapp(t, c, "durable")
	}
	srv.kill9(t)

	srv2 := start(t, "server", "--listen", addr, "--data-dir", dir, "--rate-limit-scale", "0")
	waitHealthy(t, url, srv2)
	td, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("durable")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt32(&td.TaskDefinition.Revision); got != n {
		t.Fatalf("latest revision after kill -9 = %d; want %d", got, n)
	}
	cl, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"durable"}})
	if err != nil || len(cl.Clusters) != 1 || aws.ToString(cl.Clusters[0].Status) != "ACTIVE" {
		t.Fatalf("cluster after kill -9: %v %+v", err, cl)
	}
	srv2.terminate(t)
}
