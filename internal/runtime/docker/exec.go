package docker

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

var _ runtime.Execer = (*Runtime)(nil)

// Exec runs a command in the container through Docker's exec API.
func (r *Runtime) Exec(ctx context.Context, id string, spec runtime.ExecSpec) (int, error) {
	created, err := r.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: spec.Command, Tty: spec.Tty, AttachStdin: spec.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return 0, r.fail("exec create", id, err)
	}
	att, err := r.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: spec.Tty})
	if err != nil {
		return 0, r.fail("exec attach", id, err)
	}
	defer att.Close()
	if spec.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, spec.Stdin)
			_ = att.CloseWrite()
		}()
	}
	if spec.Resize != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-spec.Resize:
					if !ok {
						return
					}
					_ = r.cli.ContainerExecResize(ctx, created.ID, container.ResizeOptions{Width: uint(sz[0]), Height: uint(sz[1])})
				}
			}
		}()
	}
	if spec.Tty {
		_, err = io.Copy(spec.Stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(spec.Stdout, spec.Stderr, att.Reader)
	}
	if err != nil && ctx.Err() == nil {
		return 0, fmt.Errorf("docker exec %s: read the output: %w", id, err)
	}
	// The output ends a moment before Docker records the exit.
	for i := 0; ; i++ {
		info, err := r.cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return 0, r.fail("exec inspect", id, err)
		}
		if !info.Running || i == 200 {
			return info.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
