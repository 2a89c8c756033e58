package scheduler

import "math/rand/v2"

// A ranker is one placement strategy, bound to one request: it gives each
// feasible instance a key, and lower keys are better. Strategies combine by
// comparing keys in the request's order, so a later strategy only decides
// between instances the earlier ones found equal: ECS's "evaluated in order".
//
// i is the instance's index in the snapshot, which lets a ranker remember
// what it worked out about an instance for the rest of the plan.
type ranker interface {
	key(i int32, inst *Instance) int64
}

// An observer is a ranker with state of its own that must hear of each
// placement. Most rankers read everything from the working copy and need not.
type observer interface {
	placed(i int32, inst *Instance)
}

// An orderedRanker's key is a field the snapshot keeps sorted, so that the
// engine can walk the instances from the best key instead of scanning them
// all. floor is the smallest key a feasible instance can have.
type orderedRanker interface {
	ranker
	order() []ranked
	floor() int64
}

// binpack prefers the instance with the least of the field remaining that
// still fits the task, which fills instances before starting new ones.
type binpack struct {
	field func(*Instance) int64
	ord   []ranked
	need  int64
}

func newBinpack(s *Snapshot, r *Request, field string) binpack {
	if field == FieldCPU {
		return binpack{cpuOf, s.byCPU, r.Task.CPU}
	}
	return binpack{memoryOf, s.byMemory, r.Task.Memory}
}

func (b binpack) key(_ int32, inst *Instance) int64 { return b.field(inst) }
func (b binpack) order() []ranked                   { return b.ord }
func (b binpack) floor() int64                      { return b.need }

// spreadInstance prefers the instance with the fewest tasks of the group:
// spread on instanceId or host, which are the same here.
type spreadInstance struct{ group string }

func (s spreadInstance) key(_ int32, inst *Instance) int64 { return int64(inst.Groups[s.group]) }

// spreadAttribute prefers instances whose value of the attribute has the
// fewest tasks of the group, counted over every instance of the snapshot
// (feasible or not: a zone whose instances are full still holds its tasks)
// plus the ones this plan placed. Instances without the attribute form a
// bucket of their own, so they are neither preferred nor shunned.
type spreadAttribute struct {
	name  string
	group string
	// Values are numbered as they are met; bucket 0 is "no such attribute".
	ids    map[string]int32
	counts []int64
	// bucket remembers each instance's bucket plus one (0: not looked up
	// yet): attributes never change within a plan, and a scan asks about
	// every candidate for every task, so two map lookups become one load.
	bucket []int32
	n      int // instances in the snapshot, the size bucket gets
}

func newSpreadAttribute(s *Snapshot, group, name string) *spreadAttribute {
	sp := &spreadAttribute{name: name, group: group, ids: map[string]int32{}, counts: []int64{0}, n: len(s.insts)}
	for _, i := range s.groups[group] {
		inst := s.insts[i]
		sp.counts[sp.lookup(inst)] += int64(inst.Groups[group])
	}
	return sp
}

// lookup returns the instance's bucket, numbering its value if new.
func (sp *spreadAttribute) lookup(inst *Instance) int32 {
	v, ok := inst.Attributes[sp.name]
	if !ok {
		return 0
	}
	b, seen := sp.ids[v]
	if !seen {
		b = int32(len(sp.counts))
		sp.ids[v] = b
		sp.counts = append(sp.counts, 0)
	}
	return b
}

func (sp *spreadAttribute) bucketOf(i int32, inst *Instance) int32 {
	if sp.bucket == nil {
		sp.bucket = make([]int32, sp.n)
	}
	if b := sp.bucket[i]; b > 0 {
		return b - 1
	}
	b := sp.lookup(inst)
	sp.bucket[i] = b + 1
	return b
}

func (sp *spreadAttribute) key(i int32, inst *Instance) int64 {
	return sp.counts[sp.bucketOf(i, inst)]
}

func (sp *spreadAttribute) placed(i int32, inst *Instance) {
	sp.counts[sp.bucketOf(i, inst)]++
}

// random gives each candidate a key from the request's seeded generator, so
// the choice among the instances the earlier strategies tie is uniform, and
// the same seed gives the same plan.
type random struct{ rng *rand.Rand }

func (r random) key(int32, *Instance) int64 { return r.rng.Int64() }
