package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/runtime/docker/dockertest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// execCluster is a test server with one agent on rt, and an admin client.
func execCluster(t *testing.T, rt runtime.Runtime) (*ecstest.Server, *agent.APIClient) {
	t.Helper()
	s := ecstest.Start(t)
	ag, err := agent.New(agent.Config{Endpoint: s.URL(), Credentials: ecstest.TestCredentials, Cluster: "x",
		CPU: 2048, MemoryMiB: 2048, Runtime: rt, Log: slog.New(slog.DiscardHandler), DataDir: t.TempDir(),
		PollWait: time.Second, ResyncInterval: 100 * time.Millisecond, StatsInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ag.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for ag.InstanceArn() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not register")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s, agent.NewAPIClient(s.URL(), http.DefaultClient, ecstest.TestCredentials, "us-east-1")
}

// runTask runs one task of image with the given command and waits until it
// runs; exec says whether it may take exec sessions.
func runTask(t *testing.T, c *ecs.Client, image string, command []string, exec bool) string {
	t.Helper()
	ctx := context.Background()
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("sh"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("main"), Image: aws.String(image), Command: command,
			Memory: aws.Int32(64), Essential: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("x"), TaskDefinition: aws.String("sh"), EnableExecuteCommand: exec})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("x"), Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(d.Tasks[0].LastStatus) == "RUNNING" {
			return arn
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s is %s", arn, aws.ToString(d.Tasks[0].LastStatus))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestExecOnSimulatedContainers: wharf exec's session runs a command in a
// task's container through its agent and returns its output, its input and
// its exit code; the task must have execute command enabled; ECS's own
// ExecuteCommand points to wharf exec.
func TestExecOnSimulatedContainers(t *testing.T) {
	s, c := execCluster(t, sim.New(sim.Options{}))
	ctx := context.Background()
	task := runTask(t, s.Client, "app:1", nil, true)
	for _, tc := range []struct {
		cmd    []string
		stdin  string
		out    string
		errOut string
		code   int
	}{
		{[]string{"echo", "hello", "world"}, "", "hello world\n", "", 0},
		{[]string{"cat"}, "piped input\n", "piped input\n", "", 0},
		{[]string{"exit", "3"}, "", "", "", 3},
		{[]string{"nosuch"}, "", "", "sim: nosuch: not found\n", 127},
	} {
		var stdout, stderr bytes.Buffer
		code, err := runExec(ctx, c, agentproto.StartExecSessionRequest{Cluster: "x", Task: task, Command: tc.cmd, Interactive: true},
			strings.NewReader(tc.stdin), &stdout, &stderr, nil)
		if err != nil || code != tc.code || stdout.String() != tc.out || stderr.String() != tc.errOut {
			t.Errorf("exec %v = %d, %v, out %q err %q; want %d, out %q err %q", tc.cmd, code, err, stdout.String(), stderr.String(), tc.code, tc.out, tc.errOut)
		}
	}
	// Refusals.
	other := runTask(t, s.Client, "app:1", nil, false)
	_, err := runExec(ctx, c, agentproto.StartExecSessionRequest{Cluster: "x", Task: other, Command: []string{"true"}}, nil, &bytes.Buffer{}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "execute command was not enabled") {
		t.Errorf("exec in a task without enableExecuteCommand: %v", err)
	}
	_, err = runExec(ctx, c, agentproto.StartExecSessionRequest{Cluster: "x", Task: task, Container: "nope", Command: []string{"true"}}, nil, &bytes.Buffer{}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), `no container "nope"`) {
		t.Errorf("exec in a missing container: %v", err)
	}
	_, err = s.Client.ExecuteCommand(ctx, &ecs.ExecuteCommandInput{Cluster: aws.String("x"), Task: aws.String(task),
		Command: aws.String("sh"), Interactive: true})
	if ecstest.ErrorCode(err) != "ClientException" || !strings.Contains(err.Error(), "Session Manager plugin") || !strings.Contains(err.Error(), "wharf exec") {
		t.Errorf("ExecuteCommand: %v", err)
	}
	// Another caller cannot attach to a session it did not start.
	var sess agentproto.StartExecSessionResponse
	if err := c.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.StartExecSession,
		agentproto.StartExecSessionRequest{Cluster: "x", Task: task, Command: []string{"true"}}, &sess); err != nil {
		t.Fatal(err)
	}
	stranger := agent.NewAPIClient(s.URL(), http.DefaultClient, nil, "us-east-1")
	if _, err := stranger.OpenExecStream(ctx, sess.StreamPath); err == nil {
		t.Error("an unsigned caller attached to an exec session")
	}
}

// TestExecOnDocker: on Docker, a command runs in the task's container with
// its output, input and exit code, and with a terminal it gets one.
func TestExecOnDocker(t *testing.T) {
	rt := dockertest.Require(t, docker.Options{}, "busybox:latest")
	s, c := execCluster(t, rt)
	ctx := context.Background()
	task := runTask(t, s.Client, "busybox:latest", []string{"sleep", "3600"}, true)
	t.Cleanup(func() {
		_, _ = s.Client.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String("x"), Task: aws.String(task)})
		time.Sleep(time.Second)
	})
	var stdout, stderr bytes.Buffer
	code, err := runExec(ctx, c, agentproto.StartExecSessionRequest{Cluster: "x", Task: task,
		Command: []string{"sh", "-c", "read line; echo got $line; echo oops >&2; exit 7"}, Interactive: true},
		strings.NewReader("hello\n"), &stdout, &stderr, nil)
	if err != nil || code != 7 || stdout.String() != "got hello\n" || stderr.String() != "oops\n" {
		t.Errorf("exec = %d, %v, out %q, err %q; want 7, \"got hello\\n\", \"oops\\n\"", code, err, stdout.String(), stderr.String())
	}
	// With a terminal: the command sees one, of the size the client sent.
	stdout.Reset()
	resize := make(chan [2]uint16, 1)
	resize <- [2]uint16{100, 40}
	close(resize)
	keyboard, typing := io.Pipe() // a terminal's input stays open
	defer typing.Close()
	code, err = runExec(ctx, c, agentproto.StartExecSessionRequest{Cluster: "x", Task: task, Tty: true, Interactive: true,
		Command: []string{"sh", "-c", "sleep 0.5; [ -t 0 ] && stty size"}}, keyboard, &stdout, &stderr, resize)
	if err != nil || code != 0 || strings.TrimSpace(stdout.String()) != "40 100" {
		t.Errorf("exec with a terminal = %d, %v, out %q; want 0 and \"40 100\"", code, err, stdout.String())
	}
}
