package state

import "github.com/wharf-ecs/wharf/internal/model"

// Capacity providers and the instances their launchers start.
//
//	capacityproviders/NAME              CapacityProvider
//	capacitylaunches/PROVIDER/ID        InstanceLaunch (one per instance a launcher started)
//	capacityscaling/CLUSTER/PROVIDER    CapacityScaling (managed scaling's last reading)
//
// FARGATE and FARGATE_SPOT are built in and have no record; their pool's
// launches and readings live under the pseudo-provider name FargatePool.
const (
	CapacityProvidersPrefix = "capacityproviders/"
	CapacityLaunchesPrefix  = "capacitylaunches/"
	CapacityScalingPrefix   = "capacityscaling/"
)

// FargatePool names the launches of the pool that runs FARGATE and
// FARGATE_SPOT tasks (no capacity provider can take the name: ECS refuses
// names that start with "fargate").
const FargatePool = "fargate-pool"

// Instance attributes that tie container instances to capacity.
const (
	// AttrCapacityProvider is carried by the instances a capacity
	// provider's launcher started: tasks of that provider are placed only
	// on them.
	AttrCapacityProvider = "wharf.capacity-provider"
	// AttrLaunchID is the launch an instance came from, so that the
	// scaler can terminate the instance through its launcher.
	AttrLaunchID = "wharf.launch-id"
	// AttrFargate marks an instance of the Fargate pool: it runs FARGATE
	// and FARGATE_SPOT tasks only, and ListContainerInstances,
	// DescribeContainerInstances and the cluster's counts leave it out.
	AttrFargate = "wharf.fargate-pool"
)

// CapacityProviderKey is the key of a capacity provider by name.
func CapacityProviderKey(name string) string { return CapacityProvidersPrefix + name }

// CapacityLaunchesOf is the prefix of one provider's launches.
func CapacityLaunchesOf(provider string) string { return CapacityLaunchesPrefix + provider + "/" }

// CapacityLaunchKey is the key of one launch.
func CapacityLaunchKey(provider, id string) string { return CapacityLaunchesOf(provider) + id }

// CapacityProvider is the stored capacity provider: the ECS shape, the
// cluster it is associated with, and what managed scaling last computed.
type CapacityProvider struct {
	model.CapacityProvider
	// AssociatedCluster is the cluster whose capacityProviders list it
	// ("" when none does). An Auto Scaling group provider serves one
	// cluster at a time, as in ECS.
	AssociatedCluster string `json:"wharfCluster,omitempty"`
}

// CapacityScalingKey is the key of a provider's reading in a cluster.
func CapacityScalingKey(cluster, provider string) string {
	return CapacityScalingPrefix + cluster + "/" + provider
}

// CapacityScaling is one reading of managed scaling for a provider in a
// cluster: the CapacityProviderReservation metric (M / N × 100, as ECS
// defines it) and its terms.
type CapacityScaling struct {
	Cluster  string `json:"cluster"`
	Provider string `json:"capacityProvider"`
	// Reservation is CapacityProviderReservation in percent.
	Reservation int32 `json:"capacityProviderReservation"`
	// Needed is M, the instances the provider's tasks need; Running is N,
	// the instances it has (launched ones not yet registered included).
	Needed  int32 `json:"instancesNeeded"`
	Running int32 `json:"instancesRunning"`
	// Desired is the instance count managed scaling steers towards.
	Desired int32 `json:"desiredInstances"`
	// Provisioning counts the provider's tasks waiting for capacity.
	Provisioning int32       `json:"provisioningTasks"`
	UpdatedAt    *model.Time `json:"updatedAt,omitempty"`
}

// InstanceLaunch is one instance a launcher started for a provider (or for
// the Fargate pool) in a cluster.
type InstanceLaunch struct {
	ID       string      `json:"id"`
	Provider string      `json:"provider"`
	Cluster  string      `json:"cluster"`
	Launched *model.Time `json:"launchedAt"`
	// Handle is the launcher's own name for the instance (a Docker
	// container ID, say), which Terminate takes.
	Handle string `json:"handle,omitempty"`
	// JoinTokenID is the join token the instance's agent joins with,
	// deleted once the instance has registered.
	JoinTokenID string `json:"joinTokenId,omitempty"`
	// InstanceID is the container instance the launch became, once its
	// agent registered.
	InstanceID string `json:"instanceId,omitempty"`
	// Terminating is set once the scaler chose the instance for removal.
	Terminating bool `json:"terminating,omitempty"`
}
