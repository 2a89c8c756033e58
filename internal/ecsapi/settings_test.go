package ecsapi_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

const (
	settingsRootARN = "arn:aws:iam::123456789012:root"
	settingsUserARN = "arn:aws:iam::123456789012:user/alice"
	settingsRoleARN = "arn:aws:iam::123456789012:role/ci/deployer"
)

// effective lists every effective setting of principal ("" = the caller),
// walking all pages, as name → setting.
func settingsEffective(t *testing.T, c *ecs.Client, principal string) map[types.SettingName]types.Setting {
	t.Helper()
	in := &ecs.ListAccountSettingsInput{EffectiveSettings: true}
	if principal != "" {
		in.PrincipalArn = aws.String(principal)
	}
	out := map[types.SettingName]types.Setting{}
	p := ecs.NewListAccountSettingsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListAccountSettings(effective, %q): %v", principal, err)
		}
		for _, s := range page.Settings {
			if _, dup := out[s.Name]; dup {
				t.Errorf("setting %s listed twice", s.Name)
			}
			out[s.Name] = s
		}
	}
	return out
}

func TestAccountSettingsDefaults(t *testing.T) {
	s := ecstest.Start(t)
	want := map[types.SettingName]string{
		types.SettingNameServiceLongArnFormat:            "enabled",
		types.SettingNameTaskLongArnFormat:               "enabled",
		types.SettingNameContainerInstanceLongArnFormat:  "enabled",
		types.SettingNameAwsvpcTrunking:                  "disabled",
		types.SettingNameContainerInsights:               "disabled",
		types.SettingNameFargateFipsMode:                 "disabled",
		types.SettingNameTagResourceAuthorization:        "on",
		types.SettingNameFargateTaskRetirementWaitPeriod: "7",
		types.SettingNameGuardDutyActivate:               "off",
		types.SettingNameDefaultLogDriverMode:            "non-blocking",
		types.SettingNameFargateEventWindows:             "disabled",
	}
	got := settingsEffective(t, s.Client, "")
	if len(got) != len(want) {
		t.Errorf("effective settings = %d; want %d", len(got), len(want))
	}
	for name, v := range want {
		st, ok := got[name]
		if !ok {
			t.Errorf("effective settings lack %s", name)
			continue
		}
		if aws.ToString(st.Value) != v || aws.ToString(st.PrincipalArn) != settingsRootARN {
			t.Errorf("%s = %q from %q; want %q from %q", name, aws.ToString(st.Value), aws.ToString(st.PrincipalArn), v, settingsRootARN)
		}
	}
	if ty := got[types.SettingNameGuardDutyActivate].Type; ty != types.SettingTypeAwsManaged {
		t.Errorf("guardDutyActivate type = %q; want aws_managed", ty)
	}

	// Pages of 4: 11 settings come in 3 pages.
	pages := 0
	p := ecs.NewListAccountSettingsPaginator(s.Client, &ecs.ListAccountSettingsInput{EffectiveSettings: true, MaxResults: 4})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Settings) > 4 {
			t.Errorf("page %d has %d settings; want at most 4", pages, len(page.Settings))
		}
	}
	if pages != 3 {
		t.Errorf("pages of 4 = %d; want 3", pages)
	}

	// Nothing was put, so nothing is listed without effectiveSettings.
	out, err := s.Client.ListAccountSettings(context.Background(), &ecs.ListAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Settings) != 0 {
		t.Errorf("explicit settings before any put = %+v; want none", out.Settings)
	}
}

