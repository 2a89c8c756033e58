package ha

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// A history is what one fault scenario did and saw: every RunTask,
// StopTask, CreateService and UpdateService a scenario's clients made, with
// its answer, and the states of one cluster observed through whichever
// server answered, from the start of the scenario to its end. The checker
// (invariants_test.go) judges it once the scenario is over.
type history struct {
	cluster string
	limits  limits

	mu      sync.Mutex
	calls   []call
	states  []observed
	failed  int // observations that no server answered in full
	stopped chan struct{}
	done    chan struct{}
}

// call is one call to the API. Only RunTask is kept when it failed: a
// failed call with a clientToken may still have run, at most once.
type call struct {
	at        time.Time // when the answer arrived
	op        string    // RunTask, StopTask, CreateService, UpdateService
	acked     bool
	service   string
	desired   *int32   // the desiredCount asked for
	tasks     []string // RunTask: the tasks answered; StopTask: the task asked to stop
	count     int32    // RunTask: how many tasks were asked for
	token     string   // RunTask's clientToken
	startedBy string
}

// observed is the cluster as one server described it, beginning at at.
type observed struct {
	at        time.Time
	server    string
	instances map[string]instanceState // by ARN
	tasks     map[string]taskState     // by ARN
	services  map[string]serviceState  // by name
}

type instanceState struct {
	connected           bool
	status              string
	memory, cpu         int32 // registered
	freeMemory, freeCPU int32 // remaining
}

type taskState struct {
	instance, last, desired, group, startedBy string
	memory, cpu                               int32
}

type serviceState struct {
	status              string
	desired, maxPercent int32
}

// newHistory begins recording the scenario that t runs on cluster: its
// clients record through h.record; a sampler observes the cluster through
// the servers at urls until h.check.
func newHistory(t testing.TB, cluster string, urls []string, lim limits) *history {
	h := &history{cluster: cluster, limits: lim, stopped: make(chan struct{}), done: make(chan struct{})}
	clients := make([]*ecs.Client, len(urls))
	for i, u := range urls {
		clients[i] = samplerClient(u)
	}
	go h.sample(clients)
	t.Cleanup(h.stop)
	return h
}

// samplerClient is a client that gives up on a server quickly: a killed
// container's address swallows connections, and the sampler has others.
func samplerClient(url string) *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: ecstest.TestCredentials,
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
}

// record is an ecs.Options function: the client's calls go into h.
func (h *history) record(o *ecs.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("history", h.intercept), middleware.Before)
	})
}

func (h *history) intercept(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleInitialize(ctx, in)
	c := call{at: time.Now(), acked: err == nil}
	switch p := in.Parameters.(type) {
	case *ecs.RunTaskInput:
		c.op, c.token, c.startedBy, c.count = "RunTask", aws.ToString(p.ClientToken), aws.ToString(p.StartedBy), max(aws.ToInt32(p.Count), 1)
		if r, ok := out.Result.(*ecs.RunTaskOutput); ok && err == nil {
			c.tasks = arns(r.Tasks)
		}
	case *ecs.StopTaskInput:
		c.op, c.tasks = "StopTask", []string{aws.ToString(p.Task)}
		if r, ok := out.Result.(*ecs.StopTaskOutput); ok && err == nil && r.Task != nil {
			c.tasks = []string{aws.ToString(r.Task.TaskArn)}
		}
	case *ecs.CreateServiceInput:
		c.op, c.service, c.desired = "CreateService", aws.ToString(p.ServiceName), p.DesiredCount
	case *ecs.UpdateServiceInput:
		c.op, c.service, c.desired = "UpdateService", aws.ToString(p.Service), p.DesiredCount
	default:
		return out, md, err
	}
	if c.acked || c.op == "RunTask" {
		h.mu.Lock()
		h.calls = append(h.calls, c)
		h.mu.Unlock()
	}
	return out, md, err
}

