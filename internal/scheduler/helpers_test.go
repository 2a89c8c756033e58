package scheduler

import (
	"fmt"
	"strings"
	"testing"
)

// Test helpers: instances are named by ID, and their ARNs sort like the IDs,
// so snapshot order is ID order.

const arnPrefix = "arn:aws:ecs:us-east-1:123456789012:container-instance/test/"

// node is an ACTIVE, connected instance with the given remaining CPU and
// memory; the options adjust the rest.
func node(id string, cpu, mem int64, opts ...func(*Instance)) Instance {
	in := Instance{
		ID:             id,
		ARN:            arnPrefix + id,
		Status:         StatusActive,
		AgentConnected: true,
		CPU:            cpu,
		Memory:         mem,
	}
	for _, o := range opts {
		o(&in)
	}
	return in
}

func attr(name, value string) func(*Instance) {
	return func(in *Instance) {
		if in.Attributes == nil {
			in.Attributes = map[string]string{}
		}
		in.Attributes[name] = value
	}
}

func zone(z string) func(*Instance) { return attr("ecs.availability-zone", z) }

func running(group string, n int) func(*Instance) {
	return func(in *Instance) {
		if in.Groups == nil {
			in.Groups = map[string]int{}
		}
		in.Groups[group] += n
		in.RunningTasks += n
	}
}

func tcp(ports ...int32) func(*Instance) { return func(in *Instance) { in.PortsTCP = ports } }
func udp(ports ...int32) func(*Instance) { return func(in *Instance) { in.PortsUDP = ports } }
func gpus(ids ...string) func(*Instance) { return func(in *Instance) { in.GPUs = ids } }
func status(s string) func(*Instance)    { return func(in *Instance) { in.Status = s } }
func disconnected(in *Instance)          { in.AgentConnected = false }

// ids is where each task of the plan went, by instance ID, "-" for none.
func ids(p *Plan) string {
	out := make([]string, len(p.Tasks))
	for i, t := range p.Tasks {
		out[i] = t.ID
		if t.ARN == "" {
			out[i] = "-"
		}
	}
	return strings.Join(out, " ")
}

// reasons lists the plan's rejections as "id:check:REASON:detail".
func reasons(rs []Rejection) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s:%s:%s:%s", strings.TrimPrefix(r.ARN, arnPrefix), r.Check, r.Reason, r.Detail)
	}
	return strings.Join(out, "\n")
}

func mustPlace(t *testing.T, insts []Instance, r Request) *Plan {
	t.Helper()
	p, err := Place(NewSnapshot(insts), &r)
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	return p
}

// attrIs is a memberOf matcher for "attribute:NAME == VALUE", costed like
// the real one: one map lookup and a comparison.
func attrIs(name, value string) MemberOf {
	return MemberOf{
		Expression: "attribute:" + name + " == " + value,
		Matcher:    MatcherFunc(func(in *Instance) bool { return in.Attributes[name] == value }),
	}
}
