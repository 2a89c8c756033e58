package agent

import (
	"context"
	"errors"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

// The awsvpc network mode: before its first container is made, a task gets
// a network namespace of its own from the runtime (runtime.TaskNetworker: a
// pause container on the Docker network of the task's subnet), its
// containers join that namespace, the address is reported with the task,
// and the namespace goes once the task has stopped. Tasks on one subnet's
// network reach each other by address, as ENIs in one VPC subnet do.

// pauseName is the name of a task's pause container.
func pauseName(taskArn string) string { return "wharf-" + taskID(taskArn) + "-pause" }

// subnetNetwork is the runtime network of an awsvpc subnet.
func subnetNetwork(subnet string) string {
	if subnet == "" {
		subnet = "default"
	}
	return "wharf-" + subnet
}

// taskSubnet is the subnet of the task's ElasticNetworkInterface attachment.
func taskSubnet(t *model.Task) string {
	for _, at := range t.Attachments {
		if at.Type != "ElasticNetworkInterface" {
			continue
		}
		for _, d := range at.Details {
			if d.Name == "subnetId" {
				return d.Value
			}
		}
	}
	return ""
}

// taskNetworkReady makes sure an awsvpc task has its namespace before its
// containers are made; false means the step should go no further (the
// runtime is away, or the task has failed).
func (r *runner) taskNetworkReady(ctx context.Context, latest *agentproto.AgentTask) bool {
	if latest.TaskDefinition.NetworkMode != model.NetworkModeAwsvpc || r.net != nil {
		return true
	}
	tn, ok := r.a.rt.(runtime.TaskNetworker)
	if !ok {
		r.fail("CannotCreateContainerError: this agent's container runtime cannot give a task a network of its own (awsvpc)")
		return false
	}
	labels := map[string]string{
		labelCluster:       clusterFromArn(latest.Task.ClusterArn),
		labelTaskArn:       latest.Task.TaskArn,
		labelContainerName: "~internal~ecs~pause",
		labelInstance:      r.a.InstanceArn(),
	}
	n, err := tn.EnsureTaskNetwork(ctx, runtime.TaskNetworkSpec{Name: pauseName(latest.Task.TaskArn),
		Network: subnetNetwork(taskSubnet(&latest.Task)), Labels: labels})
	if err != nil {
		if errors.Is(err, runtime.ErrUnavailable) {
			r.runtimeTrouble(err)
		} else {
			r.fail("CannotCreateContainerError: cannot make the task's network namespace (awsvpc): " + err.Error())
		}
		return false
	}
	r.net = &n
	r.logger().Debug("task network ready", "address", n.IPv4, "network", n.Network)
	return true
}

// joinTaskNetwork puts a container into its task's namespace: it shares
// the pause container's network, so it publishes no ports of its own.
func (r *runner) joinTaskNetwork(spec *runtime.ContainerSpec) {
	if r.net == nil || spec.NetworkMode != "awsvpc" {
		return
	}
	spec.NetworkMode = "container:" + r.net.ID
	spec.PortMappings = nil
	spec.Hostname = ""
	spec.ExtraHosts = nil
	spec.DNSServers = nil
	spec.DNSSearch = nil
}

// releaseTaskNetwork removes a stopped task's namespace.
func (r *runner) releaseTaskNetwork(ctx context.Context, latest *agentproto.AgentTask) {
	if latest.TaskDefinition.NetworkMode != model.NetworkModeAwsvpc {
		return
	}
	tn, ok := r.a.rt.(runtime.TaskNetworker)
	if !ok {
		return
	}
	if err := tn.RemoveTaskNetwork(ctx, pauseName(r.arn)); err != nil {
		r.logger().Warn("remove the task's network namespace", "err", err)
	}
}

// networkReport is the task's interface for its report.
func (r *runner) networkReport() *agentproto.TaskNetworkInterface {
	if r.net == nil || r.status == statusStopped {
		return nil
	}
	return &agentproto.TaskNetworkInterface{PrivateIPv4Address: r.net.IPv4, IPv6Address: r.net.IPv6, MACAddress: r.net.MACAddress}
}

// stopGrace is how long a container gets between SIGTERM and SIGKILL: its
// stopTimeout, or the task's notice when the server gave one (a Spot
// interruption's two minutes).
func (r *runner) stopGrace(cd *model.ContainerDefinition) time.Duration {
	latest, _ := r.view()
	if latest.StopGraceSeconds > 0 {
		return time.Duration(latest.StopGraceSeconds) * time.Second
	}
	return stopTimeout(cd)
}
