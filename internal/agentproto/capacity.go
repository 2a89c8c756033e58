package agentproto

import "github.com/wharf-ecs/wharf/internal/model"

// DescribeCapacityScaling is the admin operation that reads managed
// scaling: per capacity provider (and Fargate pool) of a cluster, the
// CapacityProviderReservation metric and its terms, which ECS publishes to
// CloudWatch and Wharf keeps in its store.
const DescribeCapacityScaling = "DescribeCapacityScaling"

// DescribeCapacityScalingRequest names the cluster ("" is default).
type DescribeCapacityScalingRequest struct {
	Cluster string `json:"cluster,omitempty"`
}

// CapacityScaling is one provider's last reading in the cluster.
type CapacityScaling struct {
	CapacityProvider string `json:"capacityProvider"`
	// CapacityProviderReservation is M / N × 100, in percent.
	CapacityProviderReservation int32       `json:"capacityProviderReservation"`
	InstancesNeeded             int32       `json:"instancesNeeded"`  // M
	InstancesRunning            int32       `json:"instancesRunning"` // N
	DesiredInstances            int32       `json:"desiredInstances"`
	ProvisioningTasks           int32       `json:"provisioningTasks"`
	UpdatedAt                   *model.Time `json:"updatedAt,omitempty"`
}

// DescribeCapacityScalingResponse lists the readings by provider name.
type DescribeCapacityScalingResponse struct {
	Cluster  string            `json:"cluster"`
	Readings []CapacityScaling `json:"readings"`
}

// InterruptSpotTask is the admin operation that interrupts a FARGATE_SPOT
// task as a Spot capacity reclaim would: SIGTERM now, SIGKILL after the
// notice (two minutes), stopCode SpotInterruption.
const InterruptSpotTask = "InterruptSpotTask"

// InterruptSpotTaskRequest names the task. NoticeSeconds is the time
// between SIGTERM and SIGKILL: Fargate Spot's two minutes (120) when 0;
// shorter notices let tests and drills go faster.
type InterruptSpotTaskRequest struct {
	Cluster       string `json:"cluster,omitempty"`
	Task          string `json:"task"`
	NoticeSeconds int    `json:"noticeSeconds,omitempty"`
}

// InterruptSpotTaskResponse is the task as the interruption was recorded.
type InterruptSpotTaskResponse struct {
	Task model.Task `json:"task"`
}

// TaskNetworkInterface is an awsvpc task's network interface as its agent
// made it: the address and MAC of the task's network namespace.
type TaskNetworkInterface struct {
	PrivateIPv4Address string `json:"privateIPv4Address"`
	IPv6Address        string `json:"ipv6Address,omitempty"`
	MACAddress         string `json:"macAddress"`
}
