package ecsapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// A service with availabilityZoneRebalancing ENABLED whose tasks all landed
// in one zone (the other zone had no instance yet) moves one when an instance
// of the other zone joins: a task is started there, then one is stopped in
// the full zone; the service stays at its desired count while it happens.
// Without the setting nothing moves.
func TestServiceRebalancesAcrossZones(t *testing.T) {
	cl := svStartCluster(t, "zone-a")
	ctx := context.Background()
	if _, err := cl.c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("rb"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"), Memory: aws.Int32(64)}}}); err != nil {
		t.Fatal(err)
	}
	create := func(name string, rebalance types.AvailabilityZoneRebalancing) {
		if _, err := cl.c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String("rb"),
			DesiredCount: aws.Int32(2), AvailabilityZoneRebalancing: rebalance}); err != nil {
			t.Fatal(err)
		}
	}
	create("moves", types.AvailabilityZoneRebalancingEnabled)
	create("stays", types.AvailabilityZoneRebalancingDisabled)
	zones := func(service string) map[string]int {
		arns, err := cl.c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String(service)})
		if err != nil || len(arns.TaskArns) == 0 {
			return nil
		}
		out, err := cl.c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: arns.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, tk := range out.Tasks {
			if aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.DesiredStatus) == "RUNNING" {
				m[aws.ToString(tk.AvailabilityZone)]++
			}
		}
		return m
	}
	svWait(t, 20*time.Second, "both services running in zone-a", func() bool {
		return zones("moves")["zone-a"] == 2 && zones("stays")["zone-a"] == 2
	})
	cl.addAgent(t, "zone-b")
	low := 2
	svWait(t, 30*time.Second, "the rebalancing service to spread over both zones", func() bool {
		z := zones("moves")
		low = min(low, z["zone-a"]+z["zone-b"])
		return z["zone-a"] == 1 && z["zone-b"] == 1
	})
	if low < 2 {
		t.Fatalf("the service ran %d wanted tasks while it moved one; want never fewer than 2", low)
	}
	svWait(t, 20*time.Second, "the moved task's old copy to stop", func() bool {
		desc, err := cl.c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"moves"}})
		return err == nil && len(desc.Services) == 1 && desc.Services[0].RunningCount == 2
	})
	time.Sleep(2 * time.Second)
	if z := zones("stays"); z["zone-a"] != 2 {
		t.Fatalf("the service without rebalancing moved: %v", z)
	}
}

// A service tagged wharf:rebalance=binpack whose tasks drifted apart after a
// scale-in moves them back together: the task alone on the emptier instance
// is replaced on the fuller one, which has room, and that instance is left
// empty.
func TestServiceRebalancesBinpack(t *testing.T) {
	cl := svStartCluster(t, "zone-a")
	ctx := context.Background()
	if _, err := cl.c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("pack"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"), Memory: aws.Int32(256)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("pack"), TaskDefinition: aws.String("pack"),
		DesiredCount:      aws.Int32(5),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}},
		Tags:              []types.Tag{{Key: aws.String("wharf:rebalance"), Value: aws.String("binpack")}}}); err != nil {
		t.Fatal(err)
	}
	perInstance := func() map[string]int {
		arns, err := cl.c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("pack")})
		if err != nil || len(arns.TaskArns) == 0 {
			return nil
		}
		out, err := cl.c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: arns.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, tk := range out.Tasks {
			if aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.DesiredStatus) == "RUNNING" {
				m[aws.ToString(tk.ContainerInstanceArn)]++
			}
		}
		return m
	}
	// Four fit on the first instance; the fifth needs a second one.
	svWait(t, 20*time.Second, "four tasks on the only instance", func() bool {
		return perInstance()[cl.agents[0].ag.InstanceArn()] == 4
	})
	second := cl.addAgent(t, "zone-a")
	svWait(t, 20*time.Second, "the fifth task on the second instance", func() bool {
		return perInstance()[second.ag.InstanceArn()] == 1
	})
	// Scaling in takes from the fuller instance: 2 and 1 are left, and the
	// lone task fits beside the other two.
	if _, err := cl.c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("pack"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	svWait(t, 45*time.Second, "the tasks packed onto one instance", func() bool {
		m := perInstance()
		return m[cl.agents[0].ag.InstanceArn()] == 3 && m[second.ag.InstanceArn()] == 0
	})
	desc, err := cl.c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"pack"}})
	if err != nil || len(desc.Services) != 1 {
		t.Fatal(err)
	}
	moved := false
	for _, ev := range desc.Services[0].Events {
		moved = moved || strings.Contains(aws.ToString(ev.Message), "is rebalancing")
	}
	if !moved {
		t.Fatal("no rebalancing event: the tasks were packed by something else")
	}
}
