package ecsapi_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// plInstance registers an instance with the agent's capabilities and a zone.
func plInstance(t *testing.T, s *ecstest.Server, cluster, zone string, cpu, mem int32, extra ...types.Attribute) string {
	t.Helper()
	attrs := append(ecstest.AgentAttributes(), types.Attribute{Name: aws.String("ecs.availability-zone"), Value: aws.String(zone)})
	out, err := s.Client.RegisterContainerInstance(context.Background(), &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String(cluster),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: mem},
		},
		Attributes: append(attrs, extra...),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ContainerInstance.ContainerInstanceArn)
}

// placedOn counts the tasks per container instance ARN.
func placedOn(out *ecs.RunTaskOutput) map[string]int {
	m := map[string]int{}
	for _, tk := range out.Tasks {
		m[aws.ToString(tk.ContainerInstanceArn)]++
	}
	return m
}

func TestRunTaskBinpackChoosesTightestFit(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 256)
	roomy := plInstance(t, s, "c", "a", 4096, 4096)
	tight := plInstance(t, s, "c", "a", 4096, 1024)
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(5),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
	got := placedOn(out)
	if got[tight] != 4 || got[roomy] != 1 {
		t.Fatalf("binpack memory placed %v; want 4 on the tight instance (1024 MiB) then 1 on the roomy one", got)
	}
}

func TestRunTaskSpreadAcrossZones(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	zoneOf := map[string]string{}
	for _, z := range []string{"a", "a", "a", "b"} {
		zoneOf[plInstance(t, s, "c", z, 4096, 4096)] = z
	}
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(6),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}}})
	perZone := map[string]int{}
	for arn, n := range placedOn(out) {
		perZone[zoneOf[arn]] += n
	}
	if perZone["a"] != 3 || perZone["b"] != 3 {
		t.Fatalf("spread by zone placed %v per zone; want 3 and 3", perZone)
	}
}

func TestRunTaskMemberOf(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	gpu := types.Attribute{Name: aws.String("hardware"), Value: aws.String("gpu")}
	plInstance(t, s, "c", "a", 4096, 4096)
	special := plInstance(t, s, "c", "b", 4096, 4096, gpu)
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(3),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:hardware == gpu")}}})
	if got := placedOn(out); got[special] != 3 {
		t.Fatalf("memberOf placed %v; want all 3 on the gpu instance", got)
	}
	out = tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.availability-zone == z")}}})
	if len(out.Tasks) != 0 || len(out.Failures) != 2 || aws.ToString(out.Failures[0].Reason) != "ATTRIBUTE" {
		t.Fatalf("memberOf matching nothing: %d tasks, failures %+v; want ATTRIBUTE on both instances", len(out.Tasks), out.Failures)
	}
}

// A task definition needing a capability no instance advertises is refused
// with ATTRIBUTE, as ECS does.
func TestRunTaskRequiresAttributes(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	if _, err := s.Client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("checked"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:latest"), Memory: aws.Int32(16),
			HealthCheck: &types.HealthCheck{Command: []string{"CMD", "true"}}}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.RegisterContainerInstance(context.Background(), &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String("c"),
		TotalResources: []types.Resource{{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1024},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1024}},
	}); err != nil {
		t.Fatal(err)
	}
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("checked")})
	if len(out.Tasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "ATTRIBUTE" {
		t.Fatalf("health-checked task on an instance without the capability: %d tasks, failures %+v; want ATTRIBUTE", len(out.Tasks), out.Failures)
	}
}

// A RunTask right after RegisterContainerInstance sees the instance: the
// placement worker waits until its caches reflect every write made before
// the request (the worker no longer waits for its own commits, which made
// this race once).
func TestRunTaskSeesInstanceRegisteredJustBefore(t *testing.T) {
	s := ecstest.Start(t)
	tkTD(t, s, "web", 16, 16)
	for i := 0; i < 40; i++ {
		cluster := fmt.Sprintf("fresh-%d", i)
		tkCluster(t, s, cluster)
		plInstance(t, s, cluster, "a", 1024, 1024)
		out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web")})
		if len(out.Tasks) != 1 {
			t.Fatalf("round %d: RunTask placed %d tasks, failures %+v; want the just-registered instance used", i, len(out.Tasks), out.Failures)
		}
	}
}

// TestRunTaskPipelineUnderRacingWriters: the placement worker places a batch
// while the one before is being committed. Callers racing each other, and an
// outside writer rewriting the instances (so that batches in the air lose
// their conditions and the batches planned on top of them are thrown away),
// must still end with every acknowledged task stored exactly once, nothing
// stored that was not acknowledged, and no instance over its registered
// resources.
func TestRunTaskPipelineUnderRacingWriters(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "small", 64, 128)
	const instances, cpu, mem = 4, 8192, 8192 // 64 tasks each by memory, 256 in all
	var insts []string
	for i := range instances {
		insts = append(insts, plInstance(t, s, "c", fmt.Sprintf("z%d", i%2), cpu, mem))
	}
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			_, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"),
				Attributes: []types.Attribute{{Name: aws.String("touched"), Value: aws.String(fmt.Sprint(n)),
					TargetType: types.TargetTypeContainerInstance, TargetId: aws.String(insts[n%instances])}}})
			if err != nil {
				t.Errorf("PutAttributes: %v", err)
				return
			}
		}
	})
	var mu sync.Mutex
	acked := map[string]string{} // task ARN → instance ARN
	var callers sync.WaitGroup
	for g := range 12 {
		callers.Go(func() {
			for i := range 8 {
				out, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("small"),
					Count: aws.Int32(2), ClientToken: aws.String(fmt.Sprintf("g%d-%d", g, i))})
				if err != nil {
					t.Errorf("RunTask: %v", err)
					return
				}
				mu.Lock()
				for _, task := range out.Tasks {
					if _, dup := acked[aws.ToString(task.TaskArn)]; dup {
						t.Errorf("task %s acknowledged twice", aws.ToString(task.TaskArn))
					}
					acked[aws.ToString(task.TaskArn)] = aws.ToString(task.ContainerInstanceArn)
				}
				mu.Unlock()
			}
		})
	}
	callers.Wait()
	close(stop)
	writer.Wait()

	stored := tkListAll(t, s, ecs.ListTasksInput{Cluster: aws.String("c")})
	if len(stored) != len(acked) || len(acked) != 12*8*2 {
		t.Errorf("%d tasks stored, %d acknowledged; want %d of each", len(stored), len(acked), 12*8*2)
	}
	perInstance := map[string]int32{}
	for _, arn := range stored {
		d := tkDescribe(t, s, "c", arn)
		on, ok := acked[arn]
		if !ok {
			t.Errorf("task %s stored but never acknowledged", arn)
		} else if on != aws.ToString(d.ContainerInstanceArn) {
			t.Errorf("task %s acknowledged on %s, stored on %s", arn, on, aws.ToString(d.ContainerInstanceArn))
		}
		perInstance[aws.ToString(d.ContainerInstanceArn)]++
	}
	for _, inst := range insts {
		rc, rm, _ := tkRemaining(t, s, "c", inst)
		if n := perInstance[inst]; rc != cpu-64*n || rm != mem-128*n || rm < 0 {
			t.Errorf("instance %s holds %d tasks, remaining CPU %d MEMORY %d; want %d %d", inst, n, rc, rm, cpu-64*n, mem-128*n)
		}
	}
}
