// Package agent is Wharf's container agent: it registers a container instance,
// long-polls the control plane for the tasks assigned to it, runs them through
// a container runtime (a goroutine per task while it has something to do), and
// reports every change. Its own memory is a cache: after a restart it
// re-registers the same instance and re-adopts its containers by label.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

const ecsTarget = "AmazonEC2ContainerServiceV20141113."

// Version is the agent version reported in versionInfo.
var Version = "1.0.0"

// Config configures an agent.
type Config struct {
	// Endpoint is the control plane URL, or the URLs of replicated servers
	// separated by commas: the agent fails over between them.
	Endpoint string
	Cluster  string // default "default"
	// DataDir keeps the instance ARN across restarts, so a restarted agent
	// is the same container instance. Empty: a new instance each start.
	DataDir      string
	Attributes   map[string]string
	CPU          int64 // CPU units; 0: 1024 per core
	MemoryMiB    int64 // 0: the host's memory less ReservedMemoryMiB
	ReservedMiB  int64 // memory kept for the host when MemoryMiB is 0
	Zone         string
	InstanceType string
	// ReservedPorts are host ports beyond the ECS agent's defaults that no
	// task may take (the control plane's own port, for example).
	ReservedPorts []int
	Runtime       runtime.Runtime
	// Credentials sign requests with SigV4 when set; Region goes in the scope.
	Credentials aws.CredentialsProvider
	// PrepullImages has the agent pull the images of its cluster's active
	// services ahead of their tasks (beyond ECS).
	PrepullImages bool
	// JoinToken registers the instance when it has no credential of its own
	// yet: the server answers with one bound to this instance, kept in
	// DataDir and used for everything after.
	JoinToken  string
	Region     string
	HTTPClient *http.Client
	Log        *slog.Logger

	PollWait           time.Duration // long-poll wait; default 20s
	ResyncInterval     time.Duration // how often each task re-reads the runtime; default 5s
	ContainerRetention time.Duration // how long stopped containers are kept; default 1h
	// StatsInterval is how often the containers' CPU and memory are sampled
	// (default 10s; negative: never); StatsReportInterval how often the
	// samples are sent (default 20s). See stats.go.
	StatsInterval, StatsReportInterval time.Duration
}

// Agent is a running container agent.
type Agent struct {
	cfg Config
	c   *client
	rt  runtime.Runtime
	log *slog.Logger

	mu          sync.Mutex
	instanceArn string
	runners     map[string]*runner
	// taskDefs shares task definitions among the runners: a revision never
	// changes, and an instance runs a hundred tasks of a few.
	taskDefs map[string]*model.TaskDefinition
	logs     *logShipper     // ships awslogs containers' output (logs.go)
	pre      *prepuller      // nil unless Config.PrepullImages
	ctx      context.Context // Run's: the runners step until it ends
}

// New checks the configuration and detects the host's resources.
func New(cfg Config) (*Agent, error) {
	eps, err := parseEndpoints(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Runtime == nil {
		return nil, errors.New("a container runtime is required")
	}
	if cfg.Cluster == "" {
		cfg.Cluster = "default"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.CPU <= 0 {
		cfg.CPU = int64(goruntime.NumCPU()) * 1024
	}
	if cfg.MemoryMiB <= 0 {
		total, err := hostMemoryMiB()
		if err != nil {
			return nil, fmt.Errorf("detect host memory (set --memory): %w", err)
		}
		if cfg.ReservedMiB <= 0 {
			cfg.ReservedMiB = 256
		}
		cfg.MemoryMiB = total - cfg.ReservedMiB
	}
	if cfg.Zone == "" {
		cfg.Zone = "local"
	}
	if cfg.InstanceType == "" {
		cfg.InstanceType = "wharf.host"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 90 * time.Second}
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = 20 * time.Second
	}
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = 5 * time.Second
	}
	if cfg.ContainerRetention <= 0 {
		cfg.ContainerRetention = time.Hour
	}
	a := &Agent{
		cfg: cfg, rt: cfg.Runtime, log: cfg.Log,
		c: &client{eps: eps, http: cfg.HTTPClient, creds: cfg.Credentials,
			region: cfg.Region, signer: v4.NewSigner()},
		runners: map[string]*runner{},
	}
	a.logs = newLogShipper(a)
	return a, nil
}

// InstanceArn is the container instance this agent registered as.
func (a *Agent) InstanceArn() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.instanceArn
}

