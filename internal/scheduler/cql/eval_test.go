package cql

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustParse(t testing.TB, s string) Expr {
	t.Helper()
	e, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return e
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// web is an instance with a bit of everything.
var web = Instance{
	Attributes: map[string]string{
		"ecs.instance-type":     "t2.small",
		"ecs.availability-zone": "us-east-1a",
		"ecs.os-type":           "linux",
		"stack":                 "prod",
		"gpus":                  "4",
		"tier":                  "gold",
		"flag":                  "", // present, without a value
	},
	AgentConnected:    true,
	AgentVersion:      "1.14.5",
	EC2InstanceID:     "i-abcd1234",
	RegisteredAt:      date("2018-02-13T10:00:00.5Z"),
	RunningTasksCount: 2,
	TaskGroups:        []string{"service:production", "family:batch"},
}

// bare has nothing optional: no attributes, no id, no version, no tasks.
var bare = Instance{}

func TestEval(t *testing.T) {
	tests := []struct {
		expr       string
		web, empty bool // the results on web and on bare
	}{
		// Attributes: every operator; a missing attribute fails all but !exists.
		{"attribute:stack == prod", true, false},
		{"attribute:stack == Prod", false, false},
		{"attribute:stack != prod", false, false},
		{"attribute:stack != dev", true, false},
		{"attribute:stack exists", true, false},
		{"attribute:stack !exists", false, true},
		{"attribute:flag exists", true, false},
		{"attribute:flag == ''", true, false},
		{"attribute:flag != ''", false, false},
		{"attribute:stack in [dev, prod]", true, false},
		{"attribute:stack in [dev, test]", false, false},
		{"attribute:stack !in [dev, test]", true, false},
		{"attribute:stack !in [dev, prod]", false, false},
		{"attribute:stack =~ pr.*", true, false},
		{"attribute:stack =~ r.*", false, false}, // the whole value must match
		{"attribute:stack =~ .*ro.*", true, false},
		{"attribute:stack !~ dev|test", true, false},
		{"attribute:stack !~ prod", false, false},
		{"attribute:gpus > 3", true, false},
		{"attribute:gpus > 10", false, false}, // numerically, not "4" > "10"
		{"attribute:gpus >= 4.0", true, false},
		{"attribute:gpus < 4", false, false},
		{"attribute:gpus <= 4", true, false},
		{"attribute:stack > 3", false, false}, // a numeric argument wants a number
		{"attribute:tier > silver", false, false},
		{"attribute:tier < silver", true, false}, // byte-wise otherwise
		{"attribute:tier >= gold", true, false},
		{"attribute:tier <= gold", true, false},

		// agentConnected is true or false and always known.
		{"agentConnected == true", true, false},
		{"agentConnected == false", false, true},
		{"agentConnected != true", false, true},
		{"agentConnected in [false]", false, true},
		{"agentConnected !in [false]", true, false},
		{"agentConnected =~ t.*", true, false},
		{"agentConnected !~ t.*", false, true},

		// agentVersion compares numbers; an unknown version fails every test.
		{"agentVersion == 1.14.5", true, false},
		{"agentVersion == 1.14.5.0", true, false},
		{"agentVersion != 1.14.5", false, false},
		{"agentVersion != 1.9", true, false},
		{"agentVersion > 1.9.99", true, false}, // 14 > 9, not "1.14" < "1.9"
		{"agentVersion >= 1.14.5", true, false},
		{"agentVersion < 1.14.6", true, false},
		{"agentVersion < 1.14.5", false, false},
		{"agentVersion <= 1.14", false, false},
		{"agentVersion > 1.14", true, false},
		{"agentVersion < 2", true, false},

		// ec2InstanceId; an instance without one fails every test.
		{"ec2InstanceId == i-abcd1234", true, false},
		{"ec2InstanceId != i-abcd1234", false, false},
		{"ec2InstanceId != i-wxyx7890", true, false},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", true, false},
		{"ec2InstanceId !in ['i-wxyx7890']", true, false},
		{"ec2InstanceId =~ i-abcd.*", true, false},
		{"ec2InstanceId !~ i-abcd.*", false, false},

		// registeredAt: 2018-02-13T10:00:00.5Z; a date names its whole day.
		{"registeredAt == 2018-02-13", true, false},
		{"registeredAt != 2018-02-13", false, false},
		{"registeredAt != 2018-02-12", true, false},
		{"registeredAt < 2018-02-13", false, false},
		{"registeredAt < 2018-02-14", true, false},
		{"registeredAt <= 2018-02-13", true, false},
		{"registeredAt > 2018-02-12", true, false},
		{"registeredAt > 2018-02-13", false, false},
		{"registeredAt >= 2018-02-13", true, false},
		{"registeredAt == 2018-02-13T10:00:00Z", true, false}, // and a time its whole second
		{"registeredAt == 2018-02-13T10:00:00", true, false},
		{"registeredAt == 2018-02-13T11:00:00+01:00", true, false},
		{"registeredAt > 2018-02-13T09:59:59Z", true, false},
		{"registeredAt > 2018-02-13T10:00:00Z", false, false},
		{"registeredAt >= 2018-02-13T10:00:00Z", true, false},
		{"registeredAt < 2018-02-13T10:00:01Z", true, false},
		{"registeredAt <= 2018-02-13T10:00:00Z", true, false},
		{"registeredAt < 2018-02-13T10:00:00Z", false, false},

		// runningTasksCount is always known; bare runs none.
		{"runningTasksCount == 2", true, false},
		{"runningTasksCount == 0", false, true},
		{"runningTasksCount != 2", false, true},
		{"runningTasksCount > 1", true, false},
		{"runningTasksCount >= 2", true, false},
		{"runningTasksCount < 2", false, true},
		{"runningTasksCount <= 2", true, true},

		// task:group asks about the set of the instance's task groups; the
		// negated operators are exact negations, true on an empty instance.
		{"task:group == service:production", true, false},
		{"task:group == family:batch", true, false},
		{"task:group == database", false, false},
		{"task:group != database", true, true},
		{"task:group != family:batch", false, true},
		{"task:group in [database, family:batch]", true, false},
		{"task:group !in [database, family:batch]", false, true},
		{"task:group !in [database]", true, true},
		{"task:group =~ service:.*", true, false},
		{"task:group =~ service", false, false},
		{"task:group !~ service:.*", false, true},
		{"task:group exists", true, false},
		{"task:group !exists", false, true},

		// Compounds and precedence.
		{"not(task:group == database)", true, true},
		{"not task:group == service:production", false, true},
		{"attribute:stack == prod and runningTasksCount == 2", true, false},
		{"attribute:stack == dev or runningTasksCount == 2", true, false},
		{"attribute:stack == dev or runningTasksCount == 0", false, true},
		{"runningTasksCount == 0 or attribute:stack == prod and agentConnected == false", false, true},
		{"(runningTasksCount == 0 or attribute:stack == prod) and agentConnected == false", false, true},
		{"(runningTasksCount == 0 or attribute:stack == prod) and agentConnected == true", true, false},
		{"!attribute:stack exists || !agentConnected == true", false, true},
		{"not not attribute:stack exists", true, false},
	}
	for _, tt := range tests {
		e := mustParse(t, tt.expr)
		if got := e.Eval(web); got != tt.web {
			t.Errorf("Parse(%q).Eval(web) = %v; want %v", tt.expr, got, tt.web)
		}
		if got := e.Eval(bare); got != tt.empty {
			t.Errorf("Parse(%q).Eval(bare) = %v; want %v", tt.expr, got, tt.empty)
		}
	}
}

// TestDocumentedExamples runs the ECS guide's examples (cluster query
// language, constraint and ListContainerInstances filter pages) over a small
// fleet, each with the instances its description says it selects.
func TestDocumentedExamples(t *testing.T) {
	fleet := map[string]Instance{
		"small-1a": {Attributes: map[string]string{"ecs.instance-type": "t2.small", "ecs.availability-zone": "us-east-1a", "stack": "prod"},
			AgentVersion: "1.14.4", EC2InstanceID: "i-abcd1234", RegisteredAt: date("2018-02-12T23:59:59Z"), RunningTasksCount: 1,
			TaskGroups: []string{"service:production"}},
		"medium-1b": {Attributes: map[string]string{"ecs.instance-type": "t2.medium", "ecs.availability-zone": "us-east-1b", "stack": "dev"},
			AgentVersion: "1.14.5", EC2InstanceID: "i-wxyx7890", RegisteredAt: date("2018-02-13T00:00:00Z"), RunningTasksCount: 2,
			TaskGroups: []string{"database", "service:production"}},
		"g2-1d": {Attributes: map[string]string{"ecs.instance-type": "g2.2xlarge", "ecs.availability-zone": "us-east-1d"},
			AgentVersion: "1.20.0", EC2InstanceID: "i-11112222", RegisteredAt: date("2019-01-01T00:00:00Z"), RunningTasksCount: 1,
			TaskGroups: []string{"databases"}},
		"g2-1c": {Attributes: map[string]string{"ecs.instance-type": "g2.8xlarge", "ecs.availability-zone": "us-east-1c", "stack": "prod"},
			AgentVersion: "1.9.0", EC2InstanceID: "i-33334444", RegisteredAt: date("2017-06-01T00:00:00Z")},
	}
	tests := []struct {
		expr string
		want string // the instances selected, sorted, space-separated
	}{
		{"attribute:ecs.instance-type == t2.small", "small-1a"},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", "medium-1b small-1a"},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", "g2-1c"},
		{"task:group == service:production", "medium-1b small-1a"},
		{"not(task:group == database)", "g2-1c g2-1d small-1a"},
		{"runningTasksCount == 1", "g2-1d small-1a"},
		{"agentVersion < 1.14.5", "g2-1c small-1a"},
		{"registeredAt < 2018-02-13", "g2-1c small-1a"},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", "medium-1b small-1a"},
		{"attribute:ecs.instance-type == g2.2xlarge", "g2-1d"},
		{"attribute:stack == prod", "g2-1c small-1a"},
		{"attribute:stack != prod", "medium-1b"}, // has stack, and it is not prod
		{"attribute:ecs.instance-type in [t2.small, t2.medium]", "medium-1b small-1a"},
		{"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a", "small-1a"},
		{"attribute:ecs.instance-type =~ t2.*", "medium-1b small-1a"},
		{"task:group == databases", "g2-1d"},
		{"(attribute:ecs.instance-type =~ g2.* or attribute:stack == prod) and runningTasksCount > 0", "g2-1d small-1a"},
	}
	for _, tt := range tests {
		e := mustParse(t, tt.expr)
		var got []string
		for name, inst := range fleet {
			if e.Eval(inst) {
				got = append(got, name)
			}
		}
		if g := strings.Join(sorted(got), " "); g != tt.want {
			t.Errorf("%q selects [%s]; want [%s]", tt.expr, g, tt.want)
		}
	}
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestEvalAgentVersionForms(t *testing.T) {
	// What an instance reports is read leniently; what it cannot be read as
	// a version fails every comparison.
	tests := []struct {
		have string
		want map[string]bool
	}{
		{"v1.14.5", map[string]bool{"== 1.14.5": true, "> 1.14.4": true}},
		{"1.14.5-rc1", map[string]bool{"== 1.14.5": true, "< 1.15": true}},
		{"1.14.5+abc", map[string]bool{"== 1.14.5": true}},
		{"1.14.", map[string]bool{"== 1.14": true}},
		{"1.2.3.4", map[string]bool{"> 1.2.3": true, "== 1.2.3.4": true, "< 1.2.3.5": true}},
		{"", map[string]bool{"== 0": false, "!= 1": false, "< 1": false}},
		{"latest", map[string]bool{"!= 1": false, "> 0": false}},
		{"1" + strings.Repeat("0", 30), map[string]bool{"> 1": false, "!= 1": false}},
		{"123456789012345678", map[string]bool{"> 1": true}},
	}
	for _, tt := range tests {
		for cond, want := range tt.want {
			e := mustParse(t, "agentVersion "+cond)
			if got := e.Eval(Instance{AgentVersion: tt.have}); got != want {
				t.Errorf("agentVersion %s with version %q = %v; want %v", cond, tt.have, got, want)
			}
		}
	}
}

func TestEvalLongList(t *testing.T) {
	// Lists from setThreshold items on are hashed; both paths must agree.
	for _, n := range []int{setThreshold - 1, setThreshold, 200} {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf("i-%04d", i)
		}
		in := mustParse(t, "ec2InstanceId in ["+strings.Join(items, ", ")+"]")
		notIn := mustParse(t, "task:group !in ["+strings.Join(items, ", ")+"]")
		for _, id := range []string{items[0], items[n-1], "i-9999"} {
			inst := Instance{EC2InstanceID: id, TaskGroups: []string{id}}
			member := id != "i-9999"
			if got := in.Eval(inst); got != member {
				t.Errorf("%d items: ec2InstanceId in [...] for %s = %v; want %v", n, id, got, member)
			}
			if got := notIn.Eval(inst); got != !member {
				t.Errorf("%d items: task:group !in [...] for %s = %v; want %v", n, id, got, !member)
			}
		}
	}
}

