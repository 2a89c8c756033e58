package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/server"
	"github.com/wharf-ecs/wharf/internal/store/etcd/etcdtest"
)

// BenchmarkRunTaskOnStores places tasks through the API on each store with
// the same simulated cluster: 1,000 container instances registered through
// the API in 3 zones, 16 concurrent RunTask callers, 10 tasks a call, the
// default placement. Store data is on the test's disk for both (fsync on).
// With three servers on a three-member etcd, the callers spread over the
// servers. Each b.N is one RunTask call.
//
//	go test ./internal/server/ -run '^$' -bench BenchmarkRunTaskOnStores -benchtime 1000x
func BenchmarkRunTaskOnStores(b *testing.B) {
	b.Run("store=bbolt", func(b *testing.B) {
		benchRunTask(b, []string{benchServer(b, server.EtcdConfig{})})
	})
	b.Run("store=etcd,members=1,servers=1", func(b *testing.B) {
		c := etcdtest.StartClusterOnDisk(b, 1)
		benchRunTask(b, []string{benchServer(b, server.EtcdConfig{Endpoints: c.Endpoints()})})
	})
	b.Run("store=etcd,members=3,servers=3", func(b *testing.B) {
		c := etcdtest.StartClusterOnDisk(b, 3)
		key := filepath.Join(b.TempDir(), "master.key")
		var urls []string
		for range 3 {
			urls = append(urls, benchServer(b, server.EtcdConfig{Endpoints: c.Endpoints()}, key))
		}
		benchRunTask(b, urls)
	})
}

// benchServer runs a server for the benchmark and returns its URL.
func benchServer(b *testing.B, e server.EtcdConfig, keyFile ...string) string {
	cfg := server.Config{Listen: "127.0.0.1:0", DataDir: b.TempDir(), Log: slog.New(slog.DiscardHandler),
		Credentials: ecstest.RootCredentials(), Etcd: e}
	if len(keyFile) > 0 {
		cfg.MasterKeyFile = keyFile[0]
	}
	srv, err := server.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return srv.URL()
}

func benchRunTask(b *testing.B, urls []string) {
	const instances, callers, perCall = 1000, 16, 10
	ctx := context.Background()
	var clients []*ecs.Client
	for _, u := range urls {
		clients = append(clients, ecs.New(ecstest.NewClient(u).Options(), func(o *ecs.Options) {
			o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 64 })
		}))
	}
	c0 := clients[0]
	if _, err := c0.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	attrs := ecstest.AgentAttributes()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range instances {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			zone := ecstypes.Attribute{Name: aws.String("ecs.availability-zone"), Value: aws.String(fmt.Sprintf("zone-%c", 'a'+i%3))}
			if _, err := clients[i%len(clients)].RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
				Cluster: aws.String("bench"),
				TotalResources: []ecstypes.Resource{
					{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1 << 20},
					{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1 << 20},
				},
				Attributes: append(slices.Clone(attrs), zone),
			}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := c0.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("bench"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"), Cpu: 16, Memory: aws.Int32(16)}},
	}); err != nil {
		b.Fatal(err)
	}
	var next, placed, failed atomic.Int64
	took := make([][]time.Duration, callers)
	b.ResetTimer()
	var cw sync.WaitGroup
	for c := range callers {
		cw.Add(1)
		go func() {
			defer cw.Done()
			cl := clients[c%len(clients)]
			for next.Add(1) <= int64(b.N) {
				start := time.Now()
				out, err := cl.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("bench"), TaskDefinition: aws.String("bench"), Count: aws.Int32(perCall)})
				took[c] = append(took[c], time.Since(start))
				if err != nil {
					failed.Add(1)
					continue
				}
				placed.Add(int64(len(out.Tasks)))
			}
		}()
	}
	cw.Wait()
	b.StopTimer()
	all := slices.Concat(took...)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(placed.Load())/b.Elapsed().Seconds(), "tasks/s")
	ecstest.ReportLatency(b, all, "")
	b.ReportMetric(float64(failed.Load()), "failed-calls")
}
