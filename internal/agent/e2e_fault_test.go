package agent_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// flakyRuntime answers every call with ErrUnavailable while down is set, as
// the Docker runtime does when the daemon cannot be reached.
type flakyRuntime struct {
	runtime.Runtime
	down atomic.Bool
}

func (f *flakyRuntime) err() error {
	if f.down.Load() {
		return fmt.Errorf("cannot reach the Docker daemon: %w", runtime.ErrUnavailable)
	}
	return nil
}

func (f *flakyRuntime) Inspect(ctx context.Context, id string) (runtime.ContainerState, error) {
	if err := f.err(); err != nil {
		return runtime.ContainerState{}, err
	}
	return f.Runtime.Inspect(ctx, id)
}

func (f *flakyRuntime) List(ctx context.Context, labels map[string]string) ([]runtime.ContainerState, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Runtime.List(ctx, labels)
}

func (f *flakyRuntime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	if err := f.err(); err != nil {
		return "", err
	}
	return f.Runtime.Create(ctx, spec)
}

func (f *flakyRuntime) Start(ctx context.Context, id string) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Runtime.Start(ctx, id)
}

func (f *flakyRuntime) Watch(ctx context.Context, since time.Time, labels map[string]string, fn func(runtime.Event)) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Runtime.Watch(ctx, since, labels, fn)
}

// While the runtime is unreachable the agent reports nothing it does not know:
// a container killed meanwhile is reported, with its exit code, only once the
// runtime answers again.
func TestRuntimeOutageReportsTruthAfterwards(t *testing.T) {
	var flaky *flakyRuntime
	cl := startClusterOn(t, time.Hour, func(rt runtime.Runtime) runtime.Runtime {
		flaky = &flakyRuntime{Runtime: rt}
		return flaky
	})
	td := register(t, cl.c, "outage", testapp("web", env("IGNORE_SIGTERM", "true")))
	task := runTask(t, cl.c, td)
	arn := aws.ToString(task.TaskArn)
	waitStatus(t, cl.c, arn, "RUNNING", 30*time.Second)

	flaky.down.Store(true)
	rt := dockerRuntime(t)
	states, err := rt.List(context.Background(), map[string]string{"com.amazonaws.ecs.task-arn": arn})
	if err != nil || len(states) != 1 {
		t.Fatalf("list task containers: %v %+v", err, states)
	}
	if err := rt.Stop(context.Background(), states[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // several resync rounds with the runtime down
	if got := aws.ToString(describe(t, cl.c, arn).LastStatus); got != "RUNNING" {
		t.Fatalf("task = %s while the runtime was unreachable; want it left RUNNING until the agent can see", got)
	}

	flaky.down.Store(false)
	stopped := waitStopped(t, cl.c, arn, 20*time.Second)
	if stopped.StopCode != "EssentialContainerExited" {
		t.Errorf("stopCode = %s; want EssentialContainerExited", stopped.StopCode)
	}
	if c := container(t, stopped, "web"); c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("exit code = %d; want 137 (killed)", aws.ToInt32(c.ExitCode))
	}
}
