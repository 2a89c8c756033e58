package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// logBench is a wharf server process (fsync on) and one agent on a
// simulated host inside the benchmark's process, so that the process's CPU
// time is the agent's.
type logBench struct {
	url  string
	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
}

func startLogBench(b *testing.B) *logBench {
	b.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(b))
	srv := start(b, "--log-level", "warn", "server", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", b.TempDir(), "--rate-limit-scale", "0")
	waitHealthy(b, url, srv)
	ag, err := agent.New(agent.Config{Endpoint: url, Credentials: ecstest.TestCredentials, DataDir: b.TempDir(),
		CPU: 64 * 1024, MemoryMiB: 64 * 1024, Runtime: sim.New(sim.Options{}), PollWait: 5 * time.Second, ResyncInterval: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	for ag.InstanceArn() == "" {
		time.Sleep(20 * time.Millisecond)
	}
	return &logBench{url: url, ecs: client(url),
		logs: cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: ecstest.TestCredentials})}
}

// run starts tasks of one container writing with env, logging with
// awslogs when group is set, and returns their task IDs.
func (lb *logBench) run(b *testing.B, family, group string, tasks int, env map[string]string) []string {
	b.Helper()
	ctx := context.Background()
	cd := types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("app:1"), Memory: aws.Int32(16)}
	for k, v := range env {
		cd.Environment = append(cd.Environment, types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	if group != "" {
		cd.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "b", "awslogs-create-group": "true"}}
	}
	td, err := lb.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), ContainerDefinitions: []types.ContainerDefinition{cd}})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for len(ids) < tasks {
		out, err := lb.ecs.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: td.TaskDefinition.TaskDefinitionArn, Count: aws.Int32(int32(min(10, tasks-len(ids))))})
		if err != nil || len(out.Failures) > 0 {
			b.Fatalf("RunTask: %v %+v", err, out)
		}
		for _, t := range out.Tasks {
			arn := aws.ToString(t.TaskArn)
			ids = append(ids, arn[strings.LastIndexByte(arn, '/')+1:])
		}
	}
	return ids
}

// stored is how many bytes the group's streams hold, as CloudWatch counts.
func (lb *logBench) stored(b *testing.B, group string) int64 {
	out, err := lb.logs.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil || len(out.LogGroups) == 0 {
		return 0
	}
	return aws.ToInt64(out.LogGroups[0].StoredBytes)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAwslogsIngest ships the output of 4 simulated containers that
// each write 100,000 lines of 100 bytes at once, through one agent, into a
// server on the same 2 cores, and reports lines a second from RunTask to
// the last line stored, and the agent's CPU time. Every stream is then
// read back whole and checked: no line lost, repeated or out of order.
//
//	go test -run '^$' -bench AwslogsIngest -benchtime 1x ./e2e
func BenchmarkAwslogsIngest(b *testing.B) {
	const containers, lines, lineBytes = 4, 100_000, 100
	for i := 0; i < b.N; i++ {
		lb := startLogBench(b)
		group := fmt.Sprintf("/bench/ingest%d", i)
		cpu0, t0 := cpuTime(), time.Now()
		ids := lb.run(b, "ingest", group, containers, map[string]string{sim.EnvLogLines: fmt.Sprint(lines), sim.EnvLogLineBytes: fmt.Sprint(lineBytes)})
		want := int64(containers * lines * (lineBytes + 26))
		for lb.stored(b, group) < want {
			if time.Since(t0) > 5*time.Minute {
				b.Fatalf("%d of %d bytes stored after 5 minutes", lb.stored(b, group), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took, cpu := time.Since(t0), cpuTime()-cpu0
		b.ReportMetric(float64(containers*lines)/took.Seconds(), "lines/s")
		b.ReportMetric(cpu.Seconds()/float64(containers*lines)*1e6, "agent-cpu-µs/line")
		for _, id := range ids {
			checkLines(b, lb.logs, group, "b/app/"+id, lines)
		}
	}
}

func checkLines(b *testing.B, c *cloudwatchlogs.Client, group, stream string, n int) {
	b.Helper()
	i := 0
	p := cloudwatchlogs.NewGetLogEventsPaginator(c, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group),
		LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range page.Events {
			want := fmt.Sprintf("line %d", i)
			if m := aws.ToString(e.Message); !strings.HasPrefix(m, want) || len(m) > len(want) && m[len(want)] != '.' {
				b.Fatalf("%s: event %d is %q; want %q...", stream, i, m[:min(len(m), 40)], want)
			}
			i++
		}
	}
	if i != n {
		b.Fatalf("%s: %d events; want %d", stream, i, n)
	}
}

// BenchmarkAwslogsAgentOverhead measures the agent's CPU with 50 running
// containers that each write 20 lines a second (1,000 lines a second in
// all), once with awslogs and once without, over the same 20 seconds; the
// difference is what shipping costs.
//
//	go test -run '^$' -bench AwslogsAgentOverhead -benchtime 1x ./e2e
func BenchmarkAwslogsAgentOverhead(b *testing.B) {
	const containers, rate, window = 50, 20, 20 * time.Second
	measure := func(group string) float64 {
		lb := startLogBench(b)
		env := map[string]string{sim.EnvLogLines: "1000000", sim.EnvLogRate: fmt.Sprint(rate), sim.EnvLogLineBytes: "100"}
		lb.run(b, "overhead", group, containers, env)
		time.Sleep(5 * time.Second) // placement, starts, first batches
		cpu0 := cpuTime()
		time.Sleep(window)
		share := (cpuTime() - cpu0).Seconds() / window.Seconds()
		if group != "" {
			if got := lb.stored(b, group); got < int64(containers*rate*int(window.Seconds())*(100+26)) {
				b.Fatalf("only %d bytes shipped", got)
			}
		}
		return share * 100
	}
	for i := 0; i < b.N; i++ {
		with := measure(fmt.Sprintf("/bench/overhead%d", i))
		without := measure("")
		b.ReportMetric(with, "%core-with-awslogs")
		b.ReportMetric(without, "%core-without")
		b.ReportMetric(with-without, "%core-for-logs")
	}
}
