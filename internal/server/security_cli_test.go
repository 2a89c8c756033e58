package server_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// The aws CLI drives a server that verifies signatures: the right key
// works, a wrong one is refused with the AWS error code and creates nothing.
func TestAWSCLIAgainstAuthenticatedServer(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the aws CLI is not on PATH; CI must install it (apt-get install awscli, or pip install awscli)")
		}
		t.Skip("the aws CLI is not on PATH")
	}
	s := ecstest.Start(t)
	home := t.TempDir()
	run := func(id, secret string, args ...string) (stdout, stderr string, err error) {
		t.Helper()
		cmd := exec.Command(awsPath, append([]string{"ecs"}, append(args, "--endpoint-url", s.URL(), "--output", "json")...)...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"AWS_ACCESS_KEY_ID=" + id,
			"AWS_SECRET_ACCESS_KEY=" + secret,
			"AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null",
			"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_PAGER=",
			"AWS_MAX_ATTEMPTS=1",
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		return out.String(), errb.String(), err
	}

	root, secret := ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey
	if out, stderr, err := run(root, secret, "create-cluster", "--cluster-name", "from-cli"); err != nil {
		t.Fatalf("aws ecs create-cluster with the root key: %v\n%s%s", err, out, stderr)
	} else if !strings.Contains(out, `"clusterName": "from-cli"`) {
		t.Errorf("aws ecs create-cluster printed %s; want the cluster", out)
	}
	out, stderr, err := run(root, secret, "list-clusters")
	if err != nil {
		t.Fatalf("aws ecs list-clusters: %v\n%s", err, stderr)
	}
	var listed struct {
		ClusterArns []string `json:"clusterArns"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || !slices.Contains(listed.ClusterArns, "arn:aws:ecs:us-east-1:123456789012:cluster/from-cli") {
		t.Errorf("aws ecs list-clusters printed %s (%v); want the from-cli cluster's ARN", out, err)
	}

	for _, c := range []struct{ name, id, secret, code string }{
		{"wrong secret", root, "not-the-test-secret", "InvalidSignatureException"},
		{"unknown key", "AKIANOSUCHKEY00000", secret, "UnrecognizedClientException"},
	} {
		out, stderr, err := run(c.id, c.secret, "create-cluster", "--cluster-name", "cli-refused")
		if err == nil || !strings.Contains(stderr, c.code) {
			t.Errorf("aws ecs create-cluster with a %s: err %v, stdout %q, stderr %q; want a failure naming %s", c.name, err, out, stderr, c.code)
		}
	}
	if got := secClusters(t, s); !slices.Equal(got, []string{"from-cli"}) {
		t.Errorf("clusters = %v; want only from-cli (the refused calls create nothing)", got)
	}
}
