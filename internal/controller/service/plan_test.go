package service

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Unit tests of the pure decisions: which tasks a round starts and stops.

const (
	depNew = "ecs-svc/2000000000000000000"
	depOld = "ecs-svc/1000000000000000000"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// task describes a view tersely: "ID@INSTANCE/ZONE" plus flags.
func task(spec, dep string, flags ...string) *tview {
	id, rest, _ := strings.Cut(spec, "@")
	inst, zone, _ := strings.Cut(rest, "/")
	n := len(id)
	v := &tview{id: id, dep: dep, zone: zone, running: true, healthy: true,
		t: &state.Task{Task: model.Task{TaskArn: "arn:aws:ecs:us-east-1:1:task/default/" + id, CreatedAt: model.NewTime(t0.Add(time.Duration(n) * time.Second))}, InstanceID: inst}}
	for _, f := range flags {
		switch f {
		case "pending":
			v.running, v.pending, v.healthy = false, true, false
		case "starting": // RUNNING, not yet healthy
			v.healthy = false
		case "unhealthy":
			v.healthy, v.unhealthy = false, true
		case "lost":
			v.lost, v.healthy = true, false
		case "gone":
			v.gone, v.healthy = true, false
		case "draining":
			v.draining = true
		case "stopping":
			v.stopping, v.healthy = true, false
		case "stopped":
			v.stopped, v.running, v.healthy = true, false, false
		default:
			panic("unknown flag " + f)
		}
	}
	return v
}

func service(desired, minP, maxP int32, rollout model.DeploymentRolloutState) *state.Service {
	s := &state.Service{Service: model.Service{
		ServiceName: "web", Status: state.ServiceActive, DesiredCount: model.Ptr(desired),
		DeploymentConfiguration: &model.DeploymentConfiguration{MinimumHealthyPercent: model.Ptr(minP), MaximumPercent: model.Ptr(maxP)},
	}}
	s.Deployments = []state.Deployment{{Deployment: model.Deployment{Id: depNew, Status: state.DeploymentPrimary, RolloutState: rollout}}}
	return s
}

func stopIDs(p plan) []string {
	var out []string
	for _, s := range p.stops {
		out = append(out, s.v.id)
	}
	slices.Sort(out)
	return out
}

func TestPlanReplica(t *testing.T) {
	inProgress, failed := model.DeploymentRolloutStateInProgress, model.DeploymentRolloutStateFailed
	cases := []struct {
		name       string
		svc        *state.Service
		views      []*tview
		canLaunch  bool
		wantLaunch int
		wantStops  []string
	}{
		{"steady", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew), task("b@i2/zb", depNew)}, true, 0, nil},
		{"scale out within maximum", service(5, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew)}, true, 4, nil},
		{"backoff launches nothing", service(5, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew)}, false, 0, nil},
		{"rolling 50/150 starts 2 and stops 2", service(4, 50, 150, inProgress),
			[]*tview{task("a@i1/za", depOld), task("bb@i1/za", depOld), task("ccc@i2/zb", depOld), task("dddd@i2/zb", depOld)},
			true, 2, []string{"bb", "dddd"}},
		{"rolling 100/200 stops nothing before replacements are healthy", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depOld), task("b@i2/zb", depOld), task("c@i1/za", depNew, "starting"), task("d@i2/zb", depNew, "starting")},
			true, 0, nil},
		{"rolling 100/200 stops old once new are healthy", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depOld), task("b@i2/zb", depOld), task("c@i1/za", depNew), task("d@i2/zb", depNew)},
			true, 0, []string{"a", "b"}},
		{"old pending tasks go at once", service(1, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depOld, "pending"), task("b@i2/zb", depNew)},
			true, 0, []string{"a"}},
		{"an old task still warming up is not stopped for free", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depOld), task("b@i2/zb", depOld, "starting"), task("c@i2/zb", depNew, "pending"), task("d@i2/zb", depNew, "pending")},
			true, 0, nil},
		{"scale in stops warming tasks first", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew), task("b@i2/zb", depNew), task("c@i1/za", depNew, "starting")},
			true, 0, []string{"c"}},
		{"a failed deployment keeps the old tasks and launches nothing", service(2, 50, 200, failed),
			[]*tview{task("a@i1/za", depOld), task("b@i2/zb", depOld), task("c@i2/zb", depNew, "stopped")},
			true, 0, nil},
		{"scale in keeps zones balanced", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew), task("bb@i1/za", depNew), task("ccc@i2/za", depNew), task("d@i3/zb", depNew)},
			true, 0, []string{"bb", "ccc"}},
		{"lost tasks are replaced, not stopped", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "lost"), task("b@i2/zb", depNew)},
			true, 1, nil},
		{"a lost task is stopped once its replacement runs", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "lost"), task("b@i2/zb", depNew), task("ccc@i3/zb", depNew, "starting")},
			true, 0, []string{"a"}},
		{"a lost task is kept while its replacement is pending", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "lost"), task("b@i2/zb", depNew), task("ccc@i3/zb", depNew, "pending")},
			true, 0, nil},
		{"a lost task back before its replacement runs stays; the replacement goes", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew), task("b@i2/zb", depNew), task("ccc@i3/zb", depNew, "pending")},
			true, 0, []string{"ccc"}},
		{"a stale copy back after the heal is already stopping: its replacement stays", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "stopping"), task("b@i2/zb", depNew), task("ccc@i2/zb", depNew)},
			true, 0, nil},
		{"a lost task that returns is surplus", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew), task("bb@i2/zb", depNew), task("ccc@i2/zb", depNew)},
			true, 0, []string{"ccc"}},
		{"tasks on a gone instance are stopped and replaced", service(1, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "gone")},
			true, 1, []string{"a"}},
		{"draining: replacement first", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "draining"), task("b@i2/zb", depNew)},
			true, 1, nil},
		{"draining: stopped once the replacement is healthy", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "draining"), task("b@i2/zb", depNew), task("c@i2/zb", depNew)},
			true, 0, []string{"a"}},
		{"unhealthy: replacement first", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "unhealthy"), task("b@i2/zb", depNew)},
			true, 1, nil},
		{"unhealthy: stopped once replaced", service(2, 100, 200, inProgress),
			[]*tview{task("a@i1/za", depNew, "unhealthy"), task("b@i2/zb", depNew), task("c@i2/zb", depNew, "pending")},
			true, 0, []string{"a"}},
		{"unhealthy: stopped when nothing can start beside it", service(1, 100, 100, inProgress),
			[]*tview{task("a@i1/za", depNew, "unhealthy")},
			true, 0, []string{"a"}},
		{"stopping tasks count against the maximum", service(2, 100, 100, inProgress),
			[]*tview{task("a@i1/za", depNew, "stopping"), task("b@i2/zb", depNew)},
			true, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := planReplica(tc.svc, tc.views, tc.canLaunch, false)
			if p.launch != tc.wantLaunch || fmt.Sprint(stopIDs(p)) != fmt.Sprint(tc.wantStops) {
				t.Errorf("planReplica = launch %d, stop %v; want launch %d, stop %v", p.launch, stopIDs(p), tc.wantLaunch, tc.wantStops)
			}
		})
	}
}

