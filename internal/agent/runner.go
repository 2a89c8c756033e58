package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Task and container statuses the agent reports.
const (
	statusPending  = "PENDING"
	statusRunning  = "RUNNING"
	statusStopping = "STOPPING"
	statusStopped  = "STOPPED"
)

// secretsFailure begins the stopped reason of a task whose secrets could not
// be had, as ECS words it.
const secretsFailure = "ResourceInitializationError: unable to pull secrets or registry auth: "

// defaultStartTimeout bounds how long a container waits for its dependencies
// (ECS_CONTAINER_START_TIMEOUT's default on Linux).
const defaultStartTimeout = 3 * time.Minute

// runner drives one task. A goroutine steps it while there is something to
// do (poke starts one; it ends when no round is asked for), so a steady task
// costs no goroutine; only one steps a runner at a time, and it is the only
// writer of the task's local state. The agent hands the runner the server's
// latest view through update and pokes it on runtime events and at each
// resync (Agent.resync). Every step re-reads the runtime, so missed events
// and restarts cost nothing but a little latency.
type runner struct {
	a   *Agent
	arn string

	mu      sync.Mutex
	latest  agentproto.AgentTask // the server's view of the task
	forgot  bool                 // the server no longer lists the task
	pending bool                 // a round is asked for
	active  bool                 // a goroutine steps the runner
	done    bool                 // stopped and acknowledged: only retention is left
	last    time.Time            // when the latest round began

	// Owned by the goroutine stepping the runner, handed over under mu.
	adopted    bool // the task's existing containers were looked for
	ctrs       []*ctr
	status     string
	stopCode   model.TaskStopCode
	stopReason string
	stoppedAt  time.Time
	acked      *taskReport          // the last report the server acknowledged
	waitingErr string               // last runtime trouble logged, to log it once
	restarted  map[string]int       // RestartContainer requests carried out, by container
	net        *runtime.TaskNetwork // an awsvpc task's namespace (awsvpc.go)
	execs      map[string]bool      // exec sessions served (exec.go)
}

// ctr is one container of the task as the runner last saw it.
type ctr struct {
	def       *model.ContainerDefinition // in the task definition, shared: read only
	id        string
	st        runtime.ContainerState
	started   bool // it has run at some point
	status    string
	exitCode  *int32
	reason    string
	waitSince time.Time // when it began waiting for its dependencies
}

func (c *ctr) essential() bool { return c.def.Essential == nil || *c.def.Essential }

func newRunner(a *Agent, t agentproto.AgentTask) *runner {
	r := &runner{
		a: a, arn: t.Task.TaskArn, latest: t,
		status: statusPending,
		// Requests made before this runner existed are history: only a
		// count that grows from here restarts a container.
		restarted: maps.Clone(t.Restarts),
	}
	defs := t.TaskDefinition.ContainerDefinitions
	ctrs := make([]ctr, len(defs)) // one allocation for all of them
	r.ctrs = make([]*ctr, len(defs))
	for i := range defs {
		cd := &defs[i]
		ctrs[i] = ctr{def: cd, status: statusPending}
		// A container the server already knew as created, which the runtime
		// no longer has, was removed behind our back: never make it again.
		ctrs[i].started = slices.ContainsFunc(t.Task.Containers, func(c model.Container) bool {
			return c.Name == cd.Name && (c.RuntimeId != "" || c.LastStatus == statusRunning || c.LastStatus == statusStopped)
		})
		r.ctrs[i] = &ctrs[i]
	}
	return r
}

// logger is the runner's logger, made when something is logged rather than
// kept: a handler per task costs more than the rare line.
func (r *runner) logger() *slog.Logger { return r.a.log.With("task", r.arn) }

// update hands the runner the server's latest view and wakes it.
func (r *runner) update(t agentproto.AgentTask) {
	r.mu.Lock()
	r.latest = t
	r.mu.Unlock()
	r.poke()
}

// forget tells the runner the server no longer lists the task: whatever runs
// must stop.
func (r *runner) forget() {
	r.mu.Lock()
	r.forgot = true
	r.mu.Unlock()
	r.poke()
}

// poke asks the runner for a round. Once the task is done, or the agent's
// context has ended, it does nothing.
func (r *runner) poke() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ask()
}

// resyncDue pokes the runner unless a round is under way or began within
// fresh of now.
func (r *runner) resyncDue(now time.Time, fresh time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.active && now.Sub(r.last) >= fresh {
		r.ask()
	}
}

