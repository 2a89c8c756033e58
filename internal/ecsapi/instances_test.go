package ecsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// ciAgentResources is what an agent on a 2-core, 4 GiB machine registers.
func ciAgentResources() []types.Resource {
	return []types.Resource{
		{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
		{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 3768},
		{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"51678", "22", "2376", "2375"}},
		{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
	}
}

func ciCreateCluster(t *testing.T, s *ecstest.Server, name string) {
	t.Helper()
	if _, err := s.Client.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		t.Fatalf("CreateCluster %s: %v", name, err)
	}
}

func ciRegister(t *testing.T, s *ecstest.Server, cluster string) *types.ContainerInstance {
	t.Helper()
	out, err := s.Client.RegisterContainerInstance(context.Background(), &ecs.RegisterContainerInstanceInput{
		Cluster:        aws.String(cluster),
		TotalResources: ciAgentResources(),
		VersionInfo:    &types.VersionInfo{AgentVersion: aws.String("1.0.0"), DockerVersion: aws.String("24.0.7")},
		Attributes:     []types.Attribute{{Name: aws.String("ecs.os-type"), Value: aws.String("linux")}},
	})
	if err != nil {
		t.Fatalf("RegisterContainerInstance: %v", err)
	}
	return out.ContainerInstance
}

func ciInstanceID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func ciResource(rs []types.Resource, name string) types.Resource {
	for _, r := range rs {
		if aws.ToString(r.Name) == name {
			return r
		}
	}
	return types.Resource{}
}

func ciAttrValue(attrs []types.Attribute, name string) (string, bool) {
	for _, at := range attrs {
		if aws.ToString(at.Name) == name {
			return aws.ToString(at.Value), true
		}
	}
	return "", false
}

func ciDescribe(t *testing.T, s *ecstest.Server, cluster, ref string, include ...types.ContainerInstanceField) types.ContainerInstance {
	t.Helper()
	out, err := s.Client.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String(cluster), ContainerInstances: []string{ref}, Include: include,
	})
	if err != nil {
		t.Fatalf("DescribeContainerInstances %s: %v", ref, err)
	}
	if len(out.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances %s: got %d instances, failures %+v", ref, len(out.ContainerInstances), out.Failures)
	}
	return out.ContainerInstances[0]
}

func ciList(t *testing.T, s *ecstest.Server, cluster string, status types.ContainerInstanceStatus) []string {
	t.Helper()
	out, err := s.Client.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster), Status: status})
	if err != nil {
		t.Fatalf("ListContainerInstances: %v", err)
	}
	return out.ContainerInstanceArns
}

