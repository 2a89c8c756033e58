package elbapi_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestLoadBalancerLifecycle(t *testing.T) {
	e := start(t)
	created, err := e.client.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{
		Name:    aws.String("web"),
		Subnets: []string{"subnet-a", "subnet-b"},
		Tags:    []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lb := created.LoadBalancers[0]
	arn := aws.ToString(lb.LoadBalancerArn)
	if !strings.HasPrefix(arn, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/") {
		t.Errorf("LoadBalancerArn = %s; want the application load balancer form", arn)
	}
	if lb.Type != types.LoadBalancerTypeEnumApplication || lb.Scheme != types.LoadBalancerSchemeEnumInternetFacing ||
		lb.State.Code != types.LoadBalancerStateEnumActive || aws.ToString(lb.DNSName) != "127.0.0.1" ||
		lb.IpAddressType != types.IpAddressTypeIpv4 || lb.CreatedTime == nil || len(lb.AvailabilityZones) != 2 {
		t.Errorf("CreateLoadBalancer answered %+v", lb)
	}

	// The same settings again: idempotent. Other settings: refused.
	again, err := e.client.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web")})
	if err != nil || aws.ToString(again.LoadBalancers[0].LoadBalancerArn) != arn {
		t.Fatalf("CreateLoadBalancer again = %v, %v; want the same load balancer", again, err)
	}
	_, err = e.client.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Scheme: types.LoadBalancerSchemeEnumInternal})
	wantCode(t, err, "DuplicateLoadBalancerName", "web")

	nlb := e.createNLB(t, "tcp-front")
	if !strings.Contains(aws.ToString(nlb.LoadBalancerArn), ":loadbalancer/net/tcp-front/") || nlb.Type != types.LoadBalancerTypeEnumNetwork {
		t.Errorf("network load balancer = %+v", nlb)
	}

	all, err := e.client.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || len(all.LoadBalancers) != 2 {
		t.Fatalf("DescribeLoadBalancers = %v, %v; want 2", all, err)
	}
	byArn, err := e.client.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil || len(byArn.LoadBalancers) != 1 || aws.ToString(byArn.LoadBalancers[0].LoadBalancerName) != "web" {
		t.Fatalf("DescribeLoadBalancers by ARN = %v, %v", byArn, err)
	}
	_, err = e.client.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{Names: []string{"web", "nope"}})
	wantCode(t, err, "LoadBalancerNotFound", "nope")

	// Pagination with the SDK's paginator.
	var names []string
	p := elb.NewDescribeLoadBalancersPaginator(e.client, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, l := range page.LoadBalancers {
			names = append(names, aws.ToString(l.LoadBalancerName))
		}
	}
	if pages != 2 || strings.Join(names, ",") != "tcp-front,web" {
		t.Errorf("paginated %d pages: %v; want 2 pages tcp-front,web", pages, names)
	}

	// Attributes, and deletion protection holding a delete.
	attrs, err := e.client.DescribeLoadBalancerAttributes(e.ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn)})
	if err != nil || attr(attrs.Attributes, "idle_timeout.timeout_seconds") != "60" {
		t.Fatalf("DescribeLoadBalancerAttributes = %v, %v", attrs, err)
	}
	_, err = e.client.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn),
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn),
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("routing.http2.enabled"), Value: aws.String("true")}}})
	wantCode(t, err, "InvalidConfigurationRequest", "routing.http2.enabled=false")
	_, err = e.client.DeleteLoadBalancer(e.ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
	wantCode(t, err, "OperationNotPermitted", "deletion protection")
	_, err = e.client.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn),
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}})
	if err != nil {
		t.Fatal(err)
	}

	// Deleting removes the listeners with the load balancer; deleting again
	// succeeds, as in ELB.
	tg := e.createTG(t, "web-tg", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	port := freePort(t)
	e.createListener(t, arn, types.ProtocolEnumHttp, port, aws.ToString(tg.TargetGroupArn))
	for range 2 {
		if _, err := e.client.DeleteLoadBalancer(e.ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)}); err != nil {
			t.Fatalf("DeleteLoadBalancer: %v", err)
		}
	}
	_, err = e.client.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	wantCode(t, err, "LoadBalancerNotFound")
	// Its port is free for another load balancer, and its target group no
	// longer in use.
	other := e.createALB(t, "web2")
	e.createListener(t, aws.ToString(other.LoadBalancerArn), types.ProtocolEnumHttp, port, aws.ToString(tg.TargetGroupArn))
}

func attr[T interface {
	types.LoadBalancerAttribute | types.TargetGroupAttribute
}](attrs []T, key string) string {
	for _, a := range attrs {
		switch v := any(a).(type) {
		case types.LoadBalancerAttribute:
			if aws.ToString(v.Key) == key {
				return aws.ToString(v.Value)
			}
		case types.TargetGroupAttribute:
			if aws.ToString(v.Key) == key {
				return aws.ToString(v.Value)
			}
		}
	}
	return ""
}

func TestCreateLoadBalancerRejectsBadInput(t *testing.T) {
	e := start(t)
	cases := []struct {
		name string
		in   elb.CreateLoadBalancerInput
		code string
		part string
	}{
		{"long name", elb.CreateLoadBalancerInput{Name: aws.String(strings.Repeat("a", 33))}, "ValidationError", "32"},
		{"bad character", elb.CreateLoadBalancerInput{Name: aws.String("a_b")}, "ValidationError", "alphanumeric"},
		{"hyphen at end", elb.CreateLoadBalancerInput{Name: aws.String("ab-")}, "ValidationError", "hyphen"},
		{"internal prefix", elb.CreateLoadBalancerInput{Name: aws.String("internal-x")}, "ValidationError", "internal-"},
		{"gateway", elb.CreateLoadBalancerInput{Name: aws.String("g"), Type: types.LoadBalancerTypeEnumGateway}, "InvalidConfigurationRequest", "Gateway"},
		{"bad scheme", elb.CreateLoadBalancerInput{Name: aws.String("s"), Scheme: "public"}, "InvalidScheme", "public"},
		{"reserved tag", elb.CreateLoadBalancerInput{Name: aws.String("t"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}}, "ValidationError", "reserved"},
		{"duplicate tag", elb.CreateLoadBalancerInput{Name: aws.String("t"), Tags: []types.Tag{{Key: aws.String("k")}, {Key: aws.String("k")}}}, "DuplicateTagKeys", "k"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateLoadBalancer(e.ctx, &tc.in)
			wantCode(t, err, tc.code, tc.part)
		})
	}
	out, err := e.client.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || len(out.LoadBalancers) != 0 {
		t.Fatalf("refused requests created %v (%v)", out, err)
	}
}
