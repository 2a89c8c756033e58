package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWalkMatchesScan: the binpack walk is an optimisation, so on any
// cluster and any request without random it must choose exactly what
// scanning every instance chooses. Small value ranges make ties common, and
// ties are where a walk goes wrong.
func TestWalkMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zones := []string{"z1", "z2", "z3", ""}
	groups := []string{"service:web", "service:db"}
	tieBreakers := []Strategy{
		{Spread, "attribute:ecs.availability-zone"},
		{Spread, FieldInstanceID},
		{Binpack, FieldCPU},
		{Binpack, FieldMemory},
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
		first := Strategy{Binpack, []string{FieldCPU, FieldMemory}[rng.IntN(2)]}
		strategies := []Strategy{first}
		for range rng.IntN(3) {
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

		walked, err := Place(snap, r)
		if err != nil {
			t.Fatal(err)
		}
		st, err := newStack(snap, r)
		if err != nil {
			t.Fatal(err)
		}
		st.ordered = nil // force the scan
		scanned := st.plan()

		if a, b := ids(walked), ids(scanned); a != b {
			t.Fatalf("iteration %d: %v on %d instances: walk placed %q, scan %q", iter, strategies, len(insts), a, b)
		}
		if a, b := reasons(walked.Rejections), reasons(scanned.Rejections); a != b {
			t.Fatalf("iteration %d: walk rejections\n%s\nscan rejections\n%s", iter, a, b)
		}
	}
}
