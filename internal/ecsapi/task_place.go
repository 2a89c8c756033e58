package ecsapi

import (
	"fmt"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Simple placement for RunTask and StartTask, kept pure (candidates and demand
// in, picks and reasons out) so that the scheduler can replace it wholesale.
// Placement strategies are validated but not applied here: every task goes to
// the feasible instance with the most remaining CPU (then memory, then key
// order), which spreads load without reading any strategy.

// ECS's failure reasons for an instance a task could not be placed on.
const (
	reasonAgent    = "AGENT"
	reasonCPU      = "RESOURCE:CPU"
	reasonMemory   = "RESOURCE:MEMORY"
	reasonPorts    = "RESOURCE:PORTS"
	reasonDistinct = "DistinctInstance placement constraint unsatisfied."
	reasonInactive = "INACTIVE"
	reasonMissing  = "MISSING"
)

// taskCandidate is a container instance as placement sees it.
type taskCandidate struct {
	ARN            string
	Active         bool // status ACTIVE
	AgentConnected bool
	CPU, Memory    int32 // remaining
	UsedTCP        map[string]bool
	UsedUDP        map[string]bool
	// RunsGroup says a task of the request's group already runs there, which
	// distinctInstance forbids.
	RunsGroup bool
}

// taskFit returns "" when the instance can take the task, else ECS's reason
// and a detail a person can act on.
func taskFit(c *taskCandidate, d state.TaskReservation, distinct bool) (reason, detail string) {
	switch {
	case !c.Active:
		return reasonInactive, "the container instance is not ACTIVE"
	case !c.AgentConnected:
		return reasonAgent, "the container instance's agent is not connected"
	case distinct && c.RunsGroup:
		return reasonDistinct, "the container instance already runs a task of this group"
	case d.CPU > c.CPU:
		return reasonCPU, fmt.Sprintf("the task needs %d CPU units; %d remain", d.CPU, c.CPU)
	case d.Memory > c.Memory:
		return reasonMemory, fmt.Sprintf("the task needs %d MiB of memory; %d remain", d.Memory, c.Memory)
	}
	for _, p := range d.PortsTCP {
		if c.UsedTCP[p] {
			return reasonPorts, "host port " + p + "/tcp is already in use"
		}
	}
	for _, p := range d.PortsUDP {
		if c.UsedUDP[p] {
			return reasonPorts, "host port " + p + "/udp is already in use"
		}
	}
	return "", ""
}

// take books the demand on the candidate (StartTask placing several tasks
// on one instance).
func (c *taskCandidate) take(d state.TaskReservation) {
	c.CPU -= d.CPU
	c.Memory -= d.Memory
	for _, p := range d.PortsTCP {
		c.UsedTCP[p] = true
	}
	for _, p := range d.PortsUDP {
		c.UsedUDP[p] = true
	}
	c.RunsGroup = true
}

func portSet(ports []string) map[string]bool {
	m := make(map[string]bool, len(ports))
	for _, p := range ports {
		m[p] = true
	}
	return m
}

// candidateOf is the placement view of a stored instance.
func candidateOf(inst *state.ContainerInstance) taskCandidate {
	rem := inst.RemainingResources
	return taskCandidate{
		ARN:            inst.ContainerInstanceArn,
		Active:         inst.Status == instanceActive,
		AgentConnected: model.Val(inst.AgentConnected),
		CPU:            resourceInt(rem, resNameCPU),
		Memory:         resourceInt(rem, resNameMemory),
		UsedTCP:        portSet(resourcePorts(rem, resNamePorts)),
		UsedUDP:        portSet(resourcePorts(rem, resNamePortsUDP)),
	}
}

// reserveOn books r on the instance: remaining resources shrink, the ports
// join the ones in use, and the task counts as pending.
func reserveOn(inst *state.ContainerInstance, r state.TaskReservation) {
	rem := cloneResources(inst.RemainingResources)
	rem = setResourceInt(rem, resNameCPU, resourceInt(rem, resNameCPU)-r.CPU)
	rem = setResourceInt(rem, resNameMemory, resourceInt(rem, resNameMemory)-r.Memory)
	if len(r.PortsTCP) > 0 {
		rem = setResourcePorts(rem, resNamePorts, append(resourcePorts(rem, resNamePorts), r.PortsTCP...))
	}
	if len(r.PortsUDP) > 0 {
		rem = setResourcePorts(rem, resNamePortsUDP, append(resourcePorts(rem, resNamePortsUDP), r.PortsUDP...))
	}
	inst.RemainingResources = rem
	inst.PendingTasksCount = model.Ptr(model.Val(inst.PendingTasksCount) + 1)
	bumpInstanceVersion(inst)
}

// releaseOn gives r back to the instance. Remaining CPU and memory never
// exceed what is registered, and ports reserved at registration stay in use,
// so a release can never inflate the instance.
func releaseOn(inst *state.ContainerInstance, r state.TaskReservation) {
	rem, reg := cloneResources(inst.RemainingResources), inst.RegisteredResources
	rem = setResourceInt(rem, resNameCPU, min(resourceInt(rem, resNameCPU)+r.CPU, resourceInt(reg, resNameCPU)))
	rem = setResourceInt(rem, resNameMemory, min(resourceInt(rem, resNameMemory)+r.Memory, resourceInt(reg, resNameMemory)))
	if len(r.PortsTCP) > 0 {
		rem = setResourcePorts(rem, resNamePorts, minusPorts(resourcePorts(rem, resNamePorts), r.PortsTCP, resourcePorts(reg, resNamePorts)))
	}
	if len(r.PortsUDP) > 0 {
		rem = setResourcePorts(rem, resNamePortsUDP, minusPorts(resourcePorts(rem, resNamePortsUDP), r.PortsUDP, resourcePorts(reg, resNamePortsUDP)))
	}
	inst.RemainingResources = rem
	bumpInstanceVersion(inst)
}

func bumpInstanceVersion(inst *state.ContainerInstance) {
	inst.Version = model.Ptr(model.Val(inst.Version) + 1)
}

// minusPorts returns have without drop, keeping every port in keep.
func minusPorts(have, drop, keep []string) []string {
	gone := portSet(drop)
	for _, p := range keep {
		delete(gone, p)
	}
	out := []string{}
	for _, p := range have {
		if !gone[p] {
			out = append(out, p)
		}
	}
	return out
}
