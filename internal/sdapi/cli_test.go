package sdapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// TestAWSCLI walks the steps docs/service-discovery.md gives with the aws
// CLI: a private DNS namespace followed through its operation, a service,
// an instance, and discovery. DiscoverInstances needs host prefix injection
// off (AWS_DISABLE_HOST_PREFIX_INJECTION, botocore releases of 2025 on); an
// older CLI sends it to data-127.0.0.1, which the test then shows it cannot
// reach.
func TestAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the aws CLI is not on PATH; CI must install it (scripts/test.sh installs Debian's awscli)")
		}
		t.Skip("the aws CLI is not on PATH")
	}
	s := ecstest.Start(t)
	home := t.TempDir()
	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command(awsPath, append([]string{"servicediscovery"}, append(args, "--endpoint-url", s.URL(), "--output", "json")...)...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + home,
			"AWS_ACCESS_KEY_ID=" + ecstest.TestAccessKeyID, "AWS_SECRET_ACCESS_KEY=" + ecstest.TestSecretAccessKey,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "AWS_DISABLE_HOST_PREFIX_INJECTION=true",
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return nil, errb.String(), err
		}
		var v map[string]any
		if out.Len() > 0 {
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatalf("aws %v printed %q", args, out.String())
			}
		}
		return v, errb.String(), nil
	}
	mustRun := func(args ...string) map[string]any {
		t.Helper()
		v, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("aws servicediscovery %v: %v\n%s", args, err, stderr)
		}
		return v
	}
	op := mustRun("create-private-dns-namespace", "--name", "cli.local", "--vpc", "vpc-local")["OperationId"].(string)
	got := mustRun("get-operation", "--operation-id", op)["Operation"].(map[string]any)
	if got["Status"] != "SUCCESS" {
		t.Fatalf("get-operation = %v; want SUCCESS", got)
	}
	nsID := got["Targets"].(map[string]any)["NAMESPACE"].(string)
	svc := mustRun("create-service", "--name", "web", "--namespace-id", nsID,
		"--dns-config", "RoutingPolicy=MULTIVALUE,DnsRecords=[{Type=A,TTL=10},{Type=SRV,TTL=10}]",
		"--health-check-custom-config", "{}")["Service"].(map[string]any)
	svcID := svc["Id"].(string)
	mustRun("register-instance", "--service-id", svcID, "--instance-id", "i-1",
		"--attributes", "AWS_INSTANCE_IPV4=10.3.0.1,AWS_INSTANCE_PORT=8080")
	list := mustRun("list-instances", "--service-id", svcID)["Instances"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["Id"] != "i-1" {
		t.Fatalf("list-instances = %v", list)
	}
	_, stderr, err := run("create-service", "--name", "web", "--namespace-id", nsID)
	if err == nil || !strings.Contains(stderr, "ServiceAlreadyExists") {
		t.Fatalf("a second create-service: %v %s; want ServiceAlreadyExists", err, stderr)
	}

	v, stderr, err := run("discover-instances", "--namespace-name", "cli.local", "--service-name", "web")
	switch {
	case err == nil:
		inst := v["Instances"].([]any)
		if len(inst) != 1 || inst[0].(map[string]any)["HealthStatus"] != "HEALTHY" {
			t.Fatalf("discover-instances = %v", v)
		}
	case strings.Contains(stderr, "data-127.0.0.1"):
		t.Logf("this aws CLI predates AWS_DISABLE_HOST_PREFIX_INJECTION and sends DiscoverInstances to data-127.0.0.1 (see docs/service-discovery.md for the hosts-file way)")
	default:
		t.Fatalf("discover-instances: %v\n%s", err, stderr)
	}
}
