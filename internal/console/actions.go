package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// Actions change something through one API call. Each is two POSTs of the
// same form: the first asks for confirmation (a page that says what will
// happen), the second, with confirm=yes, makes the call and returns to the
// resource's page with the result, or shows the API's refusal.

// plan is an action ready to confirm and run.
type plan struct {
	Question string
	Verb     string  // the confirm button's label
	Fields   []field // the form's values, carried to the second POST
	Back     string  // the page to return to
	Danger   bool
	run      func() (string, error)
	// partial, set by run, says the action did only part of what was
	// asked (RunTask placed some tasks, not all).
	partial bool
	// after, when set, is where to go after success instead of Back.
	after string
}

type field struct{ Name, Value string }

// confirmView is the confirmation page.
type confirmView struct {
	*plan
	Action  string
	Problem *awsproto.Error
}

// actions by path pattern (under Prefix).
var actions = map[string]func(q *rq) (*plan, error){
	"/clusters/{cluster}/services/{service}/scale":   planScale,
	"/clusters/{cluster}/services/{service}/deploy":  planDeploy,
	"/clusters/{cluster}/tasks/{task}/stop":          planStop,
	"/clusters/{cluster}/instances/{instance}/state": planInstanceState,
	"/taskdefs/{family}/{revision}/run":              planRun,
}

