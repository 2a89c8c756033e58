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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"golang.org/x/time/rate"

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
// The simulator runs at a low CPU priority (a cgroup with a sixteenth of the
// default weight; WHARF_SCALE_SIM_SHARE_CPU=1 lets it compete): its ten
// thousand agents stand for ten thousand other machines, and on these two
// shared cores they would otherwise starve the server they load.
//
// The server runs in a memory cgroup limited to 4 GiB
// (WHARF_SCALE_MEMORY_LIMIT_MIB; 0 runs it without one), with
// GOMEMLIMIT=3200MiB (WHARF_SCALE_GOMEMLIMIT): the kernel holds it to the
// budget, anonymous memory and the page cache of its store file together,
// and kills it past that, which fails the benchmark. It reports the cgroup's
// peak and the resident set, anonymous and file pages, at the end.
//
//	go test -run '^$' -bench BenchmarkScale -benchtime 1x -timeout 2h ./e2e/
//
// WHARF_SCALE_TASKS and WHARF_SCALE_INSTANCES make it smaller for a trial,
// WHARF_SCALE_CALLERS changes the number of RunTask callers,
// WHARF_SCALE_FILL_MINUTES bounds the time spent placing,
// WHARF_SCALE_RATE paces placing (700 tasks/s; 0: unpaced),
// WHARF_SCALE_MAX_PENDING holds placing while more tasks than that are
// PENDING (0, the default: never), so that the tasks held are running ones
// (on 2 cores the simulator starts 100–300 tasks a second: hours for a
// million),
// WHARF_SCALE_OUTPUT_DIR keeps both processes' whole output there
// (server.log, simulator.log), WHARF_SCALE_GOGC sets the server's GOGC (default: Go's),
// WHARF_SCALE_DESCRIBE_ROUNDS sets how many rounds of 1,000 DescribeTasks
// calls are measured (3; each round's figures are printed), and placing
// stops when the simulator's own memory passes WHARF_SCALE_SIM_MAX_MIB
// (14.5 GiB) or its agents fall behind (RunTask fails with AGENT);
// WHARF_SCALE_DEBUG_LISTEN=127.0.0.1:6060 has the server serve its runtime
// profiles there (go tool pprof http://127.0.0.1:6060/debug/pprof/heap), and
// WHARF_SCALE_SIM_DEBUG_LISTEN has the simulator do the same.
func BenchmarkScale(b *testing.B) {
	tasks := envInt(b, "WHARF_SCALE_TASKS", 1_000_000)
	instances := envInt(b, "WHARF_SCALE_INSTANCES", 10_000)
	callers := envInt(b, "WHARF_SCALE_CALLERS", 16)
	// WHARF_SCALE_FILL_MINUTES stops placing after so long and measures
	// with the tasks placed by then (reported as tasks-held).
	fillFor := time.Duration(0)
	if os.Getenv("WHARF_SCALE_FILL_MINUTES") != "" {
		fillFor = time.Duration(envInt(b, "WHARF_SCALE_FILL_MINUTES", 0)) * time.Minute
	}
	const perCall, cluster = 10, "scale"
	ctx := context.Background()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	url := "http://" + addr
	args := []string{"--log-level", "warn", "server", "--listen", addr, "--data-dir", b.TempDir(), "--rate-limit-scale", "0"}
	if d := os.Getenv("WHARF_SCALE_DEBUG_LISTEN"); d != "" {
		args = append(args, "--debug-listen", d)
	}
	// Ten thousand agents hold over ten thousand connections to the server
	// (a long poll each, and those for reports), and the simulator as many
	// from its side: both inherit a descriptor limit raised to fit where
	// the machine allows it.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if want := uint64(4*instances + 4096); lim.Max < want || lim.Cur < want {
		lim.Cur, lim.Max = max(lim.Cur, want), max(lim.Max, want)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
			progress(b, "could not raise the open file limit to %d (%v): it stays %d, which %d agents may exhaust", want, err, lim.Max, instances)
		}
	}
	// The Go runtime is told the budget too (GOMEMLIMIT), below the cgroup's
	// limit so that the page cache of the store keeps some room.
	goLimit := os.Getenv("WHARF_SCALE_GOMEMLIMIT")
	if goLimit == "" {
		goLimit = "3200MiB"
	}
	var cg *memCgroup
	b.Cleanup(func() { // runs after the server is killed
		if cg != nil {
			cg.remove()
		}
	})
	srvEnv := append(testEnv(), "GOMEMLIMIT="+goLimit)
	if g := os.Getenv("WHARF_SCALE_GOGC"); g != "" {
		srvEnv = append(srvEnv, "GOGC="+g) // the server's collector, for experiments
	}
	srv := startEnv(b, srvEnv, args...)
	pid := srv.cmd.Process.Pid
	if limit := envInt(b, "WHARF_SCALE_MEMORY_LIMIT_MIB", 4096); limit > 0 {
		var err error
		if cg, err = newMemCgroup(pid, int64(limit)<<20); err != nil {
			b.Fatalf("hold the server to %d MiB in a memory cgroup: %v (run as root, or set WHARF_SCALE_MEMORY_LIMIT_MIB=0 to measure without a limit)", limit, err)
		}
		progress(b, "server held to %d MiB (memory cgroup %s), GOMEMLIMIT=%s", limit, cg.dir, goLimit)
	}
	waitHealthy(b, url, srv)
	// 100 tasks of 16 CPU units and 16 MiB fit each instance with room.
	simArgs := []string{"--log-level", "warn", "sim", "--endpoint", url, "--cluster", cluster,
		"--instances", strconv.Itoa(instances), "--cpu", "4096", "--memory", "8192", "--zones", "a,b,c"}
	if d := os.Getenv("WHARF_SCALE_SIM_DEBUG_LISTEN"); d != "" {
		simArgs = append(simArgs, "--debug-listen", d)
	}
	// The simulator holds an agent, and a runner for each of its tasks, for
	// every instance: a million tasks are about 10 GiB in it too. It gets
	// a collector tuned to fit beside the server on a 24 GiB machine.
	// (GOGC=100 under a 16 GiB limit was tried once: its agents fell
	// behind at 914,000 tasks, where with this setting a run placed a
	// million.)
	var unprioritize func()
	b.Cleanup(func() { // after the simulator is killed
		if unprioritize != nil {
			unprioritize()
		}
	})
	simProc := startEnv(b, append(testEnv(), "GOGC=50", "GOMEMLIMIT=15GiB"), simArgs...)
	if os.Getenv("WHARF_SCALE_SIM_SHARE_CPU") == "" {
		var err error
		if unprioritize, err = lowCPUPriority(simProc.cmd.Process.Pid); err != nil {
			b.Fatalf("give the simulator a low CPU priority: %v (run as root, or set WHARF_SCALE_SIM_SHARE_CPU=1 to let it compete with the server)", err)
		}
	}
	// Placing stops early if the simulator nears what the machine can give
	// it (WHARF_SCALE_SIM_MAX_MIB, 14.5 GiB, below its GOMEMLIMIT: past that
	// its collector runs without pause and its agents miss their polls),
	// and when RunTask fails with AGENT (agents judged gone because the
	// simulator fell behind): the run then measures what the server holds.
	simMax := int64(envInt(b, "WHARF_SCALE_SIM_MAX_MIB", 14848)) << 10 // kB
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
	progress(b, "%d instances registered in %v", instances, time.Since(began).Round(time.Second))
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("scale"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"),
			Cpu: 16, Memory: aws.Int32(16)}}}); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for range b.N {
		var placed atomic.Int64
		var simFull atomic.Bool
		var pending atomic.Int32 // the cluster's PENDING tasks, read every 2 s
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
					simRSS, _ := procStatus(simProc.cmd.Process.Pid, "VmRSS")
					if simRSS > simMax && !simFull.Swap(true) {
						progress(b, "the simulator holds %d MiB: placing stops here", simRSS>>10)
					}
					n := placed.Load()
					charged := int64(0)
					if cg != nil {
						charged, _ = cg.usage()
					}
					progress(b, "%d tasks placed (%.0f/s, %d PENDING), server RSS %d MiB (%d MiB anonymous), cgroup charged %d MiB; simulator %d MiB",
						n, float64(n)/time.Since(fill).Seconds(), pending.Load(), rss/1024, anon/1024, charged>>20, simRSS>>10)
				}
			}
		}()
		// Placing is paced (WHARF_SCALE_RATE tasks/s, 0: as fast as the
		// callers go): unpaced, the 16 callers outrun what ten thousand
		// agents' reports leave of two cores, reports wait past the
		// agents' 80 s timeout, and the retries snowball.
		var pace *rate.Limiter
		if r := envIntOrZero(b, "WHARF_SCALE_RATE", 700); r > 0 {
			pace = rate.NewLimiter(rate.Limit(r), perCall*callers)
		}
		// And placing waits while more than WHARF_SCALE_MAX_PENDING tasks
		// are PENDING (0: never): the simulator starts tasks at the pace
		// its low CPU priority allows, and a fill that outruns it holds
		// tasks of which many never ran.
		maxPending := int32(envIntOrZero(b, "WHARF_SCALE_MAX_PENDING", 0))
		var backlogMu sync.Mutex
		backlog := sync.NewCond(&backlogMu)
		// The backlog is read every 2 s whether or not placing waits on it:
		// the progress lines show it.
		go func() {
			for {
				select {
				case <-stop:
					backlog.Broadcast()
					return
				case <-time.After(2 * time.Second):
				}
				out, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
				if err == nil && len(out.Clusters) == 1 {
					pending.Store(out.Clusters[0].PendingTasksCount)
					backlog.Broadcast()
				}
			}
		}()
		waitBacklog := func() {
			backlogMu.Lock()
			defer backlogMu.Unlock()
			for maxPending > 0 && pending.Load() > maxPending && placed.Load() < int64(tasks) && (fillFor == 0 || time.Since(fill) < fillFor) {
				backlog.Wait()
			}
		}
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for placed.Load() < int64(tasks) && (fillFor == 0 || time.Since(fill) < fillFor) && !simFull.Load() {
					waitBacklog()
					if pace != nil {
						if err := pace.WaitN(ctx, perCall); err != nil {
							b.Error(err)
							return
						}
					}
					out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("scale"), Count: aws.Int32(perCall)})
					if err != nil {
						b.Errorf("RunTask: %v", err)
						return
					}
					if len(out.Failures) > 0 {
						reason := aws.ToString(out.Failures[0].Reason)
						if reason != "AGENT" {
							b.Errorf("RunTask failures after %d tasks: %s", placed.Load(), reason)
							return
						}
						// Agents the server judged gone: the simulator fell
						// behind (it runs every agent and task of the fleet,
						// at a low priority). Placing stops; what the server
						// holds is measured.
						if !simFull.Swap(true) {
							progress(b, "RunTask failed with AGENT after %d tasks: the simulator's agents fell behind; placing stops here", placed.Load())
						}
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
		b.ReportMetric(float64(n), "tasks-held")
		progress(b, "%d tasks placed in %v; waiting for them to run", n, took.Round(time.Second))

		// Measure the steady state the server holds: every task RUNNING,
		// the agents only polling and sending stats. While the simulator
		// (at its low priority) still starts the last tasks, or agents it
		// starved of the CPU reconnect, the server replays their reports.
		settle := time.Now()
		for {
			out, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
			if err != nil {
				b.Fatal(err)
			}
			c := out.Clusters[0]
			if int64(c.RunningTasksCount) >= n && c.PendingTasksCount == 0 {
				progress(b, "all %d tasks RUNNING after %v; measuring DescribeTasks", c.RunningTasksCount, time.Since(settle).Round(time.Second))
				break
			}
			if time.Since(settle) > 10*time.Minute {
				progress(b, "after 10 minutes %d tasks RUNNING and %d PENDING; measuring DescribeTasks anyway", c.RunningTasksCount, c.PendingTasksCount)
				break
			}
			time.Sleep(5 * time.Second)
		}
		// And then the reports of the last of them.
		time.Sleep(15 * time.Second)
		all := slices.Concat(arns...)
		rng := rand.New(rand.NewPCG(1, 2))
		var lat []time.Duration
		hc := &http.Client{}
		rounds := envInt(b, "WHARF_SCALE_DESCRIBE_ROUNDS", 3)
		for i := range rounds * 1000 {
			if i > 0 && i%1000 == 0 {
				progress(b, "DescribeTasks round %d: %s", i/1000, latencySummary(lat[i-1000:]))
			}
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
		progress(b, "DescribeTasks round %d: %s", rounds, latencySummary(lat[len(lat)-1000:]))
		ecstest.ReportLatency(b, lat, "describe")
		// What the server warned of while it was loaded (a follower of the
		// store dropped for falling behind, a slow commit) explains spikes.
		// The simulator's say why its agents fell behind, if they did.
		for _, p := range []struct {
			name string
			proc *proc
		}{{"server", srv}, {"simulator", simProc}} {
			var warns []string
			for line := range strings.Lines(p.proc.output()) {
				if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
					warns = append(warns, strings.TrimSpace(line))
				}
			}
			if dir := os.Getenv("WHARF_SCALE_OUTPUT_DIR"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, p.name+".log"), []byte(p.proc.output()), 0o644); err != nil {
					b.Error(err)
				}
			}
			progress(b, "the %s logged %d warnings or errors", p.name, len(warns))
			for _, w := range warns[:min(len(warns), 20)] {
				progress(b, "  %s", w)
			}
		}
		rss, err := procStatus(pid, "VmRSS")
		if err != nil {
			b.Fatal(err)
		}
		hwm, _ := procStatus(pid, "VmHWM")
		anon, _ := procStatus(pid, "RssAnon")
		file, _ := procStatus(pid, "RssFile")
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(float64(anon)/1024, "rss-anon-MiB")
		b.ReportMetric(float64(file)/1024, "rss-file-MiB")
		b.ReportMetric(float64(hwm)/1024, "peak-rss-MiB")
		if cg != nil {
			peak, err := cg.peak()
			if err != nil {
				b.Fatal(err)
			}
			kills, err := cg.oomKills()
			if err != nil || kills > 0 {
				b.Fatalf("the kernel killed %d processes of the server's cgroup for memory (%v)", kills, err)
			}
			b.ReportMetric(float64(peak>>20), "cgroup-peak-MiB")
		}
	}
}

// progress logs a line of a long benchmark, and prints it at once too: the
// benchmark's own log shows only when it ends, an hour later.
func progress(b *testing.B, format string, args ...any) {
	b.Helper()
	b.Logf(format, args...)
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format(time.TimeOnly)}, args...)...)
}

// latencySummary gives the median, 99th percentile and maximum of took
// (not sorted in place).
func latencySummary(took []time.Duration) string {
	s := slices.Clone(took)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(int(p*float64(len(s))), len(s)-1)] }
	return fmt.Sprintf("p50 %v, p99 %v, max %v", q(0.5).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}

func envInt(b *testing.B, name string, def int) int {
	n := envIntOrZero(b, name, def)
	if n == 0 {
		b.Fatalf("%s=0: want a positive number", name)
	}
	return n
}

// envIntOrZero is envInt for the settings where 0 turns something off.
func envIntOrZero(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.Fatalf("%s=%q: want a number, 0 or more", name, v)
	}
	return n
}
