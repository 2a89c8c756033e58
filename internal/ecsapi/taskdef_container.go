package ecsapi

import (
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
)

// tdCheckContainer validates one container definition on its own and fills in
// the values ECS shows for omitted members: essential (true), cpu (0), the
// port mappings' protocol (tcp) and, where host and container port must be
// equal, hostPort; and the health check's interval, timeout and retries.
func tdCheckContainer(c *model.ContainerDefinition, spec *tdSpec) error {
	if c.Essential == nil {
		c.Essential = model.Ptr(true)
	}
	if c.Cpu == nil {
		c.Cpu = model.Ptr(int32(0))
	}
	if err := tdCheckImage(c); err != nil {
		return err
	}
	if err := tdCheckMemory(c, spec); err != nil {
		return err
	}
	if *c.Cpu < 0 {
		return clientErr("Invalid 'cpu' setting for container '%s': CPU units cannot be negative (1024 units are one vCPU).", c.Name)
	}
	if err := tdCheckPorts(c, spec); err != nil {
		return err
	}
	if err := tdCheckHealth(c); err != nil {
		return err
	}
	if err := tdCheckUlimits(c); err != nil {
		return err
	}
	if err := tdCheckLog(c); err != nil {
		return err
	}
	if err := tdEnumErr("versionConsistency", c.VersionConsistency); err != nil {
		return err
	}
	if spec.modeName() == model.NetworkModeAwsvpc {
		if c.Hostname != "" {
			return clientErr("Invalid 'hostname' setting for container '%s': hostname is not supported with networkMode=awsvpc; remove it.", c.Name)
		}
		if len(c.ExtraHosts) > 0 {
			return clientErr("Invalid 'extraHosts' setting for container '%s': extraHosts is not supported with networkMode=awsvpc; remove it.", c.Name)
		}
	}
	for _, h := range c.ExtraHosts {
		if h.Hostname == "" || h.IpAddress == "" {
			return invalidParam("Invalid 'extraHosts' setting for container '%s': each entry needs a hostname and an ipAddress.", c.Name)
		}
	}
	for _, s := range c.Secrets {
		if s.Name == "" || s.ValueFrom == "" {
			return invalidParam("Invalid 'secrets' setting for container '%s': each secret needs a name and a valueFrom.", c.Name)
		}
	}
	if len(c.EnvironmentFiles) > 10 {
		return clientErr("Invalid 'environmentFiles' setting for container '%s': at most 10 environment files are allowed; got %d.", c.Name, len(c.EnvironmentFiles))
	}
	for _, f := range c.EnvironmentFiles {
		if f.Type == "" || f.Value == "" {
			return invalidParam("Invalid 'environmentFiles' setting for container '%s': each file needs type s3 and a value (the object's ARN).", c.Name)
		}
		if err := tdEnumErr("environmentFiles.type", f.Type); err != nil {
			return err
		}
	}
	if fc := c.FirelensConfiguration; fc != nil {
		if fc.Type == "" {
			return invalidParam("Invalid 'firelensConfiguration' for container '%s': type is required (fluentd or fluentbit).", c.Name)
		}
		if err := tdEnumErr("firelensConfiguration.type", fc.Type); err != nil {
			return err
		}
	}
	if err := tdCheckResourceReqs(c); err != nil {
		return err
	}
	if err := tdCheckLinux(c); err != nil {
		return err
	}
	if model.Val(c.StartTimeout) < 0 || model.Val(c.StopTimeout) < 0 {
		return clientErr("Invalid timeout for container '%s': startTimeout and stopTimeout are seconds and cannot be negative.", c.Name)
	}
	if rp := c.RestartPolicy; rp != nil {
		if p := rp.RestartAttemptPeriod; p != nil && (*p < 60 || *p > 1800) {
			return clientErr("Invalid 'restartPolicy' for container '%s': restartAttemptPeriod must be between 60 and 1800 seconds; got %d.", c.Name, *p)
		}
		if len(rp.IgnoredExitCodes) > 50 {
			return clientErr("Invalid 'restartPolicy' for container '%s': at most 50 ignoredExitCodes are allowed; got %d.", c.Name, len(rp.IgnoredExitCodes))
		}
	}
	return nil
}

