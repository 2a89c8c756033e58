package timeout_test

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

// A task with a wharf:executionTimeout (on the task definition or on
// RunTask) is stopped once it has run that long, with a reason saying so;
// a task without one keeps running; a bad value is refused at launch.
func TestExecutionTimeoutStopsTasks(t *testing.T) {
	srv := ecstest.Start(t)
	ag, err := agent.New(agent.Config{Endpoint: srv.URL(), Credentials: ecstest.TestCredentials, CPU: 4096, MemoryMiB: 4096,
		Runtime: sim.New(sim.Options{}), PollWait: 5 * time.Second, ResyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(actx) }()
	t.Cleanup(func() { cancel(); <-done })
	c := srv.Client
	ctx := context.Background()
	register := func(family string, tags ...types.Tag) {
		if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), Tags: tags,
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:latest"), Memory: aws.Int32(16)}}}); err != nil {
			t.Fatal(err)
		}
	}
	tag := func(v string) types.Tag {
		return types.Tag{Key: aws.String("wharf:executionTimeout"), Value: aws.String(v)}
	}
	register("limited", tag("2s"))
	register("free")
	deadline := time.Now().Add(20 * time.Second)
	for ag.InstanceArn() == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	run := func(family string, tags ...types.Tag) string {
		out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(family), Tags: tags})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask %s: %v %+v", family, err, out)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	byDef := run("limited")
	byLaunch := run("free", tag("3"))
	free := run("free")
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("free"), Tags: []types.Tag{tag("soon")}})
	ecstest.WantCode(t, err, "InvalidParameterException")

	describe := func() map[string]types.Task {
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{byDef, byLaunch, free}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]types.Task{}
		for _, tk := range out.Tasks {
			m[aws.ToString(tk.TaskArn)] = tk
		}
		return m
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		ts := describe()
		if aws.ToString(ts[byDef].LastStatus) == "STOPPED" && aws.ToString(ts[byLaunch].LastStatus) == "STOPPED" {
			for _, arn := range []string{byDef, byLaunch} {
				tk := ts[arn]
				if !strings.Contains(aws.ToString(tk.StoppedReason), "execution timeout") || tk.StartedAt == nil || tk.StoppingAt == nil {
					t.Fatalf("task %s stopped with %q; want the execution timeout named", arn, aws.ToString(tk.StoppedReason))
				}
				if ran := tk.StoppingAt.Sub(*tk.StartedAt); ran < 2*time.Second {
					t.Fatalf("task %s was stopped after %v, before its limit", arn, ran)
				}
			}
			if aws.ToString(ts[free].LastStatus) != "RUNNING" || aws.ToString(ts[free].DesiredStatus) != "RUNNING" {
				t.Fatalf("the task without a limit: %s/%s; want RUNNING", aws.ToString(ts[free].LastStatus), aws.ToString(ts[free].DesiredStatus))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks with a limit not stopped in time: %s, %s", aws.ToString(ts[byDef].LastStatus), aws.ToString(ts[byLaunch].LastStatus))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
