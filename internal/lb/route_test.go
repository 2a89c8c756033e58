package lb

import (
	"testing"

	"github.com/wharf-ecs/wharf/internal/state"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		fold, want bool
	}{
		{"/api/*", "/api/users", false, true},
		{"/api/*", "/api/", false, true},
		{"/api/*", "/api", false, false},
		{"/api/*", "/API/users", false, false},
		{"*.example.com", "www.example.com", true, true},
		{"*.example.com", "example.com", true, false},
		{"www.example.com", "WWW.Example.COM", true, true},
		{"/img/?.png", "/img/a.png", false, true},
		{"/img/?.png", "/img/ab.png", false, false},
		{"*", "", false, true},
		{"/a*b*c", "/axxbyyc", false, true},
		{"/a*b*c", "/axxbyy", false, false},
		{"", "", false, true},
		{"", "x", false, false},
	}
	for _, c := range cases {
		if got := glob(c.pattern, c.s, c.fold); got != c.want {
			t.Errorf("glob(%q, %q, %t) = %t; want %t", c.pattern, c.s, c.fold, got, c.want)
		}
	}
}

func TestRoutesMatch(t *testing.T) {
	groups := map[string]*group{"api": {arn: "api"}, "web": {arn: "web"}, "admin": {arn: "admin"}}
	fwd := func(arn string) []state.ELBAction {
		return []state.ELBAction{{Type: "forward", TargetGroupArn: arn}}
	}
	rs := compileRules([]Rule{
		{Priority: 1, Conditions: []state.RuleCondition{
			{Field: "host-header", Values: []string{"admin.example.com"}},
			{Field: "path-pattern", Values: []string{"/admin/*"}},
		}, Actions: fwd("admin")},
		{Priority: 2, Conditions: []state.RuleCondition{{Field: "path-pattern", Values: []string{"/api/*", "/v2/*"}}}, Actions: fwd("api")},
		{Priority: 3, Conditions: []state.RuleCondition{{Field: "query-string", Values: []string{"x"}}}, Actions: fwd("api")},
		{Actions: fwd("web")},
	}, groups)
	cases := []struct{ host, path, want string }{
		{"admin.example.com", "/admin/users", "admin"},
		{"ADMIN.example.com:8080", "/admin/x", "admin"},
		{"other.example.com", "/admin/users", "web"},
		{"x", "/api/v1", "api"},
		{"x", "/v2/y", "api"},
		{"x", "/", "web"},
	}
	for _, c := range cases {
		a := rs.match(c.host, c.path)
		if a == nil || a.group() == nil || a.group().arn != c.want {
			t.Errorf("match(%q, %q) = %+v; want %s", c.host, c.path, a, c.want)
		}
	}
}

func TestWeightedForward(t *testing.T) {
	groups := map[string]*group{"a": {arn: "a"}, "b": {arn: "b"}}
	w1, w3 := int32(1), int32(3)
	act := compileAction([]state.ELBAction{{Type: "forward", Forward: []state.WeightedTargetGroup{
		{TargetGroupArn: "a", Weight: &w1}, {TargetGroupArn: "b", Weight: &w3}}}}, groups)
	counts := map[string]int{}
	for range 400 {
		counts[act.group().arn]++
	}
	if counts["a"] != 100 || counts["b"] != 300 {
		t.Errorf("weighted 1:3 over 400 requests = %v; want a 100, b 300", counts)
	}
}