func TestAccountSettingDefaultAndOverride(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	def, err := s.Client.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{
		Name: types.SettingNameContainerInsights, Value: aws.String("enabled"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(def.Setting.PrincipalArn) != settingsRootARN || aws.ToString(def.Setting.Value) != "enabled" {
		t.Errorf("PutAccountSettingDefault = %+v; want enabled for %s", def.Setting, settingsRootARN)
	}
	put, err := s.Client.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{
		Name: types.SettingNameContainerInsights, Value: aws.String("enhanced"), PrincipalArn: aws.String(settingsUserARN),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.Setting.PrincipalArn) != settingsUserARN || put.Setting.Type != types.SettingTypeUser {
		t.Errorf("PutAccountSetting = %+v; want a user setting of %s", put.Setting, settingsUserARN)
	}

	check := func(principal, wantValue, wantFrom string) {
		t.Helper()
		st := settingsEffective(t, s.Client, principal)[types.SettingNameContainerInsights]
		if aws.ToString(st.Value) != wantValue || aws.ToString(st.PrincipalArn) != wantFrom {
			t.Errorf("containerInsights for %q = %q from %q; want %q from %q", principal, aws.ToString(st.Value), aws.ToString(st.PrincipalArn), wantValue, wantFrom)
		}
	}
	check(settingsUserARN, "enhanced", settingsUserARN) // own override
	check(settingsRoleARN, "enabled", settingsRootARN)  // account default
	check("", "enabled", settingsRootARN)               // the caller is the root user

	// The user's explicit list holds only what was put for the user.
	own, err := s.Client.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{PrincipalArn: aws.String(settingsUserARN)})
	if err != nil {
		t.Fatal(err)
	}
	if len(own.Settings) != 1 || own.Settings[0].Name != types.SettingNameContainerInsights {
		t.Errorf("explicit settings of user = %+v; want containerInsights only", own.Settings)
	}

	// The account default reaches new clusters.
	c := clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("insightful")})
	if v := clustersSetting(c.Settings, types.ClusterSettingNameContainerInsights); v != "enabled" {
		t.Errorf("new cluster containerInsights = %q; want the account default enabled", v)
	}

	// Deleting the override falls back to the account default; deleting that
	// falls back to ECS's default. A repeated delete still succeeds.
	del, err := s.Client.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{
		Name: types.SettingNameContainerInsights, PrincipalArn: aws.String(settingsUserARN),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(del.Setting.Value) != "enhanced" {
		t.Errorf("DeleteAccountSetting answered %+v; want the deleted value enhanced", del.Setting)
	}
	check(settingsUserARN, "enabled", settingsRootARN)
	if _, err := s.Client.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{Name: types.SettingNameContainerInsights}); err != nil {
		t.Fatal(err)
	}
	check(settingsUserARN, "disabled", settingsRootARN)
	if _, err := s.Client.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{Name: types.SettingNameContainerInsights}); err != nil {
		t.Errorf("second DeleteAccountSetting: %v; want success", err)
	}
}

