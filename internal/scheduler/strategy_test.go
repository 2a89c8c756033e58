package scheduler

import (
	"fmt"
	"strings"
	"testing"
)

// Strategy combinations: each later strategy only breaks the ties of the
// earlier ones.
func TestStrategyCombinations(t *testing.T) {
	az := Strategy{Spread, "attribute:ecs.availability-zone"}
	perInstance := Strategy{Spread, FieldInstanceID}
	binpackMem := Strategy{Binpack, FieldMemory}
	const web = "service:web"
	tests := []struct {
		name       string
		insts      []Instance
		count      int
		memory     int64
		strategies []Strategy
		want       string
	}{
		{
			name: "binpack memory, then spread instanceId breaks its ties",
			insts: []Instance{
				node("a", 1000, 1000, running(web, 2)),
				node("b", 1000, 1000),
				node("c", 1000, 1000, running(web, 1)),
				node("d", 1000, 2000),
			},
			count: 1, memory: 100,
			strategies: []Strategy{binpackMem, perInstance},
			// a, b, c tie on memory; b runs the fewest web tasks.
			want: "b",
		},
		{
			name: "binpack first keeps filling the instance it started",
			insts: []Instance{
				node("a", 1000, 1000, running(web, 2)),
				node("b", 1000, 1000),
			},
			count: 3, memory: 100,
			strategies: []Strategy{binpackMem, perInstance},
			// After b takes one it has the least memory left, and binpack
			// decides before spread is asked.
			want: "b b b",
		},
		{
			name: "spread instanceId, then binpack memory breaks its ties",
			insts: []Instance{
				node("a", 1000, 2000),
				node("b", 1000, 1000),
				node("c", 1000, 500, running(web, 1)),
			},
			count: 3, memory: 100,
			strategies: []Strategy{perInstance, binpackMem},
			// a and b have no web task; b has less memory. Then a is the
			// only one without; then all have one and c has least memory.
			want: "b a c",
		},
		{
			name: "spread zone, then instanceId",
			insts: []Instance{
				node("a", 1000, 1000, zone("z1")),
				node("b", 1000, 1000, zone("z1")),
				node("c", 1000, 1000, zone("z2")),
			},
			count: 4, memory: 100,
			strategies: []Strategy{az, perInstance},
			// zones (0,0): a; (1,0): c; (1,1): b, the emptier z1 instance;
			// (2,1): c.
			want: "a c b c",
		},
		{
			name: "spread zone counts the tasks already running",
			insts: []Instance{
				node("a", 1000, 1000, zone("z1"), running(web, 3)),
				node("b", 1000, 1000, zone("z1")),
				node("c", 1000, 1000, zone("z2"), running(web, 1)),
				node("d", 1000, 1000, zone("z3")),
			},
			count: 4, memory: 100,
			strategies: []Strategy{az, perInstance},
			// z1 3, z2 1, z3 0 → d; z2 1, z3 1 → c (ARN order); z2 2, z3 1 → d;
			// z2 2, z3 2 → c.
			want: "d c d c",
		},
		{
			name: "spread zone counts the tasks on instances that cannot take more",
			insts: []Instance{
				node("a", 1000, 50, zone("z1"), running(web, 2)),
				node("b", 1000, 1000, zone("z1")),
				node("c", 1000, 1000, zone("z2")),
			},
			count: 2, memory: 100,
			strategies: []Strategy{az},
			// a is full but its two tasks still weigh on z1.
			want: "c c",
		},
		{
			name: "instances without the attribute are a bucket of their own",
			insts: []Instance{
				node("a", 1000, 1000, zone("z1")),
				node("b", 1000, 1000),
				node("c", 1000, 1000),
			},
			count: 4, memory: 100,
			strategies: []Strategy{az, perInstance},
			// z1 0, none 0 → a; z1 1, none 0 → b; 1 and 1: c has no task
			// yet; z1 1, none 2 → a.
			want: "a b c a",
		},
		{
			name: "spread balances only the request's group",
			insts: []Instance{
				node("a", 1000, 1000, running("service:db", 5)),
				node("b", 1000, 1000, running(web, 1)),
			},
			count: 2, memory: 100,
			strategies: []Strategy{perInstance},
			want:       "a a",
		},
		{
			name: "spread on host is spread on instanceId",
			insts: []Instance{
				node("a", 1000, 1000, running(web, 1)),
				node("b", 1000, 1000),
			},
			count: 2, memory: 100,
			strategies: []Strategy{{Spread, FieldHost}},
			want:       "b a",
		},
		{
			name: "binpack cpu, then binpack memory",
			insts: []Instance{
				node("a", 500, 900),
				node("b", 500, 300),
				node("c", 800, 100),
			},
			count: 1, memory: 100,
			strategies: []Strategy{{Binpack, FieldCPU}, binpackMem},
			want:       "b",
		},
		{
			name: "the service default: zones, then instances",
			insts: []Instance{
				node("a", 1000, 1000, zone("z1")),
				node("b", 1000, 1000, zone("z2")),
				node("c", 1000, 1000, zone("z1")),
				node("d", 1000, 1000, zone("z2")),
			},
			count: 4, memory: 100,
			strategies: ServiceDefaultStrategies(),
			want:       "a b c d",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Request{Count: tt.count, Task: Needs{Memory: tt.memory}, Group: web, Strategies: tt.strategies}
			if got := ids(mustPlace(t, tt.insts, r)); got != tt.want {
				t.Errorf("Place(%v) = %q; want %q", tt.strategies, got, tt.want)
			}
		})
	}
}

