package logsapi

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/logsapi/awslogs"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// AgentRule is the request gate's rule for agent credentials on the logs
// API. An agent may create the log streams of, put the output of, and read
// back (to settle a batch it sent just before a restart) the awslogs
// containers of tasks placed on its own instance, in the groups their task
// definitions name, and create those groups when the definition sets
// awslogs-create-group; nothing else.
//
// A stream named PREFIX/CONTAINER/TASK-ID is checked against that one task
// (a store read, then a cache); a stream named after a container ID, and
// CreateLogGroup, against the groups of every task placed on the instance
// (a listing of the cluster's tasks, cached for a while).
type AgentRule struct {
	st  store.Store
	now func() time.Time

	mu      sync.Mutex
	granted map[string]bool            // instance, op, group, stream → allowed
	defs    map[string][]awslogsTarget // task definition ARN → its awslogs containers
	scans   map[string]instanceScan    // instance ID → its tasks' groups
}

type awslogsTarget struct {
	container string
	cfg       awslogs.Config
}

type instanceScan struct {
	at      time.Time
	targets []awslogsTarget
}

// scanTTL is how long an instance's listing of groups is trusted, and so
// how often a refused agent can cause a rescan.
const scanTTL = 5 * time.Second

// NewAgentRule returns the rule, reading tasks and task definitions from st.
func NewAgentRule(st store.Store) *AgentRule {
	return &AgentRule{st: st, now: time.Now, granted: map[string]bool{},
		defs: map[string][]awslogsTarget{}, scans: map[string]instanceScan{}}
}

// Authorize is auth.Rules.Agent for the logs API.
func (r *AgentRule) Authorize(ctx context.Context, p *auth.Principal, op string, body []byte) error {
	switch op {
	case "PutLogEvents", "CreateLogStream", "CreateLogGroup", "GetLogEvents":
	default:
		return auth.AgentDenied(p, "call logs:"+op+" (agents may only create the log groups and streams of their tasks' awslogs containers, put their output and read it back)")
	}
	in, ok := peekNames(body)
	if !ok {
		return awsproto.Errorf(awsproto.CodeSerialization, "The request body must be a JSON object.")
	}
	key := p.InstanceID + "\x00" + op + "\x00" + in.Group + "\x00" + in.Stream
	r.mu.Lock()
	granted := r.granted[key]
	r.mu.Unlock()
	if granted {
		return nil
	}
	allowed, err := r.check(ctx, p, op, in.Group, in.Stream)
	if err != nil {
		return err
	}
	if !allowed {
		return auth.AgentDenied(p, "use log group "+strconv.Quote(in.Group)+" and stream "+strconv.Quote(in.Stream)+
			": no awslogs container of a task on this instance names them")
	}
	r.mu.Lock()
	if len(r.granted) > 100_000 {
		r.granted = map[string]bool{}
	}
	r.granted[key] = true
	r.mu.Unlock()
	return nil
}

func (r *AgentRule) check(ctx context.Context, p *auth.Principal, op, group, stream string) (bool, error) {
	wantCreate := op == "CreateLogGroup"
	if prefix, container, taskID, ok := awslogs.ParseStream(stream); ok && !wantCreate {
		targets, err := r.taskTargets(ctx, p, taskID)
		if err != nil {
			return false, err
		}
		for _, t := range targets {
			if t.container == container && t.cfg.Group == group && t.cfg.StreamPrefix == prefix {
				return true, nil
			}
		}
		return false, nil
	}
	targets, err := r.instanceTargets(ctx, p)
	if err != nil {
		return false, err
	}
	for _, t := range targets {
		switch {
		case t.cfg.Group != group:
		case wantCreate && t.cfg.CreateGroup:
			return true, nil
		case !wantCreate && t.cfg.StreamPrefix == "" && isContainerID(stream):
			return true, nil
		}
	}
	return false, nil
}

// isContainerID reports whether s looks like a runtime container ID, the
// name of a stream without prefix.
func isContainerID(s string) bool {
	if len(s) < 12 || len(s) > 128 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// taskTargets returns the awslogs containers of one task, if it is placed
// on the agent's instance.
func (r *AgentRule) taskTargets(ctx context.Context, p *auth.Principal, taskID string) ([]awslogsTarget, error) {
	task, _, err := state.Get[state.Task](ctx, r.st, state.TaskKey(p.Cluster, taskID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr(err, "", "")
	}
	if task.InstanceID != p.InstanceID {
		return nil, nil
	}
	return r.definitionTargets(ctx, task.TaskDefinitionArn)
}

// instanceTargets returns the awslogs containers of every task placed on
// the agent's instance, from a recent listing when there is one.
func (r *AgentRule) instanceTargets(ctx context.Context, p *auth.Principal) ([]awslogsTarget, error) {
	r.mu.Lock()
	sc, ok := r.scans[p.InstanceID]
	r.mu.Unlock()
	if ok && r.now().Sub(sc.at) < scanTTL {
		return sc.targets, nil
	}
	tasks, _, err := state.List[state.Task](ctx, r.st, state.ClusterTasksPrefix(p.Cluster), store.ListOptions{})
	if err != nil {
		return nil, storeErr(err, "", "")
	}
	var targets []awslogsTarget
	seen := map[string]bool{}
	for _, t := range tasks {
		if t.Val.InstanceID != p.InstanceID || seen[t.Val.TaskDefinitionArn] {
			continue
		}
		seen[t.Val.TaskDefinitionArn] = true
		ts, err := r.definitionTargets(ctx, t.Val.TaskDefinitionArn)
		if err != nil {
			return nil, err
		}
		targets = append(targets, ts...)
	}
	r.mu.Lock()
	if len(r.scans) > 10_000 {
		r.scans = map[string]instanceScan{}
	}
	r.scans[p.InstanceID] = instanceScan{at: r.now(), targets: targets}
	r.mu.Unlock()
	return targets, nil
}

// definitionTargets returns the awslogs containers of a task definition;
// definitions never change, so they are cached for good.
func (r *AgentRule) definitionTargets(ctx context.Context, arn string) ([]awslogsTarget, error) {
	r.mu.Lock()
	ts, ok := r.defs[arn]
	r.mu.Unlock()
	if ok {
		return ts, nil
	}
	family, rev, ok := parseTaskDefARN(arn)
	if !ok {
		return nil, nil
	}
	td, _, err := state.Get[state.TaskDefinition](ctx, r.st, state.TaskDefKey(family, rev))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr(err, "", "")
	}
	ts = targetsOf(&td.TaskDefinition)
	r.mu.Lock()
	if len(r.defs) > 10_000 {
		r.defs = map[string][]awslogsTarget{}
	}
	r.defs[arn] = ts
	r.mu.Unlock()
	return ts, nil
}

func targetsOf(td *model.TaskDefinition) []awslogsTarget {
	var out []awslogsTarget
	for i := range td.ContainerDefinitions {
		cd := &td.ContainerDefinitions[i]
		if cfg, ok, err := awslogs.Of(cd); ok && err == nil {
			out = append(out, awslogsTarget{container: cd.Name, cfg: cfg})
		}
	}
	return out
}

// parseTaskDefARN splits arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REV.
func parseTaskDefARN(arn string) (string, int32, bool) {
	_, rest, ok := strings.Cut(arn, ":task-definition/")
	if !ok {
		return "", 0, false
	}
	family, revs, ok := strings.Cut(rest, ":")
	rev, err := strconv.ParseInt(revs, 10, 32)
	if !ok || err != nil || family == "" {
		return "", 0, false
	}
	return family, int32(rev), true
}
