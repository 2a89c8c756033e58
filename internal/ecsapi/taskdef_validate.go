package ecsapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
)

// RegisterTaskDefinition's validation. ECS answers problems with the content
// of a task definition with ClientException and malformed parameters (values
// outside an enum, unparseable numbers, missing required members of a
// sub-shape) with InvalidParameterException; the messages start the way ECS's
// do where they are known, then say what to change.

const (
	tdMaxContainers    = 10
	tdMaxBytes         = 64 << 10
	tdMaxConstraints   = 10
	tdMaxExprLen       = 2000
	tdMinMemoryMiB     = 4
	tdMinCPU, tdMaxCPU = 128, 196608
	tdMaxRevisions     = 1000000
)

// tdEnum is a generated model enum.
type tdEnum[E any] interface {
	~string
	Valid() bool
	Values() []E
}

// tdEnumErr accepts "" (absent) and the model's values of an enum.
func tdEnumErr[E tdEnum[E]](field string, v E) error {
	if v == "" || v.Valid() {
		return nil
	}
	vals := make([]string, 0, len(v.Values()))
	for _, x := range v.Values() {
		vals = append(vals, string(x))
	}
	return invalidParam("Invalid value %q for %s: use one of %s.", string(v), field, strings.Join(vals, ", "))
}

// tdSpec carries what several checks need about the task as a whole.
type tdSpec struct {
	mode    model.NetworkMode // "" means the default, bridge
	cpu     int               // task CPU units; 0 when not set
	memory  int               // task memory in MiB; 0 when not set
	fargate bool              // FARGATE is in requiresCompatibilities
	volumes map[string]bool
	byName  map[string]*model.ContainerDefinition
}

func (s *tdSpec) modeName() model.NetworkMode {
	if s.mode == "" {
		return model.NetworkModeBridge
	}
	return s.mode
}

// buildTaskDefinition validates a registration and returns the task
// definition ECS would store for it: the request's members as given, cpu and
// memory normalised to units and MiB, the container defaults ECS fills in,
// requiresAttributes and tdCompatibilities. It does not set the family's
// revision, ARN, status or registration time. in is consumed: the result
// shares its slices.
func buildTaskDefinition(in *model.RegisterTaskDefinitionRequest) (*model.TaskDefinition, error) {
	if err := tdCheckSize(in); err != nil {
		return nil, err
	}
	spec, err := tdCheckTask(in)
	if err != nil {
		return nil, err
	}
	for i := range in.ContainerDefinitions {
		if err := tdCheckContainer(&in.ContainerDefinitions[i], spec); err != nil {
			return nil, err
		}
	}
	if err := tdCheckRefs(in.ContainerDefinitions, spec); err != nil {
		return nil, err
	}
	if err := tdCheckResources(in.ContainerDefinitions, spec); err != nil {
		return nil, err
	}
	td := &model.TaskDefinition{
		Family:                  in.Family,
		ContainerDefinitions:    in.ContainerDefinitions,
		Cpu:                     in.Cpu,
		Memory:                  in.Memory,
		EnableFaultInjection:    in.EnableFaultInjection,
		EphemeralStorage:        in.EphemeralStorage,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		InferenceAccelerators:   in.InferenceAccelerators,
		IpcMode:                 in.IpcMode,
		NetworkMode:             in.NetworkMode,
		PidMode:                 in.PidMode,
		PlacementConstraints:    in.PlacementConstraints,
		ProxyConfiguration:      in.ProxyConfiguration,
		RequiresCompatibilities: in.RequiresCompatibilities,
		RuntimePlatform:         in.RuntimePlatform,
		TaskRoleArn:             in.TaskRoleArn,
		Volumes:                 in.Volumes,
	}
	if spec.cpu > 0 {
		td.Cpu = strconv.Itoa(spec.cpu)
	}
	if spec.memory > 0 {
		td.Memory = strconv.Itoa(spec.memory)
	}
	problem := tdFargateProblem(td, spec)
	if spec.fargate && problem != "" {
		return nil, clientErr("%s", problem)
	}
	td.Compatibilities = tdCompatibilities(td, spec, problem == "")
	td.RequiresAttributes = tdRequiredAttributes(td)
	return td, nil
}

// tdCheckSize applies ECS's 64 KiB quota to the definition as submitted
// (tags are not part of it).
func tdCheckSize(in *model.RegisterTaskDefinitionRequest) error {
	tags := in.Tags
	in.Tags = nil
	b, err := json.Marshal(in)
	in.Tags = tags
	if err != nil {
		return invalidParam("The task definition could not be encoded: %v.", err)
	}
	if len(b) > tdMaxBytes {
		return clientErr("The task definition is %d bytes; the limit is %d bytes (64 KiB). Move large values such as environment variables into environmentFiles or secrets.", len(b), tdMaxBytes)
	}
	return nil
}

