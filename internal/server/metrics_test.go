package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/metrics"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// End-to-end tests of metrics: a simulated agent's usage samples become a
// service's utilization (the Go API Service Auto Scaling reads), and
// GET /metrics exposes it with the rest in the Prometheus text format.

// obsAgent runs a simulated agent in cluster that samples every 100ms and
// reports every 300ms, until the test ends.
func obsAgent(t *testing.T, endpoint, cluster string) *agent.Agent {
	t.Helper()
	ag, err := agent.New(agent.Config{
		Endpoint: endpoint, Credentials: ecstest.TestCredentials, Cluster: cluster,
		CPU: 4096, MemoryMiB: 4096, Runtime: sim.New(sim.Options{CPUs: 4}),
		PollWait: 2 * time.Second, ResyncInterval: 200 * time.Millisecond,
		StatsInterval: 100 * time.Millisecond, StatsReportInterval: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	obsWait(t, 10*time.Second, "the agent registers", func() bool { return ag.InstanceArn() != "" })
	return ag
}

func obsWait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// obsTaskDef registers a simulated workload that keeps cpuLoad of its 512
// CPU units and memLoad of its 256 MiB busy.
func obsTaskDef(t *testing.T, c *ecs.Client, family, cpuLoad, memLoad string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("sim/app"), Cpu: 512, Memory: aws.Int32(256),
			Environment: []types.KeyValuePair{
				{Name: aws.String("SIM_CPU_LOAD"), Value: aws.String(cpuLoad)},
				{Name: aws.String("SIM_MEMORY_LOAD"), Value: aws.String(memLoad)},
			},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// scrape GETs path as the root user with Basic authentication (as
// Prometheus does) and parses the Prometheus text format.
func scrape(t *testing.T, s *ecstest.Server) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/metrics", nil)
	req.SetBasicAuth(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics = %s %s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v", err)
	}
	return fams
}

// sample finds the metric of family name whose labels include want.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (*dto.Metric, bool) {
	f := fams[name]
	if f == nil {
		return nil, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return math.NaN()
}

func TestServiceUtilizationFromSimulatedLoad(t *testing.T) {
	s := ecstest.Start(t)
	ag := obsAgent(t, s.URL(), "default")
	td := obsTaskDef(t, s.Client, "busy", "0.5", "0.25")
	ctx := context.Background()
	if _, err := s.Client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"),
		TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	standalone, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(obsTaskDef(t, s.Client, "idle", "0.1", "0.5"))})
	if err != nil || len(standalone.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, standalone)
	}

	// Each task keeps 0.5 of its 512 units and 0.25 of its 256 MiB busy:
	// the service uses 50% of the CPU and 25% of the memory it reserved.
	var src metrics.Source = s.Metrics()
	obsWait(t, 20*time.Second, "the service's CPU utilization is known", func() bool {
		_, ok := src.ServiceAverage("default", "web", metrics.ServiceAverageCPU, time.Minute)
		return ok
	})
	for _, tc := range []struct {
		metric string
		want   float64
	}{{metrics.ServiceAverageCPU, 50}, {metrics.ServiceAverageMemory, 25}} {
		got, ok := src.ServiceAverage("default", "web", tc.metric, time.Minute)
		if !ok || math.Abs(got-tc.want) > 0.5 {
			t.Errorf("ServiceAverage(default, web, %s, 1m) = %.2f, %v; want %v", tc.metric, got, ok, tc.want)
		}
	}
	if got, ok := src.ServiceAverage("default", "nope", metrics.ServiceAverageCPU, time.Minute); ok {
		t.Errorf("ServiceAverage of an unknown service = %v, true; want false", got)
	}
	taskID := aws.ToString(standalone.Tasks[0].TaskArn)
	taskID = taskID[strings.LastIndexByte(taskID, '/')+1:]
	obsWait(t, 10*time.Second, "the standalone task's CPU utilization is known", func() bool {
		_, ok := s.Metrics().TaskAverage("default", taskID, metrics.CPUUtilization, time.Minute)
		return ok
	})
	if got, _ := s.Metrics().TaskAverage("default", taskID, metrics.CPUUtilization, time.Minute); math.Abs(got-10) > 0.5 {
		t.Errorf("TaskAverage(standalone, CPU) = %.2f; want 10", got)
	}

	fams := scrape(t, s)
	instID := ag.InstanceArn()[strings.LastIndexByte(ag.InstanceArn(), '/')+1:]
	checks := []struct {
		name   string
		labels map[string]string
		ok     func(float64) bool
		want   string
	}{
		{"wharf_service_cpu_utilization_percent", map[string]string{"cluster": "default", "service": "web"}, near(50), "50"},
		{"wharf_service_memory_utilization_percent", map[string]string{"cluster": "default", "service": "web"}, near(25), "25"},
		{"wharf_task_cpu_utilization_percent", map[string]string{"cluster": "default", "task": taskID, "service": ""}, near(10), "10"},
		{"wharf_tasks", map[string]string{"cluster": "default", "last_status": "RUNNING"}, equals(3), "3"},
		{"wharf_container_instances", map[string]string{"cluster": "default", "status": "ACTIVE", "agent_connected": "true"}, equals(1), "1"},
		{"wharf_container_instance_cpu_units", map[string]string{"container_instance": instID, "kind": "registered"}, equals(4096), "4096"},
		{"wharf_container_instance_cpu_units", map[string]string{"container_instance": instID, "kind": "remaining"}, equals(4096 - 3*512), "2560"},
		{"wharf_container_instance_memory_mib", map[string]string{"container_instance": instID, "kind": "remaining"}, equals(4096 - 3*256), "3328"},
		{"wharf_container_instance_tasks", map[string]string{"container_instance": instID, "state": "running"}, equals(3), "3"},
		{"wharf_api_request_duration_seconds", map[string]string{"service": "AmazonEC2ContainerServiceV20141113", "operation": "CreateService", "code": "OK"}, equals(1), "1 call"},
		{"wharf_api_request_duration_seconds", map[string]string{"service": "WharfAgent_v1", "operation": "SubmitTaskStats", "code": "OK"}, atLeast(1), ">= 1 call"},
		{"wharf_agent_stats_samples_total", map[string]string{"outcome": "accepted"}, atLeast(3), ">= 3"},
		{"wharf_scheduler_tasks_placed_total", nil, equals(3), "3"},
		{"wharf_scheduler_batches_total", nil, atLeast(2), ">= 2"},
		{"wharf_scheduler_conflicts_total", nil, atLeast(0), ">= 0 (agent reports race placements)"},
		{"wharf_scheduler_tasks_unplaced_total", nil, equals(0), "0"},
		{"wharf_controller_queue_depth", map[string]string{"controller": "placement"}, equals(0), "0"},
		{"wharf_controller_queue_depth", map[string]string{"controller": "service"}, atMost(1), "<= 1"},
		{"wharf_events_published_total", nil, atLeast(3), ">= 3"},
		{"go_goroutines", nil, atLeast(1), ">= 1"},
	}
	for _, c := range checks {
		m, ok := sample(fams, c.name, c.labels)
		if !ok {
			t.Errorf("/metrics has no %s%v", c.name, c.labels)
			continue
		}
		if v := value(m); !c.ok(v) {
			t.Errorf("%s%v = %v; want %s", c.name, c.labels, v, c.want)
		}
	}
	// A call the API answers with an error is counted under its code.
	_, err = s.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("missing"), Services: []string{"x"}})
	ecstest.WantCode(t, err, "ClusterNotFoundException")
	if m, ok := sample(scrape(t, s), "wharf_api_request_duration_seconds", map[string]string{"operation": "DescribeServices", "code": "ClusterNotFoundException"}); !ok || value(m) != 1 {
		t.Errorf("DescribeServices refused with ClusterNotFoundException is not counted under its code")
	}
}

