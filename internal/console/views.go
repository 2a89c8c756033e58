package console

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// Loaders of the cluster, instance, service and task pages. A section the
// user's policies do not allow shows the API's refusal in its place, so a
// user who may describe a cluster but not list its tasks still sees the
// rest.

// part returns the refusal a section shows instead of its content, or err
// itself when it is no API answer (the page fails).
func part(err error) (*awsproto.Error, error) {
	if err == nil {
		return nil, nil
	}
	if e, ok := awsproto.AsError(err); ok {
		return e, nil
	}
	return nil, err
}

type clustersView struct {
	Clusters []model.Cluster
	More     bool
}

func loadClusters(q *rq) (string, any, error) {
	cs, more, err := q.api.clusters()
	if err != nil {
		return "", nil, err
	}
	slices.SortFunc(cs, func(a, b model.Cluster) int { return cmp.Compare(a.ClusterName, b.ClusterName) })
	return "Clusters", clustersView{Clusters: cs, More: more}, nil
}

// clusterView is a cluster's page: its counts, its map of instances with
// their tasks, and its services.
type clusterView struct {
	Name              string
	Cluster           model.Cluster
	Boxes             []instanceBox
	Unplaced          []model.Task // tasks on no instance the map shows
	MapProblem        *awsproto.Error
	TasksProblem      *awsproto.Error
	MoreInstances     bool
	MoreTasks         bool
	Services          []model.Service
	ServicesProblem   *awsproto.Error
	MoreServices      bool
	ActiveInstances   int
	DrainingInstances int
}

// instanceBox is one instance on the cluster map.
type instanceBox struct {
	Instance model.ContainerInstance
	ID       string
	CPU, Mem usage
	Zone     string
	Tasks    []model.Task
}

// usage is how much of a resource tasks have reserved.
type usage struct {
	Used, Total int64
	Pct         int // 0-100
}

func newUsage(total, remaining int64) usage {
	u := usage{Used: max(0, total-remaining), Total: total}
	if total > 0 {
		u.Pct = int(min(100, u.Used*100/total))
	}
	return u
}

func loadCluster(q *rq) (string, any, error) {
	name := q.r.PathValue("cluster")
	cl, err := q.api.cluster(name)
	if err != nil {
		return "", nil, err
	}
	v := clusterView{Name: name, Cluster: cl}
	cis, more, err := q.api.instances(name)
	if v.MapProblem, err = part(err); err != nil {
		return "", nil, err
	}
	v.MoreInstances = more
	var tasks []model.Task
	if v.MapProblem == nil {
		tasks, v.MoreTasks, err = q.api.tasks(model.ListTasksRequest{Cluster: name, DesiredStatus: "RUNNING"}, maxListed)
		if v.TasksProblem, err = part(err); err != nil {
			return "", nil, err
		}
	}
	v.Boxes, v.Unplaced = clusterMap(cis, tasks)
	for _, ci := range cis {
		switch ci.Status {
		case "ACTIVE":
			v.ActiveInstances++
		case "DRAINING":
			v.DrainingInstances++
		}
	}
	svcs, more, err := q.api.services(name)
	if v.ServicesProblem, err = part(err); err != nil {
		return "", nil, err
	}
	slices.SortFunc(svcs, func(a, b model.Service) int { return cmp.Compare(a.ServiceName, b.ServiceName) })
	v.Services, v.MoreServices = svcs, more
	return "Cluster " + name, v, nil
}

