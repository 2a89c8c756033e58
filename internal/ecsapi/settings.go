package ecsapi

import (
	"context"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func (a *API) registerAccountSettings(s *awsproto.Service) {
	awsproto.Handle(s, "PutAccountSetting", a.PutAccountSetting)
	awsproto.Handle(s, "PutAccountSettingDefault", a.PutAccountSettingDefault)
	awsproto.Handle(s, "DeleteAccountSetting", a.DeleteAccountSetting)
	awsproto.Handle(s, "ListAccountSettings", a.ListAccountSettings)
}

// accountSettingRule is what ECS accepts for one setting and what applies
// when nobody has set it.
type accountSettingRule struct {
	values []string
	def    string
	// awsManaged settings are read-only: AWS (here: nobody) sets them.
	awsManaged bool
	// rootOnly settings can be set for the whole account only.
	rootOnly bool
}

// accountSettingRules follows the ECS documentation of each setting. Wharf
// always issues long ARNs; the ARN-format settings are kept for clients that
// read or write them but change nothing.
var accountSettingRules = map[model.SettingName]accountSettingRule{
	model.SettingNameServiceLongArnFormat:            {values: []string{"enabled", "disabled"}, def: "enabled"},
	model.SettingNameTaskLongArnFormat:               {values: []string{"enabled", "disabled"}, def: "enabled"},
	model.SettingNameContainerInstanceLongArnFormat:  {values: []string{"enabled", "disabled"}, def: "enabled"},
	model.SettingNameAwsvpcTrunking:                  {values: []string{"enabled", "disabled"}, def: "disabled"},
	model.SettingNameContainerInsights:               {values: []string{"enabled", "enhanced", "disabled"}, def: "disabled"},
	model.SettingNameFargateFIPSMode:                 {values: []string{"enabled", "disabled"}, def: "disabled"},
	model.SettingNameTagResourceAuthorization:        {values: []string{"on", "off"}, def: "on"},
	model.SettingNameFargateTaskRetirementWaitPeriod: {values: []string{"0", "7", "14"}, def: "7", rootOnly: true},
	model.SettingNameGuardDutyActivate:               {values: []string{"on", "off"}, def: "off", awsManaged: true},
	model.SettingNameDefaultLogDriverMode:            {values: []string{"non-blocking", "blocking"}, def: "non-blocking"},
	model.SettingNameFargateEventWindows:             {values: []string{"enabled", "disabled"}, def: "disabled"},
}

func settingType(name model.SettingName) model.SettingType {
	if accountSettingRules[name].awsManaged {
		return model.SettingTypeAwsManaged
	}
	return model.SettingTypeUser
}

func validateSettingName(name model.SettingName) error {
	if name == "" {
		return invalidParam("name is required: give an account setting name, one of %s.", settingNames())
	}
	if !name.Valid() {
		return invalidParam("Unknown account setting name %q: use one of %s.", name, settingNames())
	}
	return nil
}

func settingNames() string {
	var names []string
	for _, n := range model.SettingName("").Values() {
		names = append(names, string(n))
	}
	return strings.Join(names, ", ")
}

// validateSettingWrite checks a name and value that a caller wants to store.
func validateSettingWrite(name model.SettingName, value string) error {
	if err := validateSettingName(name); err != nil {
		return err
	}
	rule := accountSettingRules[name]
	if rule.awsManaged {
		return invalidParam("The account setting %s is managed by AWS and is read-only; it cannot be set or deleted.", name)
	}
	if value == "" {
		return invalidParam("value is required: for %s use one of %s.", name, strings.Join(rule.values, ", "))
	}
	if !slices.Contains(rule.values, value) {
		return invalidParam("Invalid value %q for account setting %s: use one of %s.", value, name, strings.Join(rule.values, ", "))
	}
	return nil
}

// rootPrincipal is the account's root user, whose settings are the account
// defaults.
func (a *API) rootPrincipal() string { return "arn:aws:iam::" + a.arns.Account + ":root" }

// callerPrincipal is the IAM principal a request runs as. Requests are not
// authenticated yet, so every caller is the root user.
func (a *API) callerPrincipal(ctx context.Context) string { return a.rootPrincipal() }

// principal resolves an optional principalArn: the caller when empty, else an
// IAM root, user or role ARN of this account.
func (a *API) principal(ctx context.Context, arn string) (string, error) {
	if arn == "" {
		return a.callerPrincipal(ctx), nil
	}
	const form = "use arn:aws:iam::ACCOUNT:root, arn:aws:iam::ACCOUNT:user/NAME or arn:aws:iam::ACCOUNT:role/NAME"
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || !strings.HasPrefix(f[1], "aws") || f[2] != "iam" || f[3] != "" {
		return "", invalidParam("Invalid principalArn %q: %s.", arn, form)
	}
	if f[4] != a.arns.Account {
		return "", invalidParam("principalArn %q belongs to account %q; this endpoint serves account %s, and settings can only be changed for its own principals.", arn, f[4], a.arns.Account)
	}
	if f[5] == "root" {
		return arn, nil
	}
	kind, path, _ := strings.Cut(f[5], "/")
	if (kind != "user" && kind != "role") || !validIAMPath(path) {
		return "", invalidParam("Invalid principalArn %q: %s (federated users and assumed-role sessions follow the root user's settings and cannot have their own).", arn, form)
	}
	return arn, nil
}

// validIAMPath reports whether s is an IAM path and name: segments of
// [A-Za-z0-9+=,.@_-], joined by '/', the last one (the name) not empty.
func validIAMPath(s string) bool {
	if s == "" || len(s) > 512 || strings.HasSuffix(s, "/") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+=,.@_-/", c) >= 0) {
			return false
		}
	}
	return true
}

