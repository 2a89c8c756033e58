package ha

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// limits are the bounds a history is judged by.
type limits struct {
	// lag is how soon after its answer a write must show in what any
	// server answers (servers read through caches that follow the store).
	lag time.Duration
	// grace is the partition timeout, the servers' --agent-timeout: a task
	// whose agent is cut off counts for this long before it is replaced,
	// so a service may be above maximumPercent for as long.
	grace time.Duration
}

// violations checks the invariants on the history: no acknowledged write
// lost, no call with a clientToken run twice, no instance over capacity, no
// service above maximumPercent for longer than the grace, and every service
// at its desired count in the last state. It is pure: the history in, one
// message per violation out, with the times and ARNs involved.
func (h *history) violations() []string {
	var out []string
	out = append(out, h.lostWrites()...)
	out = append(out, h.runTwice()...)
	out = append(out, h.overCapacity()...)
	out = append(out, h.overMaximum()...)
	out = append(out, h.unconverged()...)
	return out
}

// lostWrites: every state observed lag or more after an acknowledged call
// holds what the call wrote (until a later acknowledged call of the same
// service changes its desiredCount).
func (h *history) lostWrites() []string {
	var out []string
	for _, c := range h.calls {
		if !c.acked {
			continue
		}
		for _, o := range h.states {
			if o.at.Before(c.at.Add(h.limits.lag)) || h.superseded(c, o.at) {
				continue
			}
			if why := missing(c, o); why != "" {
				out = append(out, fmt.Sprintf("lost write: %s acknowledged at %s, but %s in the state observed at %s through %s",
					c, stamp(c.at), why, stamp(o.at), o.server))
				break
			}
		}
	}
	return out
}

// superseded says whether a later acknowledged call, answered by then,
// set the desiredCount that c set.
func (h *history) superseded(c call, by time.Time) bool {
	if c.desired == nil {
		return false
	}
	for _, later := range h.calls {
		if later.acked && later.desired != nil && later.service == c.service && later.at.After(c.at) && !later.at.After(by) {
			return true
		}
	}
	return false
}

// missing says what of c's write the state lacks, "" if nothing.
func missing(c call, o observed) string {
	switch c.op {
	case "RunTask":
		for _, arn := range c.tasks {
			if _, ok := o.tasks[arn]; !ok {
				return "there is no task " + arn
			}
		}
	case "StopTask":
		t, ok := o.tasks[c.tasks[0]]
		switch {
		case !ok:
			return "there is no task " + c.tasks[0]
		case t.desired != "STOPPED":
			return fmt.Sprintf("task %s is desired %s", c.tasks[0], t.desired)
		}
	case "CreateService", "UpdateService":
		s, ok := o.services[c.service]
		switch {
		case !ok:
			return "there is no service " + c.service
		case c.desired != nil && s.desired != *c.desired:
			return fmt.Sprintf("service %s has desiredCount %d", c.service, s.desired)
		}
	}
	return ""
}

func (c call) String() string {
	switch c.op {
	case "RunTask":
		s := "RunTask"
		if c.token != "" {
			s += " (clientToken " + c.token + ")"
		}
		return s + " of " + strings.Join(c.tasks, ", ")
	case "StopTask":
		return "StopTask of " + c.tasks[0]
	}
	if c.desired != nil {
		return fmt.Sprintf("%s of %s to desiredCount %d", c.op, c.service, *c.desired)
	}
	return c.op + " of " + c.service
}

