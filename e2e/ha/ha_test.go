//go:build linux

package ha

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// kill -9 of the leader: another server leads within 10 s, and its service
// controller places the tasks of a scale-up asked for right after the kill.
func TestLeaderKill9AnotherLeads(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if _, err := c.live().CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ha")}); err != nil {
		t.Fatal(err)
	}
	c.agents("ha", c.urls(), 4)
	c.taskDef("app")
	if _, err := c.live().CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("ha"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "4 tasks running", func() bool { return c.runningCount("ha", "web") == 4 })

	old := c.waitLeader(10 * time.Second)
	killed := time.Now()
	c.kill(old)
	if _, err := c.live().UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("ha"), Service: aws.String("web"),
		DesiredCount: aws.Int32(6)}); err != nil {
		t.Fatal(err)
	}
	next := c.waitLeader(10 * time.Second)
	led := time.Since(killed)
	var placed time.Duration
	waitFor(t, 30*time.Second, "the scale-up placed", func() bool {
		out, err := c.live().ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("ha"), ServiceName: aws.String("web")})
		if err != nil || len(out.TaskArns) < 5 {
			return false
		}
		placed = time.Since(killed)
		return true
	})
	waitFor(t, 30*time.Second, "6 tasks running", func() bool { return c.runningCount("ha", "web") == 6 })
	t.Logf("server %d killed; server %d led after %v; first task of the scale-up placed after %v", old, next, led.Round(time.Millisecond), placed.Round(time.Millisecond))

	// The killed server comes back as a follower.
	c.start(old)
	c.waitHealthy(old)
	if l := c.waitLeader(10 * time.Second); l != next {
		t.Fatalf("server %d leads after server %d restarted; want %d to keep leading", l, old, next)
	}
}

// An etcd member killed: the servers carry on with the other two.
func TestEtcdMemberKilledWorkGoesOn(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if _, err := c.live().CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ha")}); err != nil {
		t.Fatal(err)
	}
	c.agents("ha", c.urls(), 2)
	c.taskDef("app")
	began := time.Now()
	c.etcd.Member(0).Kill()
	for i := range c.servers {
		cl := c.client(i)
		// The first call may meet the dead member and fail over; a few
		// tries cover the client's reconnection.
		var err error
		for range 20 {
			_, err = cl.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("ha"), TaskDefinition: aws.String("app")})
			if err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("RunTask through server %d with an etcd member down = %v", i, err)
		}
		t.Logf("server %d placed a task %v after the kill", i, time.Since(began))
	}
	if _, err := c.live().CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("ha"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the service converged with an etcd member down", func() bool { return c.runningCount("ha", "web") == 3 })
	t.Logf("RunTask through every server and a service converged %v after the member was killed", time.Since(began).Round(time.Millisecond))
}

// kill -9 of every server during a burst of RunTask from many clients:
// after a restart, every acknowledged task exists exactly once, and no
// instance holds more than its memory.
func TestKill9AllServersDuringRunTaskBurst(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if _, err := c.live().CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("burst")}); err != nil {
		t.Fatal(err)
	}
	c.agents("burst", c.urls(), 4)
	c.taskDef("app")

	var clients []*ecs.Client
	for i := range c.servers {
		clients = append(clients, c.client(i))
	}
	acked := burst(t, clients, "burst", "b", 40, func() {
		for i := range c.servers {
			c.kill(i)
		}
	})
	for i := range c.servers {
		c.start(i)
	}
	for i := range c.servers {
		c.waitHealthy(i)
	}
	checkExactlyOnce(t, c.live(), "burst", "b", acked)
	checkCapacity(t, c.live(), "burst", 64)
}

func listTasks(t *testing.T, cl *ecs.Client, cluster string, desired ecstypes.DesiredStatus) []ecstypes.Task {
	t.Helper()
	ctx := context.Background()
	var out []ecstypes.Task
	p := ecs.NewListTasksPaginator(cl, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: desired})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for start := 0; start < len(page.TaskArns); start += 100 {
			d, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: page.TaskArns[start:min(start+100, len(page.TaskArns))]})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d.Tasks...)
		}
	}
	return out
}

// checkCapacity: the tasks placed on each instance (each of taskMiB)
// fit its registered memory, and its remaining memory accounts for them.
func checkCapacity(t *testing.T, cl *ecs.Client, cluster string, taskMiB int32) {
	t.Helper()
	ctx := context.Background()
	used := map[string]int32{}
	for _, task := range listTasks(t, cl, cluster, ecstypes.DesiredStatusRunning) {
		used[aws.ToString(task.ContainerInstanceArn)] += taskMiB
	}
	list, err := cl.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := cl.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: list.ContainerInstanceArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range desc.ContainerInstances {
		arn := aws.ToString(ci.ContainerInstanceArn)
		registered, remaining := memory(ci.RegisteredResources), memory(ci.RemainingResources)
		if used[arn] > registered {
			t.Errorf("instance %s holds %d MiB of tasks; it has %d", arn, used[arn], registered)
		}
		if registered-remaining != used[arn] {
			t.Errorf("instance %s: registered %d MiB, remaining %d, but its tasks use %d", arn, registered, remaining, used[arn])
		}
	}
}

func memory(rs []ecstypes.Resource) int32 {
	for _, r := range rs {
		if aws.ToString(r.Name) == "MEMORY" {
			return r.IntegerValue
		}
	}
	return 0
}

func arns(tasks []ecstypes.Task) []string {
	var out []string
	for _, task := range tasks {
		out = append(out, aws.ToString(task.TaskArn))
	}
	return out
}
