package runtime

import "context"

// TaskNetworker is the optional capability of giving a task a network
// namespace and address of its own (ECS's awsvpc network mode): a small
// "pause" container holds the namespace on a network, and the task's
// containers join it (NetworkMode "container:" + the pause container's ID),
// so they share one address and reach each other on localhost. A runtime
// without it cannot run awsvpc tasks.
type TaskNetworker interface {
	// EnsureTaskNetwork creates the network if it does not exist, then
	// creates and starts the pause container named spec.Name on it, or finds
	// the one made before (an agent restart), and reports its address.
	EnsureTaskNetwork(ctx context.Context, spec TaskNetworkSpec) (TaskNetwork, error)
	// RemoveTaskNetwork removes the pause container, releasing the address.
	// A pause container already gone is not an error; the network stays
	// for other tasks.
	RemoveTaskNetwork(ctx context.Context, name string) error
}

// TaskNetworkSpec names a task's pause container and the network it joins.
type TaskNetworkSpec struct {
	Name     string // the pause container's name
	Network  string // the network, created (bridge) when missing
	Hostname string // the namespace's host name ("" : the runtime's)
	Labels   map[string]string
}

// TaskNetwork is a task's namespace as the runtime made it.
type TaskNetwork struct {
	// ID is the pause container's ID: containers join the namespace with
	// NetworkMode "container:" + ID.
	ID         string
	Network    string
	IPv4       string
	IPv6       string // "" without IPv6
	MACAddress string
	Gateway    string
}
