package ecsapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// End-to-end tests of the service controller: a real server, real agents on
// simulated runtimes (internal/runtime/sim), driven through the SDK.

// svTasks returns the service's tasks as stored.
func (cl *svCluster) tasks(t *testing.T, name string) []*state.Task {
	t.Helper()
	items, _, err := state.List[state.Task](context.Background(), cl.srv.Store(), state.ClusterTasksPrefix("default"), store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*state.Task
	for _, it := range items {
		if it.Val.Group == "service:"+name {
			out = append(out, it.Val)
		}
	}
	return out
}

// running returns the tasks that run and are meant to.
func running(ts []*state.Task) []*state.Task {
	var out []*state.Task
	for _, t := range ts {
		if t.LastStatus == "RUNNING" && t.DesiredStatus == "RUNNING" {
			out = append(out, t)
		}
	}
	return out
}

func hasEvent(svc types.Service, substr string) bool {
	for _, e := range svc.Events {
		if strings.Contains(aws.ToString(e.Message), substr) {
			return true
		}
	}
	return false
}

// waitSteady waits until the service has one COMPLETED deployment, n tasks
// running (as the service counts them: not those of lost instances) and the
// steady-state event, and returns it.
func (cl *svCluster) waitSteady(t *testing.T, name string, n int, d time.Duration) types.Service {
	t.Helper()
	var svc types.Service
	defer func() {
		if t.Failed() {
			t.Logf("last seen: running %d pending %d desired %d deployments %+v events %v", svc.RunningCount, svc.PendingCount, svc.DesiredCount, svc.Deployments, eventMsgs(svc))
		}
	}()
	svWait(t, d, fmt.Sprintf("service %s steady with %d tasks", name, n), func() bool {
		svc = svDescribe(t, cl.c, "default", name)
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
			svc.RunningCount == int32(n) && svc.PendingCount == 0 &&
			len(svc.Events) > 0 && aws.ToString(svc.Events[0].Message) == "(service "+name+") has reached a steady state."
	})
	return svc
}

func svService(name, td string, desired int32) *ecs.CreateServiceInput {
	return &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(desired)}
}

func TestServiceRunsAndReplacesTasks(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b")
	td := svTD(t, cl.c, "web", "wharf-testapp:latest")
	svCreate(t, cl.c, svService("web", td, 2))
	svc := cl.waitSteady(t, "web", 2, 20*time.Second)
	dep := svc.Deployments[0]
	if dep.RunningCount != 2 || dep.DesiredCount != 2 || dep.FailedTasks != 0 {
		t.Errorf("deployment counts running %d desired %d failed %d; want 2 2 0", dep.RunningCount, dep.DesiredCount, dep.FailedTasks)
	}
	if !hasEvent(svc, "(service web) has started 2 tasks: (task ") || !hasEvent(svc, "deployment completed.") {
		t.Errorf("events %v; want the start and the completion", svc.Events)
	}
	tasks := running(cl.tasks(t, "web"))
	for _, tk := range tasks {
		if tk.StartedBy != aws.ToString(dep.Id) {
			t.Errorf("task startedBy %q; want the deployment ID %s", tk.StartedBy, aws.ToString(dep.Id))
		}
	}
	// ListTasks --service-name finds them.
	lt, err := cl.c.ListTasks(context.Background(), &ecs.ListTasksInput{ServiceName: aws.String("web")})
	if err != nil || len(lt.TaskArns) != 2 {
		t.Fatalf("ListTasks --service-name = %v, %v; want 2", lt.TaskArns, err)
	}

	// A container that dies is replaced.
	victim := tasks[0]
	crashed := 0
	for _, a := range cl.agents {
		crashed += svCrash(t, a.rt, victim.TaskArn)
	}
	if crashed == 0 {
		t.Fatalf("no container of task %s to crash", victim.TaskArn)
	}
	svWait(t, 20*time.Second, "a replacement", func() bool {
		now := running(cl.tasks(t, "web"))
		if len(now) != 2 {
			return false
		}
		for _, tk := range now {
			if tk.TaskArn == victim.TaskArn {
				return false
			}
		}
		return true
	})
	svc = cl.waitSteady(t, "web", 2, 20*time.Second)
	if !hasEvent(svc, "(service web) has started 1 tasks: (task ") {
		t.Errorf("no start event for the replacement: %v", svc.Events)
	}
	stopped := svDescribeTask(t, cl, victim.TaskArn)
	if stopped.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("crashed task stopCode %s; want EssentialContainerExited", stopped.StopCode)
	}
}

func svDescribeTask(t *testing.T, cl *svCluster, arn string) types.Task {
	t.Helper()
	out, err := cl.c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %v %+v", arn, err, out)
	}
	return out.Tasks[0]
}

