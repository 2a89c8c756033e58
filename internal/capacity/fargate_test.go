package capacity_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/capacity"
	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// fargateTaskDef registers an awsvpc task definition that requires FARGATE.
func fargateTaskDef(t *testing.T, c *ecs.Client, family string, env ...types.KeyValuePair) {
	t.Helper()
	_, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, NetworkMode: types.NetworkModeAwsvpc,
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"),
			Essential: aws.Bool(true), Environment: env, StopTimeout: aws.Int32(6),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func vpc(subnets ...string) *types.NetworkConfiguration {
	return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: subnets}}
}

func detail(at types.Attachment, name string) string {
	for _, d := range at.Details {
		if aws.ToString(d.Name) == name {
			return aws.ToString(d.Value)
		}
	}
	return ""
}

func describeTasks(t *testing.T, c *ecs.Client, cluster string, status types.DesiredStatus) []types.Task {
	t.Helper()
	ctx := context.Background()
	arns, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: status})
	if err != nil {
		t.Fatal(err)
	}
	if len(arns.TaskArns) == 0 {
		return nil
	}
	d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	return d.Tasks
}

// TestFargateServiceOnThePool: a service on FARGATE and FARGATE_SPOT with
// no instance registered runs on a pool the scaler starts, which no
// instance listing shows; its tasks are Fargate tasks with an address of
// their own each; interrupting a Spot task stops it with SpotInterruption
// after the notice and the service replaces it; the pool goes once the
// service is gone.
func TestFargateServiceOnThePool(t *testing.T) {
	l := &capacity.SimLauncher{}
	t.Cleanup(l.Close)
	s := startScaling(t, l, time.Second, 30*time.Second)
	ctx := context.Background()
	if _, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("f"),
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"}}); err != nil {
		t.Fatal(err)
	}
	// A task that ignores SIGTERM shows the Spot notice: it is killed after
	// it rather than after its stopTimeout.
	fargateTaskDef(t, s.Client, "web", types.KeyValuePair{Name: aws.String("SIM_IGNORE_SIGTERM"), Value: aws.String("true")})
	_, err := s.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("f"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(3), NetworkConfiguration: vpc("subnet-a"),
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "3 Fargate tasks running", func() bool { return service(t, s.Client, "f", "web").RunningCount == 3 })
	if l.Running() != 1 {
		t.Errorf("pool instances launched = %d; want 1", l.Running())
	}
	if got := instances(t, s.Client, "f"); len(got) != 0 {
		t.Errorf("ListContainerInstances shows the pool: %v", got)
	}
	cl, err := s.Client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"f"}})
	if err != nil || cl.Clusters[0].RegisteredContainerInstancesCount != 0 || cl.Clusters[0].RunningTasksCount != 3 {
		t.Fatalf("DescribeClusters: %v %+v", err, cl)
	}
	svc := service(t, s.Client, "f", "web")
	if aws.ToString(svc.PlatformVersion) != "LATEST" || aws.ToString(svc.PlatformFamily) != "Linux" || svc.NetworkConfiguration == nil {
		t.Errorf("service platform %q %q network %+v", aws.ToString(svc.PlatformVersion), aws.ToString(svc.PlatformFamily), svc.NetworkConfiguration)
	}
	tasks := describeTasks(t, s.Client, "f", types.DesiredStatusRunning)
	addrs := map[string]bool{}
	var spot types.Task
	for _, tk := range tasks {
		if tk.LaunchType != types.LaunchTypeFargate || aws.ToString(tk.PlatformVersion) != "1.4.0" || tk.ContainerInstanceArn != nil {
			t.Errorf("task launchType %s platform %q instance %q", tk.LaunchType, aws.ToString(tk.PlatformVersion), aws.ToString(tk.ContainerInstanceArn))
		}
		if len(tk.Attachments) != 1 {
			t.Fatalf("attachments = %+v", tk.Attachments)
		}
		at := tk.Attachments[0]
		ip := detail(at, "privateIPv4Address")
		if aws.ToString(at.Type) != "ElasticNetworkInterface" || aws.ToString(at.Status) != "ATTACHED" || detail(at, "subnetId") != "subnet-a" ||
			!strings.HasPrefix(detail(at, "networkInterfaceId"), "eni-") || detail(at, "macAddress") == "" || ip == "" {
			t.Errorf("attachment = %s %s %+v", aws.ToString(at.Type), aws.ToString(at.Status), at.Details)
		}
		if ni := tk.Containers[0].NetworkInterfaces; len(ni) != 1 || aws.ToString(ni[0].PrivateIpv4Address) != ip || aws.ToString(ni[0].AttachmentId) != aws.ToString(at.Id) {
			t.Errorf("container networkInterfaces = %+v", ni)
		}
		addrs[ip] = true
		if aws.ToString(tk.CapacityProviderName) == "FARGATE_SPOT" {
			spot = tk
		}
	}
	if len(addrs) != 3 {
		t.Errorf("task addresses = %v; want 3 distinct", addrs)
	}
	if spot.TaskArn == nil {
		t.Fatal("no FARGATE_SPOT task")
	}

	// Interrupt the Spot task with a two-second notice.
	admin := agent.NewAPIClient(s.URL(), http.DefaultClient, ecstest.TestCredentials, "us-east-1")
	var out agentproto.InterruptSpotTaskResponse
	start := time.Now()
	if err := admin.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.InterruptSpotTask,
		agentproto.InterruptSpotTaskRequest{Cluster: "f", Task: aws.ToString(spot.TaskArn), NoticeSeconds: 2}, &out); err != nil {
		t.Fatal(err)
	}
	var stopped types.Task
	waitFor(t, 20*time.Second, "the Spot task stopped", func() bool {
		d, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("f"), Tasks: []string{aws.ToString(spot.TaskArn)}})
		if err != nil {
			t.Fatal(err)
		}
		stopped = d.Tasks[0]
		return aws.ToString(stopped.LastStatus) == "STOPPED"
	})
	if took := time.Since(start); took < 2*time.Second || took >= 6*time.Second {
		t.Errorf("the Spot task stopped %s after the interruption; its container ignores SIGTERM, so it should be killed after the 2s notice, before its 6s stopTimeout", took)
	}
	if stopped.StopCode != types.TaskStopCodeSpotInterruption || aws.ToString(stopped.StoppedReason) != "Your Spot Task was interrupted." ||
		aws.ToString(stopped.Attachments[0].Status) != "DELETED" {
		t.Errorf("stopped Spot task: code %s reason %q attachment %s", stopped.StopCode, aws.ToString(stopped.StoppedReason), aws.ToString(stopped.Attachments[0].Status))
	}
	waitFor(t, 20*time.Second, "the service replaced the task", func() bool {
		running := describeTasks(t, s.Client, "f", types.DesiredStatusRunning)
		n := 0
		for _, tk := range running {
			if aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.TaskArn) != aws.ToString(spot.TaskArn) {
				n++
			}
		}
		return n == 3
	})
	// Only Spot tasks can be interrupted.
	var onDemand string
	for _, tk := range tasks {
		if aws.ToString(tk.CapacityProviderName) == "FARGATE" {
			onDemand = aws.ToString(tk.TaskArn)
		}
	}
	err = admin.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.InterruptSpotTask, agentproto.InterruptSpotTaskRequest{Cluster: "f", Task: onDemand}, nil)
	if err == nil || !strings.Contains(err.Error(), "FARGATE_SPOT") {
		t.Errorf("interrupting a FARGATE task: %v", err)
	}

	// The pool goes with the service.
	if _, err := s.Client.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("f"), Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the pool scaled in", func() bool { return l.Running() == 0 })
}

