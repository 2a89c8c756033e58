package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// README's first command, tried as a new user would: wharf up brings up a
// cluster on the local Docker, a task's HTTP port answers, and SIGTERM stops
// Wharf cleanly while the task's container keeps running for the next start.
func TestWharfUpRunsATask(t *testing.T) {
	rt := requireDocker(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	dataDir := t.TempDir()
	up := start(t, "up", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", dataDir)
	waitHealthy(t, url, up)
	c := client(url)
	ctx := context.Background()
	waitFor(t, 20*time.Second, "the local container instance", func() bool {
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
		return err == nil && len(out.ContainerInstanceArns) == 1
	})
	waitFor(t, 10*time.Second, "wharf up to print the aws CLI settings", func() bool {
		return strings.Contains(up.output(), "aws ecs list-container-instances --profile wharf --endpoint-url "+url)
	})

	arn := runOne(t, c, registerTestapp(t, c, "hello"))
	t.Cleanup(func() { removeContainersOfTask(t, rt, arn) })
	waitFor(t, 30*time.Second, "task RUNNING", func() bool { return taskStatus(t, c, arn) == "RUNNING" })
	port := hostPortOf(t, describeTask(t, c, arn))
	waitFor(t, 10*time.Second, "the task's HTTP port", func() bool {
		return httpOK(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	})

	up.terminate(t)

	// Start again on the same data: the task is still there and still RUNNING.
	up2 := start(t, "up", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", dataDir)
	waitHealthy(t, url, up2)
	if got := taskStatus(t, c, arn); got != "RUNNING" {
		t.Fatalf("after restart the task is %s; want RUNNING", got)
	}
	out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
	if err != nil || len(out.ContainerInstanceArns) != 1 {
		t.Fatalf("after restart: %v instances %v; want the same single instance", err, out.ContainerInstanceArns)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 45*time.Second, "task STOPPED", func() bool { return taskStatus(t, c, arn) == "STOPPED" })
	up2.terminate(t)
}
