package scheduler

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestPlace(t *testing.T) {
	binpackMem := []Strategy{{Binpack, FieldMemory}}
	tests := []struct {
		name  string
		insts []Instance
		req   Request
		want  string // instance ID per task, "-" when unplaced
	}{
		{
			name:  "binpack memory takes the least remaining that fits",
			insts: []Instance{node("a", 4096, 4096), node("b", 4096, 1024), node("c", 4096, 2048), node("d", 4096, 512)},
			req:   Request{Count: 1, Task: Needs{CPU: 10, Memory: 1000}, Strategies: binpackMem},
			want:  "b",
		},
		{
			name:  "binpack memory: later tasks see what earlier ones took",
			insts: []Instance{node("a", 4096, 4096), node("b", 4096, 1024), node("c", 4096, 2048), node("d", 4096, 512)},
			req:   Request{Count: 4, Task: Needs{Memory: 1000}, Strategies: binpackMem},
			// b 1024→24; c 2048→1048→48; then a.
			want: "b c c a",
		},
		{
			name:  "binpack cpu",
			insts: []Instance{node("a", 1024, 100), node("b", 2048, 100), node("c", 512, 100)},
			req:   Request{Count: 3, Task: Needs{CPU: 512}, Strategies: []Strategy{{Binpack, FieldCPU}}},
			want:  "c a a",
		},
		{
			name:  "binpack ties go to ARN order",
			insts: []Instance{node("c", 100, 100), node("a", 100, 100), node("b", 100, 100)},
			req:   Request{Count: 3, Task: Needs{Memory: 60}, Strategies: binpackMem},
			want:  "a b c",
		},
		{
			name:  "count larger than capacity: CPU runs out",
			insts: []Instance{node("a", 1024, 8192)},
			req:   Request{Count: 3, Task: Needs{CPU: 512, Memory: 128}},
			want:  "a a -",
		},
		{
			name:  "no strategy: first feasible in ARN order",
			insts: []Instance{node("b", 100, 100), node("a", 10, 100), node("c", 100, 100)},
			req:   Request{Count: 2, Task: Needs{CPU: 50}},
			want:  "b b",
		},
		{
			name: "distinctInstance counts running tasks and the plan's own",
			insts: []Instance{
				node("a", 1000, 1000, running("service:web", 1)),
				node("b", 1000, 1000, running("service:db", 1)),
				node("c", 1000, 1000),
			},
			req:  Request{Count: 3, Task: Needs{CPU: 1}, Group: "service:web", DistinctInstance: true, Strategies: binpackMem},
			want: "b c -",
		},
		{
			name:  "static ports conflict within the plan",
			insts: []Instance{node("a", 1000, 1000, tcp(22)), node("b", 1000, 1000, tcp(80)), node("c", 1000, 1000)},
			req:   Request{Count: 3, Task: Needs{PortsTCP: []int32{80}}},
			want:  "a c -",
		},
		{
			name:  "udp and tcp ports are separate",
			insts: []Instance{node("a", 1000, 1000, tcp(53))},
			req:   Request{Count: 2, Task: Needs{PortsUDP: []int32{53}}},
			want:  "a -",
		},
		{
			name:  "dynamic ports do not limit placement",
			insts: []Instance{node("a", 1000, 1000)},
			req:   Request{Count: 3, Task: Needs{DynamicPorts: true}},
			want:  "a a a",
		},
		{
			name:  "GPUs run out",
			insts: []Instance{node("a", 1000, 1000, gpus("g0", "g1", "g2")), node("b", 1000, 1000)},
			req:   Request{Count: 3, Task: Needs{GPUs: 2}},
			want:  "a - -",
		},
		{
			name: "required attributes and launch type filter",
			insts: []Instance{
				node("a", 1000, 1000, attr("ecs.os-type", "windows")),
				node("b", 1000, 1000, attr("ecs.os-type", "linux"), attr(AttrExternal, "")),
				node("c", 1000, 1000, attr("ecs.os-type", "linux")),
			},
			req: Request{Count: 1, LaunchType: LaunchTypeEC2, RequiresAttributes: []Attribute{{"ecs.os-type", "linux"}}},
			// a has the wrong os-type; b is external.
			want: "c",
		},
		{
			name:  "EXTERNAL tasks go to external instances only",
			insts: []Instance{node("a", 1000, 1000), node("b", 1000, 1000, attr(AttrExternal, "true"))},
			req:   Request{Count: 2, LaunchType: LaunchTypeExternal},
			want:  "b b",
		},
		{
			name:  "no launch type accepts both kinds",
			insts: []Instance{node("a", 1000, 1000, attr(AttrExternal, "")), node("b", 1000, 1000)},
			req:   Request{Count: 1},
			want:  "a",
		},
		{
			name:  "memberOf filters",
			insts: []Instance{node("a", 1000, 1000, attr("type", "t2")), node("b", 1000, 1000, attr("type", "m5"))},
			req:   Request{Count: 2, MemberOf: []MemberOf{attrIs("type", "m5")}},
			want:  "b b",
		},
		{
			name:  "memberOf sees the plan's own placements",
			insts: []Instance{node("a", 1000, 1000), node("b", 1000, 1000), node("c", 1000, 1000, running("family:x", 1))},
			req: Request{Count: 3, Group: "family:y", MemberOf: []MemberOf{{
				Expression: "runningTasksCount == 0",
				Matcher:    MatcherFunc(func(in *Instance) bool { return in.RunningTasks == 0 }),
			}}},
			want: "a b -",
		},
		{
			name: "not ACTIVE and disconnected instances are skipped",
			insts: []Instance{
				node("a", 1000, 1000, status("DRAINING")),
				node("b", 1000, 1000, disconnected),
				node("c", 1000, 1000),
			},
			req:  Request{Count: 1},
			want: "c",
		},
		{
			name:  "count zero",
			insts: []Instance{node("a", 1000, 1000)},
			req:   Request{Count: 0},
			want:  "",
		},
		{
			name: "no instances",
			req:  Request{Count: 2},
			want: "- -",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPlace(t, tt.insts, tt.req)
			if got := ids(p); got != tt.want {
				t.Errorf("Place(%s) = %q; want %q", tt.name, got, tt.want)
			}
			placed := strings.Count(tt.want, " ") + 1 - strings.Count(tt.want, "-")
			if tt.want == "" {
				placed = 0
			}
			if got := p.Placed(); got != placed {
				t.Errorf("Placed() = %d; want %d", got, placed)
			}
			if (p.Rejections == nil) != (placed == tt.req.Count || len(tt.insts) == 0) {
				t.Errorf("Rejections = %v with %d of %d placed", p.Rejections, placed, tt.req.Count)
			}
		})
	}
}