// tdCheckImage applies the documented form: up to 255 characters of letters,
// numbers, hyphens, underscores, colons, periods, slashes and number signs
// before an optional @sha256: digest of 64 hex digits.
func tdCheckImage(c *model.ContainerDefinition) error {
	if c.Image == "" {
		return clientErr("Container.image should not be null or empty: give container '%s' an image, e.g. busybox:latest.", c.Name)
	}
	ref, digest, hasDigest := strings.Cut(c.Image, "@")
	if len(ref) > 255 {
		return clientErr("Invalid 'image' setting for container '%s': the image name is %d characters, the limit is 255.", c.Name, len(ref))
	}
	for i := 0; i < len(ref); i++ {
		ch := ref[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-_:./#", ch) >= 0) {
			return clientErr("Invalid 'image' setting for container '%s': %q contains %q; use repository-url/image:tag or repository-url/image@sha256:digest.", c.Name, c.Image, ch)
		}
	}
	if ref == "" {
		return clientErr("Invalid 'image' setting for container '%s': %q has no image name before the digest.", c.Name, c.Image)
	}
	if hasDigest {
		hex, ok := strings.CutPrefix(digest, "sha256:")
		if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdefABCDEF") != "" {
			return clientErr("Invalid 'image' setting for container '%s': a digest must be sha256: followed by 64 hex digits.", c.Name)
		}
	}
	return nil
}

func tdCheckMemory(c *model.ContainerDefinition, spec *tdSpec) error {
	if c.Memory == nil && c.MemoryReservation == nil && spec.memory == 0 {
		return clientErr("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified (or set memory at the task level).", c.Name)
	}
	if m := c.Memory; m != nil && *m < tdMinMemoryMiB {
		return clientErr("Invalid 'memory' setting for container '%s': %d MiB is below the minimum of %d MiB.", c.Name, *m, tdMinMemoryMiB)
	}
	if r := c.MemoryReservation; r != nil && *r < tdMinMemoryMiB {
		return clientErr("Invalid 'memoryReservation' setting for container '%s': %d MiB is below the minimum of %d MiB.", c.Name, *r, tdMinMemoryMiB)
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
		return clientErr("Invalid setting for container '%s'. 'memory' (%d MiB) must be greater than or equal to 'memoryReservation' (%d MiB).", c.Name, *c.Memory, *c.MemoryReservation)
	}
	return nil
}

func tdCheckPorts(c *model.ContainerDefinition, spec *tdSpec) error {
	mode := spec.modeName()
	if len(c.PortMappings) > 0 && mode == model.NetworkModeNone {
		return clientErr("Invalid 'portMappings' setting for container '%s': port mappings are not allowed with networkMode=none.", c.Name)
	}
	names := map[string]bool{}
	for i := range c.PortMappings {
		pm := &c.PortMappings[i]
		if err := tdEnumErr("portMappings.protocol", pm.Protocol); err != nil {
			return err
		}
		if err := tdEnumErr("portMappings.appProtocol", pm.AppProtocol); err != nil {
			return err
		}
		if pm.Protocol == "" {
			pm.Protocol = model.TransportProtocolTcp
		}
		if pm.Name != "" {
			if !tdPortName(pm.Name) {
				return clientErr("Invalid port mapping name %q in container '%s': up to 64 lowercase letters, numbers, underscores and hyphens, not starting with a hyphen.", pm.Name, c.Name)
			}
			if names[pm.Name] {
				return clientErr("Port mapping name %q is used more than once in container '%s'.", pm.Name, c.Name)
			}
			names[pm.Name] = true
		}
		if hp := pm.HostPort; hp != nil && (*hp < 0 || *hp > 65535) {
			return clientErr("Invalid 'hostPort' setting for container '%s': %d is not a port (0-65535).", c.Name, *hp)
		}
		if pm.ContainerPortRange != "" {
			if err := tdCheckPortRange(c.Name, pm, mode); err != nil {
				return err
			}
			continue
		}
		cp := model.Val(pm.ContainerPort)
		if cp < 1 || cp > 65535 {
			return clientErr("Invalid 'containerPort' setting for container '%s': give a containerPort between 1 and 65535 (got %d).", c.Name, cp)
		}
		if mode == model.NetworkModeHost || mode == model.NetworkModeAwsvpc {
			if hp := model.Val(pm.HostPort); pm.HostPort != nil && hp != 0 && hp != cp {
				return clientErr("When networkMode=%s, the host ports and container ports in port mappings must match (container '%s': hostPort %d, containerPort %d). Omit hostPort or set it to %d.", mode, c.Name, hp, cp, cp)
			}
			pm.HostPort = model.Ptr(cp)
		}
	}
	return nil
}

