package agentproto

import "github.com/wharf-ecs/wharf/internal/model"

// StartExecSession is the admin operation behind `wharf exec`: it opens a
// session that runs a command in a container of a running task. The caller
// then opens the session's stream (internal/execproto) at StreamPath; the
// task's agent, told of the session in its poll, opens the other end.
const StartExecSession = "StartExecSession"

// StartExecSessionRequest names the task, the container (optional when the
// task has one container) and the command.
type StartExecSessionRequest struct {
	Cluster   string   `json:"cluster,omitempty"`
	Task      string   `json:"task"`
	Container string   `json:"container,omitempty"`
	Command   []string `json:"command"`
	// Interactive sends the caller's input to the command; Tty gives it a
	// terminal (interactive programs, shells).
	Interactive bool `json:"interactive,omitempty"`
	Tty         bool `json:"tty,omitempty"`
}

// StartExecSessionResponse is the session.
type StartExecSessionResponse struct {
	SessionID    string `json:"sessionId"`
	StreamPath   string `json:"streamPath"`
	TaskArn      string `json:"taskArn"`
	ContainerArn string `json:"containerArn"`
	Container    string `json:"containerName"`
}

// ExecSession is a session as the task's agent sees it in its poll answer.
type ExecSession struct {
	ID          string      `json:"id"`
	Container   string      `json:"container"`
	Command     []string    `json:"command"`
	Interactive bool        `json:"interactive,omitempty"`
	Tty         bool        `json:"tty,omitempty"`
	StreamPath  string      `json:"streamPath"`
	CreatedAt   *model.Time `json:"createdAt"`
}