// ciPlaceTask stores a running task on the instance and, when book is set,
// books its share on the instance's remaining resources and counts, as
// placement does, so these tests do not depend on RunTask.
func ciPlaceTask(t *testing.T, s *ecstest.Server, cluster, instID string, cpu int32, port string, book bool) string {
	t.Helper()
	ctx := context.Background()
	key := state.InstanceKey(cluster, instID)
	inst, rev, err := state.Get[state.ContainerInstance](ctx, s.Store(), key)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range inst.RemainingResources {
		switch {
		case !book:
		case r.Name == "CPU":
			inst.RemainingResources[i].IntegerValue = model.Ptr(*r.IntegerValue - cpu)
		case r.Name == "PORTS":
			inst.RemainingResources[i].StringSetValue = append(r.StringSetValue, port)
		}
	}
	if book {
		inst.RunningTasksCount = model.Ptr(model.Val(inst.RunningTasksCount) + 1)
	}
	taskID := strings.Repeat("a", 32-len(port)) + port
	task := state.Task{InstanceID: instID, Reserved: &state.TaskReservation{CPU: cpu, PortsTCP: []string{port}}, Task: model.Task{
		TaskArn:              "arn:aws:ecs:us-east-1:123456789012:task/" + cluster + "/" + taskID,
		ContainerInstanceArn: inst.ContainerInstanceArn,
		LastStatus:           "RUNNING",
		DesiredStatus:        "RUNNING",
		Containers:           []model.Container{{Name: "web", LastStatus: "RUNNING"}},
		Version:              model.Ptr(int64(3)),
	}}
	taskKey := state.TaskKey(cluster, taskID)
	_, err = s.Store().Commit(ctx, store.Txn{
		Conds: []store.Cond{{Key: key, Revision: rev}, {Key: taskKey}},
		Ops:   []store.Op{state.Put(key, inst), state.Put(taskKey, task)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return taskKey
}

// ciRawCall sends an ECS request body as is, for input the SDK would refuse to
// send, and returns the error code and message ("" for success).
func ciRawCall(t *testing.T, s *ecstest.Server, op, body string) (code, msg string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	ecstest.Sign(t, req, []byte(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("%s: undecodable answer: %v", op, err)
	}
	return e.Type, e.Message
}

func TestRegisterContainerInstance(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "prod")

	doc := `{"instanceId":"i-0123456789abcdef0","availabilityZone":"us-east-1b","instanceType":"m5.large","imageId":"ami-12345678","region":"us-east-1"}`
	out, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster:                  aws.String("prod"),
		InstanceIdentityDocument: aws.String(doc),
		TotalResources:           ciAgentResources(),
		VersionInfo:              &types.VersionInfo{AgentVersion: aws.String("1.2.3"), AgentHash: aws.String("abc"), DockerVersion: aws.String("24.0.7")},
		Attributes: []types.Attribute{
			{Name: aws.String("ecs.os-type"), Value: aws.String("linux")},
			{Name: aws.String("ecs.capability.docker-remote-api.1.44")},
			{Name: aws.String("com.amazonaws.ecs.capability.logging-driver.json-file")},
			{Name: aws.String("ecs.instance-type"), Value: aws.String("agent-says")},
			{Name: aws.String("stack"), Value: aws.String("blue")},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	})
	if err != nil {
		t.Fatalf("RegisterContainerInstance: %v", err)
	}
	ci := out.ContainerInstance
	arn := aws.ToString(ci.ContainerInstanceArn)
	if !regexp.MustCompile(`^arn:aws:ecs:us-east-1:123456789012:container-instance/prod/[0-9a-f]{32}$`).MatchString(arn) {
		t.Errorf("containerInstanceArn = %s; want the long form with cluster prod and a 32-hex ID", arn)
	}
	if got := aws.ToString(ci.Ec2InstanceId); got != "i-0123456789abcdef0" {
		t.Errorf("ec2InstanceId = %s; want the identity document's instanceId", got)
	}
	if aws.ToString(ci.Status) != "ACTIVE" || !ci.AgentConnected || ci.Version != 1 || ci.RunningTasksCount != 0 || ci.PendingTasksCount != 0 {
		t.Errorf("status %s agentConnected %v version %d running %d pending %d; want ACTIVE true 1 0 0",
			aws.ToString(ci.Status), ci.AgentConnected, ci.Version, ci.RunningTasksCount, ci.PendingTasksCount)
	}
	if ci.RegisteredAt == nil || ci.RegisteredAt.IsZero() {
		t.Error("registeredAt is not set")
	}
	if got := aws.ToString(ci.VersionInfo.AgentVersion); got != "1.2.3" {
		t.Errorf("versionInfo.agentVersion = %s; want 1.2.3", got)
	}
	if got := ciResource(ci.RegisteredResources, "CPU").IntegerValue; got != 2048 {
		t.Errorf("registered CPU = %d; want 2048", got)
	}
	if got := ciResource(ci.RegisteredResources, "PORTS").StringSetValue; !slices.Equal(got, []string{"22", "2375", "2376", "51678"}) {
		t.Errorf("registered PORTS = %v; want [22 2375 2376 51678]", got)
	}
	for _, name := range []string{"CPU", "MEMORY", "PORTS", "PORTS_UDP"} {
		r, rem := ciResource(ci.RegisteredResources, name), ciResource(ci.RemainingResources, name)
		if r.IntegerValue != rem.IntegerValue || !slices.Equal(r.StringSetValue, rem.StringSetValue) || aws.ToString(rem.Type) != aws.ToString(r.Type) {
			t.Errorf("remaining %s = %+v; want it equal to registered %+v on a fresh instance", name, rem, r)
		}
	}
	wantAttrs := map[string]string{
		"ecs.os-type": "linux", "ecs.capability.docker-remote-api.1.44": "", "stack": "blue",
		"com.amazonaws.ecs.capability.logging-driver.json-file": "",
		"ecs.instance-type": "agent-says", "ecs.availability-zone": "us-east-1b", "ecs.ami-id": "ami-12345678",
	}
	for name, want := range wantAttrs {
		if got, ok := ciAttrValue(ci.Attributes, name); !ok || got != want {
			t.Errorf("attribute %s = %q (present %v); want %q", name, got, ok, want)
		}
	}
	if len(ci.Tags) != 1 || aws.ToString(ci.Tags[0].Key) != "team" {
		t.Errorf("tags = %+v; want team=core", ci.Tags)
	}

	// No identity document: Wharf names the instance; an unparsable one
	// is no error either.
	for _, doc := range []*string{nil, aws.String("not json")} {
		out, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
			Cluster: aws.String("prod"), InstanceIdentityDocument: doc, TotalResources: ciAgentResources(),
		})
		if err != nil {
			t.Fatalf("RegisterContainerInstance with document %v: %v", doc, err)
		}
		if id := aws.ToString(out.ContainerInstance.Ec2InstanceId); !regexp.MustCompile(`^i-[0-9a-f]{17}$`).MatchString(id) {
			t.Errorf("generated ec2InstanceId = %q; want i- and 17 hex digits", id)
		}
	}
	if got := ciList(t, s, "prod", ""); len(got) != 3 {
		t.Errorf("ListContainerInstances = %d instances; want 3", len(got))
	}

	// The default cluster is assumed, and must exist.
	_, err = s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{TotalResources: ciAgentResources()})
	ecstest.WantCode(t, err, "ClusterNotFoundException")
	ciCreateCluster(t, s, "default")
	out, err = s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{TotalResources: ciAgentResources()})
	if err != nil {
		t.Fatalf("RegisterContainerInstance into default: %v", err)
	}
	if !strings.Contains(aws.ToString(out.ContainerInstance.ContainerInstanceArn), ":container-instance/default/") {
		t.Errorf("ARN %s is not in the default cluster", aws.ToString(out.ContainerInstance.ContainerInstanceArn))
	}
}

