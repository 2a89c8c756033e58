package scheduler

import "maps"

// work is a plan's working copy of the snapshot: copy-on-write, so a request
// that places ten tasks copies at most ten instances, whatever the size of
// the cluster. The snapshot itself is never written.
type work struct {
	base   []Instance
	copies map[int32]*Instance
	// touchedBits marks the copied instances: a bit test is what lets a scan
	// or a walk over the snapshot skip the map for the untouched majority.
	touchedBits []uint64
	// touched lists the copied instances in the order the plan first used
	// them, so that walks can visit them deterministically.
	touched []int32
}

func newWork(s *Snapshot) *work {
	return &work{
		base:        s.insts,
		copies:      map[int32]*Instance{},
		touchedBits: make([]uint64, (len(s.insts)+63)/64),
	}
}

func (w *work) isTouched(i int32) bool {
	return w.touchedBits[i>>6]&(1<<(uint(i)&63)) != 0
}

// get returns the instance as the plan sees it so far.
func (w *work) get(i int32) *Instance {
	if w.isTouched(i) {
		return w.copies[i]
	}
	return &w.base[i]
}

// mutable returns the plan's own copy of instance i, making it on first use.
// Only what placing a task writes is copied; attributes are shared.
func (w *work) mutable(i int32) *Instance {
	if w.isTouched(i) {
		return w.copies[i]
	}
	c := w.base[i]
	c.Groups = maps.Clone(c.Groups)
	if c.Groups == nil {
		c.Groups = map[string]int{}
	}
	w.copies[i] = &c
	w.touchedBits[i>>6] |= 1 << (uint(i) & 63)
	w.touched = append(w.touched, i)
	return &c
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
		// Reslicing never writes the shared array, so the snapshot's list
		// stays whole; the task gets the lowest free IDs in list order.
		gpus = inst.GPUs[:n:n]
		inst.GPUs = inst.GPUs[n:]
	}
	if r.Group != "" {
		inst.Groups[r.Group]++
	}
	inst.RunningTasks++
	return gpus
}
