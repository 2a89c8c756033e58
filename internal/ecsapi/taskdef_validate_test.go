package ecsapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

func tdCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := awsproto.AsError(err); ok {
		return e.Code
	}
	return "plain error: " + err.Error()
}

func TestTDParseCPU(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		code string
	}{
		{"1024", 1024, ""},
		{" 256 ", 256, ""},
		{"1 vCPU", 1024, ""},
		{"1vcpu", 1024, ""},
		{"0.25 vCPU", 256, ""},
		{".5 VCPU", 512, ""},
		{"192 vCPU", 196608, ""},
		{"128", 128, ""},
		{"127", 0, codeClient},
		{"196609", 0, codeClient},
		{"0.1 vCPU", 0, codeInvalidParameter}, // 102.4 units is not a whole number
		{"1e3", 0, codeInvalidParameter},
		{"-512", 0, codeInvalidParameter},
		{"NaN vcpu", 0, codeInvalidParameter},
		{"1.2.3 vcpu", 0, codeInvalidParameter},
		{"vcpu", 0, codeInvalidParameter},
		{"99999999999", 0, codeInvalidParameter},
		{"1 GB", 0, codeInvalidParameter},
	} {
		got, err := tdParseCPU(tc.in)
		if got != tc.want || tdCode(err) != tc.code {
			t.Errorf("tdParseCPU(%q) = %d, %q; want %d, %q", tc.in, got, tdCode(err), tc.want, tc.code)
		}
	}
}

func TestTDParseMemory(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		code string
	}{
		{"512", 512, ""},
		{"1 GB", 1024, ""},
		{"1GB", 1024, ""},
		{"0.5gb", 512, ""},
		{"2 GiB", 2048, ""},
		{"120 GB", 122880, ""},
		{"3", 0, codeClient},
		{"1.5", 0, codeInvalidParameter},
		{"1 MB", 0, codeInvalidParameter},
		{"3000000 GB", 0, codeInvalidParameter}, // beyond int32 MiB
		{"0.0001 GB", 0, codeInvalidParameter},
		{"", 0, codeInvalidParameter},
	} {
		got, err := tdParseMemory(tc.in)
		if got != tc.want || tdCode(err) != tc.code {
			t.Errorf("tdParseMemory(%q) = %d, %q; want %d, %q", tc.in, got, tdCode(err), tc.want, tc.code)
		}
	}
}

func TestTDFargateSizeOK(t *testing.T) {
	ok := [][2]int{{256, 512}, {256, 1024}, {256, 2048}, {512, 1024}, {512, 4096}, {1024, 2048}, {1024, 8192},
		{2048, 4096}, {2048, 16384}, {4096, 8192}, {4096, 30720}, {8192, 16384}, {8192, 20480}, {8192, 61440},
		{16384, 32768}, {16384, 40960}, {16384, 122880}}
	bad := [][2]int{{256, 1536}, {256, 4096}, {512, 512}, {512, 1536}, {1024, 1024}, {2048, 17408}, {4096, 31744},
		{8192, 18432}, {8192, 65536}, {16384, 36864}, {128, 512}, {3072, 8192}}
	for _, p := range ok {
		if !tdFargateSizeOK(p[0], p[1]) {
			t.Errorf("tdFargateSizeOK(%d, %d) = false; want true", p[0], p[1])
		}
	}
	for _, p := range bad {
		if tdFargateSizeOK(p[0], p[1]) {
			t.Errorf("tdFargateSizeOK(%d, %d) = true; want false", p[0], p[1])
		}
	}
}

func TestTDDependencyCycle(t *testing.T) {
	dep := func(name string, on ...string) model.ContainerDefinition {
		c := model.ContainerDefinition{Name: name}
		for _, o := range on {
			c.DependsOn = append(c.DependsOn, model.ContainerDependency{ContainerName: o, Condition: model.ContainerConditionStart})
		}
		return c
	}
	for _, tc := range []struct {
		cds  []model.ContainerDefinition
		want string
	}{
		{[]model.ContainerDefinition{dep("a", "b"), dep("b", "c"), dep("c")}, ""},
		{[]model.ContainerDefinition{dep("a", "b", "c"), dep("b", "c"), dep("c")}, ""}, // a diamond is not a cycle
		{[]model.ContainerDefinition{dep("a", "b"), dep("b", "c"), dep("c", "a")}, "a b c a"},
		{[]model.ContainerDefinition{dep("a"), dep("b", "c"), dep("c", "b")}, "b c b"},
	} {
		got := strings.Join(tdDependencyCycle(tc.cds), " ")
		if got != tc.want {
			t.Errorf("tdDependencyCycle(%v) = %q; want %q", tc.cds, got, tc.want)
		}
	}
}

func TestTDRequiredAttributesAndCompatibilities(t *testing.T) {
	in := &model.RegisterTaskDefinitionRequest{
		Family:      "f",
		NetworkMode: model.NetworkModeHost,
		TaskRoleArn: "arn:aws:iam::123456789012:role/r",
		Cpu:         "12 vcpu",
		ContainerDefinitions: []model.ContainerDefinition{{
			Name: "a", Image: "busybox", Memory: model.Ptr(int32(64)),
			Ulimits:          []model.Ulimit{{Name: model.UlimitNameNofile, SoftLimit: model.Ptr(int32(1)), HardLimit: model.Ptr(int32(2))}},
			LogConfiguration: &model.LogConfiguration{LogDriver: model.LogDriverJsonFile},
			Secrets:          []model.Secret{{Name: "S", ValueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/s"}},
		}},
	}
	td, err := buildTaskDefinition(in)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range td.RequiresAttributes {
		names = append(names, a.Name)
	}
	want := []string{
		"com.amazonaws.ecs.capability.logging-driver.json-file", "com.amazonaws.ecs.capability.docker-remote-api.1.18",
		"ecs.capability.secrets.ssm.environment-variables", "com.amazonaws.ecs.capability.task-iam-role",
		"com.amazonaws.ecs.capability.task-iam-role-network-host", "ecs.capability.increased-task-cpu-limit",
	}
	if !slices.Equal(names, want) {
		t.Errorf("requiresAttributes = %v\nwant %v", names, want)
	}
	if got := td.Compatibilities; !slices.Equal(got, []model.Compatibility{"EXTERNAL", "EC2"}) {
		t.Errorf("compatibilities = %v; want [EXTERNAL EC2]", got)
	}
	if td.Cpu != "12288" {
		t.Errorf("cpu = %q; want 12288", td.Cpu)
	}
}
