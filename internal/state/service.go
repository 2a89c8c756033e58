package state

import (
	"crypto/rand"
	"fmt"
	"math/big"

	"github.com/wharf-ecs/wharf/internal/model"
)

// Service statuses, as the Service shape spells them (the model has no enum).
const (
	ServiceActive   = "ACTIVE"
	ServiceDraining = "DRAINING"
	ServiceInactive = "INACTIVE"
)

// Deployment statuses.
const (
	DeploymentPrimary  = "PRIMARY"
	DeploymentActive   = "ACTIVE"
	DeploymentInactive = "INACTIVE"
)

// Service is the stored service: the ECS shape as DescribeServices returns
// it (status at the top level, as every stored document has), with each
// deployment's bookkeeping and what the service controller keeps between
// rounds. The API writes the desired state (task definition, counts,
// configuration, new deployments); the controller writes the observed state
// (running and pending counts, rollout states, events).
type Service struct {
	model.Service
	// Deployments shadows model.Service.Deployments under the same JSON name
	// so that each deployment carries the controller's bookkeeping.
	Deployments []Deployment `json:"deployments,omitempty"`
	// Cluster is the cluster's name (the key holds it too).
	Cluster string `json:"wharfCluster"`
	// ClientToken and CreateHash make CreateService idempotent: a repeat
	// with the same token, or with the same parameters, answers the service.
	ClientToken string `json:"wharfClientToken,omitempty"`
	CreateHash  string `json:"wharfCreateHash,omitempty"`
	// LastCompleted is the latest deployment that reached COMPLETED, which a
	// circuit breaker rollback deploys again.
	LastCompleted *CompletedDeployment `json:"wharfLastCompleted,omitempty"`
	// LaunchFailures counts the controller's rounds in a row that saw tasks
	// fail to start; launches back off exponentially on it until RetryAt.
	LaunchFailures int         `json:"wharfLaunchFailures,omitempty"`
	LastFailureAt  *model.Time `json:"wharfLastFailureAt,omitempty"`
	RetryAt        *model.Time `json:"wharfRetryAt,omitempty"`
	// SteadyAt is when the controller last reported a steady state; nil
	// while the service is not steady.
	SteadyAt *model.Time `json:"wharfSteadyAt,omitempty"`
	// InactiveAt is when the service became INACTIVE; it is removed once
	// the retention period has passed.
	InactiveAt *model.Time `json:"wharfInactiveAt,omitempty"`
}

// Deployment is one deployment of a service with the circuit breaker's
// counts. FailedTotal only grows: it is the most failed tasks of the
// deployment ever seen at once, so it survives the removal of stopped tasks.
type Deployment struct {
	model.Deployment
	FailedTotal int32 `json:"wharfFailedTotal,omitempty"`
	// HadHealthy says a task of the deployment was healthy once. ECS then
	// resets failedTasks (FailedBase is FailedTotal at that moment) and the
	// circuit breaker stops evaluating the deployment.
	HadHealthy bool  `json:"wharfHadHealthy,omitempty"`
	FailedBase int32 `json:"wharfFailedBase,omitempty"`
}

// CompletedDeployment names a deployment that completed and what it ran.
type CompletedDeployment struct {
	ID             string `json:"id"`
	TaskDefinition string `json:"taskDefinition"`
}

// Primary returns the service's PRIMARY deployment, or nil.
func (s *Service) Primary() *Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Status == DeploymentPrimary {
			return &s.Deployments[i]
		}
	}
	return nil
}

// ServiceGroup is the task group of a service's tasks, as ECS names it.
func ServiceGroup(name string) string { return "service:" + name }

// NewDeploymentID returns an ID of ECS's form, ecs-svc/ and 19 digits. The
// ID is also the startedBy of the deployment's tasks.
func NewDeploymentID() string {
	lo := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	n, _ := rand.Int(rand.Reader, new(big.Int).Mul(lo, big.NewInt(9)))
	return "ecs-svc/" + n.Add(n, lo).String()
}

// NewDeployment is a PRIMARY deployment of td starting now.
func NewDeployment(td string, desired int32, lt model.LaunchType, now *model.Time) Deployment {
	id := NewDeploymentID()
	zero := int32(0)
	return Deployment{Deployment: model.Deployment{
		Id:                 id,
		Status:             DeploymentPrimary,
		TaskDefinition:     td,
		DesiredCount:       &desired,
		PendingCount:       &zero,
		RunningCount:       &zero,
		FailedTasks:        &zero,
		CreatedAt:          now,
		UpdatedAt:          now,
		LaunchType:         lt,
		RolloutState:       model.DeploymentRolloutStateInProgress,
		RolloutStateReason: fmt.Sprintf("ECS deployment %s in progress.", id),
	}}
}

// StartDeployment makes a new PRIMARY deployment of td and returns it; the
// previous ones stay as ACTIVE until their tasks have been drained.
func (s *Service) StartDeployment(td string, now *model.Time) *Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Status == DeploymentPrimary {
			s.Deployments[i].Status = DeploymentActive
			s.Deployments[i].UpdatedAt = now
		}
	}
	desired := int32(0)
	if s.DesiredCount != nil {
		desired = *s.DesiredCount
	}
	s.Deployments = append([]Deployment{NewDeployment(td, desired, s.LaunchType, now)}, s.Deployments...)
	s.TaskDefinition = td
	s.SteadyAt = nil
	return &s.Deployments[0]
}
