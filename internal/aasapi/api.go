// Package aasapi is Wharf's Application Auto Scaling API for ECS services:
// the subset of the AWS API (AWS JSON 1.1, X-Amz-Target
// "AnyScaleFrontendService.*", signed for "application-autoscaling") that
// configures Service Auto Scaling, for the namespace ecs and the dimension
// ecs:service:DesiredCount. internal/autoscaling acts on what it stores.
//
// Served: RegisterScalableTarget, DeregisterScalableTarget,
// DescribeScalableTargets, PutScalingPolicy (TargetTrackingScaling on
// ECSServiceAverageCPUUtilization, ECSServiceAverageMemoryUtilization or the
// AWS/ECS CPUUtilization and MemoryUtilization metrics; StepScaling),
// DescribeScalingPolicies, DeleteScalingPolicy, DescribeScalingActivities,
// PutScheduledAction, DescribeScheduledActions, DeleteScheduledAction,
// TagResource, UntagResource and ListTagsForResource. Other namespaces,
// predictive scaling, ALBRequestCountPerTarget and metric math are refused
// with a ValidationException that says so.
package aasapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/wharf-ecs/wharf/internal/autoscaling"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/store"
)

// TargetPrefix is the X-Amz-Target prefix of the API.
const TargetPrefix = "AnyScaleFrontendService"

// SigningName is the service name requests are signed for, and the prefix
// of its actions in policies.
const SigningName = "application-autoscaling"

// The one namespace and dimension Wharf scales.
const (
	NamespaceECS       = "ecs"
	DimensionECS       = "ecs:service:DesiredCount"
	serviceLinkedRoleN = "aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
)

// Config is what the API needs from its surroundings.
type Config struct {
	Store     store.Store
	Region    string
	AccountID string
	// Actuator brings a service's desired count into a target's range when
	// the target is registered.
	Actuator *autoscaling.Actuator
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now
}

// API serves the Application Auto Scaling operations.
type API struct {
	st      store.Store
	region  string
	account string
	act     *autoscaling.Actuator
	log     *slog.Logger
	now     func() time.Time
	service *awsproto.Service
}

// New returns the API with its operations registered.
func New(cfg Config) *API {
	a := &API{st: cfg.Store, region: cfg.Region, account: cfg.AccountID, act: cfg.Actuator, log: cfg.Log, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	s := awsproto.NewService(TargetPrefix, operations)
	awsproto.Handle(s, "RegisterScalableTarget", a.RegisterScalableTarget)
	awsproto.Handle(s, "DeregisterScalableTarget", a.DeregisterScalableTarget)
	awsproto.Handle(s, "DescribeScalableTargets", a.DescribeScalableTargets)
	awsproto.Handle(s, "PutScalingPolicy", a.PutScalingPolicy)
	awsproto.Handle(s, "DescribeScalingPolicies", a.DescribeScalingPolicies)
	awsproto.Handle(s, "DeleteScalingPolicy", a.DeleteScalingPolicy)
	awsproto.Handle(s, "DescribeScalingActivities", a.DescribeScalingActivities)
	awsproto.Handle(s, "PutScheduledAction", a.PutScheduledAction)
	awsproto.Handle(s, "DescribeScheduledActions", a.DescribeScheduledActions)
	awsproto.Handle(s, "DeleteScheduledAction", a.DeleteScheduledAction)
	awsproto.Handle(s, "TagResource", a.TagResource)
	awsproto.Handle(s, "UntagResource", a.UntagResource)
	awsproto.Handle(s, "ListTagsForResource", a.ListTagsForResource)
	a.service = s
	return a
}

// Service returns the dispatcher to mount on an awsproto.Mux.
func (a *API) Service() *awsproto.Service { return a.service }

// operations lists every operation of the API's model.
var operations = map[string]bool{
	"DeleteScalingPolicy": true, "DeleteScheduledAction": true, "DeregisterScalableTarget": true,
	"DescribeScalableTargets": true, "DescribeScalingActivities": true, "DescribeScalingPolicies": true,
	"DescribeScheduledActions": true, "GetPredictiveScalingForecast": true, "ListTagsForResource": true,
	"PutScalingPolicy": true, "PutScheduledAction": true, "RegisterScalableTarget": true,
	"TagResource": true, "UntagResource": true,
}

// Error codes of the model.
const (
	codeValidation        = "ValidationException"
	codeObjectNotFound    = "ObjectNotFoundException"
	codeLimitExceeded     = "LimitExceededException"
	codeConcurrentUpdate  = "ConcurrentUpdateException"
	codeInternal          = "InternalServiceException"
	codeInvalidNextToken  = "InvalidNextTokenException"
	codeResourceNotFound  = "ResourceNotFoundException"
	codeTooManyTags       = "TooManyTagsException"
	maxPoliciesPerTarget  = 50
	maxScheduledPerTarget = 200
	maxTagsPerTarget      = 50
)

func invalid(format string, args ...any) error {
	return awsproto.Errorf(codeValidation, format, args...)
}

// internal wraps a failure that is no caller's fault.
func internal(err error) error {
	if _, ok := awsproto.AsError(err); ok {
		return err
	}
	return &awsproto.Error{Code: codeInternal, Status: http.StatusInternalServerError,
		Message: "Wharf could not complete the request: " + err.Error() + ". Retry it."}
}

// maxRetries bounds read-modify-write loops that lose optimistic races.
const maxRetries = 16

// retry runs fn until it returns something other than a store conflict.
func retry(ctx context.Context, fn func() error) error {
	for range maxRetries {
		err := fn()
		if !store.IsConflict(err) {
			if err != nil {
				return internal(err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return internal(ctx.Err())
		}
	}
	return awsproto.Errorf(codeConcurrentUpdate, "Concurrent updates to this scalable target kept conflicting with the request; retry it.")
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// ARNs.

func (a *API) targetARN() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s", a.region, a.account, hex.EncodeToString(b[:]))
}

func (a *API) policyARN(ns, rid, name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s", a.region, a.account, autoscaling.NewUUID(), ns, rid, name)
}

func (a *API) scheduledActionARN(ns, rid, name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:scheduledAction:%s:resource/%s/%s:scheduledActionName/%s", a.region, a.account, autoscaling.NewUUID(), ns, rid, name)
}

func (a *API) alarmARN(name string) string {
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", a.region, a.account, name)
}

func (a *API) roleARN() string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", a.account, serviceLinkedRoleN)
}
