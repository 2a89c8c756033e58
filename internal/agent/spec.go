package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Labels on every container the agent makes. They are how the agent finds its
// containers again after a restart: Docker, not the agent's memory, is the truth.
const (
	labelCluster       = "com.amazonaws.ecs.cluster"
	labelTaskArn       = "com.amazonaws.ecs.task-arn"
	labelContainerName = "com.amazonaws.ecs.container-name"
	labelFamily        = "com.amazonaws.ecs.task-definition-family"
	labelRevision      = "com.amazonaws.ecs.task-definition-version"
	labelInstance      = "org.wharf-ecs.container-instance-arn"
)

// defaultStopTimeout is the ECS agent's default grace period between SIGTERM
// and SIGKILL (ECS_CONTAINER_STOP_TIMEOUT).
const defaultStopTimeout = 30 * time.Second

func taskID(taskArn string) string { return taskArn[strings.LastIndexByte(taskArn, '/')+1:] }

// containerName is the runtime name of a task's container. It is fixed by task
// and container so a second Create after a crash fails with "name in use"
// instead of starting a duplicate.
func containerName(taskArn, name string) string { return "wharf-" + taskID(taskArn) + "-" + name }

// containerTaskID is the task ID in a container's runtime name
// (containerName; Docker's events give it with a leading slash), or false
// for a name not made by containerName.
func containerTaskID(runtimeName string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(runtimeName, "/"), "wharf-")
	id, _, found := strings.Cut(rest, "-")
	return id, ok && found && id != ""
}

// volumeName is the name of a task-scoped Docker volume.
func volumeName(taskArn, name string) string { return "wharf-" + taskID(taskArn) + "-" + name }

