package service

import (
	"context"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

func TestClassify(t *testing.T) {
	const withHC, withoutHC = "arn:aws:ecs:us-east-1:1:task-definition/hc:1", "arn:aws:ecs:us-east-1:1:task-definition/plain:1"
	c := New(Config{})
	c.tds[withHC], c.tds[withoutHC] = &tdInfo{healthCheck: true}, &tdInfo{}
	now := t0.Add(time.Hour)
	env := daemonEnv("", "up:ACTIVE", "away:ACTIVE-lost", "leaving:DRAINING", "off:INACTIVE")
	running := func(td, inst string, up time.Duration, health model.HealthStatus) *state.Task {
		return &state.Task{Task: model.Task{TaskArn: "arn:aws:ecs:us-east-1:1:task/default/x", TaskDefinitionArn: td,
			LastStatus: "RUNNING", DesiredStatus: "RUNNING", StartedAt: model.NewTime(now.Add(-up)), HealthStatus: health}, InstanceID: inst}
	}
	cases := []struct {
		name                       string
		grace                      int32
		task                       *state.Task
		healthy, unhealthy         bool
		lost, gone, draining, fail bool
	}{
		{"no health check, not yet 40s", 0, running(withoutHC, "up", 10*time.Second, ""), false, false, false, false, false, false},
		{"no health check, 40s", 0, running(withoutHC, "up", 41*time.Second, ""), true, false, false, false, false, false},
		{"health check HEALTHY at once", 0, running(withHC, "up", time.Second, model.HealthStatusHealthy), true, false, false, false, false, false},
		{"health check UNKNOWN", 0, running(withHC, "up", time.Minute, model.HealthStatusUnknown), false, false, false, false, false, false},
		{"UNHEALTHY", 0, running(withHC, "up", time.Second, model.HealthStatusUnhealthy), false, true, false, false, false, false},
		{"UNHEALTHY within the grace period", 60, running(withHC, "up", 10*time.Second, model.HealthStatusUnhealthy), false, false, false, false, false, false},
		{"UNHEALTHY after the grace period", 60, running(withHC, "up", 2*time.Minute, model.HealthStatusUnhealthy), false, true, false, false, false, false},
		{"agent disconnected", 0, running(withoutHC, "away", time.Hour, ""), false, false, true, false, false, false},
		{"instance draining", 0, running(withoutHC, "leaving", time.Hour, ""), true, false, false, false, true, false},
		{"instance deregistered", 0, running(withoutHC, "off", time.Hour, ""), false, false, false, true, false, false},
		{"instance unknown", 0, running(withoutHC, "nowhere", time.Hour, ""), false, false, false, true, false, false},
		{"failed to start", 0, &state.Task{Task: model.Task{TaskArn: "arn:x/y", TaskDefinitionArn: withoutHC, LastStatus: "STOPPED",
			StopCode: model.TaskStopCodeTaskFailedToStart}, InstanceID: "up"}, false, false, false, false, false, true},
	}
	for _, tc := range cases {
		svc := &state.Service{Service: model.Service{HealthCheckGracePeriodSeconds: model.Ptr(tc.grace)}}
		vs, err := c.classify(context.Background(), svc, []*state.Task{tc.task}, env, now)
		if err != nil {
			t.Fatal(err)
		}
		v := vs[0]
		if v.healthy != tc.healthy || v.unhealthy != tc.unhealthy || v.lost != tc.lost || v.gone != tc.gone || v.draining != tc.draining || v.failed != tc.fail {
			t.Errorf("%s: healthy %v unhealthy %v lost %v gone %v draining %v failed %v; want %v %v %v %v %v %v", tc.name,
				v.healthy, v.unhealthy, v.lost, v.gone, v.draining, v.failed, tc.healthy, tc.unhealthy, tc.lost, tc.gone, tc.draining, tc.fail)
		}
	}
}
