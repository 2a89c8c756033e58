package autoscaling

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/metrics"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

// harness is a controller over a real bbolt store with a fake clock, a fake
// metric source and an ECS stand-in that sets the stored service's desired
// count, as UpdateService does.
type harness struct {
	t     *testing.T
	st    store.Store
	now   time.Time
	cpu   float64 // the service's CPU utilization; negative: no data
	calls int
	c     *Controller
}

const rid = "service/default/web"

func newHarness(t *testing.T, desired int32) *harness {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, st: st, now: t0, cpu: -1}
	svc := &state.Service{Cluster: "default"}
	svc.ServiceName, svc.Status, svc.DesiredCount = "web", state.ServiceActive, &desired
	h.put(state.ServiceKey("default", "web"), svc)
	h.c = New(Config{Store: st, Metrics: h, Services: h, Now: func() time.Time { return h.now }})
	return h
}

func (h *harness) ServiceAverage(cluster, service, metric string, _ time.Duration) (float64, bool) {
	if cluster != "default" || service != "web" || metric != metrics.ServiceAverageCPU || h.cpu < 0 {
		return 0, false
	}
	return h.cpu, true
}

func (h *harness) UpdateService(ctx context.Context, in *model.UpdateServiceRequest) (*model.UpdateServiceResponse, error) {
	h.calls++
	key := state.ServiceKey(in.Cluster, in.Service)
	svc, _, err := state.Get[state.Service](ctx, h.st, key)
	if err != nil {
		return nil, err
	}
	svc.DesiredCount = in.DesiredCount
	h.put(key, svc)
	return &model.UpdateServiceResponse{}, nil
}

