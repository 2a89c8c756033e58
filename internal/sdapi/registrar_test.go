package sdapi_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/miekg/dns"

	"github.com/wharf-ecs/wharf/internal/agent"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
	"github.com/wharf-ecs/wharf/internal/sdapi"
)

// startCluster runs a test server and n agents on simulated hosts, host i
// announcing the address 10.9.0.i through the wharf.host-ip attribute.
func startCluster(t *testing.T, n int, healthDelay time.Duration) *env {
	t.Helper()
	srv := ecstest.StartWith(t, ecstest.Options{AgentTimeout: 3 * time.Second, ServiceTuning: servicectl.Tuning{
		Interval: 100 * time.Millisecond, HealthyAfter: 300 * time.Millisecond,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	}})
	for i := 1; i <= n; i++ {
		ag, err := agent.New(agent.Config{
			Endpoint: srv.URL(), Credentials: ecstest.TestCredentials, Cluster: "default", DataDir: t.TempDir(),
			CPU: 1024, MemoryMiB: 1024, Zone: fmt.Sprintf("zone-%d", i),
			Attributes: map[string]string{sdapi.HostIPAttribute: fmt.Sprintf("10.9.0.%d", i)},
			Runtime:    sim.New(sim.Options{StartDelay: 20 * time.Millisecond, HealthDelay: healthDelay}),
			PollWait:   time.Second, ResyncInterval: 50 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = ag.Run(ctx); close(done) }()
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { cancel(); <-done }) })
		waitFor(t, 10*time.Second, "agent registered", func() bool { return ag.InstanceArn() != "" })
	}
	return &env{srv: srv, sd: newSD(srv.URL()), ctx: context.Background()}
}

func (e *env) taskDef(t *testing.T, family string, health bool, env map[string]string) {
	t.Helper()
	def := ecstypes.ContainerDefinition{Name: aws.String("web"), Image: aws.String("wharf-testapp:latest"), Essential: aws.Bool(true),
		Memory: aws.Int32(64), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}
	if health {
		def.HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(5)}
	}
	for k, v := range env {
		def.Environment = append(def.Environment, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	if _, err := e.srv.Client.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: []ecstypes.ContainerDefinition{def}}); err != nil {
		t.Fatal(err)
	}
}

// endpoint is where a running task is reached: its ID, its host's address
// and the host port bound to container port 8080.
type endpoint struct{ id, ip, port string }

// runningEndpoints lists the service's RUNNING tasks from ECS, sorted.
func (e *env) runningEndpoints(t *testing.T, service string) []endpoint {
	t.Helper()
	arns := must[*ecs.ListTasksOutput](t, "ListTasks")(e.srv.Client.ListTasks(e.ctx, &ecs.ListTasksInput{ServiceName: aws.String(service), DesiredStatus: ecstypes.DesiredStatusRunning}))
	if len(arns.TaskArns) == 0 {
		return nil
	}
	tasks := must[*ecs.DescribeTasksOutput](t, "DescribeTasks")(e.srv.Client.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Tasks: arns.TaskArns}))
	ips := map[string]string{}
	cis := must[*ecs.ListContainerInstancesOutput](t, "ListContainerInstances")(e.srv.Client.ListContainerInstances(e.ctx, &ecs.ListContainerInstancesInput{}))
	desc := must[*ecs.DescribeContainerInstancesOutput](t, "DescribeContainerInstances")(e.srv.Client.DescribeContainerInstances(e.ctx,
		&ecs.DescribeContainerInstancesInput{ContainerInstances: cis.ContainerInstanceArns}))
	for _, ci := range desc.ContainerInstances {
		for _, a := range ci.Attributes {
			if aws.ToString(a.Name) == sdapi.HostIPAttribute {
				ips[aws.ToString(ci.ContainerInstanceArn)] = aws.ToString(a.Value)
			}
		}
	}
	var out []endpoint
	for _, task := range tasks.Tasks {
		if aws.ToString(task.LastStatus) != "RUNNING" || len(task.Containers) == 0 || len(task.Containers[0].NetworkBindings) == 0 {
			continue
		}
		arn := aws.ToString(task.TaskArn)
		out = append(out, endpoint{id: arn[strings.LastIndexByte(arn, '/')+1:], ip: ips[aws.ToString(task.ContainerInstanceArn)],
			port: strconv.Itoa(int(aws.ToInt32(task.Containers[0].NetworkBindings[0].HostPort)))})
	}
	slices.SortFunc(out, func(a, b endpoint) int { return strings.Compare(a.id, b.id) })
	return out
}

