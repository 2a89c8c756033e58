package autoscaling

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// ServiceUpdater changes a service: the ECS API's UpdateService, called in
// process.
type ServiceUpdater interface {
	UpdateService(ctx context.Context, in *model.UpdateServiceRequest) (*model.UpdateServiceResponse, error)
}

// maxActivities is how many activities are kept per target (newest).
const maxActivities = 100

// Actuator changes the desired count of targets' services and records every
// change, and every decision not to change, as a scaling activity. The API
// (a registration bringing the count into range) and the controller share
// it.
type Actuator struct {
	st  store.Store
	ecs ServiceUpdater
	now func() time.Time
	log *slog.Logger
}

// NewActuator returns an actuator writing activities to st; now nil means
// time.Now.
func NewActuator(st store.Store, ecs ServiceUpdater, now func() time.Time, log *slog.Logger) *Actuator {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Actuator{st: st, ecs: ecs, now: now, log: log}
}

// ErrNoService says a target's service is missing or not ACTIVE.
var ErrNoService = errors.New("the service does not exist or is not ACTIVE")

// Service reads the service of an ECS target.
func (a *Actuator) Service(ctx context.Context, resourceID string) (*state.Service, error) {
	cluster, name, ok := ServiceOf(resourceID)
	if !ok {
		return nil, ErrNoService
	}
	svc, _, err := state.Get[state.Service](ctx, a.st, state.ServiceKey(cluster, name))
	if errors.Is(err, store.ErrNotFound) || (err == nil && svc.Status != state.ServiceActive) {
		return nil, ErrNoService
	}
	return svc, err
}

// SetDesired sets the service's desired count from from to to and records
// act, completed with what happened.
func (a *Actuator) SetDesired(ctx context.Context, t *state.ScalableTarget, from, to int32, act state.ScalingActivity) error {
	cluster, name, _ := ServiceOf(t.ResourceId)
	start := a.now()
	act.Description = fmt.Sprintf("Setting desired count to %d.", to)
	act.From, act.To = from, to
	_, err := a.ecs.UpdateService(ctx, &model.UpdateServiceRequest{Cluster: cluster, Service: name, DesiredCount: &to})
	act.StartTime, act.EndTime = model.NewTime(start), model.NewTime(a.now())
	if err != nil {
		msg := err.Error()
		if e, ok := awsproto.AsError(err); ok {
			msg = e.Code + ": " + e.Message
		}
		act.StatusCode = state.ActivityFailed
		act.StatusMessage = fmt.Sprintf("Failed to set desired count to %d. Reason: %s", to, msg)
	} else {
		act.StatusCode = state.ActivitySuccessful
		act.StatusMessage = fmt.Sprintf("Successfully set desired count to %d. Change successfully fulfilled by ecs.", to)
	}
	a.log.Info("scaling activity", "resource", t.ResourceId, "from", from, "to", to, "cause", act.Cause, "status", act.StatusCode)
	if rerr := a.Record(ctx, t, act); rerr != nil {
		return rerr
	}
	return err
}

// Clamp brings the service's desired count into the target's range, if the
// service is ACTIVE; why says what set the range ("minimum capacity was set
// to 2").
func (a *Actuator) Clamp(ctx context.Context, t *state.ScalableTarget, cause func(bound string, n int32) string) error {
	svc, err := a.Service(ctx, t.ResourceId)
	if err != nil {
		if errors.Is(err, ErrNoService) {
			return nil
		}
		return err
	}
	cur := model.Val(svc.DesiredCount)
	switch {
	case cur < t.MinCapacity:
		return a.SetDesired(ctx, t, cur, t.MinCapacity, state.ScalingActivity{Kind: state.ActivityRange, Cause: cause("minimum", t.MinCapacity)})
	case cur > t.MaxCapacity:
		return a.SetDesired(ctx, t, cur, t.MaxCapacity, state.ScalingActivity{Kind: state.ActivityRange, Cause: cause("maximum", t.MaxCapacity)})
	}
	return nil
}

// Record writes an activity of t and drops its oldest beyond the last
// maxActivities.
func (a *Actuator) Record(ctx context.Context, t *state.ScalableTarget, act state.ScalingActivity) error {
	if act.ActivityId == "" {
		act.ActivityId = NewUUID()
	}
	if act.StartTime == nil {
		act.StartTime = model.NewTime(a.now())
	}
	act.ServiceNamespace, act.ResourceId, act.ScalableDimension = t.ServiceNamespace, t.ResourceId, t.ScalableDimension
	ref := t.Ref()
	ops := []store.Op{state.Put(state.ScalingActivityKey(ref, act.StartTime.Time, act.ActivityId), act)}
	kvs, _, err := a.st.List(ctx, state.ScalingActivitiesOf(ref), store.ListOptions{Limit: maxActivities + 16})
	if err != nil {
		return err
	}
	for i := maxActivities - 1; i < len(kvs); i++ {
		ops = append(ops, state.Delete(kvs[i].Key))
	}
	_, err = a.st.Commit(ctx, store.Txn{Ops: ops})
	return err
}

// NewUUID returns a random (version 4) UUID: activity IDs and the IDs in
// policy and scheduled action ARNs.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
