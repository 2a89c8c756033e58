package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	goruntime "runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// startResyncAgent runs an agent on rt against url with a short resync and
// a poll that answers only when something changed.
func startResyncAgent(t *testing.T, url string, rt runtime.Runtime, resync time.Duration) *agent.Agent {
	t.Helper()
	return startSimAgentWith(t, url, rt, func(c *agent.Config) {
		c.CPU, c.MemoryMiB = 64*1024, 64*1024
		c.PollWait, c.ResyncInterval, c.StatsInterval = 20*time.Second, resync, -1
	}).agent
}

// runSimTasks starts n tasks of a one-container definition with env.
func runSimTasks(t *testing.T, c *ecs.Client, family string, n int, env map[string]string) []string {
	t.Helper()
	var kv []types.KeyValuePair
	for k, v := range env {
		kv = append(kv, types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	td := register(t, c, family, types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("app:1"),
		Memory: aws.Int32(16), Environment: kv})
	var arns []string
	for len(arns) < n {
		out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String(td),
			Count: aws.Int32(int32(min(10, n-len(arns))))})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Failures) > 0 {
			t.Fatalf("RunTask failures: %+v", out.Failures)
		}
		for _, task := range out.Tasks {
			arns = append(arns, aws.ToString(task.TaskArn))
		}
	}
	return arns
}

// runnerGoroutines counts the goroutines stepping a task runner.
func runnerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := goruntime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("agent.(*runner)")) {
			count++
		}
	}
	return count
}

// Tasks that run steadily hold no goroutine of the agent's: a runner has
// one only while it steps, on an event, an update or a resync. A million
// tasks in the simulator would otherwise park a million goroutines. (No
// other test of the package runs in parallel to add runners of its own.)
func TestSteadyTasksHoldNoGoroutine(t *testing.T) {
	const n = 40
	srv := ecstest.Start(t)
	startResyncAgent(t, srv.URL(), sim.New(sim.Options{}), 200*time.Millisecond)
	arns := runSimTasks(t, srv.Client, "steady", n, nil)
	waitFor(t, 30*time.Second, "every task RUNNING", func() bool {
		out, err := srv.Client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: arns})
		if err != nil {
			t.Fatal(err)
		}
		return !slices.ContainsFunc(out.Tasks, func(task types.Task) bool { return aws.ToString(task.LastStatus) != "RUNNING" })
	})
	// Resyncs go on every 200ms; between them, rounds are over.
	waitFor(t, 10*time.Second, fmt.Sprintf("runner goroutines of %d steady tasks to end", n), func() bool {
		return runnerGoroutines() <= 2
	})
}

// deafRuntime delivers no container events, as a runtime whose event stream
// drops them: only resyncs notice what changes.
type deafRuntime struct{ runtime.Runtime }

func (deafRuntime) Watch(ctx context.Context, _ time.Time, _ map[string]string, _ func(runtime.Event)) error {
	<-ctx.Done()
	return ctx.Err()
}

// failingReports stands between an agent and the server and answers the
// agent's first task state report with a server error.
type failingReports struct {
	forward http.Handler
	failed  atomic.Int32
}

func (p *failingReports) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".SubmitTaskStateChange") && p.failed.CompareAndSwap(0, 1) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"ServerException","message":"try again"}`))
		return
	}
	p.forward.ServeHTTP(w, r)
}

// With no container event and nothing new from the server, resyncs alone
// retry a report the server failed and notice a container that exited.
func TestResyncRetriesReportAndSeesMissedExit(t *testing.T) {
	srv := ecstest.Start(t)
	u, _ := url.Parse(srv.URL())
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	proxy := &failingReports{forward: rp}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	startResyncAgent(t, front.URL, deafRuntime{sim.New(sim.Options{})}, 300*time.Millisecond)

	arn := runSimTasks(t, srv.Client, "resync", 1, map[string]string{sim.EnvExitAfter: "3s", sim.EnvExitCode: "4"})[0]
	// Well within the poll's 20s wait, which would wake the runner too.
	waitStatus(t, srv.Client, arn, "RUNNING", 2500*time.Millisecond)
	if proxy.failed.Load() != 1 {
		t.Fatal("no task state report was failed")
	}
	stopped := waitStopped(t, srv.Client, arn, 6*time.Second)
	if stopped.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("stopCode = %s; want EssentialContainerExited", stopped.StopCode)
	}
	if c := container(t, stopped, "app"); c.ExitCode == nil || *c.ExitCode != 4 {
		t.Errorf("exit code = %v; want 4", c.ExitCode)
	}
}
