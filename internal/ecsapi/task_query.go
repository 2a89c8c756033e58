package ecsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

const maxDescribeTasks = 100

// taskSummary decodes just what listings filter on, which is much cheaper
// than the whole task when a cluster holds many.
type taskSummary struct {
	TaskArn           string           `json:"taskArn"`
	TaskDefinitionArn string           `json:"taskDefinitionArn"`
	Group             string           `json:"group"`
	StartedBy         string           `json:"startedBy"`
	DesiredStatus     string           `json:"desiredStatus"`
	LastStatus        string           `json:"lastStatus"`
	LaunchType        model.LaunchType `json:"launchType"`
	InstanceID        string           `json:"wharfInstanceId"`
}

// describeTasks does the work of DescribeTasks for both of its forms: it
// validates the request, reads each task by its key (the cost grows with the
// number asked for, never with the number stored), hands each stored
// document to emit, and returns the failures.
func (a *API) describeTasks(ctx context.Context, in *model.DescribeTasksRequest, emit func(doc []byte, withTags bool) error) ([]model.Failure, error) {
	if len(in.Tasks) == 0 {
		return nil, invalidParam("Tasks cannot be empty. Give up to %d task IDs or ARNs (ListTasks finds them).", maxDescribeTasks)
	}
	if len(in.Tasks) > maxDescribeTasks {
		return nil, invalidParam("DescribeTasks takes at most %d tasks; got %d. Split the request.", maxDescribeTasks, len(in.Tasks))
	}
	withTags := false
	for _, f := range in.Include {
		if f != model.TaskFieldTags {
			return nil, invalidParam("Invalid include value %q: the only valid value is TAGS.", f)
		}
		withTags = true
	}
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.ClusterName
	// Every task is read in one consistent read (one bbolt transaction, one
	// etcd round trip); tasks and failures keep the order asked for.
	keys := make([]string, 0, len(in.Tasks))
	ids := make([]string, 0, len(in.Tasks))
	early := make([]*model.Failure, len(in.Tasks)) // refs that need no read
	for i, ref := range in.Tasks {
		arnCluster, id, err := parseTaskRef(ref)
		switch {
		case err != nil:
			early[i] = &model.Failure{Arn: ref, Reason: reasonMissing, Detail: "not a task ID or ARN"}
		case arnCluster != "" && arnCluster != cluster:
			early[i] = &model.Failure{Arn: ref, Reason: reasonMissing, Detail: "the task ARN names cluster " + arnCluster + ", not " + cluster}
		default:
			keys = append(keys, state.TaskKey(cluster, id))
			ids = append(ids, id)
		}
	}
	kvs, err := store.GetMany(ctx, a.st, keys)
	if err != nil {
		return nil, err
	}
	failures := []model.Failure{}
	for i := range in.Tasks {
		if early[i] != nil {
			failures = append(failures, *early[i])
			continue
		}
		kv, id := kvs[0], ids[0]
		kvs, ids = kvs[1:], ids[1:]
		if kv.Value == nil {
			failures = append(failures, model.Failure{Arn: a.arns.Task(cluster, id), Reason: reasonMissing})
			continue
		}
		if err := emit(kv.Value, withTags); err != nil {
			return nil, fmt.Errorf("task %s: %w", kv.Key, err)
		}
	}
	return failures, nil
}

// describeTasksWire is DescribeTasks as served: the answer is assembled from
// the stored documents without decoding them (see task_wire.go).
func (a *API) describeTasksWire(ctx context.Context, in *model.DescribeTasksRequest) (*awsproto.RawJSON, error) {
	buf := make([]byte, 0, 2048*len(in.Tasks))
	buf = append(buf, `{"tasks":[`...)
	n := 0
	failures, err := a.describeTasks(ctx, in, func(doc []byte, withTags bool) error {
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		var err error
		buf, err = appendWireTask(buf, doc, withTags)
		return err
	})
	if err != nil {
		return nil, err
	}
	fb, err := json.Marshal(failures)
	if err != nil {
		return nil, err
	}
	buf = append(buf, `],"failures":`...)
	buf = append(buf, fb...)
	buf = append(buf, '}')
	out := awsproto.RawJSON(buf)
	return &out, nil
}

