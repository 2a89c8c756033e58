package ecsapi

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// launchInput is what RunTask and StartTask share.
type launchInput struct {
	Cluster              string
	TaskDefinition       string
	Group                string
	StartedBy            string
	Overrides            *model.TaskOverride
	Tags                 []model.Tag
	PropagateTags        model.PropagateTags
	EnableECSManagedTags *bool
	EnableExecuteCommand *bool
	NetworkConfiguration *model.NetworkConfiguration
	VolumeConfigurations []model.TaskVolumeConfiguration
	// AllowInactive accepts a deregistered (INACTIVE) revision. Only a
	// service's own launches set it: ECS keeps running a service whose
	// revision was deregistered, while RunTask and StartTask refuse it.
	AllowInactive bool
}

// taskLaunch is a validated launch: everything needed to create its tasks
// except the instance each one lands on.
type taskLaunch struct {
	// fence is the launching leader's fence (ServiceLaunch.Fence), nil for
	// launches of API callers.
	fence      func() (store.Cond, error)
	cluster    *state.Cluster
	clusterRev int64
	td         *model.TaskDefinition
	launchType model.LaunchType
	group      string
	startedBy  string
	overrides  *model.TaskOverride // ECS's form: one entry per container
	tags       []model.Tag
	enableExec bool
	demand     state.TaskReservation
	token      string
	// Placement beyond the task definition's own constraints: the request's
	// constraints and strategies, and the strategies used when it gives none
	// (nil: RunTask's default).
	constraints       []model.PlacementConstraint
	strategies        []model.PlacementStrategy
	defaultStrategies []scheduler.Strategy
	// execTimeout is the task's execution time limit in seconds (0: none).
	execTimeout int64
	// waitFor is how long RunTask's tasks that fit nowhere wait for
	// capacity, PROVISIONING, instead of failing (0: they fail, as in ECS).
	waitFor time.Duration
	// capacityProvider is the provider of the strategy the tasks come from
	// ("" for a launch type).
	capacityProvider string
	// network is the awsvpc configuration of the launch (nil otherwise).
	network *model.NetworkConfiguration
}