func tdCheckPortRange(name string, pm *model.PortMapping, mode model.NetworkMode) error {
	if mode != model.NetworkModeBridge && mode != model.NetworkModeAwsvpc {
		return clientErr("Invalid 'containerPortRange' setting for container '%s': port ranges need networkMode bridge or awsvpc.", name)
	}
	if pm.ContainerPort != nil || pm.HostPort != nil {
		return clientErr("Invalid port mapping in container '%s': with containerPortRange, leave containerPort and hostPort out.", name)
	}
	lo, hi, ok := strings.Cut(pm.ContainerPortRange, "-")
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if !ok || errA != nil || errB != nil || a < 1 || b > 65535 || a >= b {
		return clientErr("Invalid 'containerPortRange' setting for container '%s': %q must be FROM-TO with 1 <= FROM < TO <= 65535.", name, pm.ContainerPortRange)
	}
	return nil
}

func tdPortName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			return false
		}
	}
	return true
}

// Health check bounds and the defaults ECS reports for omitted values.
const (
	tdHCIntervalMin, tdHCIntervalMax, tdHCIntervalDefault = 5, 300, 30
	tdHCTimeoutMin, tdHCTimeoutMax, tdHCTimeoutDefault    = 2, 60, 5
	tdHCRetriesMin, tdHCRetriesMax, tdHCRetriesDefault    = 1, 10, 3
	tdHCStartMin, tdHCStartMax                            = 0, 300
)

func tdCheckHealth(c *model.ContainerDefinition) error {
	hc := c.HealthCheck
	if hc == nil {
		return nil
	}
	if len(hc.Command) < 2 || hc.Command[0] != "CMD" && hc.Command[0] != "CMD-SHELL" {
		return clientErr(`Invalid 'healthCheck' setting for container '%s': command must start with CMD or CMD-SHELL followed by the check, e.g. ["CMD-SHELL", "curl -f http://localhost/ || exit 1"].`, c.Name)
	}
	bounds := []struct {
		field    string
		v        **int32
		min, max int32
		def      int32
	}{
		{"interval", &hc.Interval, tdHCIntervalMin, tdHCIntervalMax, tdHCIntervalDefault},
		{"timeout", &hc.Timeout, tdHCTimeoutMin, tdHCTimeoutMax, tdHCTimeoutDefault},
		{"retries", &hc.Retries, tdHCRetriesMin, tdHCRetriesMax, tdHCRetriesDefault},
		{"startPeriod", &hc.StartPeriod, tdHCStartMin, tdHCStartMax, -1},
	}
	for _, b := range bounds {
		if *b.v == nil {
			if b.def >= 0 {
				*b.v = model.Ptr(b.def)
			}
			continue
		}
		if n := **b.v; n < b.min || n > b.max {
			return clientErr("Invalid 'healthCheck' setting for container '%s': %s must be between %d and %d; got %d.", c.Name, b.field, b.min, b.max, n)
		}
	}
	return nil
}

