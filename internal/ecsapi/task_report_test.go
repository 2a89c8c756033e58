package ecsapi

import (
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

func TestApplyReportsMoveForwardOnly(t *testing.T) {
	now := model.NewTime(time.Unix(1700000000, 0))
	task := &state.Task{Task: model.Task{
		TaskArn: "arn:aws:ecs:us-east-1:123456789012:task/c/abc", LastStatus: taskPending, DesiredStatus: taskRunning,
		Containers: []model.Container{{Name: "web", LastStatus: "PENDING"}},
	}}
	report := func(status string, cs ...model.ContainerStateChange) bool {
		in := &agentproto.SubmitTaskStateChangeInput{}
		in.Status, in.Containers = status, cs
		changed, err := applyTaskReport(task, in, now)
		if err != nil {
			t.Fatalf("applyTaskReport(%s): %v", status, err)
		}
		return changed
	}
	if !report(taskRunning, model.ContainerStateChange{ContainerName: "web", Status: "RUNNING", RuntimeId: "d0"}) {
		t.Fatalf("RUNNING report changed nothing")
	}
	if task.StartedAt == nil || task.Connectivity != model.ConnectivityConnected || task.Containers[0].RuntimeId != "d0" {
		t.Errorf("after RUNNING: startedAt %v connectivity %q runtimeId %q", task.StartedAt, task.Connectivity, task.Containers[0].RuntimeId)
	}
	if report(taskPending, model.ContainerStateChange{ContainerName: "web", Status: "PENDING"}) {
		t.Errorf("a backwards report changed the task")
	}
	if task.LastStatus != taskRunning || task.Containers[0].LastStatus != "RUNNING" {
		t.Errorf("after backwards report: %s/%s; want RUNNING/RUNNING", task.LastStatus, task.Containers[0].LastStatus)
	}
	exit := int32(3)
	report(taskStopped, model.ContainerStateChange{ContainerName: "web", Status: "STOPPED", ExitCode: &exit})
	if task.LastStatus != taskStopped || task.DesiredStatus != taskStopped || task.StopCode != model.TaskStopCodeEssentialContainerExited ||
		task.StoppedAt == nil || task.ExecutionStoppedAt == nil || model.Val(task.Containers[0].ExitCode) != 3 {
		t.Errorf("after STOPPED: %+v", task.Task)
	}
	if report(taskRunning) {
		t.Errorf("a report after STOPPED changed the task")
	}
}

func TestCountClass(t *testing.T) {
	for status, want := range map[string]int{
		taskProvisioning: countPending, taskPending: countPending, taskActivating: countPending,
		taskRunning: countRunning, taskDeactivating: countRunning, taskStopping: countRunning, taskDeprovisioning: countRunning,
		taskStopped: countNone, "": countNone, "BOGUS": countNone,
	} {
		if got := countClass(status); got != want {
			t.Errorf("countClass(%q) = %d; want %d", status, got, want)
		}
	}
}

func TestMoveCount(t *testing.T) {
	inst := &state.ContainerInstance{}
	moveCount(inst, countNone, countPending)
	moveCount(inst, countNone, countPending)
	moveCount(inst, countPending, countRunning)
	moveCount(inst, countRunning, countRunning)
	if p, r, v := model.Val(inst.PendingTasksCount), model.Val(inst.RunningTasksCount), model.Val(inst.Version); p != 1 || r != 1 || v != 3 {
		t.Errorf("after two placed and one running: pending %d running %d version %d; want 1 1 3", p, r, v)
	}
	moveCount(inst, countRunning, countNone)
	moveCount(inst, countRunning, countNone) // a count never goes below zero
	if p, r := model.Val(inst.PendingTasksCount), model.Val(inst.RunningTasksCount); p != 1 || r != 0 {
		t.Errorf("after stops: pending %d running %d; want 1 0", p, r)
	}
}
