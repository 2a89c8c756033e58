package ecsapi

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/execproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Running a command in a task's container (`wharf exec`, beyond ECS's own
// protocol). StartExecSession records a session on the task; the task's
// agent sees it in its next poll answer and opens its end of the session's
// stream, the caller opens the other, and the server joins them
// (internal/server/exec.go). ECS's ExecuteCommand answers a Session Manager
// session, which only the AWS Session Manager plugin speaks: Wharf refuses
// it and points to wharf exec.

const (
	// execSessionTTL is how long a session waits for the agent.
	execSessionTTL = time.Minute
	// maxExecSessions bounds the sessions waiting on one task.
	maxExecSessions  = 16
	maxExecArgsChars = 64 << 10
)

// ExecuteCommand refuses ECS's operation with what to use instead.
func (a *API) ExecuteCommand(ctx context.Context, in *model.ExecuteCommandRequest) (*model.ExecuteCommandResponse, error) {
	return nil, clientErr("ExecuteCommand opens an AWS Systems Manager session, which needs the Session Manager plugin and SSM endpoints that Wharf does not provide. Run the command through Wharf instead: wharf exec %s --cluster %s --container NAME -- COMMAND (interactive when your terminal is).",
		orDefault(in.Task, "TASK"), orDefault(in.Cluster, "default"))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// StartExecSession opens a session to run a command in a container of a
// RUNNING task that was started with enableExecuteCommand, as ECS requires.
func (a *API) StartExecSession(ctx context.Context, in *agentproto.StartExecSessionRequest) (*agentproto.StartExecSessionResponse, error) {
	if in.Task == "" {
		return nil, invalidParam("task is required: give the ID or ARN of a RUNNING task.")
	}
	if len(in.Command) == 0 || in.Command[0] == "" {
		return nil, invalidParam("command is required: give the program and its arguments, e.g. wharf exec TASK -- ls -l /.")
	}
	if n := len(strings.Join(in.Command, " ")); n > maxExecArgsChars {
		return nil, invalidParam("command is %d characters long; at most %d are allowed.", n, maxExecArgsChars)
	}
	sess := state.ExecSession{ID: newID(), Command: in.Command, Interactive: in.Interactive || in.Tty, Tty: in.Tty, CreatedAt: a.timeNow()}
	if p := auth.PrincipalFrom(ctx); p != nil {
		sess.AccessKeyID = p.AccessKeyID
	}
	var containerArn string
	t, err := a.updateTask(ctx, in.Cluster, in.Task, func(t *state.Task) error {
		if !model.Val(t.EnableExecuteCommand) {
			return invalidParam("The execute command failed because execute command was not enabled when the task was run. Run a new task with --enable-execute-command (for a service: UpdateService --enable-execute-command --force-new-deployment), then try again.")
		}
		if t.LastStatus != taskRunning || t.DesiredStatus != taskRunning {
			return invalidParam("Task %s is %s (desired %s); commands run only in a RUNNING task.", t.TaskArn, t.LastStatus, t.DesiredStatus)
		}
		c, err := execContainer(t, in.Container)
		if err != nil {
			return err
		}
		sess.Container, containerArn = c.Name, c.ContainerArn
		now := a.now()
		t.ExecSessions = slices.DeleteFunc(slices.Clone(t.ExecSessions), func(s state.ExecSession) bool {
			return s.CreatedAt == nil || now.Sub(s.CreatedAt.Time) > execSessionTTL
		})
		if len(t.ExecSessions) >= maxExecSessions {
			return clientErr("Task %s has %d exec sessions waiting for its agent; try again in a minute.", t.TaskArn, len(t.ExecSessions))
		}
		t.ExecSessions = append(t.ExecSessions, sess)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cluster, id := clusterOfTaskArn(t.TaskArn)
	return &agentproto.StartExecSessionResponse{SessionID: sess.ID, StreamPath: ExecStreamPath(cluster, id, sess.ID),
		TaskArn: t.TaskArn, ContainerArn: containerArn, Container: sess.Container}, nil
}

// execContainer picks the container a session runs in: the one named, or
// the task's only one; it must be running.
func execContainer(t *state.Task, name string) (*model.Container, error) {
	var names []string
	var c *model.Container
	for i := range t.Containers {
		names = append(names, t.Containers[i].Name)
		if t.Containers[i].Name == name || name == "" && len(t.Containers) == 1 {
			c = &t.Containers[i]
		}
	}
	switch {
	case c == nil && name == "":
		return nil, invalidParam("Task %s has %d containers %v: name one with --container.", t.TaskArn, len(names), names)
	case c == nil:
		return nil, invalidParam("Task %s has no container %q; its containers are %v.", t.TaskArn, name, names)
	case c.LastStatus != taskRunning:
		return nil, invalidParam("Container %s of task %s is %s; commands run only in a RUNNING container.", c.Name, t.TaskArn, c.LastStatus)
	}
	return c, nil
}

// ExecStreamPath is the route of a session's stream.
func ExecStreamPath(cluster, taskID, session string) string {
	return execproto.Path + cluster + "/" + taskID + "/" + session
}

// clusterOfTaskArn splits a long task ARN into cluster and task ID.
func clusterOfTaskArn(arn string) (cluster, id string) {
	p, err := ParseARN(arn)
	if err != nil || len(p.Parts) != 2 {
		return "", ""
	}
	return p.Parts[0], p.Parts[1]
}

// agentExecSessions are a task's sessions younger than the TTL, for its
// agent's poll answer.
func (a *API) agentExecSessions(t *state.Task) []agentproto.ExecSession {
	var out []agentproto.ExecSession
	cluster, id := clusterOfTaskArn(t.TaskArn)
	now := a.now()
	for _, s := range t.ExecSessions {
		if s.CreatedAt == nil || now.Sub(s.CreatedAt.Time) > execSessionTTL {
			continue
		}
		out = append(out, agentproto.ExecSession{ID: s.ID, Container: s.Container, Command: s.Command,
			Interactive: s.Interactive, Tty: s.Tty, StreamPath: ExecStreamPath(cluster, id, s.ID), CreatedAt: s.CreatedAt})
	}
	return out
}

// ExecSessionOf finds a session of a task for the stream route: the task's
// record and the session, or an API error.
func (a *API) ExecSessionOf(ctx context.Context, cluster, taskID, session string) (*state.Task, *state.ExecSession, error) {
	if !validName(cluster) || !validName(taskID) || !validName(session) {
		return nil, nil, invalidParam("Invalid exec stream path.")
	}
	t, _, err := state.Get[state.Task](ctx, a.st, state.TaskKey(cluster, taskID))
	if isNotFound(err) {
		return nil, nil, invalidParam("Task %s was not found in cluster %s.", taskID, cluster)
	}
	if err != nil {
		return nil, nil, err
	}
	for i := range t.ExecSessions {
		s := &t.ExecSessions[i]
		if s.ID == session && s.CreatedAt != nil && a.now().Sub(s.CreatedAt.Time) <= execSessionTTL {
			return t, s, nil
		}
	}
	return nil, nil, invalidParam("Exec session %s of task %s does not exist or has expired; start another.", session, taskID)
}