// TestRandomIsUniformAmongTies: random as the only strategy spreads tasks
// over every feasible instance, and as a tie-breaker stays within the tie.
func TestRandomIsUniformAmongTies(t *testing.T) {
	var insts []Instance
	for i := range 4 {
		insts = append(insts, node(fmt.Sprint(i), 1<<20, 1<<20))
	}
	insts = append(insts, node("full", 0, 0))
	p := mustPlace(t, insts, Request{Count: 4000, Task: Needs{CPU: 1, Memory: 1}, Strategies: RunTaskDefaultStrategies(), Seed: 9})
	counts := map[string]int{}
	for _, task := range p.Tasks {
		counts[task.ID]++
	}
	for i := range 4 {
		if n := counts[fmt.Sprint(i)]; n < 850 || n > 1150 {
			t.Errorf("random placed %d of 4000 tasks on instance %d; want about 1000 (counts %v)", n, i, counts)
		}
	}
	if counts["full"] != 0 {
		t.Errorf("random placed %d tasks on an instance with no room", counts["full"])
	}

	// Instances fill up during the plan: each takes exactly what fits, and
	// the task beyond the room of all of them is unplaced.
	insts = nil
	for i := range 4 {
		insts = append(insts, node(fmt.Sprint(i), 100, 100))
	}
	p = mustPlace(t, insts, Request{Count: 41, Task: Needs{CPU: 10, Memory: 10}, Strategies: RunTaskDefaultStrategies(), Seed: 3})
	counts = map[string]int{}
	for _, task := range p.Tasks {
		counts[task.ID]++
	}
	for i := range 4 {
		if n := counts[fmt.Sprint(i)]; n != 10 {
			t.Errorf("random placed %d tasks on instance %d with room for 10 (counts %v)", n, i, counts)
		}
	}
	if counts[""] != 1 || len(p.Rejections) == 0 {
		t.Errorf("the 41st task: %d unplaced, rejections %v; want it unplaced for lack of room", counts[""], p.Rejections)
	}

	// Binpack first: random only chooses among the tightest instances.
	insts = []Instance{node("a", 1000, 200), node("b", 1000, 200), node("c", 1000, 900)}
	seen := map[string]bool{}
	for seed := range uint64(20) {
		p := mustPlace(t, insts, Request{Count: 1, Task: Needs{Memory: 100}, Seed: seed,
			Strategies: []Strategy{{Binpack, FieldMemory}, {Random, ""}}})
		seen[ids(p)] = true
	}
	if !seen["a"] || !seen["b"] || seen["c"] {
		t.Errorf("binpack then random over 20 seeds chose %v; want a and b, never c", keysOf(seen))
	}
}

func keysOf(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ",")
}
