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

// ListContainerInstances --filter evaluates the cluster query language over
// attributes, counts and task groups.
func TestListContainerInstancesFilter(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "q")
	register := func(zone, itype string) string {
		out, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
			Cluster:        aws.String("q"),
			TotalResources: ciAgentResources(),
			VersionInfo:    &types.VersionInfo{AgentVersion: aws.String("1.2.0")},
			Attributes: []types.Attribute{
				{Name: aws.String("ecs.availability-zone"), Value: aws.String(zone)},
				{Name: aws.String("ecs.instance-type"), Value: aws.String(itype)},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ContainerInstance.ContainerInstanceArn)
	}
	a := register("zone-a", "t2.small")
	b := register("zone-b", "t2.small")
	c := register("zone-b", "m5.large")
	tdOut, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("db"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("db"), Image: aws.String("busybox:latest"), Memory: aws.Int32(16)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("q"), TaskDefinition: tdOut.TaskDefinition.TaskDefinitionArn,
		ContainerInstances: []string{c}, Group: aws.String("database")}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"attribute:ecs.instance-type == t2.small", []string{a, b}},
		{"attribute:ecs.availability-zone in [zone-b, zone-c]", []string{b, c}},
		{"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != zone-a", []string{b}},
		{"task:group == database", []string{c}},
		{"not(task:group == database)", []string{a, b}},
		{"runningTasksCount == 1", []string{c}},
		{"agentVersion >= 1.1.9", []string{a, b, c}},
		{"agentVersion < 1.2", []string{}},
	} {
		out, err := s.Client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("q"), Filter: aws.String(tc.filter)})
		if err != nil {
			t.Errorf("filter %q: %v", tc.filter, err)
			continue
		}
		got := slices.Sorted(slices.Values(out.ContainerInstanceArns))
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("filter %q = %v; want %v", tc.filter, got, want)
		}
	}
}