// discovered lists what DiscoverInstances answers, sorted, the same way.
func (e *env) discovered(t *testing.T, ns, svc string) []endpoint {
	t.Helper()
	out := must[*servicediscovery.DiscoverInstancesOutput](t, "DiscoverInstances")(e.sd.DiscoverInstances(e.ctx,
		&servicediscovery.DiscoverInstancesInput{NamespaceName: aws.String(ns), ServiceName: aws.String(svc), HealthStatus: sdtypes.HealthStatusFilterAll}))
	var eps []endpoint
	for _, i := range out.Instances {
		eps = append(eps, endpoint{id: aws.ToString(i.InstanceId), ip: i.Attributes["AWS_INSTANCE_IPV4"], port: i.Attributes["AWS_INSTANCE_PORT"]})
	}
	slices.SortFunc(eps, func(a, b endpoint) int { return strings.Compare(a.id, b.id) })
	return eps
}

// dnsEndpoints reads the SRV answer and its additional A records.
func dnsEndpoints(t *testing.T, addr, name string) []endpoint {
	t.Helper()
	r := query(t, addr, name, dns.TypeSRV, "udp")
	a := map[string]string{}
	for _, rr := range r.Extra {
		if x, ok := rr.(*dns.A); ok {
			a[x.Hdr.Name] = x.A.String()
		}
	}
	var eps []endpoint
	for _, rr := range r.Answer {
		s := rr.(*dns.SRV)
		id, _, _ := strings.Cut(s.Target, ".")
		eps = append(eps, endpoint{id: id, ip: a[s.Target], port: strconv.Itoa(int(s.Port))})
	}
	slices.SortFunc(eps, func(a, b endpoint) int { return strings.Compare(a.id, b.id) })
	return eps
}

func (e *env) setDesired(t *testing.T, service string, n int32) {
	t.Helper()
	must[*ecs.UpdateServiceOutput](t, "UpdateService")(e.srv.Client.UpdateService(e.ctx, &ecs.UpdateServiceInput{Service: aws.String(service), DesiredCount: aws.Int32(n)}))
}