// Run registers the instance and serves it until ctx ends. Containers keep
// running when the agent stops; the next agent on this host adopts them.
func (a *Agent) Run(ctx context.Context) error {
	// The agent's own cancel scope: every request's deadline registers with
	// its parent context, and agents that share one (the simulator runs ten
	// thousand) would all queue on that parent's lock.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.ctx = ctx
	if err := a.register(ctx); err != nil {
		return err
	}
	a.log.Info("container instance registered", "cluster", a.cfg.Cluster, "instance", a.InstanceArn(),
		"cpu", a.cfg.CPU, "memory_mib", a.cfg.MemoryMiB)
	go a.watchRuntime(ctx)
	go a.resync(ctx)
	a.logs.start(ctx)
	defer a.logs.stop()
	if a.cfg.PrepullImages {
		a.pre = newPrepuller(a)
		go a.pre.run(ctx)
	}
	go a.runStats(ctx)
	return a.pollLoop(ctx)
}

// retryBackoff waits before the next attempt at something failing; it
// returns false when ctx ended.
func retryBackoff(ctx context.Context, attempt int) bool {
	d := time.Duration(1<<min(attempt, 4)) * 500 * time.Millisecond // 0.5s … 8s
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

type savedInstance struct {
	Cluster              string `json:"cluster"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
	// The credential issued when the instance joined with a token.
	AccessKeyID     string `json:"accessKeyId,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
}

func (a *Agent) statePath() string { return filepath.Join(a.cfg.DataDir, "instance.json") }

func (a *Agent) loadSaved() savedInstance {
	var s savedInstance
	if a.cfg.DataDir == "" {
		return s
	}
	b, err := os.ReadFile(a.statePath())
	if err == nil {
		_ = json.Unmarshal(b, &s)
	}
	if s.Cluster != a.cfg.Cluster {
		return savedInstance{}
	}
	return s
}

func (a *Agent) save(s savedInstance) error {
	if a.cfg.DataDir == "" {
		return nil
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(s)
	tmp := a.statePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.statePath())
}

// register creates the cluster if needed (as the ECS agent does for
// "default") and registers, or re-registers, the container instance. It
// retries while the control plane is unreachable.
func (a *Agent) register(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := a.registerOnce(ctx)
		if err == nil {
			return nil
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < 500 && ae.Code != "ThrottlingException" {
			return fmt.Errorf("register container instance in cluster %s: %w", a.cfg.Cluster, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.Warn("control plane unreachable; retrying registration", "endpoint", a.cfg.Endpoint, "err", err)
		if !retryBackoff(ctx, attempt) {
			return ctx.Err()
		}
	}
}

func (a *Agent) registerOnce(ctx context.Context) error {
	saved := a.loadSaved()
	if a.cfg.JoinToken != "" {
		return a.joinOrReregister(ctx, saved)
	}
	req := model.RegisterContainerInstanceRequest{
		Cluster:              a.cfg.Cluster,
		TotalResources:       totalResources(&a.cfg),
		Attributes:           instanceAttributes(&a.cfg),
		VersionInfo:          &model.VersionInfo{AgentVersion: Version, AgentHash: "wharf"},
		ContainerInstanceArn: saved.ContainerInstanceArn,
	}
	var out model.RegisterContainerInstanceResponse
	err := a.c.call(ctx, ecsTarget+"RegisterContainerInstance", req, &out)
	if errorCode(err) == "ClusterNotFoundException" {
		// As the ECS agent does: the cluster is created only when missing,
		// so that registering many instances does not ask for it each time.
		a.log.Info("cluster not found; creating it", "cluster", a.cfg.Cluster)
		if err := a.c.call(ctx, ecsTarget+"CreateCluster", model.CreateClusterRequest{ClusterName: a.cfg.Cluster}, nil); err != nil {
			return err
		}
		err = a.c.call(ctx, ecsTarget+"RegisterContainerInstance", req, &out)
	}
	if err != nil && saved.ContainerInstanceArn != "" && errorCode(err) != "" && errorCode(err) != "ClusterNotFoundException" {
		// The saved instance is gone (deregistered); become a new one.
		a.log.Warn("could not re-register the saved container instance; registering a new one", "instance", saved.ContainerInstanceArn, "err", err)
		req.ContainerInstanceArn = ""
		err = a.c.call(ctx, ecsTarget+"RegisterContainerInstance", req, &out)
	}
	if err != nil {
		return err
	}
	if out.ContainerInstance == nil || out.ContainerInstance.ContainerInstanceArn == "" {
		return errors.New("RegisterContainerInstance answered without a container instance")
	}
	arn := out.ContainerInstance.ContainerInstanceArn
	a.mu.Lock()
	a.instanceArn = arn
	a.mu.Unlock()
	return a.save(savedInstance{Cluster: a.cfg.Cluster, ContainerInstanceArn: arn})
}

// pollLoop long-polls for the instance's tasks and reconciles each answer.
func (a *Agent) pollLoop(ctx context.Context) error {
	var since int64
	failures := 0
	swept := false
	for ctx.Err() == nil {
		var out agentproto.PollTasksResponse
		err := a.c.call(ctx, agentproto.TargetPrefix+"."+agentproto.PollTasks, agentproto.PollTasksRequest{
			Cluster:              a.cfg.Cluster,
			ContainerInstanceArn: a.InstanceArn(),
			SinceRevision:        since,
			WaitSeconds:          int32(a.cfg.PollWait / time.Second),
			WantServiceImages:    a.cfg.PrepullImages,
			Deltas:               true,
			KeepUnlisted:         true,
		}, &out)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if ae := (*APIError)(nil); errors.As(err, &ae) {
				switch ae.Code {
				case "ClientException":
					return fmt.Errorf("the control plane refused this instance: %w", err)
				case "UnrecognizedClientException", "AccessDeniedException":
					return fmt.Errorf("the control plane refused this agent's credential (was the instance deregistered? restart the agent with a join token to register anew): %w", err)
				}
			}
			failures++
			a.log.Warn("poll failed; retrying", "endpoint", a.cfg.Endpoint, "attempt", failures, "err", err)
			retryBackoff(ctx, failures)
			continue
		}
		if failures > 0 {
			a.log.Info("control plane reachable again")
			failures = 0
		}
		since = out.Revision
		a.reconcile(&out)
		if a.pre != nil {
			a.pre.set(out.ServiceImages)
		}
		if !swept {
			a.sweep(ctx)
			swept = true
		}
	}
	return nil
}

// reconcile hands each task of a poll's answer to its runner, starting
// runners for new ones, and tells runners of tasks the server no longer
// lists to stop. A delta answer lists all the tasks in TaskArns and sends
// only the changed ones.
func (a *Agent) reconcile(out *agentproto.PollTasksResponse) {
	a.mu.Lock()
	defer a.mu.Unlock()
	listed := make(map[string]bool, len(out.Tasks)+len(out.TaskArns))
	for _, arn := range out.TaskArns {
		listed[arn] = true
	}
	if out.Delta && out.Kept {
		// No task left the set: every runner stays, and the changed
		// tasks join it.
		for arn := range a.runners {
			listed[arn] = true
		}
		for _, t := range out.Tasks {
			listed[t.Task.TaskArn] = true
		}
	}
	if a.taskDefs == nil || len(a.taskDefs) > 256 {
		a.taskDefs = map[string]*model.TaskDefinition{}
	}
	for i := range out.Tasks {
		td := out.Tasks[i].TaskDefinition
		if td == nil {
			continue
		}
		if have := a.taskDefs[td.TaskDefinitionArn]; have != nil && td.TaskDefinitionArn != "" {
			out.Tasks[i].TaskDefinition = have
		} else {
			a.taskDefs[td.TaskDefinitionArn] = td
		}
	}
	for _, t := range out.Tasks {
		if out.Delta && !listed[t.Task.TaskArn] {
			continue // changed, but no longer the instance's to run
		}
		listed[t.Task.TaskArn] = true
		if t.TaskDefinition == nil {
			a.log.Warn("the control plane sent a task without its task definition; ignoring this view of it", "task", t.Task.TaskArn)
			continue
		}
		if r := a.runners[t.Task.TaskArn]; r != nil {
			r.update(t)
			continue
		}
		r := newRunner(a, t)
		a.runners[r.arn] = r
		r.poke()
	}
	for arn, r := range a.runners {
		if !listed[arn] {
			r.forget()
		}
	}
}

func (a *Agent) removeRunner(arn string) {
	a.mu.Lock()
	delete(a.runners, arn)
	a.mu.Unlock()
}

// sweep stops containers of this instance that belong to no task the server
// assigns (left from tasks stopped while the agent was away), and removes
// the ones past retention.
func (a *Agent) sweep(ctx context.Context) {
	states, err := a.rt.List(ctx, map[string]string{labelInstance: a.InstanceArn()})
	if err != nil {
		a.log.Warn("list containers for sweep", "err", err)
		return
	}
	a.mu.Lock()
	owned := map[string]bool{}
	for arn := range a.runners {
		owned[arn] = true
	}
	a.mu.Unlock()
	for _, st := range states {
		if owned[st.Labels[labelTaskArn]] {
			continue
		}
		if st.Running() {
			a.log.Info("stopping container of a task this instance no longer runs", "container", st.Name, "task", st.Labels[labelTaskArn])
			if err := a.rt.Stop(ctx, st.ID, defaultStopTimeout); err != nil {
				a.log.Warn("stop orphan container", "container", st.Name, "err", err)
			}
			continue
		}
		if !st.FinishedAt.IsZero() && time.Since(st.FinishedAt) > a.cfg.ContainerRetention {
			_ = a.rt.Remove(ctx, st.ID)
		}
	}
}

// watchRuntime wakes the task runners on container events, so exits and
// health changes are reported at once rather than at the next resync.
func (a *Agent) watchRuntime(ctx context.Context) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		since := time.Now()
		err := a.rt.Watch(ctx, since, map[string]string{labelInstance: a.InstanceArn()}, func(ev runtime.Event) {
			a.wakeFor(ev)
		})
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("container runtime event stream ended; retrying", "err", err)
		a.wakeAll()
		retryBackoff(ctx, min(attempt, 2))
	}
}

