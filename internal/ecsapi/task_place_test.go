package ecsapi

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

func cand(arn string, cpu, mem int32, tcp ...string) taskCandidate {
	return taskCandidate{ARN: arn, Active: true, AgentConnected: true, CPU: cpu, Memory: mem, UsedTCP: portSet(tcp), UsedUDP: map[string]bool{}}
}

// taskFit is StartTask's check of a named instance; RunTask places with the
// scheduler.
func TestTaskFit(t *testing.T) {
	small := state.TaskReservation{CPU: 256, Memory: 512}
	web := state.TaskReservation{CPU: 100, Memory: 100, PortsTCP: []string{"8080"}}
	disconnected := cand("i-off", 4096, 8192)
	disconnected.AgentConnected = false
	draining := cand("i-drain", 4096, 8192)
	draining.Active = false
	holder := cand("i-holder", 4096, 8192)
	holder.RunsGroup = true
	for _, tt := range []struct {
		name     string
		c        taskCandidate
		d        state.TaskReservation
		distinct bool
		reason   string
	}{
		{"fits", cand("a", 1024, 4096), small, false, ""},
		{"CPU", cand("a", 128, 4096), small, false, reasonCPU},
		{"memory", cand("a", 4096, 256), small, false, reasonMemory},
		{"port in use", cand("a", 4096, 4096, "22", "8080"), web, false, reasonPorts},
		{"disconnected agent", disconnected, small, false, reasonAgent},
		{"not ACTIVE", draining, small, false, reasonInactive},
		{"distinctInstance with the group there", holder, small, true, reasonDistinct},
		{"the group there without distinctInstance", holder, small, false, ""},
		{"zero demand", cand("a", 0, 0), state.TaskReservation{}, false, ""},
	} {
		reason, detail := taskFit(&tt.c, tt.d, tt.distinct)
		if reason != tt.reason {
			t.Errorf("%s: taskFit = %q; want %q", tt.name, reason, tt.reason)
		}
		if reason != "" && detail == "" {
			t.Errorf("%s: rejection %s has no detail", tt.name, reason)
		}
	}
}

func TestReserveAndRelease(t *testing.T) {
	reg := []model.Resource{
		{Name: resNameCPU, Type: resTypeInteger, IntegerValue: model.Ptr(int32(2048))},
		{Name: resNameMemory, Type: resTypeInteger, IntegerValue: model.Ptr(int32(4096))},
		{Name: resNamePorts, Type: resTypeStringSet, StringSetValue: []string{"22", "2375"}},
		{Name: resNamePortsUDP, Type: resTypeStringSet, StringSetValue: []string{}},
	}
	inst := &state.ContainerInstance{ContainerInstance: model.ContainerInstance{
		RegisteredResources: reg, RemainingResources: cloneResources(reg), Version: model.Ptr(int64(1)),
	}}
	r := state.TaskReservation{CPU: 512, Memory: 1024, PortsTCP: []string{"8080", "80"}, PortsUDP: []string{"53"}}
	reserveOn(inst, r)
	rem := inst.RemainingResources
	if cpu, mem := resourceInt(rem, resNameCPU), resourceInt(rem, resNameMemory); cpu != 1536 || mem != 3072 {
		t.Errorf("after reserve: CPU %d MEMORY %d; want 1536 3072", cpu, mem)
	}
	if got := resourcePorts(rem, resNamePorts); !slices.Equal(got, []string{"22", "80", "2375", "8080"}) {
		t.Errorf("after reserve: PORTS = %v; want [22 80 2375 8080]", got)
	}
	if got := resourcePorts(rem, resNamePortsUDP); !slices.Equal(got, []string{"53"}) {
		t.Errorf("after reserve: PORTS_UDP = %v; want [53]", got)
	}
	if resourceInt(reg, resNameCPU) != 2048 {
		t.Errorf("reserve changed the registered resources")
	}
	if model.Val(inst.PendingTasksCount) != 1 || model.Val(inst.Version) != 2 {
		t.Errorf("after reserve: pending %d version %d; want 1 2", model.Val(inst.PendingTasksCount), model.Val(inst.Version))
	}
	releaseOn(inst, r)
	releaseOn(inst, r) // a second release must not inflate the instance
	rem = inst.RemainingResources
	if cpu, mem := resourceInt(rem, resNameCPU), resourceInt(rem, resNameMemory); cpu != 2048 || mem != 4096 {
		t.Errorf("after release: CPU %d MEMORY %d; want 2048 4096", cpu, mem)
	}
	if got := resourcePorts(rem, resNamePorts); !slices.Equal(got, []string{"22", "2375"}) {
		t.Errorf("after release: PORTS = %v; want the reserved [22 2375]", got)
	}
	if got := resourcePorts(rem, resNamePortsUDP); len(got) != 0 {
		t.Errorf("after release: PORTS_UDP = %v; want none", got)
	}
}

