package ecsapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// A service keeps running, and replacing the tasks of, a revision that was
// deregistered after it was created, as ECS does; RunTask and CreateService
// still refuse the INACTIVE revision.
func TestServiceReplacesTasksOfDeregisteredRevision(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b")
	ctx := context.Background()
	td := svTD(t, cl.c, "web", "wharf-testapp:latest")
	svCreate(t, cl.c, svService("web", td, 2))
	cl.waitSteady(t, "web", 2, 20*time.Second)
	if _, err := cl.c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(td)}); err != nil {
		t.Fatal(err)
	}

	_, err := cl.c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})
	ecstest.WantCode(t, err, "ClientException")
	_, err = cl.c.CreateService(ctx, svService("other", td, 1))
	ecstest.WantCode(t, err, "ClientException")

	victim := running(cl.tasks(t, "web"))[0]
	if _, err := cl.c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(victim.TaskArn)}); err != nil {
		t.Fatal(err)
	}
	svWait(t, 20*time.Second, "a replacement of the stopped task", func() bool {
		now := running(cl.tasks(t, "web"))
		for _, tk := range now {
			if tk.TaskArn == victim.TaskArn {
				return false
			}
		}
		return len(now) == 2
	})
	svc := cl.waitSteady(t, "web", 2, 20*time.Second)
	if !hasEvent(svc, "(service web) has started 1 tasks: (task ") {
		t.Errorf("events %v; want the replacement's start", eventMsgs(svc))
	}
	if hasEvent(svc, "is INACTIVE") {
		t.Errorf("events %v; the launch must not be refused for the INACTIVE revision", eventMsgs(svc))
	}
	for _, tk := range running(cl.tasks(t, "web")) {
		if tk.TaskDefinitionArn != td {
			t.Errorf("task %s runs %s; want the deregistered %s", tk.TaskArn, tk.TaskDefinitionArn, td)
		}
	}
}
