package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/execproto"
)

func execCmd() *cobra.Command {
	var af adminFlags
	var in agentproto.StartExecSessionRequest
	var noStdin bool
	cmd := &cobra.Command{
		Use:   "exec TASK [--container NAME] -- COMMAND [ARG...]",
		Short: "Run a command in a container of a running task (ECS Exec without the Session Manager plugin)",
		Long: `Run a command in a container of a RUNNING task started with
--enable-execute-command, and exit with its exit code. The task's agent runs
the command; the server relays the stream, so the agent needs no inbound
connection. With a terminal on standard input the command gets a terminal
(interactive shells work); otherwise standard input is sent to it as it is
(--no-stdin sends none).`,
		Example: `  wharf exec 0123456789abcdef --cluster prod --container web -- sh
  wharf exec arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef -- cat /etc/hostname
  echo hello | wharf exec 0123456789abcdef -- cat`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return errors.New("give the task, then -- and the command: wharf exec TASK -- COMMAND [ARG...]")
			}
			in.Task, in.Command = args[0], args[1:]
			c, err := af.client(cmd.Context())
			if err != nil {
				return err
			}
			term := openTerminal(os.Stdin, os.Stdout)
			in.Tty = term != nil
			in.Interactive = !noStdin
			var stdin io.Reader
			if in.Interactive {
				stdin = os.Stdin
			}
			var resize <-chan [2]uint16
			if term != nil {
				if err := term.raw(); err != nil {
					return err
				}
				resize = term.sizes(cmd.Context())
			}
			code, err := runExec(cmd.Context(), c, in, stdin, os.Stdout, os.Stderr, resize)
			if term != nil {
				term.restore()
			}
			if err != nil {
				return err
			}
			if code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
	af.add(cmd)
	cmd.Flags().StringVar(&in.Cluster, "cluster", "default", "cluster of the task")
	cmd.Flags().StringVar(&in.Container, "container", "", "container to run the command in (needed when the task has several)")
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "send no input to the command")
	return cmd
}

// runExec opens a session, attaches to its stream, copies stdin to the
// command and its output back, and returns its exit code.
func runExec(ctx context.Context, c *agent.APIClient, in agentproto.StartExecSessionRequest, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) (int, error) {
	var sess agentproto.StartExecSessionResponse
	if err := c.Call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.StartExecSession, in, &sess); err != nil {
		return 0, fmt.Errorf("start exec session: %w", err)
	}
	stream, err := c.OpenExecStream(ctx, sess.StreamPath)
	if err != nil {
		return 0, err
	}
	defer stream.Close()
	w := &execproto.Writer{W: stream}
	if stdin != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := stdin.Read(buf)
				if n > 0 && w.Frame(execproto.Stdin, buf[:n]) != nil {
					return
				}
				if err != nil {
					_ = w.Frame(execproto.StdinEOF, nil)
					return
				}
			}
		}()
	} else {
		_ = w.Frame(execproto.StdinEOF, nil)
	}
	if resize != nil {
		go func() {
			for sz := range resize {
				if w.Frame(execproto.Resize, execproto.ResizeFrame(sz[0], sz[1])) != nil {
					return
				}
			}
		}()
	}
	for {
		typ, p, err := execproto.ReadFrame(stream)
		if err != nil {
			return 0, fmt.Errorf("the exec session ended without an exit code: %w", err)
		}
		switch typ {
		case execproto.Stdout:
			_, _ = stdout.Write(p)
		case execproto.Stderr:
			_, _ = stderr.Write(p)
		case execproto.Exit:
			return execproto.ExitCode(p), nil
		case execproto.Failed:
			return 0, fmt.Errorf("the command could not run in container %s: %s", sess.Container, p)
		}
	}
}
