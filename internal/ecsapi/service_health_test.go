package ecsapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// withHealthCheck gives the container a health check; the simulated runtime
// answers SIM_HEALTH (HEALTHY unless told otherwise).
func withHealthCheck(health string) func(*types.ContainerDefinition) {
	return func(d *types.ContainerDefinition) {
		d.HealthCheck = &types.HealthCheck{Command: []string{"CMD-SHELL", "exit 0"}}
		d.Environment = []types.KeyValuePair{{Name: aws.String("SIM_HEALTH"), Value: aws.String(health)}}
	}
}

func TestServiceReplacesUnhealthyTasks(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b")
	healthy := svTD(t, cl.c, "ok", "wharf-testapp:latest", withHealthCheck("HEALTHY"))
	svCreate(t, cl.c, svService("ok", healthy, 2))
	cl.waitSteady(t, "ok", 2, 20*time.Second)
	for _, tk := range running(cl.tasks(t, "ok")) {
		if tk.HealthStatus != "HEALTHY" {
			t.Errorf("task of the healthy service is %s", tk.HealthStatus)
		}
	}

	sick := svTD(t, cl.c, "sick", "wharf-testapp:latest", withHealthCheck("UNHEALTHY"))
	svCreate(t, cl.c, svService("sick", sick, 1))
	var svc types.Service
	svWait(t, 20*time.Second, "an unhealthy task to be replaced", func() bool {
		svc = svDescribe(t, cl.c, "default", "sick")
		return hasEvent(svc, "failed container health checks.")
	})
	svWait(t, 20*time.Second, "the replaced task to stop", func() bool {
		for _, tk := range cl.tasks(t, "sick") {
			if tk.LastStatus == "STOPPED" && tk.StoppedReason == "Task failed container health checks" && tk.StopCode == "ServiceSchedulerInitiated" {
				return true
			}
		}
		return false
	})
	if svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted {
		t.Errorf("a deployment whose tasks never pass their health checks completed")
	}
}

func TestServiceRolloutResumesAfterServerRestart(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b")
	td1 := svTD(t, cl.c, "web", "wharf-testapp:1")
	svCreate(t, cl.c, svService("web", td1, 4))
	cl.waitSteady(t, "web", 4, 20*time.Second)
	td2 := svTD(t, cl.c, "web", "wharf-testapp:2")
	if _, err := cl.c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(td2)}); err != nil {
		t.Fatal(err)
	}
	svWait(t, 20*time.Second, "the rollout to start", func() bool {
		for _, tk := range cl.tasks(t, "web") {
			if tk.TaskDefinitionArn == td2 {
				return true
			}
		}
		return false
	})
	// New tasks count as healthy only after 300ms here, so the old
	// deployment is still there: the restart falls in the middle.
	if d := svDescribe(t, cl.c, "default", "web").Deployments; len(d) != 2 {
		t.Fatalf("before the restart the service has %d deployments; want the rollout in progress", len(d))
	}
	cl.restartServer(t)
	svc := cl.waitSteady(t, "web", 4, 40*time.Second)
	if aws.ToString(svc.TaskDefinition) != td2 || aws.ToString(svc.Deployments[0].TaskDefinition) != td2 {
		t.Errorf("after the restart the service runs %s; want %s", aws.ToString(svc.Deployments[0].TaskDefinition), td2)
	}
	present := 0
	for _, tk := range cl.tasks(t, "web") {
		if tk.LastStatus != "STOPPED" {
			present++
			if tk.TaskDefinitionArn != td2 || tk.DesiredStatus != "RUNNING" {
				t.Errorf("task %s: %s desired %s; want %s running", tk.TaskArn, tk.TaskDefinitionArn, tk.DesiredStatus, td2)
			}
		}
	}
	if present != 4 {
		t.Errorf("%d tasks present after the rollout; want 4", present)
	}
}
