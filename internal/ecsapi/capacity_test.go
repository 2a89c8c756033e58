package ecsapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/state"
)

func cpCreate(t *testing.T, c *ecs.Client, name string, mutate ...func(*ecs.CreateCapacityProviderInput)) types.CapacityProvider {
	t.Helper()
	in := &ecs.CreateCapacityProviderInput{Name: aws.String(name), AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
		AutoScalingGroupArn: aws.String("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/" + name),
	}}
	for _, m := range mutate {
		m(in)
	}
	out, err := c.CreateCapacityProvider(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateCapacityProvider %s: %v", name, err)
	}
	return *out.CapacityProvider
}

func strategy(kv ...any) []types.CapacityProviderStrategyItem {
	var out []types.CapacityProviderStrategyItem
	for i := 0; i < len(kv); i += 3 {
		out = append(out, types.CapacityProviderStrategyItem{CapacityProvider: aws.String(kv[i].(string)),
			Base: int32(kv[i+1].(int)), Weight: int32(kv[i+2].(int))})
	}
	return out
}

func TestCapacityProviderLifecycle(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	cp := cpCreate(t, s.Client, "web-asg", func(in *ecs.CreateCapacityProviderInput) {
		in.AutoScalingGroupProvider.ManagedScaling = &types.ManagedScaling{TargetCapacity: aws.Int32(80), MaximumScalingStepSize: aws.Int32(4)}
		in.AutoScalingGroupProvider.ManagedTerminationProtection = types.ManagedTerminationProtectionEnabled
		in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}
	})
	ms := cp.AutoScalingGroupProvider.ManagedScaling
	if got := fmt.Sprintln(cp.Status, ms.Status, *ms.TargetCapacity, *ms.MinimumScalingStepSize, *ms.MaximumScalingStepSize, *ms.InstanceWarmupPeriod,
		cp.AutoScalingGroupProvider.ManagedDraining, aws.ToString(cp.CapacityProviderArn)); got !=
		"ACTIVE ENABLED 80 1 4 300 ENABLED arn:aws:ecs:us-east-1:123456789012:capacity-provider/web-asg\n" {
		t.Errorf("created provider = %s", got)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*ecs.CreateCapacityProviderInput)
		code   string
		want   string
	}{
		{"duplicate", func(*ecs.CreateCapacityProviderInput) {}, "ClientException", "already exists"},
		{"reserved prefix", func(in *ecs.CreateCapacityProviderInput) { in.Name = aws.String("FargateMine") }, "InvalidParameterException", "cannot begin"},
		{"same group", func(in *ecs.CreateCapacityProviderInput) { in.Name = aws.String("other") }, "ClientException", "already used by capacity provider web-asg"},
		{"managed instances", func(in *ecs.CreateCapacityProviderInput) {
			in.Name = aws.String("mi")
			in.AutoScalingGroupProvider = nil
			in.ManagedInstancesProvider = &types.CreateManagedInstancesProviderConfiguration{InfrastructureRoleArn: aws.String("r"),
				InstanceLaunchTemplate: &types.InstanceLaunchTemplate{Ec2InstanceProfileArn: aws.String("p"),
					NetworkConfiguration: &types.ManagedInstancesNetworkConfiguration{Subnets: []string{"s"}}}}
		}, "UnsupportedFeatureException", "Managed Instances"},
		{"target capacity 0", func(in *ecs.CreateCapacityProviderInput) {
			in.Name = aws.String("t0")
			in.AutoScalingGroupProvider.AutoScalingGroupArn = aws.String("g-t0")
			in.AutoScalingGroupProvider.ManagedScaling = &types.ManagedScaling{TargetCapacity: aws.Int32(0)}
		}, "InvalidParameterException", "targetCapacity"},
		{"min above max", func(in *ecs.CreateCapacityProviderInput) {
			in.Name = aws.String("mm")
			in.AutoScalingGroupProvider.AutoScalingGroupArn = aws.String("g-mm")
			in.AutoScalingGroupProvider.ManagedScaling = &types.ManagedScaling{MinimumScalingStepSize: aws.Int32(5), MaximumScalingStepSize: aws.Int32(2)}
		}, "InvalidParameterException", "cannot be greater"},
		{"protection without scaling", func(in *ecs.CreateCapacityProviderInput) {
			in.Name = aws.String("pr")
			in.AutoScalingGroupProvider.AutoScalingGroupArn = aws.String("g-pr")
			in.AutoScalingGroupProvider.ManagedTerminationProtection = types.ManagedTerminationProtectionEnabled
		}, "InvalidParameterException", "needs managed scaling"},
		{"no group", func(in *ecs.CreateCapacityProviderInput) {
			in.Name = aws.String("ng")
			in.AutoScalingGroupProvider = nil
		}, "InvalidParameterException", "autoScalingGroupArn is required"},
	} {
		in := &ecs.CreateCapacityProviderInput{Name: aws.String("web-asg"), AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
			AutoScalingGroupArn: aws.String("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/web-asg")}}
		tc.mutate(in)
		_, err := s.Client.CreateCapacityProvider(ctx, in)
		if ecstest.ErrorCode(err) != tc.code || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: CreateCapacityProvider error = %v; want %s saying %q", tc.name, err, tc.code, tc.want)
		}
	}

	// Update merges what it is given.
	up, err := s.Client.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{Name: aws.String("web-asg"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{ManagedScaling: &types.ManagedScaling{MinimumScalingStepSize: aws.Int32(2)}}})
	if err != nil {
		t.Fatal(err)
	}
	ms = up.CapacityProvider.AutoScalingGroupProvider.ManagedScaling
	if *ms.TargetCapacity != 80 || *ms.MinimumScalingStepSize != 2 || *ms.MaximumScalingStepSize != 4 || up.CapacityProvider.UpdateStatus != types.CapacityProviderUpdateStatusUpdateComplete {
		t.Errorf("after update managedScaling = %+v, updateStatus %s", *ms, up.CapacityProvider.UpdateStatus)
	}
	if _, err := s.Client.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{Name: aws.String("FARGATE"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{}}); ecstest.ErrorCode(err) != "InvalidParameterException" {
		t.Errorf("UpdateCapacityProvider FARGATE: %v", err)
	}

	// Describe: the built-in providers and ours, paged, tags on request.
	var names []string
	var token *string
	for {
		out, err := s.Client.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.CapacityProviders {
			names = append(names, aws.ToString(p.Name))
			if len(p.Tags) != 0 {
				t.Errorf("tags of %s shown without include TAGS", aws.ToString(p.Name))
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(names, []string{"FARGATE", "FARGATE_SPOT", "web-asg"}) {
		t.Errorf("DescribeCapacityProviders pages = %v", names)
	}
	d, err := s.Client.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{
		CapacityProviders: []string{"web-asg", "nope"}, Include: []types.CapacityProviderField{types.CapacityProviderFieldTags}})
	if err != nil || len(d.CapacityProviders) != 1 || len(d.CapacityProviders[0].Tags) != 1 || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeCapacityProviders by name: %v %+v", err, d)
	}

	// Tags through TagResource.
	if _, err := s.Client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: cp.CapacityProviderArn,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	lt, err := s.Client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: cp.CapacityProviderArn})
	if err != nil || len(lt.Tags) != 2 {
		t.Fatalf("ListTagsForResource: %v %+v", err, lt)
	}

	// Associated with a cluster it cannot be deleted, nor given to another.
	if _, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("a"),
		CapacityProviders: []string{"web-asg", "FARGATE"}, DefaultCapacityProviderStrategy: strategy("web-asg", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Client.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("b"),
		CapacityProviders: []string{"web-asg"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	if ecstest.ErrorCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "already associated with cluster a") {
		t.Errorf("second association: %v", err)
	}
	_, err = s.Client.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("web-asg")})
	if ecstest.ErrorCode(err) != "ClientException" || !strings.Contains(err.Error(), "associated with cluster a") {
		t.Errorf("delete while associated: %v", err)
	}
	inA, err := s.Client.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{Cluster: aws.String("a")})
	if err != nil || len(inA.CapacityProviders) != 2 {
		t.Fatalf("DescribeCapacityProviders --cluster a: %v %+v", err, inA)
	}
	for _, bad := range []struct {
		providers []string
		strategy  []types.CapacityProviderStrategyItem
		want      string
	}{
		{[]string{"web-asg"}, strategy("FARGATE", 0, 1), "not among the cluster's capacityProviders"},
		{[]string{"web-asg", "FARGATE"}, strategy("web-asg", 0, 1, "FARGATE", 0, 1), "mixes Fargate"},
		{[]string{"FARGATE", "FARGATE_SPOT"}, strategy("FARGATE", 1, 1, "FARGATE_SPOT", 2, 1), "Only one capacity provider"},
		{[]string{"FARGATE", "FARGATE_SPOT"}, strategy("FARGATE", 0, 0, "FARGATE_SPOT", 0, 0), "weight greater than 0"},
		{[]string{"ghost"}, nil, "does not exist"},
	} {
		_, err := s.Client.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("a"),
			CapacityProviders: bad.providers, DefaultCapacityProviderStrategy: append([]types.CapacityProviderStrategyItem{}, bad.strategy...)})
		if ecstest.ErrorCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("PutClusterCapacityProviders %v %v: %v; want %q", bad.providers, bad.strategy, err, bad.want)
		}
	}
	// Taken off the cluster, it can go.
	put, err := s.Client.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("a"),
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"}, DefaultCapacityProviderStrategy: strategy("FARGATE", 1, 1, "FARGATE_SPOT", 0, 4)})
	if err != nil || !slices.Equal(put.Cluster.CapacityProviders, []string{"FARGATE", "FARGATE_SPOT"}) || len(put.Cluster.DefaultCapacityProviderStrategy) != 2 {
		t.Fatalf("PutClusterCapacityProviders: %v %+v", err, put)
	}
	del, err := s.Client.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: cp.CapacityProviderArn})
	if err != nil || del.CapacityProvider.Status != types.CapacityProviderStatusInactive || del.CapacityProvider.UpdateStatus != types.CapacityProviderUpdateStatusDeleteComplete {
		t.Fatalf("DeleteCapacityProvider: %v %+v", err, del)
	}
	if _, err := s.Client.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("FARGATE")}); ecstest.ErrorCode(err) != "InvalidParameterException" {
		t.Errorf("DeleteCapacityProvider FARGATE: %v", err)
	}
	// The name is free again.
	cpCreate(t, s.Client, "web-asg")
}

