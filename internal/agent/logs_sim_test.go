package agent_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// simAgent is an agent on a simulated host that can be stopped and started
// again on the same host and data directory, as a restarted agent process.
type simAgent struct {
	t       testing.TB
	url     string
	rt      runtime.Runtime
	dataDir string
	stop    func()
	agent   *agent.Agent
	tweak   func(*agent.Config) // nil: the defaults of start
}

func startSimAgent(t testing.TB, url string, rt runtime.Runtime) *simAgent {
	t.Helper()
	return startSimAgentWith(t, url, rt, nil)
}

// startSimAgentWith is startSimAgent with tweak applied to the agent's
// configuration.
func startSimAgentWith(t testing.TB, url string, rt runtime.Runtime, tweak func(*agent.Config)) *simAgent {
	t.Helper()
	s := &simAgent{t: t, url: url, rt: rt, dataDir: t.TempDir(), tweak: tweak}
	s.start()
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *simAgent) start() {
	s.t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WHARF_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := agent.Config{Endpoint: s.url, Credentials: ecstest.TestCredentials, DataDir: s.dataDir,
		CPU: 4096, MemoryMiB: 8192, Runtime: s.rt, PollWait: 5 * time.Second, ResyncInterval: time.Second, Log: log}
	if s.tweak != nil {
		s.tweak(&cfg)
	}
	ag, err := agent.New(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	stopped := false
	s.agent = ag
	s.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for ag.InstanceArn() == "" {
		if time.Now().After(deadline) {
			s.t.Fatal("the agent did not register")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logsClientFor is the SDK's logs client for a test server, retrying as it
// does by default: under load the SDK's transport now and then loses a
// connection it counts as reset, and retries.
func logsClientFor(url string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: ecstest.TestCredentials})
}

// awslogsTask registers a definition whose container "app" logs with
// awslogs (group, prefix "task", awslogs-create-group as given), and runs it.
func awslogsTask(t testing.TB, c *ecs.Client, family, image, group string, createGroup bool, env map[string]string, command ...string) types.Task {
	t.Helper()
	opts := map[string]string{"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "task"}
	if createGroup {
		opts["awslogs-create-group"] = "true"
	}
	var kv []types.KeyValuePair
	for k, v := range env {
		kv = append(kv, types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	td, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(64),
			Environment: kv, Command: command, LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: opts}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", out, err)
	}
	return out.Tasks[0]
}

func streamOf(task types.Task) string {
	arn := aws.ToString(task.TaskArn)
	return "task/app/" + arn[strings.LastIndexByte(arn, '/')+1:]
}

// readStream returns every message of a stream, oldest first (nil while the
// stream does not exist).
func readStream(t testing.TB, c *cloudwatchlogs.Client, group, stream string) []string {
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
			t.Fatalf("GetLogEvents %s %s: %v", group, stream, err)
		}
		for _, e := range page.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
	}
	return msgs
}

// checkSequence fails unless msgs are exactly "line 0" to "line n-1".
func checkSequence(t testing.TB, msgs []string, n int) {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("%d events; want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m != fmt.Sprintf("line %d", i) {
			t.Fatalf("event %d is %q; want %q (lines lost, repeated or out of order)", i, m, fmt.Sprintf("line %d", i))
		}
	}
}

func waitLines(t testing.TB, c *cloudwatchlogs.Client, group, stream string, n int, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msgs := readStream(t, c, group, stream)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines arrived in %s", len(msgs), n, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestAwslogsShippedInOrder(t *testing.T) {
	srv := ecstest.Start(t)
	startSimAgent(t, srv.URL(), sim.New(sim.Options{}))
	const n = 30_000
	task := awslogsTask(t, srv.Client, "sim-logs", "app:1", "/ecs/sim", true, map[string]string{sim.EnvLogLines: fmt.Sprint(n)})
	logs := logsClientFor(srv.URL())
	checkSequence(t, waitLines(t, logs, "/ecs/sim", streamOf(task), n, 60*time.Second), n)
}

// dyingProxy stands between an agent and the server. Armed, it makes the
// agent die around its next PutLogEvents: after the server took the batch
// (the agent never hears so), or before it reached the server.
type dyingProxy struct {
	mu      sync.Mutex
	mode    string // "", "after", "before"
	kill    func()
	killed  chan struct{}
	forward http.Handler
}

func newDyingProxy(t testing.TB, target string) (*dyingProxy, string) {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the interrupted calls
	p := &dyingProxy{forward: rp}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *dyingProxy) arm(mode string, kill func()) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.kill, p.killed = mode, kill, make(chan struct{})
	return p.killed
}

func (p *dyingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	mode, kill, killed := p.mode, p.kill, p.killed
	if r.Header.Get("X-Amz-Target") == "Logs_20140328.PutLogEvents" && mode != "" {
		p.mode = ""
	} else {
		mode = ""
	}
	p.mu.Unlock()
	if mode == "" {
		p.forward.ServeHTTP(w, r)
		return
	}
	if mode == "after" {
		p.forward.ServeHTTP(httptest.NewRecorder(), r) // the server stores the batch; the answer is lost
	} else {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client go
	}
	go func() { kill(); close(killed) }()
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// TestAwslogsAcrossAgentRestarts stops the agent while a container writes:
// right after the server stored a batch the agent never heard back about,
// before a batch reached the server, and at an arbitrary moment; each time
// it starts again on the same data directory. Every line arrives exactly
// once, in order.
func TestAwslogsAcrossAgentRestarts(t *testing.T) {
	srv := ecstest.Start(t)
	proxy, url := newDyingProxy(t, srv.URL())
	ag := startSimAgent(t, url, sim.New(sim.Options{}))
	const n = 20_000
	task := awslogsTask(t, srv.Client, "sim-restart", "app:1", "/ecs/restart", true,
		map[string]string{sim.EnvLogLines: fmt.Sprint(n), sim.EnvLogRate: "2500"})
	logs := logsClientFor(srv.URL())
	for _, mode := range []string{"after", "before", "after"} {
		killed := proxy.arm(mode, ag.stop)
		select {
		case <-killed:
		case <-time.After(20 * time.Second):
			t.Fatalf("no PutLogEvents to interrupt (%s)", mode)
		}
		ag.start()
	}
	time.Sleep(1500 * time.Millisecond)
	ag.stop()
	ag.start()
	checkSequence(t, waitLines(t, logs, "/ecs/restart", streamOf(task), n, 60*time.Second), n)
	time.Sleep(2 * time.Second) // nothing more may arrive
	checkSequence(t, readStream(t, logs, "/ecs/restart", streamOf(task)), n)
}

// TestAwslogsMissingGroup: without awslogs-create-group, a log group that
// does not exist stops the task before its container starts, as on ECS.
func TestAwslogsMissingGroup(t *testing.T) {
	srv := ecstest.Start(t)
	startSimAgent(t, srv.URL(), sim.New(sim.Options{}))
	task := awslogsTask(t, srv.Client, "sim-nogroup", "app:1", "/ecs/missing", false, nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := srv.Client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{aws.ToString(task.TaskArn)}})
		if err != nil {
			t.Fatal(err)
		}
		got := out.Tasks[0]
		if aws.ToString(got.LastStatus) == "STOPPED" {
			reason := aws.ToString(got.StoppedReason)
			if got.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.Contains(reason, "CannotStartContainerError") || !strings.Contains(reason, "log group does not exist") {
				t.Fatalf("stopped with %s: %q; want TaskFailedToStart for the missing log group", got.StopCode, reason)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task is %s; want it stopped for its missing log group", aws.ToString(got.LastStatus))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
