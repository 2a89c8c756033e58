package capacity_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/state"
)

// TestFargateTasksOnDockerReachEachOther: on Docker, FARGATE tasks on a
// pool agent get addresses of their own on their subnet's network (a
// pause container each), answer there, and another FARGATE task reaches
// them by address; the pause containers go with the tasks.
func TestFargateTasksOnDockerReachEachOther(t *testing.T) {
	_, cli := dockerLauncher(t) // Docker and the images, or fail under CI
	rt, err := docker.New(docker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := startScaling(t, nil, time.Hour, time.Minute)
	ctx := context.Background()
	cluster := "fd" + time.Now().Format("150405")
	subnet := "subnet-" + cluster
	t.Cleanup(func() {
		left, _ := cli.ContainerList(context.Background(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+cluster))})
		for _, c := range left {
			_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		}
		_ = cli.NetworkRemove(context.Background(), "wharf-"+subnet)
	})
	// A pool agent started by hand, as one would without a launcher.
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WHARF_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ag, err := agent.New(agent.Config{Endpoint: s.URL(), Credentials: ecstest.TestCredentials, Cluster: cluster,
		Attributes: map[string]string{state.AttrFargate: ""}, CPU: 4096, MemoryMiB: 4096, Runtime: rt, Log: log,
		PollWait: time.Second, ResyncInterval: 200 * time.Millisecond, ContainerRetention: time.Hour, StatsInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = ag.Run(actx) }()
	t.Cleanup(func() { stop(); <-done })
	waitFor(t, 20*time.Second, "the pool agent registered", func() bool { return ag.InstanceArn() != "" })
	if got := instances(t, s.Client, cluster); len(got) != 0 {
		t.Errorf("the pool instance is listed: %v", got)
	}

	fargateTaskDef(t, s.Client, "web")
	if _, err := s.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: vpc(subnet)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "2 Fargate tasks running", func() bool { return service(t, s.Client, cluster, "web").RunningCount == 2 })
	var ips []string
	for _, tk := range describeTasks(t, s.Client, cluster, types.DesiredStatusRunning) {
		ip := detail(tk.Attachments[0], "privateIPv4Address")
		if ip == "" || detail(tk.Attachments[0], "macAddress") == "" {
			t.Fatalf("attachment of %s = %+v", aws.ToString(tk.TaskArn), tk.Attachments[0])
		}
		ips = append(ips, ip)
		// Each answers on its own address, on the container's port.
		resp, err := http.Get("http://" + ip + ":8080/health")
		if err != nil {
			t.Fatalf("GET the task at %s: %v", ip, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET the task at %s = %d", ip, resp.StatusCode)
		}
	}
	if len(ips) != 2 || ips[0] == ips[1] {
		t.Fatalf("task addresses = %v; want two distinct", ips)
	}
	// A third task on the subnet reaches the first by address.
	run, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: vpc(subnet),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"),
			Command: []string{"-healthcheck", "http://" + ips[0] + ":8080/health", "-healthcheck-timeout", "5s"}}}}})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask probe: %v %+v", err, run)
	}
	probe := aws.ToString(run.Tasks[0].TaskArn)
	var stopped types.Task
	waitFor(t, 60*time.Second, "the probe to finish", func() bool {
		d, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{probe}})
		if err != nil {
			t.Fatal(err)
		}
		stopped = d.Tasks[0]
		return aws.ToString(stopped.LastStatus) == "STOPPED"
	})
	if c := stopped.Containers[0]; c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("the probe from another task exited %v (%s); want 0", c.ExitCode, aws.ToString(c.Reason))
	}
	// Its pause container is gone with it; the service's two remain.
	waitFor(t, 20*time.Second, "the probe's pause container removed", func() bool {
		pauses, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
			filters.Arg("label", "com.amazonaws.ecs.cluster="+cluster), filters.Arg("label", "com.amazonaws.ecs.container-name=~internal~ecs~pause"))})
		if err != nil {
			t.Fatal(err)
		}
		return len(pauses) == 2
	})
}