// sample observes the cluster every half second, through the servers in
// turn, until stop.
func (h *history) sample(clients []*ecs.Client) {
	defer close(h.done)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	next := 0
	for {
		if o, ok := observeAny(clients, &next, h.cluster); ok {
			h.mu.Lock()
			h.states = append(h.states, o)
			h.mu.Unlock()
		} else {
			h.mu.Lock()
			h.failed++
			h.mu.Unlock()
		}
		select {
		case <-h.stopped:
			return
		case <-tick.C:
		}
	}
}

func (h *history) stop() {
	select {
	case <-h.stopped:
	default:
		close(h.stopped)
	}
	<-h.done
}

// observeAny observes the cluster through the first server, from *next
// on, that answers every call, and moves *next on for the next time.
func observeAny(clients []*ecs.Client, next *int, cluster string) (observed, bool) {
	for range clients {
		i := *next % len(clients)
		*next++
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		o, err := observe(ctx, clients[i], cluster)
		cancel()
		if err == nil {
			o.server = aws.ToString(clients[i].Options().BaseEndpoint)
			return o, true
		}
	}
	return observed{}, false
}

// observe describes the cluster's instances, tasks and services. Tasks
// are listed desired RUNNING first, then desired STOPPED: a task only ever
// moves from the one to the other, so one that moves meanwhile is listed
// once or twice, never missed.
func observe(ctx context.Context, cl *ecs.Client, cluster string) (observed, error) {
	o := observed{at: time.Now(), instances: map[string]instanceState{}, tasks: map[string]taskState{}, services: map[string]serviceState{}}
	var instArns []string
	for p := ecs.NewListContainerInstancesPaginator(cl, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return o, err
		}
		instArns = append(instArns, page.ContainerInstanceArns...)
	}
	for _, batch := range batches(instArns, 100) {
		d, err := cl.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: batch})
		if err != nil {
			return o, err
		}
		for _, ci := range d.ContainerInstances {
			o.instances[aws.ToString(ci.ContainerInstanceArn)] = instanceState{
				connected: ci.AgentConnected, status: aws.ToString(ci.Status),
				memory: resource(ci.RegisteredResources, "MEMORY"), cpu: resource(ci.RegisteredResources, "CPU"),
				freeMemory: resource(ci.RemainingResources, "MEMORY"), freeCPU: resource(ci.RemainingResources, "CPU"),
			}
		}
	}
	var taskArns []string
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		for p := ecs.NewListTasksPaginator(cl, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: desired}); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return o, err
			}
			taskArns = append(taskArns, page.TaskArns...)
		}
	}
	for _, batch := range batches(taskArns, 100) {
		d, err := cl.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: batch})
		if err != nil {
			return o, err
		}
		for _, t := range d.Tasks {
			o.tasks[aws.ToString(t.TaskArn)] = taskState{
				instance: aws.ToString(t.ContainerInstanceArn), last: aws.ToString(t.LastStatus), desired: aws.ToString(t.DesiredStatus),
				group: aws.ToString(t.Group), startedBy: aws.ToString(t.StartedBy),
				memory: atoi(aws.ToString(t.Memory)), cpu: atoi(aws.ToString(t.Cpu)),
			}
		}
	}
	var svcArns []string
	for p := ecs.NewListServicesPaginator(cl, &ecs.ListServicesInput{Cluster: aws.String(cluster)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return o, err
		}
		svcArns = append(svcArns, page.ServiceArns...)
	}
	for _, batch := range batches(svcArns, 10) {
		d, err := cl.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
		if err != nil {
			return o, err
		}
		for _, s := range d.Services {
			maxP := int32(200)
			if dc := s.DeploymentConfiguration; dc != nil && dc.MaximumPercent != nil {
				maxP = *dc.MaximumPercent
			}
			o.services[aws.ToString(s.ServiceName)] = serviceState{status: aws.ToString(s.Status), desired: s.DesiredCount, maxPercent: maxP}
		}
	}
	return o, nil
}

func arns(tasks []ecstypes.Task) []string {
	var out []string
	for _, task := range tasks {
		out = append(out, aws.ToString(task.TaskArn))
	}
	return out
}

