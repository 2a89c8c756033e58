package console

import (
	"slices"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/logsapi/awslogs"
	"github.com/wharf-ecs/wharf/internal/model"
)

// The logs tail of a task's container: the last lines of its awslogs stream
// (named as the agent names it, internal/logsapi/awslogs), read with
// CloudWatch Logs' GetLogEvents through the server's logs API.

// tailLines is how many of the last lines the page shows.
const tailLines = 200

type getLogEventsRequest struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
	Limit         int    `json:"limit,omitempty"`
	StartFromHead bool   `json:"startFromHead"`
}

type getLogEventsResponse struct {
	Events []struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"events"`
}

type logLine struct {
	At      time.Time
	Message string
}

type logsView struct {
	Cluster    string
	ID         string
	Task       model.Task
	Containers []string
	Container  string
	Group      string
	Stream     string
	Lines      []logLine
	// Note says why there are no lines to show; Problem is a refusal.
	Note    string
	Problem *awsproto.Error
}

func loadLogs(q *rq) (string, any, error) {
	cluster, id := q.r.PathValue("cluster"), q.r.PathValue("task")
	t, err := q.api.task(cluster, id)
	if err != nil {
		return "", nil, err
	}
	td, err := q.api.taskDefinition(t.TaskDefinitionArn)
	if err != nil {
		return "", nil, err
	}
	v := logsView{Cluster: cluster, ID: id, Task: t}
	for _, cd := range td.ContainerDefinitions {
		v.Containers = append(v.Containers, cd.Name)
	}
	v.Container = q.r.URL.Query().Get("container")
	if v.Container == "" && len(v.Containers) > 0 {
		v.Container = v.Containers[0]
	}
	i := slices.IndexFunc(td.ContainerDefinitions, func(cd model.ContainerDefinition) bool { return cd.Name == v.Container })
	if i < 0 {
		return "", nil, awsproto.Errorf("InvalidParameterException", "Task %s has no container named %q.", id, clip(v.Container))
	}
	title := "Logs of " + v.Container + " in task " + id
	cd := &td.ContainerDefinitions[i]
	cfg, ok, err := awslogs.Of(cd)
	switch {
	case err != nil:
		v.Note = "The container's awslogs options are not usable: " + err.Error()
		return title, v, nil
	case !ok:
		driver := "no log driver"
		if cd.LogConfiguration != nil {
			driver = "the " + string(cd.LogConfiguration.LogDriver) + " log driver"
		}
		v.Note = "Container " + cd.Name + " uses " + driver + ". Only the output of containers using the awslogs log driver is kept by the server and readable here."
		return title, v, nil
	}
	runtimeID := ""
	for _, c := range t.Containers {
		if c.Name == cd.Name {
			runtimeID = c.RuntimeId
		}
	}
	v.Group, v.Stream = cfg.Group, cfg.StreamName(cd.Name, id, runtimeID)
	if v.Stream == "" {
		v.Note = "The container has not started yet, so its log stream has no name yet."
		return title, v, nil
	}
	var out getLogEventsResponse
	err = q.api.call(logsTarget, "GetLogEvents", getLogEventsRequest{LogGroupName: v.Group, LogStreamName: v.Stream,
		Limit: tailLines, StartFromHead: false}, &out)
	if err != nil {
		e := asError(err)
		switch e.Code {
		case "ResourceNotFoundException":
			v.Note = "No output yet: log stream " + v.Stream + " in log group " + v.Group + " does not exist yet (" + e.Message + ")."
		default:
			if e.Code == codeInternal {
				return "", nil, err
			}
			v.Problem = e
		}
		return title, v, nil
	}
	for _, ev := range out.Events {
		v.Lines = append(v.Lines, logLine{At: time.UnixMilli(ev.Timestamp).UTC(), Message: ev.Message})
	}
	if len(v.Lines) == 0 {
		v.Note = "The log stream is empty so far."
	}
	return title, v, nil
}