func TestPlanReplicaDrainingServiceStopsEverything(t *testing.T) {
	svc := service(0, 100, 200, model.DeploymentRolloutStateCompleted)
	svc.Status = state.ServiceDraining
	views := []*tview{task("a@i1/za", depNew), task("b@i2/zb", depNew, "lost"), task("c@i2/zb", depNew, "stopped"), task("d@i2/zb", depNew, "stopping")}
	p := planReplica(svc, views, true, false)
	if p.launch != 0 || fmt.Sprint(stopIDs(p)) != "[a b]" {
		t.Errorf("planReplica of a DRAINING service = launch %d, stop %v; want 0, [a b]", p.launch, stopIDs(p))
	}
}

func daemonEnv(busy string, insts ...string) *clusterEnv {
	env := &clusterEnv{cluster: "default", instances: map[string]*state.ContainerInstance{}, replicaBusy: map[string]bool{busy: true}, groups: map[string][]string{}}
	for _, spec := range insts {
		id, status, _ := strings.Cut(spec, ":")
		connected := !strings.HasSuffix(status, "-lost")
		status = strings.TrimSuffix(status, "-lost")
		env.instances[id] = &state.ContainerInstance{ContainerInstance: model.ContainerInstance{Status: status, AgentConnected: model.Ptr(connected)}, ID: id}
		env.instanceOrder = append(env.instanceOrder, id)
	}
	return env
}

