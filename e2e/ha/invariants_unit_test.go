package ha

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The checker on hand-made histories: a clean one passes, and each way of
// breaking an invariant is reported as that invariant's violation, and only
// as that.

var epoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func sec(s float64) time.Time { return epoch.Add(time.Duration(s * float64(time.Second))) }

func ptr32(n int32) *int32 { return &n }

// cleanHistory: service web created at 2 tasks and scaled to 3, a RunTask
// with a clientToken acknowledged and later stopped, one with another
// token that failed and ran nothing; a state every second for 20 s.
func cleanHistory() *history {
	h := &history{cluster: "c", limits: limits{lag: 2 * time.Second, grace: 10 * time.Second}}
	h.calls = []call{
		{at: sec(0.5), op: "CreateService", acked: true, service: "web", desired: ptr32(2)},
		{at: sec(1), op: "RunTask", acked: true, tasks: []string{"r1"}, count: 1, token: "tok-1", startedBy: "tok-1"},
		{at: sec(1.5), op: "RunTask", count: 1, token: "tok-2", startedBy: "tok-2"},
		{at: sec(4), op: "StopTask", acked: true, tasks: []string{"r1"}},
		{at: sec(5), op: "UpdateService", acked: true, service: "web", desired: ptr32(3)},
	}
	for s := range 21 {
		h.states = append(h.states, world(float64(s)))
	}
	return h
}

func world(s float64) observed {
	o := observed{at: sec(s), server: "http://s1:8080", instances: map[string]instanceState{}, tasks: map[string]taskState{}, services: map[string]serviceState{}}
	desired := int32(2)
	if s >= 6 {
		desired = 3
	}
	o.services["web"] = serviceState{status: "ACTIVE", desired: desired, maxPercent: 200}
	for i := range desired {
		o.tasks[fmt.Sprintf("w%d", i+1)] = webTask("i1", "RUNNING")
	}
	if s >= 1 {
		r1 := taskState{instance: "i1", last: "RUNNING", desired: "RUNNING", startedBy: "tok-1", memory: 32}
		if s >= 4 {
			r1.desired = "STOPPED"
		}
		if s >= 5 {
			r1.last = "STOPPED"
		}
		o.tasks["r1"] = r1
	}
	o.instances["i1"] = instanceState{connected: true, status: "ACTIVE", memory: 1024, cpu: 1024}
	o.instances["i2"] = instanceState{connected: true, status: "ACTIVE", memory: 1024, cpu: 1024}
	refree(&o)
	return o
}

func webTask(instance, last string) taskState {
	return taskState{instance: instance, last: last, desired: "RUNNING", group: "service:web", memory: 64, cpu: 64}
}

// refree sets the instances' remaining resources from their tasks.
func refree(o *observed) {
	for arn, u := range usage(*o) {
		in := o.instances[arn]
		in.freeMemory, in.freeCPU = in.memory-u.memory, in.cpu-u.cpu
		o.instances[arn] = in
	}
}

// during applies fn to the states from s to until seconds, inclusive.
func during(h *history, from, until float64, fn func(o *observed)) {
	for i := range h.states {
		if at := h.states[i].at; !at.Before(sec(from)) && !at.After(sec(until)) {
			fn(&h.states[i])
			refree(&h.states[i])
		}
	}
}

func TestCheckerPassesACleanHistory(t *testing.T) {
	if v := cleanHistory().violations(); len(v) != 0 {
		t.Fatalf("violations of a clean history = %q; want none", v)
	}
}

