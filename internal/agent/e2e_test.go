package agent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func testapp(name string, env ...types.KeyValuePair) types.ContainerDefinition {
	return types.ContainerDefinition{
		Name:         aws.String(name),
		Image:        aws.String(testappImage),
		Memory:       aws.Int32(64),
		Environment:  env,
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
	}
}

func env(k, v string) types.KeyValuePair {
	return types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)}
}

// A task runs, serves HTTP on its dynamic host port, and stops on StopTask
// with its exit code, giving its resources back.
func TestRunTaskServesHTTPAndStops(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	td := register(t, cl.c, "web", testapp("web", env("GREETING", "hello")))
	task := runTask(t, cl.c, td)
	running := waitStatus(t, cl.c, aws.ToString(task.TaskArn), "RUNNING", 30*time.Second)

	port := hostPort(t, container(t, running, "web"), 8080)
	if port == 8080 || port == 0 {
		t.Fatalf("host port = %d; want a dynamic port", port)
	}
	waitFor(t, 10*time.Second, "HTTP on the task's host port", func() bool {
		code, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/env/GREETING", port))
		return err == nil && code == 200
	})

	inst := describeInstance(t, cl)
	if got := remaining(inst, "MEMORY"); got != 2048-64 {
		t.Fatalf("remaining MEMORY while running = %d; want %d", got, 2048-64)
	}

	if _, err := cl.c.StopTask(ctx, &ecs.StopTaskInput{Task: task.TaskArn, Reason: aws.String("done testing")}); err != nil {
		t.Fatal(err)
	}
	stopped := waitStopped(t, cl.c, aws.ToString(task.TaskArn), 45*time.Second)
	if stopped.StopCode != types.TaskStopCodeUserInitiated {
		t.Errorf("stopCode = %s; want UserInitiated", stopped.StopCode)
	}
	if c := container(t, stopped, "web"); aws.ToInt32(c.ExitCode) != 0 || c.ExitCode == nil {
		t.Errorf("exit code = %v; want 0 (testapp exits cleanly on SIGTERM)", c.ExitCode)
	}
	if aws.ToString(stopped.StoppedReason) != "done testing" {
		t.Errorf("stoppedReason = %q; want %q", aws.ToString(stopped.StoppedReason), "done testing")
	}
	waitFor(t, 5*time.Second, "resources given back", func() bool {
		return remaining(describeInstance(t, cl), "MEMORY") == 2048
	})
}

// An essential container that exits stops the task with its exit code.
func TestEssentialContainerExitStopsTask(t *testing.T) {
	cl := startCluster(t)
	td := register(t, cl.c, "exits", types.ContainerDefinition{
		Name: aws.String("main"), Image: aws.String(busyboxImage), Memory: aws.Int32(16),
		Command: []string{"sh", "-c", "sleep 1; exit 3"},
	})
	task := runTask(t, cl.c, td)
	stopped := waitStopped(t, cl.c, aws.ToString(task.TaskArn), 30*time.Second)
	if stopped.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("stopCode = %s; want EssentialContainerExited", stopped.StopCode)
	}
	if c := container(t, stopped, "main"); c.ExitCode == nil || *c.ExitCode != 3 {
		t.Errorf("exit code = %v; want 3", c.ExitCode)
	}
}