func TestPlanDaemon(t *testing.T) {
	inProgress := model.DeploymentRolloutStateInProgress
	cases := []struct {
		name      string
		min, max  int32
		env       *clusterEnv
		views     []*tview
		wantOnto  []string
		wantStops []string
	}{
		{"one task on every instance", 0, 100, daemonEnv("", "i1:ACTIVE", "i2:ACTIVE", "i3:ACTIVE"),
			[]*tview{task("a@i1/z", depNew)}, []string{"i2", "i3"}, nil},
		{"a lost instance keeps its task and gets none", 0, 100, daemonEnv("", "i1:ACTIVE", "i2:ACTIVE-lost"),
			[]*tview{task("a@i1/z", depNew), task("b@i2/z", depNew, "lost")}, nil, nil},
		{"draining: stopped once the replica tasks left", 0, 100, daemonEnv("i3", "i1:ACTIVE", "i2:DRAINING", "i3:DRAINING"),
			[]*tview{task("a@i1/z", depNew), task("b@i2/z", depNew, "draining"), task("c@i3/z", depNew, "draining")}, nil, []string{"b"}},
		{"an instance that no longer meets the constraints loses its task", 0, 100, daemonEnv("i2", "i1:ACTIVE", "i2:ACTIVE"),
			[]*tview{task("a@i1/z", depNew), task("b@i2/z", depNew)}, nil, []string{"b"}},
		{"one of two on an instance is stopped", 0, 100, daemonEnv("", "i1:ACTIVE"),
			[]*tview{task("a@i1/z", depNew), task("bb@i1/z", depNew, "starting")}, nil, []string{"bb"}},
		{"rolling 0/100: old tasks stop, new start after", 0, 100, daemonEnv("", "i1:ACTIVE", "i2:ACTIVE"),
			[]*tview{task("a@i1/z", depOld), task("b@i2/z", depOld)}, nil, []string{"a", "b"}},
		{"rolling 0/100: new start where old stopped", 0, 100, daemonEnv("", "i1:ACTIVE", "i2:ACTIVE"),
			[]*tview{task("a@i1/z", depOld, "stopped"), task("b@i2/z", depOld, "stopping")}, []string{"i1"}, nil},
		{"rolling 50/200: new beside old, old stop within the minimum", 50, 200, daemonEnv("", "i1:ACTIVE", "i2:ACTIVE"),
			[]*tview{task("a@i1/z", depOld), task("b@i2/z", depOld)}, []string{"i1", "i2"}, []string{"a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := service(0, tc.min, tc.max, inProgress)
			svc.SchedulingStrategy = model.SchedulingStrategyDaemon
			targets := daemonTargets(svc, tc.env, nil)
			if strings.Contains(tc.name, "no longer meets") {
				targets = []string{"i1"} // i2 fails a memberOf constraint
			}
			p := planDaemon(svc, tc.views, tc.env, targets, true)
			if fmt.Sprint(p.onto) != fmt.Sprint(tc.wantOnto) || fmt.Sprint(stopIDs(p)) != fmt.Sprint(tc.wantStops) {
				t.Errorf("planDaemon = onto %v, stop %v; want onto %v, stop %v", p.onto, stopIDs(p), tc.wantOnto, tc.wantStops)
			}
		})
	}
}

func TestLimitsAndThreshold(t *testing.T) {
	for _, tc := range []struct {
		desired, minP, maxP int32
		wantMin, wantMax    int
	}{
		{4, 50, 150, 2, 6}, {3, 50, 150, 2, 4}, {1, 100, 200, 1, 2}, {0, 100, 200, 0, 0}, {5, 0, 100, 0, 5},
	} {
		svc := service(tc.desired, tc.minP, tc.maxP, "")
		if lo, hi := limits(svc, int(tc.desired)); lo != tc.wantMin || hi != tc.wantMax {
			t.Errorf("limits(%d, %d%%, %d%%) = %d, %d; want %d, %d", tc.desired, tc.minP, tc.maxP, lo, hi, tc.wantMin, tc.wantMax)
		}
	}
	for desired, want := range map[int]int{0: 10, 2: 10, 21: 11, 30: 15, 399: 200, 1000: 200} {
		if got := breakerThreshold(desired); got != want {
			t.Errorf("breakerThreshold(%d) = %d; want %d", desired, got, want)
		}
	}
}

