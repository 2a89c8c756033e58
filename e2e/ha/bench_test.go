//go:build linux

package ha

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// BenchmarkLeaderFailover measures, for each kill -9 of the leader among
// three servers on a three-member etcd (default 5 s lease), the time until
// another server leads and until its service controller has placed a task
// asked for at the moment of the kill. Each b.N is one failover; the
// killed server is restarted before the next.
//
//	go test ./e2e/ha/ -run '^$' -bench LeaderFailover -benchtime 5x
func BenchmarkLeaderFailover(b *testing.B) {
	c := startCluster(b, 3)
	ctx := context.Background()
	if _, err := c.live().CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("fo")}); err != nil {
		b.Fatal(err)
	}
	c.agents("fo", c.urls(), 2)
	c.taskDef("app")
	if _, err := c.live().CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("fo"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(1)}); err != nil {
		b.Fatal(err)
	}
	want := int32(1)
	waitFor(b, 30*time.Second, "the service running", func() bool { return c.runningCount("fo", "web") == want })
	var leads, places []time.Duration
	b.ResetTimer()
	for b.Loop() {
		old := c.waitLeader(10 * time.Second)
		killed := time.Now()
		c.kill(old)
		want++
		if _, err := c.live().UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("fo"), Service: aws.String("web"),
			DesiredCount: aws.Int32(want)}); err != nil {
			b.Fatal(err)
		}
		c.waitLeader(15 * time.Second)
		leads = append(leads, time.Since(killed))
		waitFor(b, 30*time.Second, "the new task placed", func() bool {
			out, err := c.live().ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("fo"), ServiceName: aws.String("web")})
			return err == nil && int32(len(out.TaskArns)) >= want
		})
		places = append(places, time.Since(killed))
		b.StopTimer()
		c.start(old)
		c.waitHealthy(old)
		b.StartTimer()
	}
	slices.Sort(leads)
	slices.Sort(places)
	b.ReportMetric(leads[len(leads)/2].Seconds(), "s-to-new-leader")
	b.ReportMetric(places[len(places)/2].Seconds(), "s-to-first-placement")
	b.ReportMetric(places[len(places)-1].Seconds(), "s-to-first-placement-max")
}