func TestRegisterContainerInstanceGPU(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "gpu")
	res := append(ciAgentResources(), types.Resource{Name: aws.String("GPU"), Type: aws.String("STRINGSET"), StringSetValue: []string{"GPU-1", "GPU-0"}})
	devs := []types.PlatformDevice{{Id: aws.String("GPU-0"), Type: types.PlatformDeviceTypeGpu}, {Id: aws.String("GPU-1"), Type: types.PlatformDeviceTypeGpu}}
	out, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("gpu"), TotalResources: res, PlatformDevices: devs})
	if err != nil {
		t.Fatalf("RegisterContainerInstance with GPUs: %v", err)
	}
	if got := ciResource(out.ContainerInstance.RemainingResources, "GPU").StringSetValue; !slices.Equal(got, []string{"GPU-1", "GPU-0"}) {
		t.Errorf("remaining GPU = %v; want both GPUs", got)
	}
	// Devices alone are enough: the GPU resource is built from them.
	out, err = s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("gpu"), TotalResources: ciAgentResources(), PlatformDevices: devs})
	if err != nil {
		t.Fatalf("RegisterContainerInstance with devices only: %v", err)
	}
	if got := ciResource(out.ContainerInstance.RegisteredResources, "GPU").StringSetValue; !slices.Equal(got, []string{"GPU-0", "GPU-1"}) {
		t.Errorf("registered GPU = %v; want [GPU-0 GPU-1] from the devices", got)
	}
	_, err = s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("gpu"), TotalResources: res, PlatformDevices: devs[:1]})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

