package ecsapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

func TestRunTaskRejectsBadInput(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	tkTD(t, s, "old", 128, 128)
	if _, err := s.Client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("old:1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("vpc"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Essential: aws.Bool(true), Memory: aws.Int32(64)}},
	}); err != nil {
		t.Fatal(err)
	}
	inst := tkInstance(t, s, "c", 2048, 4096)
	base := func(mod func(in *ecs.RunTaskInput)) *ecs.RunTaskInput {
		in := &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")}
		mod(in)
		return in
	}
	long := strings.Repeat("x", 9000)
	for _, tt := range []struct {
		name string
		in   *ecs.RunTaskInput
		code string
		msg  string
	}{
		{"count 0", base(func(in *ecs.RunTaskInput) { in.Count = aws.Int32(0) }), "InvalidParameterException", "count must be between 1 and 10"},
		{"count 11", base(func(in *ecs.RunTaskInput) { in.Count = aws.Int32(11) }), "InvalidParameterException", "count must be between 1 and 10"},
		{"fargate", base(func(in *ecs.RunTaskInput) { in.LaunchType = types.LaunchTypeFargate }), "InvalidParameterException", "does not support launch_type FARGATE"},
		{"fargate provider", base(func(in *ecs.RunTaskInput) {
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT")}}
		}), "InvalidParameterException", "FARGATE"},
		{"launch type and provider", base(func(in *ecs.RunTaskInput) {
			in.LaunchType = types.LaunchTypeEc2
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp")}}
		}), "InvalidParameterException", "Specifying both a launch type and capacity provider strategy"},
		{"memberOf syntax", base(func(in *ecs.RunTaskInput) {
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type t2.small")}}
		}), "InvalidParameterException", "expected an operator"},
		{"memberOf too long", base(func(in *ecs.RunTaskInput) {
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String(strings.Repeat("a", 2001))}}
		}), "InvalidParameterException", "at most 2000 characters"},
		{"distinctInstance with expression", base(func(in *ecs.RunTaskInput) {
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance, Expression: aws.String("x")}}
		}), "InvalidParameterException", "takes no expression"},
		{"binpack on disk", base(func(in *ecs.RunTaskInput) {
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("disk")}}
		}), "InvalidParameterException", "use cpu or memory"},
		{"spread without field", base(func(in *ecs.RunTaskInput) {
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread}}
		}), "InvalidParameterException", "spread placement strategy"},
		{"six strategies", base(func(in *ecs.RunTaskInput) {
			in.PlacementStrategy = slices.Repeat([]types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}, 6)
		}), "InvalidParameterException", "At most 5"},
		{"unknown container override", base(func(in *ecs.RunTaskInput) {
			in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("nope")}}}
		}), "InvalidParameterException", "Override for container named nope is not a container in the TaskDefinition"},
		{"override without name", base(func(in *ecs.RunTaskInput) {
			in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Command: []string{"x"}}}}
		}), "InvalidParameterException", "needs the name"},
		{"overrides over 8192", base(func(in *ecs.RunTaskInput) {
			in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{long}}}}
		}), "InvalidParameterException", "at most 8192"},
		{"tiny memory override", base(func(in *ecs.RunTaskInput) {
			in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Memory: aws.Int32(2)}}}
		}), "InvalidParameterException", "at least 6 MiB"},
		{"startedBy too long", base(func(in *ecs.RunTaskInput) { in.StartedBy = aws.String(strings.Repeat("s", 129)) }), "InvalidParameterException", "at most 128"},
		{"startedBy bad character", base(func(in *ecs.RunTaskInput) { in.StartedBy = aws.String("me@home") }), "InvalidParameterException", "only letters"},
		{"inactive revision", base(func(in *ecs.RunTaskInput) { in.TaskDefinition = aws.String("old:1") }), "ClientException", "INACTIVE"},
		{"unknown task definition", base(func(in *ecs.RunTaskInput) { in.TaskDefinition = aws.String("ghost") }), "ClientException", "ghost"},
		{"awsvpc", base(func(in *ecs.RunTaskInput) { in.TaskDefinition = aws.String("vpc") }), "InvalidParameterException", "Network Configuration must be provided"},
		{"network configuration on bridge", base(func(in *ecs.RunTaskInput) {
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"s-1"}}}
		}), "InvalidParameterException", "Network Configuration is not valid"},
		{"propagate SERVICE", base(func(in *ecs.RunTaskInput) { in.PropagateTags = types.PropagateTagsService }), "InvalidParameterException", "SERVICE"},
		{"reserved tag", base(func(in *ecs.RunTaskInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}
		}), "InvalidParameterException", "aws:"},
		{"client token with space", base(func(in *ecs.RunTaskInput) { in.ClientToken = aws.String("a b") }), "InvalidParameterException", "clientToken"},
		{"platform version on EC2", base(func(in *ecs.RunTaskInput) { in.PlatformVersion = aws.String("LATEST") }), "InvalidParameterException", "FARGATE"},
	} {
		_, err := s.Client.RunTask(ctx, tt.in)
		if ecstest.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: RunTask error = %v; want %s containing %q", tt.name, err, tt.code, tt.msg)
		}
	}
	if got := tkListAll(t, s, ecs.ListTasksInput{Cluster: aws.String("c")}); len(got) != 0 {
		t.Errorf("bad requests created tasks: %v", got)
	}
	if cpu, mem, _ := tkRemaining(t, s, "c", inst); cpu != 2048 || mem != 4096 {
		t.Errorf("bad requests changed the instance: CPU %d MEMORY %d", cpu, mem)
	}
}

