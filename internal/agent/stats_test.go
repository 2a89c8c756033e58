package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/runtime"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

func TestCPUUnits(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		what      string
		prev, cur runtime.Stats
		want      float64
		wantOK    bool
	}{
		{"half of one of four CPUs, from host CPU time",
			runtime.Stats{Time: t0, CPUTotal: 0, SystemCPU: 0, OnlineCPUs: 4},
			runtime.Stats{Time: t0.Add(time.Second), CPUTotal: 500 * time.Millisecond, SystemCPU: 4 * time.Second, OnlineCPUs: 4},
			512, true},
		{"two full cores, over wall time when the runtime gives no host figures",
			runtime.Stats{Time: t0, CPUTotal: time.Second},
			runtime.Stats{Time: t0.Add(2 * time.Second), CPUTotal: 5 * time.Second},
			2048, true},
		{"counters reset by a restart",
			runtime.Stats{Time: t0, CPUTotal: 9 * time.Second, SystemCPU: 10 * time.Second, OnlineCPUs: 2},
			runtime.Stats{Time: t0.Add(time.Second), CPUTotal: time.Second, SystemCPU: 12 * time.Second, OnlineCPUs: 2},
			0, false},
		{"no time between the samples",
			runtime.Stats{Time: t0, CPUTotal: time.Second},
			runtime.Stats{Time: t0, CPUTotal: time.Second},
			0, false},
	} {
		got, ok := cpuUnits(tc.prev, tc.cur)
		if ok != tc.wantOK || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: cpuUnits = %v, %v; want %v, %v", tc.what, got, ok, tc.want, tc.wantOK)
		}
	}
}

// statsAgent is an agent of instance instArn on a simulated host, with no
// server unless endpoint is given.
func statsAgent(rt runtime.Runtime, endpoint string) *Agent {
	return &Agent{
		cfg: Config{Cluster: "prod"}, rt: rt, log: slog.New(slog.DiscardHandler), instanceArn: instArn,
		c: &client{eps: &endpoints{urls: []string{endpoint}}, http: http.DefaultClient, region: "us-east-1", signer: v4.NewSigner()},
	}
}

// simContainer creates and starts a container of task on rt.
func simContainer(t *testing.T, rt *sim.Runtime, name, task string, cpu, memMiB int64, env map[string]string) string {
	t.Helper()
	labels := map[string]string{labelInstance: instArn}
	if task != "" {
		labels[labelTaskArn] = task
	}
	id, err := rt.Create(context.Background(), runtime.ContainerSpec{Name: name, Image: "app", Labels: labels,
		CPU: cpu, MemoryMiB: memMiB, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSamplerSumsRunningContainersPerTask(t *testing.T) {
	rt := sim.New(sim.Options{CPUs: 4})
	taskA, taskB := taskArn, taskArn+"b"
	simContainer(t, rt, "a1", taskA, 512, 256, map[string]string{"SIM_CPU_LOAD": "0.5", "SIM_MEMORY_LOAD": "0.5"})
	simContainer(t, rt, "a2", taskA, 256, 128, map[string]string{"SIM_CPU_LOAD": "1", "SIM_MEMORY_LOAD": "0.5"})
	b1 := simContainer(t, rt, "b1", taskB, 1024, 100, map[string]string{"SIM_CPU_LOAD": "0.25", "SIM_MEMORY_LOAD": "1"})
	simContainer(t, rt, "other", "", 1024, 100, nil) // no task: not the agent's
	stopped := simContainer(t, rt, "a3", taskA, 1024, 1024, nil)
	if err := rt.Stop(context.Background(), stopped, time.Second); err != nil {
		t.Fatal(err)
	}
	s := &statsSampler{a: statsAgent(rt, ""), prev: map[string]runtime.Stats{}}
	ctx := context.Background()
	s.sample(ctx, time.Now())
	if len(s.pending) != 0 {
		t.Fatalf("first round made %d samples; want none (no CPU rate without a previous sample)", len(s.pending))
	}
	time.Sleep(20 * time.Millisecond)
	s.sample(ctx, time.Now())
	want := map[string][2]float64{taskA: {256 + 256, 128 + 64}, taskB: {256, 100}}
	if len(s.pending) != 2 {
		t.Fatalf("second round made %d samples; want 2 (tasks A and B): %+v", len(s.pending), s.pending)
	}
	for _, p := range s.pending {
		w := want[p.TaskArn]
		if math.Abs(p.CPUUnits-w[0]) > 0.01 || math.Abs(p.MemoryMiB-w[1]) > 0.01 {
			t.Errorf("sample of %s = %.3f CPU units, %.3f MiB; want %v, %v", p.TaskArn, p.CPUUnits, p.MemoryMiB, w[0], w[1])
		}
	}
	if err := rt.Remove(ctx, b1); err != nil {
		t.Fatal(err)
	}
	s.sample(ctx, time.Now())
	if _, ok := s.prev[b1]; ok || len(s.prev) != 2 {
		t.Errorf("after b1 went away the sampler remembers %d containers (b1: %v); want a1 and a2 only", len(s.prev), ok)
	}
}

func TestReportSendsPendingSamplesAndKeepsThemWhileTheServerFails(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusInternalServerError
	var got []agentproto.SubmitTaskStatsRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if target := r.Header.Get("X-Amz-Target"); target != "WharfAgent_v1.SubmitTaskStats" {
			t.Errorf("X-Amz-Target = %q", target)
		}
		var in agentproto.SubmitTaskStatsRequest
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Error(err)
		}
		got = append(got, in)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"__type":"X","message":"m"}`))
	}))
	defer srv.Close()
	s := &statsSampler{a: statsAgent(sim.New(sim.Options{}), srv.URL), prev: map[string]runtime.Stats{}}
	s.pending = []agentproto.TaskStatsSample{{TaskArn: taskArn, Time: time.Now(), CPUUnits: 1, MemoryMiB: 2}}
	ctx := context.Background()

	s.report(ctx) // 500: kept
	if len(s.pending) != 1 {
		t.Fatalf("after a 500 the sampler keeps %d samples; want 1", len(s.pending))
	}
	answer := func(code int) {
		mu.Lock()
		status = code
		mu.Unlock()
	}
	answer(http.StatusOK)
	s.report(ctx)
	if len(s.pending) != 0 {
		t.Errorf("after a success the sampler keeps %d samples; want 0", len(s.pending))
	}
	s.pending = append(s.pending, agentproto.TaskStatsSample{TaskArn: taskArn})
	answer(http.StatusBadRequest)
	s.report(ctx)
	if len(s.pending) != 0 {
		t.Errorf("after a 400 the sampler keeps %d samples; want them dropped", len(s.pending))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[1].Cluster != "prod" || got[1].ContainerInstanceArn != instArn || got[1].SentAt.IsZero() ||
		len(got[1].Samples) != 1 || got[1].Samples[0].MemoryMiB != 2 {
		t.Errorf("requests = %+v; want 3, naming cluster, instance, sentAt and the sample", got)
	}
}
