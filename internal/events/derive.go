package events

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
)

// Deriving events from stored documents. Each function compares what the
// follower remembers of a key with its new document and returns the events
// the change makes, and what to remember now. They do no I/O and read no
// clock: the time of the change is passed in.

// Detail types, as EventBridge names ECS's events.
const (
	TaskStateChange     = "ECS Task State Change"
	InstanceStateChange = "ECS Container Instance State Change"
	ServiceAction       = "ECS Service Action"
	DeploymentChange    = "ECS Deployment State Change"
)

// isoMillis is how ECS events write times.
const isoMillis = "2006-01-02T15:04:05.000Z"

// draft is an event before the bus numbers it and dates the envelope.
type draft struct {
	detailType string
	cluster    string
	resources  []string
	detail     []byte
	src        *source // a task or instance event: detail and resources made later
}

// digest identifies a document's content, so that a rewrite that changed
// nothing makes no event.
func digest(doc []byte) uint64 { return maphash.Bytes(digestSeed, doc) }

var digestSeed = maphash.MakeSeed()

// resourceDetail turns a stored task or container instance into the detail
// of its state change event: the ECS shape without Wharf's own members and
// tags, times as ISO 8601 strings, updatedAt, and clusterArn.
func resourceDetail(doc []byte, at time.Time, clusterArn string) ([]byte, map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, nil, err
	}
	for k := range m {
		if strings.HasPrefix(k, "wharf") || k == "tags" {
			delete(m, k)
		}
	}
	isoTimes(m)
	m["updatedAt"] = at.UTC().Format(isoMillis)
	if _, ok := m["clusterArn"]; !ok {
		m["clusterArn"] = clusterArn
	}
	b, err := json.Marshal(m)
	return b, m, err
}

// isoTimes rewrites the epoch-seconds timestamps of the AWS JSON protocol
// (members named ...At) as the ISO 8601 strings events carry, at any depth.
func isoTimes(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if n, ok := e.(json.Number); ok && strings.HasSuffix(k, "At") {
				if t, ok := epochTime(string(n)); ok {
					x[k] = t.UTC().Format(isoMillis)
				}
				continue
			}
			isoTimes(e)
		}
	case []any:
		for _, e := range x {
			isoTimes(e)
		}
	}
}