// runTwice: a RunTask call with a clientToken ran at most once, acknowledged
// or not, and an acknowledged one ran exactly the tasks it answered. A call
// is traced by its startedBy, when no other call used the same.
func (h *history) runTwice() []string {
	uses := map[string]int{}
	for _, c := range h.calls {
		if c.op == "RunTask" && c.startedBy != "" {
			uses[c.startedBy]++
		}
	}
	started := map[string][]string{} // startedBy → every task ever observed with it
	for _, o := range h.states {
		for arn, t := range o.tasks {
			if uses[t.startedBy] == 1 && !slices.Contains(started[t.startedBy], arn) {
				started[t.startedBy] = append(started[t.startedBy], arn)
			}
		}
	}
	var out []string
	for _, c := range h.calls {
		if c.op != "RunTask" || c.token == "" || uses[c.startedBy] != 1 {
			continue
		}
		got := started[c.startedBy]
		slices.Sort(got)
		switch {
		case len(got) > int(c.count):
			out = append(out, fmt.Sprintf("run twice: RunTask with clientToken %s (answered at %s, acknowledged %v) asked for %d tasks; %d were observed: %s",
				c.token, stamp(c.at), c.acked, c.count, len(got), strings.Join(got, ", ")))
		case c.acked:
			for _, arn := range got {
				if !slices.Contains(c.tasks, arn) {
					out = append(out, fmt.Sprintf("run twice: RunTask with clientToken %s answered %s at %s, but task %s was also observed for it",
						c.token, strings.Join(c.tasks, ", "), stamp(c.at), arn))
				}
			}
		}
	}
	return out
}

// overCapacity: in every state, the memory and CPU reserved by the tasks
// not STOPPED on an instance fit what it registered; in the last state,
// which is settled, what it has remaining is exactly the rest.
func (h *history) overCapacity() []string {
	var out []string
	seen := map[string]int{} // instance → states in which it was over
	first := map[string]string{}
	for i, o := range h.states {
		for arn, u := range usage(o) {
			in, ok := o.instances[arn]
			if !ok {
				continue
			}
			if u.memory > in.memory || u.cpu > in.cpu {
				if seen[arn] == 0 {
					first[arn] = fmt.Sprintf("over capacity: instance %s registered %d MiB and %d CPU units, but at %s (through %s) tasks not STOPPED on it reserved %d MiB and %d CPU units: %s",
						arn, in.memory, in.cpu, stamp(o.at), o.server, u.memory, u.cpu, strings.Join(u.tasks, ", "))
				}
				seen[arn]++
			}
			if i == len(h.states)-1 && (in.memory-in.freeMemory != u.memory || in.cpu-in.freeCPU != u.cpu) {
				out = append(out, fmt.Sprintf("capacity accounting: at the end (%s, through %s) instance %s registered %d MiB and %d CPU units and has %d and %d remaining, but its tasks reserve %d and %d: %s",
					stamp(o.at), o.server, arn, in.memory, in.cpu, in.freeMemory, in.freeCPU, u.memory, u.cpu, strings.Join(u.tasks, ", ")))
			}
		}
	}
	for _, arn := range sortedKeys(first) {
		out = append(out, fmt.Sprintf("%s (over in %d of %d states)", first[arn], seen[arn], len(h.states)))
	}
	return out
}

type reserved struct {
	memory, cpu int32
	tasks       []string
}

// usage sums the reservations of the tasks not STOPPED by instance. An
// instance none of whose tasks is present is there too, at zero, so that
// the last state's accounting covers it.
func usage(o observed) map[string]*reserved {
	out := map[string]*reserved{}
	for arn := range o.instances {
		out[arn] = &reserved{}
	}
	for _, arn := range sortedKeys(o.tasks) {
		t := o.tasks[arn]
		if t.last == "STOPPED" || t.instance == "" {
			continue
		}
		u := out[t.instance]
		if u == nil {
			u = &reserved{}
			out[t.instance] = u
		}
		u.memory += t.memory
		u.cpu += t.cpu
		u.tasks = append(u.tasks, arn)
	}
	return out
}

// overMaximum: a service's tasks RUNNING or on their way there stay within
// maximumPercent of its desiredCount, but for runs no longer than the
// grace. Counted twice: on connected instances, which the service scheduler
// controls, and with the stale copies on instances whose agent is
// disconnected added, which may well still run.
func (h *history) overMaximum() []string {
	names := map[string]bool{}
	for _, o := range h.states {
		for name := range o.services {
			names[name] = true
		}
	}
	var out []string
	for _, name := range sortedKeys(names) {
		connected := h.overRuns(name, false)
		for _, r := range connected {
			out = append(out, r.String(name, "on connected instances"))
		}
		for _, r := range h.overRuns(name, true) {
			if !slices.ContainsFunc(connected, r.overlaps) {
				out = append(out, r.String(name, "counting the stale copies on disconnected instances"))
			}
		}
	}
	return out
}