// TestRunTaskFargate: RunTask with launchType FARGATE waits PROVISIONING
// until the pool has room, then runs; its validation follows ECS.
func TestRunTaskFargate(t *testing.T) {
	l := &capacity.SimLauncher{}
	t.Cleanup(l.Close)
	s := startScaling(t, l, time.Hour, 30*time.Second)
	ctx := context.Background()
	if _, err := s.Client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
	fargateTaskDef(t, s.Client, "job")
	run, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("r"), TaskDefinition: aws.String("job"),
		LaunchType: types.LaunchTypeFargate, PlatformVersion: aws.String("LATEST"), Count: aws.Int32(2), NetworkConfiguration: vpc("subnet-1", "subnet-2")})
	if err != nil || len(run.Tasks) != 2 || len(run.Failures) != 0 {
		t.Fatalf("RunTask FARGATE: %v %+v", err, run)
	}
	if tk := run.Tasks[0]; aws.ToString(tk.LastStatus) != "PROVISIONING" || tk.LaunchType != types.LaunchTypeFargate || tk.CapacityProviderName != nil {
		t.Errorf("new Fargate task = %s %s %q", aws.ToString(tk.LastStatus), tk.LaunchType, aws.ToString(tk.CapacityProviderName))
	}
	waitFor(t, 30*time.Second, "both running", func() bool {
		n := 0
		for _, tk := range describeTasks(t, s.Client, "r", types.DesiredStatusRunning) {
			if aws.ToString(tk.LastStatus) == "RUNNING" {
				n++
			}
		}
		return n == 2
	})
	// The cluster's statistics count them as Fargate's, not EC2's.
	dc, err := s.Client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"r"}, Include: []types.ClusterField{types.ClusterFieldStatistics}})
	if err != nil || len(dc.Clusters) != 1 {
		t.Fatalf("DescribeClusters: %v", err)
	}
	stats := map[string]string{}
	for _, kv := range dc.Clusters[0].Statistics {
		stats[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	if stats["runningFargateTasksCount"] != "2" || stats["runningEC2TasksCount"] != "0" || dc.Clusters[0].RunningTasksCount != 2 {
		t.Errorf("statistics %v, runningTasksCount %d; want 2 Fargate tasks running, none on EC2", stats, dc.Clusters[0].RunningTasksCount)
	}
	for _, bad := range []struct {
		in   *ecs.RunTaskInput
		want string
	}{
		{&ecs.RunTaskInput{LaunchType: types.LaunchTypeFargate}, "Network Configuration must be provided"},
		{&ecs.RunTaskInput{LaunchType: types.LaunchTypeFargate, NetworkConfiguration: vpc(), PlatformVersion: aws.String("1.3.0")}, "platformVersion"},
		{&ecs.RunTaskInput{LaunchType: types.LaunchTypeFargate, NetworkConfiguration: vpc("bad subnet")}, "Invalid subnet"},
		{&ecs.RunTaskInput{LaunchType: types.LaunchTypeEc2, NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"s"}, AssignPublicIp: types.AssignPublicIpEnabled}}}, "Assign public IP"},
	} {
		bad.in.Cluster, bad.in.TaskDefinition = aws.String("r"), aws.String("job")
		if bad.in.NetworkConfiguration != nil && bad.in.NetworkConfiguration.AwsvpcConfiguration.Subnets == nil && bad.want == "platformVersion" {
			bad.in.NetworkConfiguration = vpc("s")
		}
		_, err := s.Client.RunTask(ctx, bad.in)
		if ecstest.ErrorCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("RunTask %+v: %v; want %q", bad.in, err, bad.want)
		}
	}
	// Registration enforces Fargate's task sizes.
	_, err = s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("odd"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, NetworkMode: types.NetworkModeAwsvpc,
		Cpu: aws.String("256"), Memory: aws.String("4096"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("x")}}})
	if ecstest.ErrorCode(err) != "ClientException" || !strings.Contains(err.Error(), "No Fargate configuration exists") {
		t.Errorf("RegisterTaskDefinition 256/4096 on FARGATE: %v", err)
	}
	// The pool's reading: one instance, busy.
	waitFor(t, 5*time.Second, "the pool's reading", func() bool {
		r := reading(t, s, "r", "fargate-pool")
		return r.Running == 1 && r.Needed == 1 && r.Reservation == 100
	})
}
