package lb

import (
	"net"
	"strings"
	"sync/atomic"

	"github.com/wharf-ecs/wharf/internal/state"
)

// routes is a listener's compiled rules, in the order they are evaluated:
// by priority, the default rule last. A listener swaps its routes whole when
// the configuration changes.
type routes struct {
	rules []route
}

type route struct {
	paths  [][]string // each condition's values; a request must match one of each
	hosts  [][]string
	action action
}

// action is what a matching rule does: forward to weighted groups, or answer
// a fixed response.
type action struct {
	groups  []*group
	weights []int32 // nil: equal
	total   int64
	next    *atomic.Uint64
	fixed   *state.FixedResponse
	missing bool // the action forwards to a group this node does not know
}

// compileRules builds a listener's routes, looking target groups up in
// groups.
func compileRules(rules []Rule, groups map[string]*group) *routes {
	rs := &routes{}
	for _, r := range rules {
		var rt route
		for _, c := range r.Conditions {
			switch c.Field {
			case "path-pattern":
				rt.paths = append(rt.paths, c.Values)
			case "host-header":
				vals := make([]string, len(c.Values))
				for i, v := range c.Values {
					vals[i] = strings.ToLower(v)
				}
				rt.hosts = append(rt.hosts, vals)
			default:
				// A condition this node cannot evaluate never matches.
				rt.paths = append(rt.paths, nil)
			}
		}
		rt.action = compileAction(r.Actions, groups)
		rs.rules = append(rs.rules, rt)
	}
	return rs
}

func compileAction(acts []state.ELBAction, groups map[string]*group) action {
	a := action{next: new(atomic.Uint64)}
	if len(acts) == 0 {
		a.missing = true
		return a
	}
	act := acts[len(acts)-1] // the terminal action
	if act.Type == "fixed-response" {
		a.fixed = act.FixedResponse
		if a.fixed == nil {
			a.fixed = &state.FixedResponse{StatusCode: "503"}
		}
		return a
	}
	arns := act.TargetGroupArns()
	weighted := len(act.Forward) > 1
	for i, arn := range arns {
		g := groups[arn]
		if g == nil {
			a.missing = true
			continue
		}
		w := int32(1)
		if weighted && act.Forward[i].Weight != nil {
			w = *act.Forward[i].Weight
		}
		a.groups = append(a.groups, g)
		a.weights = append(a.weights, w)
		a.total += int64(w)
	}
	return a
}

// group picks the target group of one request, by weight.
func (a *action) group() *group {
	switch {
	case len(a.groups) == 1:
		return a.groups[0]
	case a.total <= 0:
		return nil
	}
	n := int64(a.next.Add(1) % uint64(a.total))
	for i, w := range a.weights {
		n -= int64(w)
		if n < 0 {
			return a.groups[i]
		}
	}
	return nil
}

// match returns the action of the first rule the request meets.
func (rs *routes) match(host, path string) *action {
	host = hostOnly(host)
	for i := range rs.rules {
		r := &rs.rules[i]
		if matchAll(r.paths, path, false) && matchAll(r.hosts, host, true) {
			return &r.action
		}
	}
	return nil
}

func matchAll(conds [][]string, s string, fold bool) bool {
	for _, vals := range conds {
		ok := false
		for _, v := range vals {
			if glob(v, s, fold) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// hostOnly is the Host header without its port, lower-cased.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(h)
}

// glob matches s against pattern, where * matches any run of characters
// (none included) and ? exactly one. fold compares ASCII letters without
// case (the pattern is then lower case already).
func glob(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || eq(pattern[p], s[i], fold)):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func eq(p, c byte, fold bool) bool {
	if fold && c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	return p == c
}