// prepareLaunch validates the shared input, resolves the cluster and the task
// definition (INACTIVE refused unless in.AllowInactive), and works out what each task needs.
func (a *API) prepareLaunch(ctx context.Context, in launchInput, startedByMax int) (*taskLaunch, error) {
	if in.TaskDefinition == "" {
		return nil, invalidParam("taskDefinition is required: give family, family:revision or a task definition ARN.")
	}
	if err := validateStartedBy(in.StartedBy, startedByMax); err != nil {
		return nil, err
	}
	if err := validateGroup(in.Group); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if err := validatePropagateTags(in.PropagateTags); err != nil {
		return nil, err
	}
	if err := validateOverridesShape(in.Overrides); err != nil {
		return nil, err
	}
	if len(in.VolumeConfigurations) > 0 {
		return nil, invalidParam("volumeConfigurations (Amazon EBS volumes configured at launch) are not supported by Wharf; use the task definition's host or Docker volumes.")
	}
	c, crev, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	rec, err := a.taskDefinition(ctx, in.TaskDefinition, in.AllowInactive)
	if err != nil {
		return nil, err
	}
	td := &rec.TaskDefinition
	if err := checkNetwork(td, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	if err := checkOverrideNames(td, in.Overrides); err != nil {
		return nil, err
	}
	for _, pc := range td.PlacementConstraints {
		if _, err := parseQuery("memberOf", pc.Expression); err != nil {
			return nil, err
		}
	}
	demand, err := taskDemand(td, in.Overrides)
	if err != nil {
		return nil, err
	}
	l := &taskLaunch{
		cluster:    c,
		clusterRev: crev,
		td:         td,
		group:      in.Group,
		startedBy:  in.StartedBy,
		overrides:  fullOverrides(td, in.Overrides),
		enableExec: model.Val(in.EnableExecuteCommand),
		demand:     demand,
	}
	if l.group == "" {
		l.group = "family:" + td.Family
	}
	l.tags = slices.Clone(in.Tags)
	if in.PropagateTags == model.PropagateTagsTaskDefinition {
		l.tags = mergeTags(rec.Tags, in.Tags)
		if err := validateTags(l.tags); err != nil {
			return nil, invalidParam("With the task definition's tags propagated the task would break a tag rule: %s", awsMessage(err))
		}
	}
	if model.Val(in.EnableECSManagedTags) {
		l.tags = append(l.tags, model.Tag{Key: "aws:ecs:clusterName", Value: c.ClusterName})
	}
	if l.execTimeout, err = executionTimeout(in.Tags, rec.Tags); err != nil {
		return nil, err
	}
	return l, nil
}

// checkLaunchType refuses a launch type the task definition does not allow.
func checkLaunchType(td *model.TaskDefinition, lt model.LaunchType) error {
	if lt == model.LaunchTypeFargate && !slices.Contains(td.Compatibilities, model.CompatibilityFargate) {
		return invalidParam("Task definition does not support launch_type FARGATE: its compatibilities are %v. A Fargate task needs networkMode awsvpc and task-level cpu and memory of a Fargate size; register a revision with requiresCompatibilities FARGATE to be told what is missing.", td.Compatibilities)
	}
	if len(td.RequiresCompatibilities) == 0 {
		return nil
	}
	if slices.Contains(td.RequiresCompatibilities, model.Compatibility(lt)) {
		return nil
	}
	return invalidParam("Task definition does not support launch_type %s. Its requiresCompatibilities are %v; register a revision that includes %s.", lt, td.RequiresCompatibilities, lt)
}

// checkNetwork refuses a networkConfiguration for a task definition whose
// network mode is not awsvpc; checkAwsvpc checks one that is.
func checkNetwork(td *model.TaskDefinition, nc *model.NetworkConfiguration) error {
	if nc != nil && td.NetworkMode != model.NetworkModeAwsvpc {
		return invalidParam("Network Configuration is not valid for the given networkMode of this task definition: networkConfiguration applies only to the awsvpc network mode; remove it.")
	}
	return nil
}

func checkOverrideNames(td *model.TaskDefinition, ov *model.TaskOverride) error {
	if ov == nil {
		return nil
	}
	for _, co := range ov.ContainerOverrides {
		if def := containerDef(td, co.Name); def == nil {
			return invalidParam("Override for container named %s is not a container in the TaskDefinition; its containers are %s.", co.Name, containerNames(td))
		}
	}
	return nil
}

func containerDef(td *model.TaskDefinition, name string) *model.ContainerDefinition {
	for i := range td.ContainerDefinitions {
		if td.ContainerDefinitions[i].Name == name {
			return &td.ContainerDefinitions[i]
		}
	}
	return nil
}

func containerOverride(ov *model.TaskOverride, name string) *model.ContainerOverride {
	if ov == nil {
		return nil
	}
	for i := range ov.ContainerOverrides {
		if ov.ContainerOverrides[i].Name == name {
			return &ov.ContainerOverrides[i]
		}
	}
	return nil
}

// containerLimits are one container's effective cpu and memory settings.
type containerLimits struct {
	CPU, Memory, MemoryReservation *int32
}

func effectiveLimits(def *model.ContainerDefinition, co *model.ContainerOverride) containerLimits {
	l := containerLimits{CPU: def.Cpu, Memory: def.Memory, MemoryReservation: def.MemoryReservation}
	if co != nil {
		if co.Cpu != nil {
			l.CPU = co.Cpu
		}
		if co.Memory != nil {
			l.Memory = co.Memory
		}
		if co.MemoryReservation != nil {
			l.MemoryReservation = co.MemoryReservation
		}
	}
	return l
}

// taskDemand is what one task reserves on its instance. CPU is the task-level
// cpu if set, else the sum of the containers'. Memory is the task-level memory
// if set, else per container its memoryReservation (the soft limit ECS
// reserves when given) or else its hard memory limit. Ports are the static
// host ports: hostPort > 0 in bridge mode, and in host mode hostPort or else
// containerPort; port ranges map to dynamic host ports and reserve nothing,
// as do awsvpc tasks' ports (on the task's own address).
func taskDemand(td *model.TaskDefinition, ov *model.TaskOverride) (state.TaskReservation, error) {
	var d state.TaskReservation
	var cpuSum, memSum int64
	for i := range td.ContainerDefinitions {
		def := &td.ContainerDefinitions[i]
		l := effectiveLimits(def, containerOverride(ov, def.Name))
		if l.Memory != nil && l.MemoryReservation != nil && *l.Memory < *l.MemoryReservation {
			return d, invalidParam("Container %q would have memory %d MiB below its memoryReservation %d MiB; the hard limit must be at least the soft limit.", def.Name, *l.Memory, *l.MemoryReservation)
		}
		cpuSum += int64(model.Val(l.CPU))
		if l.MemoryReservation != nil {
			memSum += int64(*l.MemoryReservation)
		} else {
			memSum += int64(model.Val(l.Memory))
		}
	}
	taskCPU, taskMem := td.Cpu, td.Memory
	if ov != nil && ov.Cpu != "" {
		taskCPU = ov.Cpu
	}
	if ov != nil && ov.Memory != "" {
		taskMem = ov.Memory
	}
	if taskCPU != "" {
		v, ok := parseTaskCPU(taskCPU)
		if !ok {
			return d, invalidParam("The task cpu %q cannot be read: give CPU units (e.g. 512) or vCPUs (e.g. 0.5 vCPU).", taskCPU)
		}
		cpuSum = int64(v)
	}
	if taskMem != "" {
		v, ok := parseTaskMemory(taskMem)
		if !ok {
			return d, invalidParam("The task memory %q cannot be read: give MiB (e.g. 1024) or GB (e.g. 1 GB).", taskMem)
		}
		memSum = int64(v)
	}
	if cpuSum > 1<<30 || memSum > 1<<30 {
		return d, invalidParam("The task asks for more CPU or memory than any container instance can have.")
	}
	d.CPU, d.Memory = int32(cpuSum), int32(memSum)
	var tcp, udp []string
	for _, def := range td.ContainerDefinitions {
		for _, pm := range def.PortMappings {
			port := model.Val(pm.HostPort)
			if td.NetworkMode == model.NetworkModeHost && port == 0 {
				port = model.Val(pm.ContainerPort)
			}
			// An awsvpc task has an address of its own: its ports take
			// nothing on the instance.
			if td.NetworkMode == model.NetworkModeNone || td.NetworkMode == model.NetworkModeAwsvpc || port <= 0 {
				continue
			}
			if pm.Protocol == model.TransportProtocolUdp {
				udp = append(udp, strconv.Itoa(int(port)))
			} else {
				tcp = append(tcp, strconv.Itoa(int(port)))
			}
		}
	}
	if len(tcp) > 0 {
		d.PortsTCP = sortPorts(tcp)
	}
	if len(udp) > 0 {
		d.PortsUDP = sortPorts(udp)
	}
	return d, nil
}

// fullOverrides is the overrides as ECS shows them on a task: one container
// override per container of the task definition (bare {name} where none was
// given), plus the task-level overrides.
func fullOverrides(td *model.TaskDefinition, ov *model.TaskOverride) *model.TaskOverride {
	out := &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{}}
	if ov != nil {
		cp := *model.Clone(ov)
		cp.ContainerOverrides = []model.ContainerOverride{}
		out = &cp
	}
	for _, def := range td.ContainerDefinitions {
		co := model.ContainerOverride{Name: def.Name}
		if given := containerOverride(ov, def.Name); given != nil {
			co = *model.Clone(given)
		}
		out.ContainerOverrides = append(out.ContainerOverrides, co)
	}
	return out
}

