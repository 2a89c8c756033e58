package ecsapi

import (
	"context"
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
)

func TestValidateSettingWrite(t *testing.T) {
	cases := []struct {
		name  model.SettingName
		value string
		ok    bool
	}{
		{model.SettingNameServiceLongArnFormat, "enabled", true},
		{model.SettingNameTaskLongArnFormat, "disabled", true},
		{model.SettingNameContainerInstanceLongArnFormat, "on", false},
		{model.SettingNameAwsvpcTrunking, "enabled", true},
		{model.SettingNameContainerInsights, "enhanced", true},
		{model.SettingNameContainerInsights, "Enabled", false},
		{model.SettingNameFargateFIPSMode, "enabled", true},
		{model.SettingNameTagResourceAuthorization, "off", true},
		{model.SettingNameTagResourceAuthorization, "disabled", false},
		{model.SettingNameFargateTaskRetirementWaitPeriod, "0", true},
		{model.SettingNameFargateTaskRetirementWaitPeriod, "14", true},
		{model.SettingNameFargateTaskRetirementWaitPeriod, "30", false},
		{model.SettingNameGuardDutyActivate, "on", false},
		{model.SettingNameDefaultLogDriverMode, "blocking", true},
		{model.SettingNameDefaultLogDriverMode, "nonblocking", false},
		{model.SettingNameFargateEventWindows, "enabled", true},
		{model.SettingNameAwsvpcTrunking, "", false},
		{"", "enabled", false},
		{"dualStackIPv6", "enabled", false},
	}
	for _, tc := range cases {
		err := validateSettingWrite(tc.name, tc.value)
		if (err == nil) != tc.ok {
			t.Errorf("validateSettingWrite(%q, %q) = %v; want ok=%v", tc.name, tc.value, err, tc.ok)
		}
	}
	// Every name of the model has a rule, so no setting lists without a default.
	for _, n := range model.SettingName("").Values() {
		if r, ok := accountSettingRules[n]; !ok || r.def == "" {
			t.Errorf("setting %s has no rule or default", n)
		}
	}
}

func TestPrincipal(t *testing.T) {
	a := &API{arns: ARNs{Region: "us-east-1", Account: "123456789012"}}
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "arn:aws:iam::123456789012:root", true},
		{"arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root", true},
		{"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice", true},
		{"arn:aws:iam::123456789012:role/path/to/deployer", "arn:aws:iam::123456789012:role/path/to/deployer", true},
		{"arn:aws:iam::123456789012:role/", "", false},
		{"arn:aws:iam::123456789012:role/a/", "", false},
		{"arn:aws:iam::123456789012:user/al ice", "", false},
		{"arn:aws:iam::123456789012:group/devs", "", false},
		{"arn:aws:iam::210987654321:root", "", false},
		{"arn:aws:iam:us-east-1:123456789012:root", "", false},
		{"arn:aws:sts::123456789012:assumed-role/r/s", "", false},
		{"root", "", false},
	}
	for _, tc := range cases {
		got, err := a.principal(context.Background(), tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("principal(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
