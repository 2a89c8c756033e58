package ecsapi_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// API tests of services: what CreateService, UpdateService, DeleteService,
// DescribeServices and ListServices answer and store. The controller's work
// (tasks) is tested in service_ctl_test.go.

// svTD registers a one-container task definition and returns its ARN.
func svTD(t testing.TB, c *ecs.Client, family, image string, mutate ...func(*types.ContainerDefinition)) string {
	t.Helper()
	def := types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true), Memory: aws.Int32(64), Cpu: 128}
	for _, m := range mutate {
		m(&def)
	}
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: []types.ContainerDefinition{def},
		Tags: []types.Tag{{Key: aws.String("from"), Value: aws.String("taskdef")}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// svStart runs a test server with the default cluster created.
func svStart(t testing.TB) *ecstest.Server {
	t.Helper()
	s := ecstest.Start(t)
	if _, err := s.Client.CreateCluster(context.Background(), &ecs.CreateClusterInput{}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	return s
}

func svCreate(t testing.TB, c *ecs.Client, in *ecs.CreateServiceInput) types.Service {
	t.Helper()
	out, err := c.CreateService(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateService %s: %v", aws.ToString(in.ServiceName), err)
	}
	return *out.Service
}

func svDescribe(t testing.TB, c *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(cluster), Services: []string{name}, Include: []types.ServiceField{types.ServiceFieldTags},
	})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}

var deploymentIDPattern = regexp.MustCompile(`^ecs-svc/[1-9][0-9]{18}$`)

