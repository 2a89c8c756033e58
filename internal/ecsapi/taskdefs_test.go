package ecsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

const tdARNPrefix = "arn:aws:ecs:us-east-1:123456789012:task-definition/"

// tdMinimal is the smallest valid registration: one container with an image
// and memory.
func tdMinimal(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:   aws.String("app"),
			Image:  aws.String("busybox:latest"),
			Memory: aws.Int32(64),
		}},
	}
}

func tdRegister(t testing.TB, c *ecs.Client, in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionOutput {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", aws.ToString(in.Family), err)
	}
	return out
}

func tdDescribe(t *testing.T, c *ecs.Client, ref string, include ...types.TaskDefinitionField) *ecs.DescribeTaskDefinitionOutput {
	t.Helper()
	out, err := c.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref), Include: include})
	if err != nil {
		t.Fatalf("DescribeTaskDefinition(%s): %v", ref, err)
	}
	return out
}

func tdDeregister(t *testing.T, c *ecs.Client, ref string) types.TaskDefinition {
	t.Helper()
	out, err := c.DeregisterTaskDefinition(context.Background(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	if err != nil {
		t.Fatalf("DeregisterTaskDefinition(%s): %v", ref, err)
	}
	return *out.TaskDefinition
}

// tdJSON renders SDK values for comparison; the SDK types are plain structs.
func tdJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tdAttrNames(attrs []types.Attribute) []string {
	var out []string
	for _, a := range attrs {
		out = append(out, aws.ToString(a.Name))
	}
	return out
}

// tdRich uses nearly every member of the task and container definition
// shapes, with every value ECS would otherwise fill in given explicitly, so
// that what comes back must equal what went in.
func tdRich() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("rich"),
		TaskRoleArn:             aws.String("arn:aws:iam::123456789012:role/app"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/exec"),
		NetworkMode:             types.NetworkModeBridge,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
		Cpu:                     aws.String("1 vCPU"),
		Memory:                  aws.String("2 GB"),
		PidMode:                 types.PidModeTask,
		IpcMode:                 types.IpcModeTask,
		EnableFaultInjection:    aws.Bool(true),
		EphemeralStorage:        &types.EphemeralStorage{SizeInGiB: 30},
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureX8664, OperatingSystemFamily: types.OSFamilyLinux},
		PlacementConstraints:    []types.TaskDefinitionPlacementConstraint{{Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ t3.*")}},
		ProxyConfiguration: &types.ProxyConfiguration{Type: types.ProxyConfigurationTypeAppmesh, ContainerName: aws.String("web"),
			Properties: []types.KeyValuePair{{Name: aws.String("ProxyIngressPort"), Value: aws.String("15000")}}},
		InferenceAccelerators: []types.InferenceAccelerator{{DeviceName: aws.String("acc1"), DeviceType: aws.String("eia2.medium")}},
		Volumes: []types.Volume{
			{Name: aws.String("data"), Host: &types.HostVolumeProperties{SourcePath: aws.String("/srv/data")}},
			{Name: aws.String("cache"), DockerVolumeConfiguration: &types.DockerVolumeConfiguration{Scope: types.ScopeShared, Autoprovision: aws.Bool(true),
				Driver: aws.String("local"), DriverOpts: map[string]string{"type": "tmpfs"}, Labels: map[string]string{"tier": "cache"}}},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}, {Key: aws.String("env"), Value: aws.String("prod")}},
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name: aws.String("web"), Image: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.2"),
				Cpu: 512, Memory: aws.Int32(1024), MemoryReservation: aws.Int32(512), Essential: aws.Bool(true),
				Command: []string{"serve", "--port", "8080"}, EntryPoint: []string{"/bin/app"},
				Environment:      []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}},
				EnvironmentFiles: []types.EnvironmentFile{{Type: types.EnvironmentFileTypeS3, Value: aws.String("arn:aws:s3:::bucket/app.env")}},
				Secrets:          []types.Secret{{Name: aws.String("DB"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:db")}},
				PortMappings: []types.PortMapping{
					{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(80), Protocol: types.TransportProtocolTcp, Name: aws.String("http"), AppProtocol: types.ApplicationProtocolHttp},
					{ContainerPort: aws.Int32(8125), HostPort: aws.Int32(0), Protocol: types.TransportProtocolUdp},
				},
				Links:       []string{"sidecar:side"},
				DependsOn:   []types.ContainerDependency{{ContainerName: aws.String("sidecar"), Condition: types.ContainerConditionHealthy}},
				MountPoints: []types.MountPoint{{SourceVolume: aws.String("data"), ContainerPath: aws.String("/data"), ReadOnly: aws.Bool(true)}},
				VolumesFrom: []types.VolumeFrom{{SourceContainer: aws.String("sidecar"), ReadOnly: aws.Bool(false)}},
				HealthCheck: &types.HealthCheck{Command: []string{"CMD-SHELL", "wget -qO- localhost:8080/health"},
					Interval: aws.Int32(10), Timeout: aws.Int32(3), Retries: aws.Int32(4), StartPeriod: aws.Int32(20)},
				Ulimits: []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 1024, HardLimit: 4096}},
				LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs,
					Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1"}},
				DockerLabels: map[string]string{"com.example.team": "payments"}, DockerSecurityOptions: []string{"no-new-privileges"},
				DnsServers: []string{"10.0.0.2"}, DnsSearchDomains: []string{"svc.local"},
				ExtraHosts: []types.HostEntry{{Hostname: aws.String("db"), IpAddress: aws.String("10.0.0.5")}},
				Hostname:   aws.String("web"), User: aws.String("1000:1000"), WorkingDirectory: aws.String("/srv"),
				Privileged: aws.Bool(true), ReadonlyRootFilesystem: aws.Bool(true), DisableNetworking: aws.Bool(false),
				Interactive: aws.Bool(false), PseudoTerminal: aws.Bool(false),
				LinuxParameters: &types.LinuxParameters{
					Capabilities:       &types.KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"MKNOD"}},
					Devices:            []types.Device{{HostPath: aws.String("/dev/fuse"), ContainerPath: aws.String("/dev/fuse"), Permissions: []types.DeviceCgroupPermission{types.DeviceCgroupPermissionRead}}},
					InitProcessEnabled: aws.Bool(true), MaxSwap: aws.Int32(512), Swappiness: aws.Int32(10), SharedMemorySize: aws.Int32(64),
					Tmpfs: []types.Tmpfs{{ContainerPath: aws.String("/tmp"), Size: 64, MountOptions: []string{"noexec"}}},
				},
				SystemControls:        []types.SystemControl{{Namespace: aws.String("net.core.somaxconn"), Value: aws.String("1024")}},
				ResourceRequirements:  []types.ResourceRequirement{{Type: types.ResourceTypeGpu, Value: aws.String("1")}, {Type: types.ResourceTypeInferenceAccelerator, Value: aws.String("acc1")}},
				RestartPolicy:         &types.ContainerRestartPolicy{Enabled: aws.Bool(true), IgnoredExitCodes: []int32{0}, RestartAttemptPeriod: aws.Int32(300)},
				RepositoryCredentials: &types.RepositoryCredentials{CredentialsParameter: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:reg")},
				StartTimeout:          aws.Int32(60), StopTimeout: aws.Int32(45), VersionConsistency: types.VersionConsistencyDisabled,
				CredentialSpecs: []string{"credentialspecdomainless:arn:aws:s3:::bucket/spec.json"},
			},
			{
				Name: aws.String("sidecar"), Image: aws.String("busybox@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
				Cpu: 128, MemoryReservation: aws.Int32(128), Essential: aws.Bool(false),
				HealthCheck:           &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(30), Timeout: aws.Int32(5), Retries: aws.Int32(3)},
				FirelensConfiguration: &types.FirelensConfiguration{Type: types.FirelensConfigurationTypeFluentbit, Options: map[string]string{"enable-ecs-log-metadata": "true"}},
			},
		},
	}
}

