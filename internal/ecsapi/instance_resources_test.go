package ecsapi

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

func ciIntRes(name string, v int32) model.Resource {
	return model.Resource{Name: name, Type: resTypeInteger, IntegerValue: model.Ptr(v)}
}

func ciSetRes(name string, vals ...string) model.Resource {
	return model.Resource{Name: name, Type: resTypeStringSet, StringSetValue: vals}
}

func ciJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestResourceIntHelpers(t *testing.T) {
	rs := []model.Resource{ciIntRes(resNameCPU, 2048), ciSetRes(resNamePorts, "22")}
	if got := resourceInt(rs, resNameCPU); got != 2048 {
		t.Errorf("resourceInt(CPU) = %d; want 2048", got)
	}
	if got := resourceInt(rs, resNameMemory); got != 0 {
		t.Errorf("resourceInt(MEMORY) of a vector without it = %d; want 0", got)
	}
	shallow := slices.Clone(rs)
	rs = setResourceInt(rs, resNameCPU, 1024)
	if got := resourceInt(rs, resNameCPU); got != 1024 {
		t.Errorf("after setResourceInt, CPU = %d; want 1024", got)
	}
	if got := resourceInt(shallow, resNameCPU); got != 2048 {
		t.Errorf("setResourceInt changed a shallow copy taken before: CPU = %d; want 2048", got)
	}
	rs = setResourceInt(rs, resNameMemory, 512)
	if got, want := ciJSON(t, rs[2]), `{"integerValue":512,"name":"MEMORY","type":"INTEGER"}`; got != want {
		t.Errorf("appended MEMORY = %s; want %s", got, want)
	}
}

func TestResourcePortHelpers(t *testing.T) {
	rs := []model.Resource{ciSetRes(resNamePorts, "22")}
	ports := resourcePorts(rs, resNamePorts)
	ports[0] = "changed"
	if got := resourcePorts(rs, resNamePorts); !slices.Equal(got, []string{"22"}) {
		t.Errorf("resourcePorts must return a copy; the vector now holds %v", got)
	}
	rs = setResourcePorts(rs, resNamePorts, []string{"8080", "22", "443", "22"})
	if got, want := resourcePorts(rs, resNamePorts), []string{"22", "443", "8080"}; !slices.Equal(got, want) {
		t.Errorf("setResourcePorts = %v; want %v", got, want)
	}
	rs = setResourcePorts(rs, resNamePortsUDP, []string{"53"})
	if got := resourcePorts(rs, resNamePortsUDP); !slices.Equal(got, []string{"53"}) || rs[1].Type != resTypeStringSet {
		t.Errorf("appended PORTS_UDP = %+v; want a STRINGSET [53]", rs[1])
	}
}

func TestCarryUsage(t *testing.T) {
	tests := []struct {
		name                   string
		oldReg, oldRem, newReg []model.Resource
		want                   []model.Resource
	}{{
		name:   "nothing in use",
		oldReg: []model.Resource{ciIntRes(resNameCPU, 1024), ciSetRes(resNamePorts, "22")},
		oldRem: []model.Resource{ciIntRes(resNameCPU, 1024), ciSetRes(resNamePorts, "22")},
		newReg: []model.Resource{ciIntRes(resNameCPU, 2048), ciSetRes(resNamePorts, "22", "2375")},
		want:   []model.Resource{ciIntRes(resNameCPU, 2048), ciSetRes(resNamePorts, "22", "2375")},
	}, {
		name:   "tasks keep their share",
		oldReg: []model.Resource{ciIntRes(resNameCPU, 1024), ciIntRes(resNameMemory, 1000), ciSetRes(resNamePorts, "22"), ciSetRes(resNameGPU, "g0", "g1")},
		oldRem: []model.Resource{ciIntRes(resNameCPU, 768), ciIntRes(resNameMemory, 600), ciSetRes(resNamePorts, "22", "80"), ciSetRes(resNameGPU, "g1")},
		newReg: []model.Resource{ciIntRes(resNameCPU, 2048), ciIntRes(resNameMemory, 1000), ciSetRes(resNamePorts, "22"), ciSetRes(resNameGPU, "g0", "g1", "g2")},
		want:   []model.Resource{ciIntRes(resNameCPU, 1792), ciIntRes(resNameMemory, 600), ciSetRes(resNamePorts, "22", "80"), ciSetRes(resNameGPU, "g1", "g2")},
	}, {
		name:   "shrunk below use goes negative",
		oldReg: []model.Resource{ciIntRes(resNameMemory, 1000)},
		oldRem: []model.Resource{ciIntRes(resNameMemory, 200)},
		newReg: []model.Resource{ciIntRes(resNameMemory, 500)},
		want:   []model.Resource{ciIntRes(resNameMemory, -300)},
	}, {
		name:   "new resource starts free",
		oldReg: []model.Resource{ciIntRes(resNameCPU, 1024)},
		oldRem: []model.Resource{ciIntRes(resNameCPU, 512)},
		newReg: []model.Resource{ciIntRes(resNameCPU, 1024), ciSetRes(resNameGPU, "g0")},
		want:   []model.Resource{ciIntRes(resNameCPU, 512), ciSetRes(resNameGPU, "g0")},
	}}
	for _, tt := range tests {
		got := carryUsage(tt.oldReg, tt.oldRem, tt.newReg)
		if g, w := ciJSON(t, got), ciJSON(t, tt.want); g != w {
			t.Errorf("%s: carryUsage = %s; want %s", tt.name, g, w)
		}
	}
}

