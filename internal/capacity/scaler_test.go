package capacity_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/capacity"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

var storeAll = store.ListOptions{}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startScaling(t *testing.T, l capacity.Launcher, scaleIn, launchTimeout time.Duration) *ecstest.Server {
	t.Helper()
	return ecstest.StartWith(t, ecstest.Options{
		AgentTimeout: 5 * time.Second,
		ServiceTuning: servicectl.Tuning{Interval: 100 * time.Millisecond, HealthyAfter: 200 * time.Millisecond,
			BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond},
		Capacity: capacity.Options{Launcher: l, Tuning: capacity.Tuning{Interval: 100 * time.Millisecond,
			ScaleInAfter: scaleIn, LaunchTimeout: launchTimeout}},
	})
}

// provider creates a capacity provider with managed scaling and
// termination protection whose instances offer 1024 CPU units and MiB, and
// a cluster that uses it by default.
func provider(t *testing.T, c *ecs.Client, cluster, name string, minStep, maxStep int32) {
	t.Helper()
	ctx := context.Background()
	_, err := c.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String(name),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
			AutoScalingGroupArn: aws.String("asg-" + name),
			ManagedScaling: &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(100),
				MinimumScalingStepSize: aws.Int32(minStep), MaximumScalingStepSize: aws.Int32(maxStep), InstanceWarmupPeriod: aws.Int32(0)},
			ManagedTerminationProtection: types.ManagedTerminationProtectionEnabled,
		},
		Tags: []types.Tag{{Key: aws.String(capacity.TagInstanceCPU), Value: aws.String("1024")},
			{Key: aws.String(capacity.TagInstanceMemory), Value: aws.String("1024")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster), CapacityProviders: []string{name},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String(name), Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
}

func taskDef(t *testing.T, c *ecs.Client, family string, cpu, mem int32) {
	t.Helper()
	_, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"),
			Cpu: cpu, Memory: aws.Int32(mem), Essential: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
}

func instances(t *testing.T, c *ecs.Client, cluster string) []string {
	t.Helper()
	out, err := c.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	return out.ContainerInstanceArns
}

func service(t *testing.T, c *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	return out.Services[0]
}

// reading asks the admin operation for a provider's reading.
func reading(t *testing.T, s *ecstest.Server, cluster, provider string) state.CapacityScaling {
	t.Helper()
	c := agent.NewAPIClient(s.URL(), http.DefaultClient, ecstest.TestCredentials, "us-east-1")
	var out agentproto.DescribeCapacityScalingResponse
	if err := c.Call(context.Background(), agentproto.AdminTargetPrefix+"."+agentproto.DescribeCapacityScaling,
		agentproto.DescribeCapacityScalingRequest{Cluster: cluster}, &out); err != nil {
		t.Fatalf("DescribeCapacityScaling: %v", err)
	}
	for _, r := range out.Readings {
		if r.CapacityProvider == provider {
			return state.CapacityScaling{Cluster: cluster, Provider: provider, Reservation: r.CapacityProviderReservation,
				Needed: r.InstancesNeeded, Running: r.InstancesRunning, Desired: r.DesiredInstances, Provisioning: r.ProvisioningTasks}
		}
	}
	return state.CapacityScaling{}
}

// TestManagedScalingServiceScalesOutAndIn: a service on a provider with
// managed scaling and no instance makes the scaler launch as many instances
// as its tasks need (two tasks per instance), and after the service scales
// in, the idle instances go while the one running the last task stays.
func TestManagedScalingServiceScalesOutAndIn(t *testing.T) {
	l := &capacity.SimLauncher{}
	t.Cleanup(l.Close)
	s := startScaling(t, l, time.Second, 30*time.Second)
	ctx := context.Background()
	provider(t, s.Client, "c", "cp", 1, 10)
	taskDef(t, s.Client, "web", 512, 512)
	if _, err := s.Client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "5 tasks running", func() bool { return service(t, s.Client, "c", "web").RunningCount == 5 })
	if n := len(instances(t, s.Client, "c")); n != 3 || l.Running() != 3 {
		t.Fatalf("instances after scaling out: %d registered, %d launched; want 3", n, l.Running())
	}
	waitFor(t, 5*time.Second, "reservation 100", func() bool {
		r := reading(t, s, "c", "cp")
		return r.Reservation == 100 && r.Needed == 3 && r.Running == 3 && r.Provisioning == 0
	})

	// Scale in: the last task's instance is protected, the others go.
	if _, err := s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "one task", func() bool {
		sv := service(t, s.Client, "c", "web")
		return sv.RunningCount == 1 && sv.PendingCount == 0
	})
	tasks, err := s.Client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), DesiredStatus: types.DesiredStatusRunning})
	if err != nil || len(tasks.TaskArns) != 1 {
		t.Fatalf("ListTasks: %v %+v", err, tasks)
	}
	last := tasks.TaskArns[0]
	waitFor(t, 15*time.Second, "scale-in to one instance", func() bool { return l.Running() == 1 && len(instances(t, s.Client, "c")) == 1 })
	d, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{last}})
	if err != nil || aws.ToString(d.Tasks[0].LastStatus) != "RUNNING" {
		t.Fatalf("the last task after scale-in: %v %+v", err, d)
	}
	if got := instances(t, s.Client, "c")[0]; got != aws.ToString(d.Tasks[0].ContainerInstanceArn) {
		t.Errorf("the instance kept is %s; the task runs on %s", got, aws.ToString(d.Tasks[0].ContainerInstanceArn))
	}
	waitFor(t, 5*time.Second, "the reading after scale-in", func() bool {
		r := reading(t, s, "c", "cp")
		return r.Reservation == 100 && r.Running == 1 && r.Needed == 1
	})
	// To zero.
	if _, err := s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "no instance", func() bool { return l.Running() == 0 && len(instances(t, s.Client, "c")) == 0 })
}

