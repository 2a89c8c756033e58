package console

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// The event stream of a cluster: what happened lately, newest first. It is
// the history of the server's ECS event stream when the user may read it
// (wharf:GetEvents), else what the ECS API reports (service events, tasks
// started and stopped, instances registered).

// maxEvents bounds the events the page shows.
const maxEvents = 150

type event struct {
	At      time.Time
	Kind    string // task, instance, service
	Level   string // CSS class: idle, warn, bad
	Subject string // the service, task or instance named
	Link    string // its console page, relative to the cluster's
	Message string
}

type eventsView struct {
	Cluster string
	// Streamed is true when the events are the server's event stream's;
	// else they are derived from what the ECS API reports, and Refused
	// says why the stream could not be read.
	Streamed bool
	Refused  *awsproto.Error
	Gap      bool
	Events   []event
	Problems []*awsproto.Error
}

func loadEvents(q *rq) (string, any, error) {
	cluster := q.r.PathValue("cluster")
	if _, err := q.api.cluster(cluster); err != nil {
		return "", nil, err
	}
	v := eventsView{Cluster: cluster}
	evs, gap, err := q.api.history(cluster)
	if v.Refused, err = part(err); err != nil {
		return "", nil, err
	}
	if v.Refused == nil {
		v.Streamed, v.Gap = true, gap
		for _, e := range evs {
			if ev, ok := summarize(e.data); ok {
				v.Events = append(v.Events, ev)
			}
		}
		slices.Reverse(v.Events)
	} else if err := derivedEvents(q, &v); err != nil {
		return "", nil, err
	}
	if len(v.Events) > maxEvents {
		v.Events = v.Events[:maxEvents]
	}
	return "Events in " + cluster, v, nil
}

// busEvent is the part of an ECS event (EventBridge shape) the page shows.
type busEvent struct {
	DetailType string   `json:"detail-type"`
	Time       string   `json:"time"`
	Resources  []string `json:"resources"`
	Detail     struct {
		// Task and container instance state changes carry the resource.
		TaskArn              string `json:"taskArn"`
		ContainerInstanceArn string `json:"containerInstanceArn"`
		Group                string `json:"group"`
		LastStatus           string `json:"lastStatus"`
		DesiredStatus        string `json:"desiredStatus"`
		StopCode             string `json:"stopCode"`
		StoppedReason        string `json:"stoppedReason"`
		Containers           []struct {
			Name     string `json:"name"`
			ExitCode *int   `json:"exitCode"`
		} `json:"containers"`
		Status         string `json:"status"`
		AgentConnected *bool  `json:"agentConnected"`
		// Service actions and deployment state changes.
		EventType    string   `json:"eventType"`
		EventName    string   `json:"eventName"`
		Reasons      []string `json:"reasons"`
		DeploymentID string   `json:"deploymentId"`
		Reason       string   `json:"reason"`
	} `json:"detail"`
}