// epochTime reads epoch seconds with a decimal fraction ("1795003198.123")
// digit by digit, since a float64 would lose the last millisecond.
func epochTime(n string) (time.Time, bool) {
	secs, frac, _ := strings.Cut(n, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || len(frac) > 9 {
		return time.Time{}, false
	}
	var nsec int64
	if frac != "" {
		f, err := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if err != nil || f < 0 {
			return time.Time{}, false
		}
		nsec = f
	}
	return time.Unix(sec, nsec), true
}

// resourceKind is a resource whose documents make state change events: its
// detail type and the member holding its ARN.
type resourceKind struct{ detailType, arnMember string }

var (
	taskKind     = resourceKind{TaskStateChange, "taskArn"}
	instanceKind = resourceKind{InstanceStateChange, "containerInstanceArn"}
)

// render makes the detail and resources of the state change event of a
// document of this kind, in the cluster of that ARN (which events carry,
// though the container instance's API shape does not). Stored documents are
// the server's own JSON; one that does not decode makes an empty detail.
func (k resourceKind) render(doc []byte, at time.Time, clusterArn string) (json.RawMessage, []string) {
	detail, m, err := resourceDetail(doc, at, clusterArn)
	if err != nil {
		return json.RawMessage("{}"), []string{}
	}
	arn, _ := m[k.arnMember].(string)
	return detail, []string{arn}
}

// serviceMemory is what the follower remembers of a service: the service
// events already turned into actions, and each deployment's rollout state.
type serviceMemory struct {
	events  map[string]bool
	rollout map[string]string // deployment ID → rolloutState
}

func rememberService(svc *state.Service) serviceMemory {
	m := serviceMemory{events: make(map[string]bool, len(svc.Events)), rollout: make(map[string]string, len(svc.Deployments))}
	for _, e := range svc.Events {
		m.events[e.Id] = true
	}
	for _, d := range svc.Deployments {
		m.rollout[d.Id] = string(d.RolloutState)
	}
	return m
}

// serviceEvents are the Service Action and Deployment State Change events
// of a service's change from what was remembered (nil: a new service).
func serviceEvents(old *serviceMemory, svc *state.Service, at time.Time) []draft {
	var out []draft
	res := []string{svc.ServiceArn}
	// Service events are kept newest first; actions go out oldest first.
	for i := len(svc.Events) - 1; i >= 0; i-- {
		e := svc.Events[i]
		if old != nil && old.events[e.Id] {
			continue
		}
		name, typ, reasons := actionOf(e.Message)
		if name == "" {
			continue
		}
		created := at
		if e.CreatedAt != nil {
			created = e.CreatedAt.Time
		}
		d := map[string]any{"eventType": typ, "eventName": name, "clusterArn": svc.ClusterArn,
			"createdAt": created.UTC().Format(isoMillis)}
		if len(reasons) > 0 {
			d["reasons"] = reasons
		}
		b, _ := json.Marshal(d)
		out = append(out, draft{detailType: ServiceAction, cluster: svc.Cluster, resources: res, detail: b})
	}
	for _, dep := range svc.Deployments {
		now := string(dep.RolloutState)
		if old != nil && old.rollout[dep.Id] == now {
			continue
		}
		var name, typ, reason string
		switch now {
		case "IN_PROGRESS":
			name, typ, reason = "SERVICE_DEPLOYMENT_IN_PROGRESS", "INFO", "ECS deployment "+dep.Id+" in progress."
		case "COMPLETED":
			name, typ, reason = "SERVICE_DEPLOYMENT_COMPLETED", "INFO", "ECS deployment "+dep.Id+" completed."
		case "FAILED":
			name, typ, reason = "SERVICE_DEPLOYMENT_FAILED", "ERROR", "ECS deployment circuit breaker: tasks failed to start."
		default:
			continue
		}
		if dep.RolloutStateReason != "" {
			reason = dep.RolloutStateReason
		}
		updated := at
		if dep.UpdatedAt != nil {
			updated = dep.UpdatedAt.Time
		}
		b, _ := json.Marshal(map[string]any{"eventType": typ, "eventName": name, "deploymentId": dep.Id,
			"updatedAt": updated.UTC().Format(isoMillis), "reason": reason})
		out = append(out, draft{detailType: DeploymentChange, cluster: svc.Cluster, resources: res, detail: b})
	}
	return out
}

// actionOf names the service action of a service event message (ECS's
// texts, as the service controller writes them), or "" for messages that
// are no action.
func actionOf(msg string) (name, typ string, reasons []string) {
	switch {
	case strings.HasSuffix(msg, "has reached a steady state."):
		return "SERVICE_STEADY_STATE", "INFO", nil
	case strings.Contains(msg, "has stopped") && strings.Contains(msg, "running tasks"):
		return "TASKS_STOPPED", "INFO", nil
	case strings.Contains(msg, "is unable to consistently start tasks successfully"):
		return "SERVICE_TASK_START_IMPAIRED", "WARN", nil
	case strings.Contains(msg, "was unable to place a task"):
		for text, reason := range map[string]string{
			"insufficient CPU units": "RESOURCE:CPU",
			"insufficient memory":    "RESOURCE:MEMORY",
			"using a port required":  "RESOURCE:PORTS",
		} {
			if strings.Contains(msg, text) {
				reasons = []string{reason}
			}
		}
		return "SERVICE_TASK_PLACEMENT_FAILURE", "WARN", reasons
	}
	return "", "", nil
}
