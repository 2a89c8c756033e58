package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/runtime/docker"
)

// svcUp is `wharf up` on a free port with its one container instance.
type svcUp struct {
	c        *ecs.Client
	instance string
}

// startSvcUp starts `wharf up` and waits for its container instance. Every
// container of that instance (found by the instance label, so that other
// tests' containers on the same Docker are left alone) is removed at the
// end, after wharf itself is killed: otherwise the service would replace
// them as they go.
func startSvcUp(t *testing.T, rt *docker.Runtime) *svcUp {
	t.Helper()
	s := &svcUp{}
	t.Cleanup(func() {
		if s.instance == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cs, err := rt.List(ctx, map[string]string{"org.wharf-ecs.container-instance-arn": s.instance})
		if err != nil {
			t.Logf("listing the containers to remove: %v", err)
			return
		}
		for _, c := range cs {
			_ = rt.Remove(ctx, c.ID)
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	up := start(t, "--log-level", "warn", "up", "--listen", strings.TrimPrefix(url, "http://"), "--data-dir", t.TempDir())
	waitHealthy(t, url, up)
	s.c = client(url)
	waitFor(t, 20*time.Second, "the local container instance", func() bool {
		out, err := s.c.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{})
		if err != nil || len(out.ContainerInstanceArns) != 1 {
			return false
		}
		s.instance = out.ContainerInstanceArns[0]
		return true
	})
	return s
}

// registerHealthChecked registers testapp on a dynamic host port with a
// container health check every 5 s (ECS's shortest), so that its tasks count
// healthy within seconds rather than after the 40 s ECS gives a task without
// one.
func registerHealthChecked(t *testing.T, c *ecs.Client, family, image string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(image), Memory: aws.Int32(64),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
			HealthCheck: &types.HealthCheck{
				Command:  []string{"CMD", "/testapp", "-healthcheck", "http://127.0.0.1:8080/health"},
				Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(3),
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func describeService(t *testing.T, c *ecs.Client, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}

// serviceTasks are the service's tasks with the given desired status.
func serviceTasks(t *testing.T, c *ecs.Client, name string, desired types.DesiredStatus) []types.Task {
	t.Helper()
	ctx := context.Background()
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String(name), DesiredStatus: desired})
	if err != nil {
		t.Fatalf("ListTasks --service-name %s: %v", name, err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: list.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	return out.Tasks
}

// runningHealthy are the tasks RUNNING and HEALTHY of a task definition.
func runningHealthy(ts []types.Task, td string) []types.Task {
	var out []types.Task
	for _, tk := range ts {
		if aws.ToString(tk.LastStatus) == "RUNNING" && tk.HealthStatus == types.HealthStatusHealthy && aws.ToString(tk.TaskDefinitionArn) == td {
			out = append(out, tk)
		}
	}
	return out
}

func serviceEvents(svc types.Service) string {
	var b strings.Builder
	for _, e := range svc.Events {
		b.WriteString("\n  " + aws.ToString(e.Message))
	}
	return b.String()
}

func hasServiceEvent(svc types.Service, substr string) bool {
	for _, e := range svc.Events {
		if strings.Contains(aws.ToString(e.Message), substr) {
			return true
		}
	}
	return false
}

// waitServiceHealthy waits until the service runs n healthy tasks of td, all
// of them its own count, and returns them.
func waitServiceHealthy(t *testing.T, c *ecs.Client, name, td string, n int, d time.Duration) []types.Task {
	t.Helper()
	var tasks []types.Task
	var svc types.Service
	defer func() {
		if t.Failed() {
			t.Logf("service %s last seen: running %d pending %d deployments %+v events:%s", name, svc.RunningCount, svc.PendingCount, svc.Deployments, serviceEvents(svc))
		}
	}()
	waitFor(t, d, fmt.Sprintf("%d healthy tasks of %s", n, name), func() bool {
		svc = describeService(t, c, name)
		tasks = runningHealthy(serviceTasks(t, c, name, types.DesiredStatusRunning), td)
		return svc.RunningCount == int32(n) && svc.PendingCount == 0 && len(tasks) == n
	})
	return tasks
}

// The service lifecycle on the real Docker Engine, driven as a new user
// would drive it with the SDK against `wharf up`: two healthy tasks on
// dynamic host ports, a container killed behind Wharf's back is replaced,
// and a forced delete drains the service to INACTIVE and stops every
// container.
func TestServiceOnDocker(t *testing.T) {
	rt := requireDocker(t)
	up := startSvcUp(t, rt)
	c := up.c
	ctx := context.Background()
	td := registerHealthChecked(t, c, "e2e-svc", "wharf-testapp:latest")
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2),
	}); err != nil {
		t.Fatal(err)
	}
	tasks := waitServiceHealthy(t, c, "web", td, 2, 30*time.Second)
	if svc := describeService(t, c, "web"); !hasServiceEvent(svc, "(service web) has started 2 tasks: (task ") {
		t.Errorf("events do not tell of the 2 tasks started:%s", serviceEvents(svc))
	}
	for _, tk := range tasks {
		port := hostPortOf(t, tk)
		if port == 0 {
			t.Fatalf("task %s has host port 0; want a dynamic port", aws.ToString(tk.TaskArn))
		}
		waitFor(t, 10*time.Second, fmt.Sprintf("task %s's /health on host port %d", aws.ToString(tk.TaskArn), port), func() bool {
			return httpOK(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		})
	}

	// docker kill one task's container: the service replaces the task.
	victim := aws.ToString(tasks[0].TaskArn)
	cs, err := rt.List(ctx, map[string]string{"com.amazonaws.ecs.task-arn": victim})
	if err != nil || len(cs) != 1 {
		t.Fatalf("containers of task %s: %v %+v; want one", victim, err, cs)
	}
	if out, err := exec.Command("docker", "kill", cs[0].ID).CombinedOutput(); err != nil {
		t.Fatalf("docker kill %s: %v\n%s", cs[0].ID, err, out)
	}
	waitFor(t, 20*time.Second, "the killed task to stop", func() bool { return taskStatus(t, c, victim) == "STOPPED" })
	if got := describeTask(t, c, victim); got.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("killed task stopCode %s (%s); want EssentialContainerExited", got.StopCode, aws.ToString(got.StoppedReason))
	}
	tasks = waitServiceHealthy(t, c, "web", td, 2, 30*time.Second)
	for _, tk := range tasks {
		if aws.ToString(tk.TaskArn) == victim {
			t.Fatalf("the killed task %s still counts as running", victim)
		}
	}
	if svc := describeService(t, c, "web"); !hasServiceEvent(svc, "(service web) has started 1 tasks: (task ") {
		t.Errorf("events do not tell of the replacement:%s", serviceEvents(svc))
	}

	// A forced delete: DRAINING at once, then INACTIVE once every task has
	// stopped, and no container left running.
	del, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(del.Service.Status); got != "DRAINING" {
		t.Errorf("DeleteService answered status %s; want DRAINING", got)
	}
	waitFor(t, 45*time.Second, "the service to become INACTIVE", func() bool {
		return aws.ToString(describeService(t, c, "web").Status) == "INACTIVE"
	})
	for _, tk := range tasks {
		arn := aws.ToString(tk.TaskArn)
		if got := describeTask(t, c, arn); aws.ToString(got.LastStatus) != "STOPPED" || got.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("task %s of the deleted service is %s (%s); want STOPPED by the scheduler", arn, aws.ToString(got.LastStatus), got.StopCode)
		}
	}
	left, err := rt.List(ctx, map[string]string{"org.wharf-ecs.container-instance-arn": up.instance})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range left {
		if ct.Running() {
			t.Errorf("container %s still runs after the service was deleted", ct.ID)
		}
	}
}