func TestTaskDemand(t *testing.T) {
	ptr := func(v int32) *int32 { return &v }
	td := func(mode model.NetworkMode, cpu, mem string, defs ...model.ContainerDefinition) *model.TaskDefinition {
		return &model.TaskDefinition{NetworkMode: mode, Cpu: cpu, Memory: mem, ContainerDefinitions: defs}
	}
	tests := []struct {
		name string
		td   *model.TaskDefinition
		ov   *model.TaskOverride
		want string
	}{
		{"containers summed; reservation before hard limit",
			td("", "", "", model.ContainerDefinition{Name: "a", Cpu: ptr(100), Memory: ptr(300)},
				model.ContainerDefinition{Name: "b", Cpu: ptr(50), Memory: ptr(512), MemoryReservation: ptr(128)}),
			nil, "cpu=150 mem=428 tcp=[] udp=[]"},
		{"task level wins",
			td("", "1 vCPU", "2 GB", model.ContainerDefinition{Name: "a", Cpu: ptr(100), Memory: ptr(300)}),
			nil, "cpu=1024 mem=2048 tcp=[] udp=[]"},
		{"container overrides",
			td("", "", "", model.ContainerDefinition{Name: "a", Cpu: ptr(100), Memory: ptr(300)}),
			&model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{Name: "a", Cpu: ptr(700), MemoryReservation: ptr(64)}}},
			"cpu=700 mem=64 tcp=[] udp=[]"},
		{"task overrides",
			td("", "256", "512", model.ContainerDefinition{Name: "a"}),
			&model.TaskOverride{Cpu: "0.5 vCPU", Memory: "1024"}, "cpu=512 mem=1024 tcp=[] udp=[]"},
		{"bridge: only static host ports",
			td(model.NetworkModeBridge, "", "", model.ContainerDefinition{Name: "a", PortMappings: []model.PortMapping{
				{ContainerPort: ptr(80), HostPort: ptr(8080)}, {ContainerPort: ptr(81)}, {ContainerPort: ptr(53), HostPort: ptr(53), Protocol: model.TransportProtocolUdp},
			}}), nil, "cpu=0 mem=0 tcp=[8080] udp=[53]"},
		{"host: container port is the host port",
			td(model.NetworkModeHost, "", "", model.ContainerDefinition{Name: "a", PortMappings: []model.PortMapping{{ContainerPort: ptr(9000)}}}),
			nil, "cpu=0 mem=0 tcp=[9000] udp=[]"},
	}
	for _, tt := range tests {
		d, err := taskDemand(tt.td, tt.ov)
		if err != nil {
			t.Errorf("%s: taskDemand: %v", tt.name, err)
			continue
		}
		got := fmt.Sprintf("cpu=%d mem=%d tcp=%v udp=%v", d.CPU, d.Memory, d.PortsTCP, d.PortsUDP)
		if got != tt.want {
			t.Errorf("%s: taskDemand = %s; want %s", tt.name, got, tt.want)
		}
	}
	bad := td("", "", "", model.ContainerDefinition{Name: "a", Memory: ptr(300)})
	ov := &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{Name: "a", MemoryReservation: ptr(400)}}}
	if _, err := taskDemand(bad, ov); err == nil {
		t.Errorf("taskDemand with memoryReservation above memory: no error")
	}
}

func TestParseTaskUnits(t *testing.T) {
	for _, tt := range []struct {
		in   string
		cpu  bool
		want int32
		ok   bool
	}{
		{"512", true, 512, true}, {"1 vCPU", true, 1024, true}, {"0.25 vcpu", true, 256, true},
		{"2GB", false, 2048, true}, {"0.5 GB", false, 512, true}, {"1024", false, 1024, true},
		{"", true, 0, false}, {"-1", true, 0, false}, {"lots", false, 0, false}, {"0.1 vCPU", true, 0, false},
	} {
		parse := parseTaskMemory
		if tt.cpu {
			parse = parseTaskCPU
		}
		got, ok := parse(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parse(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
