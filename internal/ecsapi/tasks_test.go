package ecsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Fixtures for the task tests, all driven through the SDK client.

// tkTD registers a one-container task definition ("app") with the given cpu
// and memory and static host ports, and returns its ARN.
func tkTD(t testing.TB, s *ecstest.Server, family string, cpu, mem int32, hostPorts ...int32) string {
	t.Helper()
	c := types.ContainerDefinition{
		Name: aws.String("app"), Image: aws.String("busybox"), Essential: aws.Bool(true),
		Cpu: cpu, Memory: aws.Int32(mem),
	}
	for _, p := range hostPorts {
		c.PortMappings = append(c.PortMappings, types.PortMapping{ContainerPort: aws.Int32(80 + p%100), HostPort: aws.Int32(p)})
	}
	out, err := s.Client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: []types.ContainerDefinition{c},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func tkCluster(t testing.TB, s *ecstest.Server, name string) {
	t.Helper()
	if _, err := s.Client.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		t.Fatalf("CreateCluster %s: %v", name, err)
	}
}

// tkInstance registers a container instance with the given CPU and memory,
// the usual reserved ports, and an availability zone and CPU architecture.
func tkInstance(t testing.TB, s *ecstest.Server, cluster string, cpu, mem int32) string {
	t.Helper()
	out, err := s.Client.RegisterContainerInstance(context.Background(), &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String(cluster),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: mem},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22", "2375", "2376", "51678"}},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
		},
		VersionInfo: &types.VersionInfo{AgentVersion: aws.String("1.0.0"), DockerVersion: aws.String("24.0.7")},
		Attributes: append(ecstest.AgentAttributes(),
			types.Attribute{Name: aws.String("ecs.availability-zone"), Value: aws.String("us-east-1a")},
			types.Attribute{Name: aws.String("ecs.cpu-architecture"), Value: aws.String("x86_64")},
		),
	})
	if err != nil {
		t.Fatalf("RegisterContainerInstance: %v", err)
	}
	return aws.ToString(out.ContainerInstance.ContainerInstanceArn)
}

// tkRemaining returns an instance's remaining CPU, memory and TCP ports.
func tkRemaining(t testing.TB, s *ecstest.Server, cluster, inst string) (cpu, mem int32, ports []string) {
	t.Helper()
	out, err := s.Client.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String(cluster), ContainerInstances: []string{inst},
	})
	if err != nil || len(out.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances %s: %v %+v", inst, err, out)
	}
	for _, r := range out.ContainerInstances[0].RemainingResources {
		switch aws.ToString(r.Name) {
		case "CPU":
			cpu = r.IntegerValue
		case "MEMORY":
			mem = r.IntegerValue
		case "PORTS":
			ports = r.StringSetValue
		}
	}
	return cpu, mem, ports
}

func tkRun(t testing.TB, s *ecstest.Server, in *ecs.RunTaskInput) *ecs.RunTaskOutput {
	t.Helper()
	out, err := s.Client.RunTask(context.Background(), in)
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	return out
}

func tkDescribe(t testing.TB, s *ecstest.Server, cluster, task string) types.Task {
	t.Helper()
	out, err := s.Client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{
		Cluster: aws.String(cluster), Tasks: []string{task}, Include: []types.TaskField{types.TaskFieldTags},
	})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %v %+v", task, err, out)
	}
	return out.Tasks[0]
}

func tkListAll(t testing.TB, s *ecstest.Server, in ecs.ListTasksInput) []string {
	t.Helper()
	var arns []string
	p := ecs.NewListTasksPaginator(s.Client, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListTasks %+v: %v", in, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	return arns
}

// tkSetAgent flips an instance's agentConnected in the store, as the liveness
// controller does when an agent stops polling.
func tkSetAgent(t testing.TB, s *ecstest.Server, cluster, id string, connected bool) {
	t.Helper()
	ctx := context.Background()
	key := state.InstanceKey(cluster, id)
	inst, rev, err := state.Get[state.ContainerInstance](ctx, s.Store(), key)
	if err != nil {
		t.Fatal(err)
	}
	inst.AgentConnected = aws.Bool(connected)
	if _, err := s.Store().Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, inst)}}); err != nil {
		t.Fatal(err)
	}
}

