package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/autoscaling"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/server"
)

// End-to-end tests of Service Auto Scaling: policies and scheduled actions
// set through the official Application Auto Scaling client (and the aws
// CLI) scale services whose simulated tasks report CPU load.

// fastScaling evaluates policies every 200 ms on the current minute of
// utilization (the windows reach no further back than it).
var fastScaling = autoscaling.Tuning{Interval: 200 * time.Millisecond, ScaleOutWindow: time.Nanosecond, ScaleInWindow: time.Nanosecond}

// asServer runs a server with fast autoscaling and service timings until
// the test ends.
func asServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Credentials: ecstest.RootCredentials(),
		AutoScaling:   fastScaling,
		ServiceTuning: servicectl.Tuning{Interval: 200 * time.Millisecond, HealthyAfter: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	obsWait(t, 10*time.Second, "the server answers", func() bool {
		resp, err := http.Get(srv.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return srv
}

func newAAS(url string) *aas.Client {
	return aas.New(aas.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: ecstest.TestCredentials, RetryMaxAttempts: 1})
}

func desiredCount(t *testing.T, c *ecs.Client, name string) int32 {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices(%s): %v", name, err)
	}
	return out.Services[0].DesiredCount
}

// activities are the target's activities, newest first, not scaled ones
// included.
func activities(t *testing.T, c *aas.Client, rid string) []aastypes.ScalingActivity {
	t.Helper()
	out, err := c.DescribeScalingActivities(context.Background(), &aas.DescribeScalingActivitiesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String(rid), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, IncludeNotScaledActivities: aws.Bool(true)})
	if err != nil {
		t.Fatalf("DescribeScalingActivities: %v", err)
	}
	return out.ScalingActivities
}

// waitActivity waits for an activity of the target that match accepts (the
// activity is recorded just after the count is set).
func waitActivity(t *testing.T, c *aas.Client, rid string, match func(aastypes.ScalingActivity) bool) aastypes.ScalingActivity {
	t.Helper()
	var found aastypes.ScalingActivity
	obsWait(t, 10*time.Second, "the activity is recorded", func() bool {
		for _, a := range activities(t, c, rid) {
			if match(a) {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

// register registers rid as a scalable target of range [lo, hi].
func register(t *testing.T, as *aas.Client, rid string, lo, hi int32) {
	t.Helper()
	if _, err := as.RegisterScalableTarget(context.Background(), &aas.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String(rid), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity: aws.Int32(lo), MaxCapacity: aws.Int32(hi)}); err != nil {
		t.Fatalf("RegisterScalableTarget: %v", err)
	}
}

// trackCPU registers rid with the range [lo, hi] and gives it a target
// tracking policy on its average CPU utilization, without cooldowns.
func trackCPU(t *testing.T, as *aas.Client, rid string, lo, hi int32, policy string, target float64) {
	t.Helper()
	register(t, as, rid, lo, hi)
	if _, err := as.PutScalingPolicy(context.Background(), &aas.PutScalingPolicyInput{PolicyName: aws.String(policy), ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String(rid), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(target),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeECSServiceAverageCPUUtilization},
			ScaleOutCooldown:              aws.Int32(0), ScaleInCooldown: aws.Int32(0)}}); err != nil {
		t.Fatalf("PutScalingPolicy: %v", err)
	}
}

func TestTargetTrackingScalesOutUnderLoadAndInAfterIt(t *testing.T) {
	srv := asServer(t)
	obsAgent(t, srv.URL(), "default")
	c, as := ecstest.NewClient(srv.URL()), newAAS(srv.URL())
	ctx := context.Background()
	// Each task keeps 90% of its 512 CPU units busy.
	busy := obsTaskDef(t, c, "busy", "0.9", "0.2")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(busy), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	const rid = "service/default/web"
	trackCPU(t, as, rid, 1, 4, "cpu50", 50)

	// 90% against a target of 50%: 1 → 2 → 4, and no further than the
	// maximum (the load per task stays the same, as a CPU-bound batch's
	// would).
	start := time.Now()
	obsWait(t, 30*time.Second, "the service scales out to its maximum of 4", func() bool { return desiredCount(t, c, "web") == 4 })
	t.Logf("scaled out to 4 in %s", time.Since(start).Round(time.Millisecond))
	out := waitActivity(t, as, rid, func(a aastypes.ScalingActivity) bool {
		return aws.ToString(a.Description) == "Setting desired count to 4."
	})
	if out.StatusCode != aastypes.ScalingActivityStatusCodeSuccessful || !strings.Contains(aws.ToString(out.Cause), "-AlarmHigh-") ||
		!strings.Contains(aws.ToString(out.Cause), "triggered policy cpu50") || !strings.Contains(aws.ToString(out.Details), "above the target of 50.00") {
		t.Errorf("scale-out activity = %+v", out)
	}
	waitActivity(t, as, rid, func(a aastypes.ScalingActivity) bool {
		return len(a.NotScaledReasons) == 1 && aws.ToString(a.NotScaledReasons[0].Code) == "AlreadyAtMaxCapacity"
	})

	// The load drops: a new revision keeps 5% busy. Once its deployment
	// is done and the minute's average is below 45%, the service scales
	// back in to its minimum.
	idle := obsTaskDef(t, c, "busy", "0.05", "0.2")
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(idle)}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	start = time.Now()
	obsWait(t, 100*time.Second, "the service scales back in to 1", func() bool { return desiredCount(t, c, "web") == 1 })
	t.Logf("scaled in to 1 in %s", time.Since(start).Round(time.Millisecond))
	in := waitActivity(t, as, rid, func(a aastypes.ScalingActivity) bool {
		return strings.Contains(aws.ToString(a.Cause), "-AlarmLow-") && aws.ToString(a.Description) == "Setting desired count to 1."
	})
	if in.StatusCode != aastypes.ScalingActivityStatusCodeSuccessful || !strings.Contains(aws.ToString(in.Details), "below 90% of the target") {
		t.Errorf("scale-in activity = %+v", in)
	}
}

// TestStepScalingActsOnItsAlarmTag gives a step policy the alarm Wharf
// reads from the target's wharf:alarm: tag: above 70% CPU, add 2 tasks.
func TestStepScalingActsOnItsAlarmTag(t *testing.T) {
	srv := asServer(t)
	obsAgent(t, srv.URL(), "default")
	c, as := ecstest.NewClient(srv.URL()), newAAS(srv.URL())
	ctx := context.Background()
	td := obsTaskDef(t, c, "busy", "0.9", "0.2")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	const rid = "service/default/web"
	if _, err := as.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(5),
		Tags: map[string]string{"wharf:alarm:add-two": "ECSServiceAverageCPUUtilization GreaterThanThreshold 70"}}); err != nil {
		t.Fatalf("RegisterScalableTarget: %v", err)
	}
	// A cooldown of a minute: one step, then the policy waits.
	if _, err := as.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("add-two"), ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String(rid), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity, Cooldown: aws.Int32(60),
			StepAdjustments: []aastypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(2)}}}}); err != nil {
		t.Fatalf("PutScalingPolicy: %v", err)
	}
	obsWait(t, 30*time.Second, "the step policy adds two tasks", func() bool { return desiredCount(t, c, "web") == 3 })
	act := waitActivity(t, as, rid, func(a aastypes.ScalingActivity) bool {
		return aws.ToString(a.Description) == "Setting desired count to 3."
	})
	if aws.ToString(act.Cause) != "monitor alarm wharf:alarm:add-two in state ALARM triggered policy add-two" {
		t.Errorf("step activity cause = %q", aws.ToString(act.Cause))
	}
	time.Sleep(2 * time.Second)
	if got := desiredCount(t, c, "web"); got != 3 {
		t.Errorf("desired count within the step policy's cooldown = %d; want 3", got)
	}
}

