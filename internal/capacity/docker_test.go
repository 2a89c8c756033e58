package capacity_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/wharf-ecs/wharf/internal/capacity"
)

// dockerLauncher returns the Docker launcher with its image present. Without
// Docker or the image it fails under CI=true and skips elsewhere.
func dockerLauncher(t *testing.T) (*capacity.DockerLauncher, *client.Client) {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv("CI") == "true" {
		unavailable = t.Fatalf
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		unavailable("Docker is not reachable: %v", err)
	}
	l, err := capacity.NewDockerLauncher("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	if err := l.Check(ctx); err != nil {
		unavailable("%v (scripts/test-images.sh builds it)", err)
	}
	if _, err := cli.ImageInspect(ctx, "wharf-testapp:latest"); err != nil {
		unavailable("image wharf-testapp:latest is missing (%v): run scripts/test-images.sh", err)
	}
	return l, cli
}

// launchedContainers lists the agent containers the launcher started for
// a cluster.
func launchedContainers(t *testing.T, cli *client.Client, cluster string) []container.Summary {
	t.Helper()
	out, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", capacity.LabelLaunch))})
	if err != nil {
		t.Fatal(err)
	}
	var mine []container.Summary
	for _, c := range out {
		if len(c.Names) > 0 && len(c.Names[0]) > len("/wharf-"+cluster+"-") && c.Names[0][:len("/wharf-"+cluster+"-")] == "/wharf-"+cluster+"-" {
			mine = append(mine, c)
		}
	}
	return mine
}

// TestDockerLauncherScalesOutAndIn: on Docker, a service on a provider with
// managed scaling and no instance gets an instance started as a wharf-agent
// container, its tasks run as containers beside it, and scaling the service
// to zero terminates and removes the agent container.
func TestDockerLauncherScalesOutAndIn(t *testing.T) {
	l, cli := dockerLauncher(t)
	s := startScaling(t, l, time.Second, time.Minute)
	ctx := context.Background()
	cluster := "dl" + time.Now().Format("150405")
	provider(t, s.Client, cluster, "docker-"+cluster, 1, 2)
	taskDef(t, s.Client, "web", 128, 64)
	t.Cleanup(func() {
		for _, c := range launchedContainers(t, cli, cluster) {
			_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		}
	})
	if _, err := s.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "2 tasks running on a launched instance", func() bool {
		return service(t, s.Client, cluster, "web").RunningCount == 2
	})
	if got := launchedContainers(t, cli, cluster); len(got) != 1 || got[0].State != "running" {
		t.Fatalf("agent containers = %+v; want one running", got)
	}
	if n := len(instances(t, s.Client, cluster)); n != 1 {
		t.Fatalf("registered instances = %d; want 1", n)
	}
	if _, err := s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	// The agent container goes, and with it the containers its tasks left.
	waitFor(t, 90*time.Second, "the instance terminated", func() bool {
		left, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+cluster))})
		if err != nil {
			t.Fatal(err)
		}
		return len(launchedContainers(t, cli, cluster)) == 0 && len(instances(t, s.Client, cluster)) == 0 && len(left) == 0
	})
}