// TestRunTaskCapacityProviderStrategy: a strategy splits RunTask's tasks
// by base and weight, each lands on its provider's instances only, and a
// task whose provider has no room waits PROVISIONING.
func TestRunTaskCapacityProviderStrategy(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	cpCreate(t, s.Client, "cpa")
	cpCreate(t, s.Client, "cpb")
	if _, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c"),
		CapacityProviders: []string{"cpa", "cpb"}, DefaultCapacityProviderStrategy: strategy("cpa", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	tkTD(t, s, "web", 128, 128)
	prov := func(name string) types.Attribute {
		return types.Attribute{Name: aws.String(state.AttrCapacityProvider), Value: aws.String(name)}
	}
	a := plInstance(t, s, "c", "z", 4096, 4096, prov("cpa"))
	b := plInstance(t, s, "c", "z", 4096, 4096, prov("cpb"))
	plain := plInstance(t, s, "c", "z", 4096, 4096)

	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(5),
		CapacityProviderStrategy: strategy("cpa", 1, 1, "cpb", 0, 3)})
	perProvider := map[string]int{}
	for _, tk := range out.Tasks {
		p := aws.ToString(tk.CapacityProviderName)
		perProvider[p]++
		want := map[string]string{"cpa": a, "cpb": b}[p]
		if aws.ToString(tk.ContainerInstanceArn) != want || tk.LaunchType != types.LaunchTypeEc2 {
			t.Errorf("task of %s on %s (%s); want %s", p, aws.ToString(tk.ContainerInstanceArn), tk.LaunchType, want)
		}
	}
	if perProvider["cpa"] != 2 || perProvider["cpb"] != 3 {
		t.Errorf("tasks per provider = %v; want cpa 2, cpb 3", perProvider)
	}
	// Without launch type or strategy the cluster's default applies.
	def := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")})
	if len(def.Tasks) != 1 || aws.ToString(def.Tasks[0].CapacityProviderName) != "cpa" || aws.ToString(def.Tasks[0].ContainerInstanceArn) != a {
		t.Errorf("default strategy task = %+v", def.Tasks)
	}
	// launchType EC2 may use any EC2 instance; spread evens out the group.
	ec2 := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeEc2, Count: aws.Int32(3),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}})
	if got := placedOn(ec2); got[plain] != 3 {
		t.Errorf("EC2 tasks placed on %v", got)
	}
	// A provider without room: the task waits.
	tkTD(t, s, "big", 128, 8192)
	wait := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("big"), CapacityProviderStrategy: strategy("cpb", 0, 1)})
	if len(wait.Tasks) != 1 || aws.ToString(wait.Tasks[0].LastStatus) != "PROVISIONING" || wait.Tasks[0].ContainerInstanceArn != nil || len(wait.Failures) != 0 {
		t.Fatalf("task of a full provider = %+v failures %+v", wait.Tasks, wait.Failures)
	}
	// A provider in use by tasks cannot leave the cluster.
	_, err := s.Client.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("c"),
		CapacityProviders: []string{"cpa"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}})
	if ecstest.ErrorCode(err) != "ResourceInUseException" {
		t.Errorf("removing a provider in use: %v", err)
	}
	// Strategies naming what the cluster lacks are refused.
	_, err = s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), CapacityProviderStrategy: strategy("FARGATE", 0, 1)})
	if ecstest.ErrorCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "not associated with the cluster") {
		t.Errorf("RunTask with FARGATE not in the cluster: %v", err)
	}
}

