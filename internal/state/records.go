package state

import "github.com/wharf-ecs/wharf/internal/model"

// Cluster is the stored cluster: the ECS shape as the API returns it, less the
// counts, which are derived from the tasks, instances and services.
type Cluster struct {
	model.Cluster
}

// Family tracks a task definition family: the last revision handed out (never
// reused, as in ECS) and how many revisions are ACTIVE.
type Family struct {
	Name           string `json:"name"`
	LastRevision   int32  `json:"lastRevision"`
	ActiveRevision int32  `json:"activeRevisions"`
}

// TaskDefinition is one stored revision with its tags, which the ECS API
// returns beside the task definition rather than inside it.
type TaskDefinition struct {
	TaskDefinition model.TaskDefinition `json:"taskDefinition"`
	Tags           []model.Tag          `json:"tags,omitempty"`
}

// Task is the stored task: the ECS shape plus the instance it was placed on by ID.
type Task struct {
	model.Task
	// InstanceID is the container instance the task is placed on ("" until placed).
	InstanceID string `json:"wharfInstanceId,omitempty"`
	// ClientToken is RunTask's idempotency token, if one was given.
	ClientToken string `json:"wharfClientToken,omitempty"`
}

// ContainerInstance is the stored container instance.
type ContainerInstance struct {
	model.ContainerInstance
	Cluster string `json:"wharfCluster"`
	ID      string `json:"wharfId"`
}
