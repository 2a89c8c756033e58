package scheduler

import (
	"math/rand/v2"
	"strings"
)

// checkerBuilders lists the feasibility checks in the order they run, which
// is also the order that decides which failure an instance's rejection names.
// Each builder returns the checkers the request needs of its kind, none when
// the request asks nothing of it, so the inner loop runs only checks that can
// fail. A new constraint is a new checker type and one line here.
var checkerBuilders = []func(r *Request) []checker{
	func(*Request) []checker { return []checker{statusCheck{}} },
	func(*Request) []checker { return []checker{agentCheck{}} },
	func(r *Request) []checker {
		if r.LaunchType == "" {
			return nil
		}
		return []checker{newLaunchTypeCheck(r.LaunchType)}
	},
	func(r *Request) []checker {
		var out []checker
		for _, a := range r.RequiresAttributes {
			out = append(out, newAttributeCheck(a))
		}
		return out
	},
	func(r *Request) []checker {
		if !r.DistinctInstance {
			return nil
		}
		return []checker{newDistinctCheck(r.Group)}
	},
	func(r *Request) []checker {
		var out []checker
		for _, m := range r.MemberOf {
			out = append(out, newMemberOfCheck(m))
		}
		return out
	},
	func(r *Request) []checker { return []checker{cpuCheck{r.Task.CPU}, memoryCheck{r.Task.Memory}} },
	func(r *Request) []checker {
		if len(r.Task.PortsTCP) == 0 && len(r.Task.PortsUDP) == 0 {
			return nil
		}
		return []checker{portsCheck{r.Task.PortsTCP, r.Task.PortsUDP}}
	},
	func(r *Request) []checker {
		if r.Task.GPUs == 0 {
			return nil
		}
		return []checker{gpuCheck{r.Task.GPUs}}
	},
}

// strategyKind is what the engine knows of one strategy type: which fields
// it accepts and how to build its ranker. A new strategy is a new ranker type
// and one entry here.
type strategyKind struct {
	fields     string            // the accepted fields, in words, for errors
	validField func(string) bool // nil when the field is not used
	build      func(s *Snapshot, r *Request, field string, rng func() *rand.Rand) ranker
}

var strategyKinds = map[StrategyType]strategyKind{
	Binpack: {
		fields:     "cpu or memory",
		validField: func(f string) bool { return f == FieldCPU || f == FieldMemory },
		build: func(s *Snapshot, r *Request, field string, _ func() *rand.Rand) ranker {
			return newBinpack(s, r, field)
		},
	},
	Spread: {
		fields: "instanceId, host or attribute:NAME",
		validField: func(f string) bool {
			name, attr := strings.CutPrefix(f, FieldAttributePrefix)
			return f == FieldInstanceID || f == FieldHost || (attr && name != "")
		},
		build: func(s *Snapshot, r *Request, field string, _ func() *rand.Rand) ranker {
			if name, ok := strings.CutPrefix(field, FieldAttributePrefix); ok {
				return newSpreadAttribute(s, r.Group, name)
			}
			return spreadInstance{r.Group}
		},
	},
	Random: {
		build: func(_ *Snapshot, _ *Request, _ string, rng func() *rand.Rand) ranker {
			return random{rng()}
		},
	},
}

// stack is the chain built for one request: its checkers, its rankers, and
// the working copy they see.
type stack struct {
	snap      *Snapshot
	req       *Request
	work      *work
	checkers  []checker
	rankers   []ranker
	observers []observer
	// ordered is the first ranker when the snapshot keeps its order, which
	// lets choose walk from the best key instead of scanning; walkFrom is
	// where the next walk starts in that order, -1 before the first.
	ordered  orderedRanker
	walkFrom int
	// candidates are the instances the first scan found feasible, in
	// snapshot order; nil before it.
	candidates []int32
	// uniform is set when random is the only strategy: a task goes to a
	// candidate drawn uniformly (see pick), not to the least of a key drawn
	// for every candidate, which is the same distribution at a draw a task
	// instead of one per instance.
	uniform *rand.Rand
}

func newStack(s *Snapshot, r *Request) (*stack, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	st := &stack{snap: s, req: r, work: newWork(s, r.Count), walkFrom: -1}
	for _, build := range checkerBuilders {
		st.checkers = append(st.checkers, build(r)...)
	}
	var rng *rand.Rand
	seeded := func() *rand.Rand {
		if rng == nil {
			// The second word only has to differ from the first; any
			// fixed odd constant does.
			rng = rand.New(rand.NewPCG(r.Seed, r.Seed^0x9e3779b97f4a7c15))
		}
		return rng
	}
	for _, strat := range r.Strategies {
		rk := strategyKinds[strat.Type].build(s, r, strat.Field, seeded)
		st.rankers = append(st.rankers, rk)
		if o, ok := rk.(observer); ok {
			st.observers = append(st.observers, o)
		}
	}
	if len(st.rankers) > 0 {
		st.ordered, _ = st.rankers[0].(orderedRanker)
	}
	if len(r.Strategies) == 1 && r.Strategies[0].Type == Random {
		st.uniform = rng
	}
	return st, nil
}