// TestServiceCapacityProviderStrategy: a service's tasks follow its
// strategy, counting the tasks it already runs, and the service and its
// deployment show the strategy instead of a launch type.
func TestServiceCapacityProviderStrategy(t *testing.T) {
	cl := svStartCluster(t)
	ctx := context.Background()
	cpCreate(t, cl.c, "cpa")
	cpCreate(t, cl.c, "cpb")
	if _, err := cl.c.CreateCluster(ctx, &ecs.CreateClusterInput{CapacityProviders: []string{"cpa", "cpb"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"cpa", "cpb"} {
		ag := cl.addAgent(t, "z")
		if _, err := cl.c.PutAttributes(ctx, &ecs.PutAttributesInput{Attributes: []types.Attribute{{Name: aws.String(state.AttrCapacityProvider),
			Value: aws.String(p), TargetId: aws.String(ag.ag.InstanceArn())}}}); err != nil {
			t.Fatal(err)
		}
	}
	svTD(t, cl.c, "web", "wharf-testapp:latest")
	in := svService("web", "web", 4)
	in.CapacityProviderStrategy = strategy("cpa", 0, 1, "cpb", 0, 1)
	svc := svCreate(t, cl.c, in)
	if svc.LaunchType != "" || len(svc.CapacityProviderStrategy) != 2 || len(svc.Deployments[0].CapacityProviderStrategy) != 2 {
		t.Errorf("service launchType %q strategy %+v deployment %+v", svc.LaunchType, svc.CapacityProviderStrategy, svc.Deployments[0])
	}
	cl.waitSteady(t, "web", 4, 20*time.Second)
	per := map[string]int{}
	for _, tk := range running(cl.tasks(t, "web")) {
		per[tk.CapacityProviderName]++
	}
	if per["cpa"] != 2 || per["cpb"] != 2 {
		t.Errorf("service tasks per provider = %v; want 2 and 2", per)
	}
	// Scaling out keeps the split even.
	if _, err := cl.c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(6)}); err != nil {
		t.Fatal(err)
	}
	cl.waitSteady(t, "web", 6, 20*time.Second)
	per = map[string]int{}
	for _, tk := range running(cl.tasks(t, "web")) {
		per[tk.CapacityProviderName]++
	}
	if per["cpa"] != 3 || per["cpb"] != 3 {
		t.Errorf("after scaling out tasks per provider = %v; want 3 and 3", per)
	}
	// A launch-type service moves to a strategy only with a new deployment.
	svTD(t, cl.c, "api", "wharf-testapp:latest")
	svCreate(t, cl.c, svService("api", "api", 0))
	_, err := cl.c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"), CapacityProviderStrategy: strategy("cpa", 0, 1)})
	if ecstest.ErrorCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "forceNewDeployment") {
		t.Errorf("UpdateService to a strategy without force: %v", err)
	}
	up, err := cl.c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"), CapacityProviderStrategy: strategy("cpa", 0, 1), ForceNewDeployment: true})
	if err != nil || up.Service.LaunchType != "" || len(up.Service.Deployments[0].CapacityProviderStrategy) != 1 {
		t.Fatalf("UpdateService to a strategy: %v %+v", err, up)
	}
}
