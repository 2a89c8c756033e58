package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// errPullStalled is the cancellation cause when a pull shows no progress.
var errPullStalled = errors.New("pull stalled")

// ImageExists reports whether ref is present locally (a bare name means
// its "latest" tag, as everywhere in Docker).
func (r *Runtime) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := r.cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	}
	return false, r.fail("image inspect", ref, err)
}

// Pull fetches ref. Any failure to obtain the image wraps ErrImageNotFound
// (the agent's CannotPullContainerError); an unreachable daemon wraps
// ErrUnavailable and the caller's own cancellation is returned as such.
//
// Docker reports most pull failures inside the progress stream, not as the
// HTTP status, so the stream is read to its end. A watchdog cancels the pull
// when the daemon sends nothing for PullStallTimeout: that is how a registry
// that never answers fails in seconds while a slow but live download goes on.
func (r *Runtime) Pull(ctx context.Context, ref string) error {
	parent := ctx
	ctx, cancelTimeout := context.WithTimeout(ctx, r.opts.PullTimeout)
	defer cancelTimeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(r.opts.PullStallTimeout, func() { cancel(errPullStalled) })
	defer watchdog.Stop()

	err := r.pull(ctx, ref, func() { watchdog.Reset(r.opts.PullStallTimeout) })
	switch {
	case err == nil:
		return nil
	// Causes first: the client reports a request cancelled with a cause as
	// a failed connection to the daemon, which it is not.
	case parent.Err() != nil:
		return fmt.Errorf("docker pull %s: %w", ref, parent.Err())
	case errors.Is(context.Cause(ctx), errPullStalled):
		r.log.Warn("image pull stalled", "image", ref, "after", r.opts.PullStallTimeout)
		err = fmt.Errorf("no progress for %s; is a registry reachable?", r.opts.PullStallTimeout)
	case ctx.Err() != nil:
		err = fmt.Errorf("not done after %s", r.opts.PullTimeout)
	case client.IsErrConnectionFailed(err):
		return r.fail("pull", ref, err)
	}
	return fmt.Errorf("docker pull %s: %w: %w", ref, runtime.ErrImageNotFound, err)
}

// pull runs the pull and reads its progress stream, calling progress for
// every message, and returns the first error the stream reports.
func (r *Runtime) pull(ctx context.Context, ref string, progress func()) error {
	body, err := r.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		progress()
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