// dependsOn SUCCESS: the app starts only after init has written its file
// into the task's shared volume and exited 0.
func TestDependsOnOrder(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	out, err := cl.c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:  aws.String("ordered"),
		Volumes: []types.Volume{{Name: aws.String("shared")}},
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name: aws.String("app"), Image: aws.String(busyboxImage), Memory: aws.Int32(16),
				Command:     []string{"sh", "-c", "test -f /data/ready || exit 7; sleep 600"},
				MountPoints: []types.MountPoint{{SourceVolume: aws.String("shared"), ContainerPath: aws.String("/data")}},
				DependsOn:   []types.ContainerDependency{{ContainerName: aws.String("init"), Condition: types.ContainerConditionSuccess}},
			},
			{
				Name: aws.String("init"), Image: aws.String(busyboxImage), Memory: aws.Int32(16), Essential: aws.Bool(false),
				Command:     []string{"sh", "-c", "sleep 1; touch /data/ready"},
				MountPoints: []types.MountPoint{{SourceVolume: aws.String("shared"), ContainerPath: aws.String("/data")}},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	task := runTask(t, cl.c, aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	running := waitStatus(t, cl.c, aws.ToString(task.TaskArn), "RUNNING", 30*time.Second)
	if c := container(t, running, "init"); aws.ToString(c.LastStatus) != "STOPPED" || aws.ToInt32(c.ExitCode) != 0 {
		t.Errorf("init = %s exit %v; want STOPPED with 0 before the task runs", aws.ToString(c.LastStatus), c.ExitCode)
	}
	// Still running a moment later: app found the file (else it exits 7).
	time.Sleep(time.Second)
	if got := aws.ToString(describe(t, cl.c, aws.ToString(task.TaskArn)).LastStatus); got != "RUNNING" {
		t.Fatalf("task = %s after start; want RUNNING", got)
	}
}

// A container health check turns the task HEALTHY, then UNHEALTHY when the
// app starts failing it.
func TestHealthCheckStates(t *testing.T) {
	cl := startCluster(t)
	def := testapp("web")
	def.HealthCheck = &types.HealthCheck{
		Command:  []string{"CMD", "/testapp", "-healthcheck", "http://127.0.0.1:8080/health"},
		Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(1),
	}
	td := register(t, cl.c, "checked", def)
	task := runTask(t, cl.c, td)
	arn := aws.ToString(task.TaskArn)
	running := waitStatus(t, cl.c, arn, "RUNNING", 30*time.Second)
	port := hostPort(t, container(t, running, "web"), 8080)
	waitFor(t, 30*time.Second, "task HEALTHY", func() bool {
		tk := describe(t, cl.c, arn)
		return tk.HealthStatus == types.HealthStatusHealthy && container(t, tk, "web").HealthStatus == types.HealthStatusHealthy
	})
	if code, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/fail", port)); err != nil || code >= 300 {
		t.Fatalf("GET /fail = %d, %v", code, err)
	}
	waitFor(t, 30*time.Second, "task UNHEALTHY", func() bool {
		return describe(t, cl.c, arn).HealthStatus == types.HealthStatusUnhealthy
	})
}

// A container that ignores SIGTERM is killed after its stopTimeout.
func TestStopTimeoutEscalatesToSIGKILL(t *testing.T) {
	cl := startCluster(t)
	def := testapp("stubborn", env("IGNORE_SIGTERM", "true"))
	def.StopTimeout = aws.Int32(2)
	td := register(t, cl.c, "stubborn", def)
	task := runTask(t, cl.c, td)
	arn := aws.ToString(task.TaskArn)
	running := waitStatus(t, cl.c, arn, "RUNNING", 30*time.Second)
	// Docker reports the container running before the app inside has
	// installed its SIGTERM handler; once it answers HTTP it has.
	port := hostPort(t, container(t, running, "stubborn"), 8080)
	waitFor(t, 10*time.Second, "the app to answer", func() bool {
		code, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		return err == nil && code == 200
	})
	start := time.Now()
	if _, err := cl.c.StopTask(context.Background(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	stopped := waitStopped(t, cl.c, arn, 30*time.Second)
	took := time.Since(start)
	if c := container(t, stopped, "stubborn"); aws.ToInt32(c.ExitCode) != 137 {
		t.Errorf("exit code = %d (%s); want 137 (SIGKILL)", aws.ToInt32(c.ExitCode), aws.ToString(c.Reason))
	}
	if took < 2*time.Second {
		t.Errorf("stopped after %s; the 2s stopTimeout was not honoured", took)
	}
}

// A task whose image exists nowhere stops with TaskFailedToStart and a
// CannotPullContainerError reason instead of hanging.
func TestMissingImageFailsToStart(t *testing.T) {
	cl := startCluster(t)
	td := register(t, cl.c, "ghost", types.ContainerDefinition{
		Name: aws.String("ghost"), Image: aws.String("wharf-no-such-image:latest"), Memory: aws.Int32(16),
	})
	task := runTask(t, cl.c, td)
	stopped := waitStopped(t, cl.c, aws.ToString(task.TaskArn), 60*time.Second)
	if stopped.StopCode != types.TaskStopCodeTaskFailedToStart {
		t.Errorf("stopCode = %s; want TaskFailedToStart", stopped.StopCode)
	}
	if r := aws.ToString(stopped.StoppedReason); len(r) < 24 || r[:24] != "CannotPullContainerError" {
		t.Errorf("stoppedReason = %q; want a CannotPullContainerError", r)
	}
}

func describeInstance(t *testing.T, cl *cluster) types.ContainerInstance {
	t.Helper()
	out, err := cl.c.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{
		ContainerInstances: []string{cl.agent.InstanceArn()},
	})
	if err != nil || len(out.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances: %v %+v", err, out)
	}
	return out.ContainerInstances[0]
}

func remaining(inst types.ContainerInstance, name string) int32 {
	for _, r := range inst.RemainingResources {
		if aws.ToString(r.Name) == name {
			return r.IntegerValue
		}
	}
	return -1
}
