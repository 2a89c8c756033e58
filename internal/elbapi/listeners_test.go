package elbapi_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestListeners(t *testing.T) {
	e := start(t)
	lb := e.createALB(t, "front")
	lbArn := aws.ToString(lb.LoadBalancerArn)
	tg := e.createTG(t, "web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	tgArn := aws.ToString(tg.TargetGroupArn)
	port := freePort(t)
	l := e.createListener(t, lbArn, types.ProtocolEnumHttp, port, tgArn)
	larn := aws.ToString(l.ListenerArn)
	if !strings.HasPrefix(larn, "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/front/") || aws.ToInt32(l.Port) != port ||
		len(l.DefaultActions) != 1 || aws.ToString(l.DefaultActions[0].TargetGroupArn) != tgArn ||
		l.DefaultActions[0].ForwardConfig == nil || len(l.DefaultActions[0].ForwardConfig.TargetGroups) != 1 ||
		aws.ToInt32(l.DefaultActions[0].ForwardConfig.TargetGroups[0].Weight) != 1 {
		t.Errorf("CreateListener = %+v", l)
	}
	// The same again is the same listener; another action on the port is
	// a duplicate.
	if again := e.createListener(t, lbArn, types.ProtocolEnumHttp, port, tgArn); aws.ToString(again.ListenerArn) != larn {
		t.Errorf("CreateListener again = %s; want %s", aws.ToString(again.ListenerArn), larn)
	}
	_, err := e.client.CreateListener(e.ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbArn), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}}})
	wantCode(t, err, "DuplicateListener")
	// Every load balancer shares the host: the port is taken for another
	// one too.
	other := e.createALB(t, "other")
	tg2 := e.createTG(t, "web2", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	_, err = e.client.CreateListener(e.ctx, &elb.CreateListenerInput{LoadBalancerArn: other.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg2.TargetGroupArn}}})
	wantCode(t, err, "DuplicateListener", "host")
	// A target group serves one load balancer.
	_, err = e.client.CreateListener(e.ctx, &elb.CreateListenerInput{LoadBalancerArn: other.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(freePort(t)),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArn)}}})
	wantCode(t, err, "TargetGroupAssociationLimit", lbArn)

	bad := []struct {
		name string
		in   elb.CreateListenerInput
		code string
		part string
	}{
		{"https", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443)}, "UnsupportedProtocol", "certificates"},
		{"tcp on alb", elb.CreateListenerInput{Protocol: types.ProtocolEnumTcp, Port: aws.Int32(1)}, "IncompatibleProtocols", "HTTP"},
		{"redirect", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(2),
			DefaultActions: []types.Action{{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{StatusCode: types.RedirectActionStatusCodeEnumHttp301}}}},
			"InvalidLoadBalancerAction", "redirect"},
		{"unknown target group", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(3),
			DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArn + "0")}}},
			"TargetGroupNotFound", ""},
		{"bad fixed status", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(4),
			DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("302")}}}},
			"ValidationError", "2XX"},
		{"stickiness", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(5),
			DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
				TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: tg2.TargetGroupArn}},
				TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true)}}}}},
			"InvalidConfigurationRequest", "stickiness"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.LoadBalancerArn = aws.String(lbArn)
			if in.DefaultActions == nil {
				in.DefaultActions = []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArn)}}
			}
			_, err := e.client.CreateListener(e.ctx, &in)
			wantCode(t, err, tc.code, tc.part)
		})
	}

	// A network load balancer forwards TCP to TCP target groups.
	nlb := e.createNLB(t, "tcp")
	tcpTG := e.createTG(t, "tcp-tg", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	_, err = e.client.CreateListener(e.ctx, &elb.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: types.ProtocolEnumTcp, Port: aws.Int32(freePort(t)),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg2.TargetGroupArn}}})
	wantCode(t, err, "IncompatibleProtocols", "TCP")
	nl := e.createListener(t, aws.ToString(nlb.LoadBalancerArn), types.ProtocolEnumTcp, freePort(t), aws.ToString(tcpTG.TargetGroupArn))
	if !strings.Contains(aws.ToString(nl.ListenerArn), ":listener/net/tcp/") {
		t.Errorf("network listener ARN = %s", aws.ToString(nl.ListenerArn))
	}

	// ModifyListener: a fixed response instead, and another port.
	newPort := freePort(t)
	mod, err := e.client.ModifyListener(e.ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(larn), Port: aws.Int32(newPort),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
			StatusCode: aws.String("200"), ContentType: aws.String("text/plain"), MessageBody: aws.String("hello")}}}})
	if err != nil {
		t.Fatal(err)
	}
	ml := mod.Listeners[0]
	if aws.ToInt32(ml.Port) != newPort || ml.DefaultActions[0].Type != types.ActionTypeEnumFixedResponse || aws.ToString(ml.DefaultActions[0].FixedResponseConfig.MessageBody) != "hello" {
		t.Errorf("ModifyListener = %+v", ml)
	}
	// The old port is free again.
	e.createListener(t, aws.ToString(other.LoadBalancerArn), types.ProtocolEnumHttp, port, aws.ToString(tg2.TargetGroupArn))

	desc, err := e.client.DescribeListeners(e.ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lbArn)})
	if err != nil || len(desc.Listeners) != 1 || aws.ToString(desc.Listeners[0].ListenerArn) != larn {
		t.Fatalf("DescribeListeners = %+v, %v", desc, err)
	}
	_, err = e.client.DescribeListeners(e.ctx, &elb.DescribeListenersInput{})
	wantCode(t, err, "ValidationError", "listener ARNs or a load balancer ARN")
	if _, err := e.client.DeleteListener(e.ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(larn)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteListener(e.ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(larn)})
	wantCode(t, err, "ListenerNotFound")
	_, err = e.client.DescribeListeners(e.ctx, &elb.DescribeListenersInput{ListenerArns: []string{larn}})
	wantCode(t, err, "ListenerNotFound")
}

