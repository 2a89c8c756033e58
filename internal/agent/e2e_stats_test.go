package agent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/metrics"
)

// On the real Docker Engine: a wharf-testapp task told to burn a core
// (GET /burn) and holding 64 MiB shows as busy in its utilization, computed
// by the server from the agent's samples.
func TestDockerTaskUtilizationFollowsItsLoad(t *testing.T) {
	rt := dockerRuntime(t)
	srv := ecstest.Start(t)
	ag, err := agent.New(agent.Config{
		Endpoint: srv.URL(), Credentials: ecstest.TestCredentials, Cluster: "default",
		DataDir: t.TempDir(), CPU: 2048, MemoryMiB: 2048, Runtime: rt,
		PollWait: 5 * time.Second, ResyncInterval: time.Second,
		StatsInterval: time.Second, StatsReportInterval: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; removeTaskContainers(t, rt, ag.InstanceArn()) })
	waitFor(t, 10*time.Second, "instance registered", func() bool { return ag.InstanceArn() != "" })

	td := register(t, srv.Client, "burner", types.ContainerDefinition{
		Name: aws.String("app"), Image: aws.String(testappImage), Essential: aws.Bool(true),
		Cpu: 1024, Memory: aws.Int32(256),
		Environment:  []types.KeyValuePair{{Name: aws.String("HOLD_MEMORY_MB"), Value: aws.String("64")}},
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0)}},
	})
	task := runTask(t, srv.Client, td)
	arn := aws.ToString(task.TaskArn)
	task = waitStatus(t, srv.Client, arn, "RUNNING", time.Minute)
	port := hostPort(t, container(t, task, "app"), 8080)
	taskID := arn[len(arn)-32:]
	u := srv.Metrics()

	// Idle but holding 64 MiB of its 256: memory at least a quarter, CPU low.
	waitFor(t, 30*time.Second, "the task's utilization is known", func() bool {
		_, ok := u.TaskAverage("default", taskID, metrics.MemoryUtilization, time.Minute)
		return ok
	})
	if mem, _ := u.TaskAverage("default", taskID, metrics.MemoryUtilization, time.Minute); mem < 24 || mem > 60 {
		t.Errorf("memory utilization of a task holding 64 of its 256 MiB = %.1f%%; want about 25%%", mem)
	}
	if cpu, _ := u.TaskAverage("default", taskID, metrics.CPUUtilization, time.Minute); cpu > 20 {
		t.Errorf("CPU utilization of an idle task = %.1f%%; want near 0", cpu)
	}

	// Burning one core is all of its 1024 units; on a busy test machine it
	// may get less than a whole core, but far more than when idle.
	if body, err := httpBody(fmt.Sprintf("http://127.0.0.1:%d/burn?seconds=120&cores=1", port)); err != nil {
		t.Fatalf("GET /burn: %v", err)
	} else {
		t.Logf("testapp: %s", body)
	}
	waitFor(t, time.Minute, "the task's CPU utilization this minute shows the burn", func() bool {
		cpu, ok := u.TaskAverage("default", taskID, metrics.CPUUtilization, 0)
		return ok && cpu > 40
	})
	if _, err := srv.Client.StopTask(context.Background(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, srv.Client, arn, time.Minute)
}