func TestRegisterContainerInstanceErrors(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c1")
	ciCreateCluster(t, s, "c2")
	other := ciRegister(t, s, "c2")

	attrs := func(n int) []types.Attribute {
		var out []types.Attribute
		for i := range n {
			out = append(out, types.Attribute{Name: aws.String("custom" + string(rune('a'+i))), Value: aws.String("v")})
		}
		return out
	}
	tests := []struct {
		name string
		in   ecs.RegisterContainerInstanceInput
		code string
	}{
		{"unknown cluster", ecs.RegisterContainerInstanceInput{Cluster: aws.String("nope")}, "ClusterNotFoundException"},
		{"bad attribute name", ecs.RegisterContainerInstanceInput{Attributes: []types.Attribute{{Name: aws.String("has space")}}}, "InvalidParameterException"},
		{"attribute name too long", ecs.RegisterContainerInstanceInput{Attributes: []types.Attribute{{Name: aws.String(strings.Repeat("n", 129))}}}, "InvalidParameterException"},
		{"attribute value with leading space", ecs.RegisterContainerInstanceInput{Attributes: []types.Attribute{{Name: aws.String("a"), Value: aws.String(" v")}}}, "InvalidParameterException"},
		{"attribute value too long", ecs.RegisterContainerInstanceInput{Attributes: []types.Attribute{{Name: aws.String("a"), Value: aws.String(strings.Repeat("v", 129))}}}, "InvalidParameterException"},
		{"11 custom attributes", ecs.RegisterContainerInstanceInput{Attributes: attrs(11)}, "InvalidParameterException"},
		{"CPU as a string set", ecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{{Name: aws.String("CPU"), Type: aws.String("STRINGSET")}}}, "InvalidParameterException"},
		{"port out of range", ecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"70000"}}}}, "InvalidParameterException"},
		{"negative memory", ecs.RegisterContainerInstanceInput{TotalResources: []types.Resource{{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: -5}}}, "InvalidParameterException"},
		{"reserved tag", ecs.RegisterContainerInstanceInput{Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}}, "InvalidParameterException"},
		{"bad device type", ecs.RegisterContainerInstanceInput{PlatformDevices: []types.PlatformDevice{{Id: aws.String("x"), Type: "FPGA"}}}, "InvalidParameterException"},
		{"unknown instance", ecs.RegisterContainerInstanceInput{ContainerInstanceArn: aws.String("0123456789abcdef0123456789abcdef")}, "InvalidParameterException"},
		{"instance of another cluster", ecs.RegisterContainerInstanceInput{ContainerInstanceArn: other.ContainerInstanceArn}, "InvalidParameterException"},
		{"malformed instance ARN", ecs.RegisterContainerInstanceInput{ContainerInstanceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/c1/x")}, "InvalidParameterException"},
	}
	for _, tt := range tests {
		in := tt.in
		if in.Cluster == nil {
			in.Cluster = aws.String("c1")
		}
		_, err := s.Client.RegisterContainerInstance(ctx, &in)
		if code := ecstest.ErrorCode(err); code != tt.code {
			t.Errorf("%s: error %v; want %s", tt.name, err, tt.code)
		}
	}
	if got := ciList(t, s, "c1", ""); len(got) != 0 {
		t.Errorf("failed registrations left %d instances behind: %v", len(got), got)
	}

	// The agent's built-in attributes do not count against the limit of 10.
	full := attrs(10)
	for v := 17; v <= 44; v++ {
		full = append(full, types.Attribute{Name: aws.String(fmt.Sprintf("com.amazonaws.ecs.capability.docker-remote-api.1.%d", v))})
		full = append(full, types.Attribute{Name: aws.String(fmt.Sprintf("ecs.capability.feature-%d", v))})
	}
	if _, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("c1"), Attributes: full}); err != nil {
		t.Errorf("registration with 10 custom and %d built-in attributes: %v", len(full)-10, err)
	}
}

