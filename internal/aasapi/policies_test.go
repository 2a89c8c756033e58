package aasapi_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
)

func cpuTracking(target float64) *aastypes.TargetTrackingScalingPolicyConfiguration {
	return &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(target),
		PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeECSServiceAverageCPUUtilization},
		ScaleOutCooldown:              aws.Int32(60), ScaleInCooldown: aws.Int32(120)}
}

func TestScalingPolicies(t *testing.T) {
	e := start(t)
	rid := e.service(t, "web", 1)
	put := func(in *aas.PutScalingPolicyInput) (*aas.PutScalingPolicyOutput, error) {
		in.ServiceNamespace, in.ResourceId, in.ScalableDimension = ns, aws.String(rid), dim
		return e.c.PutScalingPolicy(e.ctx, in)
	}
	_, err := put(&aas.PutScalingPolicyInput{PolicyName: aws.String("cpu"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: cpuTracking(50)})
	wantErr(t, "a policy of an unregistered target", err, "ObjectNotFoundException", "No scalable target registered", rid)

	e.register(t, rid, 1, 5)
	tt, err := put(&aas.PutScalingPolicyInput{PolicyName: aws.String("cpu"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: cpuTracking(50)})
	if err != nil {
		t.Fatalf("PutScalingPolicy target tracking: %v", err)
	}
	arn := aws.ToString(tt.PolicyARN)
	if !strings.HasPrefix(arn, "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:") || !strings.HasSuffix(arn, ":resource/ecs/"+rid+":policyName/cpu") {
		t.Errorf("PolicyARN = %q", arn)
	}
	if len(tt.Alarms) != 2 || !strings.Contains(aws.ToString(tt.Alarms[0].AlarmName), "TargetTracking-"+rid+"-AlarmHigh-") ||
		!strings.Contains(aws.ToString(tt.Alarms[1].AlarmName), "-AlarmLow-") || !strings.HasPrefix(aws.ToString(tt.Alarms[0].AlarmARN), "arn:aws:cloudwatch:") {
		t.Errorf("Alarms = %+v", tt.Alarms)
	}
	mem := &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(70), DisableScaleIn: aws.Bool(true),
		CustomizedMetricSpecification: &aastypes.CustomizedMetricSpecification{Namespace: aws.String("AWS/ECS"), MetricName: aws.String("MemoryUtilization"),
			Statistic: aastypes.MetricStatisticAverage, Dimensions: []aastypes.MetricDimension{
				{Name: aws.String("ClusterName"), Value: aws.String("default")}, {Name: aws.String("ServiceName"), Value: aws.String("web")}}}}
	memOut, err := put(&aas.PutScalingPolicyInput{PolicyName: aws.String("mem"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: mem})
	if err != nil || len(memOut.Alarms) != 1 {
		t.Fatalf("PutScalingPolicy with a customized metric and no scale-in = %+v, %v; want one alarm", memOut, err)
	}
	// A step policy (PolicyType defaults to StepScaling).
	stepCfg := &aastypes.StepScalingPolicyConfiguration{AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity, Cooldown: aws.Int32(60),
		MetricAggregationType: aastypes.MetricAggregationTypeAverage, StepAdjustments: []aastypes.StepAdjustment{
			{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(20), ScalingAdjustment: aws.Int32(1)},
			{MetricIntervalLowerBound: aws.Float64(20), ScalingAdjustment: aws.Int32(2)}}}
	step, err := put(&aas.PutScalingPolicyInput{PolicyName: aws.String("up"), StepScalingPolicyConfiguration: stepCfg})
	if err != nil || len(step.Alarms) != 0 {
		t.Fatalf("PutScalingPolicy step = %+v, %v", step, err)
	}

	out, err := e.c.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim})
	if err != nil || len(out.ScalingPolicies) != 3 {
		t.Fatalf("DescribeScalingPolicies = %+v, %v; want 3", out, err)
	}
	byName := map[string]aastypes.ScalingPolicy{}
	for _, p := range out.ScalingPolicies {
		byName[aws.ToString(p.PolicyName)] = p
	}
	cpu := byName["cpu"]
	if aws.ToString(cpu.PolicyARN) != arn || cpu.PolicyType != aastypes.PolicyTypeTargetTrackingScaling || cpu.CreationTime == nil ||
		aws.ToFloat64(cpu.TargetTrackingScalingPolicyConfiguration.TargetValue) != 50 ||
		aws.ToInt32(cpu.TargetTrackingScalingPolicyConfiguration.ScaleInCooldown) != 120 || len(cpu.Alarms) != 2 {
		t.Errorf("cpu policy = %+v", cpu)
	}
	up := byName["up"]
	if up.PolicyType != aastypes.PolicyTypeStepScaling || up.StepScalingPolicyConfiguration == nil ||
		len(up.StepScalingPolicyConfiguration.StepAdjustments) != 2 || up.StepScalingPolicyConfiguration.StepAdjustments[1].MetricIntervalUpperBound != nil {
		t.Errorf("step policy = %+v", up)
	}

	// The step policy's alarm is its target's wharf:alarm: tag.
	targets, _ := e.c.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns})
	if _, err := e.c.TagResource(e.ctx, &aas.TagResourceInput{ResourceARN: targets.ScalableTargets[0].ScalableTargetARN,
		Tags: map[string]string{"wharf:alarm:up": "ECSServiceAverageCPUUtilization GreaterThanThreshold 70"}}); err != nil {
		t.Fatal(err)
	}
	named, err := e.c.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, PolicyNames: []string{"up"}})
	if err != nil || len(named.ScalingPolicies) != 1 || len(named.ScalingPolicies[0].Alarms) != 1 ||
		aws.ToString(named.ScalingPolicies[0].Alarms[0].AlarmName) != "wharf:alarm:up" {
		t.Errorf("DescribeScalingPolicies(up) = %+v, %v; want its tag alarm", named, err)
	}

	// Pages of at most 10, by MaxResults.
	p := aas.NewDescribeScalingPoliciesPaginator(e.c, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, MaxResults: aws.Int32(2)})
	n, pages := 0, 0
	for p.HasMorePages() {
		pg, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, pages = n+len(pg.ScalingPolicies), pages+1
	}
	if n != 3 || pages != 2 {
		t.Errorf("paged %d policies in %d pages; want 3 in 2", n, pages)
	}
	_, err = e.c.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, MaxResults: aws.Int32(11)})
	wantErr(t, "MaxResults 11", err, "ValidationException", "1 to 10")
	_, err = e.c.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, ScalableDimension: dim})
	wantErr(t, "a dimension without a resource", err, "ValidationException", "without ResourceId")

	// Put again replaces the configuration and keeps the ARN.
	again, err := put(&aas.PutScalingPolicyInput{PolicyName: aws.String("cpu"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: cpuTracking(60)})
	if err != nil || aws.ToString(again.PolicyARN) != arn {
		t.Errorf("PutScalingPolicy again = %+v, %v; want ARN %s", again, err, arn)
	}

	if _, err := e.c.DeleteScalingPolicy(e.ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim}); err != nil {
		t.Fatalf("DeleteScalingPolicy: %v", err)
	}
	_, err = e.c.DeleteScalingPolicy(e.ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim})
	wantErr(t, "DeleteScalingPolicy twice", err, "ObjectNotFoundException", "policy name: cpu")

	// Deregistering the target deletes its policies.
	if _, err := e.c.DeregisterScalableTarget(e.ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim}); err != nil {
		t.Fatal(err)
	}
	out, err = e.c.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns})
	if err != nil || len(out.ScalingPolicies) != 0 {
		t.Errorf("policies after deregistering = %+v, %v", out.ScalingPolicies, err)
	}
}