// clusterMap puts each task in its instance's box; tasks on an instance not
// shown are returned apart.
func clusterMap(cis []model.ContainerInstance, tasks []model.Task) (boxes []instanceBox, unplaced []model.Task) {
	at := map[string]int{}
	for _, ci := range cis {
		b := instanceBox{Instance: ci, ID: lastPart(ci.ContainerInstanceArn)}
		b.CPU = newUsage(resourceValue(ci.RegisteredResources, "CPU"), resourceValue(ci.RemainingResources, "CPU"))
		b.Mem = newUsage(resourceValue(ci.RegisteredResources, "MEMORY"), resourceValue(ci.RemainingResources, "MEMORY"))
		b.Zone = attribute(ci.Attributes, "ecs.availability-zone")
		at[ci.ContainerInstanceArn] = len(boxes)
		boxes = append(boxes, b)
	}
	for _, t := range tasks {
		if i, ok := at[t.ContainerInstanceArn]; ok {
			boxes[i].Tasks = append(boxes[i].Tasks, t)
		} else {
			unplaced = append(unplaced, t)
		}
	}
	slices.SortFunc(boxes, func(a, b instanceBox) int {
		return cmp.Or(cmp.Compare(a.Zone, b.Zone), cmp.Compare(a.ID, b.ID))
	})
	for i := range boxes {
		slices.SortFunc(boxes[i].Tasks, byGroupThenID)
	}
	return boxes, unplaced
}

func byGroupThenID(a, b model.Task) int {
	return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(lastPart(a.TaskArn), lastPart(b.TaskArn)))
}

// resourceValue is an integer resource's value (CPU units, MiB).
func resourceValue(rs []model.Resource, name string) int64 {
	for _, r := range rs {
		if r.Name != name {
			continue
		}
		switch {
		case r.IntegerValue != nil:
			return int64(*r.IntegerValue)
		case r.LongValue != nil:
			return *r.LongValue
		case r.DoubleValue != nil:
			return int64(*r.DoubleValue)
		}
	}
	return 0
}

