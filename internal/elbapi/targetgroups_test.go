package elbapi_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestTargetGroupDefaults(t *testing.T) {
	e := start(t)
	http := e.createTG(t, "web", types.ProtocolEnumHttp, "")
	if !strings.HasPrefix(aws.ToString(http.TargetGroupArn), "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/") {
		t.Errorf("TargetGroupArn = %s", aws.ToString(http.TargetGroupArn))
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"target type", http.TargetType, types.TargetTypeEnumInstance},
		{"health check protocol", http.HealthCheckProtocol, types.ProtocolEnumHttp},
		{"health check port", aws.ToString(http.HealthCheckPort), "traffic-port"},
		{"health check path", aws.ToString(http.HealthCheckPath), "/"},
		{"interval", aws.ToInt32(http.HealthCheckIntervalSeconds), int32(30)},
		{"timeout", aws.ToInt32(http.HealthCheckTimeoutSeconds), int32(5)},
		{"healthy threshold", aws.ToInt32(http.HealthyThresholdCount), int32(5)},
		{"unhealthy threshold", aws.ToInt32(http.UnhealthyThresholdCount), int32(2)},
		{"matcher", aws.ToString(http.Matcher.HttpCode), "200"},
		{"enabled", aws.ToBool(http.HealthCheckEnabled), true},
		{"protocol version", aws.ToString(http.ProtocolVersion), "HTTP1"},
		{"vpc", aws.ToString(http.VpcId), "vpc-1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("HTTP target group %s = %v; want %v", c.what, c.got, c.want)
		}
	}
	tcp := e.createTG(t, "db", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	if tcp.HealthCheckProtocol != types.ProtocolEnumTcp || tcp.Matcher != nil || tcp.HealthCheckPath != nil ||
		aws.ToInt32(tcp.HealthCheckTimeoutSeconds) != 10 {
		t.Errorf("TCP target group = %+v; want TCP health checks, no path or matcher, timeout 10", tcp)
	}
	attrs, err := e.client.DescribeTargetGroupAttributes(e.ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: http.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	if attr(attrs.Attributes, "deregistration_delay.timeout_seconds") != "300" || attr(attrs.Attributes, "load_balancing.algorithm.type") != "round_robin" {
		t.Errorf("attributes = %+v; want a 300s deregistration delay and round_robin", attrs.Attributes)
	}
}

func TestTargetGroupOperations(t *testing.T) {
	e := start(t)
	tg := e.createTG(t, "api", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	arn := tg.TargetGroupArn

	// Idempotent with the same settings, refused with others.
	again := e.createTG(t, "api", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	if aws.ToString(again.TargetGroupArn) != aws.ToString(arn) {
		t.Errorf("CreateTargetGroup again = %s; want %s", aws.ToString(again.TargetGroupArn), aws.ToString(arn))
	}
	_, err := e.client.CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{Name: aws.String("api"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(81)})
	wantCode(t, err, "DuplicateTargetGroupName", "api")

	mod, err := e.client.ModifyTargetGroup(e.ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: arn,
		HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(3), Matcher: &types.Matcher{HttpCode: aws.String("200-299")}})
	if err != nil {
		t.Fatal(err)
	}
	m := mod.TargetGroups[0]
	if aws.ToString(m.HealthCheckPath) != "/health" || aws.ToInt32(m.HealthCheckIntervalSeconds) != 5 || aws.ToInt32(m.HealthCheckTimeoutSeconds) != 2 ||
		aws.ToInt32(m.HealthyThresholdCount) != 2 || aws.ToInt32(m.UnhealthyThresholdCount) != 3 || aws.ToString(m.Matcher.HttpCode) != "200-299" {
		t.Errorf("ModifyTargetGroup = %+v", m)
	}

	out, err := e.client.ModifyTargetGroupAttributes(e.ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: arn,
		Attributes: []types.TargetGroupAttribute{
			{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("5")},
			{Key: aws.String("load_balancing.algorithm.type"), Value: aws.String("least_outstanding_requests")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if attr(out.Attributes, "deregistration_delay.timeout_seconds") != "5" || attr(out.Attributes, "load_balancing.algorithm.type") != "least_outstanding_requests" {
		t.Errorf("ModifyTargetGroupAttributes = %+v", out.Attributes)
	}
	for _, bad := range []struct {
		key, value, code, part string
	}{
		{"deregistration_delay.timeout_seconds", "4000", "ValidationError", "0 to 3600"},
		{"load_balancing.algorithm.type", "random", "ValidationError", "round_robin"},
		{"load_balancing.algorithm.type", "weighted_random", "InvalidConfigurationRequest", "weighted_random"},
		{"stickiness.enabled", "true", "InvalidConfigurationRequest", "stickiness.enabled=false"},
		{"no.such.key", "1", "ValidationError", "not recognized"},
	} {
		_, err := e.client.ModifyTargetGroupAttributes(e.ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: arn,
			Attributes: []types.TargetGroupAttribute{{Key: aws.String(bad.key), Value: aws.String(bad.value)}}})
		wantCode(t, err, bad.code, bad.part)
	}

	// Describe by name, ARN, and load balancer.
	e.createTG(t, "other", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	byName, err := e.client.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{Names: []string{"api"}})
	if err != nil || len(byName.TargetGroups) != 1 || aws.ToString(byName.TargetGroups[0].TargetGroupArn) != aws.ToString(arn) {
		t.Fatalf("DescribeTargetGroups by name = %v, %v", byName, err)
	}
	_, err = e.client.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(arn) + "0"}})
	wantCode(t, err, "TargetGroupNotFound")
	lb := e.createALB(t, "front")
	e.createListener(t, aws.ToString(lb.LoadBalancerArn), types.ProtocolEnumHttp, freePort(t), aws.ToString(arn))
	byLB, err := e.client.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(byLB.TargetGroups) != 1 || len(byLB.TargetGroups[0].LoadBalancerArns) != 1 ||
		byLB.TargetGroups[0].LoadBalancerArns[0] != aws.ToString(lb.LoadBalancerArn) {
		t.Fatalf("DescribeTargetGroups by load balancer = %+v, %v; want api with its load balancer", byLB, err)
	}

	// In use: not deleted. Unused: deleted, and deleting again succeeds.
	_, err = e.client.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: arn})
	wantCode(t, err, "ResourceInUse", "in use")
	if _, err := e.client.DeleteLoadBalancer(e.ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.client.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: arn}); err != nil {
			t.Fatalf("DeleteTargetGroup: %v", err)
		}
	}
	_, err = e.client.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(arn)}})
	wantCode(t, err, "TargetGroupNotFound")
}

