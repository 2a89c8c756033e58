// Package capacity is managed scaling for capacity providers: a scaler that
// keeps each provider's instances at the target capacity (the
// CapacityProviderReservation metric as ECS defines it), and the launchers
// that start and stop container instances for it — Docker containers
// running `wharf agent` on one machine, in-process simulated agents for
// tests, or anything else that implements Launcher (a cloud or VM API).
package capacity

import "context"

// Launcher starts and stops container instances. An instance is an agent
// that joins Spec.Cluster with Spec.JoinToken and registers with
// Spec.Attributes (among them the capacity provider and the launch ID the
// scaler recognizes it by).
type Launcher interface {
	// Launch starts one instance and returns the launcher's handle for it.
	// It returns once the instance is starting; the scaler waits for its
	// agent to register.
	Launch(ctx context.Context, spec InstanceSpec) (handle string, err error)
	// Terminate stops the instance and releases what it holds. Terminating
	// an instance that is already gone is not an error.
	Terminate(ctx context.Context, handle string) error
}

// InstanceSpec is what one instance is started with.
type InstanceSpec struct {
	// Name identifies the launch (wharf-CLUSTER-PROVIDER-ID); a launcher
	// may use it for its own resources.
	Name      string
	Endpoint  string // the server's URL
	Cluster   string
	JoinToken string
	// Attributes are the instance's custom attributes.
	Attributes map[string]string
	// CPU (units) and MemoryMiB are the resources the agent offers; 0
	// leaves them to the agent (its host's).
	CPU       int64
	MemoryMiB int64
}

// Options are managed scaling's settings on a server.
type Options struct {
	// Launcher starts the instances of capacity providers with managed
	// scaling and of the Fargate pool; nil starts none (agents started by
	// hand with the provider's attribute still count).
	Launcher Launcher
	Tuning   Tuning
}
