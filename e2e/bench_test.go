package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// BenchmarkTaskStartVsDockerRun measures, in interleaved pairs, the time from
// RunTask until DescribeTasks reports RUNNING for wharf-testapp, and the time
// `docker run -d` of the same image takes to return (container started). It
// reports the medians and their ratio. Run with -benchtime 1x: each iteration
// is 12 pairs.
//
//	go test -run '^$' -bench TaskStartVsDockerRun -benchtime 1x ./e2e
func BenchmarkTaskStartVsDockerRun(b *testing.B) {
	rt := requireDocker(b)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(b))
	up := start(b, "--log-level", "warn", "up", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", b.TempDir())
	waitHealthy(b, url, up)
	c := client(url)
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
		if err == nil && len(out.ContainerInstanceArns) == 1 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("no container instance")
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String("wharf-testapp:latest"), Memory: aws.Int32(32),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	td := out.TaskDefinition.TaskDefinitionArn
	const pairs = 12
	var wharfTimes, dockerTimes []time.Duration
	var started []string
	var dockerIDs []string
	defer func() {
		for _, arn := range started {
			removeContainersOfTask(b, rt, arn)
		}
		if len(dockerIDs) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, dockerIDs...)...).Run()
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for p := 0; p < pairs; p++ {
			// Wharf: RunTask → RUNNING.
			t0 := time.Now()
			run, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: td})
			if err != nil || len(run.Tasks) != 1 {
				b.Fatalf("RunTask: %v %+v", err, run)
			}
			arn := aws.ToString(run.Tasks[0].TaskArn)
			started = append(started, arn)
			for {
				d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
				if err != nil {
					b.Fatal(err)
				}
				if s := aws.ToString(d.Tasks[0].LastStatus); s == "RUNNING" {
					break
				} else if s == "STOPPED" {
					b.Fatalf("bench task stopped: %s", aws.ToString(d.Tasks[0].StoppedReason))
				}
				time.Sleep(5 * time.Millisecond)
			}
			wharfTimes = append(wharfTimes, time.Since(t0))

			// docker run -d of the same image with a dynamic host port.
			t1 := time.Now()
			o, err := exec.Command("docker", "run", "-d", "-m", "32m", "-p", "8080", "wharf-testapp:latest").Output()
			if err != nil {
				b.Fatalf("docker run: %v", err)
			}
			dockerTimes = append(dockerTimes, time.Since(t1))
			dockerIDs = append(dockerIDs, strings.TrimSpace(string(o)))
		}
	}
	b.StopTimer()
	wm, dm := median(wharfTimes), median(dockerTimes)
	b.ReportMetric(float64(wm.Milliseconds()), "wharf-ms-median")
	b.ReportMetric(float64(dm.Milliseconds()), "docker-ms-median")
	b.ReportMetric(float64(wm)/float64(dm), "ratio")
	b.Logf("wharf RunTask→RUNNING: %v", wharfTimes)
	b.Logf("docker run -d:        %v", dockerTimes)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkAgentIdleRSS starts `wharf agent` against a server, lets it sit
// idle (registered, long-polling, no tasks) and reports its resident memory.
//
//	go test -run '^$' -bench AgentIdleRSS -benchtime 1x ./e2e
func BenchmarkAgentIdleRSS(b *testing.B) {
	requireDocker(b)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	srv := start(b, "server", "--listen", addr, "--data-dir", b.TempDir())
	waitHealthy(b, "http://"+addr, srv)
	for i := 0; i < b.N; i++ {
		ag := start(b, "--log-level", "warn", "agent", "--endpoint", "http://"+addr, "--data-dir", b.TempDir())
		time.Sleep(15 * time.Second)
		rss, err := vmRSS(ag.cmd.Process.Pid)
		_ = ag.cmd.Process.Kill()
		_ = ag.cmd.Wait()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
	}
}

func vmRSS(pid int) (int64, error) { return procStatus(pid, "VmRSS") }

// procStatus reads a process's memory figure (VmRSS, VmHWM, ...) in kB.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			return strconv.ParseInt(strings.Fields(rest)[0], 10, 64) // kB
		}
	}
	return 0, fmt.Errorf("no %s for pid %d", field, pid)
}
