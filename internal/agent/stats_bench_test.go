package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// The agent's cost of stats at 50 containers: one op is one sampling round
// of 50 running containers (one per task) plus, every other round, a report
// of the samples to an HTTP endpoint that accepts them. The figure that
// matters is CPU time per round (cpu-ms/round) over the sampling interval
// (10 s by default): %core@10s. CPU time is the whole process's (getrusage),
// so it counts the HTTP client, JSON decoding and garbage collection, not
// only the sampler's own code.
//
//	go test -run '^$' -bench 'StatsRound' -benchtime 200x ./internal/agent
//
// The Docker variant needs Docker and busybox:latest (scripts/test-images.sh)
// and also reports the Docker daemon's CPU time per round (dockerd-ms/round),
// which is the host's cost of the stats calls, not the agent's. Its ns/op is
// mostly waiting: Docker answers one-shot stats at its collector's next
// tick, about a second.

const benchContainers = 50

func BenchmarkStatsRoundSim50(b *testing.B) {
	rt := sim.New(sim.Options{CPUs: 4})
	for i := range benchContainers {
		id, err := rt.Create(context.Background(), benchSpec(i, "app"))
		if err == nil {
			err = rt.Start(context.Background(), id)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	benchStatsRounds(b, rt, func() time.Duration { return 0 })
}

func BenchmarkStatsRoundDocker50(b *testing.B) {
	rt, err := docker.New(docker.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	ctx := context.Background()
	if ok, err := rt.ImageExists(ctx, "busybox:latest"); err != nil || !ok {
		b.Fatalf("busybox:latest is missing (%v): run scripts/test-images.sh", err)
	}
	var ids []string
	defer func() {
		for _, id := range ids {
			_ = rt.Remove(context.Background(), id)
		}
	}()
	prefix := fmt.Sprintf("wharf-statsbench-%d-", os.Getpid())
	for i := range benchContainers {
		spec := benchSpec(i, "busybox:latest")
		spec.Name = prefix + strconv.Itoa(i)
		spec.Command = []string{"sleep", "3600"}
		id, err := rt.Create(ctx, spec)
		if err == nil {
			ids = append(ids, id)
			err = rt.Start(ctx, id)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	benchStatsRounds(b, rt, dockerdCPU())
}

func benchSpec(i int, image string) runtime.ContainerSpec {
	return runtime.ContainerSpec{Name: fmt.Sprintf("c%d", i), Image: image, CPU: 128, MemoryMiB: 64,
		Labels: map[string]string{labelInstance: instArn, labelTaskArn: fmt.Sprintf("%s%02d", taskArn[:len(taskArn)-2], i)}}
}

func benchStatsRounds(b *testing.B, rt runtime.Runtime, daemonCPU func() time.Duration) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"accepted":0}`))
	}))
	defer srv.Close()
	s := &statsSampler{a: statsAgent(rt, srv.URL), prev: map[string]runtime.Stats{}}
	ctx := context.Background()
	s.sample(ctx, time.Now()) // the first round only remembers
	s.pending = s.pending[:0]
	cpu0, d0 := processCPU(), daemonCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.sample(ctx, time.Now())
		if i%2 == 1 {
			if len(s.pending) != 2*benchContainers {
				b.Fatalf("round %d has %d samples pending; want %d", i, len(s.pending), 2*benchContainers)
			}
			s.report(ctx)
		}
	}
	b.StopTimer()
	perRound := float64(processCPU()-cpu0) / float64(b.N) / float64(time.Millisecond)
	b.ReportMetric(perRound, "cpu-ms/round")
	b.ReportMetric(perRound/float64(defaultStatsInterval/time.Millisecond)*100, "%core@10s")
	if d := daemonCPU() - d0; d > 0 {
		b.ReportMetric(float64(d)/float64(b.N)/float64(time.Millisecond), "dockerd-ms/round")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dockerdCPU returns a reader of the Docker daemon's CPU time when this
// process can see it in /proc, else one that reads 0.
func dockerdCPU() func() time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, comm := range stats {
		b, err := os.ReadFile(comm)
		if err != nil || strings.TrimSpace(string(b)) != "dockerd" {
			continue
		}
		stat := filepath.Join(filepath.Dir(comm), "stat")
		return func() time.Duration {
			b, err := os.ReadFile(stat)
			if err != nil {
				return 0
			}
			// Fields after the command's closing parenthesis; utime and
			// stime are the 14th and 15th of the whole line, in clock ticks
			// (100 per second on Linux).
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
			if len(f) < 13 {
				return 0
			}
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			return time.Duration(ut+st) * 10 * time.Millisecond
		}
	}
	return func() time.Duration { return 0 }
}
