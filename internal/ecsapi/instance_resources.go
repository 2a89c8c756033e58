package ecsapi

import (
	"slices"
	"strconv"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Resource vectors of container instances, as ECS models them and as the
// placement code reads and writes them:
//
//	CPU        INTEGER    CPU units (1024 per core)
//	MEMORY     INTEGER    MiB
//	PORTS      STRINGSET  TCP host ports, decimal strings
//	PORTS_UDP  STRINGSET  UDP host ports, decimal strings
//	GPU        STRINGSET  GPU device IDs
//
// The two kinds of string set mean opposite things, as in ECS: a PORTS set
// lists ports that are taken (registered: reserved by the agent; remaining:
// reserved plus bound by tasks), so placing a task adds to it; a GPU set lists
// devices (registered: all; remaining: still free), so placing a task removes
// from it. registeredResources never changes between registrations;
// remainingResources is registered less what non-STOPPED tasks hold.
const (
	resNameCPU      = "CPU"
	resNameMemory   = "MEMORY"
	resNamePorts    = "PORTS"
	resNamePortsUDP = "PORTS_UDP"
	resNameGPU      = "GPU"

	resTypeInteger   = "INTEGER"
	resTypeLong      = "LONG"
	resTypeDouble    = "DOUBLE"
	resTypeStringSet = "STRINGSET"
)

// isTakenSet reports whether a STRINGSET resource lists what is in use rather
// than what is free.
func isTakenSet(name string) bool { return name == resNamePorts || name == resNamePortsUDP }

func findResource(rs []model.Resource, name string) int {
	return slices.IndexFunc(rs, func(r model.Resource) bool { return r.Name == name })
}

// resourceInt returns the integer value of the named resource, 0 if absent.
func resourceInt(rs []model.Resource, name string) int32 {
	if i := findResource(rs, name); i >= 0 {
		return model.Val(rs[i].IntegerValue)
	}
	return 0
}

// setResourceInt sets the named INTEGER resource, appending it if absent, and
// returns the vector. The value gets a fresh pointer so that a shallow copy
// of rs taken earlier keeps its value.
func setResourceInt(rs []model.Resource, name string, v int32) []model.Resource {
	if i := findResource(rs, name); i >= 0 {
		rs[i].IntegerValue = model.Ptr(v)
		return rs
	}
	return append(rs, model.Resource{Name: name, Type: resTypeInteger, IntegerValue: model.Ptr(v)})
}

// resourceStrings returns a copy of the named STRINGSET resource's values.
func resourceStrings(rs []model.Resource, name string) []string {
	if i := findResource(rs, name); i >= 0 {
		return slices.Clone(rs[i].StringSetValue)
	}
	return nil
}

// setResourceStrings sets the named STRINGSET resource (a copy of vals),
// appending it if absent, and returns the vector.
func setResourceStrings(rs []model.Resource, name string, vals []string) []model.Resource {
	vals = slices.Clone(vals)
	if i := findResource(rs, name); i >= 0 {
		rs[i].StringSetValue = vals
		return rs
	}
	return append(rs, model.Resource{Name: name, Type: resTypeStringSet, StringSetValue: vals})
}

// resourcePorts returns the ports of a PORTS or PORTS_UDP resource.
func resourcePorts(rs []model.Resource, name string) []string { return resourceStrings(rs, name) }

// setResourcePorts sets a PORTS or PORTS_UDP resource to the given ports,
// deduplicated and in numeric order so that documents compare and read well.
func setResourcePorts(rs []model.Resource, name string, ports []string) []model.Resource {
	return setResourceStrings(rs, name, sortPorts(ports))
}

// sortPorts returns the distinct ports in numeric order (non-numbers last).
func sortPorts(ports []string) []string {
	out := slices.Clone(ports)
	slices.SortFunc(out, func(a, b string) int {
		x, errA := strconv.Atoi(a)
		y, errB := strconv.Atoi(b)
		switch {
		case errA == nil && errB == nil && x != y:
			return x - y
		case (errA == nil) != (errB == nil):
			if errA == nil {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return slices.Compact(out)
}

// cloneResources deep-copies a resource vector.
func cloneResources(rs []model.Resource) []model.Resource {
	if rs == nil {
		return nil
	}
	out := make([]model.Resource, len(rs))
	for i, r := range rs {
		out[i] = model.Resource{Name: r.Name, Type: r.Type, StringSetValue: slices.Clone(r.StringSetValue)}
		if r.IntegerValue != nil {
			out[i].IntegerValue = model.Ptr(*r.IntegerValue)
		}
		if r.LongValue != nil {
			out[i].LongValue = model.Ptr(*r.LongValue)
		}
		if r.DoubleValue != nil {
			out[i].DoubleValue = model.Ptr(*r.DoubleValue)
		}
	}
	return out
}

// setDifference returns the members of a not in b, in a's order.
func setDifference(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// carryUsage computes the remaining resources of an instance that registers
// again with newRegistered while its tasks keep holding what they held. What
// they hold is what placement took from the old vector, so it is recovered
// from the old registered/remaining pair; this covers every resource,
// including those task reservations do not record (reservedRemaining then
// recomputes the ones they do). A resource that shrank below what is in use
// goes negative rather than being clamped, so the books still balance when
// those tasks stop and give their share back.
func carryUsage(oldRegistered, oldRemaining, newRegistered []model.Resource) []model.Resource {
	out := cloneResources(newRegistered)
	for i := range out {
		r := &out[i]
		oi, ri := findResource(oldRegistered, r.Name), findResource(oldRemaining, r.Name)
		if oi < 0 || ri < 0 || oldRegistered[oi].Type != r.Type || oldRemaining[ri].Type != r.Type {
			continue // a new resource: nothing of it is in use yet
		}
		old, rem := oldRegistered[oi], oldRemaining[ri]
		switch r.Type {
		case resTypeInteger:
			r.IntegerValue = model.Ptr(model.Val(r.IntegerValue) - (model.Val(old.IntegerValue) - model.Val(rem.IntegerValue)))
		case resTypeLong:
			r.LongValue = model.Ptr(model.Val(r.LongValue) - (model.Val(old.LongValue) - model.Val(rem.LongValue)))
		case resTypeDouble:
			r.DoubleValue = model.Ptr(model.Val(r.DoubleValue) - (model.Val(old.DoubleValue) - model.Val(rem.DoubleValue)))
		case resTypeStringSet:
			if isTakenSet(r.Name) {
				used := setDifference(rem.StringSetValue, old.StringSetValue)
				r.StringSetValue = sortPorts(append(r.StringSetValue, used...))
			} else {
				used := setDifference(old.StringSetValue, rem.StringSetValue)
				r.StringSetValue = setDifference(r.StringSetValue, used)
			}
		}
	}
	return out
}

// normalizeTotalResources validates the totalResources an agent registers and
// returns them in canonical form: CPU, MEMORY, PORTS and PORTS_UDP first
// (present even when not given, so every instance has the same shape), then
// the others in the order given; each resource carries only the value of its
// type; port sets are distinct and in numeric order. A missing number is 0:
// the model's values are unboxed, and SDKs leave zeros off the wire.
func normalizeTotalResources(in []model.Resource) ([]model.Resource, error) {
	byName := map[string]model.Resource{}
	var order []string
	for _, r := range in {
		if r.Name == "" || len(r.Name) > 255 {
			return nil, invalidParam("Each totalResources entry needs a name of 1 to 255 characters, such as CPU, MEMORY, PORTS, PORTS_UDP or GPU.")
		}
		if _, dup := byName[r.Name]; dup {
			return nil, invalidParam("Resource %s is given more than once in totalResources; give each resource once.", r.Name)
		}
		n, err := normalizeResource(r)
		if err != nil {
			return nil, err
		}
		byName[r.Name] = n
		order = append(order, r.Name)
	}
	defaults := []model.Resource{
		{Name: resNameCPU, Type: resTypeInteger, IntegerValue: model.Ptr(int32(0))},
		{Name: resNameMemory, Type: resTypeInteger, IntegerValue: model.Ptr(int32(0))},
		{Name: resNamePorts, Type: resTypeStringSet},
		{Name: resNamePortsUDP, Type: resTypeStringSet},
	}
	out := make([]model.Resource, 0, len(defaults)+len(in))
	for _, d := range defaults {
		if r, ok := byName[d.Name]; ok {
			d = r
		}
		out = append(out, d)
	}
	for _, name := range order {
		if findResource(defaults, name) < 0 {
			out = append(out, byName[name])
		}
	}
	return out, nil
}

func normalizeResource(r model.Resource) (model.Resource, error) {
	out := model.Resource{Name: r.Name, Type: r.Type}
	wantType := ""
	switch r.Name {
	case resNameCPU, resNameMemory:
		wantType = resTypeInteger
	case resNamePorts, resNamePortsUDP, resNameGPU:
		wantType = resTypeStringSet
	}
	if wantType != "" && r.Type != wantType {
		return out, invalidParam("Resource %s must have type %s; got %q.", r.Name, wantType, r.Type)
	}
	switch r.Type {
	case resTypeInteger:
		if v := model.Val(r.IntegerValue); v < 0 {
			return out, invalidParam("Resource %s must not be negative; got %d.", r.Name, v)
		}
		out.IntegerValue = model.Ptr(model.Val(r.IntegerValue))
	case resTypeLong:
		if v := model.Val(r.LongValue); v < 0 {
			return out, invalidParam("Resource %s must not be negative; got %d.", r.Name, v)
		}
		out.LongValue = model.Ptr(model.Val(r.LongValue))
	case resTypeDouble:
		if v := model.Val(r.DoubleValue); v < 0 {
			return out, invalidParam("Resource %s must not be negative; got %g.", r.Name, v)
		}
		out.DoubleValue = model.Ptr(model.Val(r.DoubleValue))
	case resTypeStringSet:
		if isTakenSet(r.Name) {
			for _, p := range r.StringSetValue {
				if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
					return out, invalidParam("Resource %s lists %q, which is not a port: give port numbers from 1 to 65535 as decimal strings.", r.Name, p)
				}
			}
			out.StringSetValue = sortPorts(r.StringSetValue)
			break
		}
		seen := map[string]bool{}
		for _, s := range r.StringSetValue {
			if s == "" || seen[s] {
				return out, invalidParam("Resource %s lists an empty or repeated value %q; list each value once.", r.Name, s)
			}
			seen[s] = true
		}
		out.StringSetValue = slices.Clone(r.StringSetValue)
	default:
		return out, invalidParam("Resource %s has type %q; use INTEGER, LONG, DOUBLE or STRINGSET.", r.Name, r.Type)
	}
	return out, nil
}

// reservedRemaining returns rem with CPU, MEMORY, PORTS and PORTS_UDP set to
// registered less what the given task reservations hold. Reading the holdings
// from the tasks themselves repairs any drift in the instance's books; the
// resources no reservation covers (GPU, custom ones) keep rem's values.
func reservedRemaining(registered, rem []model.Resource, held []state.TaskReservation) []model.Resource {
	out := cloneResources(rem)
	cpu, mem := resourceInt(registered, resNameCPU), resourceInt(registered, resNameMemory)
	tcp, udp := resourceStrings(registered, resNamePorts), resourceStrings(registered, resNamePortsUDP)
	for _, r := range held {
		cpu -= r.CPU
		mem -= r.Memory
		tcp = append(tcp, r.PortsTCP...)
		udp = append(udp, r.PortsUDP...)
	}
	out = setResourceInt(out, resNameCPU, cpu)
	out = setResourceInt(out, resNameMemory, mem)
	out = setResourcePorts(out, resNamePorts, tcp)
	return setResourcePorts(out, resNamePortsUDP, udp)
}