// newTask builds a PENDING task of the launch placed on inst.
func (a *API) newTask(l *taskLaunch, inst *state.ContainerInstance, now *model.Time) *state.Task {
	id := newID()
	cluster := l.cluster.ClusterName
	taskArn := a.arns.Task(cluster, id)
	containers := make([]model.Container, 0, len(l.td.ContainerDefinitions))
	for i := range l.td.ContainerDefinitions {
		def := &l.td.ContainerDefinitions[i]
		lim := effectiveLimits(def, containerOverride(l.overrides, def.Name))
		c := model.Container{
			ContainerArn: a.arns.Container(cluster, id, newUUID()),
			TaskArn:      taskArn,
			Name:         def.Name,
			Image:        def.Image,
			LastStatus:   "PENDING",
			HealthStatus: model.HealthStatusUnknown,
			Cpu:          strconv.Itoa(int(model.Val(lim.CPU))),
		}
		if lim.Memory != nil {
			c.Memory = strconv.Itoa(int(*lim.Memory))
		}
		if lim.MemoryReservation != nil {
			c.MemoryReservation = strconv.Itoa(int(*lim.MemoryReservation))
		}
		containers = append(containers, c)
	}
	t := &state.Task{
		Task: model.Task{
			TaskArn:              taskArn,
			ClusterArn:           l.cluster.ClusterArn,
			TaskDefinitionArn:    l.td.TaskDefinitionArn,
			ContainerInstanceArn: inst.ContainerInstanceArn,
			LaunchType:           l.launchType,
			LastStatus:           "PENDING",
			DesiredStatus:        "RUNNING",
			CreatedAt:            now,
			Version:              model.Ptr(int64(1)),
			Group:                l.group,
			StartedBy:            l.startedBy,
			Overrides:            model.Clone(l.overrides),
			Cpu:                  strconv.Itoa(int(l.demand.CPU)),
			HealthStatus:         model.HealthStatusUnknown,
			Tags:                 slices.Clone(l.tags),
			EnableExecuteCommand: model.Ptr(l.enableExec),
			Containers:           containers,
			AvailabilityZone:     instanceAttr(inst, "ecs.availability-zone"),
		},
		InstanceID:  inst.ID,
		ClientToken: l.token,
		// Kept so that ExplainPlacement can replay the task's launch.
		PlacementConstraints: slices.Clone(l.constraints),
		PlacementStrategy:    slices.Clone(l.strategies),
		ExecutionTimeout:     l.execTimeout,
		Reserved:             model.Clone(&l.demand),
	}
	if l.demand.Memory > 0 {
		t.Memory = strconv.Itoa(int(l.demand.Memory))
	}
	t.CapacityProviderName = l.capacityProvider
	if l.launchType == model.LaunchTypeFargate {
		t.PlatformVersion, t.PlatformFamily = fargatePlatformVersion, fargatePlatformFamily
	}
	a.addNetworkAttachment(t, l)
	hideFargateInstance(t)
	// ECS reports the CPU architecture of the instance the task landed on;
	// an instance whose agent did not report one gets none rather than a guess.
	if arch := instanceAttr(inst, "ecs.cpu-architecture"); arch != "" {
		t.Attributes = []model.Attribute{{Name: "ecs.cpu-architecture", Value: arch}}
	}
	return t
}

func instanceAttr(inst *state.ContainerInstance, name string) string {
	for _, at := range inst.Attributes {
		if at.Name == name {
			return at.Value
		}
	}
	return ""
}

// awsMessage is the message of an API error, for wrapping in another.
func awsMessage(err error) string {
	if e, ok := awsproto.AsError(err); ok {
		return e.Message
	}
	return err.Error()
}
