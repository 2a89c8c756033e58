package scheduler

import (
	"fmt"
	"strconv"
)

// A checker is one feasibility filter, bound to one request when the stack is
// built. It answers for one instance whether it can take one more task.
//
// The answer is a verdict rather than a formatted sentence because checks run
// in the engine's inner loop and most rejections are never shown to anyone:
// the verdict holds the figures, and the sentence is written only when a plan
// reports it.
type checker interface {
	check(inst *Instance) verdict
}

// verdict is a checker's answer: pass when why is nil, else the rejection
// with the figures its detail needs.
type verdict struct {
	why        *why
	need, have int64
}

var pass verdict

// why describes one way a check fails. Checkers build theirs once, at stack
// construction, so a rejection costs no allocation.
type why struct {
	check  string
	reason string
	detail func(inst *Instance, need, have int64) string
}

func (v verdict) rejection(inst *Instance) Rejection {
	return Rejection{
		ARN:    inst.ARN,
		Check:  v.why.check,
		Reason: v.why.reason,
		Detail: v.why.detail(inst, v.need, v.have),
	}
}

// statusCheck keeps instances that are not ACTIVE (DRAINING, REGISTERING,
// ...) out: ECS places nothing new on them.
type statusCheck struct{}

var whyStatus = &why{CheckStatus, "", func(inst *Instance, _, _ int64) string {
	return fmt.Sprintf("status is %s, not %s", inst.Status, StatusActive)
}}

func (statusCheck) check(inst *Instance) verdict {
	if inst.Status == StatusActive {
		return pass
	}
	return verdict{why: whyStatus}
}

// agentCheck keeps instances whose agent is disconnected out: nothing would
// collect the task, so ECS rejects at once rather than leave it pending.
type agentCheck struct{}

var whyAgent = &why{CheckAgent, ReasonAgent, func(*Instance, int64, int64) string {
	return "agent is disconnected"
}}

func (agentCheck) check(inst *Instance) verdict {
	if inst.AgentConnected {
		return pass
	}
	return verdict{why: whyAgent}
}

// launchTypeCheck matches the task's launch type with the kind of instance:
// EXTERNAL tasks on instances carrying AttrExternal, FARGATE tasks on those
// carrying AttrFargate, EC2 tasks on the others.
type launchTypeCheck struct {
	lt  LaunchType
	why *why
}

func newLaunchTypeCheck(lt LaunchType) launchTypeCheck {
	return launchTypeCheck{
		lt: lt,
		why: &why{CheckLaunchType, ReasonAttribute, func(inst *Instance, _, _ int64) string {
			kind := map[LaunchType]string{LaunchTypeEC2: "an EC2", LaunchTypeExternal: "an EXTERNAL", LaunchTypeFargate: "a Fargate pool"}[instanceKind(inst)]
			return fmt.Sprintf("is %s instance; the task's launch type is %s", kind, lt)
		}},
	}
}

// instanceKind is the launch type an instance takes.
func instanceKind(inst *Instance) LaunchType {
	if inst.kind != "" {
		return inst.kind
	}
	return kindOf(inst)
}

func kindOf(inst *Instance) LaunchType {
	if _, ok := inst.Attributes[AttrFargate]; ok {
		return LaunchTypeFargate
	}
	if _, ok := inst.Attributes[AttrExternal]; ok {
		return LaunchTypeExternal
	}
	return LaunchTypeEC2
}

func (c launchTypeCheck) check(inst *Instance) verdict {
	if instanceKind(inst) == c.lt {
		return pass
	}
	return verdict{why: c.why}
}

// attributeCheck wants one required attribute, with its value when one is
// given.
type attributeCheck struct {
	name, value      string
	missing, differs *why
}

func newAttributeCheck(a Attribute) attributeCheck {
	want := a.Name
	if a.Value != "" {
		want += "=" + a.Value
	}
	return attributeCheck{
		name:  a.Name,
		value: a.Value,
		missing: &why{CheckAttribute, ReasonAttribute, func(*Instance, int64, int64) string {
			return "lacks attribute " + want
		}},
		differs: &why{CheckAttribute, ReasonAttribute, func(inst *Instance, _, _ int64) string {
			return fmt.Sprintf("has attribute %s=%s, not %s", a.Name, inst.Attributes[a.Name], a.Value)
		}},
	}
}