func (h *harness) put(key string, v any) {
	h.t.Helper()
	if _, err := h.st.Commit(context.Background(), store.Txn{Ops: []store.Op{state.Put(key, v)}}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) target(lo, hi int32, susp state.SuspendedState) {
	h.put(state.ScalableTargetKey(state.ScalableRef("ecs", "ecs:service:DesiredCount", rid)), &state.ScalableTarget{
		ServiceNamespace: "ecs", ResourceId: rid, ScalableDimension: "ecs:service:DesiredCount", MinCapacity: lo, MaxCapacity: hi, SuspendedState: susp})
}

func (h *harness) ref() string { return state.ScalableRef("ecs", "ecs:service:DesiredCount", rid) }

func (h *harness) desired() int32 {
	h.t.Helper()
	svc, _, err := state.Get[state.Service](context.Background(), h.st, state.ServiceKey("default", "web"))
	if err != nil {
		h.t.Fatal(err)
	}
	return model.Val(svc.DesiredCount)
}

func (h *harness) activities() []*state.ScalingActivity {
	h.t.Helper()
	items, _, err := state.List[state.ScalingActivity](context.Background(), h.st, state.ScalingActivitiesOf(h.ref()), store.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*state.ScalingActivity
	for _, it := range items {
		out = append(out, it.Val)
	}
	return out
}

// round runs one round after d has passed.
func (h *harness) round(d time.Duration) time.Time {
	h.now = h.now.Add(d)
	return h.c.Round(context.Background())
}

func TestControllerCooldownsComeFromRecordedActivities(t *testing.T) {
	h := newHarness(t, 1)
	h.target(1, 10, state.SuspendedState{})
	p := tracking("cpu", MetricCPU, 50, func(c *state.TargetTrackingScalingPolicyConfiguration) { c.ScaleOutCooldown = i32(60) })
	p.ResourceId = rid
	h.put(state.ScalingPolicyKey(h.ref(), "cpu"), p)

	h.round(0)
	if h.desired() != 1 || h.calls != 0 {
		t.Fatalf("without data: desired %d after %d calls; want 1 and none", h.desired(), h.calls)
	}
	h.cpu = 90
	h.round(time.Second)
	if got := h.desired(); got != 2 {
		t.Fatalf("at 90%% of a 50%% target from 1: desired %d; want 2", got)
	}
	// The metric has not moved yet (the new task is starting): within
	// the cooldown the scale-out counts as done.
	h.round(10 * time.Second)
	if got := h.desired(); got != 2 {
		t.Fatalf("within the scale-out cooldown: desired %d; want 2", got)
	}
	// A new controller (a new leader) reads the same cooldown from the
	// store.
	h.c = New(Config{Store: h.st, Metrics: h, Services: h, Now: func() time.Time { return h.now }})
	h.round(10 * time.Second)
	if got := h.desired(); got != 2 {
		t.Fatalf("a new controller within the cooldown: desired %d; want 2", got)
	}
	h.round(41 * time.Second)
	if got := h.desired(); got != 4 {
		t.Fatalf("after the cooldown: desired %d; want 4", got)
	}
	acts := h.activities()
	if len(acts) != 2 || acts[0].From != 2 || acts[0].To != 4 || acts[1].From != 1 || acts[0].Kind != state.ActivityScaleOut ||
		acts[0].StatusCode != state.ActivitySuccessful || !strings.Contains(acts[0].Cause, "triggered policy cpu") {
		t.Errorf("activities = %+v", acts)
	}
}

func TestControllerRecordsNotScaledOnce(t *testing.T) {
	h := newHarness(t, 3)
	h.target(1, 3, state.SuspendedState{})
	p := tracking("cpu", MetricCPU, 50, nil)
	h.put(state.ScalingPolicyKey(h.ref(), "cpu"), p)
	h.cpu = 99
	for range 3 {
		h.round(time.Second)
	}
	acts := h.activities()
	if len(acts) != 1 || acts[0].Kind != state.ActivityNotScaled || acts[0].NotScaledReasons[0].Code != "AlreadyAtMaxCapacity" ||
		*acts[0].NotScaledReasons[0].MaxCapacity != 3 || *acts[0].NotScaledReasons[0].CurrentCapacity != 3 {
		t.Errorf("activities after three rounds at the maximum = %+v; want one not-scaled activity", acts)
	}
	if h.calls != 0 {
		t.Errorf("UpdateService called %d times at the maximum", h.calls)
	}
}

func TestControllerFiresScheduledActions(t *testing.T) {
	h := newHarness(t, 2)
	h.target(1, 4, state.SuspendedState{})
	h.put(state.ScheduledActionKey(h.ref(), "grow"), &state.ScheduledAction{ScheduledActionName: "grow", ServiceNamespace: "ecs", ResourceId: rid,
		ScalableDimension: "ecs:service:DesiredCount", Schedule: "rate(10 minutes)", CreationTime: model.NewTime(t0), Since: model.NewTime(t0),
		ScalableTargetAction: &state.ScalableTargetAction{MinCapacity: i32(5)}})

	next := h.round(time.Minute)
	if !next.Equal(t0.Add(10*time.Minute)) || h.desired() != 2 {
		t.Fatalf("before its time: next %s, desired %d; want %s and 2", next, h.desired(), t0.Add(10*time.Minute))
	}
	next = h.round(9*time.Minute + time.Second)
	if got := h.desired(); got != 5 {
		t.Fatalf("after the action raised the minimum to 5: desired %d", got)
	}
	if !next.Equal(t0.Add(20 * time.Minute)) {
		t.Errorf("next firing = %s; want %s", next, t0.Add(20*time.Minute))
	}
	tg, _, _ := state.Get[state.ScalableTarget](context.Background(), h.st, state.ScalableTargetKey(h.ref()))
	if tg.MinCapacity != 5 || tg.MaxCapacity != 5 {
		t.Errorf("target after a minimum of 5 above a maximum of 4 = [%d, %d]; want [5, 5]", tg.MinCapacity, tg.MaxCapacity)
	}
	acts := h.activities()
	if len(acts) != 2 || acts[1].Kind != state.ActivitySchedule || acts[0].Cause != "minimum capacity was set to 5 by scheduled action grow" {
		t.Errorf("activities = %+v", acts)
	}

	// Suspended, a due action passes without acting.
	h.target(1, 4, state.SuspendedState{ScheduledScalingSuspended: true})
	h.round(10 * time.Minute)
	tg, _, _ = state.Get[state.ScalableTarget](context.Background(), h.st, state.ScalableTargetKey(h.ref()))
	if tg.MinCapacity != 1 || len(h.activities()) != 2 {
		t.Errorf("a suspended target's action fired: [%d, %d], %d activities", tg.MinCapacity, tg.MaxCapacity, len(h.activities()))
	}
	// Resumed, the skipped firing does not come back.
	h.target(1, 4, state.SuspendedState{})
	h.round(time.Second)
	if len(h.activities()) != 2 {
		t.Errorf("the firing skipped while suspended came back after resuming")
	}
}

func TestControllerLeavesDeployingAndMissingServicesAlone(t *testing.T) {
	h := newHarness(t, 4)
	h.target(1, 10, state.SuspendedState{})
	h.put(state.ScalingPolicyKey(h.ref(), "cpu"), tracking("cpu", MetricCPU, 50, nil))
	svc, _, _ := state.Get[state.Service](context.Background(), h.st, state.ServiceKey("default", "web"))
	svc.Deployments = []state.Deployment{{}, {}}
	h.put(state.ServiceKey("default", "web"), svc)
	h.cpu = 5
	h.round(time.Second)
	if h.calls != 0 {
		t.Errorf("scaled in while a deployment is in progress")
	}
	h.put(state.ServiceKey("default", "web"), &state.Service{Service: model.Service{ServiceName: "web", Status: state.ServiceInactive}})
	h.cpu = 99
	h.round(time.Second)
	if h.calls != 0 {
		t.Errorf("scaled an INACTIVE service")
	}
}