func (c *Console) action(prepare func(q *rq) (*plan, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		q, ok := c.begin(w, r)
		if !ok || !q.checkPost() {
			return
		}
		p, err := prepare(q)
		if err != nil {
			q.fail(err)
			return
		}
		v := confirmView{plan: p, Action: r.URL.Path}
		if r.PostFormValue("confirm") != "yes" {
			q.render(http.StatusOK, "confirm", "Confirm: "+p.Verb, nil, v)
			return
		}
		msg, err := p.run()
		if err != nil {
			e := asError(err)
			if e.Code == codeInternal {
				q.fail(err)
				return
			}
			v.Problem = e
			q.render(httpStatus(e), "confirm", "Confirm: "+p.Verb, nil, v)
			return
		}
		c.log.Info("console action", "user", q.ss.user, "action", r.URL.Path, "result", msg)
		kind := "ok"
		if p.partial {
			kind = "warn"
		}
		c.sessions.setFlash(q.ss, flash{Kind: kind, Message: msg})
		to := p.Back
		if p.after != "" {
			to = p.after
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

func clusterPath(cluster string) string { return Prefix + "/clusters/" + cluster }

func planScale(q *rq) (*plan, error) {
	cluster, svc := q.r.PathValue("cluster"), q.r.PathValue("service")
	text := strings.TrimSpace(q.r.PostFormValue("desiredCount"))
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil || n < 0 {
		return nil, awsproto.Errorf("InvalidParameterException", "Desired count %q: give a whole number of tasks, 0 or more.", clip(text))
	}
	question := "Set the desired count of service " + svc + " in cluster " + cluster + " to " + text + "?"
	if s, err := q.api.service(cluster, svc); err == nil {
		question = "Change the desired count of service " + svc + " in cluster " + cluster +
			" from " + strconv.Itoa(int(model.Val(s.DesiredCount))) + " to " + text + "?"
	}
	return &plan{Question: question, Verb: "Update desired count",
		Fields: []field{{"desiredCount", text}}, Back: clusterPath(cluster) + "/services/" + svc,
		run: func() (string, error) {
			in := model.UpdateServiceRequest{Cluster: cluster, Service: svc, DesiredCount: model.Ptr(int32(n))}
			if err := q.api.ecs("UpdateService", in, &model.UpdateServiceResponse{}); err != nil {
				return "", err
			}
			return "Service " + svc + ": desired count set to " + text + ".", nil
		}}, nil
}

func planDeploy(q *rq) (*plan, error) {
	cluster, svc := q.r.PathValue("cluster"), q.r.PathValue("service")
	return &plan{Question: "Start a new deployment of service " + svc + " in cluster " + cluster +
		"? Its tasks are replaced by new ones of the same task definition, as the deployment configuration allows.",
		Verb: "Force new deployment", Back: clusterPath(cluster) + "/services/" + svc,
		run: func() (string, error) {
			var out model.UpdateServiceResponse
			in := model.UpdateServiceRequest{Cluster: cluster, Service: svc, ForceNewDeployment: model.Ptr(true)}
			if err := q.api.ecs("UpdateService", in, &out); err != nil {
				return "", err
			}
			msg := "Service " + svc + ": new deployment started"
			if out.Service != nil {
				for _, d := range out.Service.Deployments {
					if d.Status == "PRIMARY" {
						msg += " (" + d.Id + ")"
					}
				}
			}
			return msg + ".", nil
		}}, nil
}

func planStop(q *rq) (*plan, error) {
	cluster, id := q.r.PathValue("cluster"), q.r.PathValue("task")
	reason := strings.TrimSpace(q.r.PostFormValue("reason"))
	if len(reason) > 255 {
		return nil, awsproto.Errorf("InvalidParameterException", "The stop reason is %d characters long; keep it to 255.", len(reason))
	}
	sent := reason
	if sent == "" {
		sent = "Stopped by " + q.ss.user + " from the Wharf console"
	}
	return &plan{Question: "Stop task " + id + " in cluster " + cluster + "? Its containers are sent SIGTERM, then SIGKILL after their stop timeout. A service starts a replacement.",
		Verb: "Stop task", Danger: true, Fields: []field{{"reason", reason}}, Back: clusterPath(cluster) + "/tasks/" + id,
		run: func() (string, error) {
			if err := q.api.ecs("StopTask", model.StopTaskRequest{Cluster: cluster, Task: id, Reason: sent}, &model.StopTaskResponse{}); err != nil {
				return "", err
			}
			return "Task " + id + " is stopping.", nil
		}}, nil
}

func planInstanceState(q *rq) (*plan, error) {
	cluster, id := q.r.PathValue("cluster"), q.r.PathValue("instance")
	status := q.r.PostFormValue("status")
	var question string
	switch status {
	case "DRAINING":
		question = "Drain container instance " + id + " in cluster " + cluster + "? No new tasks are placed on it, and services move their tasks elsewhere."
	case "ACTIVE":
		question = "Activate container instance " + id + " in cluster " + cluster + "? New tasks may be placed on it again."
	default:
		return nil, awsproto.Errorf("InvalidParameterException", "Status %q: choose DRAINING or ACTIVE.", clip(status))
	}
	verb := "Drain instance"
	if status == "ACTIVE" {
		verb = "Activate instance"
	}
	return &plan{Question: question, Verb: verb, Danger: status == "DRAINING", Fields: []field{{"status", status}},
		Back: clusterPath(cluster) + "/instances/" + id,
		run: func() (string, error) {
			var out model.UpdateContainerInstancesStateResponse
			in := model.UpdateContainerInstancesStateRequest{Cluster: cluster, ContainerInstances: []string{id},
				Status: model.ContainerInstanceStatus(status)}
			if err := q.api.ecs("UpdateContainerInstancesState", in, &out); err != nil {
				return "", err
			}
			if len(out.Failures) > 0 {
				f := out.Failures[0]
				return "", awsproto.Errorf("InvalidParameterException", "Instance %s was not updated: %s %s", id, f.Reason, f.Detail)
			}
			return "Instance " + id + " is " + status + ".", nil
		}}, nil
}

// maxRunCount is RunTask's limit on tasks per call.
const maxRunCount = 10

func planRun(q *rq) (*plan, error) {
	family, rev, err := taskDefPath(q)
	if err != nil {
		return nil, err
	}
	cluster := strings.TrimSpace(q.r.PostFormValue("cluster"))
	if !validName(cluster) {
		return nil, awsproto.Errorf("InvalidParameterException", "Cluster %q: give a cluster name (letters, numbers, underscores and hyphens).", clip(cluster))
	}
	text := strings.TrimSpace(q.r.PostFormValue("count"))
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > maxRunCount {
		return nil, awsproto.Errorf("InvalidParameterException", "Count %q: run from 1 to %d tasks at a time.", clip(text), maxRunCount)
	}
	ref := family + ":" + strconv.Itoa(rev)
	p := &plan{Question: "Run " + text + " task(s) of " + ref + " in cluster " + cluster + "?", Verb: "Run task",
		Fields: []field{{"cluster", cluster}, {"count", text}}, Back: Prefix + "/taskdefs/" + family + "/" + strconv.Itoa(rev)}
	p.run = func() (string, error) {
		var out model.RunTaskResponse
		in := model.RunTaskRequest{Cluster: cluster, TaskDefinition: ref, Count: model.Ptr(int32(n)), StartedBy: "wharf-console"}
		if err := q.api.ecs("RunTask", in, &out); err != nil {
			return "", err
		}
		var reasons []string
		for _, f := range out.Failures {
			reasons = append(reasons, strings.TrimSpace(f.Reason+" "+f.Detail))
		}
		if len(out.Tasks) == 0 {
			return "", awsproto.Errorf("PlacementFailure", "No task was started: %s", strings.Join(reasons, "; "))
		}
		var ids []string
		for _, t := range out.Tasks {
			ids = append(ids, lastPart(t.TaskArn))
		}
		p.after = clusterPath(cluster) + "/tasks"
		if len(ids) == 1 {
			p.after += "/" + ids[0]
		}
		msg := "Started " + strconv.Itoa(len(ids)) + " task(s) in cluster " + cluster + ": " + strings.Join(ids, ", ") + "."
		if len(reasons) > 0 {
			p.partial = true
			msg += " Not placed: " + strings.Join(reasons, "; ") + "."
		}
		return msg, nil
	}
	return p, nil
}