func (a *API) putSetting(ctx context.Context, principal string, name model.SettingName, value string) (*model.Setting, error) {
	s := model.Setting{Name: name, Value: value, PrincipalArn: principal, Type: settingType(name)}
	key := state.AccountSettingKey(principal, string(name))
	// A put replaces whatever was there without reading it, so it needs no
	// condition: the last writer wins, as in ECS.
	if _, err := a.st.Commit(ctx, store.Txn{Ops: []store.Op{state.Put(key, s)}}); err != nil {
		return nil, err
	}
	return &s, nil
}

func (a *API) PutAccountSetting(ctx context.Context, in *model.PutAccountSettingRequest) (*model.PutAccountSettingResponse, error) {
	if err := validateSettingWrite(in.Name, in.Value); err != nil {
		return nil, err
	}
	principal, err := a.principal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	if accountSettingRules[in.Name].rootOnly && principal != a.rootPrincipal() {
		return nil, invalidParam("The account setting %s applies to the whole account: set it for the root user (%s) or with PutAccountSettingDefault.", in.Name, a.rootPrincipal())
	}
	s, err := a.putSetting(ctx, principal, in.Name, in.Value)
	if err != nil {
		return nil, err
	}
	return &model.PutAccountSettingResponse{Setting: s}, nil
}

func (a *API) PutAccountSettingDefault(ctx context.Context, in *model.PutAccountSettingDefaultRequest) (*model.PutAccountSettingDefaultResponse, error) {
	if err := validateSettingWrite(in.Name, in.Value); err != nil {
		return nil, err
	}
	s, err := a.putSetting(ctx, a.rootPrincipal(), in.Name, in.Value)
	if err != nil {
		return nil, err
	}
	return &model.PutAccountSettingDefaultResponse{Setting: s}, nil
}

// DeleteAccountSetting removes the principal's own setting, so that the
// account default (or, for the root user, ECS's default) applies again. It
// answers with the setting that was in effect before, and succeeds when
// nothing was set so that a retried delete does not fail.
func (a *API) DeleteAccountSetting(ctx context.Context, in *model.DeleteAccountSettingRequest) (*model.DeleteAccountSettingResponse, error) {
	if err := validateSettingName(in.Name); err != nil {
		return nil, err
	}
	if accountSettingRules[in.Name].awsManaged {
		return nil, invalidParam("The account setting %s is managed by AWS and is read-only; it cannot be set or deleted.", in.Name)
	}
	principal, err := a.principal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	key := state.AccountSettingKey(principal, string(in.Name))
	var out *model.Setting
	err = retry(ctx, func() error {
		own, rev, err := state.Get[model.Setting](ctx, a.st, key)
		if isNotFound(err) {
			eff, err := a.effectiveSettings(ctx, principal, in.Name)
			if err != nil {
				return err
			}
			s := eff[0]
			s.PrincipalArn = principal
			out = &s
			return nil
		}
		if err != nil {
			return err
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: rev}},
			Ops:   []store.Op{state.Delete(key)},
		})
		out = own
		return err
	})
	if err != nil {
		return nil, err
	}
	return &model.DeleteAccountSettingResponse{Setting: out}, nil
}

