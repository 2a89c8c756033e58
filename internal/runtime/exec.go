package runtime

import (
	"context"
	"io"
)

// Execer is the optional capability of running a command in a running
// container (`wharf exec`). A runtime without it cannot serve exec sessions.
type Execer interface {
	// Exec runs spec.Command in the container and returns its exit code
	// once it has exited and its output has been written. An error means
	// the command could not be run at all.
	Exec(ctx context.Context, id string, spec ExecSpec) (exitCode int, err error)
}

// ExecSpec is one command to run in a container.
type ExecSpec struct {
	Command []string
	// Tty gives the command a terminal; its output then comes on Stdout
	// only.
	Tty bool
	// Stdin, when not nil, is the command's input; its end closes the
	// command's standard input.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Resize, when not nil, delivers terminal sizes (columns, rows).
	Resize <-chan [2]uint16
}