func TestTaskDefRoundTripPreservesEveryField(t *testing.T) {
	s := ecstest.Start(t)
	in := tdRich()
	before := time.Now().Add(-time.Second)
	reg := tdRegister(t, s.Client, in)
	after := time.Now().Add(time.Second)

	if got, want := tdJSON(t, reg.Tags), tdJSON(t, in.Tags); got != want {
		t.Errorf("register tags = %s; want %s", got, want)
	}
	for name, td := range map[string]types.TaskDefinition{
		"register": *reg.TaskDefinition,
		"describe": *tdDescribe(t, s.Client, "rich:1").TaskDefinition,
	} {
		for field, pair := range map[string][2]any{
			"containerDefinitions":    {td.ContainerDefinitions, in.ContainerDefinitions},
			"volumes":                 {td.Volumes, in.Volumes},
			"placementConstraints":    {td.PlacementConstraints, in.PlacementConstraints},
			"proxyConfiguration":      {td.ProxyConfiguration, in.ProxyConfiguration},
			"inferenceAccelerators":   {td.InferenceAccelerators, in.InferenceAccelerators},
			"runtimePlatform":         {td.RuntimePlatform, in.RuntimePlatform},
			"ephemeralStorage":        {td.EphemeralStorage, in.EphemeralStorage},
			"requiresCompatibilities": {td.RequiresCompatibilities, in.RequiresCompatibilities},
			"scalars": {
				[]any{td.Family, td.TaskRoleArn, td.ExecutionRoleArn, td.NetworkMode, td.PidMode, td.IpcMode, td.EnableFaultInjection},
				[]any{in.Family, in.TaskRoleArn, in.ExecutionRoleArn, in.NetworkMode, in.PidMode, in.IpcMode, in.EnableFaultInjection},
			},
		} {
			if got, want := tdJSON(t, pair[0]), tdJSON(t, pair[1]); got != want {
				t.Errorf("%s: %s =\n  %s\nwant\n  %s", name, field, got, want)
			}
		}
		// ECS converts "1 vCPU" and "2 GB" to units and MiB.
		if aws.ToString(td.Cpu) != "1024" || aws.ToString(td.Memory) != "2048" {
			t.Errorf("%s: cpu, memory = %q, %q; want 1024, 2048", name, aws.ToString(td.Cpu), aws.ToString(td.Memory))
		}
		if got, want := aws.ToString(td.TaskDefinitionArn), tdARNPrefix+"rich:1"; got != want {
			t.Errorf("%s: taskDefinitionArn = %q; want %q", name, got, want)
		}
		if td.Revision != 1 || td.Status != types.TaskDefinitionStatusActive {
			t.Errorf("%s: revision, status = %d, %s; want 1, ACTIVE", name, td.Revision, td.Status)
		}
		if got := aws.ToString(td.RegisteredBy); got != "arn:aws:iam::123456789012:root" {
			t.Errorf("%s: registeredBy = %q", name, got)
		}
		if td.RegisteredAt == nil || td.RegisteredAt.Before(before) || td.RegisteredAt.After(after) {
			t.Errorf("%s: registeredAt = %v; want between %v and %v", name, td.RegisteredAt, before, after)
		}
		if got, want := tdJSON(t, td.Compatibilities), `["EXTERNAL","EC2"]`; got != want {
			t.Errorf("%s: compatibilities = %s; want %s", name, got, want)
		}
		attrs := tdAttrNames(td.RequiresAttributes)
		for _, want := range []string{
			"com.amazonaws.ecs.capability.logging-driver.awslogs", "ecs.capability.execution-role-awslogs",
			"ecs.capability.container-health-check", "com.amazonaws.ecs.capability.privileged-container",
			"com.amazonaws.ecs.capability.task-iam-role", "com.amazonaws.ecs.capability.ecr-auth",
			"ecs.capability.execution-role-ecr-pull", "ecs.capability.container-ordering",
			"com.amazonaws.ecs.capability.docker-remote-api.1.21", "ecs.capability.secrets.asm.environment-variables",
			"ecs.capability.pid-ipc-namespace-sharing", "ecs.capability.docker-plugin.local", "ecs.capability.firelens.fluentbit",
		} {
			if !slices.Contains(attrs, want) {
				t.Errorf("%s: requiresAttributes %v lacks %s", name, attrs, want)
			}
		}
	}
	if tags := tdDescribe(t, s.Client, "rich").Tags; len(tags) != 0 {
		t.Errorf("describe without include: tags = %v; want none", tags)
	}
	if got, want := tdJSON(t, tdDescribe(t, s.Client, tdARNPrefix+"rich:1", types.TaskDefinitionFieldTags).Tags), tdJSON(t, in.Tags); got != want {
		t.Errorf("describe include TAGS: tags = %s; want %s", got, want)
	}
}