func TestStartTask(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 1024, 128)
	a := tkInstance(t, s, "c", 2048, 4096)
	b := tkInstance(t, s, "c", 512, 4096)
	aID := a[strings.LastIndexByte(a, '/')+1:]
	out, err := s.Client.StartTask(ctx, &ecs.StartTaskInput{
		Cluster: aws.String("c"), TaskDefinition: aws.String("web"),
		ContainerInstances: []string{a, aID, aID, b, "0123456789abcdef0123456789abcdef"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 2 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != a || aws.ToString(out.Tasks[1].ContainerInstanceArn) != a {
		t.Fatalf("StartTask: %d tasks %+v; want two on %s", len(out.Tasks), out.Tasks, a)
	}
	if got := tkReasons(out.Failures); !slices.Equal(got, []string{"RESOURCE:CPU", "RESOURCE:CPU", "MISSING"}) {
		t.Errorf("StartTask failures = %s; want RESOURCE:CPU (third on a), RESOURCE:CPU (b), MISSING", tkFailures(out.Failures))
	}
	if aws.ToString(out.Failures[1].Arn) != b {
		t.Errorf("failure arn = %s; want %s", aws.ToString(out.Failures[1].Arn), b)
	}
	if cpu, _, _ := tkRemaining(t, s, "c", a); cpu != 0 {
		t.Errorf("remaining CPU on a = %d; want 0", cpu)
	}
	_, err = s.Client.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), ContainerInstances: []string{a}, StartedBy: aws.String(strings.Repeat("s", 37))})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), ContainerInstances: slices.Repeat([]string{a}, 11)})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

