package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchCluster is a 10,000-instance cluster with the variety a real one has:
// remaining memory and CPU spread over a range (so binpack has a real order
// to walk), four instance types, three zones, and a web service already
// running on a fifth of the instances (so distinctInstance rejects some).
func benchCluster(n int) []Instance {
	rng := rand.New(rand.NewPCG(1, 1))
	types := []string{"m5.large", "m5.xlarge", "c5.large", "t3.medium"}
	insts := make([]Instance, n)
	for i := range insts {
		opts := []func(*Instance){
			attr("ecs.instance-type", types[rng.IntN(len(types))]),
			zone(fmt.Sprintf("us-east-1%c", 'a'+rng.IntN(3))),
			attr("ecs.os-type", "linux"),
			tcp(22, 2375, 2376, 51678, 51679),
		}
		if rng.IntN(5) == 0 {
			opts = append(opts, running("service:web", 1))
		}
		insts[i] = node(fmt.Sprintf("ci-%05d", i), 256*(1+rng.Int64N(32)), 512*(1+rng.Int64N(32)), opts...)
	}
	return insts
}

// benchPlace places the request repeatedly and reports placements per
// second. The request's memory cycles through sizes so that
// successive iterations start their walks at different places.
func benchPlace(b *testing.B, snap *Snapshot, base Request) {
	b.Helper()
	sizes := []int64{256, 384, 512, 768, 1024, 1536, 2048}
	placed := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := base
		r.Task.Memory = sizes[i%len(sizes)]
		r.Seed = uint64(i)
		p, err := Place(snap, &r)
		if err != nil {
			b.Fatal(err)
		}
		placed += p.Placed()
	}
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkPlaceBinpack is the target workload: binpack on memory,
// distinctInstance and a memberOf on the instance type, count 10, on 10,000
// instances.
func BenchmarkPlaceBinpack(b *testing.B) {
	snap := NewSnapshot(benchCluster(10000))
	benchPlace(b, snap, Request{
		Count:            10,
		Task:             Needs{CPU: 128, PortsTCP: []int32{8080}},
		Group:            "service:web",
		DistinctInstance: true,
		MemberOf:         []MemberOf{attrIs("ecs.instance-type", "m5.large")},
		Strategies:       []Strategy{{Binpack, FieldMemory}},
	})
}

// BenchmarkPlaceBinpackOneTask is the same with count 1, where the cost of
// setting up a plan is not shared by ten tasks.
func BenchmarkPlaceBinpackOneTask(b *testing.B) {
	snap := NewSnapshot(benchCluster(10000))
	benchPlace(b, snap, Request{
		Count:            1,
		Task:             Needs{CPU: 128, PortsTCP: []int32{8080}},
		Group:            "service:web",
		DistinctInstance: true,
		MemberOf:         []MemberOf{attrIs("ecs.instance-type", "m5.large")},
		Strategies:       []Strategy{{Binpack, FieldMemory}},
	})
}

// BenchmarkPlaceBinpackThenSpread: binpack's ties broken by a zone spread,
// so the walk collects each tie before choosing.
func BenchmarkPlaceBinpackThenSpread(b *testing.B) {
	snap := NewSnapshot(benchCluster(10000))
	benchPlace(b, snap, Request{
		Count:            10,
		Task:             Needs{CPU: 128},
		Group:            "service:web",
		DistinctInstance: true,
		MemberOf:         []MemberOf{attrIs("ecs.instance-type", "m5.large")},
		Strategies:       []Strategy{{Binpack, FieldMemory}, {Spread, "attribute:ecs.availability-zone"}},
	})
}

// BenchmarkPlaceSpread is the service default, which scans every instance
// for every task.
func BenchmarkPlaceSpread(b *testing.B) {
	snap := NewSnapshot(benchCluster(10000))
	benchPlace(b, snap, Request{
		Count:            10,
		Task:             Needs{CPU: 128},
		Group:            "service:web",
		DistinctInstance: true,
		MemberOf:         []MemberOf{attrIs("ecs.instance-type", "m5.large")},
		Strategies:       ServiceDefaultStrategies(),
	})
}

// BenchmarkPlaceRandom is the RunTask default, which also scans.
func BenchmarkPlaceRandom(b *testing.B) {
	snap := NewSnapshot(benchCluster(10000))
	benchPlace(b, snap, Request{
		Count:      10,
		Task:       Needs{CPU: 128},
		Group:      "family:web",
		MemberOf:   []MemberOf{attrIs("ecs.instance-type", "m5.large")},
		Strategies: RunTaskDefaultStrategies(),
	})
}

// BenchmarkPlaceUnplaceable measures the failure path: nothing fits, so the
// plan carries a rejection, in words, for each of the 10,000 instances.
func BenchmarkPlaceUnplaceable(b *testing.B) {
	snap := NewSnapshot(benchCluster(10000))
	r := Request{Count: 1, Task: Needs{CPU: 1 << 20, Memory: 512}, Strategies: []Strategy{{Binpack, FieldMemory}}}
	b.ReportAllocs()
	for b.Loop() {
		if p, _ := Place(snap, &r); len(p.Rejections) != 10000 {
			b.Fatalf("%d rejections; want 10000", len(p.Rejections))
		}
	}
}

// BenchmarkNewSnapshot is the cost of building the snapshot of 10,000
// instances, sorted orders included.
func BenchmarkNewSnapshot(b *testing.B) {
	insts := benchCluster(10000)
	b.ReportAllocs()
	for b.Loop() {
		NewSnapshot(insts)
	}
}

// BenchmarkSnapshotWith is the cost of bringing the 10,000-instance snapshot
// up to date after ten instances changed (a plan of ten committed), against
// BenchmarkNewSnapshot's rebuild.
func BenchmarkSnapshotWith(b *testing.B) {
	insts := benchCluster(10000)
	snap := NewSnapshot(insts)
	changed := make([]Instance, 10)
	for k := range changed {
		changed[k] = insts[k*997]
		changed[k].Memory -= 256
		changed[k].Groups = map[string]int{"service:web": 1}
	}
	b.ReportAllocs()
	for b.Loop() {
		snap.With(changed, nil)
	}
}