func TestRules(t *testing.T) {
	e := start(t)
	lb := e.createALB(t, "front")
	web := e.createTG(t, "web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	api := e.createTG(t, "api", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	l := e.createListener(t, aws.ToString(lb.LoadBalancerArn), types.ProtocolEnumHttp, freePort(t), aws.ToString(web.TargetGroupArn))
	forward := func(tg types.TargetGroup) []types.Action {
		return []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}
	}
	r1, err := e.client.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(10), Actions: forward(api),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/api/*", "/v2/*"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	rule := r1.Rules[0]
	if aws.ToString(rule.Priority) != "10" || aws.ToBool(rule.IsDefault) || len(rule.Conditions) != 1 ||
		len(rule.Conditions[0].PathPatternConfig.Values) != 2 || !strings.Contains(aws.ToString(rule.RuleArn), ":listener-rule/app/front/") {
		t.Errorf("CreateRule = %+v", rule)
	}
	// The old form: Field and Values.
	_, err = e.client.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(5), Actions: forward(api),
		Conditions: []types.RuleCondition{{Field: aws.String("host-header"), Values: []string{"api.example.com"}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(10), Actions: forward(api),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/x"}}}})
	wantCode(t, err, "PriorityInUse", "10")
	for _, bad := range []struct {
		cond types.RuleCondition
		code string
		part string
	}{
		{types.RuleCondition{Field: aws.String("http-header")}, "InvalidConfigurationRequest", "http-header"},
		{types.RuleCondition{Field: aws.String("path-pattern")}, "ValidationError", "at least one value"},
		{types.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"1", "2", "3", "4", "5", "6"}}}, "ValidationError", "at most 5"},
		{types.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{RegexValues: []string{"^/a"}}}, "InvalidConfigurationRequest", "Regular expression"},
	} {
		_, err = e.client.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(20), Actions: forward(api),
			Conditions: []types.RuleCondition{bad.cond}})
		wantCode(t, err, bad.code, bad.part)
	}

	rules, err := e.client.DescribeRules(e.ctx, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range rules.Rules {
		order = append(order, aws.ToString(r.Priority))
	}
	if strings.Join(order, ",") != "5,10,default" || !aws.ToBool(rules.Rules[2].IsDefault) ||
		aws.ToString(rules.Rules[2].Actions[0].TargetGroupArn) != aws.ToString(web.TargetGroupArn) {
		t.Fatalf("DescribeRules = %v (%+v); want 5,10,default with the default forwarding to web", order, rules.Rules)
	}
	def := aws.ToString(rules.Rules[2].RuleArn)
	byArn, err := e.client.DescribeRules(e.ctx, &elb.DescribeRulesInput{RuleArns: []string{def, aws.ToString(rule.RuleArn)}})
	if err != nil || len(byArn.Rules) != 2 {
		t.Fatalf("DescribeRules by ARN = %+v, %v", byArn, err)
	}
	_, err = e.client.DeleteRule(e.ctx, &elb.DeleteRuleInput{RuleArn: aws.String(def)})
	wantCode(t, err, "OperationNotPermitted", "default rule")
	if _, err := e.client.DeleteRule(e.ctx, &elb.DeleteRuleInput{RuleArn: rule.RuleArn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteRule(e.ctx, &elb.DeleteRuleInput{RuleArn: rule.RuleArn})
	wantCode(t, err, "RuleNotFound")
	// The rules go with their listener.
	if _, err := e.client.DeleteListener(e.ctx, &elb.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DescribeRules(e.ctx, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn})
	wantCode(t, err, "ListenerNotFound")
	if _, err := e.client.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: api.TargetGroupArn}); err != nil {
		t.Fatalf("DeleteTargetGroup after its rules went: %v", err)
	}

	// Network load balancers have no rules.
	nlb := e.createNLB(t, "tcp")
	tcpTG := e.createTG(t, "tcp", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	nl := e.createListener(t, aws.ToString(nlb.LoadBalancerArn), types.ProtocolEnumTcp, freePort(t), aws.ToString(tcpTG.TargetGroupArn))
	_, err = e.client.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: nl.ListenerArn, Priority: aws.Int32(1), Actions: forward(tcpTG),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/"}}}})
	wantCode(t, err, "OperationNotPermitted", "network")
}