func batches(arns []string, n int) [][]string {
	var out [][]string
	for start := 0; start < len(arns); start += n {
		out = append(out, arns[start:min(start+n, len(arns))])
	}
	return out
}

func resource(rs []ecstypes.Resource, name string) int32 {
	for _, r := range rs {
		if aws.ToString(r.Name) == name {
			return r.IntegerValue
		}
	}
	return 0
}

func atoi(s string) int32 {
	n, _ := strconv.Atoi(s)
	return int32(n)
}

// check waits up to within for the cluster to settle (every service at its
// desired count, no task between states), stops the sampler, and reports
// every violation of the invariants in the history as a test error.
func (h *history) check(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	upTo := 0 // the states checked: up to the first steady pair
	for {
		h.mu.Lock()
		var last *observed
		if n := len(h.states); n > 0 {
			last = &h.states[n-1]
		}
		isSteady := steady(h.states)
		// The last state is observed lag after the last call at least, so
		// that it is checked for every acknowledged write.
		var lastCall time.Time
		for _, c := range h.calls {
			if c.at.After(lastCall) {
				lastCall = c.at
			}
		}
		h.mu.Unlock()
		if last != nil && isSteady && last.at.After(lastCall.Add(h.limits.lag)) {
			h.mu.Lock()
			upTo = len(h.states)
			h.mu.Unlock()
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	h.stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	if upTo > 0 {
		h.states = h.states[:upTo] // the last one checked is the steady one
	}
	if len(h.states) == 0 {
		t.Fatalf("history of cluster %s: no state was observed (%d observations failed)", h.cluster, h.failed)
	}
	for _, v := range h.violations() {
		t.Error(v)
	}
	t.Log(h.summary())
}

// steady says whether the last two states are settled and alike. An
// observation reads instances, then tasks, then services, so one taken while
// a task stopped can show the task STOPPED and its instance still holding its
// reservation; two alike in a row saw nothing move in between.
func steady(states []observed) bool {
	n := len(states)
	if n < 2 {
		return false
	}
	a, b := states[n-2], states[n-1]
	return settled(a) && settled(b) && maps.Equal(a.instances, b.instances) &&
		maps.Equal(a.tasks, b.tasks) && maps.Equal(a.services, b.services)
}

// settled says whether nothing is in motion: every ACTIVE service runs its
// desired count, and every task is RUNNING as desired or STOPPED.
func settled(o observed) bool {
	for name, s := range o.services {
		if s.status == "ACTIVE" && len(runningTasks(o, name)) != int(s.desired) {
			return false
		}
	}
	for _, t := range o.tasks {
		if t.last != "STOPPED" && (t.last != "RUNNING" || t.desired != "RUNNING") {
			return false
		}
	}
	return true
}

// disconnected lists the instances observed with their agent disconnected.
func (h *history) disconnected() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	for _, o := range h.states {
		for arn, in := range o.instances {
			if !in.connected {
				seen[arn] = true
			}
		}
	}
	return sortedKeys(seen)
}

func (h *history) summary() string {
	ops := map[string]int{}
	acked := 0
	for _, c := range h.calls {
		if c.acked {
			ops[c.op]++
			acked++
		}
	}
	servers := map[string]int{}
	for _, o := range h.states {
		servers[o.server]++
	}
	first, last := h.states[0], h.states[len(h.states)-1]
	var parts []string
	for _, op := range []string{"RunTask", "StopTask", "CreateService", "UpdateService"} {
		if ops[op] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", ops[op], op))
		}
	}
	return fmt.Sprintf("history of cluster %s: %d acknowledged calls (%s), %d states observed over %v through %d servers (%d observations no server answered), last with %d tasks on %d instances; checked: no acknowledged write lost, each clientToken call run at most once, no instance over its registered memory or CPU, no service above maximumPercent for longer than %v, every service at its desired count at the end",
		h.cluster, acked, strings.Join(parts, ", "), len(h.states), last.at.Sub(first.at).Round(time.Second), len(servers), h.failed,
		len(last.tasks), len(last.instances), h.limits.grace)
}