func TestTaskDefFillsECSDefaults(t *testing.T) {
	s := ecstest.Start(t)
	in := tdMinimal("plain")
	in.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80)}}
	in.ContainerDefinitions[0].HealthCheck = &types.HealthCheck{Command: []string{"CMD", "true"}}
	td := tdRegister(t, s.Client, in).TaskDefinition
	c := td.ContainerDefinitions[0]
	if !aws.ToBool(c.Essential) || c.Cpu != 0 {
		t.Errorf("essential, cpu = %v, %d; want true, 0", aws.ToBool(c.Essential), c.Cpu)
	}
	if got, want := tdJSON(t, c.PortMappings), tdJSON(t, []types.PortMapping{{ContainerPort: aws.Int32(80), Protocol: types.TransportProtocolTcp}}); got != want {
		t.Errorf("bridge portMappings = %s; want %s (hostPort left dynamic)", got, want)
	}
	hc := c.HealthCheck
	if aws.ToInt32(hc.Interval) != 30 || aws.ToInt32(hc.Timeout) != 5 || aws.ToInt32(hc.Retries) != 3 || hc.StartPeriod != nil {
		t.Errorf("healthCheck = %s; want interval 30, timeout 5, retries 3, no startPeriod", tdJSON(t, hc))
	}
	if td.NetworkMode != "" {
		t.Errorf("networkMode = %q; want it omitted as given", td.NetworkMode)
	}
	if got := tdJSON(t, td.Compatibilities); got != `["EXTERNAL","EC2"]` {
		t.Errorf("compatibilities = %s; want [EXTERNAL EC2]", got)
	}

	fg := tdMinimal("fargate")
	fg.NetworkMode, fg.Cpu, fg.Memory = types.NetworkModeAwsvpc, aws.String(".25 vcpu"), aws.String("0.5GB")
	fg.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	fg.ContainerDefinitions[0].Memory = nil
	fg.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	td = tdRegister(t, s.Client, fg).TaskDefinition
	if got := tdJSON(t, td.Compatibilities); got != `["EC2","FARGATE"]` {
		t.Errorf("fargate compatibilities = %s; want [EC2 FARGATE]", got)
	}
	if aws.ToString(td.Cpu) != "256" || aws.ToString(td.Memory) != "512" {
		t.Errorf("fargate cpu, memory = %q, %q; want 256, 512", aws.ToString(td.Cpu), aws.ToString(td.Memory))
	}
	if hp := aws.ToInt32(td.ContainerDefinitions[0].PortMappings[0].HostPort); hp != 8080 {
		t.Errorf("awsvpc hostPort = %d; want 8080, the containerPort", hp)
	}
	if attrs := tdAttrNames(td.RequiresAttributes); !slices.Contains(attrs, "ecs.capability.task-eni") {
		t.Errorf("awsvpc requiresAttributes = %v; want ecs.capability.task-eni", attrs)
	}

	// awsvpc without a Fargate size is EC2-only: no EXTERNAL, no FARGATE.
	ec2vpc := tdMinimal("ec2vpc")
	ec2vpc.NetworkMode = types.NetworkModeAwsvpc
	if got := tdJSON(t, tdRegister(t, s.Client, ec2vpc).TaskDefinition.Compatibilities); got != `["EC2"]` {
		t.Errorf("awsvpc without task size: compatibilities = %s; want [EC2]", got)
	}
}

