package ecsapi

import (
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
)

func TestValidateDeploymentConfiguration(t *testing.T) {
	p := model.Ptr[int32]
	cases := []struct {
		name string
		dc   *model.DeploymentConfiguration
		ok   bool
	}{
		{"none", nil, true},
		{"ECS defaults", &model.DeploymentConfiguration{MinimumHealthyPercent: p(100), MaximumPercent: p(200)}, true},
		{"min 0", &model.DeploymentConfiguration{MinimumHealthyPercent: p(0)}, true},
		{"min negative", &model.DeploymentConfiguration{MinimumHealthyPercent: p(-1)}, false},
		{"min above 100", &model.DeploymentConfiguration{MinimumHealthyPercent: p(101)}, false},
		{"max below 100", &model.DeploymentConfiguration{MaximumPercent: p(99)}, false},
		{"circuit breaker without rollback", &model.DeploymentConfiguration{DeploymentCircuitBreaker: &model.DeploymentCircuitBreaker{Enable: model.Ptr(true)}}, false},
		{"circuit breaker", &model.DeploymentConfiguration{DeploymentCircuitBreaker: &model.DeploymentCircuitBreaker{Enable: model.Ptr(true), Rollback: model.Ptr(false)}}, true},
		{"blue/green", &model.DeploymentConfiguration{Strategy: model.DeploymentStrategyBlueGreen}, false},
		{"alarms on", &model.DeploymentConfiguration{Alarms: &model.DeploymentAlarms{Enable: model.Ptr(true), Rollback: model.Ptr(true)}}, false},
		{"alarms off", &model.DeploymentConfiguration{Alarms: &model.DeploymentAlarms{Enable: model.Ptr(false), Rollback: model.Ptr(false)}}, true},
	}
	for _, tc := range cases {
		if err := validateDeploymentConfiguration(tc.dc); (err == nil) != tc.ok {
			t.Errorf("validateDeploymentConfiguration(%s) = %v; want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestMergeDeploymentConfiguration(t *testing.T) {
	d := mergeDeploymentConfiguration(nil, nil, model.SchedulingStrategyDaemon)
	if model.Val(d.MinimumHealthyPercent) != 0 || model.Val(d.MaximumPercent) != 100 || model.Val(d.DeploymentCircuitBreaker.Enable) {
		t.Errorf("DAEMON defaults = %+v; want 0/100, breaker off", d)
	}
	r := mergeDeploymentConfiguration(nil, &model.DeploymentConfiguration{MaximumPercent: model.Ptr[int32](150)}, model.SchedulingStrategyReplica)
	if model.Val(r.MinimumHealthyPercent) != 100 || model.Val(r.MaximumPercent) != 150 {
		t.Errorf("REPLICA with maximum 150 = %d/%d; want 100/150", model.Val(r.MinimumHealthyPercent), model.Val(r.MaximumPercent))
	}
	u := mergeDeploymentConfiguration(r, &model.DeploymentConfiguration{MinimumHealthyPercent: model.Ptr[int32](50)}, model.SchedulingStrategyReplica)
	if model.Val(u.MinimumHealthyPercent) != 50 || model.Val(u.MaximumPercent) != 150 || model.Val(r.MinimumHealthyPercent) != 100 {
		t.Errorf("update of the minimum = %d/%d (current now %d); want 50/150 and the current untouched",
			model.Val(u.MinimumHealthyPercent), model.Val(u.MaximumPercent), model.Val(r.MinimumHealthyPercent))
	}
}

func TestServiceRefName(t *testing.T) {
	cases := []struct {
		ref, cluster, name string
		ok                 bool
	}{
		{"web", "", "web", true},
		{"arn:aws:ecs:us-east-1:123456789012:service/prod/web", "prod", "web", true},
		{"arn:aws:ecs:us-east-1:123456789012:service/web", "", "web", true},
		{"arn:aws:ecs:us-east-1:123456789012:task/prod/web", "", "", false},
		{"arn:aws:ecs:us-east-1:123456789012:service/a/b/c", "", "", false},
		{"we b", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range cases {
		cluster, name, err := serviceRefName(tc.ref)
		if (err == nil) != tc.ok || tc.ok && (cluster != tc.cluster || name != tc.name) {
			t.Errorf("serviceRefName(%q) = %q, %q, %v; want %q, %q, ok=%v", tc.ref, cluster, name, err, tc.cluster, tc.name, tc.ok)
		}
	}
}

func TestValidateDesiredCount(t *testing.T) {
	n := model.Ptr[int32]
	cases := []struct {
		strategy model.SchedulingStrategy
		count    *int32
		required bool
		ok       bool
	}{
		{model.SchedulingStrategyReplica, n(3), true, true},
		{model.SchedulingStrategyReplica, nil, true, false},
		{model.SchedulingStrategyReplica, nil, false, true},
		{model.SchedulingStrategyReplica, n(-1), false, false},
		{model.SchedulingStrategyDaemon, nil, true, true},
		{model.SchedulingStrategyDaemon, n(1), false, false},
	}
	for _, tc := range cases {
		if err := validateDesiredCount(tc.strategy, tc.count, tc.required); (err == nil) != tc.ok {
			t.Errorf("validateDesiredCount(%s, %v, required=%v) = %v; want ok=%v", tc.strategy, model.Val(tc.count), tc.required, err, tc.ok)
		}
	}
}