func attribute(as []model.Attribute, name string) string {
	for _, a := range as {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// serviceView is a service's page.
type serviceView struct {
	Cluster      string
	Service      model.Service
	Deployments  []deploymentView
	Tasks        []model.Task
	Stopped      []model.Task
	TasksProblem *awsproto.Error
	Events       []model.ServiceEvent
}

// deploymentView is a deployment with its rollout progress.
type deploymentView struct {
	model.Deployment
	Running, Pending, Desired int32
}

// maxStoppedShown is how many recently stopped tasks a service page lists.
const maxStoppedShown = 20

func loadService(q *rq) (string, any, error) {
	cluster, name := q.r.PathValue("cluster"), q.r.PathValue("service")
	s, err := q.api.service(cluster, name)
	if err != nil {
		return "", nil, err
	}
	v := serviceView{Cluster: cluster, Service: s, Events: s.Events}
	for _, d := range s.Deployments {
		v.Deployments = append(v.Deployments, deploymentView{Deployment: d,
			Running: model.Val(d.RunningCount), Pending: model.Val(d.PendingCount), Desired: model.Val(d.DesiredCount)})
	}
	if len(v.Events) > 50 {
		v.Events = v.Events[:50]
	}
	running, _, err := q.api.tasks(model.ListTasksRequest{Cluster: cluster, ServiceName: name, DesiredStatus: "RUNNING"}, maxListed)
	if v.TasksProblem, err = part(err); err != nil {
		return "", nil, err
	}
	slices.SortFunc(running, byGroupThenID)
	v.Tasks = running
	if v.TasksProblem == nil {
		stopped, _, err := q.api.tasks(model.ListTasksRequest{Cluster: cluster, ServiceName: name, DesiredStatus: "STOPPED"}, maxStoppedShown)
		if v.TasksProblem, err = part(err); err != nil {
			return "", nil, err
		}
		slices.SortFunc(stopped, newestStopFirst)
		v.Stopped = stopped
	}
	return "Service " + name, v, nil
}

func newestStopFirst(a, b model.Task) int {
	return cmp.Compare(timeOf(b.StoppedAt), timeOf(a.StoppedAt))
}

func timeOf(t *model.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixMilli()
}

// tasksView is a cluster's task list.
type tasksView struct {
	Cluster string
	Desired string // RUNNING or STOPPED
	Tasks   []model.Task
	More    bool
}

func loadTasks(q *rq) (string, any, error) {
	cluster := q.r.PathValue("cluster")
	desired := q.r.URL.Query().Get("desiredStatus")
	switch desired {
	case "":
		desired = "RUNNING"
	case "RUNNING", "STOPPED":
	default:
		return "", nil, awsproto.Errorf("InvalidParameterException", "desiredStatus %q: choose RUNNING or STOPPED.", clip(desired))
	}
	ts, more, err := q.api.tasks(model.ListTasksRequest{Cluster: cluster, DesiredStatus: model.DesiredStatus(desired)}, maxListed)
	if err != nil {
		return "", nil, err
	}
	if desired == "STOPPED" {
		slices.SortFunc(ts, newestStopFirst)
	} else {
		slices.SortFunc(ts, byGroupThenID)
	}
	return "Tasks in " + cluster, tasksView{Cluster: cluster, Desired: desired, Tasks: ts, More: more}, nil
}

// taskView is a task's page.
type taskView struct {
	Cluster string
	Task    model.Task
	ID      string
	Stopped bool
}

func loadTask(q *rq) (string, any, error) {
	cluster, id := q.r.PathValue("cluster"), q.r.PathValue("task")
	t, err := q.api.task(cluster, id)
	if err != nil {
		return "", nil, err
	}
	return "Task " + id, taskView{Cluster: cluster, Task: t, ID: id, Stopped: t.DesiredStatus == "STOPPED"}, nil
}

// instanceView is a container instance's page.
type instanceView struct {
	Cluster      string
	ID           string
	Instance     model.ContainerInstance
	Resources    []resourceRow
	Tasks        []model.Task
	TasksProblem *awsproto.Error
}

// resourceRow is one resource, registered and remaining.
type resourceRow struct {
	Name, Type            string
	Registered, Remaining string
	Bar                   *barView // integer resources: the share reserved
}

func loadInstance(q *rq) (string, any, error) {
	cluster, id := q.r.PathValue("cluster"), q.r.PathValue("instance")
	ci, err := q.api.instance(cluster, id)
	if err != nil {
		return "", nil, err
	}
	v := instanceView{Cluster: cluster, ID: id, Instance: ci, Resources: resourceRows(ci)}
	tasks, _, err := q.api.tasks(model.ListTasksRequest{Cluster: cluster, ContainerInstance: id, DesiredStatus: "RUNNING"}, maxListed)
	if v.TasksProblem, err = part(err); err != nil {
		return "", nil, err
	}
	slices.SortFunc(tasks, byGroupThenID)
	v.Tasks = tasks
	return "Instance " + id, v, nil
}

func resourceRows(ci model.ContainerInstance) []resourceRow {
	remaining := map[string]model.Resource{}
	for _, r := range ci.RemainingResources {
		remaining[r.Name] = r
	}
	var rows []resourceRow
	for _, r := range ci.RegisteredResources {
		row := resourceRow{Name: r.Name, Type: r.Type, Registered: resourceText(r), Remaining: resourceText(remaining[r.Name])}
		if r.Type == "INTEGER" || r.Type == "LONG" {
			class := "cpu"
			if r.Name == "MEMORY" {
				class = "mem"
			}
			b := usageBar(newUsage(resourceValue(ci.RegisteredResources, r.Name), resourceValue(ci.RemainingResources, r.Name)), class)
			row.Bar = &b
		}
		rows = append(rows, row)
	}
	return rows
}

// resourceText shows a resource's value, whatever its type.
func resourceText(r model.Resource) string {
	switch {
	case r.IntegerValue != nil:
		return strconv.Itoa(int(*r.IntegerValue))
	case r.LongValue != nil:
		return strconv.FormatInt(*r.LongValue, 10)
	case r.DoubleValue != nil:
		return strconv.FormatFloat(*r.DoubleValue, 'f', -1, 64)
	case len(r.StringSetValue) > 0:
		return joinShort(r.StringSetValue, 20)
	}
	return "—"
}
