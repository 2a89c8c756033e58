package agentproto

import "github.com/wharf-ecs/wharf/internal/model"

// RestartContainer restarts one container of a running task in place, the
// task and its other containers untouched.
const RestartContainer = "RestartContainer"

// RestartContainerRequest names the container.
type RestartContainerRequest struct {
	Cluster   string `json:"cluster,omitempty"`
	Task      string `json:"task"`
	Container string `json:"container"`
}

// RestartContainerResponse is the task as the restart was asked.
type RestartContainerResponse struct {
	Task model.Task `json:"task"`
}

// ExplainPlacement is the admin operation that says, for a launch, why each
// container instance of the cluster would accept or refuse it — with the
// check and the figures — without launching anything.
const ExplainPlacement = "ExplainPlacement"

// ExplainPlacementRequest is RunTask's request (the same members, the same
// validation), or Task: an existing task, whose launch is explained again
// from its task definition, group, overrides and its service's placement.
type ExplainPlacementRequest struct {
	model.RunTaskRequest
	Task string `json:"task,omitempty"`
}

// InstanceVerdict is one instance's answer for one task.
type InstanceVerdict struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	// Accepted is true when the instance passes every check; Chosen when
	// the strategies picked it.
	Accepted bool `json:"accepted"`
	Chosen   bool `json:"chosen,omitempty"`
	// Check, Reason and Detail name the first check it failed: for
	// example "cpu", "RESOURCE:CPU", "needs 512 CPU units, has 256".
	Check  string `json:"check,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// TaskExplanation is the verdict of every instance for one task of the
// launch, in placement order: the first task's instances reflect the
// cluster as it is, later ones the earlier tasks' placement too.
type TaskExplanation struct {
	ChosenInstanceArn string            `json:"chosenInstanceArn,omitempty"`
	Instances         []InstanceVerdict `json:"instances"`
}

// ExplainPlacementResponse explains a launch.
type ExplainPlacementResponse struct {
	Cluster           string                      `json:"cluster"`
	TaskDefinitionArn string                      `json:"taskDefinitionArn"`
	Group             string                      `json:"group,omitempty"`
	Strategies        []model.PlacementStrategy   `json:"placementStrategy"`
	Constraints       []model.PlacementConstraint `json:"placementConstraints"`
	CPU               int32                       `json:"cpu"`
	Memory            int32                       `json:"memory"`
	// Task is set when an existing task was explained; RunsOn is the
	// instance it runs on now.
	Task   string            `json:"task,omitempty"`
	RunsOn string            `json:"runsOn,omitempty"`
	Tasks  []TaskExplanation `json:"tasks"`
	Note   string            `json:"note,omitempty"`
}
