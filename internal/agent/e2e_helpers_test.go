package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/runtime/docker/dockertest"
)

const (
	testappImage = "wharf-testapp:latest"
	busyboxImage = "busybox:latest"
)

// dockerRuntime returns the real Docker runtime with the test images present.
// Without Docker it fails under CI=true and skips elsewhere.
func dockerRuntime(t *testing.T) *docker.Runtime {
	t.Helper()
	return dockertest.Require(t, docker.Options{PullStallTimeout: 5 * time.Second}, testappImage, busyboxImage)
}

// cluster is a server and one in-process agent on the real Docker Engine.
type cluster struct {
	srv   *ecstest.Server
	c     *ecs.Client
	agent *agent.Agent
	stop  func()
}

func startCluster(t *testing.T) *cluster { return startClusterWith(t, time.Hour) }

func startClusterWith(t *testing.T, retention time.Duration) *cluster {
	t.Helper()
	return startClusterOn(t, retention, nil)
}

// startClusterOn runs the agent on the Docker runtime, wrapped by wrap when
// given (to inject faults).
func startClusterOn(t *testing.T, retention time.Duration, wrap func(runtime.Runtime) runtime.Runtime) *cluster {
	t.Helper()
	rt := dockerRuntime(t)
	var agentRT runtime.Runtime = rt
	if wrap != nil {
		agentRT = wrap(rt)
	}
	srv := ecstest.Start(t)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WHARF_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ag, err := agent.New(agent.Config{
		Endpoint:           srv.URL(),
		Credentials:        ecstest.TestCredentials,
		Cluster:            "default",
		DataDir:            t.TempDir(),
		CPU:                2048,
		MemoryMiB:          2048,
		Runtime:            agentRT,
		Log:                log,
		PollWait:           5 * time.Second,
		ResyncInterval:     time.Second,
		ContainerRetention: retention,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	cl := &cluster{srv: srv, c: srv.Client, agent: ag}
	cl.stop = func() { cancel(); <-done }
	t.Cleanup(func() {
		cl.stop()
		removeTaskContainers(t, rt, ag.InstanceArn())
	})
	waitFor(t, 10*time.Second, "instance registered", func() bool {
		select {
		case err := <-done:
			t.Fatalf("agent stopped before registering: %v", err)
		default:
		}
		return ag.InstanceArn() != ""
	})
	return cl
}

// removeTaskContainers deletes every container an agent of this test made.
func removeTaskContainers(t *testing.T, rt *docker.Runtime, instanceArn string) {
	if instanceArn == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	states, err := rt.List(ctx, map[string]string{"org.wharf-ecs.container-instance-arn": instanceArn})
	if err != nil {
		t.Logf("cleanup: list containers: %v", err)
		return
	}
	for _, s := range states {
		_ = rt.Remove(ctx, s.ID)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func register(t *testing.T, c *ecs.Client, family string, defs ...types.ContainerDefinition) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: defs,
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func runTask(t *testing.T, c *ecs.Client, taskDef string) types.Task {
	t.Helper()
	out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String(taskDef)})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Failures) > 0 || len(out.Tasks) != 1 {
		t.Fatalf("RunTask placed %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	return out.Tasks[0]
}

func describe(t *testing.T, c *ecs.Client, arn string) types.Task {
	t.Helper()
	out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: failures %+v", arn, out.Failures)
	}
	return out.Tasks[0]
}

// waitStatus waits until the task's lastStatus is want and returns it.
func waitStatus(t *testing.T, c *ecs.Client, arn, want string, d time.Duration) types.Task {
	t.Helper()
	var task types.Task
	deadline := time.Now().Add(d)
	for {
		task = describe(t, c, arn)
		if aws.ToString(task.LastStatus) == want {
			return task
		}
		if aws.ToString(task.LastStatus) == "STOPPED" {
			t.Fatalf("task stopped while waiting for %s: stopCode %s, reason %q, containers %s", want, task.StopCode, aws.ToString(task.StoppedReason), containersString(task))
		}
		if time.Now().After(deadline) {
			t.Fatalf("task is %s after %s; want %s", aws.ToString(task.LastStatus), d, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitStopped(t *testing.T, c *ecs.Client, arn string, d time.Duration) types.Task {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		task := describe(t, c, arn)
		if aws.ToString(task.LastStatus) == "STOPPED" {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task is %s after %s; want STOPPED", aws.ToString(task.LastStatus), d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func containersString(task types.Task) string {
	s := ""
	for _, c := range task.Containers {
		s += fmt.Sprintf("[%s %s exit=%v reason=%q] ", aws.ToString(c.Name), aws.ToString(c.LastStatus), aws.ToInt32(c.ExitCode), aws.ToString(c.Reason))
	}
	return s
}

func container(t *testing.T, task types.Task, name string) types.Container {
	t.Helper()
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	t.Fatalf("task has no container %s", name)
	return types.Container{}
}

// hostPort is the host port the container's containerPort is bound to.
func hostPort(t *testing.T, c types.Container, containerPort int32) int32 {
	t.Helper()
	for _, b := range c.NetworkBindings {
		if aws.ToInt32(b.ContainerPort) == containerPort {
			return aws.ToInt32(b.HostPort)
		}
	}
	t.Fatalf("container %s has no binding for port %d: %+v", aws.ToString(c.Name), containerPort, c.NetworkBindings)
	return 0
}

func httpGet(url string) (int, error) {
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func httpBody(url string) (string, error) {
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}