func zonesOf(ts []*state.Task) map[string]int {
	z := map[string]int{}
	for _, t := range ts {
		z[t.AvailabilityZone]++
	}
	return z
}

func TestServiceScalesOutAndInKeepingZonesBalanced(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1a", "us-east-1b", "us-east-1b")
	td := svTD(t, cl.c, "web", "wharf-testapp:latest")
	svCreate(t, cl.c, svService("web", td, 1))
	cl.waitSteady(t, "web", 1, 20*time.Second)
	ctx := context.Background()
	if _, err := cl.c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(6)}); err != nil {
		t.Fatal(err)
	}
	cl.waitSteady(t, "web", 6, 20*time.Second)
	if _, err := cl.c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	svc := cl.waitSteady(t, "web", 2, 20*time.Second)
	if z := zonesOf(running(cl.tasks(t, "web"))); z["us-east-1a"] != 1 || z["us-east-1b"] != 1 {
		t.Errorf("after scaling in to 2, tasks per zone = %v; want one in each", z)
	}
	if !hasEvent(svc, "(service web) has stopped 4 running tasks: (task ") {
		t.Errorf("events %v; want the stop of 4 tasks", svc.Events)
	}
	if len(svc.Deployments) != 1 || aws.ToString(svc.Deployments[0].Id) == "" {
		t.Fatalf("scaling made deployments: %+v", svc.Deployments)
	}
	for _, tk := range cl.tasks(t, "web") {
		if tk.LastStatus == "STOPPED" {
			if tk.StopCode != "ServiceSchedulerInitiated" || tk.StoppedReason != "Scaling activity initiated by (deployment "+aws.ToString(svc.Deployments[0].Id)+")" {
				t.Errorf("scaled-in task stopCode %s reason %q", tk.StopCode, tk.StoppedReason)
			}
		}
	}
}

func TestServiceRollingUpdateHonoursLimits(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b")
	td1 := svTD(t, cl.c, "web", "wharf-testapp:1")
	in := svService("web", td1, 4)
	in.DeploymentConfiguration = &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(150)}
	first := svCreate(t, cl.c, in)
	cl.waitSteady(t, "web", 4, 20*time.Second)
	td2 := svTD(t, cl.c, "web", "wharf-testapp:2")
	if _, err := cl.c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(td2)}); err != nil {
		t.Fatal(err)
	}
	// Sample the store while the rollout runs: at least 2 tasks (50% of 4)
	// keep running, and at most 6 (150%) are present.
	minSeen, maxSeen := 100, 0
	var svc types.Service
	svWait(t, 30*time.Second, "rollout to finish", func() bool {
		ts := cl.tasks(t, "web")
		present := 0
		for _, tk := range ts {
			if tk.LastStatus != "STOPPED" {
				present++
			}
		}
		minSeen, maxSeen = min(minSeen, len(running(ts))), max(maxSeen, present)
		svc = svDescribe(t, cl.c, "default", "web")
		return len(svc.Deployments) == 1 && aws.ToString(svc.Deployments[0].TaskDefinition) == td2 &&
			svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && len(running(ts)) == 4
	})
	if minSeen < 2 {
		t.Errorf("during the rollout only %d tasks ran; minimumHealthyPercent 50 of 4 wants 2", minSeen)
	}
	if maxSeen > 6 {
		t.Errorf("during the rollout %d tasks were present; maximumPercent 150 of 4 allows 6", maxSeen)
	}
	for _, tk := range running(cl.tasks(t, "web")) {
		if tk.TaskDefinitionArn != td2 {
			t.Errorf("after the rollout task %s runs %s; want %s", tk.TaskArn, tk.TaskDefinitionArn, td2)
		}
	}
	if !hasEvent(svc, "(deployment "+aws.ToString(first.Deployments[0].Id)+") deployment completed.") {
		t.Errorf("events %v; want the first deployment's completion", svc.Events)
	}
	cl.waitSteady(t, "web", 4, 20*time.Second)
}

