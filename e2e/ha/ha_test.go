//go:build linux

package ha

import (
	"context"
	"fmt"
	"sync"
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

	// Each call has its own clientToken and startedBy, so a task can be
	// traced to the one call that asked for it.
	type ack struct{ token, arn string }
	var (
		mu    sync.Mutex
		acked []ack
		calls int
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := c.client(w % len(c.servers))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				token := fmt.Sprintf("b-%d-%d", w, i)
				mu.Lock()
				calls++
				mu.Unlock()
				out, err := cl.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("burst"), TaskDefinition: aws.String("app"),
					ClientToken: aws.String(token), StartedBy: aws.String(token)})
				if err != nil {
					continue // unacknowledged: may or may not exist, but at most once
				}
				if len(out.Tasks) != 1 {
					t.Errorf("RunTask %s placed %d tasks (failures %v)", token, len(out.Tasks), out.Failures)
					continue
				}
				mu.Lock()
				acked = append(acked, ack{token, aws.ToString(out.Tasks[0].TaskArn)})
				mu.Unlock()
			}
		}()
	}
	waitFor(t, 30*time.Second, "the burst under way", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 40
	})
	for i := range c.servers {
		c.kill(i)
	}
	close(stop)
	wg.Wait()
	for i := range c.servers {
		c.start(i)
	}
	for i := range c.servers {
		c.waitHealthy(i)
	}
	t.Logf("%d RunTask calls, %d acknowledged before every server was killed", calls, len(acked))

	byToken := map[string][]ecstypes.Task{}
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		for _, task := range listTasks(t, c.live(), "burst", desired) {
			byToken[aws.ToString(task.StartedBy)] = append(byToken[aws.ToString(task.StartedBy)], task)
		}
	}
	for token, tasks := range byToken {
		if len(tasks) > 1 {
			t.Errorf("call %s has %d tasks; want at most one", token, len(tasks))
		}
	}
	for _, a := range acked {
		tasks := byToken[a.token]
		if len(tasks) != 1 || aws.ToString(tasks[0].TaskArn) != a.arn {
			t.Errorf("acknowledged call %s (task %s) has tasks %v after the restart; want exactly its task", a.token, a.arn, arns(tasks))
		}
	}
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