func TestCreateServiceDefaults(t *testing.T) {
	s := svStart(t)
	ctx := context.Background()
	td := svTD(t, s.Client, "web", "busybox")
	svc := svCreate(t, s.Client, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if got, want := aws.ToString(svc.ServiceArn), "arn:aws:ecs:us-east-1:123456789012:service/default/web"; got != want {
		t.Errorf("serviceArn = %s; want %s", got, want)
	}
	if aws.ToString(svc.Status) != "ACTIVE" || aws.ToString(svc.TaskDefinition) != td || svc.LaunchType != types.LaunchTypeEc2 ||
		svc.SchedulingStrategy != types.SchedulingStrategyReplica || svc.DeploymentController.Type != types.DeploymentControllerTypeEcs {
		t.Errorf("service = status %s td %s launchType %s strategy %s controller %s", aws.ToString(svc.Status), aws.ToString(svc.TaskDefinition),
			svc.LaunchType, svc.SchedulingStrategy, svc.DeploymentController.Type)
	}
	dc := svc.DeploymentConfiguration
	if aws.ToInt32(dc.MinimumHealthyPercent) != 100 || aws.ToInt32(dc.MaximumPercent) != 200 ||
		dc.DeploymentCircuitBreaker.Enable || dc.DeploymentCircuitBreaker.Rollback {
		t.Errorf("deploymentConfiguration = %+v; want 100/200 with the circuit breaker off", dc)
	}
	wantPS := []types.PlacementStrategy{
		{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")},
		{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")},
	}
	if fmt.Sprint(psString(svc.PlacementStrategy)) != fmt.Sprint(psString(wantPS)) {
		t.Errorf("placementStrategy = %v; want %v", psString(svc.PlacementStrategy), psString(wantPS))
	}
	if len(svc.Deployments) != 1 {
		t.Fatalf("deployments = %d; want 1", len(svc.Deployments))
	}
	d := svc.Deployments[0]
	if !deploymentIDPattern.MatchString(aws.ToString(d.Id)) || aws.ToString(d.Status) != "PRIMARY" ||
		d.RolloutState != types.DeploymentRolloutStateInProgress || aws.ToString(d.TaskDefinition) != td {
		t.Errorf("deployment = id %s status %s rollout %s td %s", aws.ToString(d.Id), aws.ToString(d.Status), d.RolloutState, aws.ToString(d.TaskDefinition))
	}
	if want := "ECS deployment " + aws.ToString(d.Id) + " in progress."; aws.ToString(d.RolloutStateReason) != want {
		t.Errorf("rolloutStateReason = %q; want %q", aws.ToString(d.RolloutStateReason), want)
	}
	if len(svc.Tags) != 1 {
		t.Errorf("CreateService answered tags %v; want the one given", svc.Tags)
	}

	// DAEMON: ECS's daemon defaults, no placement strategy, no desired count.
	dsvc := svCreate(t, s.Client, &ecs.CreateServiceInput{
		ServiceName: aws.String("agent"), TaskDefinition: aws.String(td), SchedulingStrategy: types.SchedulingStrategyDaemon,
	})
	if aws.ToInt32(dsvc.DeploymentConfiguration.MinimumHealthyPercent) != 0 || aws.ToInt32(dsvc.DeploymentConfiguration.MaximumPercent) != 100 || len(dsvc.PlacementStrategy) != 0 {
		t.Errorf("DAEMON deploymentConfiguration %+v placementStrategy %v; want 0/100 and none", dsvc.DeploymentConfiguration, dsvc.PlacementStrategy)
	}

	// Without include TAGS, DescribeServices leaves the tags out.
	out, err := s.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 || len(out.Services[0].Tags) != 0 {
		t.Fatalf("DescribeServices without include: %v %+v", err, out)
	}
}

func psString(ps []types.PlacementStrategy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(p.Type)+":"+aws.ToString(p.Field))
	}
	return out
}

func TestCreateServiceRejectsBadInput(t *testing.T) {
	s := svStart(t)
	ctx := context.Background()
	svTD(t, s.Client, "web", "busybox")
	ok := func() *ecs.CreateServiceInput {
		return &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)}
	}
	cases := []struct {
		name   string
		mutate func(*ecs.CreateServiceInput)
		code   string
		want   string
	}{
		{"bad name", func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String("a b") }, "InvalidParameterException", "Invalid serviceName"},
		{"no task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = nil }, "InvalidParameterException", "taskDefinition is required"},
		{"unknown task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("nope:3") }, "ClientException", "does not exist"},
		{"no desired count", func(in *ecs.CreateServiceInput) { in.DesiredCount = nil }, "InvalidParameterException", "desiredCount is required"},
		{"negative desired count", func(in *ecs.CreateServiceInput) { in.DesiredCount = aws.Int32(-1) }, "InvalidParameterException", "0 or more"},
		{"fargate", func(in *ecs.CreateServiceInput) { in.LaunchType = types.LaunchTypeFargate }, "InvalidParameterException", "does not support launch_type FARGATE"},
		{"capacity provider", func(in *ecs.CreateServiceInput) {
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("cp")}}
		}, "InvalidParameterException", "not associated with the cluster"},
		{"code deploy", func(in *ecs.CreateServiceInput) {
			in.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy}
		}, "InvalidParameterException", "CODE_DEPLOY deployment controller is not supported"},
		{"load balancer", func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1"),
				ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}}
		}, "InvalidParameterException", "Unable to find target group"},
		{"service registry", func(in *ecs.CreateServiceInput) {
			in.ServiceRegistries = []types.ServiceRegistry{{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1")}}
		}, "InvalidParameterException", "names no Cloud Map service"},
		{"min healthy above 100", func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(120)}
		}, "InvalidParameterException", "minimumHealthyPercent"},
		{"max percent below 100", func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MaximumPercent: aws.Int32(50)}
		}, "InvalidParameterException", "maximumPercent"},
		{"memberOf", func(in *ecs.CreateServiceInput) {
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:x y")}}
		}, "InvalidParameterException", "memberOf"},
		{"bad strategy", func(in *ecs.CreateServiceInput) {
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("disk")}}
		}, "InvalidParameterException", "binpack"},
		{"daemon with desired count", func(in *ecs.CreateServiceInput) { in.SchedulingStrategy = types.SchedulingStrategyDaemon },
			"InvalidParameterException", "does not support a desired count"},
		{"daemon with strategy", func(in *ecs.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}
		}, "InvalidParameterException", "does not support placement strategies"},
		{"long client token", func(in *ecs.CreateServiceInput) { in.ClientToken = aws.String(strings.Repeat("x", 37)) }, "InvalidParameterException", "clientToken"},
		{"reserved tag", func(in *ecs.CreateServiceInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}
		}, "InvalidParameterException", "reserved"},
		{"network configuration", func(in *ecs.CreateServiceInput) {
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
		}, "InvalidParameterException", "Network Configuration"},
		{"unknown cluster", func(in *ecs.CreateServiceInput) { in.Cluster = aws.String("nope") }, "ClusterNotFoundException", "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := ok()
			tc.mutate(in)
			_, err := s.Client.CreateService(ctx, in)
			ecstest.WantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	out, err := s.Client.ListServices(ctx, &ecs.ListServicesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ServiceArns) != 0 {
		t.Fatalf("after refused creates ListServices = %v; want none", out.ServiceArns)
	}
}

