package capacity_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/capacity"
	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// TestAWSCLIProviderAndFargateService is docs/capacity.md's walk-through as
// a Terraform plan would apply it, with the aws CLI: a capacity provider
// with managed scaling, a cluster using it and FARGATE, a FARGATE service
// and a service on the provider — and no instance registered by hand.
func TestAWSCLIProviderAndFargateService(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the aws CLI is not on PATH; CI must install it (scripts/test.sh installs Debian's awscli)")
		}
		t.Skip("the aws CLI is not on PATH")
	}
	l := &capacity.SimLauncher{}
	t.Cleanup(l.Close)
	s := startScaling(t, l, time.Hour, 30*time.Second)
	home := t.TempDir()
	aws := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsPath, append(append([]string{"ecs"}, args...), "--endpoint-url", s.URL(), "--output", "json")...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + home,
			"AWS_ACCESS_KEY_ID=" + ecstest.TestAccessKeyID, "AWS_SECRET_ACCESS_KEY=" + ecstest.TestSecretAccessKey,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1",
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws ecs %v: %v\n%s", args, err, errb.String())
		}
		var v map[string]any
		if out.Len() > 0 {
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatalf("aws ecs %v printed %q", args, out.String())
			}
		}
		return v
	}
	cp := aws("create-capacity-provider", "--name", "asg-demo",
		"--auto-scaling-group-provider", "autoScalingGroupArn=arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/demo,"+
			"managedScaling={status=ENABLED,targetCapacity=100,minimumScalingStepSize=1,maximumScalingStepSize=10,instanceWarmupPeriod=0},"+
			"managedTerminationProtection=ENABLED",
		"--tags", "key=wharf:instanceCpu,value=1024", "key=wharf:instanceMemory,value=1024")
	if cp["capacityProvider"].(map[string]any)["status"] != "ACTIVE" {
		t.Fatalf("create-capacity-provider = %v", cp)
	}
	aws("create-cluster", "--cluster-name", "demo")
	aws("put-cluster-capacity-providers", "--cluster", "demo", "--capacity-providers", "asg-demo", "FARGATE", "FARGATE_SPOT",
		"--default-capacity-provider-strategy", "capacityProvider=asg-demo,weight=1")
	aws("register-task-definition", "--family", "web", "--requires-compatibilities", "FARGATE", "--network-mode", "awsvpc",
		"--cpu", "256", "--memory", "512", "--container-definitions",
		`[{"name":"web","image":"wharf-testapp:latest","essential":true,"portMappings":[{"containerPort":8080}]}]`)
	aws("register-task-definition", "--family", "api", "--container-definitions",
		`[{"name":"api","image":"wharf-testapp:latest","essential":true,"cpu":512,"memory":512}]`)
	aws("create-service", "--cluster", "demo", "--service-name", "web", "--task-definition", "web", "--desired-count", "2",
		"--capacity-provider-strategy", "capacityProvider=FARGATE,weight=1",
		"--network-configuration", "awsvpcConfiguration={subnets=[subnet-demo],assignPublicIp=ENABLED}")
	aws("create-service", "--cluster", "demo", "--service-name", "api", "--task-definition", "api", "--desired-count", "4")

	waitFor(t, 60*time.Second, "both services running", func() bool {
		d := aws("describe-services", "--cluster", "demo", "--services", "web", "api")
		for _, sv := range d["services"].([]any) {
			if sv.(map[string]any)["runningCount"].(float64) != sv.(map[string]any)["desiredCount"].(float64) {
				return false
			}
		}
		return true
	})
	// The provider's two instances are listed; the Fargate pool is not.
	list := aws("list-container-instances", "--cluster", "demo")["containerInstanceArns"].([]any)
	if len(list) != 2 {
		t.Errorf("list-container-instances = %v; want the provider's 2 instances", list)
	}
	arns := aws("list-tasks", "--cluster", "demo", "--service-name", "web")["taskArns"].([]any)
	args := []string{"describe-tasks", "--cluster", "demo", "--tasks"}
	for _, a := range arns {
		args = append(args, a.(string))
	}
	for _, tk := range aws(args...)["tasks"].([]any) {
		task := tk.(map[string]any)
		at := task["attachments"].([]any)[0].(map[string]any)
		if task["launchType"] != "FARGATE" || task["capacityProviderName"] != "FARGATE" || at["status"] != "ATTACHED" || task["containerInstanceArn"] != nil {
			t.Errorf("web task = launchType %v provider %v attachment %v instance %v", task["launchType"], task["capacityProviderName"], at, task["containerInstanceArn"])
		}
	}
	cps := aws("describe-capacity-providers", "--capacity-providers", "asg-demo")["capacityProviders"].([]any)
	if len(cps) != 1 {
		t.Errorf("describe-capacity-providers = %v", cps)
	}
}