// buildSpec turns one container definition of a task into what the runtime
// creates, applying the task's overrides.
func buildSpec(task *model.Task, def *model.TaskDefinition, cd *model.ContainerDefinition, instanceArn string) (runtime.ContainerSpec, error) {
	ov := containerOverride(task, cd.Name)
	s := runtime.ContainerSpec{
		Name:       containerName(task.TaskArn, cd.Name),
		Image:      cd.Image,
		Entrypoint: cd.EntryPoint,
		Command:    cd.Command,
		WorkingDir: cd.WorkingDirectory,
		User:       cd.User,
		Hostname:   cd.Hostname,
		CPU:        int64(model.Val(cd.Cpu)),
		MemoryMiB:  int64(model.Val(cd.Memory)),

		MemoryReservationMiB: int64(model.Val(cd.MemoryReservation)),
		ReadonlyRootfs:       model.Val(cd.ReadonlyRootFilesystem),
		Privileged:           model.Val(cd.Privileged),
		PseudoTerminal:       model.Val(cd.PseudoTerminal),
		Interactive:          model.Val(cd.Interactive),
		DNSServers:           cd.DnsServers,
		DNSSearch:            cd.DnsSearchDomains,
		SecurityOptions:      cd.DockerSecurityOptions,
		StopTimeout:          stopTimeout(cd),
	}
	if ov != nil {
		if ov.Command != nil {
			s.Command = ov.Command
		}
		if ov.Cpu != nil {
			s.CPU = int64(*ov.Cpu)
		}
		if ov.Memory != nil {
			s.MemoryMiB = int64(*ov.Memory)
		}
		if ov.MemoryReservation != nil {
			s.MemoryReservationMiB = int64(*ov.MemoryReservation)
		}
	}
	s.Env = map[string]string{}
	for _, kv := range cd.Environment {
		s.Env[kv.Name] = kv.Value
	}
	if ov != nil {
		for _, kv := range ov.Environment {
			s.Env[kv.Name] = kv.Value
		}
	}
	s.Labels = map[string]string{}
	for k, v := range cd.DockerLabels {
		s.Labels[k] = v
	}
	family, rev := def.Family, fmt.Sprint(model.Val(def.Revision))
	s.Labels[labelCluster] = clusterFromArn(task.ClusterArn)
	s.Labels[labelTaskArn] = task.TaskArn
	s.Labels[labelContainerName] = cd.Name
	s.Labels[labelFamily] = family
	s.Labels[labelRevision] = rev
	s.Labels[labelInstance] = instanceArn

	switch def.NetworkMode {
	case "", model.NetworkModeBridge:
		s.NetworkMode = "bridge"
	case model.NetworkModeHost:
		s.NetworkMode = "host"
	case model.NetworkModeNone:
		s.NetworkMode = "none"
	case model.NetworkModeAwsvpc:
		s.NetworkMode = "awsvpc" // the runner joins the task's namespace (awsvpc.go)
	default:
		return s, fmt.Errorf("network mode %s is not supported by this agent", def.NetworkMode)
	}
	if model.Val(cd.DisableNetworking) {
		s.NetworkMode = "none"
	}
	for _, pm := range cd.PortMappings {
		if pm.ContainerPortRange != "" {
			return s, fmt.Errorf("container %s: containerPortRange is not supported by this agent", cd.Name)
		}
		proto := string(pm.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		host := int(model.Val(pm.HostPort))
		if s.NetworkMode == "host" {
			host = int(model.Val(pm.ContainerPort))
		}
		s.PortMappings = append(s.PortMappings, runtime.PortMapping{
			ContainerPort: int(model.Val(pm.ContainerPort)), HostPort: host, Protocol: proto,
		})
	}
	for _, l := range cd.Links {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		s.Links = append(s.Links, containerName(task.TaskArn, name)+":"+alias)
	}
	for _, h := range cd.ExtraHosts {
		s.ExtraHosts = append(s.ExtraHosts, runtime.ExtraHost{Hostname: h.Hostname, IPAddress: h.IpAddress})
	}
	for _, u := range cd.Ulimits {
		s.Ulimits = append(s.Ulimits, runtime.Ulimit{Name: string(u.Name), Soft: int64(model.Val(u.SoftLimit)), Hard: int64(model.Val(u.HardLimit))})
	}
	for _, sc := range cd.SystemControls {
		if s.Sysctls == nil {
			s.Sysctls = map[string]string{}
		}
		s.Sysctls[sc.Namespace] = sc.Value
	}
	if lp := cd.LinuxParameters; lp != nil {
		if lp.Capabilities != nil {
			s.CapAdd, s.CapDrop = lp.Capabilities.Add, lp.Capabilities.Drop
		}
		s.Init = model.Val(lp.InitProcessEnabled)
		s.ShmSizeMiB = int64(model.Val(lp.SharedMemorySize))
		if lp.MaxSwap != nil {
			s.MaxSwapMiB = model.Ptr(int64(*lp.MaxSwap))
		}
		if lp.Swappiness != nil {
			s.Swappiness = model.Ptr(int64(*lp.Swappiness))
		}
		for _, t := range lp.Tmpfs {
			s.Tmpfs = append(s.Tmpfs, runtime.Tmpfs{ContainerPath: t.ContainerPath, SizeMiB: int64(model.Val(t.Size)), MountOptions: t.MountOptions})
		}
		if len(lp.Devices) > 0 {
			return s, fmt.Errorf("container %s: linuxParameters.devices is not supported by this agent", cd.Name)
		}
	}
	if hc := cd.HealthCheck; hc != nil {
		s.HealthCheck = &runtime.HealthCheck{
			Command:     hc.Command,
			Interval:    time.Duration(model.Val(hc.Interval)) * time.Second,
			Timeout:     time.Duration(model.Val(hc.Timeout)) * time.Second,
			Retries:     int(model.Val(hc.Retries)),
			StartPeriod: time.Duration(model.Val(hc.StartPeriod)) * time.Second,
		}
	}
	if lc := cd.LogConfiguration; lc != nil {
		switch lc.LogDriver {
		case "json-file", "none", "local", "syslog", "journald", "fluentd", "gelf", "splunk":
			s.LogConfig = &runtime.LogConfig{Driver: string(lc.LogDriver), Options: lc.Options}
		case "awslogs":
			// The agent ships the output itself (logs.go).
			if err := awslogsSpec(&s, cd); err != nil {
				return s, err
			}
		default:
			// awsfirelens routes logs to AWS services; the output stays
			// readable with docker logs.
			s.LogConfig = &runtime.LogConfig{Driver: "json-file"}
		}
	}
	vols := map[string]model.Volume{}
	for _, v := range def.Volumes {
		vols[v.Name] = v
	}
	for _, mp := range cd.MountPoints {
		v, ok := vols[mp.SourceVolume]
		if !ok {
			return s, fmt.Errorf("container %s: mount point names volume %q, which the task definition does not define", cd.Name, mp.SourceVolume)
		}
		m := runtime.Mount{Target: mp.ContainerPath, ReadOnly: model.Val(mp.ReadOnly)}
		switch {
		case v.Host != nil && v.Host.SourcePath != "":
			m.Type, m.Source = runtime.MountBind, v.Host.SourcePath
		case v.DockerVolumeConfiguration != nil && v.DockerVolumeConfiguration.Scope == model.ScopeShared:
			m.Type, m.Source = runtime.MountVolume, v.Name
		case v.EfsVolumeConfiguration != nil || v.FsxWindowsFileServerVolumeConfiguration != nil:
			return s, fmt.Errorf("container %s: volume %q uses a cloud file system, which this agent cannot mount", cd.Name, v.Name)
		default:
			// A task-scoped volume: shared by the task's containers, removed with the task.
			m.Type, m.Source = runtime.MountVolume, volumeName(task.TaskArn, v.Name)
		}
		s.Mounts = append(s.Mounts, m)
	}
	for _, vf := range cd.VolumesFrom {
		s.VolumesFrom = append(s.VolumesFrom, runtime.VolumeFrom{
			Container: containerName(task.TaskArn, vf.SourceContainer), ReadOnly: model.Val(vf.ReadOnly),
		})
	}
	return s, nil
}

// addSecrets puts a container's secrets, which the server resolved for this
// start, into its environment after the environment and the overrides, so a
// secret wins over a variable of the same name. The values must never reach
// a log line or an error message.
func addSecrets(s *runtime.ContainerSpec, t *agentproto.AgentTask, cd *model.ContainerDefinition) error {
	for _, sec := range cd.Secrets {
		v, ok := t.Secrets[cd.Name][sec.Name]
		if !ok {
			return fmt.Errorf("the control plane sent no value for secret %s of container %s", sec.Name, cd.Name)
		}
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[sec.Name] = v
	}
	return nil
}

func stopTimeout(cd *model.ContainerDefinition) time.Duration {
	if cd.StopTimeout != nil && *cd.StopTimeout > 0 {
		return time.Duration(*cd.StopTimeout) * time.Second
	}
	return defaultStopTimeout
}

func containerOverride(task *model.Task, name string) *model.ContainerOverride {
	if task.Overrides == nil {
		return nil
	}
	for i := range task.Overrides.ContainerOverrides {
		if task.Overrides.ContainerOverrides[i].Name == name {
			return &task.Overrides.ContainerOverrides[i]
		}
	}
	return nil
}

func clusterFromArn(arn string) string {
	i := strings.LastIndexByte(arn, '/')
	return arn[i+1:]
}
