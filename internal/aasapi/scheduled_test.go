package aasapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/ecstest"
)

func TestScheduledActions(t *testing.T) {
	e := start(t)
	rid := e.service(t, "web", 1)
	put := func(name, schedule, tz string, lo, hi *int32) error {
		in := &aas.PutScheduledActionInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim,
			ScheduledActionName: aws.String(name), Schedule: aws.String(schedule)}
		if tz != "" {
			in.Timezone = aws.String(tz)
		}
		if lo != nil || hi != nil {
			in.ScalableTargetAction = &aastypes.ScalableTargetAction{MinCapacity: lo, MaxCapacity: hi}
		}
		_, err := e.c.PutScheduledAction(e.ctx, in)
		return err
	}
	wantErr(t, "a scheduled action of an unregistered target", put("night", "cron(0 22 * * ? *)", "", aws.Int32(0), nil), "ObjectNotFoundException")
	e.register(t, rid, 1, 5)

	start, end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, schedule, tz string
		lo, hi             *int32
	}{
		{"night", "cron(0 22 * * ? *)", "Europe/Paris", aws.Int32(0), aws.Int32(2)},
		{"launch", "at(2030-06-01T09:00:00)", "", aws.Int32(4), nil},
		{"tick", "rate(30 minutes)", "", nil, aws.Int32(8)},
	} {
		if err := put(tc.name, tc.schedule, tc.tz, tc.lo, tc.hi); err != nil {
			t.Fatalf("PutScheduledAction(%s): %v", tc.name, err)
		}
	}
	if _, err := e.c.PutScheduledAction(e.ctx, &aas.PutScheduledActionInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim,
		ScheduledActionName: aws.String("tick"), StartTime: aws.Time(start), EndTime: aws.Time(end)}); err != nil {
		t.Fatalf("PutScheduledAction update: %v", err)
	}
	out, err := e.c.DescribeScheduledActions(e.ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim})
	if err != nil || len(out.ScheduledActions) != 3 {
		t.Fatalf("DescribeScheduledActions = %+v, %v; want 3", out, err)
	}
	by := map[string]aastypes.ScheduledAction{}
	for _, a := range out.ScheduledActions {
		by[aws.ToString(a.ScheduledActionName)] = a
	}
	night := by["night"]
	if aws.ToString(night.Schedule) != "cron(0 22 * * ? *)" || aws.ToString(night.Timezone) != "Europe/Paris" || night.CreationTime == nil ||
		aws.ToInt32(night.ScalableTargetAction.MinCapacity) != 0 || aws.ToInt32(night.ScalableTargetAction.MaxCapacity) != 2 ||
		!strings.HasSuffix(aws.ToString(night.ScheduledActionARN), ":resource/ecs/"+rid+":scheduledActionName/night") {
		t.Errorf("night = %+v", night)
	}
	// The update kept the schedule and the action, and added the bounds.
	tick := by["tick"]
	if aws.ToString(tick.Schedule) != "rate(30 minutes)" || aws.ToInt32(tick.ScalableTargetAction.MaxCapacity) != 8 ||
		!aws.ToTime(tick.StartTime).Equal(start) || !aws.ToTime(tick.EndTime).Equal(end) {
		t.Errorf("tick after update = %+v", tick)
	}
	named, err := e.c.DescribeScheduledActions(e.ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: ns, ScheduledActionNames: []string{"launch"}})
	if err != nil || len(named.ScheduledActions) != 1 || aws.ToString(named.ScheduledActions[0].Schedule) != "at(2030-06-01T09:00:00)" {
		t.Errorf("DescribeScheduledActions(launch) = %+v, %v", named, err)
	}

	for _, tc := range []struct {
		name, schedule, tz string
		lo, hi             *int32
		words              string
	}{
		{"bad-at", "at(2030-06-01)", "", aws.Int32(1), nil, "at(yyyy-mm-ddThh:mm:ss)"},
		{"bad-rate", "rate(2 fortnights)", "", aws.Int32(1), nil, "minute(s), hour(s) or day(s)"},
		{"bad-cron", "cron(0 22 * * MON *)", "", aws.Int32(1), nil, "must be ?"},
		{"bad-tz", "cron(0 22 * * ? *)", "Moon/Base", aws.Int32(1), nil, "time zone"},
		{"no-range", "cron(0 22 * * ? *)", "", nil, nil, "ScalableTargetAction is required"},
		{"crossed", "cron(0 22 * * ? *)", "", aws.Int32(5), aws.Int32(2), "cannot be greater"},
		{"no/slash", "cron(0 22 * * ? *)", "", aws.Int32(1), nil, "must not hold"},
	} {
		wantErr(t, tc.name, put(tc.name, tc.schedule, tc.tz, tc.lo, tc.hi), "ValidationException", tc.words)
	}

	if _, err := e.c.DeleteScheduledAction(e.ctx, &aas.DeleteScheduledActionInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim, ScheduledActionName: aws.String("night")}); err != nil {
		t.Fatalf("DeleteScheduledAction: %v", err)
	}
	_, err = e.c.DeleteScheduledAction(e.ctx, &aas.DeleteScheduledActionInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim, ScheduledActionName: aws.String("night")})
	wantErr(t, "DeleteScheduledAction twice", err, "ObjectNotFoundException", "scheduled action name: night")
	out, _ = e.c.DescribeScheduledActions(e.ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: ns})
	if len(out.ScheduledActions) != 2 {
		t.Errorf("scheduled actions after a delete = %d; want 2", len(out.ScheduledActions))
	}
}