// A rollout to an image that does not exist trips the deployment circuit
// breaker (10 tasks failed to start, ECS's threshold for 2 desired) and
// rolls back to the deployment that last completed; the original tasks run
// throughout (minimumHealthyPercent 100).
func TestServiceCircuitBreakerRollsBackOnDocker(t *testing.T) {
	rt := requireDocker(t)
	up := startSvcUp(t, rt)
	c := up.c
	ctx := context.Background()
	good := registerHealthChecked(t, c, "e2e-breaker", "wharf-testapp:latest")
	created, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String(good), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	goodID := aws.ToString(created.Service.Deployments[0].Id)
	// Rollback goes to the last COMPLETED deployment, so wait for it.
	waitFor(t, 30*time.Second, "the first deployment to complete", func() bool {
		svc := describeService(t, c, "web")
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	goodTasks := waitServiceHealthy(t, c, "web", good, 2, 10*time.Second)

	broken := registerHealthChecked(t, c, "e2e-breaker", "wharf-no-such-image:latest")
	upd, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(broken)})
	if err != nil {
		t.Fatal(err)
	}
	brokenID := aws.ToString(upd.Service.Deployments[0].Id)
	began := time.Now()
	var svc types.Service
	defer func() {
		if t.Failed() {
			t.Logf("service last seen: deployments %+v events:%s", svc.Deployments, serviceEvents(svc))
		}
	}()
	// The launch backoff doubles with every round of failures (1 s up to
	// 1 min), so the tenth failure comes about 100 s after the update.
	waitFor(t, 3*time.Minute, "the circuit breaker to roll back", func() bool {
		svc = describeService(t, c, "web")
		return hasServiceEvent(svc, "(deployment "+brokenID+") deployment failed: tasks failed to start.") &&
			aws.ToString(svc.Deployments[0].Id) == goodID
	})
	t.Logf("the circuit breaker tripped and rolled back %s after the update", time.Since(began).Round(100*time.Millisecond))
	if aws.ToString(svc.TaskDefinition) != good || aws.ToString(svc.Deployments[0].TaskDefinition) != good {
		t.Errorf("after the rollback the service runs %s (PRIMARY %s); want %s", aws.ToString(svc.TaskDefinition), aws.ToString(svc.Deployments[0].TaskDefinition), good)
	}
	waitFor(t, 30*time.Second, "the rollback to complete with the failed deployment gone", func() bool {
		svc = describeService(t, c, "web")
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if now := waitServiceHealthy(t, c, "web", good, 2, 10*time.Second); len(now) != 2 {
		t.Fatalf("after the rollback %d healthy tasks of %s; want 2", len(now), good)
	}
	for _, tk := range goodTasks {
		arn := aws.ToString(tk.TaskArn)
		if got := taskStatus(t, c, arn); got != "RUNNING" {
			t.Errorf("original task %s is %s after the failed rollout; want it RUNNING throughout", arn, got)
		}
	}
	failed := 0
	for _, tk := range serviceTasks(t, c, "web", types.DesiredStatusStopped) {
		if aws.ToString(tk.TaskDefinitionArn) != broken {
			continue
		}
		if tk.StopCode == types.TaskStopCodeTaskFailedToStart {
			failed++
		}
		if r := aws.ToString(tk.StoppedReason); tk.StopCode == types.TaskStopCodeTaskFailedToStart && !strings.Contains(r, "CannotPullContainerError") {
			t.Errorf("broken task %s stopped with reason %q; want CannotPullContainerError", aws.ToString(tk.TaskArn), r)
		}
	}
	if failed < 10 {
		t.Errorf("%d tasks of the broken revision failed to start; the circuit breaker trips at 10", failed)
	}
}