func TestCreateServiceIdempotency(t *testing.T) {
	s := svStart(t)
	ctx := context.Background()
	svTD(t, s.Client, "web", "busybox")
	in := &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0), ClientToken: aws.String("tok-1")}
	first := svCreate(t, s.Client, in)
	again := svCreate(t, s.Client, in)
	if aws.ToString(again.Deployments[0].Id) != aws.ToString(first.Deployments[0].Id) {
		t.Errorf("a repeated CreateService made a new deployment: %s then %s", aws.ToString(first.Deployments[0].Id), aws.ToString(again.Deployments[0].Id))
	}
	// Same parameters without the token: still the same service.
	noTok := *in
	noTok.ClientToken = nil
	if got := svCreate(t, s.Client, &noTok); aws.ToString(got.Deployments[0].Id) != aws.ToString(first.Deployments[0].Id) {
		t.Errorf("CreateService with the same parameters made a new deployment")
	}
	other := *in
	other.DesiredCount = aws.Int32(3)
	_, err := s.Client.CreateService(ctx, &other)
	ecstest.WantCode(t, err, "InvalidParameterException")
	if !strings.Contains(err.Error(), "not idempotent") {
		t.Errorf("error %q; want ECS's 'Creation of service was not idempotent'", err)
	}
}

func TestDescribeAndListServices(t *testing.T) {
	s := svStart(t)
	ctx := context.Background()
	svTD(t, s.Client, "web", "busybox")
	for i := 0; i < 12; i++ {
		in := &ecs.CreateServiceInput{ServiceName: aws.String(fmt.Sprintf("svc-%02d", i)), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)}
		if i%4 == 0 {
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
		}
		svCreate(t, s.Client, in)
	}
	// The default page is 10.
	p1, err := s.Client.ListServices(ctx, &ecs.ListServicesInput{})
	if err != nil || len(p1.ServiceArns) != 10 || p1.NextToken == nil {
		t.Fatalf("ListServices page 1 = %d arns, next %v, %v; want 10 and a token", len(p1.ServiceArns), p1.NextToken, err)
	}
	p2, err := s.Client.ListServices(ctx, &ecs.ListServicesInput{NextToken: p1.NextToken})
	if err != nil || len(p2.ServiceArns) != 2 || p2.NextToken != nil {
		t.Fatalf("ListServices page 2 = %d arns, next %v, %v; want 2 and no token", len(p2.ServiceArns), p2.NextToken, err)
	}
	daemons, err := s.Client.ListServices(ctx, &ecs.ListServicesInput{SchedulingStrategy: types.SchedulingStrategyDaemon})
	if err != nil || len(daemons.ServiceArns) != 3 {
		t.Fatalf("ListServices DAEMON = %v, %v; want 3", daemons.ServiceArns, err)
	}
	external, err := s.Client.ListServices(ctx, &ecs.ListServicesInput{LaunchType: types.LaunchTypeExternal})
	if err != nil || len(external.ServiceArns) != 0 {
		t.Fatalf("ListServices EXTERNAL = %v, %v; want none", external.ServiceArns, err)
	}
	_, err = s.Client.ListServices(ctx, &ecs.ListServicesInput{MaxResults: aws.Int32(101)})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("nope")})
	ecstest.WantCode(t, err, "ClusterNotFoundException")

	d, err := s.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{
		"svc-01", p1.ServiceArns[2], "arn:aws:ecs:us-east-1:123456789012:service/other/svc-01", "nope",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Services) != 2 || len(d.Failures) != 2 {
		t.Fatalf("DescribeServices = %d services, failures %+v; want 2 and 2", len(d.Services), d.Failures)
	}
	for _, f := range d.Failures {
		if aws.ToString(f.Reason) != "MISSING" {
			t.Errorf("failure %+v; want reason MISSING", f)
		}
	}
	if got := aws.ToString(d.Failures[1].Arn); got != "arn:aws:ecs:us-east-1:123456789012:service/default/nope" {
		t.Errorf("failure arn = %s; want the service ARN the name would have", got)
	}
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("svc-%02d", i)
	}
	_, err = s.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: eleven})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