func TestStopTask(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	tkInstance(t, s, "c", 2048, 4096)
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(2),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	first, second := aws.ToString(out.Tasks[0].TaskArn), aws.ToString(out.Tasks[1].TaskArn)
	stopped, err := s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(first)})
	if err != nil {
		t.Fatal(err)
	}
	st := stopped.Task
	if aws.ToString(st.DesiredStatus) != "STOPPED" || st.StopCode != types.TaskStopCodeUserInitiated ||
		aws.ToString(st.StoppedReason) != "Task stopped by user" || st.StoppingAt == nil || st.Version != 2 ||
		aws.ToString(st.LastStatus) != "PENDING" {
		t.Errorf("StopTask = %+v", st)
	}
	if d := tkDescribe(t, s, "c", first); len(d.Tags) != 0 {
		t.Errorf("tags after StopTask = %+v; ECS deletes them", d.Tags)
	}
	id := second[strings.LastIndexByte(second, '/')+1:]
	stopped, err = s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(id), Reason: aws.String("rollback")})
	if err != nil || aws.ToString(stopped.Task.StoppedReason) != "rollback" {
		t.Errorf("StopTask by ID with reason: %v %+v", err, stopped)
	}
	again, err := s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(id), Reason: aws.String("other")})
	if err != nil || aws.ToString(again.Task.StoppedReason) != "rollback" || again.Task.Version != 2 {
		t.Errorf("StopTask again changed the task: %v %+v", err, again)
	}
	if got := tkListAll(t, s, ecs.ListTasksInput{Cluster: aws.String("c"), DesiredStatus: types.DesiredStatusStopped}); len(got) != 2 {
		t.Errorf("ListTasks STOPPED = %v; want both", got)
	}
	_, err = s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String("0123456789abcdef0123456789abcdef")})
	ecstest.WantCode(t, err, "InvalidParameterException")
	if !strings.Contains(err.Error(), "The referenced task was not found.") {
		t.Errorf("StopTask unknown: %v; want ECS's message", err)
	}
	_, err = s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String("not a task!")})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(first), Reason: aws.String(strings.Repeat("r", 256))})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("other"), Task: aws.String(first)})
	ecstest.WantCode(t, err, "ClusterNotFoundException")
}

// TestTaskLifecycleReports drives a task through the agent's reports:
// RUNNING, a late backwards report, container exit, STOPPED.
func TestTaskLifecycleReports(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 512, 1024, 8080)
	inst := tkInstance(t, s, "c", 2048, 4096)
	arn := aws.ToString(tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")}).Tasks[0].TaskArn)
	pull := time.Unix(1700000000, 0)
	if _, err := s.Client.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String("c"), Task: aws.String(arn), Status: aws.String("RUNNING"), PullStartedAt: &pull, PullStoppedAt: &pull,
		Containers: []types.ContainerStateChange{{ContainerName: aws.String("app"), Status: aws.String("RUNNING"), RuntimeId: aws.String("d0c"),
			NetworkBindings: []types.NetworkBinding{{BindIP: aws.String("0.0.0.0"), ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp}}}},
	}); err != nil {
		t.Fatal(err)
	}
	task := tkDescribe(t, s, "c", arn)
	c := task.Containers[0]
	if aws.ToString(task.LastStatus) != "RUNNING" || task.StartedAt == nil || task.Connectivity != types.ConnectivityConnected ||
		task.Version != 2 || task.PullStartedAt == nil || aws.ToString(c.LastStatus) != "RUNNING" || aws.ToString(c.RuntimeId) != "d0c" ||
		len(c.NetworkBindings) != 1 {
		t.Fatalf("after RUNNING: %+v", task)
	}
	// A late report from before RUNNING is acknowledged and changes nothing.
	tkCall(t, s, "SubmitTaskStateChange", map[string]any{"cluster": "c", "task": arn, "status": "PENDING",
		"containers": []map[string]any{{"containerName": "app", "status": "PENDING"}}})
	if again := tkDescribe(t, s, "c", arn); again.Version != 2 || aws.ToString(again.LastStatus) != "RUNNING" {
		t.Errorf("backwards report changed the task: version %d status %s", again.Version, aws.ToString(again.LastStatus))
	}
	if _, err := s.Client.SubmitContainerStateChange(ctx, &ecs.SubmitContainerStateChangeInput{
		Cluster: aws.String("c"), Task: aws.String(arn), ContainerName: aws.String("app"), Status: aws.String("STOPPED"),
		ExitCode: aws.Int32(137), Reason: aws.String("OOMKilled"),
	}); err != nil {
		t.Fatal(err)
	}
	tkCall(t, s, "SubmitTaskStateChange", map[string]any{"cluster": "c", "task": arn, "status": "STOPPED",
		"reason": "Essential container in task exited", "wharfStopCode": "EssentialContainerExited", "executionStoppedAt": 1700000100})
	task = tkDescribe(t, s, "c", arn)
	c = task.Containers[0]
	if aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.DesiredStatus) != "STOPPED" ||
		task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(task.StoppedReason) != "Essential container in task exited" ||
		task.StoppedAt == nil || task.ExecutionStoppedAt == nil || task.ExecutionStoppedAt.Unix() != 1700000100 || task.Version != 4 ||
		aws.ToInt32(c.ExitCode) != 137 || aws.ToString(c.Reason) != "OOMKilled" || aws.ToString(c.LastStatus) != "STOPPED" {
		t.Fatalf("after STOPPED: %+v %+v", task, c)
	}
	cpu, mem, ports := tkRemaining(t, s, "c", inst)
	if cpu != 2048 || mem != 4096 || slices.Contains(ports, "8080") || !slices.Contains(ports, "22") {
		t.Errorf("after STOPPED the instance has CPU %d MEMORY %d ports %v; want everything back, reserved ports kept", cpu, mem, ports)
	}
	// A repeated STOPPED report gives nothing back twice.
	tkCall(t, s, "SubmitTaskStateChange", map[string]any{"cluster": "c", "task": arn, "status": "STOPPED"})
	if cpu2, _, _ := tkRemaining(t, s, "c", inst); cpu2 != 2048 || tkDescribe(t, s, "c", arn).Version != 4 {
		t.Errorf("a repeated STOPPED report changed something: CPU %d", cpu2)
	}
	_, err := s.Client.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("c"), Task: aws.String(arn), Status: aws.String("EXPLODED")})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.SubmitContainerStateChange(ctx, &ecs.SubmitContainerStateChangeInput{Cluster: aws.String("c"), Task: aws.String(arn), ContainerName: aws.String("ghost"), Status: aws.String("RUNNING")})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("c"), Task: aws.String("0123456789abcdef0123456789abcdef"), Status: aws.String("RUNNING")})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

