package scheduler

import (
	"cmp"
	"slices"
	"time"
)

// StatusActive is the only container instance status that takes new tasks.
const StatusActive = "ACTIVE"

// AttrExternal is the attribute that marks an instance as external (ECS
// Anywhere): a task whose launch type is EXTERNAL goes only to instances that
// carry it, and a task whose launch type is EC2 only to instances that do not.
// Any value counts; only presence matters.
const AttrExternal = "ecs.capability.external"

// AttrFargate marks an instance of the Fargate pool: FARGATE tasks go only
// to instances that carry it, EC2 and EXTERNAL tasks only to others.
const AttrFargate = "wharf.fargate-pool"

// Instance is one container instance as placement sees it: plain data, built
// by the caller from whatever it stores.
type Instance struct {
	// ID is the container instance ID (the last part of its ARN). Spread on
	// instanceId or host buckets by it.
	ID  string
	ARN string
	// Status is ECS's container instance status: ACTIVE, DRAINING,
	// REGISTERING, DEREGISTERING, REGISTRATION_FAILED or INACTIVE.
	Status         string
	AgentConnected bool
	AgentVersion   string
	EC2InstanceID  string
	RegisteredAt   time.Time

	// CPU and Memory are what remains: CPU units and MiB not yet reserved.
	CPU    int64
	Memory int64
	// PortsTCP and PortsUDP are the host ports in use, reserved ones included.
	PortsTCP []int32
	PortsUDP []int32
	// GPUs lists the IDs of the GPUs no task holds yet.
	GPUs []string

	// Attributes maps each attribute's name to its value, "" for an attribute
	// that has none.
	Attributes map[string]string
	// Groups counts the instance's tasks per task group ("service:web",
	// "family:web"): what spread and distinctInstance balance and forbid.
	Groups map[string]int
	// RunningTasks is the instance's runningTasksCount.
	RunningTasks int

	// kind is the launch type the instance takes, worked out from its
	// attributes when it enters a snapshot: two lookups in a map of some
	// forty attributes were most of a feasibility scan.
	kind LaunchType
}

// Snapshot is an immutable view of a cluster's container instances, in ARN
// order, with the orders binpack walks precomputed. Build it with
// NewSnapshot, bring it up to date after a change with With, and place any
// number of requests against it, from any number of goroutines.
type Snapshot struct {
	// insts points into one array for a snapshot built from scratch; With
	// carries the pointers over, so an update copies pointers, not
	// instances.
	insts []*Instance
	// byCPU and byMemory hold the instances sorted by remaining CPU
	// (memory), then by index, so that binpack can start at the tightest fit
	// by binary search instead of scanning every instance.
	byCPU    []ranked
	byMemory []ranked
	// groups lists, per task group, the instances that run tasks of it, so
	// that a spread on an attribute counts the group's tasks without
	// visiting every instance.
	groups map[string][]int32
}

// NewSnapshot builds a snapshot of the instances. It copies the slice but
// takes ownership of the maps and slices each instance holds: the caller must
// not modify them afterwards. Port lists that are not sorted are replaced by
// sorted copies.
func NewSnapshot(instances []Instance) *Snapshot {
	// ARN order makes plans independent of the order the caller listed the
	// instances in, so that equal inputs give equal plans. Sorting indices
	// and copying once is much cheaper than sorting the structs themselves.
	perm := make([]int32, len(instances))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int {
		x, y := &instances[a], &instances[b]
		return cmp.Or(cmp.Compare(x.ARN, y.ARN), cmp.Compare(x.ID, y.ID), cmp.Compare(a, b))
	})
	all := make([]Instance, len(instances))
	insts := make([]*Instance, len(instances))
	for i, j := range perm {
		all[i] = instances[j]
		all[i].PortsTCP = sortedPorts(all[i].PortsTCP)
		all[i].PortsUDP = sortedPorts(all[i].PortsUDP)
		all[i].kind = kindOf(&all[i])
		insts[i] = &all[i]
	}
	s := &Snapshot{insts: insts}
	s.byCPU = orderBy(insts, cpuOf)
	s.byMemory = orderBy(insts, memoryOf)
	s.groups = map[string][]int32{}
	for i := range insts {
		for g, n := range insts[i].Groups {
			if n > 0 {
				s.groups[g] = append(s.groups[g], int32(i))
			}
		}
	}
	return s
}

// Len is the number of instances.
func (s *Snapshot) Len() int { return len(s.insts) }

// Instance returns the i-th instance in ARN order. It belongs to the
// snapshot: read it, never modify it.
func (s *Snapshot) Instance(i int) *Instance { return s.insts[i] }

func cpuOf(in *Instance) int64    { return in.CPU }
func memoryOf(in *Instance) int64 { return in.Memory }

// ranked is one entry of a sorted order: an instance's index and its value
// of the field the order sorts by. Keeping the value beside the index keeps
// binary searches, walks and merges in the order's own memory instead of
// chasing a pointer per entry.
type ranked struct {
	key int64
	i   int32
}

func compareRanked(a, b ranked) int {
	switch {
	case a.key != b.key:
		return cmp.Compare(a.key, b.key)
	default:
		return cmp.Compare(a.i, b.i)
	}
}

// orderBy returns the instances sorted by field, then by index.
func orderBy(insts []*Instance, field func(*Instance) int64) []ranked {
	order := make([]ranked, len(insts))
	for i := range insts {
		order[i] = ranked{field(insts[i]), int32(i)}
	}
	slices.SortFunc(order, compareRanked)
	return order
}

// sortedPorts returns ports sorted and without duplicates, copying only when
// they are not already.
func sortedPorts(ports []int32) []int32 {
	strict := true
	for i := 1; i < len(ports); i++ {
		if ports[i-1] >= ports[i] {
			strict = false
			break
		}
	}
	if strict {
		return ports
	}
	out := slices.Clone(ports)
	slices.Sort(out)
	return slices.Compact(out)
}

// portInUse reports whether port is in the sorted list used.
func portInUse(used []int32, port int32) bool {
	_, found := slices.BinarySearch(used, port)
	return found
}

// withPorts returns a new sorted list holding used and add; it never writes
// into used, which may belong to the snapshot.
func withPorts(used, add []int32) []int32 {
	out := make([]int32, 0, len(used)+len(add))
	out = append(out, used...)
	out = append(out, add...)
	slices.Sort(out)
	return slices.Compact(out)
}