// summarize turns an ECS event into a line of the events page.
func summarize(doc []byte) (event, bool) {
	var b busEvent
	if err := json.Unmarshal(doc, &b); err != nil {
		return event{}, false
	}
	at, _ := time.Parse(time.RFC3339Nano, b.Time)
	d := b.Detail
	ev := event{At: at, Level: "idle"}
	switch b.DetailType {
	case "ECS Task State Change":
		id := lastPart(d.TaskArn)
		ev.Kind, ev.Subject, ev.Link = "task", id, "tasks/"+id
		ev.Message = d.LastStatus + " (desired " + d.DesiredStatus + "), " + d.Group
		if d.LastStatus == "STOPPED" {
			if d.StopCode != "" {
				ev.Message += "; " + d.StopCode
			}
			if d.StoppedReason != "" {
				ev.Message += ": " + d.StoppedReason
			}
			for _, c := range d.Containers {
				if c.ExitCode != nil {
					ev.Message += "; " + c.Name + " exited " + strconv.Itoa(*c.ExitCode)
				}
			}
		}
		ev.Level = statusClass(d.LastStatus)
	case "ECS Container Instance State Change":
		id := lastPart(d.ContainerInstanceArn)
		ev.Kind, ev.Subject, ev.Link = "instance", id, "instances/"+id
		ev.Message = d.Status
		if d.AgentConnected != nil && !*d.AgentConnected {
			ev.Message += ", its agent disconnected"
			ev.Level = "bad"
		}
	case "ECS Service Action", "ECS Deployment State Change":
		if len(b.Resources) == 0 {
			return event{}, false
		}
		name := lastPart(b.Resources[0])
		ev.Kind, ev.Subject, ev.Link = "service", name, "services/"+name
		ev.Message = d.EventName
		if len(d.Reasons) > 0 {
			ev.Message += " (" + strings.Join(d.Reasons, ", ") + ")"
		}
		if d.Reason != "" {
			ev.Message += ". " + d.Reason
		}
		switch d.EventType {
		case "WARN":
			ev.Level = "warn"
		case "ERROR":
			ev.Level = "bad"
		}
	default:
		return event{}, false
	}
	return ev, true
}

// derivedEvents fills v from what the ECS API reports (service events,
// tasks started and stopped, instances registered), for users who may not
// read the event stream.
func derivedEvents(q *rq, v *eventsView) error {
	cluster := v.Cluster
	add := func(err error) error {
		e, err := part(err)
		if e != nil {
			v.Problems = append(v.Problems, e)
		}
		return err
	}
	svcs, _, err := q.api.services(cluster)
	if err := add(err); err != nil {
		return err
	}
	for _, s := range svcs {
		for _, e := range s.Events {
			if e.CreatedAt != nil {
				v.Events = append(v.Events, event{At: e.CreatedAt.Time, Kind: "service", Level: "idle", Subject: s.ServiceName,
					Link: "services/" + s.ServiceName, Message: e.Message})
			}
		}
	}
	for _, desired := range []model.DesiredStatus{"RUNNING", "STOPPED"} {
		ts, _, err := q.api.tasks(model.ListTasksRequest{Cluster: cluster, DesiredStatus: desired}, maxEvents)
		if err := add(err); err != nil {
			return err
		}
		for _, t := range ts {
			v.Events = append(v.Events, taskEvents(t)...)
		}
	}
	cis, _, err := q.api.instances(cluster)
	if err := add(err); err != nil {
		return err
	}
	for _, ci := range cis {
		if ci.RegisteredAt != nil {
			id := lastPart(ci.ContainerInstanceArn)
			v.Events = append(v.Events, event{At: ci.RegisteredAt.Time, Kind: "instance", Level: "idle", Subject: id,
				Link: "instances/" + id, Message: "registered"})
		}
	}
	slices.SortStableFunc(v.Events, func(a, b event) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.Subject, b.Subject)) })
	return nil
}

// taskEvents are the moments of a task's life worth listing.
func taskEvents(t model.Task) []event {
	id := lastPart(t.TaskArn)
	mk := func(at *model.Time, msg string) event {
		return event{At: at.Time, Kind: "task", Level: "idle", Subject: id, Link: "tasks/" + id, Message: msg}
	}
	var out []event
	if t.StartedAt != nil {
		out = append(out, mk(t.StartedAt, "started on "+lastPart(t.ContainerInstanceArn)+", "+t.Group))
	}
	if t.StoppedAt != nil {
		msg := "stopped, " + t.Group
		if t.StopCode != "" {
			msg += ", " + string(t.StopCode)
		}
		if t.StoppedReason != "" {
			msg += ": " + t.StoppedReason
		}
		for _, c := range t.Containers {
			if c.ExitCode != nil {
				msg += "; " + c.Name + " exited " + strconv.Itoa(int(*c.ExitCode))
			}
		}
		out = append(out, mk(t.StoppedAt, msg))
	}
	return out
}
