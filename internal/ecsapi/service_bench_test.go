package ecsapi_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// BenchmarkServiceScaleOut1000 measures how long a service takes from 0 to
// 1,000 RUNNING and healthy tasks (steady state) on 125 simulated instances
// of 8 tasks each, through the real API, controller and agents. The issue's
// goal is 10 s; ECS launches 500 tasks a minute per service.
//
//	go test ./internal/ecsapi -run '^$' -bench ServiceScaleOut1000 -benchtime 1x
func BenchmarkServiceScaleOut1000(b *testing.B) {
	zones := make([]string, 125)
	for i := range zones {
		zones[i] = fmt.Sprintf("us-east-1%c", 'a'+i%3)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cl := svStartCluster(b, zones...)
		td := svTD(b, cl.c, "web", "wharf-testapp:latest", withHealthCheck("HEALTHY"))
		svCreate(b, cl.c, svService("web", td, 0))
		b.StartTimer()
		start := time.Now()
		if _, err := cl.c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1000)}); err != nil {
			b.Fatal(err)
		}
		var s types.Service
		svWait(b, 5*time.Minute, "1,000 tasks steady", func() bool {
			s = svDescribe(b, cl.c, "default", "web")
			return s.RunningCount == 1000 && len(s.Events) > 0 && aws.ToString(s.Events[0].Message) == "(service web) has reached a steady state."
		})
		b.ReportMetric(time.Since(start).Seconds(), "s-to-steady")
	}
}

// BenchmarkController1000Services measures the CPU the server spends keeping
// 1,000 services of one task each at steady state, with the controller's
// production timings (every service reconciled every second). The simulated
// instances run in a `wharf sim` subprocess, so that this process is the
// server alone (API, store, agent long polls and the controller) plus this
// benchmark's client, which is idle while CPU is measured. The goal
// is under one core.
//
//	go test ./internal/ecsapi -run '^$' -bench Controller1000Services -benchtime 1x
func BenchmarkController1000Services(b *testing.B) {
	const services, window = 1000, 30 * time.Second
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv := ecstest.Start(b)
		// 125 instances of 2,048 CPU units hold 16 tasks of 128 units each.
		simAgents(b, srv.URL(), 125)
		c := srv.Client
		td := svTD(b, c, "web", "wharf-testapp:latest", withHealthCheck("HEALTHY"))
		start := time.Now()
		svCreateMany(b, c, td, services)
		svWaitAllSteady(b, c, services, 5*time.Minute)
		b.ReportMetric(time.Since(start).Seconds(), "s-to-steady")

		b.StartTimer()
		cpu0, wall0 := processCPU(b), time.Now()
		time.Sleep(window)
		cpu, wall := processCPU(b)-cpu0, time.Since(wall0)
		b.StopTimer()
		b.ReportMetric(cpu.Seconds()/wall.Seconds(), "server-cores")
		// Still steady: the measurement was of a cluster at rest, not one
		// that fell over.
		svWaitAllSteady(b, c, services, 10*time.Second)
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// simAgents runs n simulated instances joined to the default cluster in a
// `wharf sim` subprocess until the benchmark ends.
func simAgents(b *testing.B, endpoint string, n int) {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "wharf")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/wharf-ecs/wharf/cmd/wharf").CombinedOutput(); err != nil {
		b.Fatalf("go build cmd/wharf: %v\n%s", err, out)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "sim", "--endpoint", endpoint, "--instances", strconv.Itoa(n))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	c := ecstest.NewClient(endpoint)
	svWait(b, time.Minute, fmt.Sprintf("%d simulated instances", n), func() bool {
		select {
		case err := <-exited:
			b.Fatalf("wharf sim exited: %v\n%s", err, out.String())
		default:
		}
		cl, err := c.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{})
		return err == nil && len(cl.Clusters) == 1 && cl.Clusters[0].RegisteredContainerInstancesCount == int32(n)
	})
}

// svCreateMany creates services svc-0 … svc-(n-1) of one task each, a few
// at a time.
func svCreateMany(b *testing.B, c *ecs.Client, td string, n int) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, err := c.CreateService(context.Background(), svService(fmt.Sprintf("svc-%d", i), td, 1))
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("CreateService: %v", err)
	}
}

// svWaitAllSteady waits until every service svc-i runs its one task with
// its one deployment COMPLETED.
func svWaitAllSteady(b *testing.B, c *ecs.Client, n int, d time.Duration) {
	b.Helper()
	settled := 0
	deadline := time.Now().Add(d)
	for settled < n {
		if time.Now().After(deadline) {
			b.Fatalf("after %s only %d of %d services are steady", d, settled, n)
		}
		names := make([]string, 0, 10)
		for i := settled; i < min(settled+10, n); i++ {
			names = append(names, fmt.Sprintf("svc-%d", i))
		}
		out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: names})
		if err != nil {
			b.Fatal(err)
		}
		ok := len(out.Services) == len(names)
		for _, s := range out.Services {
			ok = ok && s.RunningCount == 1 && s.PendingCount == 0 && len(s.Deployments) == 1 &&
				s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
		}
		if ok {
			settled += len(names)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
}