func TestTaskDefRevisionsAreNeverReused(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	for want := int32(1); want <= 3; want++ {
		if got := tdRegister(t, s.Client, tdMinimal("web")).TaskDefinition.Revision; got != want {
			t.Fatalf("registration %d got revision %d", want, got)
		}
	}
	tdDeregister(t, s.Client, "web:3")
	if got := tdRegister(t, s.Client, tdMinimal("web")).TaskDefinition.Revision; got != 4 {
		t.Errorf("after deregistering web:3, next revision = %d; want 4", got)
	}
	tdDeregister(t, s.Client, "web:4")
	if _, err := s.Client.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"web:4"}}); err != nil {
		t.Fatal(err)
	}
	if got := tdRegister(t, s.Client, tdMinimal("web")).TaskDefinition.Revision; got != 5 {
		t.Errorf("after deleting web:4, next revision = %d; want 5", got)
	}
	if got := tdDescribe(t, s.Client, "web").TaskDefinition.Revision; got != 5 {
		t.Errorf("describe family = revision %d; want the latest ACTIVE, 5", got)
	}
}

func TestTaskDefConcurrentRegistrationsGetDistinctRevisions(t *testing.T) {
	s := ecstest.Start(t)
	const n = 20
	revs := make([]int32, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.Client.RegisterTaskDefinition(context.Background(), tdMinimal("race"))
			if err != nil {
				errs[i] = err
				return
			}
			revs[i] = out.TaskDefinition.Revision
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	slices.Sort(revs)
	for i, r := range revs {
		if r != int32(i+1) {
			t.Fatalf("revisions = %v; want 1..%d each once", revs, n)
		}
	}
	arns := tdListAll(t, s.Client, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("race")})
	if len(arns) != n || arns[n-1] != fmt.Sprintf("%srace:%d", tdARNPrefix, n) {
		t.Errorf("listed %d revisions ending in %v; want %d ending in race:%d", len(arns), arns[len(arns)-1:], n, n)
	}
}