// ask is poke with r.mu held: it starts a goroutine to step the runner
// unless one already does.
func (r *runner) ask() {
	if r.done {
		return
	}
	r.pending = true
	if r.active || r.a.ctx.Err() != nil {
		return
	}
	r.active = true
	go r.drain()
}

func (r *runner) view() (agentproto.AgentTask, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest, r.forgot
}

// drain steps the runner while rounds are asked for, the first one after
// looking for the task's existing containers, and returns when none is.
// Once the task is stopped and acknowledged it hands it to retire.
func (r *runner) drain() {
	ctx := r.a.ctx
	for {
		r.mu.Lock()
		if !r.pending || ctx.Err() != nil {
			r.active = false
			r.mu.Unlock()
			return
		}
		r.pending, r.last = false, time.Now()
		r.mu.Unlock()
		if !r.adopted {
			r.adopt(ctx)
			r.adopted = true
		}
		if r.step(ctx) {
			r.retire(ctx)
			return
		}
	}
}

// retire keeps the stopped task's containers for the retention time, with no
// goroutine waiting, then removes them and the runner. Pokes meanwhile do
// nothing. When the agent stops first, the containers stay for the next
// agent's sweep.
func (r *runner) retire(ctx context.Context) {
	r.logger().Info("task stopped", "stop_code", r.stopCode, "reason", r.stopReason)
	r.mu.Lock()
	r.done, r.active = true, false
	r.mu.Unlock()
	time.AfterFunc(r.a.cfg.ContainerRetention, func() {
		if ctx.Err() != nil {
			return
		}
		for _, c := range r.ctrs {
			if c.id == "" {
				continue
			}
			if err := r.a.rt.Remove(ctx, c.id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				r.logger().Warn("remove stopped container", "container", c.def.Name, "err", err)
			}
		}
		r.a.removeRunner(r.arn)
	})
}

// adopt finds the task's containers that already exist (after an agent
// restart, or a create whose answer was lost).
func (r *runner) adopt(ctx context.Context) {
	states, err := r.a.rt.List(ctx, map[string]string{labelTaskArn: r.arn})
	if err != nil {
		r.logger().Warn("list task containers", "err", err)
		return
	}
	for _, st := range states {
		for _, c := range r.ctrs {
			if st.Labels[labelContainerName] == c.def.Name && c.id == "" {
				c.id, c.st = st.ID, st
				c.st.Labels = nil
			}
		}
	}
}

// step moves the task one level-triggered round towards what is wanted and
// reports any change. It returns true once the task is STOPPED and the server
// has acknowledged it.
func (r *runner) step(ctx context.Context) bool {
	latest, forgot := r.view()
	if r.status == statusRunning && !forgot && latest.Task.DesiredStatus != statusStopped {
		r.restartAsked(ctx, &latest)
		r.execAsked(ctx, &latest)
	}
	if !r.refresh(ctx) {
		return false
	}
	wantStop := forgot || latest.Task.DesiredStatus == statusStopped
	if r.status == statusPending || r.status == statusRunning {
		switch {
		case wantStop:
			code := latest.Task.StopCode
			if code == "" {
				code = model.TaskStopCodeUserInitiated
			}
			reason := latest.Task.StoppedReason
			if reason == "" {
				reason = "Task stopped by the control plane"
			}
			r.beginStop(code, reason)
		case r.essentialExited() != nil:
			c := r.essentialExited()
			r.beginStop(model.TaskStopCodeEssentialContainerExited, "Essential container in task exited")
			r.logger().Info("essential container exited", "container", c.def.Name, "exit_code", model.Val(c.exitCode))
		default:
			r.startReady(ctx, &latest)
		}
	}
	if r.status == statusStopping {
		r.stopAll(ctx)
		if !r.anyRunning() {
			r.status = statusStopped
			r.stoppedAt = time.Now()
			r.releaseTaskNetwork(ctx, &latest)
		}
	}
	if r.status == statusPending && r.allUp() {
		r.status = statusRunning
	}
	rep := r.report(&latest)
	if r.acked == nil || !rep.Equal(r.acked) {
		if err := r.a.submit(ctx, rep); err != nil {
			r.logger().Warn("report task state; will retry", "status", rep.Status, "err", err)
			return false
		}
		r.acked = rep
	}
	return r.status == statusStopped
}