func TestScalingPolicyValidation(t *testing.T) {
	e := start(t)
	rid := e.service(t, "web", 1)
	e.register(t, rid, 1, 5)
	tracking := func(mod func(*aastypes.TargetTrackingScalingPolicyConfiguration)) *aas.PutScalingPolicyInput {
		c := cpuTracking(50)
		mod(c)
		return &aas.PutScalingPolicyInput{PolicyType: aastypes.PolicyTypeTargetTrackingScaling, TargetTrackingScalingPolicyConfiguration: c}
	}
	stepping := func(kind aastypes.AdjustmentType, steps ...aastypes.StepAdjustment) *aas.PutScalingPolicyInput {
		return &aas.PutScalingPolicyInput{PolicyType: aastypes.PolicyTypeStepScaling,
			StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{AdjustmentType: kind, StepAdjustments: steps}}
	}
	sa := func(lo, hi *float64, adj int32) aastypes.StepAdjustment {
		return aastypes.StepAdjustment{MetricIntervalLowerBound: lo, MetricIntervalUpperBound: hi, ScalingAdjustment: aws.Int32(adj)}
	}
	f := aws.Float64
	for _, tc := range []struct {
		name  string
		in    *aas.PutScalingPolicyInput
		words []string
	}{
		{"ALBRequestCountPerTarget", tracking(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) {
			c.PredefinedMetricSpecification = &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeALBRequestCountPerTarget,
				ResourceLabel: aws.String("app/lb/1/targetgroup/tg/2")}
		}), []string{"cannot track ALBRequestCountPerTarget yet"}},
		{"a metric of another service", tracking(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) {
			c.PredefinedMetricSpecification.PredefinedMetricType = aastypes.MetricTypeDynamoDBReadCapacityUtilization
		}), []string{"not a metric of ECS services"}},
		{"a zero target", tracking(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) { c.TargetValue = f(0) }), []string{"TargetValue must be between"}},
		{"two metrics", tracking(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) {
			c.CustomizedMetricSpecification = &aastypes.CustomizedMetricSpecification{Namespace: aws.String("AWS/ECS"), MetricName: aws.String("CPUUtilization")}
		}), []string{"exactly one of"}},
		{"a custom metric of another service", tracking(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) {
			c.PredefinedMetricSpecification = nil
			c.CustomizedMetricSpecification = &aastypes.CustomizedMetricSpecification{Namespace: aws.String("AWS/ECS"), MetricName: aws.String("CPUUtilization"),
				Dimensions: []aastypes.MetricDimension{{Name: aws.String("ClusterName"), Value: aws.String("default")}, {Name: aws.String("ServiceName"), Value: aws.String("api")}}}
		}), []string{"ServiceName=web"}},
		{"a custom metric Wharf does not keep", tracking(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) {
			c.PredefinedMetricSpecification = nil
			c.CustomizedMetricSpecification = &aastypes.CustomizedMetricSpecification{Namespace: aws.String("MyApp"), MetricName: aws.String("QueueDepth")}
		}), []string{"MyApp/QueueDepth is not kept"}},
		{"a negative cooldown", tracking(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) { c.ScaleInCooldown = aws.Int32(-1) }), []string{"0 or more seconds"}},
		{"a resource label on CPU", tracking(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) {
			c.PredefinedMetricSpecification.ResourceLabel = aws.String("x")
		}), []string{"ResourceLabel is only for ALBRequestCountPerTarget"}},
		{"predictive scaling", &aas.PutScalingPolicyInput{PolicyType: aastypes.PolicyTypePredictiveScaling,
			PredictiveScalingPolicyConfiguration: &aastypes.PredictiveScalingPolicyConfiguration{MetricSpecifications: []aastypes.PredictiveScalingMetricSpecification{{TargetValue: f(50)}}}},
			[]string{"predictive scaling"}},
		{"a step policy without steps", stepping(aastypes.AdjustmentTypeChangeInCapacity), []string{"StepAdjustments is required"}},
		{"a step policy without an adjustment type", stepping("", sa(f(0), nil, 1)), []string{"AdjustmentType must be one of"}},
		{"overlapping steps", stepping(aastypes.AdjustmentTypeChangeInCapacity, sa(f(0), f(20), 1), sa(f(10), nil, 2)), []string{"overlap or leave a gap"}},
		{"a gap between steps", stepping(aastypes.AdjustmentTypeChangeInCapacity, sa(f(0), f(10), 1), sa(f(20), nil, 2)), []string{"overlap or leave a gap"}},
		{"two open upper bounds", stepping(aastypes.AdjustmentTypeChangeInCapacity, sa(f(0), nil, 1), sa(f(20), nil, 2)), []string{"no MetricIntervalUpperBound"}},
		{"bounds backwards", stepping(aastypes.AdjustmentTypeChangeInCapacity, sa(f(10), f(0), 1)), []string{"must be greater than"}},
		{"a negative exact capacity", stepping(aastypes.AdjustmentTypeExactCapacity, sa(f(0), nil, -1)), []string{"0 or more"}},
		{"a magnitude without a percentage", &aas.PutScalingPolicyInput{StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{
			AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity, MinAdjustmentMagnitude: aws.Int32(2), StepAdjustments: []aastypes.StepAdjustment{sa(f(0), nil, 1)}}},
			[]string{"only for the PercentChangeInCapacity"}},
		{"a step configuration in a tracking policy", &aas.PutScalingPolicyInput{PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
			TargetTrackingScalingPolicyConfiguration: cpuTracking(50), StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{}},
			[]string{"not allowed"}},
		{"a tracking policy without its configuration", &aas.PutScalingPolicyInput{PolicyType: aastypes.PolicyTypeTargetTrackingScaling},
			[]string{"TargetTrackingScalingPolicyConfiguration is required"}},
	} {
		tc.in.PolicyName, tc.in.ServiceNamespace, tc.in.ResourceId, tc.in.ScalableDimension = aws.String("p"), ns, aws.String(rid), dim
		_, err := e.c.PutScalingPolicy(e.ctx, tc.in)
		wantErr(t, tc.name, err, "ValidationException", tc.words...)
	}
	out, _ := e.c.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns})
	if len(out.ScalingPolicies) != 0 {
		t.Errorf("policies after refused puts = %+v", out.ScalingPolicies)
	}
}