func TestTaskDefsSurviveRestart(t *testing.T) {
	s := ecstest.Start(t)
	in := tdRich()
	want := tdJSON(t, tdRegister(t, s.Client, in).TaskDefinition)
	tdRegister(t, s.Client, tdMinimal("web"))
	tdRegister(t, s.Client, tdMinimal("web"))
	gone := tdDeregister(t, s.Client, "web:1")
	s.Stop()

	s = ecstest.StartWith(t, ecstest.Options{DataDir: s.DataDir})
	out := tdDescribe(t, s.Client, "rich:1", types.TaskDefinitionFieldTags)
	if got := tdJSON(t, out.TaskDefinition); got != want {
		t.Errorf("after restart rich:1 =\n  %s\nwant\n  %s", got, want)
	}
	if len(out.Tags) != len(in.Tags) {
		t.Errorf("after restart tags = %v; want %v", out.Tags, in.Tags)
	}
	if got := tdDescribe(t, s.Client, "web:1").TaskDefinition; got.Status != types.TaskDefinitionStatusInactive || !got.DeregisteredAt.Equal(*gone.DeregisteredAt) {
		t.Errorf("after restart web:1 status %s deregisteredAt %v; want INACTIVE at %v", got.Status, got.DeregisteredAt, gone.DeregisteredAt)
	}
	if got := tdRegister(t, s.Client, tdMinimal("web")).TaskDefinition.Revision; got != 3 {
		t.Errorf("first registration after restart got revision %d; want 3", got)
	}
}
