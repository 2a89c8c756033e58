// Package agentproto holds the wire types of the one Wharf-specific operation
// the agent uses beside ECS's own agent operations: a long poll for the tasks
// assigned to its container instance. It is served on the ECS endpoint under
// its own X-Amz-Target prefix with the AWS JSON 1.1 protocol.
package agentproto

import "github.com/wharf-ecs/wharf/internal/model"

// TargetPrefix is the X-Amz-Target prefix of the agent service.
const TargetPrefix = "WharfAgent_v1"

// PollTasks is the operation name: TargetPrefix + ".PollTasks".
const PollTasks = "PollTasks"

// PollTasksRequest asks for the instance's tasks once something changed after
// SinceRevision, or when WaitSeconds pass. The poll is also the heartbeat.
type PollTasksRequest struct {
	Cluster              string `json:"cluster"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
	SinceRevision        int64  `json:"sinceRevision"`
	WaitSeconds          int32  `json:"waitSeconds"`
	// WantServiceImages asks for the images of the cluster's active
	// services, which an agent that pre-pulls fetches ahead of their tasks.
	WantServiceImages bool `json:"wantServiceImages,omitempty"`
	// Deltas says the agent takes an answer that holds only the tasks
	// changed after SinceRevision (see PollTasksResponse.Delta).
	Deltas bool `json:"deltas,omitempty"`
	// KeepUnlisted says the agent takes a delta answer without TaskArns
	// when no task left the instance's set since SinceRevision (see
	// PollTasksResponse.Kept).
	KeepUnlisted bool `json:"keepUnlisted,omitempty"`
}

// PollTasksResponse lists every task assigned to the instance that is not yet
// STOPPED, with its task definition. The agent reconciles against the whole
// set (level-triggered): a task absent from it is one the agent must not run.
//
// A Delta answer (to an agent that asked for Deltas, after its first poll)
// holds in Tasks only the tasks that changed after the request's
// SinceRevision, and in TaskArns every task assigned and not STOPPED: an
// instance running a hundred tasks is not sent a hundred definitions each
// time one of them changes.
//
// A Kept delta (to an agent that asked to KeepUnlisted) leaves TaskArns out:
// no task left the instance's set after SinceRevision, so the set is the
// agent's tasks plus those in Tasks. Every answer listing a hundred ARNs,
// each time one task of a hundred changed, was most of the cost of a full
// instance's polls.
type PollTasksResponse struct {
	Revision int64       `json:"revision"`
	Tasks    []AgentTask `json:"tasks"`
	Delta    bool        `json:"delta,omitempty"`
	TaskArns []string    `json:"taskArns,omitempty"`
	Kept     bool        `json:"kept,omitempty"`
	// ServiceImages are the images of the cluster's ACTIVE services'
	// deployments, when the request asked for them.
	ServiceImages []string `json:"serviceImages,omitempty"`
}

// AgentTask is one assigned task and the definition to run it from.
type AgentTask struct {
	Task model.Task `json:"task"`
	// TaskDefinition is shared by the tasks of one revision, on both sides:
	// an agent runs a hundred tasks of a few definitions. Read only.
	TaskDefinition *model.TaskDefinition `json:"taskDefinition"`
	// Restarts counts the restarts asked for each container (by name) with
	// RestartContainer; the agent restarts a container when its count grows.
	Restarts map[string]int `json:"restarts,omitempty"`
	// Secrets holds the values of the containers' secrets (the task
	// definition's containerDefinitions[].secrets), resolved by the server
	// while the task has yet to start: container name → environment
	// variable → value. They are sent only to the task's own agent, never
	// stored with the task, and must never be logged.
	Secrets map[string]map[string]string `json:"secrets,omitempty"`
	// SecretsError says why a secret could not be resolved (a missing
	// parameter, a reference Wharf cannot serve). The agent then stops the
	// task without creating its containers, as ECS does with
	// ResourceInitializationError.
	SecretsError string `json:"secretsError,omitempty"`
	// StopGraceSeconds, when set, replaces every container's stopTimeout
	// for the task's stop: the notice a FARGATE_SPOT interruption gives.
	StopGraceSeconds int `json:"stopGraceSeconds,omitempty"`
	// ExecSessions are the task's `wharf exec` sessions waiting for the
	// agent to run their command (exec.go).
	ExecSessions []ExecSession `json:"execSessions,omitempty"`
}

// SubmitTaskStateChangeInput is ECS's SubmitTaskStateChange request plus the
// members Wharf's agent adds and the ECS shape lacks. The server decodes the
// same type, so an ECS agent (which sends none of them) is understood too.
type SubmitTaskStateChangeInput struct {
	model.SubmitTaskStateChangeRequest
	// StopCode says why the task stopped when the agent stopped it, e.g.
	// EssentialContainerExited or TaskFailedToStart.
	StopCode model.TaskStopCode `json:"wharfStopCode,omitempty"`
	// HealthStatus is the task's health from its containers' health checks.
	HealthStatus model.HealthStatus `json:"wharfHealthStatus,omitempty"`
	// ContainerHealth is each container's health by container name.
	ContainerHealth map[string]model.HealthStatus `json:"wharfContainerHealth,omitempty"`
	// NetworkInterface is the address of an awsvpc task's own network
	// namespace, once the agent has made it.
	NetworkInterface *TaskNetworkInterface `json:"wharfNetworkInterface,omitempty"`
}

// SubmitContainerStateChangeInput is ECS's SubmitContainerStateChange request
// plus the container's health, which the ECS shape lacks.
type SubmitContainerStateChangeInput struct {
	model.SubmitContainerStateChangeRequest
	HealthStatus model.HealthStatus `json:"wharfHealthStatus,omitempty"`
}