// DescribeTasks is the operation with typed tasks, for callers in process.
func (a *API) DescribeTasks(ctx context.Context, in *model.DescribeTasksRequest) (*model.DescribeTasksResponse, error) {
	out := &model.DescribeTasksResponse{Tasks: []model.Task{}}
	failures, err := a.describeTasks(ctx, in, func(doc []byte, withTags bool) error {
		var t state.Task
		if err := json.Unmarshal(doc, &t); err != nil {
			return err
		}
		if !withTags {
			t.Tags = nil
		}
		out.Tasks = append(out.Tasks, t.Task)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Failures = failures
	return out, nil
}

func (a *API) ListTasks(ctx context.Context, in *model.ListTasksRequest) (*model.ListTasksResponse, error) {
	limit, err := pageSize(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	if in.StartedBy != "" && (in.Family != "" || in.ServiceName != "" || in.ContainerInstance != "" || in.LaunchType != "") {
		return nil, invalidParam("cannot specify startedBy with other arguments: filter on startedBy alone (desiredStatus may be added), or drop it.")
	}
	if in.Family != "" && in.ServiceName != "" {
		return nil, invalidParam("family and serviceName cannot be combined: filter on one of them.")
	}
	if in.DaemonName != "" {
		return nil, invalidParam("daemonName cannot be used: Wharf has no daemons yet.")
	}
	desired := in.DesiredStatus
	if desired == "" {
		desired = model.DesiredStatusRunning
	}
	if !desired.Valid() {
		return nil, invalidParam("Invalid desiredStatus %q: use RUNNING, PENDING or STOPPED.", in.DesiredStatus)
	}
	if in.LaunchType != "" && !in.LaunchType.Valid() {
		return nil, invalidParam("Invalid launchType %q: use EC2, EXTERNAL or FARGATE.", in.LaunchType)
	}
	if in.Family != "" && !validName(in.Family) {
		return nil, invalidParam("Invalid family %q: up to 255 letters, numbers, underscores and hyphens.", in.Family)
	}
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.ClusterName
	group := ""
	if in.ServiceName != "" {
		name, err := a.existingService(ctx, cluster, in.ServiceName)
		if err != nil {
			return nil, err
		}
		group = "service:" + name
	}
	instID := ""
	if in.ContainerInstance != "" {
		arnCluster, id, err := parseInstanceRef(in.ContainerInstance)
		if err != nil {
			return nil, err
		}
		if arnCluster != "" && arnCluster != cluster {
			return nil, invalidParam("Container instance %s belongs to cluster %s, not %s.", in.ContainerInstance, arnCluster, cluster)
		}
		instID = id
	}
	out := &model.ListTasksResponse{TaskArns: []string{}}
	// ECS never sets desiredStatus PENDING, so that filter matches nothing.
	if desired == model.DesiredStatusPending {
		return out, nil
	}
	arns, next, err := scan(ctx, a.st, state.ClusterTasksPrefix(cluster), in.NextToken, limit, func(kv store.KV) (string, bool, error) {
		var t taskSummary
		if err := json.Unmarshal(kv.Value, &t); err != nil {
			return "", false, err
		}
		ok := t.DesiredStatus == string(desired) &&
			(in.StartedBy == "" || t.StartedBy == in.StartedBy) &&
			(in.Family == "" || familyOfArn(t.TaskDefinitionArn) == in.Family) &&
			(group == "" || t.Group == group) &&
			(instID == "" || t.InstanceID == instID) &&
			(in.LaunchType == "" || t.LaunchType == in.LaunchType)
		return t.TaskArn, ok, nil
	})
	if err != nil {
		return nil, err
	}
	if arns != nil {
		out.TaskArns = arns
	}
	out.NextToken = next
	return out, nil
}

// existingService resolves a service name or ARN and answers
// ServiceNotFoundException unless the cluster has it.
func (a *API) existingService(ctx context.Context, cluster, ref string) (string, error) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		p, err := ParseARN(ref)
		if err != nil || p.Type != "service" {
			return "", invalidParam("Invalid serviceName %q: give a service name or ARN.", ref)
		}
		name = p.Parts[len(p.Parts)-1]
	}
	if !validName(name) {
		return "", invalidParam("Invalid serviceName %q: up to 255 letters, numbers, underscores and hyphens.", ref)
	}
	s, _, err := state.Get[statusOnly](ctx, a.st, state.ServiceKey(cluster, name))
	if isNotFound(err) || err == nil && s.Status == state.ServiceInactive {
		return "", awsproto.Errorf(codeServiceNotFound, "Service not found: %s in cluster %s. Check the name, or list services with ListServices.", name, cluster)
	}
	return name, err
}

// familyOfArn returns the family of a task definition ARN (…:task-definition/FAMILY:REV).
func familyOfArn(arn string) string {
	i := strings.LastIndex(arn, "task-definition/")
	if i < 0 {
		return ""
	}
	s := arn[i+len("task-definition/"):]
	if j := strings.LastIndexByte(s, ':'); j >= 0 {
		s = s[:j]
	}
	return s
}
