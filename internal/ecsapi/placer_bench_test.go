package ecsapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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

// BenchmarkRunTaskThroughput places tasks through the API on the embedded
// store with fsync on: 16 concurrent RunTask callers, 10 tasks a call, 1,000
// container instances spread over 3 zones, the RunTask default placement.
// Each b.N is one RunTask call; it reports tasks placed per second and the
// calls' latency. Target: ≥ 5,000 tasks/s, p99 ≤ 100 ms.
//
//	go test ./internal/ecsapi/ -run '^$' -bench BenchmarkRunTaskThroughput -benchtime 2000x
func BenchmarkRunTaskThroughput(b *testing.B) {
	const instances, callers, perCall = 1000, 16, 10
	s := ecstest.Start(b)
	ctx := context.Background()
	client := ecs.New(s.Client.Options(), func(o *ecs.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 64 })
	})
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	attrs := ecstest.AgentAttributes()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < instances; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			zone := types.Attribute{Name: aws.String("ecs.availability-zone"), Value: aws.String(fmt.Sprintf("zone-%c", 'a'+i%3))}
			if _, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
				Cluster: aws.String("bench"),
				TotalResources: []types.Resource{
					{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1 << 20},
					{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1 << 20},
				},
				Attributes: append(slices.Clone(attrs), zone),
			}); err != nil {
				b.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("bench"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"), Cpu: 16, Memory: aws.Int32(16)}},
	}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var placed atomic.Int64
	took := make([][]time.Duration, callers)
	b.ResetTimer()
	var cw sync.WaitGroup
	for c := 0; c < callers; c++ {
		cw.Add(1)
		go func(c int) {
			defer cw.Done()
			for next.Add(1) <= int64(b.N) {
				start := time.Now()
				out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("bench"), TaskDefinition: aws.String("bench"), Count: aws.Int32(perCall)})
				took[c] = append(took[c], time.Since(start))
				if err != nil {
					b.Error(err)
					return
				}
				placed.Add(int64(len(out.Tasks)))
			}
		}(c)
	}
	cw.Wait()
	b.StopTimer()
	all := slices.Concat(took...)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(placed.Load())/b.Elapsed().Seconds(), "tasks/s")
	ecstest.ReportLatency(b, all, "")
}
