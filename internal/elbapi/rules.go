package elbapi

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

type conditionIn struct {
	Field             string    `q:"Field"`
	Values            []string  `q:"Values"`
	HostHeaderConfig  *valuesIn `q:"HostHeaderConfig"`
	PathPatternConfig *valuesIn `q:"PathPatternConfig"`
	RegexValues       []string  `q:"RegexValues"`
	HttpHeaderConfig  *struct{} `q:"HttpHeaderConfig"`
	QueryStringConfig *struct{} `q:"QueryStringConfig"`
	SourceIpConfig    *struct{} `q:"SourceIpConfig"`
	MethodConfig      *struct{} `q:"HttpRequestMethodConfig"`
}

type valuesIn struct {
	Values      []string `q:"Values"`
	RegexValues []string `q:"RegexValues"`
}

type createRuleInput struct {
	ListenerArn string        `q:"ListenerArn"`
	Conditions  []conditionIn `q:"Conditions"`
	Priority    *int32        `q:"Priority"`
	Actions     []actionIn    `q:"Actions"`
	Tags        []tagIn       `q:"Tags"`
	Transforms  []struct{}    `q:"Transforms"`
}

type rulesResult struct {
	Rules      members[xRule]
	NextMarker string `xml:",omitempty"`
}

// maxConditionValues bounds the values a rule's conditions may hold in all
// (ELB counts them as the rule's match evaluations).
const maxConditionValues = 5

// checkConditions validates path-pattern and host-header conditions.
func checkConditions(in []conditionIn) ([]state.RuleCondition, error) {
	if len(in) == 0 {
		return nil, validation("A rule needs at least one condition: path-pattern or host-header.")
	}
	var out []state.RuleCondition
	total := 0
	for _, c := range in {
		var cfg *valuesIn
		switch c.Field {
		case fieldPathPattern:
			cfg = c.PathPatternConfig
		case fieldHostHeader:
			cfg = c.HostHeaderConfig
		case "http-header", "http-request-method", "query-string", "source-ip":
			return nil, apiErr(codeInvalidConfiguration, "%s conditions are not supported by Wharf; use path-pattern or host-header.", c.Field)
		case "":
			return nil, validation("Each condition needs a Field: path-pattern or host-header.")
		default:
			return nil, validation("Invalid condition field '%s': use path-pattern or host-header.", truncate(c.Field))
		}
		if len(c.RegexValues) > 0 || cfg != nil && len(cfg.RegexValues) > 0 {
			return nil, apiErr(codeInvalidConfiguration, "Regular expression conditions are not supported by Wharf; use wildcard values (* and ?).")
		}
		vals, legacy := c.Values, true
		if cfg != nil && len(cfg.Values) > 0 {
			if len(c.Values) > 0 {
				return nil, validation("Give a %s condition's values in Values or in its config, not both.", c.Field)
			}
			vals, legacy = cfg.Values, false
		}
		if len(vals) == 0 {
			return nil, validation("The %s condition needs at least one value.", c.Field)
		}
		for _, v := range vals {
			if v == "" || len(v) > 128 {
				return nil, validation("Condition values must be 1 to 128 characters; got '%s'.", truncate(v))
			}
		}
		if legacy && len(vals) > 1 {
			return nil, validation("A condition given in the old form (Field and Values) takes one value; use %s to give several.", map[string]string{fieldPathPattern: "PathPatternConfig", fieldHostHeader: "HostHeaderConfig"}[c.Field])
		}
		total += len(vals)
		out = append(out, state.RuleCondition{Field: c.Field, Values: vals, Legacy: legacy})
	}
	if total > maxConditionValues {
		return nil, validation("A rule can match at most %d condition values in all; this one has %d.", maxConditionValues, total)
	}
	return out, nil
}

