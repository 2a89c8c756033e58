package aasapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
)

func TestScalableTargetLifecycle(t *testing.T) {
	e := start(t)
	rid := e.service(t, "web", 0)
	arn := e.register(t, rid, 1, 4)
	if !strings.HasPrefix(arn, "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/") {
		t.Errorf("ScalableTargetARN = %q", arn)
	}
	// Registration brings the service's desired count into the range.
	if got := e.desired(t, "web"); got != 1 {
		t.Errorf("desired count after registering [1, 4] from 0 = %d; want 1", got)
	}
	acts, err := e.c.DescribeScalingActivities(e.ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim})
	if err != nil || len(acts.ScalingActivities) != 1 {
		t.Fatalf("DescribeScalingActivities = %+v, %v; want the registration's activity", acts, err)
	}
	a := acts.ScalingActivities[0]
	if aws.ToString(a.Description) != "Setting desired count to 1." || aws.ToString(a.Cause) != "minimum capacity was set to 1" ||
		a.StatusCode != aastypes.ScalingActivityStatusCodeSuccessful || a.EndTime == nil || aws.ToString(a.ResourceId) != rid {
		t.Errorf("activity = %+v", a)
	}

	// An update changes what it gives; the rest stays.
	if _, err := e.c.RegisterScalableTarget(e.ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(rid),
		ScalableDimension: dim, MaxCapacity: aws.Int32(6),
		SuspendedState: &aastypes.SuspendedState{DynamicScalingInSuspended: aws.Bool(true)}}); err != nil {
		t.Fatalf("RegisterScalableTarget update: %v", err)
	}
	out, err := e.c.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns})
	if err != nil || len(out.ScalableTargets) != 1 {
		t.Fatalf("DescribeScalableTargets = %+v, %v", out, err)
	}
	st := out.ScalableTargets[0]
	if aws.ToInt32(st.MinCapacity) != 1 || aws.ToInt32(st.MaxCapacity) != 6 || aws.ToString(st.ScalableTargetARN) != arn ||
		st.CreationTime == nil || !strings.Contains(aws.ToString(st.RoleARN), "AWSServiceRoleForApplicationAutoScaling_ECSService") ||
		st.SuspendedState == nil || !aws.ToBool(st.SuspendedState.DynamicScalingInSuspended) || aws.ToBool(st.SuspendedState.ScheduledScalingSuspended) {
		t.Errorf("target after update = %+v %+v", st, st.SuspendedState)
	}

	// A lower maximum brings the count down.
	if _, err := e.srv.Client.UpdateService(e.ctx, updateDesired("web", 5)); err != nil {
		t.Fatal(err)
	}
	e.register(t, rid, 0, 3)
	if got := e.desired(t, "web"); got != 3 {
		t.Errorf("desired count after registering [0, 3] from 5 = %d; want 3", got)
	}

	if _, err := e.c.DeregisterScalableTarget(e.ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim}); err != nil {
		t.Fatalf("DeregisterScalableTarget: %v", err)
	}
	out, err = e.c.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns})
	if err != nil || len(out.ScalableTargets) != 0 {
		t.Errorf("DescribeScalableTargets after deregistering = %+v, %v; want none", out.ScalableTargets, err)
	}
	_, err = e.c.DeregisterScalableTarget(e.ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim})
	wantErr(t, "DeregisterScalableTarget twice", err, "ObjectNotFoundException", rid)
}

func TestDescribeScalableTargetsFiltersAndPages(t *testing.T) {
	e := start(t)
	var rids []string
	for _, n := range []string{"a", "b", "c"} {
		rid := e.service(t, n, 1)
		e.register(t, rid, 1, 2)
		rids = append(rids, rid)
	}
	out, err := e.c.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, ResourceIds: []string{rids[0], rids[2]}, ScalableDimension: dim})
	if err != nil || len(out.ScalableTargets) != 2 || aws.ToString(out.ScalableTargets[1].ResourceId) != rids[2] {
		t.Errorf("DescribeScalableTargets(a, c) = %+v, %v", out, err)
	}
	var seen []string
	p := aas.NewDescribeScalableTargetsPaginator(e.c, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		pages++
		for _, st := range pg.ScalableTargets {
			seen = append(seen, aws.ToString(st.ResourceId))
		}
	}
	if pages != 2 || strings.Join(seen, ",") != strings.Join(rids, ",") {
		t.Errorf("paged %d pages of %v; want 2 pages of %v", pages, seen, rids)
	}
	_, err = e.c.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, NextToken: aws.String("bogus")})
	wantErr(t, "a made-up NextToken", err, "InvalidNextTokenException")
	_, err = e.c.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, MaxResults: aws.Int32(51)})
	wantErr(t, "MaxResults 51", err, "ValidationException", "1 to 50")
}

