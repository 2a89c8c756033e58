package agent_test

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

// An agent with PrepullImages pulls the images of its cluster's active
// services before any of their tasks lands on it; one without it does not.
func TestPrepullServiceImages(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	start := func(prepull bool, cpu int64) *sim.Runtime {
		rt := sim.New(sim.Options{Images: []string{"busybox:latest"}, Registry: []string{"example/web:1"}})
		ag, err := agent.New(agent.Config{Endpoint: s.URL(), Credentials: ecstest.TestCredentials, CPU: cpu, MemoryMiB: 1024,
			Runtime: rt, PollWait: time.Second, ResyncInterval: time.Second, PrepullImages: prepull})
		if err != nil {
			t.Fatal(err)
		}
		actx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- ag.Run(actx) }()
		t.Cleanup(func() { cancel(); <-done })
		waitFor(t, 10*time.Second, "registration", func() bool { return ag.InstanceArn() != "" })
		return rt
	}
	warm := start(true, 1024)
	cold := start(false, 1024)
	if _, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("example/web:1"), Memory: aws.Int32(16)}}}); err != nil {
		t.Fatal(err)
	}
	// The service has no task yet (desired 0): only the pre-pull fetches
	// its image.
	if _, err := s.Client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 45*time.Second, "the image pre-pulled", func() bool {
		ok, _ := warm.ImageExists(ctx, "example/web:1")
		return ok
	})
	if ok, _ := cold.ImageExists(ctx, "example/web:1"); ok {
		t.Fatal("an agent without --prepull-images pulled the service's image")
	}
}