func TestDescribeScalingActivitiesNewestFirst(t *testing.T) {
	e := start(t)
	var rids []string
	for _, n := range []string{"a", "b"} {
		rids = append(rids, e.service(t, n, 0))
	}
	// Each registration moves the count into its range: one activity each.
	e.register(t, rids[0], 1, 3)
	e.register(t, rids[1], 2, 3)
	e.register(t, rids[0], 3, 3)
	all, err := e.c.DescribeScalingActivities(e.ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns})
	if err != nil || len(all.ScalingActivities) != 3 {
		t.Fatalf("DescribeScalingActivities = %+v, %v; want 3", all, err)
	}
	var got []string
	for _, a := range all.ScalingActivities {
		got = append(got, fmt.Sprintf("%s %s", aws.ToString(a.ResourceId), aws.ToString(a.Description)))
	}
	want := []string{rids[0] + " Setting desired count to 3.", rids[1] + " Setting desired count to 2.", rids[0] + " Setting desired count to 1."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("activities = %q; want newest first %q", got, want)
	}
	one, err := e.c.DescribeScalingActivities(e.ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: aws.String(rids[1]), MaxResults: aws.Int32(1)})
	if err != nil || len(one.ScalingActivities) != 1 || one.NextToken != nil {
		t.Errorf("DescribeScalingActivities(b) = %+v, %v", one, err)
	}
	pg, err := e.c.DescribeScalingActivities(e.ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, MaxResults: aws.Int32(2)})
	if err != nil || len(pg.ScalingActivities) != 2 || pg.NextToken == nil {
		t.Fatalf("first page = %+v, %v", pg, err)
	}
	pg, err = e.c.DescribeScalingActivities(e.ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, MaxResults: aws.Int32(2), NextToken: pg.NextToken})
	if err != nil || len(pg.ScalingActivities) != 1 || aws.ToString(pg.ScalingActivities[0].Description) != "Setting desired count to 1." {
		t.Errorf("second page = %+v, %v", pg, err)
	}
}

// TestPoliciesAuthorizeOnTheScalableTarget checks the gate: actions are
// application-autoscaling:..., resources are scalable target ARNs.
func TestPoliciesAuthorizeOnTheScalableTarget(t *testing.T) {
	dir := t.TempDir()
	// The target's ARN is not known before the server runs: register it
	// as root, then restart the server with users whose policies name it.
	srv := ecstest.StartWith(t, ecstest.Options{DataDir: dir})
	e := &env{srv: srv, c: newAAS(srv.URL(), "", ""), ctx: t.Context()}
	rid := e.service(t, "web", 1)
	arn := e.register(t, rid, 1, 3)
	other := e.register(t, e.service(t, "api", 1), 1, 3)
	srv.Stop()

	users := fmt.Sprintf(`{"users": [
	  {"name": "ops", "accessKeys": [{"accessKeyId": "AKIAOPS0000000000000", "secretAccessKey": "ops-secret-0123456789"}],
	   "policies": [{"Version": "2012-10-17", "Statement": [
	     {"Effect": "Allow", "Action": "application-autoscaling:Describe*", "Resource": "*"},
	     {"Effect": "Allow", "Action": ["application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget"], "Resource": %q}]}]}]}`, arn)
	creds, err := auth.ParseUsers([]byte(users))
	if err != nil {
		t.Fatal(err)
	}
	srv = ecstest.StartWith(t, ecstest.Options{DataDir: dir, Credentials: auth.Chain{ecstest.RootCredentials(), creds}})
	ops := newAAS(srv.URL(), "AKIAOPS0000000000000", "ops-secret-0123456789")
	ctx := t.Context()
	if _, err := ops.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns}); err != nil {
		t.Errorf("Describe* allowed: %v", err)
	}
	policy := func(rid string) error {
		_, err := ops.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: ns, ResourceId: aws.String(rid),
			ScalableDimension: dim, PolicyType: aastypes.PolicyTypeTargetTrackingScaling, TargetTrackingScalingPolicyConfiguration: cpuTracking(50)})
		return err
	}
	if err := policy(rid); err != nil {
		t.Errorf("PutScalingPolicy on the allowed target: %v", err)
	}
	err = policy("service/default/api")
	wantErr(t, "PutScalingPolicy on another target", err, "AccessDeniedException", "application-autoscaling:PutScalingPolicy")
	_, err = ops.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(rid), ScalableDimension: dim})
	wantErr(t, "DeregisterScalableTarget, not allowed", err, "AccessDeniedException")
	_, err = ops.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: aws.String(other)})
	wantErr(t, "ListTagsForResource, not allowed", err, "AccessDeniedException")
}
