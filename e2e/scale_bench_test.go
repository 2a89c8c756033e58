package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// BenchmarkScale fills one server (embedded store, fsync on) with 10,000
// simulated container instances (`wharf sim`: real agents on the simulated
// runtime, polling, reporting task states and stats) and then 1,000,000
// tasks, placed by RunTask from 16 callers, 10 tasks a call. It reports the
// server's resident memory once full and at its peak, the placement rate,
// and DescribeTasks of 100 random tasks (plain HTTP client reading the whole
// answer, as in the ecsapi benchmark) with every task stored. Targets
// (issue 4): under 4 GiB, DescribeTasks p99 ≤ 5 ms.
//
//	go test -run '^$' -bench BenchmarkScale -benchtime 1x -timeout 2h ./e2e/
//
// WHARF_SCALE_TASKS and WHARF_SCALE_INSTANCES make it smaller for a trial;
// WHARF_SCALE_DEBUG_LISTEN=127.0.0.1:6060 has the server serve its runtime
// profiles there (go tool pprof http://127.0.0.1:6060/debug/pprof/heap).
func BenchmarkScale(b *testing.B) {
	tasks := envInt(b, "WHARF_SCALE_TASKS", 1_000_000)
	instances := envInt(b, "WHARF_SCALE_INSTANCES", 10_000)
	const callers, perCall, cluster = 16, 10, "scale"
	ctx := context.Background()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	url := "http://" + addr
	args := []string{"--log-level", "warn", "server", "--listen", addr, "--data-dir", b.TempDir(), "--rate-limit-scale", "0"}
	if d := os.Getenv("WHARF_SCALE_DEBUG_LISTEN"); d != "" {
		args = append(args, "--debug-listen", d)
	}
	srv := start(b, args...)
	waitHealthy(b, url, srv)
	pid := srv.cmd.Process.Pid
	// 100 tasks of 16 CPU units and 16 MiB fit each instance with room.
	start(b, "--log-level", "warn", "sim", "--endpoint", url, "--cluster", cluster,
		"--instances", strconv.Itoa(instances), "--cpu", "4096", "--memory", "8192", "--zones", "a,b,c")
	client := ecs.New(ecstest.NewClient(url).Options(), func(o *ecs.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 64 })
	})
	began := time.Now()
	for {
		out, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
		if err == nil && len(out.Clusters) == 1 && int(out.Clusters[0].RegisteredContainerInstancesCount) >= instances {
			break
		}
		if time.Since(began) > 10*time.Minute {
			b.Fatalf("%d instances did not register within 10 minutes (%v)", instances, err)
		}
		time.Sleep(time.Second)
	}
	b.Logf("%d instances registered in %v", instances, time.Since(began).Round(time.Second))
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("scale"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"),
			Cpu: 16, Memory: aws.Int32(16)}}}); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for range b.N {
		var placed atomic.Int64
		arns := make([][]string, callers)
		fill := time.Now()
		stop := make(chan struct{})
		go func() { // progress, and the peak the server reaches while filling
			tick := time.NewTicker(10 * time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					rss, _ := procStatus(pid, "VmRSS")
					anon, _ := procStatus(pid, "RssAnon")
					n := placed.Load()
					b.Logf("%d tasks placed (%.0f/s), server RSS %d MiB (%d MiB anonymous)", n, float64(n)/time.Since(fill).Seconds(), rss/1024, anon/1024)
				}
			}
		}()
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for placed.Load() < int64(tasks) {
					out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("scale"), Count: aws.Int32(perCall)})
					if err != nil {
						b.Errorf("RunTask: %v", err)
						return
					}
					if len(out.Failures) > 0 {
						b.Errorf("RunTask failures after %d tasks: %s", placed.Load(), aws.ToString(out.Failures[0].Reason))
						return
					}
					for _, t := range out.Tasks {
						arns[c] = append(arns[c], aws.ToString(t.TaskArn))
					}
					placed.Add(int64(len(out.Tasks)))
				}
			})
		}
		wg.Wait()
		close(stop)
		if b.Failed() {
			return
		}
		took := time.Since(fill)
		n := placed.Load()
		b.ReportMetric(float64(n)/took.Seconds(), "tasks/s")
		b.Logf("%d tasks placed in %v", n, took.Round(time.Second))

		// Let the agents' reports of the last tasks settle before measuring.
		time.Sleep(30 * time.Second)
		all := slices.Concat(arns...)
		rng := rand.New(rand.NewPCG(1, 2))
		var lat []time.Duration
		hc := &http.Client{}
		for range 3000 {
			ids := make([]string, 100)
			for i := range ids {
				ids[i] = all[rng.IntN(len(all))]
			}
			body, _ := json.Marshal(map[string]any{"cluster": cluster, "tasks": ids})
			req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
			req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeTasks")
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			ecstest.Sign(b, req, body)
			t0 := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(t0))
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("DescribeTasks: %d %v", resp.StatusCode, err)
			}
		}
		ecstest.ReportLatency(b, lat, "describe")
		rss, err := procStatus(pid, "VmRSS")
		if err != nil {
			b.Fatal(err)
		}
		hwm, _ := procStatus(pid, "VmHWM")
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(float64(hwm)/1024, "peak-rss-MiB")
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
