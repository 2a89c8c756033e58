package scheduler

import (
	"math/rand/v2"
	"testing"
)

func TestRankerKeys(t *testing.T) {
	snap := NewSnapshot([]Instance{
		node("a", 100, 1000, zone("z1"), running("service:web", 2)),
		node("b", 200, 500, zone("z1"), running("service:web", 1)),
		node("c", 300, 800, zone("z2"), running("service:db", 4)),
		node("d", 400, 100),
		node("e", 500, 100, running("service:web", 3)),
	})
	req := &Request{Group: "service:web", Task: Needs{CPU: 150, Memory: 300}}
	tests := []struct {
		name string
		r    ranker
		want []int64 // key of a, b, c, d, e
	}{
		{"binpack cpu: remaining CPU", newBinpack(snap, req, FieldCPU), []int64{100, 200, 300, 400, 500}},
		{"binpack memory: remaining memory", newBinpack(snap, req, FieldMemory), []int64{1000, 500, 800, 100, 100}},
		{"spread instanceId: the group's tasks on the instance", spreadInstance{"service:web"}, []int64{2, 1, 0, 0, 3}},
		// z1 holds 3 web tasks, z2 none, and the instances without a zone
		// (d, e) form their own bucket with e's 3.
		{"spread zone: the group's tasks in the zone", newSpreadAttribute(snap, "service:web", "ecs.availability-zone"), []int64{3, 3, 0, 3, 3}},
		{"spread zone of another group", newSpreadAttribute(snap, "service:db", "ecs.availability-zone"), []int64{0, 0, 4, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				in := snap.Instance(i)
				if got := tt.r.key(int32(i), in); got != want {
					t.Errorf("%T.key(%s) = %d; want %d", tt.r, in.ID, got, want)
				}
			}
		})
	}
}

func TestBinpackOrder(t *testing.T) {
	snap := NewSnapshot([]Instance{node("a", 3, 30), node("b", 1, 10), node("c", 2, 10), node("d", 1, 20)})
	req := &Request{Task: Needs{CPU: 2, Memory: 15}}
	for _, tt := range []struct {
		field     string
		wantOrder []int32
		wantFloor int64
	}{
		{FieldCPU, []int32{1, 3, 2, 0}, 2},     // b d (1), c (2), a (3)
		{FieldMemory, []int32{1, 2, 3, 0}, 15}, // b c (10), d (20), a (30)
	} {
		b := newBinpack(snap, req, tt.field)
		if got := indices(b.order()); !equalInt32(got, tt.wantOrder) {
			t.Errorf("binpack(%s).order() = %v; want %v", tt.field, got, tt.wantOrder)
		}
		if got := b.floor(); got != tt.wantFloor {
			t.Errorf("binpack(%s).floor() = %d; want %d", tt.field, got, tt.wantFloor)
		}
	}
}

func indices(order []ranked) []int32 {
	out := make([]int32, len(order))
	for k, e := range order {
		out[k] = e.i
	}
	return out
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSpreadAttributePlaced(t *testing.T) {
	snap := NewSnapshot([]Instance{node("a", 0, 0, zone("z1")), node("b", 0, 0, zone("z2")), node("c", 0, 0)})
	sp := newSpreadAttribute(snap, "g", "ecs.availability-zone")
	sp.placed(0, snap.Instance(0))
	sp.placed(0, snap.Instance(0))
	sp.placed(2, snap.Instance(2))
	for i, want := range []int64{2, 0, 1} {
		if got := sp.key(int32(i), snap.Instance(i)); got != want {
			t.Errorf("after placements, key(%s) = %d; want %d", snap.Instance(i).ID, got, want)
		}
	}
}

func TestRandomKeysFollowSeed(t *testing.T) {
	in := &Instance{}
	draw := func(seed uint64) [4]int64 {
		r := random{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
		return [4]int64{r.key(0, in), r.key(0, in), r.key(0, in), r.key(0, in)}
	}
	if a, b := draw(7), draw(7); a != b {
		t.Errorf("random keys with seed 7 = %v, then %v; want equal", a, b)
	}
	if a, b := draw(7), draw(8); a == b {
		t.Errorf("random keys with seeds 7 and 8 are both %v; want different", a)
	}
}
