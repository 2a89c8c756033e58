package aasapi

import (
	"encoding/json"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Requests and responses, with the model's member names. Stored documents
// (internal/state) are the response shapes; what they keep beside the shape
// is cleared before they go on the wire (see the out... functions).

// targetRef names a scalable target in a request.
type targetRef struct {
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceId        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
}

type registerScalableTargetRequest struct {
	targetRef
	MinCapacity    *int32             `json:"MinCapacity"`
	MaxCapacity    *int32             `json:"MaxCapacity"`
	RoleARN        string             `json:"RoleARN"`
	SuspendedState *suspendedStateArg `json:"SuspendedState"`
	Tags           map[string]string  `json:"Tags"`
}

type suspendedStateArg struct {
	DynamicScalingInSuspended  *bool `json:"DynamicScalingInSuspended"`
	DynamicScalingOutSuspended *bool `json:"DynamicScalingOutSuspended"`
	ScheduledScalingSuspended  *bool `json:"ScheduledScalingSuspended"`
}

type registerScalableTargetResponse struct {
	ScalableTargetARN string `json:"ScalableTargetARN,omitempty"`
}

type deregisterScalableTargetRequest struct{ targetRef }

type empty struct{}

// describeFilter is what the Describe operations filter and page by.
type describeFilter struct {
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceId        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
	MaxResults        *int32 `json:"MaxResults"`
	NextToken         string `json:"NextToken"`
}

type describeScalableTargetsRequest struct {
	describeFilter
	ResourceIds []string `json:"ResourceIds"`
}

type describeScalableTargetsResponse struct {
	ScalableTargets []*state.ScalableTarget `json:"ScalableTargets"`
	NextToken       string                  `json:"NextToken,omitempty"`
}

type putScalingPolicyRequest struct {
	targetRef
	PolicyName                               string                                          `json:"PolicyName"`
	PolicyType                               string                                          `json:"PolicyType"`
	StepScalingPolicyConfiguration           *state.StepScalingPolicyConfiguration           `json:"StepScalingPolicyConfiguration"`
	TargetTrackingScalingPolicyConfiguration *state.TargetTrackingScalingPolicyConfiguration `json:"TargetTrackingScalingPolicyConfiguration"`
	PredictiveScalingPolicyConfiguration     json.RawMessage                                 `json:"PredictiveScalingPolicyConfiguration"`
}

type putScalingPolicyResponse struct {
	PolicyARN string        `json:"PolicyARN"`
	Alarms    []state.Alarm `json:"Alarms"`
}

type describeScalingPoliciesRequest struct {
	describeFilter
	PolicyNames []string `json:"PolicyNames"`
}

type describeScalingPoliciesResponse struct {
	ScalingPolicies []*state.ScalingPolicy `json:"ScalingPolicies"`
	NextToken       string                 `json:"NextToken,omitempty"`
}

type deleteScalingPolicyRequest struct {
	targetRef
	PolicyName string `json:"PolicyName"`
}

type describeScalingActivitiesRequest struct {
	describeFilter
	IncludeNotScaledActivities *bool `json:"IncludeNotScaledActivities"`
}

type describeScalingActivitiesResponse struct {
	ScalingActivities []*state.ScalingActivity `json:"ScalingActivities"`
	NextToken         string                   `json:"NextToken,omitempty"`
}

type putScheduledActionRequest struct {
	targetRef
	ScheduledActionName  string                      `json:"ScheduledActionName"`
	Schedule             string                      `json:"Schedule"`
	Timezone             string                      `json:"Timezone"`
	StartTime            *model.Time                 `json:"StartTime"`
	EndTime              *model.Time                 `json:"EndTime"`
	ScalableTargetAction *state.ScalableTargetAction `json:"ScalableTargetAction"`
}

type describeScheduledActionsRequest struct {
	describeFilter
	ScheduledActionNames []string `json:"ScheduledActionNames"`
}

type describeScheduledActionsResponse struct {
	ScheduledActions []*state.ScheduledAction `json:"ScheduledActions"`
	NextToken        string                   `json:"NextToken,omitempty"`
}

type deleteScheduledActionRequest struct {
	targetRef
	ScheduledActionName string `json:"ScheduledActionName"`
}

type tagResourceRequest struct {
	ResourceARN string            `json:"ResourceARN"`
	Tags        map[string]string `json:"Tags"`
}

type untagResourceRequest struct {
	ResourceARN string   `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
}

type listTagsForResourceRequest struct {
	ResourceARN string `json:"ResourceARN"`
}

type listTagsForResourceResponse struct {
	Tags map[string]string `json:"Tags"`
}

func outTarget(t *state.ScalableTarget) *state.ScalableTarget {
	c := *t
	c.Tags = nil
	return &c
}

func outScheduledAction(s *state.ScheduledAction) *state.ScheduledAction {
	c := *s
	c.Since = nil
	return &c
}

func outActivity(a *state.ScalingActivity) *state.ScalingActivity {
	c := *a
	c.Kind, c.Policy, c.From, c.To = "", "", 0, 0
	return &c
}