func TestUpdateService(t *testing.T) {
	s := svStart(t)
	ctx := context.Background()
	td1 := svTD(t, s.Client, "web", "busybox")
	svc := svCreate(t, s.Client, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(td1), DesiredCount: aws.Int32(0)})
	firstID := aws.ToString(svc.Deployments[0].Id)

	// A new desired count scales the PRIMARY deployment: no new deployment.
	up, err := s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(0),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 1 || aws.ToString(up.Service.Deployments[0].Id) != firstID {
		t.Errorf("a configuration change made a deployment: %+v", up.Service.Deployments)
	}
	dc := up.Service.DeploymentConfiguration
	if aws.ToInt32(dc.MinimumHealthyPercent) != 50 || aws.ToInt32(dc.MaximumPercent) != 200 || !dc.DeploymentCircuitBreaker.Enable {
		t.Errorf("deploymentConfiguration = %+v; want 50/200 (maximum kept) with the circuit breaker on", dc)
	}

	// A new task definition is a new PRIMARY deployment; the old one is ACTIVE.
	td2 := svTD(t, s.Client, "web", "busybox:2")
	up, err = s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String(aws.ToString(svc.ServiceArn)), TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	deps := up.Service.Deployments
	if aws.ToString(up.Service.TaskDefinition) != td2 || len(deps) < 1 || aws.ToString(deps[0].Status) != "PRIMARY" || aws.ToString(deps[0].TaskDefinition) != td2 || aws.ToString(deps[0].Id) == firstID {
		t.Fatalf("after a new task definition: td %s deployments %+v", aws.ToString(up.Service.TaskDefinition), deps)
	}
	secondID := aws.ToString(deps[0].Id)
	// The same task definition again changes nothing; forceNewDeployment does.
	up, err = s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(td2)})
	if err != nil || aws.ToString(up.Service.Deployments[0].Id) != secondID {
		t.Fatalf("the same task definition made a deployment: %v", err)
	}
	up, err = s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), ForceNewDeployment: true})
	if err != nil || aws.ToString(up.Service.Deployments[0].Id) == secondID {
		t.Fatalf("forceNewDeployment made no deployment: %v", err)
	}

	before := svDescribe(t, s.Client, "default", "web")
	for _, tc := range []struct {
		in   *ecs.UpdateServiceInput
		code string
	}{
		{&ecs.UpdateServiceInput{Service: aws.String("nope"), DesiredCount: aws.Int32(1)}, "ServiceNotFoundException"},
		{&ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(-2)}, "InvalidParameterException"},
		{&ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("nope")}, "ClientException"},
		{&ecs.UpdateServiceInput{Service: aws.String("web"), DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}}, "InvalidParameterException"},
		{&ecs.UpdateServiceInput{Service: aws.String("web"), DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(10)}}, "InvalidParameterException"},
		{&ecs.UpdateServiceInput{Service: aws.String("arn:aws:ecs:us-east-1:123456789012:service/other/web"), DesiredCount: aws.Int32(1)}, "InvalidParameterException"},
		{&ecs.UpdateServiceInput{Service: aws.String("web"), Cluster: aws.String("nope")}, "ClusterNotFoundException"},
	} {
		_, err := s.Client.UpdateService(ctx, tc.in)
		ecstest.WantCode(t, err, tc.code)
	}
	after := svDescribe(t, s.Client, "default", "web")
	if aws.ToString(after.Deployments[0].Id) != aws.ToString(before.Deployments[0].Id) || aws.ToInt32(after.DeploymentConfiguration.MaximumPercent) != 200 {
		t.Errorf("refused updates changed the service")
	}

	svCreate(t, s.Client, &ecs.CreateServiceInput{ServiceName: aws.String("d"), TaskDefinition: aws.String(td1), SchedulingStrategy: types.SchedulingStrategyDaemon})
	_, err = s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("d"), DesiredCount: aws.Int32(2)})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