func tdCheckTask(in *model.RegisterTaskDefinitionRequest) (*tdSpec, error) {
	if in.Family == "" {
		return nil, clientErr("Family can not be blank. Name the task definition family: up to 255 letters, numbers, underscores and hyphens.")
	}
	if !validName(in.Family) {
		return nil, clientErr("Family contains invalid characters or is too long: %q. Use up to 255 letters, numbers, underscores and hyphens.", in.Family)
	}
	switch n := len(in.ContainerDefinitions); {
	case n == 0:
		return nil, clientErr("Container list cannot be empty: give at least one container definition in containerDefinitions.")
	case n > tdMaxContainers:
		return nil, clientErr("Too many containers: %d given, a task definition holds at most %d. Split unrelated containers into separate task definitions.", n, tdMaxContainers)
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	for _, err := range []error{
		tdEnumErr("networkMode", in.NetworkMode),
		tdEnumErr("pidMode", in.PidMode),
		tdEnumErr("ipcMode", in.IpcMode),
	} {
		if err != nil {
			return nil, err
		}
	}
	spec := &tdSpec{mode: in.NetworkMode, volumes: map[string]bool{}, byName: map[string]*model.ContainerDefinition{}}
	for _, c := range in.RequiresCompatibilities {
		if err := tdEnumErr("requiresCompatibilities", c); err != nil {
			return nil, err
		}
		if c == "" {
			return nil, invalidParam("requiresCompatibilities holds an empty value: use EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES.")
		}
		spec.fargate = spec.fargate || c == model.CompatibilityFargate
		if c == model.CompatibilityExternal && in.NetworkMode == model.NetworkModeAwsvpc {
			return nil, clientErr("Task definitions for the EXTERNAL launch type do not support network mode 'awsvpc'; use bridge, host or none, or drop EXTERNAL from requiresCompatibilities.")
		}
	}
	var err error
	if in.Cpu != "" {
		if spec.cpu, err = tdParseCPU(in.Cpu); err != nil {
			return nil, err
		}
	}
	if in.Memory != "" {
		if spec.memory, err = tdParseMemory(in.Memory); err != nil {
			return nil, err
		}
	}
	if err := tdCheckVolumes(in.Volumes, spec); err != nil {
		return nil, err
	}
	if err := tdCheckPlacement(in.PlacementConstraints); err != nil {
		return nil, err
	}
	if rp := in.RuntimePlatform; rp != nil {
		if err := tdEnumErr("runtimePlatform.cpuArchitecture", rp.CpuArchitecture); err != nil {
			return nil, err
		}
		if err := tdEnumErr("runtimePlatform.operatingSystemFamily", rp.OperatingSystemFamily); err != nil {
			return nil, err
		}
	}
	if es := in.EphemeralStorage; es != nil {
		if n := model.Val(es.SizeInGiB); n < 21 || n > 200 {
			return nil, clientErr("Invalid 'ephemeralStorage' setting for task: sizeInGiB must be between 21 and 200; got %d.", n)
		}
	}
	seenAccel := map[string]bool{}
	for _, ia := range in.InferenceAccelerators {
		if ia.DeviceName == "" || ia.DeviceType == "" {
			return nil, invalidParam("Each inference accelerator needs a deviceName and a deviceType.")
		}
		if seenAccel[ia.DeviceName] {
			return nil, clientErr("Inference accelerator deviceName %q is used more than once; device names must be unique.", ia.DeviceName)
		}
		seenAccel[ia.DeviceName] = true
	}
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		if c.Name == "" {
			return nil, clientErr("Container.name should not be null or empty: give container %d a name.", i+1)
		}
		if !validName(c.Name) {
			return nil, clientErr("Container.name contains invalid characters or is too long: %q. Use up to 255 letters, numbers, underscores and hyphens.", c.Name)
		}
		if spec.byName[c.Name] != nil {
			return nil, clientErr("Container name '%s' is used more than once; container names must be unique within a task definition.", c.Name)
		}
		spec.byName[c.Name] = c
		for _, rr := range c.ResourceRequirements {
			if rr.Type == model.ResourceTypeInferenceAccelerator && !seenAccel[rr.Value] {
				return nil, clientErr("Invalid 'resourceRequirements' setting for container '%s': inference accelerator %q is not among the task's inferenceAccelerators.", c.Name, rr.Value)
			}
		}
	}
	if pc := in.ProxyConfiguration; pc != nil {
		if err := tdEnumErr("proxyConfiguration.type", pc.Type); err != nil {
			return nil, err
		}
		if spec.byName[pc.ContainerName] == nil {
			return nil, clientErr("Invalid 'proxyConfiguration': containerName %q is not a container of this task definition.", pc.ContainerName)
		}
	}
	return spec, nil
}

