package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/execproto"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

// `wharf exec` on the agent: a session listed with a running task in the
// poll answer is served once, in a goroutine of its own: the agent opens its
// end of the session's stream at the server (it dials out, so it may sit
// behind NAT), runs the command in the container through runtime.Execer,
// and streams the output and the exit code back.

// execAsked starts the task's sessions this runner has not served yet.
func (r *runner) execAsked(ctx context.Context, latest *agentproto.AgentTask) {
	for _, s := range latest.ExecSessions {
		if r.execs[s.ID] {
			continue
		}
		if r.execs == nil {
			r.execs = map[string]bool{}
		}
		r.execs[s.ID] = true
		id := ""
		if c := r.find(s.Container); c != nil && c.status == statusRunning {
			id = c.id
		}
		r.logger().Info("exec session", "session", s.ID, "container", s.Container, "tty", s.Tty)
		go r.a.serveExec(ctx, id, s)
	}
}

// serveExec runs one session's command and streams it.
func (a *Agent) serveExec(ctx context.Context, containerID string, s agentproto.ExecSession) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := a.c.openExecStream(ctx, s.StreamPath+"?role="+execproto.RoleAgent)
	if err != nil {
		a.log.Warn("exec: cannot open the session's stream", "session", s.ID, "err", err)
		return
	}
	defer stream.Close()
	w := &execproto.Writer{W: stream}
	ex, ok := a.rt.(runtime.Execer)
	switch {
	case !ok:
		_ = w.Frame(execproto.Failed, []byte("this agent's container runtime cannot run commands in containers"))
		return
	case containerID == "":
		_ = w.Frame(execproto.Failed, []byte("container "+s.Container+" is not running on this instance"))
		return
	}
	spec := runtime.ExecSpec{Command: s.Command, Tty: s.Tty,
		Stdout: w.As(execproto.Stdout), Stderr: w.As(execproto.Stderr)}
	var stdin *io.PipeWriter
	if s.Interactive {
		var pr *io.PipeReader
		pr, stdin = io.Pipe()
		spec.Stdin = pr
	}
	resize := make(chan [2]uint16, 4)
	spec.Resize = resize
	go func() {
		// The client's frames; its going away ends the session.
		defer cancel()
		for {
			typ, p, err := execproto.ReadFrame(stream)
			if err != nil {
				if stdin != nil {
					_ = stdin.Close()
				}
				return
			}
			switch typ {
			case execproto.Stdin:
				if stdin != nil {
					if _, err := stdin.Write(p); err != nil {
						return
					}
				}
			case execproto.StdinEOF:
				if stdin != nil {
					_ = stdin.Close()
				}
			case execproto.Resize:
				if cols, rows, ok := execproto.ResizeSize(p); ok {
					select {
					case resize <- [2]uint16{cols, rows}:
					default:
					}
				}
			}
		}
	}()
	code, err := ex.Exec(ctx, containerID, spec)
	if err != nil {
		_ = w.Frame(execproto.Failed, []byte(err.Error()))
		return
	}
	_ = w.Frame(execproto.Exit, execproto.ExitFrame(code))
}

// openExecStream opens an end of a session's stream at the current server,
// signed as the client's calls are, on a client without a time limit.
func (c *client) openExecStream(ctx context.Context, path string) (io.ReadWriteCloser, error) {
	_, base := c.eps.current()
	hc := &http.Client{Transport: c.http.Transport}
	return execproto.Dial(ctx, hc, base, path, func(req *http.Request) error {
		creds := c.credentials()
		if creds == nil {
			return nil
		}
		v, err := creds.Retrieve(ctx)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(nil)
		return c.signer.SignHTTP(ctx, v, req, hex.EncodeToString(sum[:]), "ecs", c.region, time.Now())
	})
}

// OpenExecStream opens the client end of an exec session's stream (wharf
// exec): path is StartExecSession's streamPath.
func (c *APIClient) OpenExecStream(ctx context.Context, path string) (io.ReadWriteCloser, error) {
	return c.c.openExecStream(ctx, path+"?role="+execproto.RoleClient)
}
