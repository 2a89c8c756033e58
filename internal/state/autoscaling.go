package state

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
)

// Application Auto Scaling documents (internal/aasapi, internal/autoscaling).
// A scalable target lives under its reference: namespace, dimension and
// resource ID ("ecs/ecs:service:DesiredCount/service/CLUSTER/SERVICE"). Its
// policies, scheduled actions and activities live under the same reference
// followed by '!', which no resource ID of the ecs namespace holds, so that a
// prefix scan yields one target's documents and nothing of a target whose
// resource ID merely begins the same way. Activities sort newest first: their
// key holds the time subtracted from the largest int64.
//
// The documents are the API's shapes with the model's member names; members
// named wharf... are Wharf's own bookkeeping and never go on the wire.
const (
	AutoScalingPrefix       = "autoscaling/"
	ScalableTargetsPrefix   = AutoScalingPrefix + "targets/"
	ScalingPoliciesPrefix   = AutoScalingPrefix + "policies/"
	ScheduledActionsPrefix  = AutoScalingPrefix + "scheduled/"
	ScalingActivitiesPrefix = AutoScalingPrefix + "activities/"
)

// ScalableRef names one scalable target in keys.
func ScalableRef(namespace, dimension, resourceID string) string {
	return namespace + "/" + dimension + "/" + resourceID
}

// ScalableTargetKey is the key of a scalable target.
func ScalableTargetKey(ref string) string { return ScalableTargetsPrefix + ref }

// ScalingPoliciesOf is the prefix of one target's scaling policies.
func ScalingPoliciesOf(ref string) string { return ScalingPoliciesPrefix + ref + "!" }

// ScalingPolicyKey is the key of a scaling policy by target and name.
func ScalingPolicyKey(ref, name string) string { return ScalingPoliciesOf(ref) + name }

// ScheduledActionsOf is the prefix of one target's scheduled actions.
func ScheduledActionsOf(ref string) string { return ScheduledActionsPrefix + ref + "!" }

// ScheduledActionKey is the key of a scheduled action by target and name.
func ScheduledActionKey(ref, name string) string { return ScheduledActionsOf(ref) + name }

// ScalingActivitiesOf is the prefix of one target's activities.
func ScalingActivitiesOf(ref string) string { return ScalingActivitiesPrefix + ref + "!" }

// activitySeq orders the activities one process records at the same time.
var activitySeq atomic.Uint32

// ScalingActivityKey is the key of an activity started at t: newer
// activities sort first, and of two recorded at the same time by one
// process, the later.
func ScalingActivityKey(ref string, t time.Time, id string) string {
	return ScalingActivitiesOf(ref) + fmt.Sprintf("%019d-%010d-%s", math.MaxInt64-t.UnixNano(), math.MaxUint32-activitySeq.Add(1), id)
}

// ParseScalableRef splits what follows a prefix in an autoscaling key (up
// to the '!' that ends the reference, if any) into its parts.
func ParseScalableRef(rest string) (namespace, dimension, resourceID string, ok bool) {
	rest, _, _ = strings.Cut(rest, "!")
	namespace, rest, ok1 := strings.Cut(rest, "/")
	dimension, resourceID, ok2 := strings.Cut(rest, "/")
	return namespace, dimension, resourceID, ok1 && ok2 && namespace != "" && dimension != "" && resourceID != ""
}

// ScalableTarget is a registered scalable target.
type ScalableTarget struct {
	ServiceNamespace  string         `json:"ServiceNamespace"`
	ResourceId        string         `json:"ResourceId"`
	ScalableDimension string         `json:"ScalableDimension"`
	MinCapacity       int32          `json:"MinCapacity"`
	MaxCapacity       int32          `json:"MaxCapacity"`
	RoleARN           string         `json:"RoleARN"`
	CreationTime      *model.Time    `json:"CreationTime"`
	SuspendedState    SuspendedState `json:"SuspendedState"`
	ScalableTargetARN string         `json:"ScalableTargetARN"`
	// Tags are the target's tags (ListTagsForResource); Wharf reads
	// wharf:alarm:POLICY tags as the alarms of step scaling policies.
	Tags map[string]string `json:"wharfTags,omitempty"`
}