func TestNormalizeTotalResources(t *testing.T) {
	got, err := normalizeTotalResources([]model.Resource{
		{Name: "GPU", Type: "STRINGSET", StringSetValue: []string{"gpu-0"}},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"51678", "22", "2375", "22"}},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: model.Ptr(int32(3768)), LongValue: model.Ptr(int64(9))},
		{Name: "CPU", Type: "INTEGER"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"integerValue":0,"name":"CPU","type":"INTEGER"},{"integerValue":3768,"name":"MEMORY","type":"INTEGER"},` +
		`{"name":"PORTS","stringSetValue":["22","2375","51678"],"type":"STRINGSET"},{"name":"PORTS_UDP","type":"STRINGSET"},` +
		`{"name":"GPU","stringSetValue":["gpu-0"],"type":"STRINGSET"}]`
	if g := ciJSON(t, got); g != want {
		t.Errorf("normalizeTotalResources = %s; want %s", g, want)
	}

	bad := []struct {
		name string
		in   []model.Resource
	}{
		{"no name", []model.Resource{{Type: "INTEGER", IntegerValue: model.Ptr(int32(1))}}},
		{"duplicate", []model.Resource{ciIntRes(resNameCPU, 1), ciIntRes(resNameCPU, 2)}},
		{"CPU as LONG", []model.Resource{{Name: "CPU", Type: "LONG", LongValue: model.Ptr(int64(1))}}},
		{"negative memory", []model.Resource{ciIntRes(resNameMemory, -1)}},
		{"unknown type", []model.Resource{{Name: "CUSTOM", Type: "BOOL"}}},
		{"port 0", []model.Resource{ciSetRes(resNamePorts, "0")}},
		{"port too big", []model.Resource{ciSetRes(resNamePortsUDP, "65536")}},
		{"port not a number", []model.Resource{ciSetRes(resNamePorts, "http")}},
		{"port with leading zero", []model.Resource{ciSetRes(resNamePorts, "080")}},
		{"repeated GPU", []model.Resource{ciSetRes(resNameGPU, "g0", "g0")}},
		{"PORTS as INTEGER", []model.Resource{ciIntRes(resNamePorts, 22)}},
	}
	for _, tt := range bad {
		_, err := normalizeTotalResources(tt.in)
		if e, ok := awsproto.AsError(err); !ok || e.Code != codeInvalidParameter {
			t.Errorf("%s: normalizeTotalResources error = %v; want InvalidParameterException", tt.name, err)
		}
	}
}

func TestReservedRemaining(t *testing.T) {
	reg := []model.Resource{ciIntRes(resNameCPU, 2048), ciIntRes(resNameMemory, 4000), ciSetRes(resNamePorts, "22"), ciSetRes(resNamePortsUDP), ciSetRes(resNameGPU, "g0", "g1")}
	rem := []model.Resource{ciIntRes(resNameCPU, 1), ciIntRes(resNameMemory, 1), ciSetRes(resNamePorts, "22"), ciSetRes(resNamePortsUDP), ciSetRes(resNameGPU, "g1")}
	held := []state.TaskReservation{
		{CPU: 512, Memory: 1000, PortsTCP: []string{"8080"}},
		{CPU: 256, Memory: 500, PortsTCP: []string{"443"}, PortsUDP: []string{"53"}},
	}
	got := reservedRemaining(reg, rem, held)
	want := []model.Resource{ciIntRes(resNameCPU, 1280), ciIntRes(resNameMemory, 2500), ciSetRes(resNamePorts, "22", "443", "8080"), ciSetRes(resNamePortsUDP, "53"), ciSetRes(resNameGPU, "g1")}
	if g, w := ciJSON(t, got), ciJSON(t, want); g != w {
		t.Errorf("reservedRemaining = %s; want %s", g, w)
	}
	if g := ciJSON(t, rem[0]); g != `{"integerValue":1,"name":"CPU","type":"INTEGER"}` {
		t.Errorf("reservedRemaining changed its input: %s", g)
	}
}