// refresh re-reads every known container from the runtime. It returns false
// when the runtime cannot be reached: nothing is decided on stale state.
func (r *runner) refresh(ctx context.Context) bool {
	for _, c := range r.ctrs {
		if c.id == "" {
			if c.started && c.status != statusStopped {
				c.status, c.reason = statusStopped, "The container was removed from the host while the agent was away"
			}
			continue
		}
		st, err := r.a.rt.Inspect(ctx, c.id)
		switch {
		case errors.Is(err, runtime.ErrNotFound):
			if c.status != statusStopped {
				c.status, c.reason = statusStopped, "The container was removed from the host outside the agent"
			}
			continue
		case err != nil:
			r.runtimeTrouble(err)
			return false
		}
		// The labels are this agent's own, and read only to find the
		// container: no need to keep them per task (a runtime may hand
		// out a fresh copy each time).
		st.Labels = nil
		c.st = st
		switch {
		case st.Running():
			c.started, c.status = true, statusRunning
		case st.Status == runtime.StatusExited || st.Status == runtime.StatusDead:
			if !st.StartedAt.IsZero() || c.started {
				c.started = true
				c.status = statusStopped
				c.exitCode = model.Ptr(int32(st.ExitCode))
				if st.OOMKilled {
					c.reason = "OutOfMemoryError: Container killed due to memory usage"
				} else if st.Error != "" {
					c.reason = st.Error
				}
			}
		}
	}
	r.waitingErr = ""
	return true
}

func (r *runner) runtimeTrouble(err error) {
	if msg := err.Error(); msg != r.waitingErr {
		r.waitingErr = msg
		r.logger().Warn("container runtime unavailable; will retry", "err", err)
	}
}

func (r *runner) essentialExited() *ctr {
	for _, c := range r.ctrs {
		if c.essential() && c.status == statusStopped {
			return c
		}
	}
	return nil
}

func (r *runner) anyRunning() bool {
	return slices.ContainsFunc(r.ctrs, func(c *ctr) bool { return c.status == statusRunning })
}

// allUp reports whether the task counts as RUNNING: every container has been
// started, and the essential ones still run.
func (r *runner) allUp() bool {
	for _, c := range r.ctrs {
		if !c.started || c.essential() && c.status != statusRunning {
			return false
		}
	}
	return true
}

func (r *runner) beginStop(code model.TaskStopCode, reason string) {
	r.status, r.stopCode, r.stopReason = statusStopping, code, reason
}

func (r *runner) fail(reason string) {
	r.logger().Warn("task failed to start", "reason", reason)
	r.beginStop(model.TaskStopCodeTaskFailedToStart, reason)
}

// stopAll stops every running container, each with its own grace period,
// all at once so that the task stops within the longest stopTimeout.
func (r *runner) stopAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range r.ctrs {
		if c.id == "" || c.status != statusRunning {
			continue
		}
		wg.Add(1)
		go func(c *ctr) {
			defer wg.Done()
			if err := r.a.rt.Stop(ctx, c.id, r.stopGrace(c.def)); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				r.logger().Warn("stop container", "container", c.def.Name, "err", err)
			}
		}(c)
	}
	wg.Wait()
	r.refresh(ctx)
}

// startReady creates and starts, in definition order, each container whose
// dependencies are met.
func (r *runner) startReady(ctx context.Context, latest *agentproto.AgentTask) {
	if latest.SecretsError != "" && slices.ContainsFunc(r.ctrs, func(c *ctr) bool { return c.id == "" && !c.started }) {
		// A container still to be made needs what the server could not
		// resolve: the task stops before any container is created.
		r.fail(secretsFailure + latest.SecretsError)
		return
	}
	if !r.taskNetworkReady(ctx, latest) {
		return
	}
	for _, c := range r.ctrs {
		if c.started || c.status == statusStopped {
			continue
		}
		if c.waitSince.IsZero() {
			c.waitSince = time.Now()
		}
		ready, why := r.depsMet(c)
		if why != "" {
			r.fail(why)
			return
		}
		if !ready {
			timeout := defaultStartTimeout
			if c.def.StartTimeout != nil && *c.def.StartTimeout > 0 {
				timeout = time.Duration(*c.def.StartTimeout) * time.Second
			}
			if time.Since(c.waitSince) > timeout {
				r.fail(fmt.Sprintf("DependencyTimeoutError: container %s waited %s for its dependencies", c.def.Name, timeout))
				return
			}
			continue
		}
		if err := r.startOne(ctx, c, latest); err != nil {
			if errors.Is(err, runtime.ErrUnavailable) {
				r.runtimeTrouble(err)
				return
			}
			r.fail(err.Error())
			return
		}
		// A freshly started container may satisfy the next one's START
		// dependency at once; refresh so the loop sees it.
		if !r.refresh(ctx) {
			return
		}
	}
}