func TestCreateTargetGroupRejectsBadInput(t *testing.T) {
	e := start(t)
	base := func() *elb.CreateTargetGroupInput {
		return &elb.CreateTargetGroupInput{Name: aws.String("tg"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80)}
	}
	cases := []struct {
		name   string
		mutate func(*elb.CreateTargetGroupInput)
		code   string
		part   string
	}{
		{"bad name", func(in *elb.CreateTargetGroupInput) { in.Name = aws.String("-tg") }, "ValidationError", "hyphen"},
		{"https", func(in *elb.CreateTargetGroupInput) { in.Protocol = types.ProtocolEnumHttps }, "UnsupportedProtocol", "HTTPS"},
		{"no protocol", func(in *elb.CreateTargetGroupInput) { in.Protocol = "" }, "ValidationError", "Protocol is required"},
		{"no port", func(in *elb.CreateTargetGroupInput) { in.Port = nil }, "ValidationError", "Port is required"},
		{"lambda", func(in *elb.CreateTargetGroupInput) { in.TargetType = types.TargetTypeEnumLambda }, "InvalidConfigurationRequest", "lambda"},
		{"timeout not below interval", func(in *elb.CreateTargetGroupInput) {
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds = aws.Int32(5), aws.Int32(5)
		}, "ValidationError", "smaller than the interval"},
		{"interval too short", func(in *elb.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(1) }, "ValidationError", "between 5 and 300"},
		{"bad matcher", func(in *elb.CreateTargetGroupInput) { in.Matcher = &types.Matcher{HttpCode: aws.String("2xx")} }, "ValidationError", "Matcher"},
		{"matcher out of range", func(in *elb.CreateTargetGroupInput) { in.Matcher = &types.Matcher{HttpCode: aws.String("200-599")} }, "ValidationError", "499"},
		{"grpc", func(in *elb.CreateTargetGroupInput) { in.Matcher = &types.Matcher{GrpcCode: aws.String("0")} }, "InvalidConfigurationRequest", "gRPC"},
		{"path without slash", func(in *elb.CreateTargetGroupInput) { in.HealthCheckPath = aws.String("health") }, "ValidationError", "begin with '/'"},
		{"tcp path", func(in *elb.CreateTargetGroupInput) {
			in.Protocol, in.HealthCheckPath = types.ProtocolEnumTcp, aws.String("/x")
		}, "ValidationError", "TCP"},
		{"health checks off", func(in *elb.CreateTargetGroupInput) { in.HealthCheckEnabled = aws.Bool(false) }, "InvalidConfigurationRequest", "always enabled"},
		{"bad health check port", func(in *elb.CreateTargetGroupInput) { in.HealthCheckPort = aws.String("x") }, "ValidationError", "traffic-port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.mutate(in)
			_, err := e.client.CreateTargetGroup(e.ctx, in)
			wantCode(t, err, tc.code, tc.part)
		})
	}
}
