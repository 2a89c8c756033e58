package ecsapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// RunTask tagged wharf:waitForCapacity answers the tasks that fit nowhere as
// PROVISIONING tasks on no instance, places them once capacity frees, and
// stops them with TaskFailedToStart when the wait runs out; without the tag
// RunTask fails them, as ECS does.
func TestRunTaskWaitsForCapacity(t *testing.T) {
	s := ecstest.Start(t)
	ag, err := agent.New(agent.Config{Endpoint: s.URL(), Credentials: ecstest.TestCredentials, CPU: 1024, MemoryMiB: 4096,
		Runtime: sim.New(sim.Options{}), PollWait: 5 * time.Second, ResyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(actx) }()
	t.Cleanup(func() { cancel(); <-done })
	c := s.Client
	ctx := context.Background()
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("big"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:latest"), Cpu: 768, Memory: aws.Int32(64)}}}); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the instance", func() bool { return ag.InstanceArn() != "" })
	describe := func(arn string) types.Task {
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %v %+v", err, out)
		}
		return out.Tasks[0]
	}
	wait := func(v string) []types.Tag {
		return []types.Tag{{Key: aws.String("wharf:waitForCapacity"), Value: aws.String(v)}}
	}
	first, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("big")})
	if err != nil || len(first.Tasks) != 1 {
		t.Fatalf("first RunTask: %v %+v", err, first)
	}
	firstArn := aws.ToString(first.Tasks[0].TaskArn)
	waitFor("the first task RUNNING", func() bool { return aws.ToString(describe(firstArn).LastStatus) == "RUNNING" })

	plain, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("big")})
	if err != nil || len(plain.Tasks) != 0 || len(plain.Failures) != 1 || aws.ToString(plain.Failures[0].Reason) != "RESOURCE:CPU" {
		t.Fatalf("RunTask without the tag: %v %+v; want the ECS failure RESOURCE:CPU", err, plain)
	}

	waiting, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("big"), Tags: wait("30s")})
	if err != nil || len(waiting.Tasks) != 1 || len(waiting.Failures) != 0 {
		t.Fatalf("RunTask waiting: %v %+v; want one task and no failure", err, waiting)
	}
	waitingArn := aws.ToString(waiting.Tasks[0].TaskArn)
	if tk := describe(waitingArn); aws.ToString(tk.LastStatus) != "PROVISIONING" || aws.ToString(tk.ContainerInstanceArn) != "" {
		t.Fatalf("waiting task: %s on %q; want PROVISIONING on no instance", aws.ToString(tk.LastStatus), aws.ToString(tk.ContainerInstanceArn))
	}
	short, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("big"), Tags: wait("1s")})
	if err != nil || len(short.Tasks) != 1 {
		t.Fatalf("RunTask with a short wait: %v %+v", err, short)
	}
	shortArn := aws.ToString(short.Tasks[0].TaskArn)
	waitFor("the short wait to run out", func() bool { return aws.ToString(describe(shortArn).LastStatus) == "STOPPED" })
	if tk := describe(shortArn); tk.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(tk.StoppedReason), "RESOURCE:CPU") {
		t.Fatalf("expired wait: %s %q; want TaskFailedToStart naming the last refusal", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	if tk := describe(waitingArn); aws.ToString(tk.LastStatus) != "PROVISIONING" {
		t.Fatalf("the 30s waiter is %s before capacity freed", aws.ToString(tk.LastStatus))
	}

	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(firstArn)}); err != nil {
		t.Fatal(err)
	}
	waitFor("the waiting task to be placed and run", func() bool {
		tk := describe(waitingArn)
		return aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.ContainerInstanceArn) == ag.InstanceArn()
	})
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("big"), Tags: wait("forever")})
	ecstest.WantCode(t, err, "InvalidParameterException")

	// The cluster's tag opts every RunTask of it in.
	cl, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if err != nil || len(cl.Clusters) != 1 {
		t.Fatalf("DescribeClusters: %v", err)
	}
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: cl.Clusters[0].ClusterArn, Tags: wait("30s")}); err != nil {
		t.Fatal(err)
	}
	byCluster, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("big")})
	if err != nil || len(byCluster.Tasks) != 1 || aws.ToString(byCluster.Tasks[0].LastStatus) != "PROVISIONING" {
		t.Fatalf("RunTask in a cluster tagged to wait: %v %+v; want a PROVISIONING task", err, byCluster)
	}
}
