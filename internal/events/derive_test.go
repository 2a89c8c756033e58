package events

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

var at = time.Date(2026, 11, 21, 12, 0, 0, 500e6, time.UTC)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("detail %s: %v", b, err)
	}
	return m
}

func TestTaskEventDetailIsTheECSTaskWithISOTimes(t *testing.T) {
	arn := "arn:aws:ecs:us-east-1:123456789012:task/c1/0123"
	doc := mustJSON(t, state.Task{
		Task: model.Task{TaskArn: arn, LastStatus: "RUNNING", DesiredStatus: "RUNNING", Group: "service:web",
			CreatedAt: model.NewTime(time.Date(2026, 11, 21, 11, 59, 58, 123e6, time.UTC)),
			Version:   model.Ptr(int64(3)), Tags: []model.Tag{{Key: "k", Value: "v"}},
			Containers: []model.Container{{Name: "app", LastStatus: "RUNNING", ExitCode: model.Ptr(int32(0))}}},
		InstanceID: "inst1", Reserved: &state.TaskReservation{CPU: 256},
	})
	detail, resources := taskKind.render(doc, at, "arn:aws:ecs:us-east-1:123456789012:cluster/c1")
	if !reflect.DeepEqual(resources, []string{arn}) {
		t.Errorf("task event resources = %v; want [%s]", resources, arn)
	}
	m := decode(t, detail)
	for k, want := range map[string]any{
		"taskArn": arn, "lastStatus": "RUNNING", "group": "service:web", "version": 3.0,
		"createdAt": "2026-11-21T11:59:58.123Z", "updatedAt": "2026-11-21T12:00:00.500Z",
	} {
		if m[k] != want {
			t.Errorf("detail[%q] = %v; want %v", k, m[k], want)
		}
	}
	for _, k := range []string{"wharfInstanceId", "wharfReserved", "tags"} {
		if _, ok := m[k]; ok {
			t.Errorf("detail has %q; events carry the ECS shape only", k)
		}
	}
	if cs, _ := m["containers"].([]any); len(cs) != 1 || cs[0].(map[string]any)["name"] != "app" {
		t.Errorf("detail containers = %v; want the task's container app", m["containers"])
	}
}

func TestInstanceEventNamesTheInstance(t *testing.T) {
	arn := "arn:aws:ecs:us-east-1:123456789012:container-instance/c1/abc"
	doc := mustJSON(t, state.ContainerInstance{ContainerInstance: model.ContainerInstance{
		ContainerInstanceArn: arn, Status: "ACTIVE", AgentConnected: model.Ptr(false),
		RegisteredAt: model.NewTime(at)}, Cluster: "c1", ID: "abc"})
	detail, resources := instanceKind.render(doc, at, "arn:aws:ecs:us-east-1:123456789012:cluster/c1")
	m := decode(t, detail)
	if !reflect.DeepEqual(resources, []string{arn}) ||
		m["agentConnected"] != false || m["clusterArn"] != "arn:aws:ecs:us-east-1:123456789012:cluster/c1" || m["registeredAt"] != "2026-11-21T12:00:00.500Z" || m["wharfCluster"] != nil {
		t.Errorf("instance event about %v, detail %s; want the instance's state change with ISO times and no wharf members", resources, detail)
	}
	if detail, resources := instanceKind.render([]byte("{not json"), at, ""); string(detail) != "{}" || len(resources) != 0 {
		t.Errorf("event of an undecodable document = %s about %v; want an empty detail", detail, resources)
	}
}

// names lists "detail-type/eventName" of drafts.
func names(t *testing.T, ds []draft) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.detailType+"/"+decode(t, d.detail)["eventName"].(string))
	}
	return out
}

func TestServiceEventsFollowDeploymentsAndServiceEvents(t *testing.T) {
	svc := &state.Service{Cluster: "c1"}
	svc.ServiceArn = "arn:aws:ecs:us-east-1:123456789012:service/c1/web"
	svc.ClusterArn = "arn:aws:ecs:us-east-1:123456789012:cluster/c1"
	dep := state.Deployment{}
	dep.Id, dep.RolloutState, dep.Status = "ecs-svc/1", "IN_PROGRESS", "PRIMARY"
	dep.RolloutStateReason = "ECS deployment ecs-svc/1 in progress."
	svc.Deployments = []state.Deployment{dep}
	svc.Events = []model.ServiceEvent{{Id: "e1", Message: "(service web) has started 2 tasks: (task a) (task b).", CreatedAt: model.NewTime(at)}}

	got := serviceEvents(nil, svc, at)
	if want := []string{"ECS Deployment State Change/SERVICE_DEPLOYMENT_IN_PROGRESS"}; !reflect.DeepEqual(names(t, got), want) {
		t.Fatalf("events of a new service = %v; want %v (task starts are no service action)", names(t, got), want)
	}
	m := decode(t, got[0].detail)
	if m["deploymentId"] != "ecs-svc/1" || m["eventType"] != "INFO" || m["reason"] != "ECS deployment ecs-svc/1 in progress." ||
		!reflect.DeepEqual(got[0].resources, []string{svc.ServiceArn}) {
		t.Errorf("deployment event detail = %v, resources %v", m, got[0].resources)
	}

	mem := rememberService(svc)
	svc.Deployments[0].RolloutState = "COMPLETED"
	svc.Deployments[0].RolloutStateReason = "ECS deployment ecs-svc/1 completed."
	svc.Events = append([]model.ServiceEvent{
		{Id: "e3", Message: "(service web) has reached a steady state.", CreatedAt: model.NewTime(at)},
		{Id: "e2", Message: "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance abc) has insufficient memory available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."},
	}, svc.Events...)
	got = serviceEvents(&mem, svc, at)
	want := []string{
		"ECS Service Action/SERVICE_TASK_PLACEMENT_FAILURE",
		"ECS Service Action/SERVICE_STEADY_STATE",
		"ECS Deployment State Change/SERVICE_DEPLOYMENT_COMPLETED",
	}
	if !reflect.DeepEqual(names(t, got), want) {
		t.Fatalf("events after the rollout = %v; want %v (oldest service event first)", names(t, got), want)
	}
	if m := decode(t, got[0].detail); m["eventType"] != "WARN" || !reflect.DeepEqual(m["reasons"], []any{"RESOURCE:MEMORY"}) || m["clusterArn"] != svc.ClusterArn {
		t.Errorf("placement failure detail = %v; want WARN with reasons [RESOURCE:MEMORY] and the clusterArn", m)
	}

	mem = rememberService(svc)
	if got := serviceEvents(&mem, svc, at); len(got) != 0 {
		t.Errorf("events of an unchanged service = %v; want none", names(t, got))
	}
}