func TestCheckerReportsEachViolation(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(h *history)
		want   []string // every violation begins with one of these, and each is reported
	}{
		{"an acknowledged task vanishes", func(h *history) {
			during(h, 8, 8, func(o *observed) { delete(o.tasks, "r1") })
		}, []string{"lost write: RunTask (clientToken tok-1) of r1 acknowledged at 12:00:01.000, but there is no task r1 in the state observed at 12:00:08.000",
			"lost write: StopTask of r1 acknowledged at 12:00:04.000, but there is no task r1 in the state observed at 12:00:08.000"}},
		{"an acknowledged stop is undone", func(h *history) {
			during(h, 7, 20, func(o *observed) {
				o.tasks["r1"] = taskState{instance: "i1", last: "RUNNING", desired: "RUNNING", startedBy: "tok-1", memory: 32}
			})
		}, []string{"lost write: StopTask of r1 acknowledged at 12:00:04.000, but task r1 is desired RUNNING"}},
		{"an acknowledged scale-up is lost", func(h *history) {
			during(h, 9, 20, func(o *observed) {
				o.services["web"] = serviceState{status: "ACTIVE", desired: 2, maxPercent: 200}
				delete(o.tasks, "w3")
			})
		}, []string{"lost write: UpdateService of web to desiredCount 3 acknowledged at 12:00:05.000, but service web has desiredCount 2 in the state observed at 12:00:09.000"}},
		{"an acknowledged service vanishes", func(h *history) {
			during(h, 3, 3, func(o *observed) { delete(o.services, "web") })
		}, []string{"lost write: CreateService of web to desiredCount 2 acknowledged at 12:00:00.500, but there is no service web"}},
		{"a failed call with a clientToken ran twice", func(h *history) {
			during(h, 2, 20, func(o *observed) {
				o.tasks["r2"] = taskState{instance: "i2", last: "RUNNING", desired: "RUNNING", startedBy: "tok-2", memory: 32}
				o.tasks["r3"] = taskState{instance: "i2", last: "RUNNING", desired: "RUNNING", startedBy: "tok-2", memory: 32}
			})
		}, []string{"run twice: RunTask with clientToken tok-2 (answered at 12:00:01.500, acknowledged false) asked for 1 tasks; 2 were observed: r2, r3"}},
		{"an acknowledged call with a clientToken also ran another task", func(h *history) {
			during(h, 10, 20, func(o *observed) {
				o.tasks["r9"] = taskState{instance: "i2", last: "RUNNING", desired: "RUNNING", startedBy: "tok-1", memory: 32}
			})
		}, []string{"run twice: RunTask with clientToken tok-1 (answered at 12:00:01.000, acknowledged true) asked for 1 tasks; 2 were observed: r1, r9"}},
		{"an instance over its memory for one state", func(h *history) {
			during(h, 7, 7, func(o *observed) {
				o.tasks["big"] = taskState{instance: "i1", last: "PENDING", desired: "RUNNING", memory: 900}
			})
		}, []string{"over capacity: instance i1 registered 1024 MiB and 1024 CPU units, but at 12:00:07.000 (through http://s1:8080) tasks not STOPPED on it reserved 1092 MiB and 192 CPU units: big, w1, w2, w3 (over in 1 of 21 states)"}},
		{"an instance over its CPU", func(h *history) {
			during(h, 7, 8, func(o *observed) {
				o.tasks["hot"] = taskState{instance: "i2", last: "RUNNING", desired: "RUNNING", cpu: 1025}
			})
		}, []string{"over capacity: instance i2 registered 1024 MiB and 1024 CPU units, but at 12:00:07.000 (through http://s1:8080) tasks not STOPPED on it reserved 0 MiB and 1025 CPU units: hot (over in 2 of 21 states)"}},
		{"remaining resources that do not add up at the end", func(h *history) {
			last := &h.states[len(h.states)-1]
			in := last.instances["i1"]
			in.freeMemory += 64
			last.instances["i1"] = in
		}, []string{"capacity accounting: at the end (12:00:20.000, through http://s1:8080) instance i1 registered 1024 MiB and 1024 CPU units and has 896 and 832 remaining, but its tasks reserve 192 and 192"}},
		{"above maximumPercent on connected instances for longer than the grace", func(h *history) {
			during(h, 8, 19, func(o *observed) {
				for i := 4; i <= 7; i++ {
					o.tasks[fmt.Sprintf("w%d", i)] = webTask("i2", "PENDING")
				}
			})
		}, []string{"above maximumPercent: service web had more than 200% of desiredCount 3 (6) tasks RUNNING or PENDING on connected instances from 12:00:08.000 until 12:00:20.000 (12s, longer than the partition timeout 10s); at the peak, 12:00:08.000 through http://s1:8080, 7 (0 of them stale): w1, w2, w3, w4, w5, w6, w7"}},
		{"above maximumPercent with stale copies for longer than the grace", func(h *history) {
			during(h, 8, 20, func(o *observed) {
				in := o.instances["i2"]
				in.connected = false
				o.instances["i2"] = in
				for i := 4; i <= 7; i++ {
					o.tasks[fmt.Sprintf("w%d", i)] = webTask("i2", "RUNNING")
				}
			})
			// The stale copies go when their agent is back.
			during(h, 20, 20, func(o *observed) {
				for i := 4; i <= 7; i++ {
					o.tasks[fmt.Sprintf("w%d", i)] = taskState{instance: "i2", last: "STOPPED", desired: "STOPPED", group: "service:web", memory: 64, cpu: 64}
				}
			})
		}, []string{"above maximumPercent: service web had more than 200% of desiredCount 3 (6) tasks RUNNING or PENDING counting the stale copies on disconnected instances from 12:00:08.000 until 12:00:20.000 (12s, longer than the partition timeout 10s); at the peak, 12:00:08.000 through http://s1:8080, 7 (4 of them stale)"}},
		{"still above maximumPercent at the end", func(h *history) {
			during(h, 5, 20, func(o *observed) {
				for i := 4; i <= 7; i++ {
					o.tasks[fmt.Sprintf("x%d", i)] = webTask("i2", "PENDING")
				}
			})
		}, []string{"above maximumPercent: service web had more than 200% of desiredCount 3 (6) tasks RUNNING or PENDING on connected instances from 12:00:05.000 still at the end, 12:00:20.000 (15s"}},
		{"a service short of its desired count at the end", func(h *history) {
			during(h, 20, 20, func(o *observed) { o.tasks["w3"] = webTask("i1", "PENDING") })
		}, []string{"not converged: at the end (12:00:20.000, through http://s1:8080) service web has desiredCount 3 but 2 tasks RUNNING: w1, w2"}},
		{"a stale copy still running at the end", func(h *history) {
			during(h, 15, 20, func(o *observed) {
				o.tasks["w9"] = taskState{instance: "i2", last: "RUNNING", desired: "STOPPED", group: "service:web", memory: 64, cpu: 64}
			})
		}, []string{"not converged: at the end (12:00:20.000, through http://s1:8080) service web has desiredCount 3 but 4 tasks RUNNING: w1, w2, w3, w9"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := cleanHistory()
			tc.break_(h)
			got := h.violations()
			for _, w := range tc.want {
				found := false
				for _, v := range got {
					found = found || strings.HasPrefix(v, w)
				}
				if !found {
					t.Errorf("violations = %q; want one beginning %q", got, w)
				}
			}
			for _, v := range got {
				ok := false
				for _, w := range tc.want {
					ok = ok || strings.HasPrefix(v, w)
				}
				if !ok {
					t.Errorf("unexpected violation %q", v)
				}
			}
		})
	}
}

// A surplus that goes within the partition timeout is no violation.
func TestCheckerAllowsShortSurplus(t *testing.T) {
	h := cleanHistory()
	during(h, 8, 17, func(o *observed) {
		for i := 4; i <= 7; i++ {
			o.tasks[fmt.Sprintf("w%d", i)] = webTask("i2", "RUNNING")
		}
	})
	if v := h.violations(); len(v) != 0 {
		t.Fatalf("violations of a surplus lasting 10 s with a 10 s grace = %q; want none", v)
	}
}
