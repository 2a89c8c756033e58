package ecsapi_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// A task drained for a load balancer stays DEACTIVATING with desiredStatus
// STOPPED, while its agent is told to keep it running, until FinishDrain
// lets it stop.
func TestDrainServiceTask(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	inst := tkInstance(t, s, "c", 2048, 4096)
	arn := aws.ToString(tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")}).Tasks[0].TaskArn)
	tkCall(t, s, "SubmitTaskStateChange", map[string]any{"cluster": "c", "task": arn, "status": "RUNNING"})

	agentSees := func() string {
		t.Helper()
		out, err := s.API().PollTasks(ctx, &agentproto.PollTasksRequest{Cluster: "c", ContainerInstanceArn: inst})
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range out.Tasks {
			if at.Task.TaskArn == arn {
				return at.Task.DesiredStatus
			}
		}
		return "(not polled)"
	}
	if err := s.API().DrainServiceTask(ctx, "c", arn, "Scaling activity initiated by (deployment ecs-svc/1)"); err != nil {
		t.Fatal(err)
	}
	task := tkDescribe(t, s, "c", arn)
	if aws.ToString(task.LastStatus) != "DEACTIVATING" || aws.ToString(task.DesiredStatus) != "STOPPED" || task.StopCode != "ServiceSchedulerInitiated" {
		t.Fatalf("drained task = %s/%s %s; want DEACTIVATING, desired STOPPED, ServiceSchedulerInitiated",
			aws.ToString(task.LastStatus), aws.ToString(task.DesiredStatus), task.StopCode)
	}
	if got := agentSees(); got != "RUNNING" {
		t.Errorf("the agent is told %s while the task drains; want RUNNING", got)
	}
	// The agent's RUNNING reports do not move the task back.
	tkCall(t, s, "SubmitTaskStateChange", map[string]any{"cluster": "c", "task": arn, "status": "RUNNING"})
	if got := aws.ToString(tkDescribe(t, s, "c", arn).LastStatus); got != "DEACTIVATING" {
		t.Errorf("after a RUNNING report the task is %s; want DEACTIVATING", got)
	}
	if err := s.API().FinishDrain(ctx, "c", arn); err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(tkDescribe(t, s, "c", arn).LastStatus); got != "STOPPING" {
		t.Errorf("after FinishDrain the task is %s; want STOPPING", got)
	}
	if got := agentSees(); got != "STOPPED" {
		t.Errorf("the agent is told %s once draining ended; want STOPPED", got)
	}
	// A task that is not RUNNING yet stops at once.
	arn2 := aws.ToString(tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")}).Tasks[0].TaskArn)
	if err := s.API().DrainServiceTask(ctx, "c", arn2, "scale in"); err != nil {
		t.Fatal(err)
	}
	if got := tkDescribe(t, s, "c", arn2); aws.ToString(got.LastStatus) != "PENDING" || aws.ToString(got.DesiredStatus) != "STOPPED" {
		t.Errorf("drained PENDING task = %s/%s; want PENDING, desired STOPPED", aws.ToString(got.LastStatus), aws.ToString(got.DesiredStatus))
	}
}
