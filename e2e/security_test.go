package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// An operator's path to a secured cluster, with the binaries: the server
// verifies signatures, `wharf join-token create` makes a token, an agent with
// no key of its own joins with it, and after a restart it is the same
// instance, signing with the credential it was issued.
func TestAgentJoinsWithTokenAndKeepsItsIdentity(t *testing.T) {
	requireDocker(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	srv := start(t, "server", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", t.TempDir())
	waitHealthy(t, url, srv)
	c := client(url)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("secure")}); err != nil {
		t.Fatal(err)
	}
	unsigned := ecstest.NewClientAs(url, "AKIAUNKNOWNKEY000001", "not-the-secret-at-all")
	if _, err := unsigned.ListClusters(ctx, &ecs.ListClustersInput{}); ecstest.ErrorCode(err) != "UnrecognizedClientException" {
		t.Fatalf("unknown key: err = %v; want UnrecognizedClientException", err)
	}

	tok := exec.Command(ecstest.Binary(t), "join-token", "create", "--cluster", "secure", "--ttl", "10m", "--endpoint", url)
	tok.Env = testEnv()
	out, err := tok.Output()
	if err != nil {
		t.Fatalf("wharf join-token create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	if !strings.HasPrefix(token, "wharf-join-") {
		t.Fatalf("join token = %q", token)
	}

	agentDir := t.TempDir()
	args := []string{"agent", "--endpoint", url, "--cluster", "secure", "--data-dir", agentDir, "--cpu", "1024", "--memory", "1024", "--join-token", token}
	ag := startEnv(t, bareEnv(), args...)
	var arn string
	waitFor(t, 20*time.Second, "the agent to join", func() bool {
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("secure")})
		if err == nil && len(out.ContainerInstanceArns) == 1 {
			arn = out.ContainerInstanceArns[0]
			return true
		}
		return false
	})
	var saved struct {
		ContainerInstanceArn string `json:"containerInstanceArn"`
		AccessKeyID          string `json:"accessKeyId"`
	}
	b, err := os.ReadFile(filepath.Join(agentDir, "instance.json"))
	if err != nil || json.Unmarshal(b, &saved) != nil || saved.ContainerInstanceArn != arn || saved.AccessKeyID == "" {
		t.Fatalf("agent state = %s, %v; want the instance and its credential", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(agentDir, "instance.json")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("agent credential file mode = %v; want 0600", fi.Mode().Perm())
	}

	// Revoke the token: the agent restarts on its own credential, as the
	// same instance.
	del := exec.Command(ecstest.Binary(t), "join-token", "list", "--endpoint", url)
	del.Env = testEnv()
	if out, err := del.Output(); err != nil || !strings.Contains(string(out), `"cluster": "secure"`) {
		t.Fatalf("wharf join-token list = %s, %v", out, err)
	}
	ag.terminate(t)
	ag2 := startEnv(t, bareEnv(), append(args[:len(args)-2], "--join-token", "wharf-join-0000000000000000-revoked")...)
	waitFor(t, 20*time.Second, "the restarted agent to reconnect", func() bool {
		out, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("secure"), ContainerInstances: []string{arn}})
		return err == nil && len(out.ContainerInstances) == 1 && out.ContainerInstances[0].AgentConnected &&
			strings.Contains(ag2.output(), "container instance registered")
	})
	list, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("secure")})
	if err != nil || len(list.ContainerInstanceArns) != 1 || list.ContainerInstanceArns[0] != arn {
		t.Fatalf("instances after restart = %v, %v; want only %s", list, err, arn)
	}
}

// wharf up without a key in the environment generates one, keeps it in its
// data directory and prints the aws configure lines; only that key gets in.
func TestUpGeneratesARootKey(t *testing.T) {
	requireDocker(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	dataDir := t.TempDir()
	up := startEnv(t, bareEnv(), "up", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", dataDir)
	waitHealthy(t, url, up)
	waitFor(t, 20*time.Second, "wharf up to print the aws configure lines", func() bool {
		return strings.Contains(up.output(), "aws configure set aws_secret_access_key")
	})
	var key struct{ AccessKeyID, SecretAccessKey string }
	b, err := os.ReadFile(filepath.Join(dataDir, "root-key.json"))
	if err != nil || json.Unmarshal(b, &key) != nil || !strings.HasPrefix(key.AccessKeyID, "AKIA") || len(key.SecretAccessKey) != 40 {
		t.Fatalf("root-key.json = %s, %v", b, err)
	}
	for _, line := range []string{
		"aws configure set aws_access_key_id " + key.AccessKeyID + " --profile wharf",
		"aws configure set aws_secret_access_key " + key.SecretAccessKey + " --profile wharf",
	} {
		if !strings.Contains(up.output(), line) {
			t.Fatalf("wharf up output lacks %q:\n%s", line, up.output())
		}
	}
	ctx := context.Background()
	good := ecstest.NewClientAs(url, key.AccessKeyID, key.SecretAccessKey)
	out, err := good.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
	if err != nil || len(out.ContainerInstanceArns) != 1 {
		t.Fatalf("with the generated key: %v, %v; want the local instance", out, err)
	}
	if _, err := client(url).ListClusters(ctx, &ecs.ListClustersInput{}); ecstest.ErrorCode(err) != "UnrecognizedClientException" {
		t.Fatalf("another key: err = %v; want UnrecognizedClientException", err)
	}
	wrong := ecstest.NewClientAs(url, key.AccessKeyID, "wrong-secret-wrong-secret-wrong-secret00")
	if _, err := wrong.ListClusters(ctx, &ecs.ListClustersInput{}); ecstest.ErrorCode(err) != "InvalidSignatureException" {
		t.Fatalf("wrong secret: err = %v; want InvalidSignatureException", err)
	}
}