func TestServiceCircuitBreakerRollsBack(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b")
	good := svTD(t, cl.c, "web", "wharf-testapp:latest")
	in := svService("web", good, 2)
	in.DeploymentConfiguration = &types.DeploymentConfiguration{
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
	}
	created := svCreate(t, cl.c, in)
	goodID := aws.ToString(created.Deployments[0].Id)
	cl.waitSteady(t, "web", 2, 20*time.Second)
	goodTasks := running(cl.tasks(t, "web"))

	broken := svTD(t, cl.c, "web", "registry.invalid/missing:1")
	up, err := cl.c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(broken)})
	if err != nil {
		t.Fatal(err)
	}
	brokenID := aws.ToString(up.Service.Deployments[0].Id)
	var svc types.Service
	svWait(t, 60*time.Second, "the rollback", func() bool {
		svc = svDescribe(t, cl.c, "default", "web")
		return aws.ToString(svc.Deployments[0].Id) == goodID
	})
	// Its tasks still run, so the rollback may complete before we look.
	reason := aws.ToString(svc.Deployments[0].RolloutStateReason)
	if reason != "ECS deployment circuit breaker: rolling back to deploymentId "+goodID+"." && reason != "ECS deployment "+goodID+" completed." {
		t.Errorf("rollback deployment reason %q; want the rollback or its completion", reason)
	}
	svc = cl.waitSteady(t, "web", 2, 60*time.Second)
	if aws.ToString(svc.TaskDefinition) != good || aws.ToString(svc.Deployments[0].TaskDefinition) != good {
		t.Errorf("after the rollback the service runs %s; want %s", aws.ToString(svc.TaskDefinition), good)
	}
	// The last completed deployment is PRIMARY again, and completed again.
	if aws.ToString(svc.Deployments[0].Id) != goodID {
		t.Errorf("after the rollback the PRIMARY deployment is %s; want %s again", aws.ToString(svc.Deployments[0].Id), goodID)
	}
	if !hasEvent(svc, "(service web) (deployment "+brokenID+") deployment failed: tasks failed to start.") {
		t.Errorf("events %v; want the failed deployment", svc.Events)
	}
	// minimumHealthyPercent 100: the good tasks were never stopped.
	for _, tk := range goodTasks {
		if got := svDescribeTask(t, cl, tk.TaskArn); aws.ToString(got.LastStatus) != "RUNNING" {
			t.Errorf("good task %s is %s after the failed deployment", tk.TaskArn, aws.ToString(got.LastStatus))
		}
	}
	failed := 0
	for _, tk := range cl.tasks(t, "web") {
		if tk.TaskDefinitionArn == broken {
			if tk.StopCode != "TaskFailedToStart" && tk.StopCode != "ServiceSchedulerInitiated" {
				t.Errorf("broken task stopCode %s", tk.StopCode)
			}
			if tk.StopCode == "TaskFailedToStart" {
				failed++
			}
		}
	}
	if failed < 10 {
		t.Errorf("%d broken tasks failed to start; the circuit breaker trips at 10", failed)
	}
}

func TestDaemonServiceRunsOnEveryInstance(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b", "us-east-1c")
	td := svTD(t, cl.c, "agent", "wharf-testapp:latest")
	svCreate(t, cl.c, &ecs.CreateServiceInput{ServiceName: aws.String("logs"), TaskDefinition: aws.String(td), SchedulingStrategy: types.SchedulingStrategyDaemon})
	perInstance := func() map[string]int {
		m := map[string]int{}
		for _, tk := range running(cl.tasks(t, "logs")) {
			m[tk.ContainerInstanceArn]++
		}
		return m
	}
	oneEach := func(n int) func() bool {
		return func() bool {
			m := perInstance()
			if len(m) != n {
				return false
			}
			for _, c := range m {
				if c != 1 {
					return false
				}
			}
			return true
		}
	}
	svWait(t, 20*time.Second, "one task on each of 3 instances", oneEach(3))
	svc := cl.waitSteady(t, "logs", 3, 20*time.Second)
	if svc.DesiredCount != 3 {
		t.Errorf("DAEMON desiredCount = %d; want 3 (one per instance)", svc.DesiredCount)
	}
	fourth := cl.addAgent(t, "us-east-1a")
	svWait(t, 20*time.Second, "one task on each of 4 instances", oneEach(4))
	if perInstance()[fourth.ag.InstanceArn()] != 1 {
		t.Errorf("the new instance got no task")
	}
	cl.waitSteady(t, "logs", 4, 20*time.Second)

	// A draining instance no longer qualifies: its daemon task stops.
	if _, err := cl.c.UpdateContainerInstancesState(context.Background(), &ecs.UpdateContainerInstancesStateInput{
		ContainerInstances: []string{fourth.ag.InstanceArn()}, Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatal(err)
	}
	svWait(t, 20*time.Second, "the draining instance's task to stop", func() bool { return oneEach(3)() && perInstance()[fourth.ag.InstanceArn()] == 0 })
	svc = cl.waitSteady(t, "logs", 3, 20*time.Second)
	if svc.DesiredCount != 3 {
		t.Errorf("DAEMON desiredCount = %d after draining; want 3", svc.DesiredCount)
	}
}

func TestServiceMovesTasksOffDrainingInstance(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b")
	ctx := context.Background()
	td := svTD(t, cl.c, "web", "wharf-testapp:latest")
	svCreate(t, cl.c, svService("web", td, 2))
	cl.waitSteady(t, "web", 2, 20*time.Second)
	a := cl.agents[0].ag.InstanceArn()
	// A standalone task on the instance to drain stays: draining only moves
	// service tasks, as in ECS.
	rt, err := cl.c.StartTask(ctx, &ecs.StartTaskInput{TaskDefinition: aws.String(td), ContainerInstances: []string{a}})
	if err != nil || len(rt.Tasks) != 1 {
		t.Fatalf("StartTask: %v %+v", err, rt)
	}
	standalone := aws.ToString(rt.Tasks[0].TaskArn)
	if _, err := cl.c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		ContainerInstances: []string{a}, Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatal(err)
	}
	svWait(t, 20*time.Second, "the service's tasks to leave the draining instance", func() bool {
		ts := running(cl.tasks(t, "web"))
		for _, tk := range ts {
			if tk.ContainerInstanceArn == a {
				return false
			}
		}
		return len(ts) == 2
	})
	cl.waitSteady(t, "web", 2, 20*time.Second)
	if got := svDescribeTask(t, cl, standalone); aws.ToString(got.LastStatus) != "RUNNING" || aws.ToString(got.DesiredStatus) != "RUNNING" {
		t.Errorf("standalone task on the draining instance is %s/%s; want it left running", aws.ToString(got.LastStatus), aws.ToString(got.DesiredStatus))
	}
}