func TestScheduledActionFires(t *testing.T) {
	srv := asServer(t)
	c, as := ecstest.NewClient(srv.URL()), newAAS(srv.URL())
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{}); err != nil {
		t.Fatal(err)
	}
	td := obsTaskDef(t, c, "app", "0.1", "0.1")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	const rid = "service/default/web"
	register(t, as, rid, 1, 2)
	// In two seconds (at() reads whole seconds, here in Tokyo's time),
	// raise the range to [3, 6]: the desired count follows to 3.
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	when := time.Now().Add(2 * time.Second).In(tokyo).Format("2006-01-02T15:04:05")
	if _, err := as.PutScheduledAction(ctx, &aas.PutScheduledActionInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, ScheduledActionName: aws.String("launch"),
		Schedule: aws.String("at(" + when + ")"), Timezone: aws.String("Asia/Tokyo"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(3), MaxCapacity: aws.Int32(6)}}); err != nil {
		t.Fatalf("PutScheduledAction: %v", err)
	}
	if got := desiredCount(t, c, "web"); got != 1 {
		t.Fatalf("desired count before the action's time = %d; want 1", got)
	}
	obsWait(t, 10*time.Second, "the scheduled action raises the desired count to 3", func() bool { return desiredCount(t, c, "web") == 3 })
	out, err := as.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	if err != nil || len(out.ScalableTargets) != 1 || aws.ToInt32(out.ScalableTargets[0].MinCapacity) != 3 || aws.ToInt32(out.ScalableTargets[0].MaxCapacity) != 6 {
		t.Errorf("target after the action = %+v, %v; want [3, 6]", out, err)
	}
	// The activity is recorded once the count is set.
	var acts []aastypes.ScalingActivity
	obsWait(t, 5*time.Second, "two activities are recorded", func() bool { acts = activities(t, as, rid); return len(acts) >= 2 })
	if len(acts) < 2 || aws.ToString(acts[0].Cause) != "minimum capacity was set to 3 by scheduled action launch" ||
		aws.ToString(acts[1].Description) != "Setting min capacity to 3 and max capacity to 6" ||
		aws.ToString(acts[1].Cause) != "scheduled action name launch was triggered" {
		for _, a := range acts {
			t.Logf("activity: %s | %s | %s", aws.ToString(a.Description), aws.ToString(a.Cause), a.StatusCode)
		}
		t.Errorf("activities do not show the scheduled action and the scale-out it caused")
	}
	// An at() action fires once.
	time.Sleep(time.Second)
	register(t, as, rid, 1, 6)
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if got := desiredCount(t, c, "web"); got != 1 {
		t.Errorf("desired count a second after setting it to 1 = %d; the at() action fired again", got)
	}
}