func tdCheckVolumes(vols []model.Volume, spec *tdSpec) error {
	atLaunch := 0
	for _, v := range vols {
		if v.Name == "" {
			return clientErr("Volume name should not be null or empty: name every volume so mountPoints can refer to it.")
		}
		if !validName(v.Name) {
			return clientErr("Volume name %q contains invalid characters: use up to 255 letters, numbers, underscores and hyphens.", v.Name)
		}
		if spec.volumes[v.Name] {
			return clientErr("Volume name '%s' is used more than once; volume names must be unique within a task definition.", v.Name)
		}
		spec.volumes[v.Name] = true
		kinds := 0
		for _, set := range []bool{v.Host != nil, v.DockerVolumeConfiguration != nil, v.EfsVolumeConfiguration != nil,
			v.FsxWindowsFileServerVolumeConfiguration != nil, v.S3filesVolumeConfiguration != nil} {
			if set {
				kinds++
			}
		}
		if kinds > 1 {
			return clientErr("Volume '%s' sets more than one of host, dockerVolumeConfiguration, efsVolumeConfiguration, fsxWindowsFileServerVolumeConfiguration and s3filesVolumeConfiguration; choose one.", v.Name)
		}
		if d := v.DockerVolumeConfiguration; d != nil {
			if err := tdEnumErr("dockerVolumeConfiguration.scope", d.Scope); err != nil {
				return err
			}
			if model.Val(d.Autoprovision) && d.Scope != model.ScopeShared {
				return clientErr("Invalid 'dockerVolumeConfiguration' for volume '%s': autoprovision applies only to scope 'shared'.", v.Name)
			}
		}
		if e := v.EfsVolumeConfiguration; e != nil {
			if e.FileSystemId == "" {
				return invalidParam("Volume '%s': efsVolumeConfiguration needs a fileSystemId.", v.Name)
			}
			if err := tdEnumErr("efsVolumeConfiguration.transitEncryption", e.TransitEncryption); err != nil {
				return err
			}
		}
		if model.Val(v.ConfiguredAtLaunch) {
			if atLaunch++; atLaunch > 1 {
				return clientErr("Only one volume of a task definition can be configured at launch; '%s' is the second.", v.Name)
			}
		}
	}
	return nil
}

func tdCheckPlacement(pcs []model.TaskDefinitionPlacementConstraint) error {
	if len(pcs) > tdMaxConstraints {
		return clientErr("Too many placement constraints: %d given, at most %d are allowed (task definition and run time together).", len(pcs), tdMaxConstraints)
	}
	for _, pc := range pcs {
		if pc.Type != model.TaskDefinitionPlacementConstraintTypeMemberOf {
			return invalidParam("Invalid placement constraint type %q: task definitions support only memberOf (distinctInstance is given at run time).", pc.Type)
		}
		if strings.TrimSpace(pc.Expression) == "" {
			return invalidParam("A memberOf placement constraint needs an expression in the cluster query language, e.g. attribute:ecs.instance-type =~ t3.*.")
		}
		if len(pc.Expression) > tdMaxExprLen {
			return invalidParam("Placement constraint expression is %d characters; the limit is %d.", len(pc.Expression), tdMaxExprLen)
		}
	}
	return nil
}