func TestZeroExpr(t *testing.T) {
	var e Expr
	if !e.Eval(web) || !e.Eval(bare) {
		t.Error("the zero Expr rejects an instance; want it to match every one")
	}
	if e.String() != "" || e.UsesTaskGroups() {
		t.Errorf("zero Expr: String() = %q, UsesTaskGroups() = %v; want \"\", false", e.String(), e.UsesTaskGroups())
	}
}

func TestUsesTaskGroups(t *testing.T) {
	for expr, want := range map[string]bool{
		"attribute:a exists":                         false,
		"not(task:group == db)":                      true,
		"attribute:a exists or task:group exists":    true,
		"runningTasksCount > 1 and agentVersion > 1": false,
	} {
		e := mustParse(t, expr)
		if got := e.UsesTaskGroups(); got != want {
			t.Errorf("Parse(%q).UsesTaskGroups() = %v; want %v", expr, got, want)
		}
	}
}

func TestEvalDoesNotAllocate(t *testing.T) {
	e := mustParse(t, benchExpr)
	inst := benchInstance()
	if n := testing.AllocsPerRun(100, func() { e.Eval(inst) }); n != 0 {
		t.Errorf("Eval allocates %v times per call; want 0", n)
	}
}

func TestPrefixFastPath(t *testing.T) {
	// Patterns of the form literal.* skip the regexp; they must agree with it.
	patterns := map[string]bool{ // pattern: whether the fast path takes it
		"t2.*": true, "g2\\..*": true, "service:.*?": true, "é.*": true,
		"t2.+": false, "(?i)t2.*": false, "t2.*x": false, "(?s)t2.*": false,
		".*": false, "t2": false, "t[23].*": false, "\uFFFD.*": false,
	}
	values := []string{"", "t2", "t2.micro", "T2.micro", "xt2.micro", "t2\nx", "t2.micro\n",
		"g2.2xlarge", "g2x", "service:", "service:web", "é", "é\xff", "\xff", "t3.small"}
	for pat, fast := range patterns {
		e := mustParse(t, "attribute:a =~ '"+pat+"'")
		tt := e.root.test
		if tt.isPrefix != fast {
			t.Errorf("pattern %q: fast path = %v; want %v", pat, tt.isPrefix, fast)
		}
		for _, v := range values {
			if got, want := tt.matches(v), tt.re.MatchString(v); got != want {
				t.Errorf("pattern %q on %q: matches = %v; the regexp says %v", pat, v, got, want)
			}
		}
	}
}
