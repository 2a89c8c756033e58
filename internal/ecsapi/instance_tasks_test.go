package ecsapi_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// TestInstanceWithRunTask drives an instance through RunTask, re-registration
// and forced deregistration, checking the books the two sides share.
func TestInstanceWithRunTask(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	ci := ciRegister(t, s, "c")
	arn := aws.ToString(ci.ContainerInstanceArn)
	if _, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("busybox"), Essential: aws.Bool(true), Cpu: 512, Memory: aws.Int32(256),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}},
		}},
	}); err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	run, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v (tasks %d, failures %+v)", err, len(run.Tasks), run.Failures)
	}
	taskArn := aws.ToString(run.Tasks[0].TaskArn)

	got := ciDescribe(t, s, "c", arn)
	if got.PendingTasksCount != 1 || ciResource(got.RemainingResources, "CPU").IntegerValue != 2048-512 ||
		ciResource(got.RemainingResources, "MEMORY").IntegerValue != 3768-256 ||
		!slices.Contains(ciResource(got.RemainingResources, "PORTS").StringSetValue, "8080") {
		t.Errorf("after RunTask: pending %d, remaining %+v; want 1 pending, CPU 1536, MEMORY 3512, port 8080 taken", got.PendingTasksCount, got.RemainingResources)
	}

	// The agent restarts and registers again: the task keeps its share.
	re, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String("c"), ContainerInstanceArn: aws.String(arn), TotalResources: ciAgentResources(),
	})
	if err != nil {
		t.Fatalf("re-registration: %v", err)
	}
	rem := re.ContainerInstance.RemainingResources
	if ciResource(rem, "CPU").IntegerValue != 1536 || ciResource(rem, "MEMORY").IntegerValue != 3512 || re.ContainerInstance.PendingTasksCount != 1 {
		t.Errorf("after re-registration: pending %d, remaining %+v; want the task's share kept", re.ContainerInstance.PendingTasksCount, rem)
	}

	_, err = s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(arn)})
	ecstest.WantCode(t, err, "InvalidParameterException")
	if _, err := s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{
		Cluster: aws.String("c"), ContainerInstance: aws.String(arn), Force: aws.Bool(true),
	}); err != nil {
		t.Fatalf("forced deregistration: %v", err)
	}
	desc, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{taskArn}})
	if err != nil || len(desc.Tasks) != 1 {
		t.Fatalf("DescribeTasks: %v %+v", err, desc)
	}
	task := desc.Tasks[0]
	if aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.DesiredStatus) != "STOPPED" ||
		aws.ToString(task.StoppedReason) != "Container instance deregistered" {
		t.Errorf("task after forced deregistration: last %s desired %s reason %q; want STOPPED STOPPED %q",
			aws.ToString(task.LastStatus), aws.ToString(task.DesiredStatus), aws.ToString(task.StoppedReason), "Container instance deregistered")
	}
	// With the instance gone, the cluster can be deleted.
	if _, err := s.Client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("c")}); err != nil {
		t.Errorf("DeleteCluster after deregistering its only instance: %v", err)
	}
}