// tdCheckRefs checks what containers say about each other and about
// the task: links, dependsOn, volumesFrom, mountPoints, host ports and the
// essential container.
func tdCheckRefs(cds []model.ContainerDefinition, spec *tdSpec) error {
	essential := false
	hostPorts := map[string]string{} // "tcp/80" -> container
	for i := range cds {
		c := &cds[i]
		essential = essential || model.Val(c.Essential)
		for _, l := range c.Links {
			if spec.modeName() != model.NetworkModeBridge {
				return clientErr("Links are not supported when networkMode=%s (container '%s'); use networkMode bridge, or reach the other container through its port.", spec.modeName(), c.Name)
			}
			target, alias, hasAlias := strings.Cut(l, ":")
			if !validName(target) || hasAlias && !validName(alias) {
				return clientErr("Invalid link %q in container '%s': use name or name:alias, each up to 255 letters, numbers, underscores and hyphens.", l, c.Name)
			}
			if target == c.Name || spec.byName[target] == nil {
				return clientErr("Invalid link %q in container '%s': %q is not another container of this task definition.", l, c.Name, target)
			}
		}
		for _, vf := range c.VolumesFrom {
			if vf.SourceContainer == c.Name || spec.byName[vf.SourceContainer] == nil {
				return clientErr("Invalid 'volumesFrom' setting for container '%s': sourceContainer %q is not another container of this task definition.", c.Name, vf.SourceContainer)
			}
		}
		for _, mp := range c.MountPoints {
			if mp.SourceVolume == "" || mp.ContainerPath == "" {
				return invalidParam("Invalid 'mountPoints' setting for container '%s': each mount point needs a sourceVolume and a containerPath.", c.Name)
			}
			if !spec.volumes[mp.SourceVolume] {
				return clientErr("Invalid 'mountPoints' setting for container '%s': volume '%s' is not defined in the task definition's volumes. Add it to volumes or fix sourceVolume.", c.Name, mp.SourceVolume)
			}
		}
		for _, d := range c.DependsOn {
			if d.ContainerName == "" || d.Condition == "" {
				return invalidParam("Invalid 'dependsOn' setting for container '%s': each dependency needs a containerName and a condition (START, COMPLETE, SUCCESS or HEALTHY).", c.Name)
			}
			if err := tdEnumErr("dependsOn.condition", d.Condition); err != nil {
				return err
			}
			if d.ContainerName == c.Name {
				return clientErr("Invalid 'dependsOn' setting for container '%s': a container cannot depend on itself.", c.Name)
			}
			dep := spec.byName[d.ContainerName]
			if dep == nil {
				return clientErr("Invalid 'dependsOn' setting for container '%s': '%s' is not a container of this task definition.", c.Name, d.ContainerName)
			}
			if (d.Condition == model.ContainerConditionComplete || d.Condition == model.ContainerConditionSuccess) && model.Val(dep.Essential) {
				return clientErr("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container: mark '%s' essential=false or depend on it with START or HEALTHY.", d.ContainerName)
			}
			if d.Condition == model.ContainerConditionHealthy && dep.HealthCheck == nil {
				return clientErr("Container '%s' depends on '%s' being HEALTHY, but '%s' has no healthCheck; add one or use the START condition.", c.Name, d.ContainerName, d.ContainerName)
			}
		}
		for _, pm := range c.PortMappings {
			hp := model.Val(pm.HostPort)
			if hp == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%d", pm.Protocol, hp)
			if other, dup := hostPorts[key]; dup {
				return clientErr("%s host port '%d' is mapped multiple times in task (containers '%s' and '%s'); give each mapping its own host port, or 0 in bridge mode for a dynamic one.", strings.ToUpper(string(pm.Protocol)), hp, other, c.Name)
			}
			hostPorts[key] = c.Name
		}
	}
	if !essential {
		return clientErr("A task definition must have at least one essential container: set essential=true on the container whose exit should stop the task.")
	}
	if cycle := tdDependencyCycle(cds); cycle != nil {
		return clientErr("The containers' dependsOn settings form a cycle (%s); remove one of these dependencies.", strings.Join(cycle, " -> "))
	}
	return nil
}

// tdDependencyCycle returns the names along a dependsOn cycle, first name
// repeated at the end, or nil. References were checked before.
func tdDependencyCycle(cds []model.ContainerDefinition) []string {
	const (
		unseen = iota
		onPath
		done
	)
	idx := make(map[string]int, len(cds))
	for i, c := range cds {
		idx[c.Name] = i
	}
	state := make([]int, len(cds))
	var path []string
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = onPath
		path = append(path, cds[i].Name)
		for _, d := range cds[i].DependsOn {
			j, ok := idx[d.ContainerName]
			if !ok {
				continue
			}
			switch state[j] {
			case onPath:
				start := slices.Index(path, cds[j].Name)
				return append(slices.Clone(path[start:]), cds[j].Name)
			case unseen:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		return nil
	}
	for i := range cds {
		if state[i] == unseen {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// tdCheckResources relates the containers' cpu and memory to the task's.
func tdCheckResources(cds []model.ContainerDefinition, spec *tdSpec) error {
	var cpuSum, reserveSum int64
	for _, c := range cds {
		cpuSum += int64(model.Val(c.Cpu))
		reserve := c.MemoryReservation
		if reserve == nil {
			reserve = c.Memory
		}
		reserveSum += int64(model.Val(reserve))
		if spec.memory > 0 && int(model.Val(c.Memory)) > spec.memory {
			return clientErr("Invalid 'memory' setting for container '%s': %d MiB is more than the task's memory of %d MiB. Lower it or raise the task memory.", c.Name, model.Val(c.Memory), spec.memory)
		}
	}
	if spec.cpu > 0 && cpuSum > int64(spec.cpu) {
		return clientErr("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu': %d > %d units.", cpuSum, spec.cpu)
	}
	if spec.memory > 0 && reserveSum > int64(spec.memory) {
		return clientErr("The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory': %d > %d MiB (a container without memoryReservation counts its memory).", reserveSum, spec.memory)
	}
	return nil
}
