package scheduler

import "math/rand/v2"

// A ranker is one placement strategy, bound to one request: it gives each
// feasible instance a key, and lower keys are better. Strategies combine by
// comparing keys in the request's order, so a later strategy only decides
// between instances the earlier ones found equal: ECS's "evaluated in order".
type ranker interface {
	key(inst *Instance) int64
}

// An observer is a ranker with state of its own that must hear of each
// placement. Most rankers read everything from the working copy and need not.
type observer interface {
	placed(inst *Instance)
}

// An orderedRanker's key is a field the snapshot keeps sorted, so that the
// engine can walk the instances from the best key instead of scanning them
// all. floor is the smallest key a feasible instance can have.
type orderedRanker interface {
	ranker
	order() []int32
	floor() int64
}

// binpack prefers the instance with the least of the field remaining that
// still fits the task, which fills instances before starting new ones.
type binpack struct {
	field func(*Instance) int64
	ord   []int32
	need  int64
}

func newBinpack(s *Snapshot, r *Request, field string) binpack {
	if field == FieldCPU {
		return binpack{cpuOf, s.byCPU, r.Task.CPU}
	}
	return binpack{memoryOf, s.byMemory, r.Task.Memory}
}

func (b binpack) key(inst *Instance) int64 { return b.field(inst) }
func (b binpack) order() []int32           { return b.ord }
func (b binpack) floor() int64             { return b.need }

// spreadInstance prefers the instance with the fewest tasks of the group:
// spread on instanceId or host, which are the same here.
type spreadInstance struct{ group string }

func (s spreadInstance) key(inst *Instance) int64 { return int64(inst.Groups[s.group]) }

// spreadAttribute prefers instances whose value of the attribute has the
// fewest tasks of the group, counted over every instance of the snapshot
// (feasible or not: a zone whose instances are full still holds its tasks)
// plus the ones this plan placed. Instances without the attribute form a
// bucket of their own, so they are neither preferred nor shunned.
type spreadAttribute struct {
	name    string
	group   string
	counts  map[string]int64
	missing int64
}

func newSpreadAttribute(s *Snapshot, group, name string) *spreadAttribute {
	sp := &spreadAttribute{name: name, group: group, counts: map[string]int64{}}
	for _, i := range s.groups[group] {
		inst := &s.insts[i]
		if v, ok := inst.Attributes[name]; ok {
			sp.counts[v] += int64(inst.Groups[group])
		} else {
			sp.missing += int64(inst.Groups[group])
		}
	}
	return sp
}

func (sp *spreadAttribute) key(inst *Instance) int64 {
	if v, ok := inst.Attributes[sp.name]; ok {
		return sp.counts[v]
	}
	return sp.missing
}

func (sp *spreadAttribute) placed(inst *Instance) {
	if v, ok := inst.Attributes[sp.name]; ok {
		sp.counts[v]++
		return
	}
	sp.missing++
}

// random gives each candidate a key from the request's seeded generator, so
// the choice among the instances the earlier strategies tie is uniform, and
// the same seed gives the same plan.
type random struct{ rng *rand.Rand }

func (r random) key(*Instance) int64 { return r.rng.Int64() }