func near(want float64) func(float64) bool {
	return func(v float64) bool { return math.Abs(v-want) <= 0.5 }
}
func equals(want float64) func(float64) bool  { return func(v float64) bool { return v == want } }
func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }
func atMost(want float64) func(float64) bool  { return func(v float64) bool { return v <= want } }

// obsUsers is the test root key plus users with the given policy statements.
func obsUsers(t *testing.T, statements map[string]string) auth.Credentials {
	t.Helper()
	var users []string
	for name, st := range statements {
		policies := ""
		if st != "" {
			policies = `{"Version": "2012-10-17", "Statement": [` + st + `]}`
		}
		users = append(users, fmt.Sprintf(`{"name": %q, "accessKeys": [{"accessKeyId": %q, "secretAccessKey": %q}], "policies": [%s]}`,
			name, obsKey(name), name+"-secret-0123456789", policies))
	}
	creds, err := auth.ParseUsers([]byte(`{"users": [` + strings.Join(users, ", ") + `]}`))
	if err != nil {
		t.Fatalf("ParseUsers: %v", err)
	}
	return auth.Chain{ecstest.RootCredentials(), creds}
}

func obsKey(name string) string { return "AKIAOBS" + strings.ToUpper(name) + "000000" }

// obsGet GETs path with the given authentication and returns the status,
// the AWS error code if any, and the first line of the body.
func obsGet(t *testing.T, s *ecstest.Server, path string, authn func(*http.Request)) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+path, nil)
	if authn != nil {
		authn(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), strings.TrimSpace(line)
}

