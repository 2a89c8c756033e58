// Package runtime is the narrow boundary between the Wharf agent and whatever
// actually runs containers: Docker (runtime/docker) for real work, and an
// in-memory simulation for scale tests. The agent speaks only this interface
// and these plain data types, so its task logic never sees a Docker type and
// can be tested against a fake.
//
// The runtime is the truth about containers. The agent treats its own memory
// as a cache: it finds its containers again by label (List) after a restart and
// expects any of them to vanish at any time (ErrNotFound).
package runtime

import (
	"context"
	"errors"
	"time"
)

// Runtime creates and drives containers. Every method is safe for
// concurrent use. Container ids are the runtime's own; names are the
// caller's (Docker rejects a second container with the same name).
type Runtime interface {
	// Create makes a container from spec without starting it. The image
	// must be present (see ImageExists and Pull); when it is not, the error
	// wraps ErrImageNotFound.
	Create(ctx context.Context, spec ContainerSpec) (id string, err error)

	// Start runs a created (or stopped) container.
	Start(ctx context.Context, id string) error

	// Stop sends the container's stop signal (SIGTERM unless the spec or
	// image says otherwise) and SIGKILL once timeout has passed, and returns
	// when the container has exited. Stopping a container that is not
	// running is not an error.
	Stop(ctx context.Context, id string, timeout time.Duration) error

	// Remove deletes the container, killing it if it still runs, together
	// with its anonymous volumes.
	Remove(ctx context.Context, id string) error

	// Inspect reports the container's current state.
	Inspect(ctx context.Context, id string) (ContainerState, error)

	// List reports every container, running or not, that carries all of
	// the given labels (all containers when labels is empty).
	List(ctx context.Context, labels map[string]string) ([]ContainerState, error)

	// Watch calls fn for each event about containers that carry all of
	// labels, from since on (the zero time means from now), until ctx ends
	// or the event stream fails, and returns why it stopped. Events are
	// hints to re-inspect, not the state itself: a caller records the time,
	// lists, then watches from that time, so nothing falls in between, and
	// lists again after Watch returns. fn runs on Watch's goroutine and
	// must not block.
	Watch(ctx context.Context, since time.Time, labels map[string]string, fn func(Event)) error

	// Stats takes one sample of the container's resource usage.
	Stats(ctx context.Context, id string) (Stats, error)

	// ImageExists reports whether the image is present locally.
	ImageExists(ctx context.Context, ref string) (bool, error)

	// Pull fetches the image from its registry. It fails fast, with an
	// error wrapping ErrImageNotFound, when no registry answers.
	Pull(ctx context.Context, ref string) error
}

var (
	// ErrNotFound means the container does not exist (any more).
	ErrNotFound = errors.New("container not found")

	// ErrImageNotFound means the image is not present and could not be
	// obtained. The agent reports it as a CannotPullContainerError.
	ErrImageNotFound = errors.New("image not available")

	// ErrNameInUse means Create was given the name of an existing
	// container, typically one the agent made before it restarted.
	ErrNameInUse = errors.New("container name already in use")

	// ErrInvalidSpec means the ContainerSpec cannot be expressed in the
	// runtime (for example a health check command without CMD or
	// CMD-SHELL). Retrying will not help.
	ErrInvalidSpec = errors.New("invalid container spec")

	// ErrUnavailable means the runtime itself could not be reached (the
	// Docker daemon is down or its socket is not accessible). It is
	// transient from the agent's point of view: retry, do not fail tasks.
	ErrUnavailable = errors.New("container runtime unavailable")
)
