package ecsapi

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
)

// What ECS derives from a task definition: task cpu and memory in units and
// MiB, the Fargate sizes, the launch types it is compatible with and the
// container instance attributes it requires.

// tdParseCPU reads task cpu as CPU units ("1024") or vCPUs ("1 vCPU",
// "0.25 vcpu"), as ECS accepts them, and returns units.
func tdParseCPU(s string) (int, error) {
	n, ok := tdParseSize(s, []string{"vcpu"}, 1024)
	if !ok {
		return 0, invalidParam("Invalid 'cpu' setting for task: %q is neither CPU units (e.g. 1024) nor vCPUs (e.g. 1 vCPU, 0.25 vCPU).", s)
	}
	if n < tdMinCPU || n > tdMaxCPU {
		return 0, clientErr("Invalid 'cpu' setting for task: %d units is outside the supported %d to %d (0.125 to 192 vCPU).", n, tdMinCPU, tdMaxCPU)
	}
	return n, nil
}

// tdParseMemory reads task memory as MiB ("2048") or GB ("2 GB", "0.5GB"),
// as ECS accepts them, and returns MiB.
func tdParseMemory(s string) (int, error) {
	n, ok := tdParseSize(s, []string{"gb", "gib"}, 1024)
	if !ok {
		return 0, invalidParam("Invalid 'memory' setting for task: %q is neither MiB (e.g. 2048) nor GB (e.g. 2 GB, 0.5GB).", s)
	}
	if n < tdMinMemoryMiB {
		return 0, clientErr("Invalid 'memory' setting for task: %d MiB is below the minimum of %d MiB.", n, tdMinMemoryMiB)
	}
	return n, nil
}

// tdParseSize reads a plain integer, or a decimal number followed by one of
// units (case-insensitive, optional space) scaled by scale. The result must
// be a whole number that fits an int32.
func tdParseSize(s string, units []string, scale float64) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return 0, false
	}
	if tdDigits(s) {
		n, err := strconv.ParseInt(s, 10, 32)
		return int(n), err == nil
	}
	lower := strings.ToLower(s)
	for _, u := range units {
		num, ok := strings.CutSuffix(lower, u)
		if !ok {
			continue
		}
		num = strings.TrimSpace(num)
		whole, frac, _ := strings.Cut(num, ".")
		if !tdDigits(whole + frac) {
			return 0, false
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, false
		}
		v := f * scale
		if v < 1 || v > math.MaxInt32 || math.Abs(v-math.Round(v)) > 1e-6 {
			return 0, false
		}
		return int(math.Round(v)), true
	}
	return 0, false
}

func tdDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// tdFargateMemory lists, per task cpu, the memory sizes (MiB) Fargate accepts:
// from min to max in steps of step.
var tdFargateMemory = map[int]struct{ min, max, step int }{
	256:   {512, 2048, 512},
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// tdFargateSizeOK reports whether Fargate has a task size for cpu and memory.
// 256 CPU takes 512, 1024 and 2048 MiB only, which the 512-step expresses.
func tdFargateSizeOK(cpu, memory int) bool {
	r, ok := tdFargateMemory[cpu]
	if !ok || memory < r.min || memory > r.max {
		return false
	}
	if cpu == 256 {
		return memory == 512 || memory == 1024 || memory == 2048
	}
	return (memory-r.min)%r.step == 0
}

func tdFargateSizes(cpu int) string {
	r, ok := tdFargateMemory[cpu]
	if !ok {
		return "Fargate task cpu is one of 256, 512, 1024, 2048, 4096, 8192 or 16384 units"
	}
	if cpu == 256 {
		return "with 256 CPU units Fargate takes 512, 1024 or 2048 MiB"
	}
	return fmt.Sprintf("with %d CPU units Fargate takes %d to %d MiB in steps of %d", cpu, r.min, r.max, r.step)
}

// tdFargateProblem returns why the task definition cannot run on Fargate, or ""
// if it can. The first reason found is enough: it is either the error for a
// definition that requires FARGATE, or why FARGATE is not among its
// tdCompatibilities.
func tdFargateProblem(td *model.TaskDefinition, spec *tdSpec) string {
	switch {
	case td.NetworkMode != model.NetworkModeAwsvpc:
		return "Fargate only supports network mode 'awsvpc'; set networkMode to awsvpc."
	case spec.cpu == 0:
		return "Fargate requires that 'cpu' be defined at the task level, e.g. cpu \"256\" or \"1 vCPU\"."
	case spec.memory == 0:
		return "Fargate requires that 'memory' be defined at the task level, e.g. memory \"512\" or \"1 GB\"."
	case !tdFargateSizeOK(spec.cpu, spec.memory):
		return fmt.Sprintf("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values (%s).", spec.cpu, spec.memory, tdFargateSizes(spec.cpu))
	case td.PidMode != "" && td.PidMode != model.PidModeTask:
		return fmt.Sprintf("Tasks using the Fargate launch type do not support pidMode '%s'. The supported value for pidMode is 'task'.", td.PidMode)
	case td.IpcMode != "":
		return "Tasks using the Fargate launch type do not support ipcMode; remove it."
	case len(td.PlacementConstraints) > 0:
		return "Tasks using the Fargate launch type do not support placementConstraints; remove them."
	case len(td.InferenceAccelerators) > 0:
		return "Tasks using the Fargate launch type do not support inferenceAccelerators; remove them."
	}
	for _, v := range td.Volumes {
		if v.Host != nil && v.Host.SourcePath != "" {
			return fmt.Sprintf("Fargate does not support host volumes with a sourcePath (volume '%s'); drop sourcePath for a task-scoped volume, or use EFS.", v.Name)
		}
		if v.DockerVolumeConfiguration != nil {
			return fmt.Sprintf("Fargate does not support dockerVolumeConfiguration (volume '%s'); use a host volume without sourcePath, or EFS.", v.Name)
		}
	}
	for _, c := range td.ContainerDefinitions {
		if p := tdFargateContainerProblem(&c); p != "" {
			return p
		}
		// On Fargate the agent acts with the execution role, not an
		// instance role.
		if td.ExecutionRoleArn == "" {
			if lc := c.LogConfiguration; lc != nil && lc.LogDriver == model.LogDriverAwslogs {
				return fmt.Sprintf("Fargate requires task definition to have execution role ARN to support log driver awslogs (container '%s'); set executionRoleArn.", c.Name)
			}
			if tdIsECRImage(c.Image) {
				return fmt.Sprintf("Fargate requires task definition to have execution role ARN to support ECR images (container '%s'); set executionRoleArn.", c.Name)
			}
		}
	}
	return ""
}

func tdFargateContainerProblem(c *model.ContainerDefinition) string {
	switch {
	case model.Val(c.Privileged):
		return fmt.Sprintf("Fargate does not support privileged containers (container '%s'); set privileged to false.", c.Name)
	case len(c.DockerSecurityOptions) > 0:
		return fmt.Sprintf("Fargate does not support dockerSecurityOptions (container '%s'); remove them.", c.Name)
	case model.Val(c.StopTimeout) > 120:
		return fmt.Sprintf("Fargate allows a stopTimeout of at most 120 seconds (container '%s' has %d).", c.Name, model.Val(c.StopTimeout))
	}
	if lp := c.LinuxParameters; lp != nil {
		if len(lp.Devices) > 0 || lp.SharedMemorySize != nil || len(lp.Tmpfs) > 0 {
			return fmt.Sprintf("Fargate does not support linuxParameters devices, sharedMemorySize or tmpfs (container '%s'); remove them.", c.Name)
		}
	}
	if lc := c.LogConfiguration; lc != nil {
		switch lc.LogDriver {
		case model.LogDriverAwslogs, model.LogDriverSplunk, model.LogDriverAwsfirelens:
		default:
			return fmt.Sprintf("Fargate supports the awslogs, splunk and awsfirelens log drivers only (container '%s' uses %s).", c.Name, lc.LogDriver)
		}
	}
	for _, rr := range c.ResourceRequirements {
		if rr.Type == model.ResourceTypeGpu {
			return fmt.Sprintf("Fargate does not support GPU resource requirements (container '%s').", c.Name)
		}
	}
	return ""
}

// tdCompatibilities lists the launch types the definition validates for, in
// the order ECS reports them: EC2 always; EXTERNAL unless it uses awsvpc,
// which ECS Anywhere lacks; FARGATE when it fits Fargate.
func tdCompatibilities(td *model.TaskDefinition, spec *tdSpec, fargateOK bool) []model.Compatibility {
	var out []model.Compatibility
	if spec.modeName() != model.NetworkModeAwsvpc {
		out = append(out, model.CompatibilityExternal)
	}
	out = append(out, model.CompatibilityEc2)
	if fargateOK {
		out = append(out, model.CompatibilityFargate)
	}
	for _, c := range td.RequiresCompatibilities {
		if c == model.CompatibilityManagedInstances && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

const (
	tdAttrDockerAPI = "com.amazonaws.ecs.capability.docker-remote-api."
	tdAttrLogDriver = "com.amazonaws.ecs.capability.logging-driver."
)

// tdRequiredAttributes derives the container instance attributes a task
// definition needs from the features it uses, as ECS does, so placement can
// match them against what agents report.
func tdRequiredAttributes(td *model.TaskDefinition) []model.Attribute {
	var names []string
	need := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, c := range td.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil {
			need(tdAttrLogDriver + string(lc.LogDriver))
			need(tdAttrDockerAPI + "1.18")
			if len(lc.Options) > 0 {
				need(tdAttrDockerAPI + "1.19")
			}
			if lc.LogDriver == model.LogDriverAwslogs && td.ExecutionRoleArn != "" {
				need("ecs.capability.execution-role-awslogs")
			}
		}
		if len(c.DockerLabels) > 0 || len(c.Ulimits) > 0 {
			need(tdAttrDockerAPI + "1.18")
		}
		if len(c.DockerSecurityOptions) > 0 {
			need(tdAttrDockerAPI + "1.17")
		}
		if c.MemoryReservation != nil {
			need(tdAttrDockerAPI + "1.21")
		}
		if c.HealthCheck != nil {
			need("ecs.capability.container-health-check")
			need(tdAttrDockerAPI + "1.24")
		}
		if model.Val(c.Privileged) {
			need("com.amazonaws.ecs.capability.privileged-container")
		}
		if lp := c.LinuxParameters; lp != nil && lp.InitProcessEnabled != nil {
			need(tdAttrDockerAPI + "1.25")
		}
		if len(c.DependsOn) > 0 {
			need("ecs.capability.container-ordering")
		}
		if tdIsECRImage(c.Image) {
			need("com.amazonaws.ecs.capability.ecr-auth")
			if td.ExecutionRoleArn != "" {
				need("ecs.capability.execution-role-ecr-pull")
			}
		}
		if c.RepositoryCredentials != nil {
			need("ecs.capability.private-registry-authentication.secretsmanager")
		}
		for _, s := range c.Secrets {
			switch {
			case strings.Contains(s.ValueFrom, ":secretsmanager:"):
				need("ecs.capability.secrets.asm.environment-variables")
			default:
				need("ecs.capability.secrets.ssm.environment-variables")
			}
		}
		if len(c.EnvironmentFiles) > 0 {
			need("ecs.capability.env-files.s3")
		}
		if fc := c.FirelensConfiguration; fc != nil {
			need("ecs.capability.firelens." + string(fc.Type))
		}
	}
	if td.TaskRoleArn != "" {
		need("com.amazonaws.ecs.capability.task-iam-role")
		if td.NetworkMode == model.NetworkModeHost {
			need("com.amazonaws.ecs.capability.task-iam-role-network-host")
		}
	}
	if td.NetworkMode == model.NetworkModeAwsvpc {
		need("ecs.capability.task-eni")
	}
	if td.PidMode != "" || td.IpcMode != "" {
		need("ecs.capability.pid-ipc-namespace-sharing")
	}
	if td.ProxyConfiguration != nil {
		need("ecs.capability.aws-appmesh")
	}
	if n, err := strconv.Atoi(td.Cpu); err == nil && n > 10240 {
		need("ecs.capability.increased-task-cpu-limit")
	}
	for _, v := range td.Volumes {
		if e := v.EfsVolumeConfiguration; e != nil {
			need("ecs.capability.efs")
			if e.AuthorizationConfig != nil {
				need("ecs.capability.efsAuth")
			}
		}
		if d := v.DockerVolumeConfiguration; d != nil {
			driver := d.Driver
			if driver == "" {
				driver = "local"
			}
			need("ecs.capability.docker-plugin." + driver)
		}
	}
	out := make([]model.Attribute, len(names))
	for i, n := range names {
		out[i] = model.Attribute{Name: n}
	}
	return out
}

// tdIsECRImage reports whether image lives in an Amazon ECR private registry
// (ACCOUNT.dkr.ecr.REGION.amazonaws.com/...), which needs ECR credentials.
func tdIsECRImage(image string) bool {
	host, _, ok := strings.Cut(image, "/")
	return ok && strings.Contains(host, ".dkr.ecr.") && strings.Contains(host, ".amazonaws.com")
}
