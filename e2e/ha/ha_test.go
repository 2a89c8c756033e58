//go:build linux

package ha

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// kill -9 of the leader: another server leads within 10 s, and its service
// controller places the tasks of a scale-up asked for right after the kill.
func TestLeaderKill9AnotherLeads(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if _, err := c.live().CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ha")}); err != nil {
		t.Fatal(err)
	}
	h := c.record("ha")
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
	h.check(t, time.Minute)
}

// An etcd member killed: the servers carry on with the other two.
func TestEtcdMemberKilledWorkGoesOn(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if _, err := c.live().CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("ha")}); err != nil {
		t.Fatal(err)
	}
	h := c.record("ha")
	c.agents("ha", c.urls(), 2)
	c.taskDef("app")
	began := time.Now()
	c.etcd.Member(0).Kill()
	var ran []string
	for i := range c.servers {
		cl := c.client(i)
		// The first call may meet the dead member and fail over; a few
		// tries cover the client's reconnection.
		var out *ecs.RunTaskOutput
		var err error
		for range 20 {
			out, err = cl.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("ha"), TaskDefinition: aws.String("app")})
			if err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("RunTask through server %d with an etcd member down = %v", i, err)
		}
		ran = append(ran, arns(out.Tasks)...)
		t.Logf("server %d placed a task %v after the kill", i, time.Since(began))
	}
	// A stop through another server than the one that placed the task.
	if _, err := c.client(1).StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("ha"), Task: aws.String(ran[0])}); err != nil {
		t.Fatalf("StopTask with an etcd member down = %v", err)
	}
	if _, err := c.live().CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("ha"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the service converged with an etcd member down", func() bool { return c.runningCount("ha", "web") == 3 })
	t.Logf("RunTask through every server and a service converged %v after the member was killed", time.Since(began).Round(time.Millisecond))
	h.check(t, time.Minute)
}

// kill -9 of every server during a burst of RunTask from many clients:
// after a restart, every acknowledged task exists exactly once, and no
// instance holds more than its memory (the history's invariants).
func TestKill9AllServersDuringRunTaskBurst(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if _, err := c.live().CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("burst")}); err != nil {
		t.Fatal(err)
	}
	h := c.record("burst")
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
	t.Logf("%d calls acknowledged before every server was killed", acked)
	h.check(t, time.Minute)
}
