package scheduler

import (
	"cmp"
	"slices"
)

// With returns a snapshot of the same cluster after a change: each instance
// of upsert replaces the one with its ARN, or joins when there is none, and
// the instances whose ARNs are in remove leave. A later upsert of an ARN wins
// over an earlier one, and a removal over an upsert. s is not changed; the
// result takes ownership of the upserted instances' maps and slices, as
// NewSnapshot does. ARNs are taken to be unique, as container instances'
// are.
//
// It gives the same snapshot NewSnapshot would build from scratch, for a
// fraction of the cost: the sorted orders and the group index are carried
// over and only the changed instances are put in their places, which is what
// a scheduler kept current by a watch needs after each change.
func (s *Snapshot) With(upsert []Instance, remove []string) *Snapshot {
	if len(upsert) == 0 && len(remove) == 0 {
		return s
	}
	gone := make(map[string]bool, len(remove))
	for _, arn := range remove {
		gone[arn] = true
	}
	last := make(map[string]int, len(upsert))
	for k := range upsert {
		last[upsert[k].ARN] = k
	}
	var fresh []Instance
	for k := range upsert {
		if in := upsert[k]; last[in.ARN] == k && !gone[in.ARN] {
			in.PortsTCP = sortedPorts(in.PortsTCP)
			in.PortsUDP = sortedPorts(in.PortsUDP)
			in.kind = kindOf(&in)
			fresh = append(fresh, in)
		}
	}
	byARN := func(a, b *Instance) int { return cmp.Or(cmp.Compare(a.ARN, b.ARN), cmp.Compare(a.ID, b.ID)) }
	slices.SortFunc(fresh, func(a, b Instance) int { return byARN(&a, &b) })

	// drop marks the old instances that are replaced or removed; at[j] is
	// where fresh[j] goes among the old ones (before the one it replaces).
	n := len(s.insts)
	drop := make([]bool, n)
	find := func(arn string) (int, bool) {
		return slices.BinarySearchFunc(s.insts, arn, func(in *Instance, arn string) int {
			return cmp.Compare(in.ARN, arn)
		})
	}
	at := make([]int, len(fresh))
	for j := range fresh {
		i, ok := find(fresh[j].ARN)
		at[j] = i
		if ok {
			drop[i] = true
		}
	}
	for arn := range gone {
		if i, ok := find(arn); ok {
			drop[i] = true
		}
	}

	// Merge the kept old instances with the fresh ones in ARN order,
	// noting where each ends up: merging keeps the old ones' relative order,
	// so their sorted orders stay sorted once renumbered.
	out := &Snapshot{insts: make([]*Instance, 0, n+len(fresh))}
	renumber := make([]int32, n)
	freshAt := make([]int32, len(fresh))
	j := 0
	for i := 0; i <= n; i++ {
		for j < len(fresh) && at[j] <= i {
			freshAt[j] = int32(len(out.insts))
			out.insts = append(out.insts, &fresh[j])
			j++
		}
		switch {
		case i == n:
		case drop[i]:
			renumber[i] = -1
		default:
			renumber[i] = int32(len(out.insts))
			out.insts = append(out.insts, s.insts[i])
		}
	}
	out.byCPU = mergeOrder(s.byCPU, renumber, freshAt, out.insts, cpuOf)
	out.byMemory = mergeOrder(s.byMemory, renumber, freshAt, out.insts, memoryOf)
	out.groups = mergeGroups(s.groups, renumber, freshAt, out.insts)
	return out
}

// mergeOrder carries an order over: the kept instances, renumbered, merged
// with the fresh ones sorted into place.
func mergeOrder(old []ranked, renumber, freshAt []int32, insts []*Instance, field func(*Instance) int64) []ranked {
	added := make([]ranked, len(freshAt))
	for j, k := range freshAt {
		added[j] = ranked{field(insts[k]), k}
	}
	slices.SortFunc(added, compareRanked)
	order := make([]ranked, 0, len(insts))
	j := 0
	for _, e := range old {
		if e.i = renumber[e.i]; e.i < 0 {
			continue
		}
		for j < len(added) && compareRanked(added[j], e) < 0 {
			order = append(order, added[j])
			j++
		}
		order = append(order, e)
	}
	return append(order, added[j:]...)
}

// mergeGroups carries the group index over: each list renumbered without the
// dropped instances, with the fresh instances of the group merged in.
func mergeGroups(old map[string][]int32, renumber, freshAt []int32, insts []*Instance) map[string][]int32 {
	added := map[string][]int32{}
	for _, k := range freshAt {
		for g, n := range insts[k].Groups {
			if n > 0 {
				added[g] = append(added[g], k)
			}
		}
	}
	groups := make(map[string][]int32, len(old)+len(added))
	for g, list := range old {
		kept := make([]int32, 0, len(list)+len(added[g]))
		for _, i := range list {
			if k := renumber[i]; k >= 0 {
				kept = append(kept, k)
			}
		}
		if len(added[g]) > 0 {
			kept = append(kept, added[g]...)
			slices.Sort(kept)
			delete(added, g)
		}
		if len(kept) > 0 {
			groups[g] = kept
		}
	}
	for g, list := range added {
		slices.Sort(list)
		groups[g] = list
	}
	return groups
}