// overRun is a stretch of states in which a service was above its limit.
type overRun struct {
	from, to      time.Time // the first state over and the first one not (or the last state)
	peak          int
	stale         int // of the peak, on disconnected instances
	limit         int
	desired       int32
	maxPercent    int32
	peakAt        time.Time
	peakServer    string
	peakTasks     []string
	grace         time.Duration
	stillAtTheEnd bool
}

func (r overRun) overlaps(o overRun) bool { return !r.to.Before(o.from) && !o.to.Before(r.from) }

func (r overRun) String(service, how string) string {
	end := "until " + stamp(r.to)
	if r.stillAtTheEnd {
		end = "still at the end, " + stamp(r.to)
	}
	return fmt.Sprintf("above maximumPercent: service %s had more than %d%% of desiredCount %d (%d) tasks RUNNING or PENDING %s from %s %s (%v, longer than the partition timeout %v); at the peak, %s through %s, %d (%d of them stale): %s",
		service, r.maxPercent, r.desired, r.limit, how, stamp(r.from), end, r.to.Sub(r.from).Round(time.Millisecond), r.grace,
		stamp(r.peakAt), r.peakServer, r.peak, r.stale, strings.Join(r.peakTasks, ", "))
}

// overRuns finds the runs longer than the grace in which the service's
// count, with or without the stale copies, was above its limit.
func (h *history) overRuns(name string, withStale bool) []overRun {
	var out []overRun
	var cur *overRun
	for i, o := range h.states {
		s, ok := o.services[name]
		over := false
		var tasks []string
		stale, limit := 0, 0
		if ok && s.status == "ACTIVE" {
			limit = int(s.desired) * int(s.maxPercent) / 100
			for _, arn := range sortedKeys(o.tasks) {
				t := o.tasks[arn]
				if t.group != "service:"+name || !upOrComing(t.last) {
					continue
				}
				if in, ok := o.instances[t.instance]; ok && !in.connected {
					if !withStale {
						continue
					}
					stale++
				}
				tasks = append(tasks, arn)
			}
			over = len(tasks) > limit
		}
		if over && cur == nil {
			cur = &overRun{from: o.at, desired: s.desired, maxPercent: s.maxPercent, grace: h.limits.grace}
		}
		if over && len(tasks) > cur.peak {
			cur.peak, cur.stale, cur.limit, cur.peakAt, cur.peakServer, cur.peakTasks = len(tasks), stale, limit, o.at, o.server, tasks
			cur.desired, cur.maxPercent = s.desired, s.maxPercent
		}
		last := i == len(h.states)-1
		if cur != nil && (!over || last) {
			cur.to, cur.stillAtTheEnd = o.at, over
			if cur.to.Sub(cur.from) > h.limits.grace {
				out = append(out, *cur)
			}
			cur = nil
		}
	}
	return out
}

// upOrComing: the statuses ECS counts against maximumPercent, RUNNING and
// those before it.
func upOrComing(last string) bool {
	switch last {
	case "PROVISIONING", "PENDING", "ACTIVATING", "RUNNING":
		return true
	}
	return false
}

// unconverged: in the last state every ACTIVE service runs exactly its
// desiredCount of tasks.
func (h *history) unconverged() []string {
	o := h.states[len(h.states)-1]
	var out []string
	for _, name := range sortedKeys(o.services) {
		s := o.services[name]
		if s.status != "ACTIVE" {
			continue
		}
		if run := runningTasks(o, name); len(run) != int(s.desired) {
			out = append(out, fmt.Sprintf("not converged: at the end (%s, through %s) service %s has desiredCount %d but %d tasks RUNNING: %s",
				stamp(o.at), o.server, name, s.desired, len(run), strings.Join(run, ", ")))
		}
	}
	return out
}

// runningTasks are the service's tasks whose lastStatus is RUNNING.
func runningTasks(o observed, service string) []string {
	var out []string
	for _, arn := range sortedKeys(o.tasks) {
		if t := o.tasks[arn]; t.group == "service:"+service && t.last == "RUNNING" {
			out = append(out, arn)
		}
	}
	return out
}

func stamp(t time.Time) string { return t.Format("15:04:05.000") }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