// converged waits until ECS runs want tasks and both DiscoverInstances and
// DNS list exactly them, at their hosts' addresses and bound ports.
func (e *env) converged(t *testing.T, dnsAddr, service string, want int) []endpoint {
	t.Helper()
	var running, disc, viaDNS []endpoint
	deadline := time.Now().Add(20 * time.Second)
	for {
		running = e.runningEndpoints(t, service)
		disc = e.discovered(t, "app.local", "web")
		viaDNS = dnsEndpoints(t, dnsAddr, "web.app.local")
		if len(running) == want && slices.Equal(running, disc) && slices.Equal(running, viaDNS) {
			return running
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged on %d tasks:\nECS running %v\nDiscoverInstances %v\nDNS %v", want, running, disc, viaDNS)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServiceRegistriesFollowTasks(t *testing.T) {
	e := startCluster(t, 3, 0)
	dnsAddr := e.startDNS(t)
	nsID := e.privateNamespace(t, "app.local")
	cm := e.dnsService(t, nsID, "web", "", false)
	e.taskDef(t, "web", false, nil)
	reg := []ecstypes.ServiceRegistry{{RegistryArn: cm.Arn, ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}

	// CreateService checks the registry against Cloud Map and the task
	// definition.
	bad := []struct {
		name string
		reg  ecstypes.ServiceRegistry
		want string
	}{
		{"unknown registry", ecstypes.ServiceRegistry{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:123456789012:service/srv-0000000000000000"),
			ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}, "names no Cloud Map service"},
		{"not an arn", ecstypes.ServiceRegistry{RegistryArn: aws.String("web")}, "not a Cloud Map service ARN"},
		{"unmapped port", ecstypes.ServiceRegistry{RegistryArn: cm.Arn, ContainerName: aws.String("web"), ContainerPort: aws.Int32(9999)}, "containerPort 9999"},
		{"unknown container", ecstypes.ServiceRegistry{RegistryArn: cm.Arn, ContainerName: aws.String("db"), ContainerPort: aws.Int32(8080)}, "containerName db"},
		{"srv without port", ecstypes.ServiceRegistry{RegistryArn: cm.Arn}, "SRV record"},
		{"awsvpc port", ecstypes.ServiceRegistry{RegistryArn: cm.Arn, Port: aws.Int32(80)}, "awsvpc"},
	}
	for _, b := range bad {
		_, err := e.srv.Client.CreateService(e.ctx, &ecs.CreateServiceInput{ServiceName: aws.String("bad"), TaskDefinition: aws.String("web"),
			DesiredCount: aws.Int32(1), ServiceRegistries: []ecstypes.ServiceRegistry{b.reg}})
		wantErr(t, b.name, err, "InvalidParameterException", b.want)
	}

	svc := must[*ecs.CreateServiceOutput](t, "CreateService")(e.srv.Client.CreateService(e.ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2), ServiceRegistries: reg}))
	if len(svc.Service.ServiceRegistries) != 1 || aws.ToString(svc.Service.ServiceRegistries[0].RegistryArn) != aws.ToString(cm.Arn) {
		t.Fatalf("service registries = %+v", svc.Service.ServiceRegistries)
	}
	eps := e.converged(t, dnsAddr, "web", 2)
	for _, ep := range eps {
		if !strings.HasPrefix(ep.ip, "10.9.0.") || ep.port == "0" {
			t.Fatalf("endpoint %+v: want a host address 10.9.0.x and a bound port", ep)
		}
	}
	got := must[*servicediscovery.GetInstanceOutput](t, "GetInstance")(e.sd.GetInstance(e.ctx, &servicediscovery.GetInstanceInput{
		ServiceId: cm.Id, InstanceId: aws.String(eps[0].id)}))
	for k, v := range map[string]string{"ECS_CLUSTER_NAME": "default", "ECS_SERVICE_NAME": "web", "ECS_TASK_DEFINITION_FAMILY": "web", "REGION": "us-east-1"} {
		if got.Instance.Attributes[k] != v {
			t.Fatalf("attributes = %v; want %s=%s", got.Instance.Attributes, k, v)
		}
	}
	if !strings.HasPrefix(got.Instance.Attributes["AVAILABILITY_ZONE"], "zone-") {
		t.Fatalf("attributes = %v; want the task's AVAILABILITY_ZONE", got.Instance.Attributes)
	}

	// Scale up and down: instances come and go with the tasks.
	e.setDesired(t, "web", 4)
	e.converged(t, dnsAddr, "web", 4)
	e.setDesired(t, "web", 1)
	eps = e.converged(t, dnsAddr, "web", 1)

	// A stopped task leaves at once; its replacement comes in.
	arn := "arn:aws:ecs:us-east-1:123456789012:task/default/" + eps[0].id
	must[*ecs.StopTaskOutput](t, "StopTask")(e.srv.Client.StopTask(e.ctx, &ecs.StopTaskInput{Task: aws.String(arn)}))
	waitFor(t, 10*time.Second, "the stopped task to leave", func() bool {
		return !slices.ContainsFunc(e.discovered(t, "app.local", "web"), func(x endpoint) bool { return x.id == eps[0].id })
	})
	after := e.converged(t, dnsAddr, "web", 1)
	if after[0].id == eps[0].id {
		t.Fatalf("the stopped task %s is still registered", eps[0].id)
	}

	// Deleting the service stops its tasks and empties the registry; the
	// Cloud Map service can then go.
	must[*ecs.DeleteServiceOutput](t, "DeleteService")(e.srv.Client.DeleteService(e.ctx, &ecs.DeleteServiceInput{Service: aws.String("web"), Force: aws.Bool(true)}))
	waitFor(t, 10*time.Second, "no instances", func() bool { return len(e.discovered(t, "app.local", "web")) == 0 })
	wantRcode(t, "DNS after delete", query(t, dnsAddr, "web.app.local", dns.TypeA, "udp"), dns.RcodeNameError)
	must[*servicediscovery.DeleteServiceOutput](t, "DeleteService")(e.sd.DeleteService(e.ctx, &servicediscovery.DeleteServiceInput{Id: cm.Id}))
}

func TestServiceRegistriesHealth(t *testing.T) {
	e := startCluster(t, 2, 300*time.Millisecond)
	nsID := e.privateNamespace(t, "app.local")
	custom := e.dnsService(t, nsID, "custom", "", true)
	plain := e.dnsService(t, nsID, "plain", "", false)
	e.taskDef(t, "healthy", true, nil)
	e.taskDef(t, "sick", true, map[string]string{sim.EnvHealth: "UNHEALTHY"})
	create := func(name, td string, cm *sdtypes.Service) {
		must[*ecs.CreateServiceOutput](t, "CreateService "+name)(e.srv.Client.CreateService(e.ctx, &ecs.CreateServiceInput{
			ServiceName: aws.String(name), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1),
			ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: cm.Arn, ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}}))
	}
	// A service with a custom health check gets its tasks as soon as they
	// run, with the tasks' health: HEALTHY once the container's check says so.
	create("custom", "healthy", custom)
	waitFor(t, 15*time.Second, "a HEALTHY instance", func() bool {
		out := must[*servicediscovery.DiscoverInstancesOutput](t, "discover")(e.sd.DiscoverInstances(e.ctx, &servicediscovery.DiscoverInstancesInput{
			NamespaceName: aws.String("app.local"), ServiceName: aws.String("custom")}))
		return len(out.Instances) == 1 && out.Instances[0].HealthStatus == sdtypes.HealthStatusHealthy
	})
	// Without one, a task whose health check fails is never registered
	// (ECS replaces it meanwhile).
	create("sick", "sick", plain)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if got := e.discovered(t, "app.local", "plain"); len(got) != 0 {
			t.Fatalf("an unhealthy task was registered: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	arns := must[*ecs.ListTasksOutput](t, "ListTasks")(e.srv.Client.ListTasks(e.ctx, &ecs.ListTasksInput{ServiceName: aws.String("sick"), DesiredStatus: ecstypes.DesiredStatusStopped}))
	if len(arns.TaskArns) == 0 {
		t.Fatal("the sick service's tasks were never found unhealthy and stopped; the test proves nothing")
	}
}

// TestServiceRegistriesUpdate removes a service's registry and gives it back
// with UpdateService: the tasks leave the name and come back.
func TestServiceRegistriesUpdate(t *testing.T) {
	e := startCluster(t, 1, 0)
	dnsAddr := e.startDNS(t)
	nsID := e.privateNamespace(t, "app.local")
	cm := e.dnsService(t, nsID, "web", "", false)
	e.taskDef(t, "web", false, nil)
	reg := []ecstypes.ServiceRegistry{{RegistryArn: cm.Arn, ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}
	must[*ecs.CreateServiceOutput](t, "CreateService")(e.srv.Client.CreateService(e.ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2), ServiceRegistries: reg}))
	e.converged(t, dnsAddr, "web", 2)

	out := must[*ecs.UpdateServiceOutput](t, "UpdateService")(e.srv.Client.UpdateService(e.ctx, &ecs.UpdateServiceInput{
		Service: aws.String("web"), ServiceRegistries: []ecstypes.ServiceRegistry{}}))
	if len(out.Service.ServiceRegistries) != 0 {
		t.Fatalf("registries after removal = %+v", out.Service.ServiceRegistries)
	}
	waitFor(t, 10*time.Second, "the tasks to leave", func() bool { return len(e.discovered(t, "app.local", "web")) == 0 })
	if n := len(e.runningEndpoints(t, "web")); n != 2 {
		t.Fatalf("%d tasks running after the registry went; want the 2 still running", n)
	}

	_, err := e.srv.Client.UpdateService(e.ctx, &ecs.UpdateServiceInput{Service: aws.String("web"),
		ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: cm.Arn, ContainerName: aws.String("web"), ContainerPort: aws.Int32(1)}}})
	wantErr(t, "unmapped port", err, "InvalidParameterException", "containerPort 1")
	must[*ecs.UpdateServiceOutput](t, "UpdateService")(e.srv.Client.UpdateService(e.ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), ServiceRegistries: reg}))
	e.converged(t, dnsAddr, "web", 2)
}