// TestFailureReasons checks what RunTask will report as failures: one entry
// per instance, the first check it failed, with the figures, seen after the
// plan's own placements.
func TestFailureReasons(t *testing.T) {
	insts := []Instance{
		node("a", 2048, 4096, tcp(22, 80)),
		node("b", 256, 4096),
		node("c", 2048, 512),
		node("d", 2048, 4096, disconnected),
		node("e", 2048, 4096, status("DRAINING")),
		node("f", 2048, 4096, attr("ecs.os-type", "windows")),
		node("g", 2048, 4096, attr("ecs.os-type", "linux")),
	}
	notWindows := MemberOf{"attribute:ecs.os-type != windows", MatcherFunc(func(in *Instance) bool {
		return in.Attributes["ecs.os-type"] != "windows"
	})}
	req := Request{
		Count:      3,
		Task:       Needs{CPU: 1024, Memory: 1024, PortsTCP: []int32{80}},
		Group:      "family:web",
		Strategies: []Strategy{{Binpack, FieldCPU}},
		MemberOf:   []MemberOf{notWindows},
	}
	p := mustPlace(t, insts, req)
	if got, want := ids(p), "g - -"; got != want {
		t.Fatalf("Place = %q; want %q", got, want)
	}
	// g took the first task; its CPU and memory still fit a second, but the
	// first task holds port 80 there now.
	want := strings.Join([]string{
		"a:ports:RESOURCE:PORTS:host port 80/tcp is in use",
		"b:cpu:RESOURCE:CPU:needs 1024 CPU units, has 256",
		"c:memory:RESOURCE:MEMORY:needs 1024 MiB of memory, has 512",
		"d:agent:AGENT:agent is disconnected",
		"e:status::status is DRAINING, not ACTIVE",
		"f:memberOf:ATTRIBUTE:does not satisfy memberOf(attribute:ecs.os-type != windows)",
		"g:ports:RESOURCE:PORTS:host port 80/tcp is in use",
	}, "\n")
	if got := reasons(p.Rejections); got != want {
		t.Errorf("Rejections =\n%s\nwant\n%s", got, want)
	}
	for i, task := range p.Tasks {
		if task.Rejections != nil {
			t.Errorf("task %d has rejections without Explain: %v", i, task.Rejections)
		}
	}
}

