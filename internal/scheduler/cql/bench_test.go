package cql

import (
	"fmt"
	"testing"
)

// benchExpr is a constraint of the kind placement evaluates for every
// instance: a pattern, a list, a negated task group, a count and a version.
const benchExpr = "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone in [us-east-1a, us-east-1b, us-east-1c]" +
	" and not(task:group == service:database) and runningTasksCount < 10 and agentVersion >= 1.14.0"

func benchInstance() Instance {
	return Instance{
		Attributes: map[string]string{
			"ecs.instance-type":     "t2.small",
			"ecs.availability-zone": "us-east-1b",
			"ecs.os-type":           "linux",
			"ecs.cpu-architecture":  "x86_64",
			"ecs.ami-id":            "ami-1234abcd",
			"stack":                 "prod",
		},
		AgentConnected:    true,
		AgentVersion:      "1.68.2",
		EC2InstanceID:     "i-abcd1234",
		RunningTasksCount: 3,
		TaskGroups:        []string{"service:web", "service:worker", "family:batch"},
	}
}

// BenchmarkEval evaluates benchExpr over 10,000 instances, about a large
// cluster's worth for one placement decision; ns/op is per instance.
func BenchmarkEval(b *testing.B) {
	e := mustParse(b, benchExpr)
	fleet := make([]Instance, 10000)
	for i := range fleet {
		fleet[i] = benchInstance()
		fleet[i].Attributes = map[string]string{
			"ecs.instance-type":     []string{"t2.small", "m5.large", "t2.micro"}[i%3],
			"ecs.availability-zone": fmt.Sprintf("us-east-1%c", 'a'+i%4),
		}
		fleet[i].RunningTasksCount = i % 12
	}
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for i := 0; b.Loop(); i++ {
		if e.Eval(fleet[i%len(fleet)]) {
			matched++
		}
	}
	if matched == 0 {
		b.Fatal("nothing matched; the benchmark measures the wrong path")
	}
}

// BenchmarkEvalMatching is the slowest common path: every condition is
// evaluated and holds.
func BenchmarkEvalMatching(b *testing.B) {
	e := mustParse(b, benchExpr)
	inst := benchInstance()
	b.ReportAllocs()
	for b.Loop() {
		if !e.Eval(inst) {
			b.Fatal("benchInstance does not match benchExpr")
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchExpr); err != nil {
			b.Fatal(err)
		}
	}
}
