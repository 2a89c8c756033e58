package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/runtime/docker/dockertest"
)

// TestCPUBurningServiceScalesOnDocker runs wharf-testapp on the real Docker
// Engine: a task burning a core uses far more than the 256 CPU units it
// reserved (up to 400%, less on a busy host), so a policy tracking 60%
// scales the service out to its maximum of 2; a revision that burns nothing
// brings it back to 1 once the minute's average has fallen below 54%.
func TestCPUBurningServiceScalesOnDocker(t *testing.T) {
	rt := dockertest.Require(t, docker.Options{PullStallTimeout: 5 * time.Second}, "wharf-testapp:latest")
	ctx := context.Background()

	srv := asServer(t)
	ag, err := agent.New(agent.Config{Endpoint: srv.URL(), Credentials: ecstest.TestCredentials, Cluster: "default",
		DataDir: t.TempDir(), CPU: 2048, MemoryMiB: 2048, Runtime: rt, PollWait: 5 * time.Second, ResyncInterval: time.Second,
		StatsInterval: 500 * time.Millisecond, StatsReportInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ag.Run(actx) }()
	t.Cleanup(func() {
		acancel()
		<-done
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		states, _ := rt.List(cctx, map[string]string{"org.wharf-ecs.container-instance-arn": ag.InstanceArn()})
		for _, st := range states {
			_ = rt.Remove(cctx, st.ID)
		}
	})
	obsWait(t, 10*time.Second, "the agent registers", func() bool { return ag.InstanceArn() != "" })

	c, as := ecstest.NewClient(srv.URL()), newAAS(srv.URL())
	taskDef := func(burn string) string {
		out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("burner"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"),
				Cpu: 256, Memory: aws.Int32(64), Environment: []ecstypes.KeyValuePair{{Name: aws.String("BURN_CPU"), Value: aws.String(burn)}}}}})
		if err != nil {
			t.Fatalf("RegisterTaskDefinition: %v", err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("burner"), TaskDefinition: aws.String(taskDef("1")), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	const rid = "service/default/burner"
	trackCPU(t, as, rid, 1, 2, "cpu", 60)
	start := time.Now()
	obsWait(t, 40*time.Second, "the burning service scales out to 2", func() bool { return desiredCount(t, c, "burner") == 2 })
	t.Logf("scaled out in %s", time.Since(start).Round(time.Second))

	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("burner"), TaskDefinition: aws.String(taskDef("0"))}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	start = time.Now()
	obsWait(t, 100*time.Second, "the idle service scales back in to 1", func() bool { return desiredCount(t, c, "burner") == 1 })
	t.Logf("scaled in %s after the idle revision was deployed", time.Since(start).Round(time.Second))
}