func TestListAccountSettingsFilters(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	for name, v := range map[types.SettingName]string{
		types.SettingNameAwsvpcTrunking:       "enabled",
		types.SettingNameDefaultLogDriverMode: "blocking",
	} {
		if _, err := s.Client.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: name, Value: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(in *ecs.ListAccountSettingsInput) []types.Setting {
		t.Helper()
		out, err := s.Client.ListAccountSettings(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.Settings
	}
	if got := list(&ecs.ListAccountSettingsInput{}); len(got) != 2 {
		t.Errorf("explicit settings = %+v; want the 2 put", got)
	}
	if got := list(&ecs.ListAccountSettingsInput{Name: types.SettingNameAwsvpcTrunking, Value: aws.String("enabled")}); len(got) != 1 {
		t.Errorf("name+value match = %+v; want 1", got)
	}
	if got := list(&ecs.ListAccountSettingsInput{Name: types.SettingNameAwsvpcTrunking, Value: aws.String("disabled")}); len(got) != 0 {
		t.Errorf("name+value mismatch = %+v; want none", got)
	}
	got := list(&ecs.ListAccountSettingsInput{Name: types.SettingNameTagResourceAuthorization, EffectiveSettings: true})
	if len(got) != 1 || aws.ToString(got[0].Value) != "on" {
		t.Errorf("effective tagResourceAuthorization = %+v; want the default on", got)
	}
}

func TestAccountSettingsSurviveRestart(t *testing.T) {
	s := ecstest.Start(t)
	if _, err := s.Client.PutAccountSetting(context.Background(), &ecs.PutAccountSettingInput{
		Name: types.SettingNameFargateTaskRetirementWaitPeriod, Value: aws.String("14"),
	}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s2 := ecstest.StartWith(t, ecstest.Options{DataDir: s.DataDir})
	if v := aws.ToString(settingsEffective(t, s2.Client, "")[types.SettingNameFargateTaskRetirementWaitPeriod].Value); v != "14" {
		t.Errorf("fargateTaskRetirementWaitPeriod after restart = %q; want 14", v)
	}
}

func TestAccountSettingsRejectBadInput(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	put := func(name types.SettingName, value, principal string) error {
		in := &ecs.PutAccountSettingInput{Name: name, Value: aws.String(value)}
		if principal != "" {
			in.PrincipalArn = aws.String(principal)
		}
		_, err := s.Client.PutAccountSetting(ctx, in)
		return err
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"unknown name", func() error { return put("dualStackIPv7", "enabled", "") }},
		{"arn format on/off", func() error { return put(types.SettingNameTaskLongArnFormat, "on", "") }},
		{"trunking yes", func() error { return put(types.SettingNameAwsvpcTrunking, "yes", "") }},
		{"insights upper case", func() error { return put(types.SettingNameContainerInsights, "ENABLED", "") }},
		{"tag authorization enabled", func() error { return put(types.SettingNameTagResourceAuthorization, "enabled", "") }},
		{"retirement 3 days", func() error { return put(types.SettingNameFargateTaskRetirementWaitPeriod, "3", "") }},
		{"retirement for a user", func() error { return put(types.SettingNameFargateTaskRetirementWaitPeriod, "14", settingsUserARN) }},
		{"log mode", func() error { return put(types.SettingNameDefaultLogDriverMode, "async", "") }},
		{"empty value", func() error { return put(types.SettingNameAwsvpcTrunking, "", "") }},
		{"guard duty is read-only", func() error { return put(types.SettingNameGuardDutyActivate, "on", "") }},
		{"other account", func() error { return put(types.SettingNameAwsvpcTrunking, "enabled", "arn:aws:iam::999999999999:root") }},
		{"not an IAM ARN", func() error { return put(types.SettingNameAwsvpcTrunking, "enabled", "alice") }},
		{"assumed role", func() error {
			return put(types.SettingNameAwsvpcTrunking, "enabled", "arn:aws:sts::123456789012:assumed-role/r/s")
		}},
		{"group", func() error {
			return put(types.SettingNameAwsvpcTrunking, "enabled", "arn:aws:iam::123456789012:group/devs")
		}},
		{"default of read-only", func() error {
			_, err := s.Client.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{Name: types.SettingNameGuardDutyActivate, Value: aws.String("on")})
			return err
		}},
		{"delete read-only", func() error {
			_, err := s.Client.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{Name: types.SettingNameGuardDutyActivate})
			return err
		}},
		{"delete unknown", func() error {
			_, err := s.Client.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{Name: "nope"})
			return err
		}},
		{"list value without name", func() error {
			_, err := s.Client.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{Value: aws.String("enabled")})
			return err
		}},
		{"list 11 per page", func() error {
			_, err := s.Client.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{MaxResults: 11})
			return err
		}},
		{"list bad token", func() error {
			_, err := s.Client.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{NextToken: aws.String("garbage!")})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ecstest.WantCode(t, tc.call(), "InvalidParameterException")
		})
	}
	// A token issued for one principal does not page another's settings.
	page, err := s.Client.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{EffectiveSettings: true, MaxResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Client.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{
		EffectiveSettings: true, PrincipalArn: aws.String(settingsUserARN), NextToken: page.NextToken,
	})
	ecstest.WantCode(t, err, "InvalidParameterException")

	for _, who := range []string{"", settingsUserARN} {
		out, err := s.Client.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{PrincipalArn: aws.String(who)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Settings) != 0 {
			t.Errorf("after rejected writes, explicit settings of %q = %+v; want none", who, out.Settings)
		}
	}
}