func (c attributeCheck) check(inst *Instance) verdict {
	v, ok := inst.Attributes[c.name]
	switch {
	case !ok:
		return verdict{why: c.missing}
	case c.value != "" && v != c.value:
		return verdict{why: c.differs}
	}
	return pass
}

// distinctCheck is distinctInstance: no second task of the group on an
// instance. The working copy counts the tasks this plan placed, so one check
// covers both those and the ones already running.
type distinctCheck struct {
	group string
	why   *why
}

func newDistinctCheck(group string) distinctCheck {
	return distinctCheck{group, &why{CheckDistinctInstance, ReasonAttribute, func(_ *Instance, _, have int64) string {
		return fmt.Sprintf("already runs %d %s of group %s", have, plural(have, "task", "tasks"), group)
	}}}
}

func (c distinctCheck) check(inst *Instance) verdict {
	if n := inst.Groups[c.group]; n > 0 {
		return verdict{why: c.why, have: int64(n)}
	}
	return pass
}

// memberOfCheck is one memberOf constraint.
type memberOfCheck struct {
	m   Matcher
	why *why
}

func newMemberOfCheck(m MemberOf) memberOfCheck {
	detail := "does not satisfy memberOf(" + m.Expression + ")"
	return memberOfCheck{m.Matcher, &why{CheckMemberOf, ReasonAttribute, func(*Instance, int64, int64) string { return detail }}}
}

func (c memberOfCheck) check(inst *Instance) verdict {
	if c.m.Match(inst) {
		return pass
	}
	return verdict{why: c.why}
}

// cpuCheck and memoryCheck want the task's reservation to fit in what
// remains. They run even when the task asks for none, so that an instance
// already overcommitted (negative remaining) takes nothing more.
type cpuCheck struct{ need int64 }

var whyCPU = &why{CheckCPU, ReasonCPU, func(_ *Instance, need, have int64) string {
	return fmt.Sprintf("needs %d %s, has %d", need, plural(need, "CPU unit", "CPU units"), have)
}}

func (c cpuCheck) check(inst *Instance) verdict {
	if c.need <= inst.CPU {
		return pass
	}
	return verdict{whyCPU, c.need, inst.CPU}
}

type memoryCheck struct{ need int64 }

var whyMemory = &why{CheckMemory, ReasonMemory, func(_ *Instance, need, have int64) string {
	return fmt.Sprintf("needs %d MiB of memory, has %d", need, have)
}}

func (c memoryCheck) check(inst *Instance) verdict {
	if c.need <= inst.Memory {
		return pass
	}
	return verdict{whyMemory, c.need, inst.Memory}
}

// portsCheck wants each of the task's static host ports free. Only requests
// that bind static ports get one.
type portsCheck struct{ tcp, udp []int32 }

var (
	whyPortTCP = &why{CheckPorts, ReasonPorts, func(_ *Instance, port, _ int64) string {
		return "host port " + strconv.FormatInt(port, 10) + "/tcp is in use"
	}}
	whyPortUDP = &why{CheckPorts, ReasonPorts, func(_ *Instance, port, _ int64) string {
		return "host port " + strconv.FormatInt(port, 10) + "/udp is in use"
	}}
)

func (c portsCheck) check(inst *Instance) verdict {
	for _, p := range c.tcp {
		if portInUse(inst.PortsTCP, p) {
			return verdict{why: whyPortTCP, need: int64(p)}
		}
	}
	for _, p := range c.udp {
		if portInUse(inst.PortsUDP, p) {
			return verdict{why: whyPortUDP, need: int64(p)}
		}
	}
	return pass
}

// gpuCheck wants enough free GPUs. Only requests for GPUs get one.
type gpuCheck struct{ need int }

var whyGPU = &why{CheckGPU, ReasonGPU, func(_ *Instance, need, have int64) string {
	return fmt.Sprintf("needs %d %s, has %d free", need, plural(need, "GPU", "GPUs"), have)
}}

func (c gpuCheck) check(inst *Instance) verdict {
	if c.need <= len(inst.GPUs) {
		return pass
	}
	return verdict{whyGPU, int64(c.need), int64(len(inst.GPUs))}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