// depsMet tells whether c may start; a non-empty reason means it never will.
func (r *runner) depsMet(c *ctr) (bool, string) {
	for _, d := range c.def.DependsOn {
		dep := r.find(d.ContainerName)
		if dep == nil {
			return false, fmt.Sprintf("container %s depends on %s, which is not in the task", c.def.Name, d.ContainerName)
		}
		switch d.Condition {
		case model.ContainerConditionStart:
			if !dep.started {
				return false, ""
			}
		case model.ContainerConditionComplete:
			if dep.status != statusStopped {
				return false, ""
			}
		case model.ContainerConditionSuccess:
			if dep.status != statusStopped {
				return false, ""
			}
			if model.Val(dep.exitCode) != 0 {
				return false, fmt.Sprintf("DependencyConditionError: container %s needs %s to succeed, but it exited with code %d", c.def.Name, dep.def.Name, model.Val(dep.exitCode))
			}
		case model.ContainerConditionHealthy:
			if dep.status == statusStopped {
				return false, fmt.Sprintf("DependencyConditionError: container %s needs %s to be healthy, but it stopped", c.def.Name, dep.def.Name)
			}
			if dep.st.Health != runtime.HealthHealthy {
				return false, ""
			}
		}
	}
	return true, ""
}

func (r *runner) find(name string) *ctr {
	for _, c := range r.ctrs {
		if c.def.Name == name {
			return c
		}
	}
	return nil
}

// startOne makes sure the image is there, creates the container (or finds the
// one a previous attempt made) and starts it.
func (r *runner) startOne(ctx context.Context, c *ctr, latest *agentproto.AgentTask) error {
	if c.id == "" {
		spec, err := buildSpec(&latest.Task, latest.TaskDefinition, c.def, r.a.InstanceArn())
		if err != nil {
			return fmt.Errorf("CannotCreateContainerError: %v", err)
		}
		if err := addSecrets(&spec, latest, c.def); err != nil {
			return errors.New(secretsFailure + err.Error())
		}
		r.joinTaskNetwork(&spec)
		if err := r.ensureImage(ctx, spec.Image); err != nil {
			return err
		}
		id, err := r.a.rt.Create(ctx, spec)
		if errors.Is(err, runtime.ErrNameInUse) {
			r.adopt(ctx)
			if c.id == "" {
				return fmt.Errorf("CannotCreateContainerError: a container named %s exists but carries no label of this task", spec.Name)
			}
		} else if err != nil {
			if errors.Is(err, runtime.ErrUnavailable) {
				return err
			}
			if errors.Is(err, runtime.ErrImageNotFound) {
				return fmt.Errorf("CannotPullContainerError: %v", err)
			}
			return fmt.Errorf("CannotCreateContainerError: %v", err)
		} else {
			c.id = id
		}
	}
	if err := r.a.logsReady(ctx, c.id, r.arn, c.def); err != nil {
		return err
	}
	if err := r.a.rt.Start(ctx, c.id); err != nil {
		if errors.Is(err, runtime.ErrUnavailable) {
			return err
		}
		return fmt.Errorf("CannotStartContainerError: %v", err)
	}
	c.started = true
	r.logger().Debug("container started", "container", c.def.Name, "id", c.id)
	return nil
}

func (r *runner) ensureImage(ctx context.Context, ref string) error {
	ok, err := r.a.rt.ImageExists(ctx, ref)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	r.logger().Info("pulling image", "image", ref)
	if err := r.a.rt.Pull(ctx, ref); err != nil {
		if errors.Is(err, runtime.ErrUnavailable) {
			return err
		}
		return fmt.Errorf("CannotPullContainerError: pull image %s: %v", ref, err)
	}
	return nil
}

// restartAsked restarts, in place, each container whose RestartContainer
// count grew: stop (SIGTERM, then SIGKILL after its stopTimeout) and start
// again. It runs before the step reads the runtime, so the stop is never
// taken for an essential container's exit.
func (r *runner) restartAsked(ctx context.Context, latest *agentproto.AgentTask) {
	for _, c := range r.ctrs {
		want := latest.Restarts[c.def.Name]
		if want <= r.restarted[c.def.Name] || c.id == "" {
			continue
		}
		if r.restarted == nil {
			r.restarted = map[string]int{}
		}
		r.restarted[c.def.Name] = want
		r.logger().Info("restarting a container on request", "container", c.def.Name)
		if err := r.a.rt.Stop(ctx, c.id, stopTimeout(c.def)); err != nil {
			r.logger().Warn("restart: stopping the container failed", "container", c.def.Name, "err", err)
		}
		if err := r.a.rt.Start(ctx, c.id); err != nil {
			r.logger().Warn("restart: starting the container again failed", "container", c.def.Name, "err", err)
		}
	}
}
