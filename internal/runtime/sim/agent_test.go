package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// startSimAgent runs a server and the real agent on a simulated host.
func startSimAgent(t *testing.T) *ecs.Client {
	t.Helper()
	srv := ecstest.Start(t)
	ag, err := agent.New(agent.Config{
		Endpoint:       srv.URL(),
		Credentials:    ecstest.TestCredentials,
		CPU:            1024,
		MemoryMiB:      1024,
		Runtime:        sim.New(sim.Options{StartDelay: 50 * time.Millisecond}),
		PollWait:       5 * time.Second,
		ResyncInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run = %v", err)
		}
	})
	waitUntil(t, "the instance registers", func() bool { return ag.InstanceArn() != "" })
	return srv.Client
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runTask(t *testing.T, c *ecs.Client, family string, env ...types.KeyValuePair) string {
	t.Helper()
	ctx := context.Background()
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String("wharf-testapp:latest"), Memory: aws.Int32(128),
			Environment:  env,
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("RunTask placed %d tasks; failures %+v", len(out.Tasks), out.Failures)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

// waitTask waits until the task's lastStatus is want.
func waitTask(t *testing.T, c *ecs.Client, arn, want string) types.Task {
	t.Helper()
	var task types.Task
	waitUntil(t, "the task is "+want, func() bool {
		out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		task = out.Tasks[0]
		return aws.ToString(task.LastStatus) == want
	})
	return task
}

func TestAgentRunsTaskOnSim(t *testing.T) {
	c := startSimAgent(t)
	arn := runTask(t, c, "sim-web")
	running := waitTask(t, c, arn, "RUNNING")
	b := running.Containers[0].NetworkBindings
	if len(b) != 1 || aws.ToInt32(b[0].ContainerPort) != 8080 || aws.ToInt32(b[0].HostPort) < 32768 || aws.ToInt32(b[0].HostPort) > 60999 {
		t.Fatalf("network bindings = %+v; want 8080 on a dynamic host port", b)
	}
	if _, err := c.StopTask(context.Background(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	stopped := waitTask(t, c, arn, "STOPPED")
	if stopped.StopCode != types.TaskStopCodeUserInitiated {
		t.Errorf("stopCode = %s; want UserInitiated", stopped.StopCode)
	}
	if ec := stopped.Containers[0].ExitCode; ec == nil || *ec != 0 {
		t.Errorf("exit code = %v; want 0", ec)
	}
}

func TestAgentSeesScriptedExitOnSim(t *testing.T) {
	c := startSimAgent(t)
	arn := runTask(t, c, "sim-job",
		types.KeyValuePair{Name: aws.String(sim.EnvExitAfter), Value: aws.String("300ms")},
		types.KeyValuePair{Name: aws.String(sim.EnvExitCode), Value: aws.String("3")})
	stopped := waitTask(t, c, arn, "STOPPED")
	if stopped.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("stopCode = %s; want EssentialContainerExited", stopped.StopCode)
	}
	if ec := stopped.Containers[0].ExitCode; ec == nil || *ec != 3 {
		t.Errorf("exit code = %v; want 3", ec)
	}
}
