package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// kill -9 of the server in the middle of a rolling deployment: after the
// restart on the same data the deployment resumes and completes, and the
// service never runs more tasks than maximumPercent allows. The instances are
// simulated (wharf sim), so the test needs no Docker; their health checks take
// 3 s to pass, which keeps the rollout in progress long enough to cut it.
func TestServerKill9MidDeploymentResumes(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	url := "http://" + addr
	dir := t.TempDir()
	srv := start(t, "server", "--listen", addr, "--data-dir", dir)
	waitHealthy(t, url, srv)
	start(t, "sim", "--endpoint", url, "--cluster", "roll", "--instances", "4", "--zones", "a,b",
		"--start-delay", "50ms", "--health-delay", "3s")
	c := client(url)
	ctx := context.Background()
	waitFor(t, 30*time.Second, "4 simulated instances", func() bool {
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("roll")})
		return err == nil && len(out.ContainerInstanceArns) == 4
	})
	register := func() string {
		out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("app"),
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"), Memory: aws.Int32(64),
				HealthCheck: &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(5)},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	v1 := register()
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("roll"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	describe := func() (types.Service, bool) {
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("roll"), Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 {
			return types.Service{}, false // the server may be restarting
		}
		return out.Services[0], true
	}
	steadyOn := func(td string) bool {
		s, ok := describe()
		return ok && len(s.Deployments) == 1 && aws.ToString(s.Deployments[0].TaskDefinition) == td &&
			s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && s.RunningCount == 4
	}
	waitFor(t, 60*time.Second, "the service steady on the first revision", func() bool { return steadyOn(v1) })

	v2 := register()
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("roll"), Service: aws.String("web"),
		TaskDefinition: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	// In progress: the new revision's tasks run while the old deployment
	// still holds its tasks (they go only once the new ones are healthy).
	waitFor(t, 30*time.Second, "the rollout to start new tasks", func() bool {
		s, ok := describe()
		if !ok || len(s.Deployments) < 2 {
			return false
		}
		for _, d := range s.Deployments {
			if aws.ToString(d.TaskDefinition) == v2 && d.RunningCount+d.PendingCount > 0 {
				return true
			}
		}
		return false
	})
	srv.kill9(t)
	srv2 := start(t, "server", "--listen", addr, "--data-dir", dir)
	waitHealthy(t, url, srv2)

	most := 0
	waitFor(t, 90*time.Second, "the rollout to complete after the restart", func() bool {
		tasks, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("roll"), ServiceName: aws.String("web")})
		if err == nil {
			most = max(most, len(tasks.TaskArns))
		}
		return steadyOn(v2)
	})
	if most > 8 {
		t.Errorf("the service ran %d tasks at once; maximumPercent 200 of 4 allows 8", most)
	}
	tasks, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("roll"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("roll"), Tasks: tasks.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 4 {
		t.Fatalf("after the rollout the service has %d tasks; want 4", len(out.Tasks))
	}
	for _, tk := range out.Tasks {
		if aws.ToString(tk.TaskDefinitionArn) != v2 || aws.ToString(tk.LastStatus) != "RUNNING" {
			t.Errorf("task %s is %s of %s; want RUNNING of %s", aws.ToString(tk.TaskArn), aws.ToString(tk.LastStatus), aws.ToString(tk.TaskDefinitionArn), v2)
		}
	}
}