func TestDeleteServiceRules(t *testing.T) {
	s := svStart(t)
	ctx := context.Background()
	svTD(t, s.Client, "web", "busybox")
	svCreate(t, s.Client, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})
	_, err := s.Client.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web")})
	ecstest.WantCode(t, err, "InvalidParameterException")
	if !strings.Contains(err.Error(), "The service cannot be stopped while it is scaled above 0") {
		t.Errorf("error %q; want ECS's message", err)
	}
	_, err = s.Client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("default")})
	ecstest.WantCode(t, err, "ClusterContainsServicesException")
	_, err = s.Client.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("nope")})
	ecstest.WantCode(t, err, "ServiceNotFoundException")

	// An instance without an agent: the controller places the tasks, which
	// stay PENDING, so the deleted service stays DRAINING.
	if _, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1024},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1024},
		},
		Attributes: []types.Attribute{{Name: aws.String("ecs.availability-zone"), Value: aws.String("us-east-1a")}},
	}); err != nil {
		t.Fatal(err)
	}
	waitPending := func(n int32) {
		deadline := time.Now().Add(10 * time.Second)
		for svDescribe(t, s.Client, "default", "web").PendingCount != n {
			if time.Now().After(deadline) {
				t.Fatalf("the service never had %d pending tasks", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitPending(2)

	out, err := s.Client.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Service.Status) != "DRAINING" || out.Service.DesiredCount != 0 {
		t.Errorf("deleted service: status %s desired %d; want DRAINING and 0", aws.ToString(out.Service.Status), out.Service.DesiredCount)
	}
	_, err = s.Client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)})
	ecstest.WantCode(t, err, "ServiceNotActiveException")
	_, err = s.Client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	ecstest.WantCode(t, err, "InvalidParameterException")
	if !strings.Contains(err.Error(), "Unable to Start a service that is still Draining") {
		t.Errorf("error %q; want ECS's draining message", err)
	}
	// Deleting again answers the DRAINING service.
	again, err := s.Client.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web")})
	if err != nil || aws.ToString(again.Service.Status) != "DRAINING" {
		t.Fatalf("DeleteService of a DRAINING service = %v, %v", again, err)
	}
	// The tasks were asked to stop; their agent never answers, so the
	// service waits. A DAEMON service needs no force.
	deadline := time.Now().Add(10 * time.Second)
	for {
		lt, err := s.Client.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web"), DesiredStatus: types.DesiredStatusStopped})
		if err != nil {
			t.Fatal(err)
		}
		if len(lt.TaskArns) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ListTasks desired STOPPED = %v; want the 2 tasks", lt.TaskArns)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := aws.ToString(svDescribe(t, s.Client, "default", "web").Status); got != "DRAINING" {
		t.Errorf("service with tasks still stopping is %s; want DRAINING", got)
	}
	svCreate(t, s.Client, &ecs.CreateServiceInput{ServiceName: aws.String("d"), TaskDefinition: aws.String("web"), SchedulingStrategy: types.SchedulingStrategyDaemon})
	if _, err := s.Client.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("d")}); err != nil {
		t.Errorf("DeleteService of a DAEMON service without force: %v", err)
	}
}

func TestServiceTags(t *testing.T) {
	s := svStart(t)
	ctx := context.Background()
	svTD(t, s.Client, "web", "busybox")
	svc := svCreate(t, s.Client, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)})
	arn := svc.ServiceArn
	if _, err := s.Client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	lt, err := s.Client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(lt.Tags) != 1 || aws.ToString(lt.Tags[0].Value) != "prod" {
		t.Fatalf("ListTagsForResource = %+v, %v", lt, err)
	}
	if got := svDescribe(t, s.Client, "default", "web").Tags; len(got) != 1 {
		t.Errorf("DescribeServices include TAGS = %v; want env=prod", got)
	}
	if _, err := s.Client.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	if got := svDescribe(t, s.Client, "default", "web").Tags; len(got) != 0 {
		t.Errorf("after UntagResource tags = %v; want none", got)
	}
	// ListTasks --service-name knows the service; an unknown one is refused.
	if _, err := s.Client.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web")}); err != nil {
		t.Errorf("ListTasks --service-name web: %v", err)
	}
	_, err = s.Client.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("nope")})
	ecstest.WantCode(t, err, "ServiceNotFoundException")
}
