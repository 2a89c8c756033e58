package service

import "time"

// pickVictims chooses n of cands to stop so that the service stays balanced:
// each pick comes from the Availability Zone that holds the most of the
// service's active tasks, then from the instance that holds the most, then
// the newest task (the one that has served least). Counts start from all
// (the service's active tasks) and follow each pick.
func pickVictims(cands, all []*tview, n int) []*tview {
	if n <= 0 || len(cands) == 0 {
		return nil
	}
	zones, insts := map[string]int{}, map[string]int{}
	for _, v := range all {
		if v.active() {
			zones[v.zone]++
			insts[v.t.InstanceID]++
		}
	}
	left := append([]*tview(nil), cands...)
	var out []*tview
	for len(out) < n && len(left) > 0 {
		best := 0
		for i := 1; i < len(left); i++ {
			if victimBefore(left[i], left[best], zones, insts) {
				best = i
			}
		}
		v := left[best]
		out = append(out, v)
		zones[v.zone]--
		insts[v.t.InstanceID]--
		left = append(left[:best], left[best+1:]...)
	}
	return out
}

func victimBefore(a, b *tview, zones, insts map[string]int) bool {
	if za, zb := zones[a.zone], zones[b.zone]; za != zb {
		return za > zb
	}
	if ia, ib := insts[a.t.InstanceID], insts[b.t.InstanceID]; ia != ib {
		return ia > ib
	}
	ta, tb := createdAt(a), createdAt(b)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return a.id > b.id
}

func createdAt(v *tview) time.Time {
	if v.t.CreatedAt == nil {
		return time.Time{}
	}
	return v.t.CreatedAt.Time
}
