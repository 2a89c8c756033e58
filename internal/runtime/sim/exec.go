package sim

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Simulated exec: a running container answers a few commands as a shell
// would — echo ARGS, cat (its input back), true, false, exit N, hostname
// (the container's name) — and any other with "not found" and code 127.

var _ runtime.Execer = (*Runtime)(nil)

// Exec runs one of the simulated commands.
func (r *Runtime) Exec(ctx context.Context, id string, spec runtime.ExecSpec) (int, error) {
	r.mu.Lock()
	c, err := r.lookup(id)
	running := err == nil && c.st.Running()
	name := ""
	if err == nil {
		name = c.st.Name
	}
	r.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if !running {
		return 0, fmt.Errorf("sim exec %s: container is not running", id)
	}
	if len(spec.Command) == 0 {
		return 0, fmt.Errorf("sim exec %s: no command", id)
	}
	stderr := spec.Stderr
	if spec.Tty || stderr == nil {
		stderr = spec.Stdout
	}
	args := spec.Command[1:]
	switch spec.Command[0] {
	case "echo":
		_, err = fmt.Fprintln(spec.Stdout, strings.Join(args, " "))
		return 0, err
	case "cat":
		if spec.Stdin != nil {
			_, err = io.Copy(spec.Stdout, spec.Stdin)
		}
		return 0, err
	case "true":
		return 0, nil
	case "false":
		return 1, nil
	case "hostname":
		_, err = fmt.Fprintln(spec.Stdout, name)
		return 0, err
	case "exit":
		if len(args) == 1 {
			if n, err := strconv.Atoi(args[0]); err == nil {
				return n, nil
			}
		}
		return 2, nil
	}
	_, err = fmt.Fprintf(stderr, "sim: %s: not found\n", spec.Command[0])
	return 127, err
}
