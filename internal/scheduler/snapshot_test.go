package scheduler

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestNewSnapshot(t *testing.T) {
	snap := NewSnapshot([]Instance{
		node("c", 300, 100, tcp(80, 22, 80), running("g", 1)),
		node("a", 100, 300, udp(53)),
		node("b", 200, 200, running("g", 2), running("h", 1)),
	})
	var got []string
	for i := range snap.Len() {
		got = append(got, snap.Instance(i).ID)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("NewSnapshot order = %v; want %v (ARN order)", got, want)
	}
	if got, want := snap.Instance(2).PortsTCP, []int32{22, 80}; !slices.Equal(got, want) {
		t.Errorf("PortsTCP = %v; want %v (sorted, no duplicates)", got, want)
	}
	if got, want := indices(snap.byCPU), []int32{0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("byCPU = %v; want %v", got, want)
	}
	if got, want := indices(snap.byMemory), []int32{2, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("byMemory = %v; want %v", got, want)
	}
	if want := map[string][]int32{"g": {1, 2}, "h": {1}}; !reflect.DeepEqual(snap.groups, want) {
		t.Errorf("groups = %v; want %v", snap.groups, want)
	}
}

// TestSnapshotWith: an incremental update gives exactly the snapshot a
// rebuild gives, and leaves the old one as it was.
func TestSnapshotWith(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := func(id string) Instance {
		var opts []func(*Instance)
		for _, g := range []string{"service:a", "service:b", "family:c"} {
			if rng.IntN(3) == 0 {
				opts = append(opts, running(g, 1+rng.IntN(2)))
			}
		}
		if rng.IntN(2) == 0 {
			opts = append(opts, tcp(int32(8000+rng.IntN(3)), 22))
		}
		return node(id, rng.Int64N(8)*128, rng.Int64N(8)*256, opts...)
	}
	for iter := range 500 {
		cluster := map[string]Instance{}
		for i := range rng.IntN(30) {
			id := fmt.Sprintf("i%02d", i)
			cluster[id] = random(id)
		}
		old := NewSnapshot(mapValues(cluster))
		before := snapshotString(old)

		var upsert []Instance
		var remove []string
		for range rng.IntN(8) {
			id := fmt.Sprintf("i%02d", rng.IntN(40)) // existing or new
			switch rng.IntN(3) {
			case 0:
				remove = append(remove, arnPrefix+id)
				delete(cluster, id)
			default:
				in := random(id)
				upsert = append(upsert, in)
				cluster[id] = in
			}
		}
		// A removal wins over an upsert whatever their order.
		for _, arn := range remove {
			delete(cluster, arn[len(arnPrefix):])
		}

		got := old.With(upsert, remove)
		want := NewSnapshot(mapValues(cluster))
		if a, b := snapshotString(got), snapshotString(want); a != b {
			t.Fatalf("iteration %d: With(%d upserts, %v) =\n%s\nwant\n%s", iter, len(upsert), remove, a, b)
		}
		if after := snapshotString(old); after != before {
			t.Fatalf("iteration %d: With changed the old snapshot:\n%s\nwas\n%s", iter, after, before)
		}
	}
}

func mapValues(m map[string]Instance) []Instance {
	var out []Instance
	for _, in := range m {
		out = append(out, in)
	}
	return out
}

func snapshotString(s *Snapshot) string {
	out := ""
	for i := range s.insts {
		in := s.insts[i]
		out += fmt.Sprintf("%s cpu=%d mem=%d tcp=%v groups=%v\n", in.ID, in.CPU, in.Memory, in.PortsTCP, in.Groups)
	}
	var groups []string
	for g, list := range s.groups {
		groups = append(groups, fmt.Sprintf("%s:%v", g, list))
	}
	slices.Sort(groups)
	return out + fmt.Sprintf("byCPU=%v byMemory=%v groups=%v", s.byCPU, s.byMemory, groups)
}