func TestReregisterContainerInstance(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	ci := ciRegister(t, s, "c")
	arn := aws.ToString(ci.ContainerInstanceArn)
	id := ciInstanceID(arn)

	if _, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: []types.Attribute{
		{Name: aws.String("rack"), Value: aws.String("r1"), TargetId: aws.String(arn)},
	}}); err != nil {
		t.Fatalf("PutAttributes: %v", err)
	}
	if _, err := s.Client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("c"), ContainerInstances: []string{id}, Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatalf("UpdateContainerInstancesState: %v", err)
	}
	ciPlaceTask(t, s, "c", id, 512, "8080", true)
	// This one's share never made it into the instance's books; the
	// re-registration, which redoes them from the tasks, repairs that.
	ciPlaceTask(t, s, "c", id, 256, "9090", false)
	before := ciDescribe(t, s, "c", id)

	res := ciAgentResources()
	res[0].IntegerValue = 4096
	out, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster:              aws.String("c"),
		ContainerInstanceArn: aws.String(arn),
		TotalResources:       res,
		VersionInfo:          &types.VersionInfo{AgentVersion: aws.String("1.1.0")},
		Attributes:           []types.Attribute{{Name: aws.String("ecs.os-family"), Value: aws.String("LINUX")}},
	})
	if err != nil {
		t.Fatalf("re-registration: %v", err)
	}
	after := out.ContainerInstance
	if aws.ToString(after.ContainerInstanceArn) != arn || !after.RegisteredAt.Equal(*before.RegisteredAt) {
		t.Errorf("re-registration gave ARN %s registeredAt %v; want the same instance %s registered at %v",
			aws.ToString(after.ContainerInstanceArn), after.RegisteredAt, arn, before.RegisteredAt)
	}
	if aws.ToString(after.Status) != "DRAINING" {
		t.Errorf("status after re-registration = %s; want DRAINING kept", aws.ToString(after.Status))
	}
	if after.Version != before.Version+1 {
		t.Errorf("version = %d; want %d", after.Version, before.Version+1)
	}
	if after.RunningTasksCount != 2 {
		t.Errorf("runningTasksCount = %d; want both placed tasks counted", after.RunningTasksCount)
	}
	stored, _, err := state.Get[state.ContainerInstance](ctx, s.Store(), state.InstanceKey("c", id))
	if err != nil {
		t.Fatal(err)
	}
	if got := model.Val(stored.RunningTasksCount); got != 2 {
		t.Errorf("stored runningTasksCount = %d; want 2, redone from the tasks", got)
	}
	if got := ciResource(after.RegisteredResources, "CPU").IntegerValue; got != 4096 {
		t.Errorf("registered CPU = %d; want the new 4096", got)
	}
	if got := ciResource(after.RemainingResources, "CPU").IntegerValue; got != 4096-512-256 {
		t.Errorf("remaining CPU = %d; want 4096 less the tasks' 512 and 256", got)
	}
	if got := ciResource(after.RemainingResources, "PORTS").StringSetValue; !slices.Equal(got, []string{"22", "2375", "2376", "8080", "9090", "51678"}) {
		t.Errorf("remaining PORTS = %v; want the reserved ports and the tasks' 8080 and 9090", got)
	}
	if got := aws.ToString(after.VersionInfo.AgentVersion); got != "1.1.0" {
		t.Errorf("agentVersion = %s; want 1.1.0", got)
	}
	if _, ok := ciAttrValue(after.Attributes, "ecs.os-type"); ok {
		t.Error("ecs.os-type survived re-registration; the agent's attributes are replaced by the new ones")
	}
	if v, _ := ciAttrValue(after.Attributes, "ecs.os-family"); v != "LINUX" {
		t.Errorf("ecs.os-family = %q; want LINUX", v)
	}
	if v, _ := ciAttrValue(after.Attributes, "rack"); v != "r1" {
		t.Errorf("custom attribute rack = %q; want r1 kept across re-registration", v)
	}
}