// Ref is the target's reference in keys.
func (t *ScalableTarget) Ref() string {
	return ScalableRef(t.ServiceNamespace, t.ScalableDimension, t.ResourceId)
}

// SuspendedState says which kinds of scaling are suspended for a target.
type SuspendedState struct {
	DynamicScalingInSuspended  bool `json:"DynamicScalingInSuspended"`
	DynamicScalingOutSuspended bool `json:"DynamicScalingOutSuspended"`
	ScheduledScalingSuspended  bool `json:"ScheduledScalingSuspended"`
}

// Scaling policy types.
const (
	PolicyStepScaling           = "StepScaling"
	PolicyTargetTrackingScaling = "TargetTrackingScaling"
	PolicyPredictiveScaling     = "PredictiveScaling"
)

// ScalingPolicy is a scaling policy of a target.
type ScalingPolicy struct {
	PolicyARN                                string                                    `json:"PolicyARN"`
	PolicyName                               string                                    `json:"PolicyName"`
	ServiceNamespace                         string                                    `json:"ServiceNamespace"`
	ResourceId                               string                                    `json:"ResourceId"`
	ScalableDimension                        string                                    `json:"ScalableDimension"`
	PolicyType                               string                                    `json:"PolicyType"`
	StepScalingPolicyConfiguration           *StepScalingPolicyConfiguration           `json:"StepScalingPolicyConfiguration,omitempty"`
	TargetTrackingScalingPolicyConfiguration *TargetTrackingScalingPolicyConfiguration `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	Alarms                                   []Alarm                                   `json:"Alarms"`
	CreationTime                             *model.Time                               `json:"CreationTime"`
}

// StepScalingPolicyConfiguration is the StepScalingPolicyConfiguration shape.
type StepScalingPolicyConfiguration struct {
	AdjustmentType         string           `json:"AdjustmentType,omitempty"`
	StepAdjustments        []StepAdjustment `json:"StepAdjustments,omitempty"`
	MinAdjustmentMagnitude *int32           `json:"MinAdjustmentMagnitude,omitempty"`
	Cooldown               *int32           `json:"Cooldown,omitempty"`
	MetricAggregationType  string           `json:"MetricAggregationType,omitempty"`
}

// StepAdjustment is one step: a range of the metric's distance from the
// alarm threshold and the adjustment it makes.
type StepAdjustment struct {
	MetricIntervalLowerBound *float64 `json:"MetricIntervalLowerBound,omitempty"`
	MetricIntervalUpperBound *float64 `json:"MetricIntervalUpperBound,omitempty"`
	ScalingAdjustment        *int32   `json:"ScalingAdjustment"`
}

// TargetTrackingScalingPolicyConfiguration is the shape of the same name.
type TargetTrackingScalingPolicyConfiguration struct {
	TargetValue                   *float64                       `json:"TargetValue"`
	PredefinedMetricSpecification *PredefinedMetricSpecification `json:"PredefinedMetricSpecification,omitempty"`
	CustomizedMetricSpecification *CustomizedMetricSpecification `json:"CustomizedMetricSpecification,omitempty"`
	ScaleOutCooldown              *int32                         `json:"ScaleOutCooldown,omitempty"`
	ScaleInCooldown               *int32                         `json:"ScaleInCooldown,omitempty"`
	DisableScaleIn                *bool                          `json:"DisableScaleIn,omitempty"`
}

// PredefinedMetricSpecification names one of the predefined metrics.
type PredefinedMetricSpecification struct {
	PredefinedMetricType string `json:"PredefinedMetricType"`
	ResourceLabel        string `json:"ResourceLabel,omitempty"`
}

// CustomizedMetricSpecification names a CloudWatch metric. Metrics (metric
// math) is kept raw only to be refused.
type CustomizedMetricSpecification struct {
	MetricName string            `json:"MetricName,omitempty"`
	Namespace  string            `json:"Namespace,omitempty"`
	Dimensions []MetricDimension `json:"Dimensions,omitempty"`
	Statistic  string            `json:"Statistic,omitempty"`
	Unit       string            `json:"Unit,omitempty"`
	Metrics    []map[string]any  `json:"Metrics,omitempty"`
}

// MetricDimension is a CloudWatch metric dimension.
type MetricDimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// Alarm names an alarm that invokes a policy.
type Alarm struct {
	AlarmName string `json:"AlarmName"`
	AlarmARN  string `json:"AlarmARN"`
}

// ScheduledAction is a scheduled action of a target.
type ScheduledAction struct {
	ScheduledActionName  string                `json:"ScheduledActionName"`
	ScheduledActionARN   string                `json:"ScheduledActionARN"`
	ServiceNamespace     string                `json:"ServiceNamespace"`
	Schedule             string                `json:"Schedule"`
	Timezone             string                `json:"Timezone,omitempty"`
	ResourceId           string                `json:"ResourceId"`
	ScalableDimension    string                `json:"ScalableDimension"`
	StartTime            *model.Time           `json:"StartTime,omitempty"`
	EndTime              *model.Time           `json:"EndTime,omitempty"`
	ScalableTargetAction *ScalableTargetAction `json:"ScalableTargetAction,omitempty"`
	CreationTime         *model.Time           `json:"CreationTime"`
	// Since is when the action was last put or fired: it next fires at
	// its schedule's first time after Since.
	Since *model.Time `json:"wharfSince,omitempty"`
}

// ScalableTargetAction is the capacity range a scheduled action sets.
type ScalableTargetAction struct {
	MinCapacity *int32 `json:"MinCapacity,omitempty"`
	MaxCapacity *int32 `json:"MaxCapacity,omitempty"`
}

// Scaling activity status codes.
const (
	ActivitySuccessful  = "Successful"
	ActivityFailed      = "Failed"
	ActivityUnfulfilled = "Unfulfilled"
)

// What started an activity (ScalingActivity.Kind).
const (
	ActivityScaleOut  = "ScaleOut"
	ActivityScaleIn   = "ScaleIn"
	ActivitySchedule  = "Schedule"
	ActivityRange     = "Range" // a registration brought the count into range
	ActivityNotScaled = "NotScaled"
)

// ScalingActivity is one scaling activity, or a decision not to scale.
type ScalingActivity struct {
	ActivityId        string            `json:"ActivityId"`
	ServiceNamespace  string            `json:"ServiceNamespace"`
	ResourceId        string            `json:"ResourceId"`
	ScalableDimension string            `json:"ScalableDimension"`
	Description       string            `json:"Description"`
	Cause             string            `json:"Cause"`
	StartTime         *model.Time       `json:"StartTime"`
	EndTime           *model.Time       `json:"EndTime,omitempty"`
	StatusCode        string            `json:"StatusCode"`
	StatusMessage     string            `json:"StatusMessage,omitempty"`
	Details           string            `json:"Details,omitempty"`
	NotScaledReasons  []NotScaledReason `json:"NotScaledReasons,omitempty"`
	// Kind is what started the activity (Activity...); Policy the scaling
	// policy that did, if one did; From and To the desired count before
	// and after. Cooldowns are measured from these.
	Kind   string `json:"wharfKind,omitempty"`
	Policy string `json:"wharfPolicy,omitempty"`
	From   int32  `json:"wharfFrom,omitempty"`
	To     int32  `json:"wharfTo,omitempty"`
}

// NotScaledReason says why a policy that wanted to scale did not.
type NotScaledReason struct {
	Code            string `json:"Code"`
	MaxCapacity     *int32 `json:"MaxCapacity,omitempty"`
	MinCapacity     *int32 `json:"MinCapacity,omitempty"`
	CurrentCapacity *int32 `json:"CurrentCapacity,omitempty"`
}