// TestUserStopKeepsItsReason checks that the agent's final report of a task
// the user stopped keeps stopCode UserInitiated and the user's reason.
func TestUserStopKeepsItsReason(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 512, 512)
	inst := tkInstance(t, s, "c", 2048, 4096)
	arn := aws.ToString(tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")}).Tasks[0].TaskArn)
	tkCall(t, s, "SubmitTaskStateChange", map[string]any{"cluster": "c", "task": arn, "status": "RUNNING",
		"wharfHealthStatus": "HEALTHY", "wharfContainerHealth": map[string]string{"app": "HEALTHY"}})
	if d := tkDescribe(t, s, "c", arn); d.HealthStatus != types.HealthStatusHealthy || d.Containers[0].HealthStatus != types.HealthStatusHealthy {
		t.Errorf("health after report: task %s container %s; want HEALTHY", d.HealthStatus, d.Containers[0].HealthStatus)
	}
	if _, err := s.Client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(arn), Reason: aws.String("maintenance")}); err != nil {
		t.Fatal(err)
	}
	tkCall(t, s, "SubmitTaskStateChange", map[string]any{"cluster": "c", "task": arn, "status": "STOPPED",
		"reason": "Task stopped", "wharfStopCode": "EssentialContainerExited",
		"containers": []map[string]any{{"containerName": "app", "status": "STOPPED", "exitCode": 0}}})
	d := tkDescribe(t, s, "c", arn)
	if d.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(d.StoppedReason) != "maintenance" || aws.ToInt32(d.Containers[0].ExitCode) != 0 ||
		aws.ToString(d.LastStatus) != "STOPPED" {
		t.Errorf("after the agent's STOPPED report: stopCode %s reason %q status %s", d.StopCode, aws.ToString(d.StoppedReason), aws.ToString(d.LastStatus))
	}
	if cpu, _, _ := tkRemaining(t, s, "c", inst); cpu != 2048 {
		t.Errorf("remaining CPU %d after stop; want 2048", cpu)
	}
}