func TestDeregisterContainerInstance(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	idle := ciRegister(t, s, "c")
	busy := ciRegister(t, s, "c")
	busyID := ciInstanceID(aws.ToString(busy.ContainerInstanceArn))
	taskKey := ciPlaceTask(t, s, "c", busyID, 256, "8080", true)

	out, err := s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: idle.ContainerInstanceArn})
	if err != nil {
		t.Fatalf("DeregisterContainerInstance: %v", err)
	}
	if got := aws.ToString(out.ContainerInstance.Status); got != "INACTIVE" || out.ContainerInstance.Version != idle.Version+1 {
		t.Errorf("deregistered status %s version %d; want INACTIVE %d", got, out.ContainerInstance.Version, idle.Version+1)
	}
	if got := ciList(t, s, "c", ""); !slices.Equal(got, []string{aws.ToString(busy.ContainerInstanceArn)}) {
		t.Errorf("ListContainerInstances = %v; want only the busy instance", got)
	}
	if got := ciDescribe(t, s, "c", aws.ToString(idle.ContainerInstanceArn)); aws.ToString(got.Status) != "INACTIVE" {
		t.Errorf("Describe of a deregistered instance: status %s; want INACTIVE", aws.ToString(got.Status))
	}
	// Deregistering again changes nothing and is no error.
	out, err = s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: idle.ContainerInstanceArn})
	if err != nil || out.ContainerInstance.Version != idle.Version+1 {
		t.Errorf("second deregistration: %v, version %d; want success with version unchanged", err, out.ContainerInstance.Version)
	}
	// A deregistered instance cannot come back under its old ARN.
	_, err = s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstanceArn: idle.ContainerInstanceArn})
	ecstest.WantCode(t, err, "ClientException")

	_, err = s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(busyID)})
	ecstest.WantCode(t, err, "InvalidParameterException")
	if !strings.Contains(err.Error(), "Found running tasks on the instance") {
		t.Errorf("error %v does not say ECS's \"Found running tasks on the instance\"", err)
	}
	if got := ciDescribe(t, s, "c", busyID); aws.ToString(got.Status) != "ACTIVE" || got.Version != busy.Version {
		t.Errorf("refused deregistration changed the instance: status %s version %d", aws.ToString(got.Status), got.Version)
	}

	out, err = s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(busyID), Force: aws.Bool(true)})
	if err != nil {
		t.Fatalf("forced DeregisterContainerInstance: %v", err)
	}
	ci := out.ContainerInstance
	if aws.ToString(ci.Status) != "INACTIVE" || ci.RunningTasksCount != 0 || ci.AgentConnected {
		t.Errorf("forced deregistration: status %s running %d agentConnected %v; want INACTIVE 0 false", aws.ToString(ci.Status), ci.RunningTasksCount, ci.AgentConnected)
	}
	if got := ciResource(ci.RemainingResources, "CPU").IntegerValue; got != 2048 {
		t.Errorf("remaining CPU after forced deregistration = %d; want all 2048 back", got)
	}
	task, _, err := state.Get[state.Task](ctx, s.Store(), taskKey)
	if err != nil {
		t.Fatal(err)
	}
	if task.LastStatus != "STOPPED" || task.DesiredStatus != "STOPPED" || task.StoppedReason != "Container instance deregistered" ||
		task.StoppedAt == nil || task.Containers[0].LastStatus != "STOPPED" || model.Val(task.Version) != 4 {
		t.Errorf("task after forced deregistration: last %s desired %s reason %q stoppedAt %v container %s version %d",
			task.LastStatus, task.DesiredStatus, task.StoppedReason, task.StoppedAt, task.Containers[0].LastStatus, model.Val(task.Version))
	}

	for _, tt := range []struct {
		name string
		in   ecs.DeregisterContainerInstanceInput
		code string
	}{
		{"empty instance", ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String("")}, "InvalidParameterException"},
		{"unknown instance", ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String("ffffffffffffffffffffffffffffffff")}, "InvalidParameterException"},
		{"unknown cluster", ecs.DeregisterContainerInstanceInput{Cluster: aws.String("nope"), ContainerInstance: busy.ContainerInstanceArn}, "ClusterNotFoundException"},
	} {
		_, err := s.Client.DeregisterContainerInstance(ctx, &tt.in)
		if code := ecstest.ErrorCode(err); code != tt.code {
			t.Errorf("%s: error %v; want %s", tt.name, err, tt.code)
		}
	}
}
