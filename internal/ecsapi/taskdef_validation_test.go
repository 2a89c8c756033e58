package ecsapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// tdTwo is a valid bridge-mode registration with two containers to bend
// into invalid ones.
func tdTwo() *ecs.RegisterTaskDefinitionInput {
	in := tdMinimal("bad")
	in.ContainerDefinitions = append(in.ContainerDefinitions, types.ContainerDefinition{
		Name: aws.String("side"), Image: aws.String("busybox"), MemoryReservation: aws.Int32(32), Essential: aws.Bool(false),
	})
	return in
}

func tdFargate() *ecs.RegisterTaskDefinitionInput {
	in := tdMinimal("bad")
	in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	in.NetworkMode = types.NetworkModeAwsvpc
	in.Cpu, in.Memory = aws.String("256"), aws.String("512")
	return in
}

func TestRegisterTaskDefinitionValidation(t *testing.T) {
	s := ecstest.Start(t)
	app := func(in *ecs.RegisterTaskDefinitionInput) *types.ContainerDefinition {
		return &in.ContainerDefinitions[0]
	}
	side := func(in *ecs.RegisterTaskDefinitionInput) *types.ContainerDefinition {
		return &in.ContainerDefinitions[1]
	}
	port := func(cp, hp int32) []types.PortMapping {
		return []types.PortMapping{{ContainerPort: aws.Int32(cp), HostPort: aws.Int32(hp)}}
	}
	hc := func(interval, timeout, retries, start int32) *types.HealthCheck {
		return &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(interval), Timeout: aws.Int32(timeout), Retries: aws.Int32(retries), StartPeriod: aws.Int32(start)}
	}
	const client, param = "ClientException", "InvalidParameterException"
	for _, tc := range []struct {
		name string
		base func() *ecs.RegisterTaskDefinitionInput
		edit func(in *ecs.RegisterTaskDefinitionInput)
		code string
		says string // a fragment the message must hold
	}{
		{"family characters", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.Family = aws.String("my/family") }, client, "Family contains invalid characters"},
		{"family length", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.Family = aws.String(strings.Repeat("f", 256)) }, client, "Family"},
		{"no containers", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions = []types.ContainerDefinition{} }, client, "at least one container"},
		{"eleven containers", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			for i := range 9 {
				c := *side(in)
				c.Name = aws.String("c" + string(rune('a'+i)))
				in.ContainerDefinitions = append(in.ContainerDefinitions, c)
			}
		}, client, "Too many containers"},
		{"duplicate container name", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { side(in).Name = aws.String("app") }, client, "unique"},
		{"container name characters", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Name = aws.String("my app") }, client, "Container.name contains invalid characters"},
		{"container name missing", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Name = nil }, client, "Container.name should not be null or empty"},
		{"image missing", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Image = nil }, client, "Container.image should not be null or empty"},
		{"image characters", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Image = aws.String("busy box") }, client, "image"},
		{"image digest", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Image = aws.String("busybox@sha256:abc") }, client, "64 hex"},
		{"no memory anywhere", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Memory = nil }, client, "At least one of 'memory' or 'memoryReservation' must be specified"},
		{"reservation above memory", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).MemoryReservation = aws.Int32(128) }, client, "memoryReservation"},
		{"memory too small", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Memory = aws.Int32(2) }, client, "minimum"},
		{"negative cpu", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Cpu = -1 }, client, "cpu"},
		{"container port zero", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).PortMappings = port(0, 80) }, client, "Invalid 'containerPort' setting for container 'app'"},
		{"container port too big", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).PortMappings = port(70000, 0) }, client, "containerPort"},
		{"host port too big", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).PortMappings = port(80, 70000) }, client, "hostPort"},
		{"awsvpc host port differs", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = types.NetworkModeAwsvpc
			app(in).PortMappings = port(80, 8080)
		}, client, "When networkMode=awsvpc, the host ports and container ports in port mappings must match"},
		{"host mode port differs", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = types.NetworkModeHost
			app(in).PortMappings = port(80, 81)
		}, client, "must match"},
		{"host port used twice", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).PortMappings = port(80, 8080)
			side(in).PortMappings = port(81, 8080)
		}, client, "TCP host port '8080' is mapped multiple times in task"},
		{"host mode container ports collide", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = types.NetworkModeHost
			app(in).PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80)}}
			side(in).PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80)}}
		}, client, "mapped multiple times"},
		{"ports with network none", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = types.NetworkModeNone
			app(in).PortMappings = port(80, 0)
		}, client, "networkMode=none"},
		{"links in awsvpc", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = types.NetworkModeAwsvpc
			app(in).Links = []string{"side"}
		}, client, "Links are not supported when networkMode=awsvpc"},
		{"link to unknown container", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Links = []string{"db:database"} }, client, "not another container"},
		{"depends on unknown", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).DependsOn = []types.ContainerDependency{{ContainerName: aws.String("db"), Condition: types.ContainerConditionStart}}
		}, client, "'db' is not a container"},
		{"depends on itself", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).DependsOn = []types.ContainerDependency{{ContainerName: aws.String("app"), Condition: types.ContainerConditionStart}}
		}, client, "itself"},
		{"dependency cycle", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).DependsOn = []types.ContainerDependency{{ContainerName: aws.String("side"), Condition: types.ContainerConditionStart}}
			side(in).DependsOn = []types.ContainerDependency{{ContainerName: aws.String("app"), Condition: types.ContainerConditionStart}}
		}, client, "app -> side -> app"},
		{"COMPLETE on essential", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			side(in).DependsOn = []types.ContainerDependency{{ContainerName: aws.String("app"), Condition: types.ContainerConditionComplete}}
		}, client, "cannot be an essential container"},
		{"HEALTHY without health check", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).DependsOn = []types.ContainerDependency{{ContainerName: aws.String("side"), Condition: types.ContainerConditionHealthy}}
		}, client, "no healthCheck"},
		{"no essential container", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Essential = aws.Bool(false) }, client, "at least one essential container"},
		{"volumesFrom unknown", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).VolumesFrom = []types.VolumeFrom{{SourceContainer: aws.String("db")}}
		}, client, "volumesFrom"},
		{"mount of unknown volume", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).MountPoints = []types.MountPoint{{SourceVolume: aws.String("data"), ContainerPath: aws.String("/data")}}
		}, client, "volume 'data' is not defined"},
		{"duplicate volume", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.Volumes = []types.Volume{{Name: aws.String("v")}, {Name: aws.String("v")}}
		}, client, "unique"},
		{"health interval", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).HealthCheck = hc(4, 5, 3, 0) }, client, "interval must be between 5 and 300"},
		{"health interval high", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).HealthCheck = hc(301, 5, 3, 0) }, client, "interval"},
		{"health timeout", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).HealthCheck = hc(30, 1, 3, 0) }, client, "timeout must be between 2 and 60"},
		{"health retries", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).HealthCheck = hc(30, 5, 11, 0) }, client, "retries must be between 1 and 10"},
		{"health start period", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { app(in).HealthCheck = hc(30, 5, 3, 301) }, client, "startPeriod must be between 0 and 300"},
		{"health command", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).HealthCheck = &types.HealthCheck{Command: []string{"curl localhost"}}
		}, client, "CMD or CMD-SHELL"},
		{"ulimit soft above hard", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).Ulimits = []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 10, HardLimit: 5}}
		}, client, "softLimit"},
		{"eleven placement constraints", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			for range 11 {
				in.PlacementConstraints = append(in.PlacementConstraints, types.TaskDefinitionPlacementConstraint{Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:x == y")})
			}
		}, client, "at most 10"},
		{"awslogs without group", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-region": "us-east-1"}}
		}, client, "Log driver awslogs requires options: awslogs-group"},
		{"EXTERNAL with awsvpc", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = types.NetworkModeAwsvpc
			in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityExternal}
		}, client, "EXTERNAL"},
		{"ephemeral storage", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{SizeInGiB: 10}
		}, client, "between 21 and 200"},
		{"proxy container", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.ProxyConfiguration = &types.ProxyConfiguration{ContainerName: aws.String("envoy")}
		}, client, "proxyConfiguration"},
		{"hostname in awsvpc", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = types.NetworkModeAwsvpc
			app(in).Hostname = aws.String("web")
		}, client, "hostname"},
		{"task cpu too small", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.Cpu = aws.String("64") }, client, "Invalid 'cpu' setting for task"},
		{"container cpu above task", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.Cpu = aws.String("256")
			app(in).Cpu = 512
		}, client, "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'"},
		{"container memory above task", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.Memory = aws.String("32")
		}, client, "more than the task's memory"},
		{"reservations above task", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.Memory = aws.String("80")
		}, client, "The sum of all container 'memoryReservation' values"},
		{"size above 64 KiB", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).Environment = []types.KeyValuePair{{Name: aws.String("BIG"), Value: aws.String(strings.Repeat("x", 70000))}}
		}, client, "64 KiB"},
		{"fargate needs awsvpc", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) { in.NetworkMode = types.NetworkModeBridge }, client, "Fargate only supports network mode 'awsvpc'"},
		{"fargate needs cpu", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) { in.Cpu = nil }, client, "Fargate requires that 'cpu' be defined at the task level"},
		{"fargate needs memory", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) { in.Memory = nil }, client, "Fargate requires that 'memory' be defined"},
		{"fargate size", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) { in.Memory = aws.String("4 GB") }, client, "No Fargate configuration exists for given values: 256 CPU, 4096 memory"},
		{"fargate odd size", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) {
			in.Cpu, in.Memory = aws.String("4 vCPU"), aws.String("8500")
		}, client, "No Fargate configuration"},
		{"fargate privileged", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) { app(in).Privileged = aws.Bool(true) }, client, "privileged"},
		{"fargate pid host", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) { in.PidMode = types.PidModeHost }, client, "do not support pidMode 'host'"},
		{"fargate awslogs without execution role", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1"}}
		}, client, "execution role ARN to support log driver awslogs"},
		{"fargate ECR image without execution role", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).Image = aws.String("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1")
		}, client, "execution role ARN to support ECR images"},
		{"fargate host volume", tdFargate, func(in *ecs.RegisterTaskDefinitionInput) {
			in.Volumes = []types.Volume{{Name: aws.String("v"), Host: &types.HostVolumeProperties{SourcePath: aws.String("/srv")}}}
		}, client, "sourcePath"},

		{"network mode", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.NetworkMode = "overlay" }, param, "networkMode"},
		{"pid mode", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.PidMode = "container" }, param, "pidMode"},
		{"ipc mode", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.IpcMode = "shared" }, param, "ipcMode"},
		{"compatibility", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.RequiresCompatibilities = []types.Compatibility{"MARS"} }, param, "requiresCompatibilities"},
		{"task cpu text", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.Cpu = aws.String("lots") }, param, "Invalid 'cpu' setting for task"},
		{"task memory unit", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) { in.Memory = aws.String("2 TB") }, param, "Invalid 'memory' setting for task"},
		{"protocol", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80), Protocol: "sctp"}}
		}, param, "protocol"},
		{"dependency condition", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).DependsOn = []types.ContainerDependency{{ContainerName: aws.String("side"), Condition: "READY"}}
		}, param, "condition"},
		{"ulimit name", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).Ulimits = []types.Ulimit{{Name: "files", SoftLimit: 1, HardLimit: 2}}
		}, param, "ulimits.name"},
		{"log driver", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			app(in).LogConfiguration = &types.LogConfiguration{LogDriver: "loki"}
		}, param, "logDriver"},
		{"constraint type", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.PlacementConstraints = []types.TaskDefinitionPlacementConstraint{{Type: "distinctInstance"}}
		}, param, "memberOf"},
		{"constraint expression", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.PlacementConstraints = []types.TaskDefinitionPlacementConstraint{{Type: types.TaskDefinitionPlacementConstraintTypeMemberOf}}
		}, param, "expression"},
		{"reserved tag", tdTwo, func(in *ecs.RegisterTaskDefinitionInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}}
		}, param, "aws:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.base()
			tc.edit(in)
			_, err := s.Client.RegisterTaskDefinition(context.Background(), in)
			ecstest.WantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("message %q does not say %q", err, tc.says)
			}
		})
	}

	raw := []struct{ name, body, code string }{
		{"family missing", `{"containerDefinitions":[{"name":"a","image":"b","memory":8}]}`, "ClientException"},
		{"containers missing", `{"family":"f"}`, "ClientException"},
		{"dependency without condition", `{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":8},{"name":"c","image":"b","memory":8,"dependsOn":[{"containerName":"a"}]}]}`, "InvalidParameterException"},
		{"ulimit without hard limit", `{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":8,"ulimits":[{"name":"nofile","softLimit":1}]}]}`, "InvalidParameterException"},
		{"memory of the wrong type", `{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":"8"}]}`, "SerializationException"},
		{"not an object", `["family"]`, "SerializationException"},
	}
	for _, tc := range raw {
		t.Run(tc.name, func(t *testing.T) {
			if code := tdPost(t, s.URL(), "RegisterTaskDefinition", tc.body); code != tc.code {
				t.Errorf("code = %q; want %q", code, tc.code)
			}
		})
	}

	// None of it registered anything; the base inputs themselves are valid.
	if got := tdFamiliesAll(t, s.Client, &ecs.ListTaskDefinitionFamiliesInput{}); len(got) != 0 {
		t.Fatalf("rejected registrations left families %v", got)
	}
	tdRegister(t, s.Client, tdTwo())
	tdRegister(t, s.Client, tdFargate())
	if got := tdListAll(t, s.Client, &ecs.ListTaskDefinitionsInput{}); !slices.Equal(got, tdARNs("bad:1", "bad:2")) {
		t.Errorf("after the valid registrations: %v; want [bad:1 bad:2]", got)
	}
}

// tdPost sends a raw AWS JSON request, for bodies the SDK refuses to build,
// and returns the error code of a 4xx answer ("" for success).
func tdPost(t *testing.T, url, op, body string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	ecstest.Sign(t, req, []byte(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Fatalf("%s answered %d", op, resp.StatusCode)
	}
	return resp.Header.Get("X-Amzn-ErrorType")
}