// TestManagedScalingStepSizes: a RunTask of ten tasks that each need an
// instance of their own scales out by at most maximumScalingStepSize per
// round, and a single task by at least minimumScalingStepSize.
func TestManagedScalingStepSizes(t *testing.T) {
	l := &capacity.SimLauncher{}
	t.Cleanup(l.Close)
	s := startScaling(t, l, time.Hour, 30*time.Second)
	ctx := context.Background()
	provider(t, s.Client, "big", "steps", 1, 3)
	taskDef(t, s.Client, "whole", 1024, 1024)
	run, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("big"), TaskDefinition: aws.String("whole"), Count: aws.Int32(10)})
	if err != nil || len(run.Tasks) != 10 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	seen := 0
	waitFor(t, 30*time.Second, "ten instances", func() bool {
		n := l.Running()
		if n-seen > 3 {
			t.Fatalf("launched %d instances in one step; at most 3", n-seen)
		}
		seen = n
		return n == 10
	})
	waitFor(t, 20*time.Second, "all tasks running", func() bool {
		out, err := s.Client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("big"), DesiredStatus: types.DesiredStatusRunning})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("big"), Tasks: out.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, tk := range d.Tasks {
			if aws.ToString(tk.LastStatus) == "RUNNING" {
				running++
			}
		}
		return running == 10
	})

	// Minimum step: one small task with the pool full launches two.
	provider(t, s.Client, "min", "minstep", 2, 10)
	taskDef(t, s.Client, "small", 128, 128)
	if _, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("min"), TaskDefinition: aws.String("small")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "two instances for one task", func() bool { return len(instances(t, s.Client, "min")) == 2 })
	time.Sleep(500 * time.Millisecond)
	if n := len(instances(t, s.Client, "min")); n != 2 {
		t.Errorf("instances for one task with minimumScalingStepSize 2 = %d", n)
	}
}

// deadLauncher launches instances that never come up.
type deadLauncher struct {
	mu         sync.Mutex
	launched   int
	terminated []string
}

func (d *deadLauncher) Launch(_ context.Context, spec capacity.InstanceSpec) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.launched++
	return spec.Name, nil
}

func (d *deadLauncher) Terminate(_ context.Context, h string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.terminated = append(d.terminated, h)
	return nil
}

func (d *deadLauncher) counts() (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.launched, len(d.terminated)
}

// TestManagedScalingReplacesLaunchesThatNeverRegister: a launch whose agent
// does not register within the launch timeout is terminated, its join
// token deleted, and another launched; meanwhile the metric reads 200.
func TestManagedScalingReplacesLaunchesThatNeverRegister(t *testing.T) {
	d := &deadLauncher{}
	s := startScaling(t, d, time.Hour, 500*time.Millisecond)
	ctx := context.Background()
	provider(t, s.Client, "c", "ghost", 1, 10)
	taskDef(t, s.Client, "web", 128, 128)
	if _, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a launch replaced", func() bool {
		launched, terminated := d.counts()
		return launched >= 2 && terminated >= 1
	})
	r := reading(t, s, "c", "ghost")
	if r.Provisioning != 1 || r.Needed < 1 {
		t.Errorf("reading while nothing registers = %+v", r)
	}
	tokens, _, err := state.List[state.JoinToken](ctx, s.Store(), state.JoinTokensPrefix, storeAll)
	if err != nil {
		t.Fatal(err)
	}
	if launched, terminated := d.counts(); len(tokens) != launched-terminated {
		t.Errorf("%d join tokens left for %d launches and %d terminations", len(tokens), launched, terminated)
	}
}
