package ecsapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
)

// ExplainPlacement names, for every instance, the check that refused the
// task and its figures, or that it accepted it and which one the strategies
// chose; explaining a placed task gives its own reservation back first.
func TestExplainPlacement(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	if _, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	register := func(cpu int32, disk string) string {
		out, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
			Cluster: aws.String("x"),
			TotalResources: []types.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 4096},
			},
			Attributes: append(ecstest.AgentAttributes(), types.Attribute{Name: aws.String("disk"), Value: aws.String(disk)}),
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ContainerInstance.ContainerInstanceArn)
	}
	small := register(256, "ssd")
	hdd := register(2048, "hdd")
	fits := register(2048, "ssd")
	if _, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("app"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:latest"),
			Cpu: 512, Memory: aws.Int32(128)}},
	}); err != nil {
		t.Fatal(err)
	}
	admin := agent.NewAPIClient(s.URL(), nil, ecstest.TestCredentials, "us-east-1")
	var out agentproto.ExplainPlacementResponse
	err := admin.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.ExplainPlacement, agentproto.ExplainPlacementRequest{
		RunTaskRequest: model.RunTaskRequest{Cluster: "x", TaskDefinition: "app",
			PlacementConstraints: []model.PlacementConstraint{{Type: "memberOf", Expression: "attribute:disk == ssd"}}},
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 || out.Tasks[0].ChosenInstanceArn != fits || out.CPU != 512 {
		t.Fatalf("explanation = %+v; want one task on %s", out, fits)
	}
	got := map[string]agentproto.InstanceVerdict{}
	for _, v := range out.Tasks[0].Instances {
		got[v.ContainerInstanceArn] = v
	}
	if v := got[small]; v.Accepted || v.Check != "cpu" || v.Reason != "RESOURCE:CPU" || !strings.Contains(v.Detail, "512") || !strings.Contains(v.Detail, "256") {
		t.Errorf("small instance: %+v; want refused by cpu with the figures", v)
	}
	if v := got[hdd]; v.Accepted || v.Check != "memberOf" || v.Reason != "ATTRIBUTE" {
		t.Errorf("hdd instance: %+v; want refused by memberOf", v)
	}
	if v := got[fits]; !v.Accepted || !v.Chosen {
		t.Errorf("fitting instance: %+v; want accepted and chosen", v)
	}

	// A placed task: explained again with its reservation given back, it
	// lands where it runs.
	run, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("x"), TaskDefinition: aws.String("app"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:disk == ssd")}}})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	var again agentproto.ExplainPlacementResponse
	err = admin.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.ExplainPlacement, agentproto.ExplainPlacementRequest{
		RunTaskRequest: model.RunTaskRequest{Cluster: "x"}, Task: aws.ToString(run.Tasks[0].TaskArn),
	}, &again)
	if err != nil {
		t.Fatal(err)
	}
	if again.RunsOn != fits || len(again.Tasks) != 1 {
		t.Fatalf("task explanation = %+v; want it running on %s", again, fits)
	}
	for _, v := range again.Tasks[0].Instances {
		if v.ContainerInstanceArn == hdd && v.Accepted {
			t.Errorf("the task's explanation dropped its memberOf constraint? %+v", v)
		}
	}

	// Bad input is refused with the ECS error shape.
	err = admin.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.ExplainPlacement, agentproto.ExplainPlacementRequest{
		RunTaskRequest: model.RunTaskRequest{Cluster: "x", TaskDefinition: "nope"}}, nil)
	if code := agentErrorCode(err); code != "ClientException" && code != "InvalidParameterException" {
		t.Errorf("unknown task definition: %v; want a client error", err)
	}
}

func agentErrorCode(err error) string {
	if ae, ok := err.(*agent.APIError); ok {
		return ae.Code
	}
	return ""
}