func tdCheckUlimits(c *model.ContainerDefinition) error {
	seen := map[model.UlimitName]bool{}
	for _, u := range c.Ulimits {
		if u.Name == "" || u.SoftLimit == nil || u.HardLimit == nil {
			return invalidParam("Invalid 'ulimits' setting for container '%s': each ulimit needs a name, a softLimit and a hardLimit.", c.Name)
		}
		if err := tdEnumErr("ulimits.name", u.Name); err != nil {
			return err
		}
		if seen[u.Name] {
			return clientErr("Invalid 'ulimits' setting for container '%s': ulimit %s is given more than once.", c.Name, u.Name)
		}
		seen[u.Name] = true
		if *u.SoftLimit > *u.HardLimit {
			return clientErr("Invalid 'ulimits' setting for container '%s': softLimit %d of %s is above its hardLimit %d.", c.Name, *u.SoftLimit, u.Name, *u.HardLimit)
		}
	}
	return nil
}

func tdCheckLog(c *model.ContainerDefinition) error {
	lc := c.LogConfiguration
	if lc == nil {
		return nil
	}
	if lc.LogDriver == "" {
		return invalidParam("Invalid 'logConfiguration' for container '%s': logDriver is required, e.g. json-file or awslogs.", c.Name)
	}
	if err := tdEnumErr("logConfiguration.logDriver", lc.LogDriver); err != nil {
		return err
	}
	if lc.LogDriver == model.LogDriverAwslogs {
		var missing []string
		for _, opt := range []string{"awslogs-group", "awslogs-region"} {
			if lc.Options[opt] == "" {
				missing = append(missing, opt)
			}
		}
		if len(missing) > 0 {
			return clientErr("Log driver awslogs requires options: %s (container '%s').", strings.Join(missing, ", "), c.Name)
		}
	}
	for _, s := range lc.SecretOptions {
		if s.Name == "" || s.ValueFrom == "" {
			return invalidParam("Invalid 'logConfiguration' for container '%s': each secretOption needs a name and a valueFrom.", c.Name)
		}
	}
	return nil
}

func tdCheckResourceReqs(c *model.ContainerDefinition) error {
	seen := map[model.ResourceType]bool{}
	for _, rr := range c.ResourceRequirements {
		if rr.Type == "" || rr.Value == "" {
			return invalidParam("Invalid 'resourceRequirements' setting for container '%s': each requirement needs a type and a value.", c.Name)
		}
		if err := tdEnumErr("resourceRequirements.type", rr.Type); err != nil {
			return err
		}
		if seen[rr.Type] {
			return clientErr("Invalid 'resourceRequirements' setting for container '%s': %s is given more than once.", c.Name, rr.Type)
		}
		seen[rr.Type] = true
		if rr.Type == model.ResourceTypeGpu {
			if n, err := strconv.Atoi(rr.Value); err != nil || n < 1 {
				return clientErr("Invalid 'resourceRequirements' setting for container '%s': the GPU value must be a whole number of GPUs; got %q.", c.Name, rr.Value)
			}
		}
	}
	return nil
}

func tdCheckLinux(c *model.ContainerDefinition) error {
	lp := c.LinuxParameters
	if lp == nil {
		return nil
	}
	if s := lp.Swappiness; s != nil && (*s < 0 || *s > 100) {
		return clientErr("Invalid 'linuxParameters' for container '%s': swappiness must be between 0 and 100; got %d.", c.Name, *s)
	}
	if m := lp.MaxSwap; m != nil && *m < 0 {
		return clientErr("Invalid 'linuxParameters' for container '%s': maxSwap cannot be negative.", c.Name)
	}
	if m := lp.SharedMemorySize; m != nil && *m < 1 {
		return clientErr("Invalid 'linuxParameters' for container '%s': sharedMemorySize must be at least 1 MiB.", c.Name)
	}
	for _, d := range lp.Devices {
		if d.HostPath == "" {
			return invalidParam("Invalid 'linuxParameters.devices' for container '%s': each device needs a hostPath.", c.Name)
		}
	}
	for _, t := range lp.Tmpfs {
		if t.ContainerPath == "" || model.Val(t.Size) < 1 {
			return invalidParam("Invalid 'linuxParameters.tmpfs' for container '%s': each tmpfs mount needs a containerPath and a size of at least 1 MiB.", c.Name)
		}
	}
	return nil
}
