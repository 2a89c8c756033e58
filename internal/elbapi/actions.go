package elbapi

import (
	"context"
	"regexp"
	"slices"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// checkedActions are a listener's or rule's actions after validation, with
// the target groups they reference (each rewritten in the same transaction,
// so that DeleteTargetGroup cannot miss the new reference).
type checkedActions struct {
	actions []state.ELBAction
	touch   []refTG
}

type refTG struct {
	tg  *state.TargetGroup
	rev int64
}

// ops are the transaction parts that rewrite the referenced target groups.
func (c *checkedActions) ops() ([]store.Cond, []store.Op) {
	var conds []store.Cond
	var ops []store.Op
	for _, r := range c.touch {
		key := state.TargetGroupKey(r.tg.Name)
		conds = append(conds, store.Cond{Key: key, Revision: r.rev})
		ops = append(ops, state.Put(key, r.tg))
	}
	return conds, ops
}

var fixedStatus = regexp.MustCompile(`^[245][0-9][0-9]$`)

var fixedContentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

// checkActions validates the actions of a listener or rule of load balancer
// lb whose listener speaks protocol.
func (a *API) checkActions(ctx context.Context, lb *state.LoadBalancer, protocol string, in []actionIn) (*checkedActions, error) {
	if len(in) == 0 {
		return nil, validation("At least one action is required: a forward action (or, for an application load balancer, a fixed-response action).")
	}
	out := &checkedActions{}
	for _, act := range in {
		switch act.Type {
		case actionForward, actionFixedResponse:
		case "redirect", "authenticate-oidc", "authenticate-cognito", "jwt-validation":
			return nil, apiErr(codeInvalidAction2, "%s actions are not supported by Wharf; use forward or fixed-response.", act.Type)
		case "":
			return nil, validation("Each action needs a Type: forward or fixed-response.")
		default:
			return nil, validation("Invalid action type '%s': use forward or fixed-response.", truncate(act.Type))
		}
	}
	if len(in) > 1 {
		return nil, apiErr(codeInvalidAction2, "A listener or rule takes exactly one action here (forward or fixed-response); %d were given.", len(in))
	}
	act := in[0]
	x := state.ELBAction{Type: act.Type}
	if act.Order != nil {
		if *act.Order < 1 || *act.Order > 50000 {
			return nil, validation("Action Order must be between 1 and 50000.")
		}
		x.Order = *act.Order
	}
	switch act.Type {
	case actionFixedResponse:
		if lb.Type != lbApplication {
			return nil, apiErr(codeInvalidAction2, "fixed-response actions are only for application load balancers.")
		}
		fr := act.FixedResponseConfig
		if fr == nil {
			return nil, validation("A fixed-response action needs FixedResponseConfig with a StatusCode.")
		}
		if !fixedStatus.MatchString(fr.StatusCode) {
			return nil, validation("FixedResponseConfig.StatusCode must be a 2XX, 4XX or 5XX code; got '%s'.", truncate(fr.StatusCode))
		}
		if fr.ContentType != "" && !slices.Contains(fixedContentTypes, fr.ContentType) {
			return nil, validation("FixedResponseConfig.ContentType must be one of text/plain, text/css, text/html, application/javascript and application/json.")
		}
		if len(fr.MessageBody) > 1024 {
			return nil, validation("FixedResponseConfig.MessageBody can be at most 1024 characters.")
		}
		x.FixedResponse = &state.FixedResponse{StatusCode: fr.StatusCode, ContentType: fr.ContentType, MessageBody: fr.MessageBody}
	case actionForward:
		arns, err := forwardTargets(lb, act, &x)
		if err != nil {
			return nil, err
		}
		if err := a.cat.current(ctx); err != nil {
			return nil, err
		}
		users := a.cat.snapshot().lbArnsOf()
		for _, arn := range arns {
			tg, rev, err := a.targetGroup(ctx, arn)
			if err != nil {
				return nil, err
			}
			want := protoHTTP
			if lb.Type == lbNetwork {
				want = protoTCP
			}
			if tg.Protocol != want || protocol != want {
				return nil, apiErr(codeIncompatibleProtocols, "Target group '%s' uses %s; a %s load balancer's %s listener forwards to %s target groups.", tg.Arn, tg.Protocol, lb.Type, protocol, want)
			}
			for _, other := range users[tg.Arn] {
				if other != lb.Arn {
					return nil, apiErr(codeTargetGroupAssociation, "Target group '%s' is already used by load balancer '%s'; a target group can be associated with only one load balancer.", tg.Arn, other)
				}
			}
			out.touch = append(out.touch, refTG{tg: tg, rev: rev})
		}
	}
	out.actions = []state.ELBAction{x}
	return out, nil
}

// forwardTargets reads a forward action's target groups into x and returns
// their ARNs.
func forwardTargets(lb *state.LoadBalancer, act actionIn, x *state.ELBAction) ([]string, error) {
	var arns []string
	if fc := act.ForwardConfig; fc != nil && len(fc.TargetGroups) > 0 {
		if len(fc.TargetGroups) > 5 {
			return nil, apiErr(codeInvalidAction2, "A forward action can forward to at most 5 target groups.")
		}
		if lb.Type == lbNetwork && len(fc.TargetGroups) > 1 {
			return nil, apiErr(codeInvalidAction2, "A network load balancer's forward action forwards to one target group.")
		}
		for _, t := range fc.TargetGroups {
			if t.TargetGroupArn == "" {
				return nil, validation("Each target group of ForwardConfig needs a TargetGroupArn.")
			}
			if slices.Contains(arns, t.TargetGroupArn) {
				return nil, validation("Target group '%s' is given twice in one forward action.", truncate(t.TargetGroupArn))
			}
			if t.Weight != nil && (*t.Weight < 0 || *t.Weight > 999) {
				return nil, validation("Target group weights must be between 0 and 999.")
			}
			arns = append(arns, t.TargetGroupArn)
			x.Forward = append(x.Forward, state.WeightedTargetGroup{TargetGroupArn: t.TargetGroupArn, Weight: t.Weight})
		}
		if act.TargetGroupArn != "" && (len(arns) != 1 || arns[0] != act.TargetGroupArn) {
			return nil, validation("TargetGroupArn and ForwardConfig name different target groups; give one of them.")
		}
		if st := fc.TargetGroupStickinessConfig; st != nil && st.Enabled != nil {
			if *st.Enabled {
				return nil, apiErr(codeInvalidConfiguration, "Target group stickiness is not supported by Wharf; set Enabled to false.")
			}
			x.Stickiness = &state.Stickiness{Enabled: false, DurationSeconds: st.DurationSeconds}
		}
		if len(x.Forward) == 1 && x.Forward[0].Weight == nil && x.Stickiness == nil {
			// The plain form: one target group, nothing else.
			x.TargetGroupArn, x.Forward = arns[0], nil
		}
		return arns, nil
	}
	if act.TargetGroupArn == "" {
		return nil, validation("A forward action needs TargetGroupArn or ForwardConfig.TargetGroups.")
	}
	x.TargetGroupArn = act.TargetGroupArn
	return []string{act.TargetGroupArn}, nil
}