func TestRegisterScalableTargetValidation(t *testing.T) {
	e := start(t)
	rid := e.service(t, "web", 1)
	daemon := "service/default/d"
	in := func(mod func(*aas.RegisterScalableTargetInput)) *aas.RegisterScalableTargetInput {
		r := &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim,
			MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(3)}
		mod(r)
		return r
	}
	for _, tc := range []struct {
		name  string
		in    *aas.RegisterScalableTargetInput
		code  string
		words []string
	}{
		{"another namespace", in(func(r *aas.RegisterScalableTargetInput) {
			r.ServiceNamespace, r.ResourceId, r.ScalableDimension = aastypes.ServiceNamespaceDynamodb, aws.String("table/t"), aastypes.ScalableDimensionDynamoDBTableReadCapacityUnits
		}), "ValidationException", []string{"only ECS services", "dynamodb"}},
		{"no such namespace", in(func(r *aas.RegisterScalableTargetInput) { r.ServiceNamespace = "nope" }), "ValidationException", []string{"enum value set"}},
		{"a wrong dimension", in(func(r *aas.RegisterScalableTargetInput) {
			r.ScalableDimension = aastypes.ScalableDimensionRDSClusterReadReplicaCount
		}),
			"ValidationException", []string{"ecs:service:DesiredCount"}},
		{"a malformed resource ID", in(func(r *aas.RegisterScalableTargetInput) { r.ResourceId = aws.String("web") }), "ValidationException", []string{"service/CLUSTER-NAME/SERVICE-NAME"}},
		{"a missing service", in(func(r *aas.RegisterScalableTargetInput) { r.ResourceId = aws.String("service/default/nope") }), "ValidationException", []string{"doesn't exist"}},
		{"a DAEMON service", in(func(r *aas.RegisterScalableTargetInput) { r.ResourceId = aws.String(daemon) }), "ValidationException", []string{"DAEMON"}},
		{"no minimum for a new target", in(func(r *aas.RegisterScalableTargetInput) { r.MinCapacity = nil }), "ValidationException", []string{"MinCapacity and MaxCapacity are required"}},
		{"min above max", in(func(r *aas.RegisterScalableTargetInput) { r.MinCapacity = aws.Int32(5) }), "ValidationException", []string{"cannot be greater"}},
		{"a negative capacity", in(func(r *aas.RegisterScalableTargetInput) { r.MinCapacity = aws.Int32(-1) }), "ValidationException", []string{"0 or more"}},
		{"a reserved tag", in(func(r *aas.RegisterScalableTargetInput) { r.Tags = map[string]string{"aws:x": "y"} }), "ValidationException", []string{"reserved"}},
		{"a malformed alarm tag", in(func(r *aas.RegisterScalableTargetInput) { r.Tags = map[string]string{"wharf:alarm:up": "CPU > 70"} }),
			"ValidationException", []string{"METRIC COMPARISON THRESHOLD"}},
	} {
		if tc.name == "a DAEMON service" {
			createDaemon(t, e, "d")
		}
		_, err := e.c.RegisterScalableTarget(e.ctx, tc.in)
		wantErr(t, tc.name, err, tc.code, tc.words...)
	}
	// Nothing was registered.
	out, _ := e.c.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns})
	if len(out.ScalableTargets) != 0 {
		t.Errorf("targets after refused registrations = %+v", out.ScalableTargets)
	}
}

// TestRequiredMembersRefusedOnTheWire sends requests the SDK would not
// (it checks required members itself) as a hand-made client might.
func TestRequiredMembersRefusedOnTheWire(t *testing.T) {
	e := start(t)
	for _, tc := range []struct{ op, body, code, words string }{
		{"RegisterScalableTarget", `{}`, "ValidationException", "ServiceNamespace is required"},
		{"RegisterScalableTarget", `{"ServiceNamespace":"ecs","ScalableDimension":"ecs:service:DesiredCount"}`, "ValidationException", "ResourceId is required"},
		{"PutScalingPolicy", `{"ServiceNamespace":"ecs","ResourceId":"service/default/web","ScalableDimension":"ecs:service:DesiredCount"}`, "ValidationException", "PolicyName is required"},
		{"DescribeScalableTargets", `{"ServiceNamespace":"ecs","MaxResults":"ten"}`, "SerializationException", "MaxResults"},
		{"DescribeScalingPolicies", `[]`, "SerializationException", "JSON object"},
		{"GetPredictiveScalingForecast", `{}`, "UnsupportedFeatureException", "GetPredictiveScalingForecast"},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL()+"/", bytes.NewReader([]byte(tc.body)))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "AnyScaleFrontendService."+tc.op)
		sign(t, req, []byte(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &out)
		if resp.StatusCode != http.StatusBadRequest || out.Type != tc.code || !strings.Contains(out.Message, tc.words) {
			t.Errorf("%s %s = %d %s; want 400 %s saying %q", tc.op, tc.body, resp.StatusCode, b, tc.code, tc.words)
		}
	}
}

func TestTags(t *testing.T) {
	e := start(t)
	rid := e.service(t, "web", 1)
	out, err := e.c.RegisterScalableTarget(e.ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(rid),
		ScalableDimension: dim, MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2), Tags: map[string]string{"team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.ScalableTargetARN
	if _, err := e.c.TagResource(e.ctx, &aas.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"env": "prod", "wharf:alarm:up": "ECSServiceAverageCPUUtilization GreaterThanThreshold 70"}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if _, err := e.c.UntagResource(e.ctx, &aas.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"team"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	tags, err := e.c.ListTagsForResource(e.ctx, &aas.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || len(tags.Tags) != 2 || tags.Tags["env"] != "prod" || tags.Tags["wharf:alarm:up"] == "" {
		t.Errorf("ListTagsForResource = %+v, %v", tags, err)
	}
	_, err = e.c.TagResource(e.ctx, &aas.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"wharf:alarm:up": "Latency GreaterThanThreshold 1"}})
	wantErr(t, "an alarm on an unknown metric", err, "ValidationException", "unknown metric Latency")
	missing := "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123456789abcdef"
	_, err = e.c.ListTagsForResource(e.ctx, &aas.ListTagsForResourceInput{ResourceARN: aws.String(missing)})
	wantErr(t, "tags of an unknown ARN", err, "ResourceNotFoundException", missing)
	many := map[string]string{}
	for i := range 51 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	_, err = e.c.TagResource(e.ctx, &aas.TagResourceInput{ResourceARN: arn, Tags: many})
	wantErr(t, "51 tags", err, "TooManyTagsException")
}