func tkFailures(fs []types.Failure) string {
	var out []string
	for _, f := range fs {
		out = append(out, aws.ToString(f.Arn)+" "+aws.ToString(f.Reason)+" ("+aws.ToString(f.Detail)+")")
	}
	return "[" + strings.Join(out, "; ") + "]"
}

func tkReasons(fs []types.Failure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, aws.ToString(f.Reason))
	}
	return out
}

// tkCall posts a raw ECS request, for the members of Wharf's agent that the
// SDK's shapes lack.
func tkCall(t testing.TB, s *ecstest.Server, op string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.URL(), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	ecstest.Sign(t, req, b)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"ACK"`) {
		t.Fatalf("%s: HTTP %d %s", op, resp.StatusCode, got)
	}
}

func TestRunTaskWithoutInstances(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	_, err := s.Client.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")})
	ecstest.WantCode(t, err, "InvalidParameterException")
	if !strings.Contains(err.Error(), "No Container Instances were found in your cluster.") {
		t.Errorf("RunTask error = %v; want ECS's message", err)
	}
	_, err = s.Client.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String("nope"), TaskDefinition: aws.String("web")})
	ecstest.WantCode(t, err, "ClusterNotFoundException")
}

func TestRunTaskPlacesAndReserves(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tdArn := tkTD(t, s, "web", 256, 512)
	inst := tkInstance(t, s, "c", 2048, 4096)
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(3), StartedBy: aws.String("ci/job-1")})
	if len(out.Tasks) != 3 || len(out.Failures) != 0 {
		t.Fatalf("RunTask count 3: %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	for _, task := range out.Tasks {
		if aws.ToString(task.TaskDefinitionArn) != tdArn || aws.ToString(task.ContainerInstanceArn) != inst ||
			aws.ToString(task.LastStatus) != "PENDING" || aws.ToString(task.DesiredStatus) != "RUNNING" ||
			task.LaunchType != types.LaunchTypeEc2 || task.Version != 1 || aws.ToString(task.Group) != "family:web" ||
			aws.ToString(task.StartedBy) != "ci/job-1" || aws.ToString(task.Cpu) != "256" || aws.ToString(task.Memory) != "512" ||
			task.HealthStatus != types.HealthStatusUnknown || aws.ToString(task.AvailabilityZone) != "us-east-1a" ||
			task.CreatedAt == nil || !strings.HasPrefix(aws.ToString(task.ClusterArn), "arn:aws:ecs:") {
			t.Errorf("task = %+v", task)
		}
		if len(task.Attributes) != 1 || aws.ToString(task.Attributes[0].Value) != "x86_64" {
			t.Errorf("task attributes = %+v; want ecs.cpu-architecture x86_64", task.Attributes)
		}
		if len(task.Containers) != 1 {
			t.Fatalf("containers = %+v", task.Containers)
		}
		c := task.Containers[0]
		if aws.ToString(c.Name) != "app" || aws.ToString(c.Image) != "busybox" || aws.ToString(c.LastStatus) != "PENDING" ||
			aws.ToString(c.Cpu) != "256" || aws.ToString(c.Memory) != "512" || aws.ToString(c.TaskArn) != aws.ToString(task.TaskArn) ||
			!strings.Contains(aws.ToString(c.ContainerArn), ":container/c/") {
			t.Errorf("container = %+v", c)
		}
		if task.Overrides == nil || len(task.Overrides.ContainerOverrides) != 1 || aws.ToString(task.Overrides.ContainerOverrides[0].Name) != "app" {
			t.Errorf("overrides = %+v; want one bare override per container, as ECS shows", task.Overrides)
		}
	}
	cpu, mem, _ := tkRemaining(t, s, "c", inst)
	if cpu != 2048-3*256 || mem != 4096-3*512 {
		t.Errorf("remaining CPU %d MEMORY %d; want %d %d", cpu, mem, 2048-3*256, 4096-3*512)
	}
}

func TestRunTaskFailureReasons(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "big-cpu", 4096, 128)
	tkTD(t, s, "big-mem", 128, 8192)
	tkTD(t, s, "half", 1024, 128)
	tkTD(t, s, "port", 0, 64, 8080)
	tkTD(t, s, "ssh", 0, 64, 22)
	inst := tkInstance(t, s, "c", 2048, 4096)
	for _, tt := range []struct {
		family string
		count  int32
		placed int
		reason string
	}{
		{"big-cpu", 1, 0, "RESOURCE:CPU"},
		{"big-mem", 1, 0, "RESOURCE:MEMORY"},
		{"half", 3, 2, "RESOURCE:CPU"},
		{"port", 2, 1, "RESOURCE:PORTS"},
		{"port", 1, 0, "RESOURCE:PORTS"},
		{"ssh", 1, 0, "RESOURCE:PORTS"}, // reserved by the agent at registration
	} {
		out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(tt.family), Count: aws.Int32(tt.count)})
		if len(out.Tasks) != tt.placed || len(out.Failures) != 1 ||
			aws.ToString(out.Failures[0].Reason) != tt.reason || aws.ToString(out.Failures[0].Arn) != inst {
			t.Errorf("RunTask %s count %d: %d tasks, failures %s; want %d tasks and %s on %s",
				tt.family, tt.count, len(out.Tasks), tkFailures(out.Failures), tt.placed, tt.reason, inst)
		}
	}
	cpu, _, ports := tkRemaining(t, s, "c", inst)
	if cpu != 0 || !slices.Contains(ports, "8080") {
		t.Errorf("remaining CPU %d ports %v; want 0 and 8080 taken", cpu, ports)
	}
}

func TestRunTaskAgentDisconnected(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	inst := tkInstance(t, s, "c", 2048, 4096)
	id := inst[strings.LastIndexByte(inst, '/')+1:]
	tkSetAgent(t, s, "c", id, false)
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")})
	if len(out.Tasks) != 0 || !slices.Equal(tkReasons(out.Failures), []string{"AGENT"}) {
		t.Errorf("RunTask on a disconnected instance: %d tasks, failures %+v; want AGENT", len(out.Tasks), out.Failures)
	}
}

func TestRunTaskDistinctInstance(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	tkInstance(t, s, "c", 2048, 4096)
	tkInstance(t, s, "c", 2048, 4096)
	distinct := []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}
	out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(3), PlacementConstraints: distinct})
	if len(out.Tasks) != 2 || aws.ToString(out.Tasks[0].ContainerInstanceArn) == aws.ToString(out.Tasks[1].ContainerInstanceArn) {
		t.Fatalf("distinctInstance count 3 on 2 instances: %+v", out)
	}
	// ECS's documented reason for a placement requirement no instance meets.
	want := "ATTRIBUTE"
	if r := tkReasons(out.Failures); len(r) != 2 || r[0] != want || r[1] != want {
		t.Errorf("failures = %q; want %q on both instances", r, want)
	}
	// The group already runs on both instances; another group does not.
	out = tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), PlacementConstraints: distinct})
	if len(out.Tasks) != 0 {
		t.Errorf("distinctInstance with the group on every instance placed %d tasks", len(out.Tasks))
	}
	out = tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Group: aws.String("other"), PlacementConstraints: distinct})
	if len(out.Tasks) != 1 {
		t.Errorf("distinctInstance for a new group placed %d tasks; want 1", len(out.Tasks))
	}
}

func TestRunTaskIdempotency(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 128, 128)
	inst := tkInstance(t, s, "c", 2048, 4096)
	in := &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(2), ClientToken: aws.String("tok-1")}
	first := tkRun(t, s, in)
	again := tkRun(t, s, in)
	arns := func(o *ecs.RunTaskOutput) []string {
		var out []string
		for _, t := range o.Tasks {
			out = append(out, aws.ToString(t.TaskArn))
		}
		return out
	}
	if len(first.Tasks) != 2 || !slices.Equal(arns(first), arns(again)) {
		t.Fatalf("same token, same parameters: %v then %v; want the same two tasks", arns(first), arns(again))
	}
	if cpu, _, _ := tkRemaining(t, s, "c", inst); cpu != 2048-2*128 {
		t.Errorf("remaining CPU %d after a retried RunTask; want %d (placed once)", cpu, 2048-2*128)
	}
	_, err := s.Client.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(3), ClientToken: aws.String("tok-1")})
	var conflict *types.ConflictException
	if !errors.As(err, &conflict) || !slices.Equal(conflict.ResourceIds, arns(first)) {
		t.Fatalf("same token, other parameters: %v; want ConflictException with resourceIds %v", err, arns(first))
	}
	// Concurrent retries with a fresh token: one request places, the others
	// find its record and answer with the same tasks.
	var wg sync.WaitGroup
	results := make([][]string, 8)
	for i := range results {
		wg.Go(func() {
			out, err := s.Client.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), ClientToken: aws.String("tok-2")})
			if err != nil {
				t.Errorf("concurrent RunTask with one token: %v", err)
				return
			}
			results[i] = arns(out)
		})
	}
	wg.Wait()
	for _, r := range results[1:] {
		if len(r) != 1 || !slices.Equal(r, results[0]) {
			t.Errorf("concurrent RunTask with one token answered %v and %v; want the same single task", results[0], r)
		}
	}
	if got := tkListAll(t, s, ecs.ListTasksInput{Cluster: aws.String("c")}); len(got) != 3 {
		t.Errorf("ListTasks = %d tasks; want 3", len(got))
	}
}

func TestRunTaskOverridesAndTags(t *testing.T) {
	s := ecstest.Start(t)
	tkCluster(t, s, "c")
	if _, err := s.Client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("busybox"), Essential: aws.Bool(true), Cpu: 100, Memory: aws.Int32(256)},
			{Name: aws.String("side"), Image: aws.String("busybox"), Essential: aws.Bool(false), Cpu: 50, MemoryReservation: aws.Int32(64)},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}, {Key: aws.String("env"), Value: aws.String("dev")}},
	}); err != nil {
		t.Fatal(err)
	}
	inst := tkInstance(t, s, "c", 2048, 4096)
	out := tkRun(t, s, &ecs.RunTaskInput{
		Cluster: aws.String("c"), TaskDefinition: aws.String("web"),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
			Name: aws.String("app"), Cpu: aws.Int32(300), Memory: aws.Int32(512),
			Command: []string{"sleep", "60"}, Environment: []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("x")}},
		}}},
		Tags:                 []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}},
		PropagateTags:        types.PropagateTagsTaskDefinition,
		EnableECSManagedTags: true,
	})
	if len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %+v", out)
	}
	task := out.Tasks[0]
	if aws.ToString(task.Cpu) != "350" || aws.ToString(task.Memory) != "576" {
		t.Errorf("task cpu %s memory %s; want 350 (300+50) and 576 (512 + reservation 64)", aws.ToString(task.Cpu), aws.ToString(task.Memory))
	}
	if cpu, mem, _ := tkRemaining(t, s, "c", inst); cpu != 2048-350 || mem != 4096-576 {
		t.Errorf("remaining CPU %d MEMORY %d; want %d %d", cpu, mem, 2048-350, 4096-576)
	}
	ov := task.Overrides.ContainerOverrides
	if len(ov) != 2 || aws.ToString(ov[0].Name) != "app" || !slices.Equal(ov[0].Command, []string{"sleep", "60"}) || aws.ToString(ov[1].Name) != "side" {
		t.Errorf("overrides = %+v", ov)
	}
	if aws.ToString(task.Containers[0].Cpu) != "300" || aws.ToString(task.Containers[1].MemoryReservation) != "64" {
		t.Errorf("containers = %+v", task.Containers)
	}
	d := tkDescribe(t, s, "c", aws.ToString(task.TaskArn))
	tags := map[string]string{}
	for _, tg := range d.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["team"] != "blue" || tags["env"] != "prod" || tags["aws:ecs:clusterName"] != "c" || len(tags) != 3 {
		t.Errorf("tags = %v; want team=blue (propagated), env=prod (request wins), aws:ecs:clusterName=c", tags)
	}
	plain, err := s.Client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{aws.ToString(task.TaskArn)}})
	if err != nil || len(plain.Tasks) != 1 || len(plain.Tasks[0].Tags) != 0 {
		t.Errorf("DescribeTasks without include TAGS: %v, tags %+v; want none", err, plain)
	}
}
