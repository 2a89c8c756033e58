package scheduler

import (
	"strings"
	"testing"
	"time"
)

// TestCompileMemberOf runs real cluster-query expressions through Place, so
// the adapter is tested on what the scheduler will feed it: the plan's
// working view included.
func TestCompileMemberOf(t *testing.T) {
	day := time.Date(2018, 6, 18, 0, 0, 0, 0, time.UTC)
	insts := []Instance{
		node("a", 1000, 1000, attr("ecs.instance-type", "t2.small"), zone("us-east-1a"), running("service:db", 1)),
		node("b", 1000, 1000, attr("ecs.instance-type", "m5.large"), zone("us-east-1b"),
			func(in *Instance) { in.AgentVersion = "1.14.5"; in.EC2InstanceID = "i-abcd1234"; in.RegisteredAt = day }),
		node("c", 1000, 1000, attr("ecs.instance-type", "t2.medium"), zone("us-east-1d")),
	}
	tests := []struct {
		expr  string
		count int
		want  string
	}{
		{"attribute:ecs.instance-type == t2.small", 2, "a a"},
		{"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d", 1, "a"},
		{"attribute:ecs.availability-zone in [us-east-1b, us-east-1d]", 1, "b"},
		{"task:group == service:db", 1, "a"},
		{"not(task:group == service:db)", 1, "b"},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", 1, "b"},
		{"agentVersion >= 1.14.5", 1, "b"},
		{"registeredAt >= 2018-06-18", 1, "b"},
		// The plan's own placements count: each instance takes one task.
		{"runningTasksCount == 0", 3, "b c -"},
		{"not(task:group == family:web)", 4, "a b c -"},
	}
	for _, tt := range tests {
		m, err := CompileMemberOf(tt.expr)
		if err != nil {
			t.Errorf("CompileMemberOf(%q) = %v", tt.expr, err)
			continue
		}
		r := Request{Count: tt.count, Group: "family:web", MemberOf: []MemberOf{m}}
		if got := ids(mustPlace(t, insts, r)); got != tt.want {
			t.Errorf("Place with memberOf(%s) = %q; want %q", tt.expr, got, tt.want)
		}
	}
}

func TestCompileMemberOfError(t *testing.T) {
	if _, err := CompileMemberOf("attribute:ecs.instance-type =="); err == nil {
		t.Error(`CompileMemberOf("attribute:ecs.instance-type ==") = nil error; want one`)
	}
	m, _ := CompileMemberOf("attribute:x == y")
	p := mustPlace(t, []Instance{node("a", 1, 1)}, Request{Count: 1, MemberOf: []MemberOf{m}})
	if got := reasons(p.Rejections); !strings.Contains(got, "memberOf:ATTRIBUTE:does not satisfy memberOf(attribute:x == y)") {
		t.Errorf("rejection = %q", got)
	}
}