func TestGPUIDs(t *testing.T) {
	p := mustPlace(t, []Instance{node("a", 1000, 1000, gpus("g0", "g1", "g2"))}, Request{Count: 2, Task: Needs{GPUs: 1}})
	var got [][]string
	for _, task := range p.Tasks {
		got = append(got, task.GPUs)
	}
	if len(got) != 2 || !slices.Equal(got[0], []string{"g0"}) || !slices.Equal(got[1], []string{"g1"}) {
		t.Errorf("GPUs per task = %v; want [[g0] [g1]]", got)
	}
}

// TestSnapshotUnchanged: placing never writes the snapshot, so it can serve
// the next request (and other goroutines) as it was.
func TestSnapshotUnchanged(t *testing.T) {
	snap := NewSnapshot([]Instance{node("a", 1000, 1000, tcp(22), gpus("g0", "g1"), running("g", 1))})
	r := &Request{Count: 2, Task: Needs{CPU: 100, Memory: 100, PortsUDP: []int32{53}, PortsTCP: []int32{80, 81}, GPUs: 1}, Group: "g"}
	r2 := *r
	r2.Task.PortsTCP, r2.Task.PortsUDP = []int32{90}, nil
	for _, req := range []*Request{r, &r2} {
		p, err := Place(snap, req)
		if err != nil || p.Placed() != 1 {
			t.Fatalf("Place = %v, %v; want one placed", p, err)
		}
	}
	in := snap.Instance(0)
	if in.CPU != 1000 || in.Memory != 1000 || !slices.Equal(in.PortsTCP, []int32{22}) || in.PortsUDP != nil ||
		!slices.Equal(in.GPUs, []string{"g0", "g1"}) || in.Groups["g"] != 1 || in.RunningTasks != 1 {
		t.Errorf("snapshot instance after Place = %+v; want it as built", *in)
	}
}

// TestConcurrentPlace: one snapshot serves many plans at once (run with
// -race to see that none writes it).
func TestConcurrentPlace(t *testing.T) {
	snap := NewSnapshot(benchCluster(500))
	// Two plans, one that scans and one that walks.
	plans := func() string {
		var out string
		for _, strategies := range [][]Strategy{ServiceDefaultStrategies(), {{Binpack, FieldMemory}}} {
			r := &Request{Count: 20, Task: Needs{CPU: 128, Memory: 256, PortsTCP: []int32{8080}},
				Group: "service:web", DistinctInstance: true, Strategies: strategies, Seed: 1}
			p, err := Place(snap, r)
			if err != nil {
				t.Error(err)
			}
			out += ids(p) + "|"
		}
		return out
	}
	want := plans()
	var wg sync.WaitGroup
	got := make([]string, 8)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[g] = plans()
		}()
	}
	wg.Wait()
	for g, out := range got {
		if out != want {
			t.Errorf("goroutine %d planned %q; want %q", g, out, want)
		}
	}
}

func TestExplain(t *testing.T) {
	insts := []Instance{node("a", 1000, 1000), node("b", 300, 1000), node("c", 1000, 1000, disconnected)}
	p := mustPlace(t, insts, Request{Count: 3, Task: Needs{CPU: 400}, Explain: true, Strategies: []Strategy{{Binpack, FieldCPU}}})
	if got, want := ids(p), "a a -"; got != want {
		t.Fatalf("Place = %q; want %q", got, want)
	}
	want := []string{
		"b:cpu:RESOURCE:CPU:needs 400 CPU units, has 300\nc:agent:AGENT:agent is disconnected",
		"b:cpu:RESOURCE:CPU:needs 400 CPU units, has 300\nc:agent:AGENT:agent is disconnected",
		"a:cpu:RESOURCE:CPU:needs 400 CPU units, has 200\nb:cpu:RESOURCE:CPU:needs 400 CPU units, has 300\nc:agent:AGENT:agent is disconnected",
	}
	for i, task := range p.Tasks {
		if got := reasons(task.Rejections); got != want[i] {
			t.Errorf("task %d rejections =\n%s\nwant\n%s", i, got, want[i])
		}
	}
	if got := reasons(p.Rejections); got != want[2] {
		t.Errorf("plan rejections =\n%s\nwant\n%s", got, want[2])
	}
}

