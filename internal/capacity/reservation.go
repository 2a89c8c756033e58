package capacity

import "slices"

// The CapacityProviderReservation metric, as ECS defines it for managed
// scaling: M / N × 100, where N is the number of instances the provider has
// and M the number it needs. Without tasks waiting for capacity, M is the
// number of instances that run at least one task other than a daemon's;
// with tasks waiting, M is N plus the instances those tasks need (a
// bin-packing estimate, bounded by the scaling step sizes). When N is 0 the
// metric is 200 if anything is needed and 100 otherwise. Managed scaling
// steers N towards M × 100 / targetCapacity.

// Resources are CPU units and MiB of memory.
type Resources struct{ CPU, Memory int64 }

// Demand is what the scaler observed of one provider in one cluster.
type Demand struct {
	// Running is N: the provider's instances, launched ones whose agent
	// has yet to register included.
	Running int
	// Busy counts the instances that run at least one non-daemon task.
	Busy int
	// Waiting are the needs of the provider's tasks waiting for capacity.
	Waiting []Resources
	// Instance is the size of one instance of the provider; zero when no
	// instance has registered yet and the launcher did not say.
	Instance Resources
}

// Steps are managed scaling's step sizes.
type Steps struct{ Min, Max int }

// Needed is M.
func Needed(d Demand, steps Steps) int {
	if len(d.Waiting) == 0 {
		return d.Busy
	}
	extra := instancesFor(d.Waiting, d.Instance)
	extra = max(extra, steps.Min)
	if steps.Max > 0 {
		extra = min(extra, steps.Max)
	}
	return d.Running + extra
}

// Reservation is the CapacityProviderReservation metric in percent.
func Reservation(m, n int) int {
	switch {
	case n == 0 && m > 0:
		return 200
	case n == 0:
		return 100
	}
	return (m*100 + n/2) / n
}

// Desired is the instance count that puts the metric at target percent.
func Desired(m, target int) int {
	if target <= 0 || target > 100 {
		target = 100
	}
	return (m*100 + target - 1) / target
}

// instancesFor estimates how many new instances of size inst hold the
// tasks, first-fit by decreasing memory. With no known size it is one: the
// first instance tells the size, and the next reading estimates with it. A
// task larger than an instance still counts one.
func instancesFor(tasks []Resources, inst Resources) int {
	if inst.CPU <= 0 && inst.Memory <= 0 {
		return 1
	}
	const unbounded = 1 << 40
	if inst.CPU <= 0 {
		inst.CPU = unbounded
	}
	if inst.Memory <= 0 {
		inst.Memory = unbounded
	}
	sorted := slices.Clone(tasks)
	slices.SortFunc(sorted, func(a, b Resources) int {
		if a.Memory != b.Memory {
			return int(b.Memory - a.Memory)
		}
		return int(b.CPU - a.CPU)
	})
	var free []Resources
	for _, t := range sorted {
		placed := false
		for i := range free {
			if t.CPU <= free[i].CPU && t.Memory <= free[i].Memory {
				free[i].CPU -= t.CPU
				free[i].Memory -= t.Memory
				placed = true
				break
			}
		}
		if !placed {
			free = append(free, Resources{CPU: inst.CPU - t.CPU, Memory: inst.Memory - t.Memory})
		}
	}
	return len(free)
}
