// Package docker is the Runtime on the Docker Engine API, through the
// official Go client. It translates ECS container semantics to Docker's
// (create.go), Docker's container state back to the runtime types
// (inspect.go), and Docker errors to the runtime's sentinel errors, so the
// agent can act on them without knowing Docker.
package docker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Options tune a Runtime. The zero value is usable.
type Options struct {
	// PullStallTimeout bounds how long Pull waits for the next sign of
	// progress from the daemon. It is what makes a pull fail fast when no
	// registry answers, without cutting short a large image that is still
	// downloading. Default 20s.
	PullStallTimeout time.Duration
	// PullTimeout bounds a whole pull. Default 15 minutes.
	PullTimeout time.Duration
	// Logger receives the rare events worth a line (pull progress
	// stalls). Default slog.Default().
	Logger *slog.Logger
}

// Runtime drives containers through a Docker daemon.
type Runtime struct {
	cli  *client.Client
	opts Options
	log  *slog.Logger
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to the daemon named by the environment (DOCKER_HOST,
// DOCKER_CERT_PATH, DOCKER_TLS_VERIFY; the local socket by default) and
// speaks the highest API version both sides know, so one binary works with
// old and new engines. It does no I/O; see Ping.
func New(opts Options) (*Runtime, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: configure client: %w", err)
	}
	if opts.PullStallTimeout <= 0 {
		opts.PullStallTimeout = 20 * time.Second
	}
	if opts.PullTimeout <= 0 {
		opts.PullTimeout = 15 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Runtime{cli: cli, opts: opts, log: log.With("subsystem", "runtime/docker")}, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.cli.Close() }

// Ping checks that the daemon answers and returns its version.
func (r *Runtime) Ping(ctx context.Context) (version string, err error) {
	v, err := r.cli.ServerVersion(ctx)
	if err != nil {
		return "", r.fail("ping", "", err)
	}
	return v.Version, nil
}

// Start runs a created or stopped container.
func (r *Runtime) Start(ctx context.Context, id string) error {
	return r.fail("start", id, r.cli.ContainerStart(ctx, id, container.StartOptions{}))
}

// Stop asks the container to stop with its stop signal and kills it after
// timeout (rounded up to whole seconds, the API's unit).
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	secs := ceilSeconds(timeout)
	return r.fail("stop", id, r.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}))
}

// Remove deletes the container, killing it first if needed, and its
// anonymous volumes, as the ECS agent does when it cleans up a task.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	return r.fail("remove", id, err)
}

// fail turns a Docker client error into one that wraps the runtime's
// sentinel errors (keeping Docker's message), or returns nil for nil.
func (r *Runtime) fail(op, id string, err error) error {
	if err == nil {
		return nil
	}
	what := "docker " + op
	if id != "" {
		what += " " + id
	}
	switch {
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("%s: %w: cannot reach the Docker daemon at %s: %w",
			what, runtime.ErrUnavailable, r.cli.DaemonHost(), err)
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s: %w: %w", what, runtime.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ceilSeconds rounds d up to whole seconds, never below zero.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