func TestServiceReplacesTasksOfLostAgent(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a", "us-east-1b")
	td := svTD(t, cl.c, "web", "wharf-testapp:latest")
	svCreate(t, cl.c, svService("web", td, 2))
	cl.waitSteady(t, "web", 2, 20*time.Second)
	lost := cl.agents[0]
	lostArn := lost.ag.InstanceArn()
	var onLost []string
	for _, tk := range running(cl.tasks(t, "web")) {
		if tk.ContainerInstanceArn == lostArn {
			onLost = append(onLost, tk.TaskArn)
		}
	}
	if len(onLost) == 0 {
		t.Fatalf("no service task on the first instance to lose")
	}
	lost.stop()
	// The agent is gone past the timeout: its tasks are replaced elsewhere.
	other := cl.agents[1].ag.InstanceArn()
	svWait(t, 30*time.Second, "replacements on the other instance", func() bool {
		n := 0
		for _, tk := range running(cl.tasks(t, "web")) {
			if tk.ContainerInstanceArn == other {
				n++
			}
		}
		return n == 2
	})
	svc := cl.waitSteady(t, "web", 2, 20*time.Second)
	if svc.RunningCount != 2 {
		t.Errorf("runningCount with a lost instance = %d; want 2 (lost tasks are not counted)", svc.RunningCount)
	}
	// The agent comes back with its containers still running: the surplus
	// is stopped so that 2 tasks run.
	lost.start()
	svWait(t, 30*time.Second, "the surplus to be stopped", func() bool {
		ts := cl.tasks(t, "web")
		present := 0
		for _, tk := range ts {
			if tk.LastStatus != "STOPPED" {
				present++
			}
		}
		return present == 2 && len(running(ts)) == 2
	})
	cl.waitSteady(t, "web", 2, 20*time.Second)
}

func TestDeleteServiceStopsItsTasks(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a")
	ctx := context.Background()
	td := svTD(t, cl.c, "web", "wharf-testapp:latest")
	svCreate(t, cl.c, svService("web", td, 2))
	cl.waitSteady(t, "web", 2, 20*time.Second)
	if _, err := cl.c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	var svc types.Service
	svWait(t, 20*time.Second, "the service to become INACTIVE", func() bool {
		svc = svDescribe(t, cl.c, "default", "web")
		return aws.ToString(svc.Status) == "INACTIVE"
	})
	for _, tk := range cl.tasks(t, "web") {
		if tk.LastStatus != "STOPPED" || tk.StopCode != "ServiceSchedulerInitiated" {
			t.Errorf("task %s of the deleted service is %s (%s)", tk.TaskArn, tk.LastStatus, tk.StopCode)
		}
	}
	list, err := cl.c.ListServices(ctx, &ecs.ListServicesInput{})
	if err != nil || len(list.ServiceArns) != 0 {
		t.Fatalf("ListServices after delete = %v, %v; want none", list.ServiceArns, err)
	}
	// The name is free again.
	svCreate(t, cl.c, svService("web", td, 1))
	cl.waitSteady(t, "web", 1, 20*time.Second)
}

func eventMsgs(svc types.Service) []string {
	var out []string
	for _, e := range svc.Events {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}
