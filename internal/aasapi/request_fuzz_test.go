package aasapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/wharf-ecs/wharf/internal/aasapi"
	"github.com/wharf-ecs/wharf/internal/ecstest"
)

var fuzzOps = []string{"RegisterScalableTarget", "DeregisterScalableTarget", "DescribeScalableTargets", "PutScalingPolicy",
	"DescribeScalingPolicies", "DeleteScalingPolicy", "DescribeScalingActivities", "PutScheduledAction",
	"DescribeScheduledActions", "DeleteScheduledAction", "TagResource", "UntagResource", "ListTagsForResource"}

// FuzzRequests sends arbitrary bodies to every operation, against a server
// with one ECS service to scale. Whatever arrives, the answer is a JSON
// object and never a server error.
func FuzzRequests(f *testing.F) {
	const target = `"ServiceNamespace":"ecs","ResourceId":"service/default/web","ScalableDimension":"ecs:service:DesiredCount"`
	for _, s := range []struct {
		op   uint8
		body string
	}{
		{0, `{` + target + `,"MinCapacity":1,"MaxCapacity":3,"SuspendedState":{"DynamicScalingInSuspended":true},"Tags":{"wharf:alarm:up":"CPUUtilization GreaterThanThreshold 1e308"}}`},
		{0, `{` + target + `,"MinCapacity":-1,"MaxCapacity":2147483647}`},
		{2, `{"ServiceNamespace":"ecs","ResourceIds":["service/default/web"],"MaxResults":1,"NextToken":"RGVzY3JpYmVTY2FsYWJsZVRhcmdldHMAeg"}`},
		{3, `{` + target + `,"PolicyName":"p","PolicyType":"TargetTrackingScaling","TargetTrackingScalingPolicyConfiguration":{"TargetValue":1e-300,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}}`},
		{3, `{` + target + `,"PolicyName":"s","StepScalingPolicyConfiguration":{"AdjustmentType":"PercentChangeInCapacity","MinAdjustmentMagnitude":2,"StepAdjustments":[{"MetricIntervalUpperBound":0,"ScalingAdjustment":-50},{"MetricIntervalLowerBound":0}]}}`},
		{3, `{` + target + `,"PolicyName":"c","PolicyType":"TargetTrackingScaling","TargetTrackingScalingPolicyConfiguration":{"TargetValue":5,"CustomizedMetricSpecification":{"Metrics":[{"Id":"m"}]}}}`},
		{4, `{"ServiceNamespace":"ecs","PolicyNames":["p","s"],"ResourceId":"service/default/web"}`},
		{6, `{"ServiceNamespace":"ecs","IncludeNotScaledActivities":true,"MaxResults":50}`},
		{7, `{` + target + `,"ScheduledActionName":"n","Schedule":"cron(0/7 1-5/2 L * ? 2030-2199/3)","Timezone":"Etc/GMT+9","ScalableTargetAction":{"MinCapacity":0}}`},
		{7, `{` + target + `,"ScheduledActionName":"r","Schedule":"rate(99999999 days)","StartTime":1e12,"EndTime":-5,"ScalableTargetAction":{"MaxCapacity":1}}`},
		{7, `{` + target + `,"ScheduledActionName":"w","Schedule":"cron(59 23 31W 2 ? *)","ScalableTargetAction":{"MaxCapacity":1}}`},
		{10, `{"ResourceARN":"arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/x","Tags":{"a":"b"}}`},
		{1, `{` + target + `}`},
		{0, `{"ServiceNamespace":7}`},
		{2, `[]`},
	} {
		f.Add(s.op, []byte(s.body))
	}
	srv := ecstest.StartWith(f, ecstest.Options{NoAuth: true})
	e := &env{srv: srv, ctx: f.Context()}
	e.service(f, "web", 1)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := fuzzOps[int(op)%len(fuzzOps)]
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", aasapi.TargetPrefix+"."+name)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q: status %d %s", name, body, resp.StatusCode, answer)
		}
		var obj map[string]any
		if err := json.Unmarshal(answer, &obj); err != nil {
			t.Fatalf("%s %q: answer %q is not a JSON object", name, body, answer)
		}
		if resp.StatusCode != 200 && (resp.Header.Get("X-Amzn-ErrorType") == "" || obj["message"] == "") {
			t.Fatalf("%s %q: error %d without a code and message: %s", name, body, resp.StatusCode, answer)
		}
	})
}