// effectiveSettings returns, sorted by name, the value in effect for the
// principal of each setting (or only of name): its own setting, else the
// account default, else ECS's default. principalArn says where it came from.
func (a *API) effectiveSettings(ctx context.Context, principal string, name model.SettingName) ([]model.Setting, error) {
	root := a.rootPrincipal()
	own, err := a.explicitSettings(ctx, principal)
	if err != nil {
		return nil, err
	}
	account := own
	if principal != root {
		if account, err = a.explicitSettings(ctx, root); err != nil {
			return nil, err
		}
	}
	var out []model.Setting
	for _, n := range model.SettingName("").Values() {
		if name != "" && n != name {
			continue
		}
		s, ok := own[n]
		if !ok {
			s, ok = account[n]
		}
		if !ok {
			s = model.Setting{Name: n, Value: accountSettingRules[n].def, PrincipalArn: root, Type: settingType(n)}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y model.Setting) int { return strings.Compare(string(x.Name), string(y.Name)) })
	return out, nil
}

// explicitSettings returns the settings the principal itself has stored.
func (a *API) explicitSettings(ctx context.Context, principal string) (map[model.SettingName]model.Setting, error) {
	items, _, err := state.List[model.Setting](ctx, a.st, state.AccountSettingsPrincipalPrefix(principal), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[model.SettingName]model.Setting, len(items))
	for _, it := range items {
		out[it.Val.Name] = *it.Val
	}
	return out, nil
}

// accountSetting returns the value of a setting in effect for the caller
// (other operations consult it, e.g. containerInsights for new clusters).
func (a *API) accountSetting(ctx context.Context, name model.SettingName) (string, error) {
	eff, err := a.effectiveSettings(ctx, a.callerPrincipal(ctx), name)
	if err != nil {
		return "", err
	}
	return eff[0].Value, nil
}

func (a *API) ListAccountSettings(ctx context.Context, in *model.ListAccountSettingsRequest) (*model.ListAccountSettingsResponse, error) {
	if in.Name != "" {
		if err := validateSettingName(in.Name); err != nil {
			return nil, err
		}
	}
	if in.Value != "" && in.Name == "" {
		return nil, invalidParam("value filters one setting: give name as well (e.g. name=containerInsights, value=enabled).")
	}
	// ListAccountSettings pages by at most 10, unlike the other listings.
	limit := int(model.Val(in.MaxResults))
	switch {
	case in.MaxResults == nil:
		limit = 10
	case limit < 1 || limit > 10:
		return nil, invalidParam("maxResults must be between 1 and 10; got %d.", limit)
	}
	principal, err := a.principal(ctx, in.PrincipalArn)
	if err != nil {
		return nil, err
	}
	// Tokens carry the last setting name under the principal's prefix, which
	// binds them to the principal they were issued for.
	prefix := state.AccountSettingsPrincipalPrefix(principal)
	last, err := decodeToken(prefix, in.NextToken)
	if err != nil {
		return nil, err
	}
	after := model.SettingName(strings.TrimPrefix(last, prefix))

	var all []model.Setting
	if model.Val(in.EffectiveSettings) {
		if all, err = a.effectiveSettings(ctx, principal, in.Name); err != nil {
			return nil, err
		}
	} else {
		own, err := a.explicitSettings(ctx, principal)
		if err != nil {
			return nil, err
		}
		for _, s := range own {
			if in.Name == "" || s.Name == in.Name {
				all = append(all, s)
			}
		}
		slices.SortFunc(all, func(x, y model.Setting) int { return strings.Compare(string(x.Name), string(y.Name)) })
	}
	out := &model.ListAccountSettingsResponse{Settings: []model.Setting{}}
	for _, s := range all {
		if after != "" && s.Name <= after {
			continue
		}
		if in.Value != "" && s.Value != in.Value {
			continue
		}
		if len(out.Settings) == limit {
			out.NextToken = encodeToken(prefix, prefix+string(out.Settings[limit-1].Name))
			break
		}
		out.Settings = append(out.Settings, s)
	}
	return out, nil
}
