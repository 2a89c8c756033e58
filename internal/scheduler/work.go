package scheduler

import "slices"

// work is a plan's working copy of the snapshot: copy-on-write, so a request
// that places ten tasks copies at most ten instances, whatever the size of
// the cluster. The snapshot itself is never written.
type work struct {
	base []*Instance
	// copies holds the plan's copies of the instances it touched, in the
	// order it first touched them; slot finds an instance's copy. copies is
	// allocated once at its final size (a plan touches at most one instance
	// per task), so pointers into it stay valid.
	copies []Instance
	slot   map[int32]int32
	// touchedBits marks the touched instances once a scan needs it: a bit
	// test is what lets a scan pass the untouched majority by. A walk asks
	// about a few instances only and uses slot, sparing a plan that walks a
	// cluster-sized allocation.
	touchedBits []uint64
	// touched lists the touched instances in the order of copies.
	touched []int32
}

func newWork(s *Snapshot, count int) *work {
	n := min(count, len(s.insts))
	return &work{
		base:    s.insts,
		copies:  make([]Instance, 0, n),
		slot:    make(map[int32]int32, n),
		touched: make([]int32, 0, n),
	}
}

func (w *work) isTouched(i int32) bool {
	if w.touchedBits == nil {
		_, ok := w.slot[i]
		return ok
	}
	return w.touchedBits[i>>6]&(1<<(uint(i)&63)) != 0
}

// indexTouched switches isTouched to a bitmap, for scans.
func (w *work) indexTouched() {
	if w.touchedBits != nil {
		return
	}
	w.touchedBits = make([]uint64, (len(w.base)+63)/64)
	for _, i := range w.touched {
		w.markTouched(i)
	}
}

func (w *work) markTouched(i int32) {
	if w.touchedBits != nil {
		w.touchedBits[i>>6] |= 1 << (uint(i) & 63)
	}
}

// get returns the instance as the plan sees it so far.
func (w *work) get(i int32) *Instance {
	if w.isTouched(i) {
		return &w.copies[w.slot[i]]
	}
	return w.base[i]
}

// copyOf returns the plan's copy of a touched instance, by its position in
// touched.
func (w *work) copyOf(pos int) *Instance { return &w.copies[pos] }

// mutable returns the plan's own copy of instance i, making it on first use.
// Only what placing a task writes is copied; attributes are shared.
func (w *work) mutable(i int32) *Instance {
	if w.isTouched(i) {
		return &w.copies[w.slot[i]]
	}
	w.slot[i] = int32(len(w.copies))
	w.copies = append(w.copies, *w.base[i])
	c := &w.copies[len(w.copies)-1]
	groups := make(map[string]int, len(c.Groups)+1)
	for g, n := range c.Groups {
		groups[g] = n
	}
	c.Groups = groups
	w.markTouched(i)
	w.touched = append(w.touched, i)
	return c
}

// take reserves one task of the request on instance i and returns the IDs of
// the GPUs it gets.
func (w *work) take(i int32, r *Request) (gpus []string) {
	inst := w.mutable(i)
	inst.CPU -= r.Task.CPU
	inst.Memory -= r.Task.Memory
	if len(r.Task.PortsTCP) > 0 {
		inst.PortsTCP = withPorts(inst.PortsTCP, r.Task.PortsTCP)
	}
	if len(r.Task.PortsUDP) > 0 {
		inst.PortsUDP = withPorts(inst.PortsUDP, r.Task.PortsUDP)
	}
	if n := r.Task.GPUs; n > 0 {
		// The task gets the first free IDs in list order. Reslicing never
		// writes the array the snapshot shares; the plan hands out a copy
		// so that its reader cannot write it either.
		gpus = slices.Clone(inst.GPUs[:n])
		inst.GPUs = inst.GPUs[n:]
	}
	if r.Group != "" {
		inst.Groups[r.Group]++
	}
	inst.RunningTasks++
	return gpus
}
