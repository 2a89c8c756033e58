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
}

// PollTasksResponse lists every task assigned to the instance that is not yet
// STOPPED, with its task definition. The agent reconciles against the whole
// set (level-triggered): a task absent from it is one the agent must not run.
type PollTasksResponse struct {
	Revision int64       `json:"revision"`
	Tasks    []AgentTask `json:"tasks"`
}

// AgentTask is one assigned task and the definition to run it from.
type AgentTask struct {
	Task           model.Task           `json:"task"`
	TaskDefinition model.TaskDefinition `json:"taskDefinition"`
}