func TestDeterminism(t *testing.T) {
	var insts []Instance
	for i := range 50 {
		insts = append(insts, node(string(rune('A'+i/26))+string(rune('a'+i%26)), 4096, 8192,
			zone([]string{"z1", "z2", "z3"}[i%3])))
	}
	run := func(seed uint64, strategies []Strategy, order []Instance) string {
		r := Request{Count: 20, Task: Needs{CPU: 100, Memory: 100}, Group: "family:x", Seed: seed, Strategies: strategies}
		return ids(mustPlace(t, order, r))
	}
	shuffled := slices.Clone(insts)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	for _, strategies := range [][]Strategy{
		RunTaskDefaultStrategies(),
		ServiceDefaultStrategies(),
		{{Spread, "attribute:ecs.availability-zone"}, {Random, ""}},
		{{Binpack, FieldMemory}, {Random, ""}},
	} {
		a, b := run(42, strategies, insts), run(42, strategies, insts)
		if a != b {
			t.Errorf("%v with seed 42 gave %q, then %q; want equal", strategies, a, b)
		}
		if c := run(42, strategies, shuffled); c != a {
			t.Errorf("%v with the instances in another order gave %q; want %q", strategies, c, a)
		}
	}
	if a, b := run(1, RunTaskDefaultStrategies(), insts), run(2, RunTaskDefaultStrategies(), insts); a == b {
		t.Errorf("random with seeds 1 and 2 both gave %q; want different plans", a)
	}
}

func TestInvalidRequests(t *testing.T) {
	ok := func(r *Request) {}
	tests := []struct {
		name   string
		adjust func(r *Request)
		want   string // substring of the error, "" for none
	}{
		{"valid", ok, ""},
		{"negative count", func(r *Request) { r.Count = -1 }, "cannot be negative"},
		{"negative memory", func(r *Request) { r.Task.Memory = -1 }, "needs cannot be negative"},
		{"port out of range", func(r *Request) { r.Task.PortsUDP = []int32{70000} }, "out of range"},
		{"MANAGED_INSTANCES", func(r *Request) { r.LaunchType = "MANAGED_INSTANCES" }, "launch type"},
		{"attribute without name", func(r *Request) { r.RequiresAttributes = []Attribute{{Value: "x"}} }, "no name"},
		{"memberOf without matcher", func(r *Request) { r.MemberOf = []MemberOf{{Expression: "x"}} }, "no compiled matcher"},
		{"six strategies", func(r *Request) { r.Strategies = make([]Strategy, 6); fill(r.Strategies) }, "at most 5"},
		{"unknown strategy", func(r *Request) { r.Strategies = []Strategy{{Type: "pack"}} }, `type "pack"`},
		{"binpack on disk", func(r *Request) { r.Strategies = []Strategy{{Binpack, "disk"}} }, "use cpu or memory"},
		{"spread on nothing", func(r *Request) { r.Strategies = []Strategy{{Spread, ""}} }, "instanceId, host or attribute:NAME"},
		{"spread on empty attribute", func(r *Request) { r.Strategies = []Strategy{{Spread, "attribute:"}} }, "attribute:NAME"},
		{"spread on host", func(r *Request) { r.Strategies = []Strategy{{Spread, FieldHost}} }, ""},
		{"random ignores field", func(r *Request) { r.Strategies = []Strategy{{Random, "whatever"}} }, ""},
		{"distinct without group", func(r *Request) { r.Group = ""; r.DistinctInstance = true }, "need the task group"},
		{"spread without group", func(r *Request) { r.Group = ""; r.Strategies = []Strategy{{Spread, FieldInstanceID}} }, "need the task group"},
	}
	snap := NewSnapshot([]Instance{node("a", 100, 100)})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Request{Count: 1, Group: "family:x"}
			tt.adjust(&r)
			_, err := Place(snap, &r)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Place(%s) = %v; want no error", tt.name, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Place(%s) = %v; want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
}

func fill(s []Strategy) {
	for i := range s {
		s[i] = Strategy{Type: Random}
	}
}
