package ecsapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
)

// TestPollTasksDeltas: an agent that takes deltas gets every task on its
// first poll, then only the tasks changed since its last answer, with the
// whole assigned set in TaskArns; a task that stopped leaves that set. An
// agent that does not ask for deltas keeps getting the whole list.
func TestPollTasksDeltas(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 64, 64)
	inst := tkInstance(t, s, "c", 1024, 1024)
	first := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(3)})
	var arns []string
	for _, task := range first.Tasks {
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	slices.Sort(arns)
	poll := func(since int64, deltas bool) *agentproto.PollTasksResponse {
		t.Helper()
		return pollAs(t, s, &agentproto.PollTasksRequest{Cluster: "c", ContainerInstanceArn: inst,
			SinceRevision: since, WaitSeconds: 1, Deltas: deltas})
	}

	full := poll(0, true)
	if full.Delta || !slices.Equal(sent(full), arns) {
		t.Fatalf("first poll: delta %v, tasks %v; want the whole list %v", full.Delta, sent(full), arns)
	}
	// One task runs: only it is sent again.
	report := func(arn, status string) {
		t.Helper()
		in := &agentproto.SubmitTaskStateChangeInput{}
		in.Cluster, in.Task, in.Status = "c", arn, status
		in.Containers = []model.ContainerStateChange{{ContainerName: "app", Status: status}}
		if _, err := s.API().SubmitTaskStateChange(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	report(arns[1], "RUNNING")
	d := poll(full.Revision, true)
	if !d.Delta || !slices.Equal(sent(d), arns[1:2]) || !slices.Equal(d.TaskArns, arns) {
		t.Errorf("after one task changed: delta %v, tasks %v, all %v; want only %s sent, all three listed", d.Delta, sent(d), d.TaskArns, arns[1])
	}
	if got := d.Tasks[0].Task.LastStatus; got != "RUNNING" {
		t.Errorf("the changed task is sent as %s; want RUNNING", got)
	}
	// Nothing changed: an empty delta once the wait is over, the set unchanged.
	if e := poll(d.Revision, true); !e.Delta || len(e.Tasks) != 0 || !slices.Equal(e.TaskArns, arns) {
		t.Errorf("with nothing changed: delta %v, tasks %v, all %v; want none sent, all three listed", e.Delta, sent(e), e.TaskArns)
	}
	// A task that stopped is neither sent nor listed, so the agent forgets it.
	report(arns[0], "STOPPED")
	g := poll(d.Revision, true)
	if !g.Delta || len(g.Tasks) != 0 || !slices.Equal(g.TaskArns, arns[1:]) {
		t.Errorf("after a task stopped: tasks %v, all %v; want none sent, %v listed", sent(g), g.TaskArns, arns[1:])
	}
	// An agent that takes no deltas gets the whole list.
	if o := poll(d.Revision, false); o.Delta || !slices.Equal(sent(o), arns[1:]) || o.TaskArns != nil {
		t.Errorf("without deltas: delta %v, tasks %v; want the whole list %v", o.Delta, sent(o), arns[1:])
	}
}

// TestPollTasksKeepUnlisted: an agent that keeps its unlisted tasks gets
// deltas without the whole set while tasks only join or change, and the
// whole set again once one left it (stopped), so it can forget that one.
func TestPollTasksKeepUnlisted(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	tkTD(t, s, "web", 64, 64)
	inst := tkInstance(t, s, "c", 1024, 1024)
	run := func(n int32) []string {
		t.Helper()
		out := tkRun(t, s, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(n)})
		var arns []string
		for _, task := range out.Tasks {
			arns = append(arns, aws.ToString(task.TaskArn))
		}
		slices.Sort(arns)
		return arns
	}
	poll := func(since int64) *agentproto.PollTasksResponse {
		t.Helper()
		return pollAs(t, s, &agentproto.PollTasksRequest{Cluster: "c", ContainerInstanceArn: inst,
			SinceRevision: since, WaitSeconds: 1, Deltas: true, KeepUnlisted: true})
	}
	first := run(2)
	full := poll(0)
	if full.Delta || full.Kept || !slices.Equal(sent(full), first) {
		t.Fatalf("first poll: delta %v kept %v, tasks %v; want the whole list %v", full.Delta, full.Kept, sent(full), first)
	}
	// A task joins: it alone is sent, and the set is not repeated.
	more := run(1)
	d := poll(full.Revision)
	if !d.Delta || !d.Kept || d.TaskArns != nil || !slices.Equal(sent(d), more) {
		t.Errorf("after a task joined: delta %v kept %v, tasks %v, all %v; want only %v sent and no list", d.Delta, d.Kept, sent(d), d.TaskArns, more)
	}
	// A task stops: the whole set comes again, without it.
	in := &agentproto.SubmitTaskStateChangeInput{}
	in.Cluster, in.Task, in.Status = "c", first[0], "STOPPED"
	in.Containers = []model.ContainerStateChange{{ContainerName: "app", Status: "STOPPED"}}
	if _, err := s.API().SubmitTaskStateChange(ctx, in); err != nil {
		t.Fatal(err)
	}
	g := poll(d.Revision)
	want := slices.Sorted(slices.Values(append([]string{first[1]}, more...)))
	if !g.Delta || g.Kept || !slices.Equal(g.TaskArns, want) {
		t.Errorf("after a task stopped: kept %v, all %v; want the whole set %v", g.Kept, g.TaskArns, want)
	}
	// From an answer after the stop, the set is kept again.
	if e := poll(g.Revision); !e.Kept || e.TaskArns != nil || len(e.Tasks) != 0 {
		t.Errorf("with nothing changed since the stop: kept %v, all %v, tasks %v; want kept, nothing sent", e.Kept, e.TaskArns, sent(e))
	}
	// An agent whose revision is from before the stop gets the set.
	if o := poll(d.Revision); o.Kept || !slices.Equal(o.TaskArns, want) {
		t.Errorf("polling from before the stop: kept %v, all %v; want the whole set %v", o.Kept, o.TaskArns, want)
	}
}

// pollAs polls as the agent of the request's instance would.
func pollAs(t *testing.T, s *ecstest.Server, in *agentproto.PollTasksRequest) *agentproto.PollTasksResponse {
	t.Helper()
	out, err := s.API().PollTasks(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sent is the ARNs of the tasks a poll's answer sends, sorted.
func sent(out *agentproto.PollTasksResponse) []string {
	var got []string
	for _, at := range out.Tasks {
		got = append(got, at.Task.TaskArn)
	}
	slices.Sort(got)
	return got
}

// TestPollHeldUnderAgentTimeout: an agent is heard when its poll begins, so
// a server judging agents gone after 3s holds an idle poll at most a third
// of that, whatever the agent asks: an idle agent is never judged gone.
func TestPollHeldUnderAgentTimeout(t *testing.T) {
	s := ecstest.StartWith(t, ecstest.Options{AgentTimeout: 3 * time.Second})
	tkCluster(t, s, "c")
	inst := tkInstance(t, s, "c", 1024, 1024)
	ctx := context.Background()
	first, err := s.API().PollTasks(ctx, &agentproto.PollTasksRequest{Cluster: "c", ContainerInstanceArn: inst, WaitSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.API().PollTasks(ctx, &agentproto.PollTasksRequest{Cluster: "c", ContainerInstanceArn: inst,
		SinceRevision: first.Revision, WaitSeconds: 20}); err != nil {
		t.Fatal(err)
	}
	if held := time.Since(start); held < 900*time.Millisecond || held > 2500*time.Millisecond {
		t.Errorf("an idle poll asking for 20s was held %v; want about 1s (a third of the 3s agent timeout)", held.Round(time.Millisecond))
	}
}
