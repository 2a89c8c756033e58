package console

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
)

// Template functions. Times are absolute (UTC): a live part must render the
// same bytes until something changes, which "3 minutes ago" would not.

var funcs = template.FuncMap{
	"short":      lastPart,
	"when":       when,
	"clock":      clock,
	"i32":        model.Val[int32],
	"yes":        model.Val[bool],
	"exitCode":   exitCode,
	"status":     statusClass,
	"group":      groupLabel,
	"taskDef":    taskDefLabel,
	"taskDefURL": taskDefURL,
	"pct":        pct,
	"mib":        mib,
	"usage":      usageBar,
	"rollout":    rolloutBar,
	"tasks":      taskTable,
	"serviceOf":  serviceOf,
}

// barView is a bar of the cluster map or a rollout: Done percent filled,
// Through percent at least begun (pending), Class its colour.
type barView struct {
	Class         string
	Pct           int
	Done, Through int
}

func usageBar(u usage, class string) barView { return barView{Class: class, Pct: u.Pct} }

// rolloutBar shows a deployment's running tasks, and its pending ones after
// them, against its desired count.
func rolloutBar(running, pending, desired int32) barView {
	return barView{Done: pct(running, desired), Through: pct(running+pending, desired)}
}

// taskTableView is what the "taskrows" template lists.
type taskTableView struct {
	Prefix  string
	Cluster string
	Tasks   []model.Task
}

func taskTable(cluster string, tasks []model.Task) taskTableView {
	return taskTableView{Prefix: Prefix, Cluster: cluster, Tasks: tasks}
}

// serviceOf is the service a task group names ("service:NAME"), or "".
func serviceOf(group string) string {
	if name, ok := strings.CutPrefix(group, "service:"); ok {
		return name
	}
	return ""
}

func when(t *model.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// clock is a time of day, for log lines and events.
func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func exitCode(c *int32) string {
	if c == nil {
		return "—"
	}
	return strconv.Itoa(int(*c))
}

// statusClass is the CSS class of a status word: ok, warn, bad or idle.
func statusClass(s any) string {
	var v string
	switch x := s.(type) {
	case string:
		v = x
	case model.HealthStatus:
		v = string(x)
	case model.DeploymentRolloutState:
		v = string(x)
	case model.TaskStopCode:
		v = string(x)
	default:
		return "idle"
	}
	switch v {
	case "RUNNING", "ACTIVE", "HEALTHY", "COMPLETED", "PRIMARY", "OK":
		return "ok"
	case "PENDING", "PROVISIONING", "ACTIVATING", "IN_PROGRESS", "DRAINING", "STOPPING", "DEACTIVATING", "DEPROVISIONING", "ACTIVE_DRAINING":
		return "warn"
	case "UNHEALTHY", "FAILED", "TaskFailedToStart", "EssentialContainerExited", "INACTIVE", "STOPPED_FAILED":
		return "bad"
	}
	return "idle"
}

// groupLabel is a task's group without its kind: "web" for service:web.
func groupLabel(g string) string {
	if _, name, ok := strings.Cut(g, ":"); ok {
		return name
	}
	return g
}

// taskDefLabel is FAMILY:REVISION of a task definition ARN.
func taskDefLabel(arn string) string { return lastPart(arn) }

// taskDefURL is the console page of a task definition ARN.
func taskDefURL(arn string) string {
	family, rev, _ := strings.Cut(lastPart(arn), ":")
	return Prefix + "/taskdefs/" + family + "/" + rev
}

// pct is part of whole in percent, 0-100.
func pct(part, whole int32) int {
	if whole <= 0 {
		if part > 0 {
			return 100
		}
		return 0
	}
	return int(min(100, max(0, int64(part)*100/int64(whole))))
}

// mib shows MiB in a friendly unit.
func mib(n int64) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.FormatInt(n/1024, 10) + " GiB"
	}
	return strconv.FormatInt(n, 10) + " MiB"
}

// clip shortens user input quoted back in a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// joinShort joins up to n values, saying how many more there were.
func joinShort(vs []string, n int) string {
	if len(vs) <= n {
		return strings.Join(vs, ", ")
	}
	return strings.Join(vs[:n], ", ") + " and " + strconv.Itoa(len(vs)-n) + " more"
}
