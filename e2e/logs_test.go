package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// The awslogs log driver as a user meets it: a busybox task writes numbered
// lines at a steady pace; the agent is killed with SIGKILL twice while it
// ships them and started again; every line arrives once, in order, and the
// aws CLI and `wharf logs` show them.
func TestAwslogsOnDockerAcrossAgentKills(t *testing.T) {
	rt := requireDocker(t)
	awsPath := requireAWSCLI(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	srv := start(t, "server", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", t.TempDir())
	waitHealthy(t, url, srv)
	agentArgs := []string{"agent", "--endpoint", url, "--cluster", "logs", "--data-dir", t.TempDir(), "--cpu", "1024", "--memory", "1024"}
	ag := start(t, agentArgs...)
	c := client(url)
	ctx := context.Background()
	waitFor(t, 20*time.Second, "the agent's container instance", func() bool {
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("logs")})
		return err == nil && len(out.ContainerInstanceArns) == 1
	})

	const n = 3000 // 100 lines every 0.2 s: about 6 s of output
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo "line $i"; i=$((i+1)); if [ $((i %% 100)) -eq 0 ]; then sleep 0.2; fi; done`, n)
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("chatty"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:latest"), Memory: aws.Int32(32),
			Command: []string{"sh", "-c", script},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/chatty", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("logs"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	taskID := arn[strings.LastIndexByte(arn, '/')+1:]
	t.Cleanup(func() { removeContainersOfTask(t, rt, arn) })
	logs := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: ecstest.TestCredentials})
	stream := "ecs/app/" + taskID
	count := func() int { return len(streamMessages(t, logs, "/ecs/chatty", stream)) }

	// Kill the agent twice while it ships, once some lines are in.
	for _, after := range []int{300, 1500} {
		waitFor(t, 60*time.Second, fmt.Sprintf("%d lines shipped", after), func() bool { return count() >= after })
		ag.kill9(t)
		time.Sleep(500 * time.Millisecond)
		ag = start(t, agentArgs...)
	}
	waitFor(t, 90*time.Second, "every line shipped", func() bool { return count() >= n })
	time.Sleep(2 * time.Second) // nothing more may arrive
	msgs := streamMessages(t, logs, "/ecs/chatty", stream)
	if len(msgs) != n {
		t.Fatalf("%d events arrived; want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m != fmt.Sprintf("line %d", i) {
			t.Fatalf("event %d is %q; want \"line %d\" (lost, repeated or out of order)", i, m, i)
		}
	}

	// The aws CLI: filter-log-events (it follows nextToken by itself) and
	// get-log-events, signed with the root key.
	out := awsCLI(t, awsPath, url, "logs", "filter-log-events", "--log-group-name", "/ecs/chatty", "--log-stream-name-prefix", "ecs/app/")
	var filtered struct {
		Events []struct {
			Message       string `json:"message"`
			LogStreamName string `json:"logStreamName"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &filtered); err != nil {
		t.Fatalf("aws logs filter-log-events output: %v\n%s", err, out)
	}
	if len(filtered.Events) != n || filtered.Events[0].Message != "line 0" || filtered.Events[n-1].Message != fmt.Sprintf("line %d", n-1) || filtered.Events[0].LogStreamName != stream {
		t.Fatalf("aws logs filter-log-events: %d events, first %+v", len(filtered.Events), filtered.Events[:min(1, len(filtered.Events))])
	}
	out = awsCLI(t, awsPath, url, "logs", "get-log-events", "--log-group-name", "/ecs/chatty", "--log-stream-name", stream, "--limit", "3")
	if !strings.Contains(out, fmt.Sprintf(`"line %d"`, n-1)) || !strings.Contains(out, "nextForwardToken") {
		t.Fatalf("aws logs get-log-events --limit 3 (the newest): %s", out)
	}

	// wharf logs TASK, as a person would run it.
	cmd := exec.Command(ecstest.Binary(t), "logs", taskID, "--cluster", "logs", "--endpoint", url)
	cmd.Env = testEnv()
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("wharf logs: %v\n%s", err, got)
	}
	if lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n"); len(lines) != n || lines[0] != "line 0" || lines[n-1] != fmt.Sprintf("line %d", n-1) {
		t.Fatalf("wharf logs printed %d lines; want %d, from line 0", len(lines), n)
	}
}

func requireAWSCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the aws CLI is not on PATH; CI must install it (scripts/test.sh does)")
		}
		t.Skip("the aws CLI is not on PATH")
	}
	return path
}

// awsCLI runs the aws CLI against url as the test root user and returns its
// output.
func awsCLI(t *testing.T, path, url string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, append(args, "--endpoint-url", url, "--output", "json")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_ACCESS_KEY_ID=" + ecstest.TestAccessKeyID, "AWS_SECRET_ACCESS_KEY=" + ecstest.TestSecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER="}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// streamMessages reads a whole stream, oldest first; nil before it exists.
func streamMessages(t *testing.T, c *cloudwatchlogs.Client, group, stream string) []string {
	t.Helper()
	var msgs []string
	p := cloudwatchlogs.NewGetLogEventsPaginator(c, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group),
		LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if ecstest.ErrorCode(err) == "ResourceNotFoundException" {
			return nil
		}
		if err != nil {
			t.Fatalf("GetLogEvents: %v", err)
		}
		for _, e := range page.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
	}
	return msgs
}
