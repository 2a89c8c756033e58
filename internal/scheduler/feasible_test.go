package scheduler

import (
	"fmt"
	"testing"
)

// describe renders a verdict as "pass" or "check:REASON:detail".
func describe(c checker, in *Instance) string {
	v := c.check(in)
	if v.why == nil {
		return "pass"
	}
	r := v.rejection(in)
	return fmt.Sprintf("%s:%s:%s", r.Check, r.Reason, r.Detail)
}

func TestCheckers(t *testing.T) {
	ext := attr(AttrExternal, "")
	linux := attr("ecs.os-type", "linux")
	tests := []struct {
		name string
		c    checker
		in   Instance
		want string
	}{
		{"status active", statusCheck{}, node("a", 0, 0), "pass"},
		{"status draining", statusCheck{}, node("a", 0, 0, status("DRAINING")), "status::status is DRAINING, not ACTIVE"},
		{"status inactive", statusCheck{}, node("a", 0, 0, status("INACTIVE")), "status::status is INACTIVE, not ACTIVE"},

		{"agent connected", agentCheck{}, node("a", 0, 0), "pass"},
		{"agent disconnected", agentCheck{}, node("a", 0, 0, disconnected), "agent:AGENT:agent is disconnected"},

		{"EC2 task on EC2 instance", newLaunchTypeCheck(LaunchTypeEC2), node("a", 0, 0), "pass"},
		{"EC2 task on external instance", newLaunchTypeCheck(LaunchTypeEC2), node("a", 0, 0, ext),
			"launchType:ATTRIBUTE:is an EXTERNAL instance; the task's launch type is EC2"},
		{"EXTERNAL task on external instance", newLaunchTypeCheck(LaunchTypeExternal), node("a", 0, 0, ext), "pass"},
		{"EXTERNAL task on EC2 instance", newLaunchTypeCheck(LaunchTypeExternal), node("a", 0, 0),
			"launchType:ATTRIBUTE:is an EC2 instance; the task's launch type is EXTERNAL"},
		{"FARGATE task on pool instance", newLaunchTypeCheck(LaunchTypeFargate), node("a", 0, 0, attr(AttrFargate, "")), "pass"},
		{"FARGATE task on EC2 instance", newLaunchTypeCheck(LaunchTypeFargate), node("a", 0, 0),
			"launchType:ATTRIBUTE:is an EC2 instance; the task's launch type is FARGATE"},
		{"EC2 task on pool instance", newLaunchTypeCheck(LaunchTypeEC2), node("a", 0, 0, attr(AttrFargate, "")),
			"launchType:ATTRIBUTE:is a Fargate pool instance; the task's launch type is EC2"},

		{"attribute present", newAttributeCheck(Attribute{Name: "ecs.os-type"}), node("a", 0, 0, linux), "pass"},
		{"attribute with value", newAttributeCheck(Attribute{"ecs.os-type", "linux"}), node("a", 0, 0, linux), "pass"},
		{"attribute without value on instance", newAttributeCheck(Attribute{Name: "ecs.capability.x"}),
			node("a", 0, 0, attr("ecs.capability.x", "")), "pass"},
		{"attribute missing", newAttributeCheck(Attribute{Name: "ecs.capability.x"}), node("a", 0, 0, linux),
			"attribute:ATTRIBUTE:lacks attribute ecs.capability.x"},
		{"attribute missing with value", newAttributeCheck(Attribute{"gpu", "yes"}), node("a", 0, 0),
			"attribute:ATTRIBUTE:lacks attribute gpu=yes"},
		{"attribute differs", newAttributeCheck(Attribute{"ecs.os-type", "windows"}), node("a", 0, 0, linux),
			"attribute:ATTRIBUTE:has attribute ecs.os-type=linux, not windows"},

		{"distinct, none of the group", newDistinctCheck("service:web"), node("a", 0, 0, running("service:db", 2)), "pass"},
		{"distinct, one of the group", newDistinctCheck("service:web"), node("a", 0, 0, running("service:web", 1)),
			"distinctInstance:ATTRIBUTE:already runs 1 task of group service:web"},
		{"distinct, three of the group", newDistinctCheck("family:web"), node("a", 0, 0, running("family:web", 3)),
			"distinctInstance:ATTRIBUTE:already runs 3 tasks of group family:web"},

		{"memberOf matches", newMemberOfCheck(attrIs("ecs.os-type", "linux")), node("a", 0, 0, linux), "pass"},
		{"memberOf does not match", newMemberOfCheck(attrIs("ecs.os-type", "windows")), node("a", 0, 0, linux),
			"memberOf:ATTRIBUTE:does not satisfy memberOf(attribute:ecs.os-type == windows)"},

		{"cpu fits exactly", cpuCheck{256}, node("a", 256, 0), "pass"},
		{"cpu short", cpuCheck{512}, node("a", 256, 0), "cpu:RESOURCE:CPU:needs 512 CPU units, has 256"},
		{"cpu none needed, overcommitted", cpuCheck{0}, node("a", -10, 0), "cpu:RESOURCE:CPU:needs 0 CPU units, has -10"},
		{"memory fits", memoryCheck{512}, node("a", 0, 1024), "pass"},
		{"memory short", memoryCheck{1024}, node("a", 0, 512), "memory:RESOURCE:MEMORY:needs 1024 MiB of memory, has 512"},

		{"ports free", portsCheck{tcp: []int32{80}, udp: []int32{53}}, node("a", 0, 0, tcp(22, 443), udp(123)), "pass"},
		{"tcp port used", portsCheck{tcp: []int32{80, 443}}, node("a", 0, 0, tcp(22, 443)), "ports:RESOURCE:PORTS:host port 443/tcp is in use"},
		{"udp port used", portsCheck{udp: []int32{53}}, node("a", 0, 0, tcp(53), udp(53)), "ports:RESOURCE:PORTS:host port 53/udp is in use"},
		{"same number other protocol", portsCheck{tcp: []int32{53}}, node("a", 0, 0, udp(53)), "pass"},

		{"gpus enough", gpuCheck{2}, node("a", 0, 0, gpus("g0", "g1")), "pass"},
		{"gpus short", gpuCheck{2}, node("a", 0, 0, gpus("g0")), "gpu:RESOURCE:GPU:needs 2 GPUs, has 1 free"},
		{"gpu none", gpuCheck{1}, node("a", 0, 0), "gpu:RESOURCE:GPU:needs 1 GPU, has 0 free"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := NewSnapshot([]Instance{tt.in}).Instance(0)
			if got := describe(tt.c, in); got != tt.want {
				t.Errorf("%T.check(%s) = %q; want %q", tt.c, tt.in.ID, got, tt.want)
			}
		})
	}
}

// TestCheckerOrder pins which failure an instance reports when it fails
// several checks: the first in ECS's order.
func TestCheckerOrder(t *testing.T) {
	bad := node("a-status", 0, 0, status("DRAINING"), disconnected)
	req := Request{Count: 1, Task: Needs{CPU: 1, Memory: 1}, Group: "family:x", DistinctInstance: true}
	insts := []Instance{
		bad,
		node("b-agent", 0, 0, disconnected),
		node("c-attr", 0, 0, running("family:x", 1)),
		node("d-cpu", 0, 0),
		node("e-mem", 5, 0),
	}
	p := mustPlace(t, insts, req)
	want := "a-status:status::status is DRAINING, not ACTIVE\n" +
		"b-agent:agent:AGENT:agent is disconnected\n" +
		"c-attr:distinctInstance:ATTRIBUTE:already runs 1 task of group family:x\n" +
		"d-cpu:cpu:RESOURCE:CPU:needs 1 CPU unit, has 0\n" +
		"e-mem:memory:RESOURCE:MEMORY:needs 1 MiB of memory, has 0"
	if got := reasons(p.Rejections); got != want {
		t.Errorf("Place(...).Rejections =\n%s\nwant\n%s", got, want)
	}
}
