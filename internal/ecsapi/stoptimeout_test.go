package ecsapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// stopTimeout is capped at ECS's 120 seconds unless the operator raised the
// cap; the refusal says how.
func TestStopTimeoutCap(t *testing.T) {
	ctx := context.Background()
	td := func(stop int32) *ecs.RegisterTaskDefinitionInput {
		return &ecs.RegisterTaskDefinitionInput{Family: aws.String("slow"), ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("busybox:latest"), Memory: aws.Int32(16), StopTimeout: aws.Int32(stop)}}}
	}
	s := ecstest.Start(t)
	if _, err := s.Client.RegisterTaskDefinition(ctx, td(120)); err != nil {
		t.Fatalf("stopTimeout 120: %v", err)
	}
	_, err := s.Client.RegisterTaskDefinition(ctx, td(600))
	ecstest.WantCode(t, err, "ClientException")
	if !strings.Contains(err.Error(), "--max-stop-timeout") {
		t.Errorf("refusal does not say how to allow it: %v", err)
	}
	raised := ecstest.StartWith(t, ecstest.Options{MaxStopTimeout: 900})
	out, err := raised.Client.RegisterTaskDefinition(ctx, td(600))
	if err != nil || aws.ToInt32(out.TaskDefinition.ContainerDefinitions[0].StopTimeout) != 600 {
		t.Fatalf("stopTimeout 600 with the cap at 900: %v", err)
	}
	_, err = raised.Client.RegisterTaskDefinition(ctx, td(901))
	ecstest.WantCode(t, err, "ClientException")
}
