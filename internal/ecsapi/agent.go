package ecsapi

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// The ECS agent operations (RegisterContainerInstance, SubmitTaskStateChange,
// SubmitContainerStateChange, ...) live with their resources; this file holds
// Wharf's own long poll, through which an agent learns its tasks.

func (a *API) registerAgent(s *awsproto.Service) {}

// AgentService returns the dispatcher of Wharf's agent operations.
func (a *API) AgentService() *awsproto.Service {
	s := awsproto.NewService(agentproto.TargetPrefix, map[string]bool{agentproto.PollTasks: true, agentproto.SubmitTaskStats: true})
	awsproto.Handle(s, agentproto.PollTasks, a.PollTasks)
	awsproto.Handle(s, agentproto.SubmitTaskStats, a.SubmitTaskStats)
	return s
}

// Run keeps the API's in-memory indexes current until ctx ends.
func (a *API) Run(ctx context.Context) {
	a.runCtx.Store(&ctx)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); a.index.run(ctx) }()
	go func() { defer wg.Done(); a.instances.run(ctx) }()
	go func() { defer wg.Done(); a.runQueue(ctx) }()
	wg.Wait()
}

// heartbeats remembers when each container instance's agent last polled. It
// is in memory on purpose: a poll per agent every few seconds is too hot to
// write to disk, and after a restart every agent polls again within a poll.
type heartbeats struct {
	mu   sync.Mutex
	seen map[string]time.Time // instance ID → last poll
}

func (h *heartbeats) beat(id string, now time.Time) {
	h.mu.Lock()
	if h.seen == nil {
		h.seen = map[string]time.Time{}
	}
	h.seen[id] = now
	h.mu.Unlock()
}

// LastSeen reports when the instance's agent last polled this server.
func (a *API) LastSeen(instanceID string) (time.Time, bool) {
	a.beats.mu.Lock()
	defer a.beats.mu.Unlock()
	t, ok := a.beats.seen[instanceID]
	return t, ok
}

const (
	defaultPollWait = 20 * time.Second
	maxPollWait     = 60 * time.Second
)

// PollTasks answers an agent with every task assigned to its instance that is
// not yet STOPPED, as soon as one changed after the revision it last saw.
func (a *API) PollTasks(ctx context.Context, in *agentproto.PollTasksRequest) (*agentproto.PollTasksResponse, error) {
	inst, _, err := a.sharedInstanceByRef(ctx, in.Cluster, in.ContainerInstanceArn)
	if err != nil {
		return nil, err
	}
	if inst.Status == "INACTIVE" {
		return nil, clientErr("Container instance %s is deregistered; register the agent again.", inst.ContainerInstanceArn)
	}
	a.beats.beat(inst.ID, a.now())
	if !model.Val(inst.AgentConnected) {
		if err := a.setAgentConnected(ctx, inst.Cluster, inst.ID, true); err != nil {
			return nil, err
		}
	}
	wait := defaultPollWait
	if in.WaitSeconds > 0 {
		wait = time.Duration(in.WaitSeconds) * time.Second
	}
	wait = min(wait, a.maxWait)
	// A shutdown ends the poll; AfterFunc waits without a goroutine of its
	// own, which with ten thousand agents polling is ten thousand fewer.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(a.stopping, cancel)()
	a.index.wait(pctx, inst.ID, in.SinceRevision, wait)
	out := &agentproto.PollTasksResponse{Tasks: []agentproto.AgentTask{}}
	var keys []string
	if in.Deltas && in.SinceRevision > 0 {
		var active []string
		keys, active, out.Kept, out.Revision = a.index.tasksSince(inst.ID, in.SinceRevision, in.KeepUnlisted)
		slices.Sort(active)
		out.Delta = true
		if !out.Kept {
			out.TaskArns = make([]string, len(active))
		}
		for i, k := range active {
			out.TaskArns[i] = a.arns.Task(inst.Cluster, taskIDFromKey(k))
		}
	} else {
		keys, out.Revision = a.index.tasks(inst.ID)
	}
	slices.Sort(keys)
	if in.WantServiceImages {
		if out.ServiceImages, err = a.serviceImages(ctx, inst.Cluster); err != nil {
			return nil, err
		}
	}
	defs := map[string]*model.TaskDefinition{}
	for _, key := range keys {
		t, _, err := state.Tasks.Get(ctx, a.st, key) // shared: read only
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if t.LastStatus == "STOPPED" || t.InstanceID != inst.ID {
			continue
		}
		td := defs[t.TaskDefinitionArn]
		if td == nil {
			rec, err := a.taskDefinition(ctx, t.TaskDefinitionArn, true)
			if err != nil {
				return nil, err
			}
			td = &rec.TaskDefinition
			defs[t.TaskDefinitionArn] = td
		}
		at := agentproto.AgentTask{Task: t.Task, TaskDefinition: td, Restarts: t.Restarts, StopGraceSeconds: t.StopGraceSeconds,
			ExecSessions: a.agentExecSessions(t)}
		at.Task.DesiredStatus = agentDesiredStatus(t)
		if err := a.resolveSecrets(ctx, &t.Task, &at); err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, at)
	}
	return out, nil
}
