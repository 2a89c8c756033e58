package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// startLogsCluster runs a server and an agent on a simulated host, with
// the caller's AWS credentials set to the server's root key.
func startLogsCluster(t *testing.T) *ecstest.Server {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", ecstest.TestAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", ecstest.TestSecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	srv := ecstest.Start(t)
	ag, err := agent.New(agent.Config{Endpoint: srv.URL(), Credentials: ecstest.TestCredentials, CPU: 4096, MemoryMiB: 4096,
		Runtime: sim.New(sim.Options{}), PollWait: 5 * time.Second, ResyncInterval: time.Second, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for ag.InstanceArn() == "" { // registered: the default cluster exists
		if time.Now().After(deadline) {
			t.Fatal("the agent did not register")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return srv
}

func registerLogging(t *testing.T, c *ecs.Client, family string, env map[string]string) string {
	t.Helper()
	var kv []types.KeyValuePair
	for k, v := range env {
		kv = append(kv, types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1"), Memory: aws.Int32(64), Environment: kv,
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/" + family, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// runLogs runs `wharf logs ARGS` until it returns or ctx ends.
func runLogs(ctx context.Context, out *lockedBuffer, url string, args ...string) error {
	cmd := logsCmd()
	cmd.SetArgs(append(args, "--endpoint", url))
	cmd.SetOut(out)
	cmd.SetErr(out)
	return cmd.ExecuteContext(ctx)
}

func TestLogsOfATask(t *testing.T) {
	srv := startLogsCluster(t)
	td := registerLogging(t, srv.Client, "one", map[string]string{sim.EnvLogLines: "50"})
	run, err := srv.Client.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String(td)})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	var want []string
	for i := range 50 {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out lockedBuffer
		err := runLogs(context.Background(), &out, srv.URL(), arn[strings.LastIndexByte(arn, '/')+1:])
		if err == nil && out.String() == strings.Join(want, "\n")+"\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("wharf logs TASK-ID = %v\n%s\nwant lines 0 to 49, unlabelled", err, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLogsFollowAService follows a service of two tasks that write as time
// passes: every line of both shows once, labelled with its container and
// task.
func TestLogsFollowAService(t *testing.T) {
	srv := startLogsCluster(t)
	ctx := context.Background()
	td := registerLogging(t, srv.Client, "svc", map[string]string{sim.EnvLogLines: "40", sim.EnvLogRate: "20"})
	if _, err := srv.Client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runLogs(fctx, &out, srv.URL(), "-f", "--poll", "200ms", "web") }()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(out.String(), "\n") < 80 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // nothing more may come
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("wharf logs -f: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	perTask := map[string][]string{}
	for _, l := range lines {
		label, msg, ok := strings.Cut(l, " | ")
		if !ok || !strings.HasPrefix(label, "app ") {
			t.Fatalf("line %q is not labelled with its container and task", l)
		}
		perTask[label] = append(perTask[label], msg)
	}
	if len(perTask) != 2 {
		t.Fatalf("output of %d tasks; want 2:\n%s", len(perTask), out.String())
	}
	for label, msgs := range perTask {
		for i, m := range msgs {
			if m != fmt.Sprintf("line %d", i) {
				t.Fatalf("%s: line %d is %q; want every line once, in order:\n%s", label, i, m, out.String())
			}
		}
		if len(msgs) != 40 {
			t.Fatalf("%s: %d lines; want 40", label, len(msgs))
		}
	}
}
