// Package e2e drives the wharf binary as a user would: real processes, real
// Docker, the official SDK as the client, kill -9 where it matters.
package e2e

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/runtime/docker/dockertest"
)

func requireDocker(t testing.TB) *docker.Runtime {
	t.Helper()
	return dockertest.Require(t, docker.Options{}, "wharf-testapp:latest")
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a wharf subprocess whose output is kept for failure messages.
type proc struct {
	cmd *exec.Cmd
	out *bytes.Buffer
	mu  sync.Mutex
}

type lockedWriter struct{ p *proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// testEnv is the environment of wharf processes: servers verify signatures
// with the test root key, and agents and clients sign with it.
func testEnv() []string {
	return append(os.Environ(),
		"WHARF_ACCESS_KEY_ID="+ecstest.TestAccessKeyID, "WHARF_SECRET_ACCESS_KEY="+ecstest.TestSecretAccessKey,
		"AWS_ACCESS_KEY_ID="+ecstest.TestAccessKeyID, "AWS_SECRET_ACCESS_KEY="+ecstest.TestSecretAccessKey,
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
}

// bareEnv is the environment without any key, for a process that must
// find or make its own.
func bareEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WHARF_") && !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return append(out, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
}

func start(t testing.TB, args ...string) *proc {
	t.Helper()
	return startEnv(t, testEnv(), args...)
}

func startEnv(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &bytes.Buffer{}}
	p.cmd = exec.Command(ecstest.Binary(t), args...)
	p.cmd.Env = env
	p.cmd.Stdout = lockedWriter{p}
	p.cmd.Stderr = lockedWriter{p}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("output of wharf %v:\n%s", args, p.output())
		}
	})
	return p
}

func (p *proc) kill9(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// terminate sends SIGTERM and waits for a clean exit.
func (p *proc) terminate(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("wharf exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wharf did not exit within 30s of SIGTERM")
	}
}

func waitHealthy(t testing.TB, url string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy; output:\n%s", url, p.output())
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func client(url string) *ecs.Client { return ecstest.NewClient(url) }

func describeTask(t *testing.T, c *ecs.Client, arn string) types.Task {
	t.Helper()
	out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %v %+v", arn, err, out)
	}
	return out.Tasks[0]
}

func taskStatus(t *testing.T, c *ecs.Client, arn string) string {
	return aws.ToString(describeTask(t, c, arn).LastStatus)
}

func hostPortOf(t *testing.T, task types.Task) int32 {
	t.Helper()
	for _, c := range task.Containers {
		for _, b := range c.NetworkBindings {
			return aws.ToInt32(b.HostPort)
		}
	}
	t.Fatalf("task has no network binding: %+v", task.Containers)
	return 0
}

func httpOK(url string) bool {
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

func registerTestapp(t *testing.T, c *ecs.Client, family string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String("wharf-testapp:latest"), Memory: aws.Int32(64),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func runOne(t *testing.T, c *ecs.Client, td string) string {
	t.Helper()
	out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String(td)})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}
