package agent

import (
	"reflect"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

// taskReport is a SubmitTaskStateChange request with the extension members
// Wharf's control plane reads beside ECS's own: the stop code and health,
// which ECS's shapes do not carry from agent to control plane.
type taskReport struct {
	model.SubmitTaskStateChangeRequest
	StopCode        model.TaskStopCode            `json:"wharfStopCode,omitempty"`
	HealthStatus    model.HealthStatus            `json:"wharfHealthStatus,omitempty"`
	ContainerHealth map[string]model.HealthStatus `json:"wharfContainerHealth,omitempty"`
	// NetworkInterface is an awsvpc task's address (awsvpc.go).
	NetworkInterface *agentproto.TaskNetworkInterface `json:"wharfNetworkInterface,omitempty"`
}

// Equal compares two reports on what they say, ignoring timestamps that only
// restate a status already reported.
func (t *taskReport) Equal(o *taskReport) bool {
	a, b := *t, *o
	a.ExecutionStoppedAt, b.ExecutionStoppedAt = nil, nil
	return reflect.DeepEqual(a, b)
}

// report describes the task as the runner sees it now.
func (r *runner) report(latest *agentproto.AgentTask) *taskReport {
	rep := &taskReport{
		SubmitTaskStateChangeRequest: model.SubmitTaskStateChangeRequest{
			Cluster: latest.Task.ClusterArn,
			Task:    r.arn,
			Status:  r.status,
		},
		HealthStatus:     r.taskHealth(),
		ContainerHealth:  map[string]model.HealthStatus{},
		NetworkInterface: r.networkReport(),
	}
	if r.status == statusStopping || r.status == statusStopped {
		rep.Reason = r.stopReason
		rep.StopCode = r.stopCode
	}
	if r.status == statusStopped {
		rep.ExecutionStoppedAt = model.NewTime(r.stoppedAt)
	}
	for _, c := range r.ctrs {
		cs := model.ContainerStateChange{
			ContainerName: c.def.Name,
			RuntimeId:     c.id,
			Status:        c.status,
			ExitCode:      c.exitCode,
			Reason:        c.reason,
			ImageDigest:   c.st.ImageID,
		}
		if c.status == statusRunning && latest.TaskDefinition.NetworkMode == model.NetworkModeHost {
			// Docker reports no bindings in host mode: the ports are the
			// container's own, on the host's interfaces.
			for _, pm := range c.def.PortMappings {
				proto := pm.Protocol
				if proto == "" {
					proto = model.TransportProtocolTcp
				}
				cs.NetworkBindings = append(cs.NetworkBindings, model.NetworkBinding{
					BindIP: "0.0.0.0", ContainerPort: pm.ContainerPort, HostPort: pm.ContainerPort, Protocol: proto,
				})
			}
		} else if c.status == statusRunning {
			for _, p := range c.st.Ports {
				cs.NetworkBindings = append(cs.NetworkBindings, model.NetworkBinding{
					BindIP:        bindIP(p.HostIP),
					ContainerPort: model.Ptr(int32(p.ContainerPort)),
					HostPort:      model.Ptr(int32(p.HostPort)),
					Protocol:      model.TransportProtocol(p.Protocol),
				})
			}
		}
		rep.Containers = append(rep.Containers, cs)
		if c.def.HealthCheck != nil {
			rep.ContainerHealth[c.def.Name] = containerHealth(c)
		}
	}
	return rep
}

func bindIP(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}

func containerHealth(c *ctr) model.HealthStatus {
	if c.status != statusRunning {
		return model.HealthStatusUnknown
	}
	switch c.st.Health {
	case runtime.HealthHealthy:
		return model.HealthStatusHealthy
	case runtime.HealthUnhealthy:
		return model.HealthStatusUnhealthy
	}
	return model.HealthStatusUnknown
}

// taskHealth follows ECS: the task is UNHEALTHY if any essential container
// with a health check is, HEALTHY if all of them are, otherwise UNKNOWN.
func (r *runner) taskHealth() model.HealthStatus {
	checked, healthy := 0, 0
	for _, c := range r.ctrs {
		if !c.essential() || c.def.HealthCheck == nil {
			continue
		}
		checked++
		switch containerHealth(c) {
		case model.HealthStatusUnhealthy:
			return model.HealthStatusUnhealthy
		case model.HealthStatusHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return model.HealthStatusHealthy
	}
	return model.HealthStatusUnknown
}
