package scheduler

import (
	"cmp"
	"slices"
)

// Place plans r.Count tasks on the snapshot. It returns an error only for a
// request the engine cannot honour (a negative count, an unknown strategy,
// spread without a group, ...); a task that fits nowhere is not an error but
// an unplaced entry in the plan, with every instance's reason beside it.
func Place(s *Snapshot, r *Request) (*Plan, error) {
	st, err := newStack(s, r)
	if err != nil {
		return nil, err
	}
	return st.plan(), nil
}

// plan places the request's tasks one at a time on the working copy.
func (st *stack) plan() *Plan {
	r := st.req
	plan := &Plan{Tasks: make([]Placement, r.Count)}
	for t := 0; t < r.Count; t++ {
		var explained []Rejection
		if r.Explain {
			explained = st.rejections()
		}
		i, ok := st.choose()
		if !ok {
			if explained == nil {
				explained = st.rejections()
			}
			plan.Rejections = explained
			// A failed task changes nothing, so every later task would
			// fail the same way for the same reasons.
			if r.Explain {
				for u := t; u < r.Count; u++ {
					plan.Tasks[u].Rejections = explained
				}
			}
			break
		}
		gpus := st.place(i)
		inst := st.work.get(i)
		plan.Tasks[t] = Placement{ARN: inst.ARN, ID: inst.ID, GPUs: gpus, Rejections: explained}
	}
	return plan
}

// keys are a candidate's ranker keys, compared in order.
type keys [MaxStrategies]int64

// better reports whether candidate a (keys ka) beats b (keys kb): the first
// key that differs decides, and snapshot order settles full ties.
func better(ka *keys, a int32, kb *keys, b int32, n int) bool {
	for j := 0; j < n; j++ {
		if ka[j] != kb[j] {
			return ka[j] < kb[j]
		}
	}
	return a < b
}

func (st *stack) feasible(inst *Instance) bool {
	for _, c := range st.checkers {
		if c.check(inst).why != nil {
			return false
		}
	}
	return true
}

func (st *stack) keysOf(i int32, inst *Instance) (k keys) {
	for j, r := range st.rankers {
		k[j] = r.key(i, inst)
	}
	return k
}

// choose picks the instance for the next task, or reports that none fits.
func (st *stack) choose() (int32, bool) {
	if st.ordered != nil {
		return st.walk(st.ordered)
	}
	return st.scan()
}

// place books the next task on instance i and tells the stateful rankers.
func (st *stack) place(i int32) []string {
	gpus := st.work.take(i, st.req)
	inst := st.work.get(i)
	for _, o := range st.observers {
		o.placed(i, inst)
	}
	return gpus
}

// scan considers every instance. It is the general path: spread and random
// depend on state no index of the snapshot keeps.
//
// As in walk, an untouched instance found infeasible stays so for the whole
// plan, so the first scan keeps the feasible ones and later scans visit only
// those: the instances the plan touched are among them (only a feasible
// instance gets a task) and are checked again on their copies. Visiting them
// in snapshot order keeps the random strategy's draws, and so the plan, the
// same as a scan of everything.
func (st *stack) scan() (int32, bool) {
	st.work.indexTouched()
	best := int32(-1)
	var bestKeys keys
	n := len(st.rankers)
	consider := func(i int32, inst *Instance) {
		k := st.keysOf(i, inst)
		if best < 0 || better(&k, i, &bestKeys, best, n) {
			best, bestKeys = i, k
		}
	}
	if st.candidates == nil {
		st.candidates = []int32{}
		for i := range int32(len(st.work.base)) {
			inst := st.work.get(i)
			if !st.feasible(inst) {
				continue
			}
			if st.uniform != nil {
				st.candidates = append(st.candidates, i)
				continue
			}
			if n == 0 {
				// No strategy: the first feasible instance in ARN
				// order. Nothing is kept: the next scan starts over.
				st.candidates = nil
				return i, true
			}
			st.candidates = append(st.candidates, i)
			consider(i, inst)
		}
		if st.uniform == nil {
			return best, best >= 0
		}
	}
	if st.uniform != nil {
		return st.pick()
	}
	for _, i := range st.candidates {
		inst := st.work.get(i)
		if st.work.isTouched(i) && !st.feasible(inst) {
			continue
		}
		consider(i, inst)
	}
	return best, best >= 0
}

// pick draws a candidate uniformly for the random strategy. A drawn
// instance the plan has filled up leaves the candidates for good (a plan only
// ever takes resources), and the draw is made again among the rest.
func (st *stack) pick() (int32, bool) {
	for len(st.candidates) > 0 {
		j := st.uniform.IntN(len(st.candidates))
		i := st.candidates[j]
		if st.work.isTouched(i) && !st.feasible(st.work.get(i)) {
			last := len(st.candidates) - 1
			st.candidates[j] = st.candidates[last]
			st.candidates = st.candidates[:last]
			continue
		}
		return i, true
	}
	return -1, false
}

// walk serves a first ranker whose key the snapshot keeps sorted (binpack):
// it visits the instances from the smallest key that can fit, and stops as
// soon as no later instance can beat the best found. The instances this plan
// already touched sit in the sorted order at their old keys, so the walk
// skips them and they are weighed separately; a plan touches few.
//
// An untouched instance is the snapshot's, and checks depend only on the
// instance, so one found infeasible stays infeasible for the whole plan: each
// walk resumes where the previous one met its first instance not proven
// infeasible, and a plan of many tasks walks the rejected prefix once.
func (st *stack) walk(o orderedRanker) (int32, bool) {
	best := int32(-1)
	var bestKeys keys
	n := len(st.rankers)
	for pos, i := range st.work.touched {
		inst := st.work.copyOf(pos)
		if !st.feasible(inst) {
			continue
		}
		k := st.keysOf(i, inst)
		if best < 0 || better(&k, i, &bestKeys, best, n) {
			best, bestKeys = i, k
		}
	}
	base := st.work.base
	order := o.order()
	if st.walkFrom < 0 {
		// Instances below the floor fail the resource check of the
		// ranker's own field, so the first walk starts past them.
		st.walkFrom, _ = slices.BinarySearchFunc(order, o.floor(), func(e ranked, floor int64) int {
			return cmp.Compare(e.key, floor)
		})
	}
	resume := -1
	p := st.walkFrom
	for ; p < len(order); p++ {
		i := order[p].i
		if st.work.isTouched(i) {
			continue
		}
		if best >= 0 && order[p].key > bestKeys[0] {
			break // sorted: nothing further has a smaller first key
		}
		inst := base[i]
		if !st.feasible(inst) {
			continue
		}
		if resume < 0 {
			resume = p
		}
		k := st.keysOf(i, inst)
		if best < 0 || better(&k, i, &bestKeys, best, n) {
			best, bestKeys = i, k
		}
		if n == 1 {
			// With no later ranker, (key, index) order is the ranking
			// itself: the first feasible untouched instance beats every
			// later one.
			break
		}
	}
	if resume < 0 {
		resume = p
	}
	st.walkFrom = resume
	return best, best >= 0
}

// rejections says why each instance refuses the next task, in ARN order;
// instances that would take it are left out.
func (st *stack) rejections() []Rejection {
	st.work.indexTouched()
	var out []Rejection
	for i := range int32(len(st.work.base)) {
		inst := st.work.get(i)
		for _, c := range st.checkers {
			if v := c.check(inst); v.why != nil {
				out = append(out, v.rejection(inst))
				break
			}
		}
	}
	return out
}