func TestFailedTask(t *testing.T) {
	at := func(d time.Duration) *model.Time { return model.NewTime(t0.Add(d)) }
	cases := []struct {
		name string
		task model.Task
		want bool
	}{
		{"failed to start", model.Task{StopCode: model.TaskStopCodeTaskFailedToStart}, true},
		{"never ran", model.Task{StopCode: model.TaskStopCodeEssentialContainerExited}, true},
		{"crashed at once", model.Task{StopCode: model.TaskStopCodeEssentialContainerExited, StartedAt: at(0), StoppedAt: at(time.Second)}, true},
		{"crashed after a while", model.Task{StopCode: model.TaskStopCodeEssentialContainerExited, StartedAt: at(0), StoppedAt: at(time.Hour)}, false},
		{"scaled in", model.Task{StopCode: model.TaskStopCodeServiceSchedulerInitiated, StartedAt: at(0), StoppedAt: at(time.Second)}, false},
		{"stopped by a user before it ran", model.Task{StopCode: model.TaskStopCodeUserInitiated}, false},
		{"replaced for its health checks", model.Task{StopCode: model.TaskStopCodeServiceSchedulerInitiated, StoppedReason: reasonHealthCheck, StartedAt: at(0), StoppedAt: at(time.Hour)}, true},
	}
	for _, tc := range cases {
		if got := failedTask(&state.Task{Task: tc.task}, 40*time.Second); got != tc.want {
			t.Errorf("failedTask(%s) = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestEventMessages(t *testing.T) {
	cases := []struct{ got, want string }{
		{msgSteady("web"), "(service web) has reached a steady state."},
		{msgsStarted("web", []string{"a", "b"})[0], "(service web) has started 2 tasks: (task a) (task b)."},
		{msgsStopped("web", []string{"a"})[0], "(service web) has stopped 1 running tasks: (task a)."},
		{msgDeploymentFailed("web", depNew), "(service web) (deployment " + depNew + ") deployment failed: tasks failed to start."},
		{msgUnableToPlace("web", model.Failure{Arn: "arn:aws:ecs:us-east-1:1:container-instance/default/abc", Reason: "RESOURCE:MEMORY"}),
			"(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance abc) has insufficient memory available." + troubleshooting},
		{msgUnableToPlace("web", model.Failure{Reason: ecsapi.ReasonNoInstances}),
			"(service web) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster." + troubleshooting},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("message = %q; want %q", tc.got, tc.want)
		}
	}
	ids := make([]string, 25)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	if n := len(msgsStarted("web", ids)); n != 3 {
		t.Errorf("25 started tasks make %d events; want 3 of at most 10 tasks", n)
	}
}

func TestAddEventSkipsRepeats(t *testing.T) {
	c := New(Config{})
	svc := &state.Service{}
	c.addEvent("k", svc, "one", t0)
	c.addEvent("k", svc, "one", t0)
	c.addEvent("k", svc, "two", t0)
	c.withHeldEvents("k", svc)
	if len(svc.Events) != 2 || svc.Events[0].Message != "two" {
		t.Fatalf("events = %+v; want two then one", svc.Events)
	}
	delete(c.held, "k")
	c.addEvent("k", svc, "two", t0.Add(time.Hour))
	c.addEvent("k", svc, "three", t0.Add(time.Hour))
	c.withHeldEvents("k", svc)
	if len(svc.Events) != 3 || svc.Events[0].Message != "three" {
		t.Fatalf("events = %+v; want the repeat of two left out", svc.Events)
	}
	delete(c.held, "k")
	c.addEvent("k", svc, "three", t0.Add(7*time.Hour))
	for i := 0; i < 150; i++ {
		c.addEvent("k", svc, fmt.Sprint(i), t0.Add(8*time.Hour))
	}
	c.withHeldEvents("k", svc)
	if len(svc.Events) != maxEvents || svc.Events[0].Message != "149" {
		t.Fatalf("%d events, newest %q; want the latest %d, newest first", len(svc.Events), svc.Events[0].Message, maxEvents)
	}
}

func TestDaemonTargetsMeetConstraints(t *testing.T) {
	env := daemonEnv("", "i1:ACTIVE", "i2:ACTIVE", "i3:ACTIVE", "i4:DRAINING", "i5:ACTIVE-lost")
	for id, disk := range map[string]string{"i1": "ssd", "i2": "hdd", "i3": "ssd", "i4": "ssd", "i5": "ssd"} {
		env.instances[id].Attributes = []model.Attribute{{Name: "disk", Value: disk}}
	}
	env.groups["i3"] = []string{"service:db"}
	svc := service(0, 0, 100, model.DeploymentRolloutStateInProgress)
	cases := []struct {
		name    string
		service []model.PlacementConstraint
		taskDef []string
		wantIDs string
	}{
		{"none: every ACTIVE connected instance", nil, nil, "[i1 i2 i3]"},
		{"service memberOf", []model.PlacementConstraint{{Type: model.PlacementConstraintTypeMemberOf, Expression: "attribute:disk == ssd"}}, nil, "[i1 i3]"},
		{"and the task definition's", []model.PlacementConstraint{{Type: model.PlacementConstraintTypeMemberOf, Expression: "attribute:disk == ssd"}},
			[]string{"not(task:group == service:db)"}, "[i1]"},
		{"distinctInstance is no filter", []model.PlacementConstraint{{Type: model.PlacementConstraintTypeDistinctInstance}}, nil, "[i1 i2 i3]"},
		{"an expression that does not parse matches nothing", []model.PlacementConstraint{{Type: model.PlacementConstraintTypeMemberOf, Expression: "attribute:disk =="}}, nil, "[]"},
	}
	for _, tc := range cases {
		svc.PlacementConstraints = tc.service
		if got := fmt.Sprint(daemonTargets(svc, env, tc.taskDef)); got != tc.wantIDs {
			t.Errorf("%s: daemonTargets = %s; want %s", tc.name, got, tc.wantIDs)
		}
	}
}
