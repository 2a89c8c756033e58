package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// TestAWSCLIAutoScaling follows docs/autoscaling.md with the aws CLI: a
// service registered as a scalable target and given a target tracking
// policy scales out under simulated load, and the CLI shows the activity.
func TestAWSCLIAutoScaling(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the aws CLI is not on PATH; CI must install it (scripts/test.sh installs Debian's awscli)")
		}
		t.Skip("the aws CLI is not on PATH")
	}
	srv := asServer(t)
	obsAgent(t, srv.URL(), "default")
	c := ecstest.NewClient(srv.URL())
	td := obsTaskDef(t, c, "busy", "0.8", "0.2")
	if _, err := c.CreateService(context.Background(), &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsPath, append([]string{"application-autoscaling"}, append(args, "--endpoint-url", srv.URL(), "--output", "json")...)...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + home,
			"AWS_ACCESS_KEY_ID=" + ecstest.TestAccessKeyID, "AWS_SECRET_ACCESS_KEY=" + ecstest.TestSecretAccessKey,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1",
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws application-autoscaling %v: %v\n%s", args, err, errb.String())
		}
		v := map[string]any{}
		if out.Len() > 0 {
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatalf("aws application-autoscaling %v printed %q", args, out.String())
			}
		}
		return v
	}
	target := []string{"--service-namespace", "ecs", "--resource-id", "service/default/web", "--scalable-dimension", "ecs:service:DesiredCount"}
	reg := run(append([]string{"register-scalable-target", "--min-capacity", "1", "--max-capacity", "3",
		"--tags", "wharf:alarm:cpu-high=ECSServiceAverageCPUUtilization GreaterThanThreshold 95"}, target...)...)
	if arn, _ := reg["ScalableTargetARN"].(string); !strings.Contains(arn, ":scalable-target/") {
		t.Errorf("register-scalable-target printed %v", reg)
	}
	pol := run(append([]string{"put-scaling-policy", "--policy-name", "cpu60", "--policy-type", "TargetTrackingScaling",
		"--target-tracking-scaling-policy-configuration",
		`{"TargetValue": 60.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}, "ScaleOutCooldown": 0, "ScaleInCooldown": 60}`},
		target...)...)
	if arn, _ := pol["PolicyARN"].(string); !strings.HasSuffix(arn, ":policyName/cpu60") {
		t.Errorf("put-scaling-policy printed %v", pol)
	}
	tags := run("list-tags-for-resource", "--resource-arn", reg["ScalableTargetARN"].(string))
	if tm, _ := tags["Tags"].(map[string]any); tm["wharf:alarm:cpu-high"] != "ECSServiceAverageCPUUtilization GreaterThanThreshold 95" {
		t.Errorf("list-tags-for-resource printed %v", tags)
	}
	described := run("describe-scaling-policies", "--service-namespace", "ecs")
	if ps, _ := described["ScalingPolicies"].([]any); len(ps) != 1 {
		t.Errorf("describe-scaling-policies printed %v", described)
	}

	// 80% against 60%: 1 → 2 → 3, the maximum.
	obsWait(t, 30*time.Second, "the service scales out to 3", func() bool { return desiredCount(t, c, "web") == 3 })
	obsWait(t, 10*time.Second, "the CLI shows the scale-out to 3", func() bool {
		acts, _ := run(append([]string{"describe-scaling-activities"}, target...)...)["ScalingActivities"].([]any)
		for _, a := range acts {
			if m, _ := a.(map[string]any); m["Description"] == "Setting desired count to 3." && m["StatusCode"] == "Successful" {
				return true
			}
		}
		return false
	})
}
