package sdapi

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Attributes ECS gives the instances of its tasks, beside the address and
// port; DiscoverInstances' QueryParameters can select on them.
const (
	attrZone     = "AVAILABILITY_ZONE"
	attrCluster  = "ECS_CLUSTER_NAME"
	attrService  = "ECS_SERVICE_NAME"
	attrFamily   = "ECS_TASK_DEFINITION_FAMILY"
	attrRegion   = "REGION"
	attrEC2      = "EC2_INSTANCE_ID"
	statusActive = "RUNNING"
)

// desired computes the instance a task should have, or nil for none.
func (r *Registrar) desired(ctx context.Context, taskKey string) (*state.CloudMapInstance, error) {
	r.mu.Lock()
	t := r.tasks[taskKey]
	var regs []model.ServiceRegistry
	var host hostInfo
	if t != nil {
		regs = r.services[t.service]
		host = r.hosts[t.instance]
	}
	r.mu.Unlock()
	if t == nil || len(regs) == 0 || t.last != statusActive || t.desired != statusActive {
		return nil, nil
	}
	reg := regs[0]
	svcID, ok := state.ParseCloudMapServiceARN(reg.RegistryArn)
	if !ok {
		return nil, nil
	}
	svc := r.api.catalog.service(svcID)
	if svc == nil {
		return nil, nil
	}
	ip, port := r.address(t, reg, host)
	if reg.ContainerName != "" && port == 0 {
		return nil, nil // not bound yet
	}
	healthy := true
	if hc, err := r.hasHealthCheck(ctx, t.taskDef); err != nil {
		return nil, err
	} else if hc {
		healthy = t.health == model.HealthStatusHealthy
	}
	inst := &state.CloudMapInstance{ID: t.id, ServiceID: svcID, Task: taskKey, Attributes: map[string]string{
		state.CloudMapAttrIPv4: ip,
		attrCluster:            t.cluster,
		attrService:            strings.TrimPrefix(t.service, state.ClusterServicesPrefix(t.cluster)),
		attrRegion:             r.api.region,
	}}
	if port > 0 {
		inst.Attributes[state.CloudMapAttrPort] = strconv.Itoa(port)
	}
	if t.zone != "" {
		inst.Attributes[attrZone] = t.zone
	}
	if family := taskDefFamily(t.taskDef); family != "" {
		inst.Attributes[attrFamily] = family
	}
	if host.ec2ID != "" {
		inst.Attributes[attrEC2] = host.ec2ID
	}
	switch {
	case svc.CustomHealth && healthy:
		inst.Health = state.CloudMapHealthy
	case svc.CustomHealth:
		inst.Health = state.CloudMapUnhealthy
	case !healthy:
		return nil, nil // without a health check of its own, Cloud Map lists only healthy tasks
	}
	if err := checkAttributes(inst.Attributes, svc); err != nil {
		r.log.Warn("task not registered: its instance would not be valid", "task", taskKey, "service", svc.Name, "err", err)
		return nil, nil
	}
	return inst, nil
}

// address is where a task's registry port is reached: the host port bound
// to the registry's containerName and containerPort (0 when the registry
// names none, or it is not bound), on the binding's own address when it is
// a specific IPv4 one, else the host's (its wharf.host-ip attribute, else
// the registrar's default).
func (r *Registrar) address(t *taskInfo, reg model.ServiceRegistry, host hostInfo) (string, int) {
	ip := host.ip
	if ip == "" {
		ip = r.hostIP
	}
	if reg.ContainerName == "" || reg.ContainerPort == nil {
		return ip, 0
	}
	for _, c := range t.containers {
		if c.Name != reg.ContainerName {
			continue
		}
		for _, b := range c.NetworkBindings {
			if model.Val(b.ContainerPort) != *reg.ContainerPort || model.Val(b.HostPort) == 0 ||
				b.Protocol != "" && b.Protocol != model.TransportProtocolTcp {
				continue
			}
			a, err := netip.ParseAddr(b.BindIP)
			if err == nil && a.Is6() {
				continue // the IPv4 binding of the same port serves
			}
			if err == nil && !a.IsUnspecified() {
				ip = a.String()
			}
			return ip, int(*b.HostPort)
		}
	}
	return ip, 0
}

// taskDefFamily is the family of a task definition ARN
// (arn:...:task-definition/FAMILY:REVISION).
func taskDefFamily(arn string) string {
	_, rest, ok := strings.Cut(arn, ":task-definition/")
	if !ok {
		return ""
	}
	family, _, _ := strings.Cut(rest, ":")
	return family
}

// hasHealthCheck reports whether a task definition has a container with a
// health check; definitions never change, so the answer is kept.
func (r *Registrar) hasHealthCheck(ctx context.Context, arn string) (bool, error) {
	if v, ok := r.tdHealth[arn]; ok {
		return v, nil
	}
	_, rest, ok := strings.Cut(arn, ":task-definition/")
	family, revStr, ok2 := strings.Cut(rest, ":")
	rev, err := strconv.ParseInt(revStr, 10, 32)
	if !ok || !ok2 || err != nil {
		return false, nil
	}
	td, _, err := state.Get[state.TaskDefinition](ctx, r.st, state.TaskDefKey(family, int32(rev)))
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	hc := false
	for _, c := range td.TaskDefinition.ContainerDefinitions {
		hc = hc || c.HealthCheck != nil
	}
	r.tdHealth[arn] = hc
	return hc, nil
}