// wakeFor wakes the runner of the task whose container an event is about,
// known by the container's name (containerName); every runner when the name
// does not tell. Waking all of them on every event made each start on an
// instance running a hundred tasks cost a hundred re-reads.
func (a *Agent) wakeFor(ev runtime.Event) {
	id, ok := containerTaskID(ev.Name)
	if !ok {
		a.wakeAll()
		return
	}
	a.mu.Lock()
	var r *runner
	for arn, each := range a.runners {
		if taskID(arn) == id {
			r = each
			break
		}
	}
	a.mu.Unlock()
	if r == nil {
		a.wakeAll()
		return
	}
	r.poke()
}

// resync pokes each runner whose latest round is ResyncInterval old, so that
// what no event tells of (a dependency's start timeout, a missed event, a
// report to retry) is seen at least that often. It looks several times an
// interval, so the rounds stay spread over it as the tasks came rather than
// all falling on one tick.
func (a *Agent) resync(ctx context.Context) {
	every := a.cfg.ResyncInterval
	look := min(every, max(every/8, 10*time.Millisecond))
	tick := time.NewTicker(look)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		a.mu.Lock()
		for _, r := range a.runners {
			// Due one look early: the next look would be late.
			r.resyncDue(now, every-look)
		}
		a.mu.Unlock()
	}
}