func (a *API) CreateRule(ctx context.Context, in *createRuleInput) (any, error) {
	if in.Priority == nil {
		return nil, validation("Priority is required: a number from 1 to 50000, unique in the listener; lower numbers are evaluated first.")
	}
	if *in.Priority < 1 || *in.Priority > 50000 {
		return nil, validation("Priority must be between 1 and 50000; got %d.", *in.Priority)
	}
	if len(in.Transforms) > 0 {
		return nil, apiErr(codeInvalidConfiguration, "Rule transforms are not supported by Wharf.")
	}
	conds, err := checkConditions(in.Conditions)
	if err != nil {
		return nil, err
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	var out *state.Rule
	err = retry(ctx, func() error {
		l, lrev, err := a.listener(ctx, in.ListenerArn)
		if err != nil {
			return err
		}
		lb, _, err := a.loadBalancer(ctx, l.LoadBalancerArn)
		if err != nil {
			return err
		}
		if lb.Type != lbApplication {
			return apiErr(codeOperationNotPermitted, "Rules are for application load balancers' listeners; a network load balancer's listener has only its default action.")
		}
		acts, err := a.checkActions(ctx, lb, l.Protocol, in.Actions)
		if err != nil {
			return err
		}
		rules, _, err := state.List[state.Rule](ctx, a.st, state.ListenerRulesPrefix(l.ID), store.ListOptions{})
		if err != nil {
			return err
		}
		for _, r := range rules {
			if r.Val.Priority == *in.Priority {
				return apiErr(codePriorityInUse, "Priority %d is already in use by rule '%s' of this listener.", *in.Priority, r.Val.Arn)
			}
		}
		if len(rules) >= maxRulesPerLsn {
			return apiErr(codeTooManyRules, "A listener can have at most %d rules besides its default rule.", maxRulesPerLsn)
		}
		id := newID()
		r := &state.Rule{Arn: a.arns.rule(lb.Type, lb.Name, lb.ID, l.ID, id), ID: id, ListenerArn: l.Arn,
			Priority: *in.Priority, Conditions: conds, Actions: acts.actions, Tags: tags}
		cs, ops := acts.ops()
		lkey := state.ListenerKey(l.LoadBalancerID, l.ID)
		rkey := state.RuleKey(l.ID, id)
		cs = append(cs, store.Cond{Key: lkey, Revision: lrev}, store.Cond{Key: rkey, Revision: 0})
		ops = append(ops, state.Put(lkey, l), state.Put(rkey, r))
		_, err = a.st.Commit(ctx, store.Txn{Conds: cs, Ops: ops})
		out = r
		return err
	})
	if err != nil {
		return nil, err
	}
	return &rulesResult{Rules: members[xRule]{ruleShape(out)}}, nil
}

type describeRulesInput struct {
	ListenerArn string   `q:"ListenerArn"`
	RuleArns    []string `q:"RuleArns"`
	Marker      string   `q:"Marker"`
	PageSize    *int32   `q:"PageSize"`
}

func (a *API) DescribeRules(ctx context.Context, in *describeRulesInput) (any, error) {
	switch {
	case in.ListenerArn == "" && len(in.RuleArns) == 0:
		return nil, validation("You must specify either listener or rule ARNs.")
	case in.ListenerArn != "" && len(in.RuleArns) > 0:
		return nil, validation("Give ListenerArn or RuleArns, not both.")
	}
	if in.ListenerArn != "" {
		if _, _, err := a.listener(ctx, in.ListenerArn); err != nil {
			return nil, err
		}
	}
	if err := a.cat.current(ctx); err != nil {
		return nil, err
	}
	v := a.cat.snapshot()
	lbs := map[string]*state.LoadBalancer{}
	for _, lb := range v.lbs {
		lbs[lb.Arn] = lb
	}
	type entry struct {
		shape    xRule
		priority int64 // the default rule sorts last
		arn      string
	}
	var all []entry
	for _, l := range v.listeners {
		lb := lbs[l.LoadBalancerArn]
		if lb == nil {
			continue
		}
		def := a.defaultRuleShape(l, lb.Type, lb.Name)
		if l.Arn == in.ListenerArn || slices.Contains(in.RuleArns, def.RuleArn) {
			all = append(all, entry{def, 1 << 40, def.RuleArn})
		}
	}
	for _, r := range v.rules {
		if r.ListenerArn == in.ListenerArn || slices.Contains(in.RuleArns, r.Arn) {
			all = append(all, entry{ruleShape(r), int64(r.Priority), r.Arn})
		}
	}
	if len(in.RuleArns) > 0 && len(all) < len(in.RuleArns) {
		var miss []string
		for _, arn := range in.RuleArns {
			if !slices.ContainsFunc(all, func(e entry) bool { return e.arn == arn }) {
				miss = append(miss, truncate(arn))
			}
		}
		return nil, apiErr(codeRuleNotFound, "One or more rules not found: %s.", joinQuoted(miss))
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].priority != all[j].priority {
			return all[i].priority < all[j].priority
		}
		return all[i].arn < all[j].arn
	})
	// Markers are positions: rules sort by priority, not by name.
	start := 0
	if in.Marker != "" {
		start = len(all)
		for i, e := range all {
			if e.arn == in.Marker {
				start = i
			}
		}
	}
	size := maxPageSize
	if in.PageSize != nil {
		if *in.PageSize < 1 || *in.PageSize > maxPageSize {
			return nil, validation("PageSize must be between 1 and %d; got %d.", maxPageSize, *in.PageSize)
		}
		size = int(*in.PageSize)
	}
	out := &rulesResult{Rules: members[xRule]{}}
	for i := start; i < len(all); i++ {
		if len(out.Rules) == size {
			out.NextMarker = all[i].arn
			break
		}
		out.Rules = append(out.Rules, all[i].shape)
	}
	return out, nil
}

type ruleArnInput struct {
	RuleArn string `q:"RuleArn"`
}

func (a *API) DeleteRule(ctx context.Context, in *ruleArnInput) (any, error) {
	if in.RuleArn == "" {
		return nil, validation("RuleArn is required.")
	}
	_, listenerID, id, ok := a.arns.ruleRef(in.RuleArn)
	if !ok {
		return nil, validation("'%s' is not a valid rule ARN.", truncate(in.RuleArn))
	}
	if id == defaultRuleID(listenerID) {
		return nil, apiErr(codeOperationNotPermitted, "A listener's default rule cannot be deleted; change it with ModifyListener, or delete the listener.")
	}
	key := state.RuleKey(listenerID, id)
	err := retry(ctx, func() error {
		r, rev, err := state.Get[state.Rule](ctx, a.st, key)
		if errors.Is(err, store.ErrNotFound) || err == nil && r.Arn != in.RuleArn {
			return apiErr(codeRuleNotFound, "Rule '%s' not found.", in.RuleArn)
		}
		if err != nil {
			return err
		}
		_, err = a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Delete(key)}})
		return err
	})
	return nil, err
}
