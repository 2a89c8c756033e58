package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWalkMatchesScan: the binpack walk and the memory of earlier scans are
// optimisations, so on any cluster and any request they must choose exactly
// what scanning every instance for every task chooses (the walk only without
// random, whose draws depend on the visiting order). Small value ranges make
// ties common, and ties are where a walk goes wrong.
func TestWalkMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zones := []string{"z1", "z2", "z3", ""}
	groups := []string{"service:web", "service:db"}
	tieBreakers := []Strategy{
		{Spread, "attribute:ecs.availability-zone"},
		{Spread, FieldInstanceID},
		{Binpack, FieldCPU},
		{Binpack, FieldMemory},
		{Random, ""},
	}
	for iter := range 2000 {
		var insts []Instance
		for i := range 1 + rng.IntN(40) {
			opts := []func(*Instance){running(groups[rng.IntN(2)], rng.IntN(3))}
			if z := zones[rng.IntN(len(zones))]; z != "" {
				opts = append(opts, zone(z))
			}
			if rng.IntN(4) == 0 {
				opts = append(opts, tcp(80))
			}
			if rng.IntN(10) == 0 {
				opts = append(opts, disconnected)
			}
			if rng.IntN(3) == 0 {
				opts = append(opts, attr("type", "big"))
			}
			insts = append(insts, node(fmt.Sprintf("i%02d", i), 256*rng.Int64N(5), 512*rng.Int64N(5), opts...))
		}
		var strategies []Strategy
		for range rng.IntN(4) {
			strategies = append(strategies, tieBreakers[rng.IntN(len(tieBreakers))])
		}
		r := &Request{
			Count:            1 + rng.IntN(12),
			Task:             Needs{CPU: 256 * rng.Int64N(3), Memory: 512 * rng.Int64N(3)},
			Group:            groups[rng.IntN(2)],
			DistinctInstance: rng.IntN(3) == 0,
			Strategies:       strategies,
		}
		if rng.IntN(3) == 0 {
			r.Task.PortsTCP = []int32{80}
		}
		if rng.IntN(3) == 0 {
			r.MemberOf = []MemberOf{attrIs("type", "big")}
		}
		snap := NewSnapshot(insts)

		placed, err := Place(snap, r)
		if err != nil {
			t.Fatal(err)
		}
		// The reference: a full scan for every task, remembering nothing.
		st, err := newStack(snap, r)
		if err != nil {
			t.Fatal(err)
		}
		st.ordered = nil
		want := &Plan{}
		for range r.Count {
			st.candidates = nil
			i, ok := st.choose()
			if !ok {
				want.Rejections = st.rejections()
				break
			}
			st.place(i)
			want.Tasks = append(want.Tasks, Placement{ARN: st.work.get(i).ARN, ID: st.work.get(i).ID})
		}
		for len(want.Tasks) < r.Count {
			want.Tasks = append(want.Tasks, Placement{})
		}
		if len(strategies) > 0 && strategies[0].Type == Binpack && hasRandom(strategies) {
			continue // the walk draws random keys in an order of its own
		}
		if len(strategies) == 1 && strategies[0].Type == Random {
			// Random alone draws a candidate per task, not a key per
			// instance: other choices, but as many tasks placed (tasks
			// of one request are alike, so any order fills the same).
			if a, b := placedCount(placed), placedCount(want); a != b {
				t.Fatalf("iteration %d: random placed %d tasks, a full scan per task %d", iter, a, b)
			}
			continue
		}
		compare(t, iter, strategies, placed, want)
	}
}

func placedCount(p *Plan) int {
	n := 0
	for _, task := range p.Tasks {
		if task.ID != "" {
			n++
		}
	}
	return n
}

func hasRandom(ss []Strategy) bool {
	for _, s := range ss {
		if s.Type == Random {
			return true
		}
	}
	return false
}

func compare(t *testing.T, iter int, strategies []Strategy, got, want *Plan) {
	t.Helper()
	if a, b := ids(got), ids(want); a != b {
		t.Fatalf("iteration %d: %v: Place placed %q, a full scan per task %q", iter, strategies, a, b)
	}
	if a, b := reasons(got.Rejections), reasons(want.Rejections); a != b {
		t.Fatalf("iteration %d: Place's rejections\n%s\nfull scan's\n%s", iter, a, b)
	}
}