func TestObservabilityRoutesNeedAuthorization(t *testing.T) {
	s := ecstest.StartWith(t, ecstest.Options{Credentials: obsUsers(t, map[string]string{
		"nobody":  "",
		"scraper": `{"Effect": "Allow", "Action": "wharf:GetMetrics", "Resource": "*"}`,
		"watcher": `{"Effect": "Allow", "Action": "wharf:GetEvents", "Resource": "arn:aws:ecs:*:*:cluster/c1"}`,
	})})
	basic := func(id, secret string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(id, secret) }
	}
	sigv4 := func(name string) func(*http.Request) {
		return func(r *http.Request) { ecstest.SignAs(t, r, nil, obsKey(name), name+"-secret-0123456789") }
	}
	for _, tc := range []struct {
		what, path string
		authn      func(*http.Request)
		status     int
		code       string
	}{
		{"no authentication", "/metrics", nil, 403, "MissingAuthenticationTokenException"},
		{"root, Basic", "/metrics", basic(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey), 200, ""},
		{"root, SigV4", "/metrics", func(r *http.Request) { ecstest.Sign(t, r, nil) }, 200, ""},
		{"a wrong secret", "/metrics", basic(ecstest.TestAccessKeyID, "wrong"), 400, "UnrecognizedClientException"},
		{"an unknown key", "/metrics", basic("AKIANOBODYKNOWS00000", "x"), 400, "UnrecognizedClientException"},
		{"a user without policies", "/metrics", basic(obsKey("nobody"), "nobody-secret-0123456789"), 400, "AccessDeniedException"},
		{"a user allowed wharf:GetMetrics", "/metrics", basic(obsKey("scraper"), "scraper-secret-0123456789"), 200, ""},
		{"a user allowed GetMetrics only, on /events", "/events", basic(obsKey("scraper"), "scraper-secret-0123456789"), 400, "AccessDeniedException"},
		{"a user allowed GetEvents on c1, all clusters", "/events", sigv4("watcher"), 400, "AccessDeniedException"},
		{"a user allowed GetEvents on c1, c1", "/events?cluster=c1", sigv4("watcher"), 200, ""},
		{"a user allowed GetEvents on c1, c1 by ARN", "/events?cluster=arn:aws:ecs:us-east-1:123456789012:cluster/c1", basic(obsKey("watcher"), "watcher-secret-0123456789"), 200, ""},
		{"a user allowed GetEvents on c1, c2", "/events?cluster=c2", sigv4("watcher"), 400, "AccessDeniedException"},
		{"a bad cluster", "/events?cluster=no%20spaces", sigv4("watcher"), 400, "InvalidParameterException"},
	} {
		status, code, line := obsGet(t, s, tc.path, tc.authn)
		if status != tc.status || code != tc.code {
			t.Errorf("%s: GET %s = %d %s (%s); want %d %s", tc.what, tc.path, status, code, line, tc.status, tc.code)
		}
		if tc.status == 200 && tc.path != "/metrics" && line != ": connected" {
			t.Errorf("%s: GET %s begins %q; want the stream's \": connected\"", tc.what, tc.path, line)
		}
	}
}

func TestSubmitTaskStatsRefusesBadSamples(t *testing.T) {
	s := ecstest.Start(t)
	ag := obsAgent(t, s.URL(), "default")
	c := agent.NewAPIClient(s.URL(), nil, ecstest.TestCredentials, "us-east-1")
	call := func(in agentproto.SubmitTaskStatsRequest) (int, error) {
		var out agentproto.SubmitTaskStatsResponse
		err := c.Call(context.Background(), agentproto.TargetPrefix+"."+agentproto.SubmitTaskStats, in, &out)
		return out.Accepted, err
	}
	inst := ag.InstanceArn()
	for _, tc := range []struct {
		what string
		in   agentproto.SubmitTaskStatsRequest
		code string
	}{
		{"negative usage", agentproto.SubmitTaskStatsRequest{Cluster: "default", ContainerInstanceArn: inst,
			Samples: []agentproto.TaskStatsSample{{TaskArn: "x", CPUUnits: -1}}}, "InvalidParameterException"},
		{"too many samples", agentproto.SubmitTaskStatsRequest{Cluster: "default", ContainerInstanceArn: inst,
			Samples: make([]agentproto.TaskStatsSample, agentproto.MaxStatsSamples+1)}, "InvalidParameterException"},
		{"an unknown instance", agentproto.SubmitTaskStatsRequest{Cluster: "default", ContainerInstanceArn: "0123456789abcdef0123456789abcdef"}, "InvalidParameterException"},
		{"an unknown cluster", agentproto.SubmitTaskStatsRequest{Cluster: "nope", ContainerInstanceArn: inst}, "ClusterNotFoundException"},
	} {
		_, err := call(tc.in)
		var ae *agent.APIError
		if !errors.As(err, &ae) || ae.Code != tc.code {
			t.Errorf("SubmitTaskStats with %s = %v; want %s", tc.what, err, tc.code)
		}
	}
	n, err := call(agentproto.SubmitTaskStatsRequest{Cluster: "default", ContainerInstanceArn: inst,
		Samples: []agentproto.TaskStatsSample{{TaskArn: "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef", Time: time.Now(), CPUUnits: 1}}})
	if err != nil || n != 0 {
		t.Errorf("SubmitTaskStats of a task that is not on the instance = %d accepted, %v; want 0, no error", n, err)
	}
}
