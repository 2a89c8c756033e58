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
	// Reserved is what the task holds on its instance from placement until it
	// stops; exactly this is given back, so a release never depends on
	// re-deriving the demand from a task definition and overrides.
	Reserved *TaskReservation `json:"wharfReserved,omitempty"`
	// StoppedByUser records that StopTask asked for the stop, so that the
	// agent's later report keeps stopCode UserInitiated and the user's reason.
	StoppedByUser bool `json:"wharfStoppedByUser,omitempty"`
	// PlacementConstraints and PlacementStrategy are the launch request's
	// own (RunTask's or StartTask's), beyond the task definition's.
	PlacementConstraints []model.PlacementConstraint `json:"wharfPlacementConstraints,omitempty"`
	PlacementStrategy    []model.PlacementStrategy   `json:"wharfPlacementStrategy,omitempty"`
	// ExecutionTimeout is how long the task may run, in seconds from
	// startedAt, before it is stopped (0: no limit); from the tag
	// wharf:executionTimeout of the launch or of the task definition.
	ExecutionTimeout int64 `json:"wharfExecutionTimeout,omitempty"`
	// QueuedUntil is set while a RunTask launch that asked to wait for
	// capacity (wharf:waitForCapacity) is PROVISIONING without an instance:
	// it is placed once capacity frees, or stopped at this time.
	QueuedUntil *model.Time `json:"wharfQueuedUntil,omitempty"`
	// Restarts counts RestartContainer requests by container name.
	Restarts map[string]int `json:"wharfRestarts,omitempty"`
	// StopGraceSeconds replaces the containers' stopTimeout when set: the
	// two-minute notice of a FARGATE_SPOT interruption (capacity.go).
	StopGraceSeconds int `json:"wharfStopGraceSeconds,omitempty"`
	// ExecSessions are the task's recent `wharf exec` sessions (exec.go).
	ExecSessions []ExecSession `json:"wharfExecSessions,omitempty"`
}

// ExecSession is a `wharf exec` session of a task: what to run, and who
// opened it (only that caller may attach to it).
type ExecSession struct {
	ID          string      `json:"id"`
	Container   string      `json:"container"`
	Command     []string    `json:"command"`
	Interactive bool        `json:"interactive,omitempty"`
	Tty         bool        `json:"tty,omitempty"`
	CreatedAt   *model.Time `json:"createdAt"`
	// AccessKeyID opened the session ("" with authentication off).
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

// TaskReservation is the share of a container instance's resources one task
// holds: CPU units, MiB of memory and static host ports by protocol.
type TaskReservation struct {
	CPU      int32    `json:"cpu,omitempty"`
	Memory   int32    `json:"memory,omitempty"`
	PortsTCP []string `json:"portsTcp,omitempty"`
	PortsUDP []string `json:"portsUdp,omitempty"`
}

// ContainerInstance is the stored container instance.
type ContainerInstance struct {
	model.ContainerInstance
	Cluster string `json:"wharfCluster"`
	ID      string `json:"wharfId"`
}
