package server_test

import (
	"context"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/runtime/docker/dockertest"
)

// lbDocker is a server and one agent on the real Docker Engine, with an
// application load balancer in front of a service of wharf-testapp tasks.
type lbDocker struct {
	srv   *ecstest.Server
	ecs   *ecs.Client
	elb   *elb.Client
	tgArn string
	url   string // the listener
	rt    *docker.Runtime
}

func startLBDocker(t *testing.T) *lbDocker {
	t.Helper()
	rt := dockertest.Require(t, docker.Options{PullStallTimeout: 5 * time.Second}, "wharf-testapp:latest")
	srv := ecstest.StartWith(t, ecstest.Options{ServiceTuning: servicectl.Tuning{Interval: 200 * time.Millisecond, BackoffBase: 200 * time.Millisecond}})
	ag, err := agent.New(agent.Config{Endpoint: srv.URL(), Credentials: ecstest.TestCredentials, Cluster: "default",
		DataDir: t.TempDir(), CPU: 4096, MemoryMiB: 4096, Runtime: rt, PollWait: 5 * time.Second, ResyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(actx) }()
	t.Cleanup(func() {
		acancel()
		<-done
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		states, _ := rt.List(cctx, map[string]string{"org.wharf-ecs.container-instance-arn": ag.InstanceArn()})
		for _, st := range states {
			_ = rt.Remove(cctx, st.ID)
		}
	})
	lbWait(t, 10*time.Second, "the agent registered", func() bool { return ag.InstanceArn() != "" })

	// The control plane calls of this test retry as the SDK does by default:
	// rarely (2 runs in 8 on a loaded machine) a DescribeServices answer's
	// body failed to read with "use of closed network connection" on the
	// client's side, in neither the load balancer's path nor its API.
	retrying := func(o *ecs.Options) { o.RetryMaxAttempts = 3 }
	e := &lbDocker{srv: srv, ecs: ecs.New(srv.Client.Options(), retrying), rt: rt,
		elb: elb.New(elbClient(srv.URL(), ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey).Options(), func(o *elb.Options) { o.RetryMaxAttempts = 3 })}
	bg := context.Background()
	lbOut, err := e.elb.CreateLoadBalancer(bg, &elb.CreateLoadBalancerInput{Name: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	tgOut, err := e.elb.CreateTargetGroup(bg, &elb.CreateTargetGroupInput{Name: aws.String("web"), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(8080), HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5),
		HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	e.tgArn = aws.ToString(tgOut.TargetGroups[0].TargetGroupArn)
	if _, err := e.elb.ModifyTargetGroupAttributes(bg, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(e.tgArn),
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	port := lbFreePort(t)
	if _, err := e.elb.CreateListener(bg, &elb.CreateListenerInput{LoadBalancerArn: lbOut.LoadBalancers[0].LoadBalancerArn,
		Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(e.tgArn)}}}); err != nil {
		t.Fatal(err)
	}
	e.url = "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"
	return e
}

// taskDef registers wharf-testapp on container port 8080 with a dynamic host
// port; version distinguishes revisions.
func (e *lbDocker) taskDef(t *testing.T, version string) string {
	t.Helper()
	out, err := e.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"),
			Essential: aws.Bool(true), Memory: aws.Int32(64), StopTimeout: aws.Int32(5),
			Environment:  []ecstypes.KeyValuePair{{Name: aws.String("VERSION"), Value: aws.String(version)}},
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// healthyTargets counts the target group's healthy targets.
func (e *lbDocker) healthyTargets(t *testing.T) int {
	t.Helper()
	out, err := e.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(e.tgArn)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth.State == types.TargetHealthStateEnumHealthy {
			n++
		}
	}
	return n
}

func (e *lbDocker) service(t *testing.T) ecstypes.Service {
	t.Helper()
	out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	return out.Services[0]
}

// load sends GETs through the load balancer from several clients with
// keep-alive until stop, counting answers and failures.
type load struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	firstErrs    []string
	stop         chan struct{}
	wg           sync.WaitGroup
}

func startLoad(url string, clients int) *load {
	l := &load{stop: make(chan struct{})}
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				code, body, err := func() (int, string, error) {
					resp, err := hc.Get(url)
					if err != nil {
						return 0, "", err
					}
					defer resp.Body.Close()
					b := make([]byte, 512)
					n, _ := resp.Body.Read(b)
					return resp.StatusCode, string(b[:n]), nil
				}()
				l.sent.Add(1)
				if err != nil || code != http.StatusOK || !strings.HasPrefix(body, "hostname: ") {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.firstErrs) < 5 {
						l.firstErrs = append(l.firstErrs, strconv.Itoa(code)+" "+strings.TrimSpace(body)+" "+errString(err))
					}
					l.mu.Unlock()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return l
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

// A service of three wharf-testapp tasks behind an application load
// balancer: requests go round robin to the three tasks; a rolling
// deployment to a new revision loses none of thousands of requests; a task
// whose container is killed is replaced, and the requests in flight on it
// are all that may fail.
func TestServiceBehindLoadBalancerOnDocker(t *testing.T) {
	e := startLBDocker(t)
	ctx := context.Background()
	v1 := e.taskDef(t, "1")
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(v1),
		DesiredCount: aws.Int32(3), HealthCheckGracePeriodSeconds: aws.Int32(10),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(200)},
		LoadBalancers:           []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(e.tgArn), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}},
	}); err != nil {
		t.Fatal(err)
	}
	lbWait(t, 90*time.Second, "three healthy targets and a steady service", func() bool {
		s := e.service(t)
		return e.healthyTargets(t) == 3 && len(s.Deployments) == 1 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	})

	// Round robin: 30 requests, ten to each task (testapp answers with
	// its container's hostname).
	counts := map[string]int{}
	for range 30 {
		code, body, err := lbGet(e.url)
		if err != nil || code != 200 {
			t.Fatalf("GET through the load balancer = %d %q %v", code, body, err)
		}
		host := strings.TrimPrefix(strings.SplitN(body, "\n", 2)[0], "hostname: ")
		counts[host]++
	}
	if len(counts) != 3 {
		t.Fatalf("30 requests reached %d tasks (%v); want 3", len(counts), counts)
	}
	for host, n := range counts {
		if n != 10 {
			t.Errorf("task %s answered %d of 30 requests; want 10 (round robin)", host, n)
		}
	}

	// A rolling deployment under load: no request fails.
	l := startLoad(e.url, 4)
	v2 := e.taskDef(t, "2")
	if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	sawDeactivating := false
	lbWait(t, 3*time.Minute, "the deployment of revision 2 completed with at least 2000 requests sent", func() bool {
		if !sawDeactivating {
			// Draining tasks are listed with the stopped ones: their
			// desiredStatus is STOPPED.
			out, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web"), DesiredStatus: ecstypes.DesiredStatusStopped})
			if err == nil && len(out.TaskArns) > 0 {
				d, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: out.TaskArns})
				if err == nil {
					for _, task := range d.Tasks {
						if aws.ToString(task.LastStatus) == "DEACTIVATING" && aws.ToString(task.DesiredStatus) == "STOPPED" {
							sawDeactivating = true
						}
					}
				}
			}
		}
		s := e.service(t)
		return len(s.Deployments) == 1 && aws.ToString(s.Deployments[0].TaskDefinition) == v2 &&
			s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted && s.RunningCount == 3 && l.sent.Load() >= 2000
	})
	l.finish()
	t.Logf("rolling deployment: %d requests, %d failed", l.sent.Load(), l.failed.Load())
	if l.failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the rolling deployment; want none (first: %q)", l.failed.Load(), l.sent.Load(), l.firstErrs)
	}
	if !sawDeactivating {
		t.Error("no old task was seen DEACTIVATING (draining) during the deployment")
	}
	if e.healthyTargets(t) != 3 {
		t.Errorf("after the deployment %d targets are healthy; want 3", e.healthyTargets(t))
	}
	events := e.service(t).Events
	var msgs []string
	for _, ev := range events {
		msgs = append(msgs, aws.ToString(ev.Message))
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"registered 1 targets in (target-group " + e.tgArn + ")", "deregistered 1 targets in (target-group " + e.tgArn + ")",
		"has begun draining connections on 1 tasks."} {
		if !strings.Contains(joined, want) {
			t.Errorf("service events lack %q:\n%s", want, joined)
		}
	}
	code, body, err := lbGet(strings.TrimSuffix(e.url, "/") + "/env/VERSION")
	if err != nil || code != 200 || body != "2" {
		t.Errorf("GET /env/VERSION after the deployment = %d %q %v; want 2", code, body, err)
	}

	// A task's container killed: requests in flight on it may fail; the
	// proxy passes over the dead target at once, the health checks remove
	// it, and the service replaces it.
	out, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web"), DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil || len(out.TaskArns) != 3 {
		t.Fatalf("ListTasks = %v %v", out, err)
	}
	d, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: out.TaskArns[:1]})
	if err != nil {
		t.Fatal(err)
	}
	victim := aws.ToString(d.Tasks[0].Containers[0].RuntimeId)
	const clients = 4
	l = startLoad(e.url, clients)
	time.Sleep(time.Second)
	if b, err := exec.Command("docker", "kill", victim).CombinedOutput(); err != nil {
		t.Fatalf("docker kill %s: %v %s", victim, err, b)
	}
	lbWait(t, 90*time.Second, "the killed task replaced and three targets healthy again", func() bool {
		s := e.service(t)
		return s.RunningCount == 3 && e.healthyTargets(t) == 3 && l.sent.Load() >= 2000
	})
	l.finish()
	t.Logf("task crash: %d requests, %d failed", l.sent.Load(), l.failed.Load())
	// Each client has at most one request in flight when the container
	// dies; idempotent requests that find the target gone are retried on
	// another, so in practice none fails.
	if l.failed.Load() > clients {
		t.Errorf("%d of %d requests failed after a task crash; want at most %d (those in flight on it): %q", l.failed.Load(), l.sent.Load(), clients, l.firstErrs)
	}

	// A task whose health checks fail (testapp's /fail) is replaced, with
	// ECS's reason.
	if code, body, err := lbGet(strings.TrimSuffix(e.url, "/") + "/fail"); err != nil || code != 200 {
		t.Fatalf("GET /fail = %d %q %v", code, body, err)
	}
	var replaced ecstypes.Task
	lbWait(t, 90*time.Second, "the unhealthy task replaced", func() bool {
		out, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web"), DesiredStatus: ecstypes.DesiredStatusStopped})
		if err != nil || len(out.TaskArns) == 0 {
			return false
		}
		d, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: out.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range d.Tasks {
			if strings.HasPrefix(aws.ToString(task.StoppedReason), "Task failed ELB health checks in (target-group "+e.tgArn+")") {
				replaced = task
				return e.service(t).RunningCount == 3 && e.healthyTargets(t) == 3
			}
		}
		return false
	})
	if replaced.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated {
		t.Errorf("the unhealthy task's stopCode = %s; want ServiceSchedulerInitiated", replaced.StopCode)
	}
	found := false
	for _, ev := range e.service(t).Events {
		if strings.Contains(aws.ToString(ev.Message), "is unhealthy in (target-group "+e.tgArn+") due to (reason Health checks failed with these codes: [500])") {
			found = true
		}
	}
	if !found {
		t.Error("no service event says the task was unhealthy in the target group")
	}
}