func (a *Agent) wakeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.runners {
		r.poke()
	}
}

// submit reports a task's state to the control plane.
func (a *Agent) submit(ctx context.Context, rep *taskReport) error {
	return a.c.call(ctx, ecsTarget+"SubmitTaskStateChange", rep, nil)
}

func (a *Agent) registration(arn string) model.RegisterContainerInstanceRequest {
	return model.RegisterContainerInstanceRequest{
		Cluster:              a.cfg.Cluster,
		TotalResources:       totalResources(&a.cfg),
		Attributes:           instanceAttributes(&a.cfg),
		VersionInfo:          &model.VersionInfo{AgentVersion: Version, AgentHash: "wharf"},
		ContainerInstanceArn: arn,
	}
}

// joinOrReregister registers with the instance's own credential when it has
// one, and joins with the token otherwise, or when the server no longer knows
// the credential (the instance was deregistered).
func (a *Agent) joinOrReregister(ctx context.Context, saved savedInstance) error {
	if saved.AccessKeyID != "" && saved.ContainerInstanceArn != "" {
		a.c.setCredentials(credentials.NewStaticCredentialsProvider(saved.AccessKeyID, saved.SecretAccessKey, ""))
		var out model.RegisterContainerInstanceResponse
		err := a.c.call(ctx, ecsTarget+"RegisterContainerInstance", a.registration(saved.ContainerInstanceArn), &out)
		if err == nil && out.ContainerInstance != nil {
			a.mu.Lock()
			a.instanceArn = out.ContainerInstance.ContainerInstanceArn
			a.mu.Unlock()
			return nil
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status >= 500 || ae.Code == "ThrottlingException" {
			return err // unreachable or busy: try again later with the same identity
		}
		a.log.Warn("the saved instance credential was refused; joining the cluster again as a new instance", "instance", saved.ContainerInstanceArn, "err", err)
	}
	a.c.setCredentials(nil)
	var out agentproto.JoinClusterResponse
	err := a.c.call(ctx, agentproto.AdminTargetPrefix+"."+agentproto.JoinCluster,
		agentproto.JoinClusterRequest{JoinToken: a.cfg.JoinToken, Registration: a.registration("")}, &out)
	if err != nil {
		return err
	}
	if out.ContainerInstance == nil || out.AccessKeyID == "" {
		return errors.New("JoinCluster answered without an instance or a credential")
	}
	arn := out.ContainerInstance.ContainerInstanceArn
	a.c.setCredentials(credentials.NewStaticCredentialsProvider(out.AccessKeyID, out.SecretAccessKey, ""))
	a.mu.Lock()
	a.instanceArn = arn
	a.mu.Unlock()
	return a.save(savedInstance{Cluster: a.cfg.Cluster, ContainerInstanceArn: arn,
		AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey})
}
