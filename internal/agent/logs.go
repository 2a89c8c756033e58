package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/logsapi/awslogs"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/runtime"
)

// The awslogs log driver, the Wharf way: Docker's own awslogs driver would
// call AWS, so a container whose definition asks for awslogs runs with
// json-file, carries its awslogs options in labels, and the agent ships what
// it writes to the control plane's CloudWatch Logs API: one follower per
// container reads the output through the runtime (runtime.LogReader),
// batches it and puts it with PutLogEvents, in order, into the stream
// PREFIX/CONTAINER-NAME/TASK-ID of the group the definition names.
//
// Nothing is lost or shipped twice across agent restarts: after each batch
// the follower saves, in DATA-DIR/logs/CONTAINER-ID.json, where the next one
// starts (a runtime timestamp and how many lines from it are done), and
// before each batch what it is about to send, so that a restart which finds
// a batch in flight asks the server whether it arrived.

// Labels that carry a container's awslogs configuration: the runtime alone
// tells the shipper what to ship where, also after a restart.
const (
	labelLogGroup        = "org.wharf-ecs.awslogs-group"
	labelLogStreamPrefix = "org.wharf-ecs.awslogs-stream-prefix"
	labelLogCreateGroup  = "org.wharf-ecs.awslogs-create-group"
	// labelAwslogs marks every awslogs container, so the periodic scan
	// lists those alone rather than every container of the instance.
	labelAwslogs = "org.wharf-ecs.awslogs"
)

// logScan is how often the shipper looks for containers to follow that it
// was not told of (adopted after a restart).
const logScan = 5 * time.Second

// awslogsSpec sets a container with the awslogs log driver up for the
// shipper: json-file, which the runtime can read back, and the labels.
func awslogsSpec(s *runtime.ContainerSpec, cd *model.ContainerDefinition) error {
	cfg, _, err := awslogs.Of(cd)
	if err != nil {
		return err
	}
	s.LogConfig = &runtime.LogConfig{Driver: "json-file"}
	s.Labels[labelLogGroup] = cfg.Group
	s.Labels[labelAwslogs] = "true"
	if cfg.StreamPrefix != "" {
		s.Labels[labelLogStreamPrefix] = cfg.StreamPrefix
	}
	if cfg.CreateGroup {
		s.Labels[labelLogCreateGroup] = "true"
	}
	return nil
}

// logTarget is where a container's output goes.
type logTarget struct {
	group, stream string
	createGroup   bool
}

// targetOf reads a container's target from its labels; ok is false for a
// container without awslogs.
func targetOf(id string, labels map[string]string) (logTarget, bool) {
	group := labels[labelLogGroup]
	if group == "" {
		return logTarget{}, false
	}
	cfg := awslogs.Config{Group: group, StreamPrefix: labels[labelLogStreamPrefix]}
	return logTarget{group: group, createGroup: labels[labelLogCreateGroup] == "true",
		stream: cfg.StreamName(labels[labelContainerName], awslogs.TaskID(labels[labelTaskArn]), id)}, true
}

// logShipper runs the followers of the instance's awslogs containers.
type logShipper struct {
	a          *Agent
	rd         runtime.LogReader // nil: the runtime cannot read output back
	log        *slog.Logger
	dir        string // cursor files; "": kept in memory only
	flushEvery time.Duration

	wg        sync.WaitGroup     // the followers
	cancel    context.CancelFunc // ends them
	mu        sync.Mutex
	ctx       context.Context    // the agent's, once run has begun
	following map[string]bool    // container ID → a follower runs
	drained   map[string]bool    // exited containers whose output is all shipped
	ensured   map[logTarget]bool // groups and streams known to exist
}

func newLogShipper(a *Agent) *logShipper {
	s := &logShipper{a: a, log: a.log.With("subsystem", "logs"), flushEvery: time.Second,
		following: map[string]bool{}, drained: map[string]bool{}, ensured: map[logTarget]bool{}}
	s.rd, _ = a.rt.(runtime.LogReader)
	if a.cfg.DataDir != "" {
		s.dir = filepath.Join(a.cfg.DataDir, "logs")
	}
	return s
}

// start follows the instance's awslogs containers until ctx ends.
func (s *logShipper) start(ctx context.Context) {
	if s.rd == nil {
		s.log.Warn("this container runtime cannot read container output back; awslogs containers' output will not be shipped")
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	go s.run(ctx)
}

func (s *logShipper) run(ctx context.Context) {
	tick := time.NewTicker(logScan)
	defer tick.Stop()
	// Every twelfth scan, the first included, looks at every container
	// (those an agent before labelAwslogs made carry only the group's label)
	// and forgets the cursors of containers gone; the others list the
	// marked ones only: a hundred containers listed every few seconds on
	// each of ten thousand simulated hosts was a good part of the
	// simulator's work.
	for n := 0; ; n++ {
		s.scan(ctx, n%12 == 0)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// scan follows every awslogs container of the instance that no follower
// has yet; a full scan also looks at containers without labelAwslogs and
// forgets the cursors of containers that are gone.
func (s *logShipper) scan(ctx context.Context, full bool) {
	filter := map[string]string{labelInstance: s.a.InstanceArn()}
	if !full {
		filter[labelAwslogs] = "true"
	}
	states, err := s.a.rt.List(ctx, filter)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("list containers to ship logs from; will retry", "err", err)
		}
		return
	}
	var present map[string]bool // what a full scan found, to forget the rest
	if full {
		present = make(map[string]bool, len(states))
	}
	for _, st := range states {
		if full {
			present[st.ID] = true
		}
		if t, ok := targetOf(st.ID, st.Labels); ok {
			s.follow(st.ID, t, st.Running())
		}
	}
	if full {
		s.forgetGone(present)
	}
}

// follow starts a follower for a container unless one runs, or its output
// was all shipped and it has not run since.
func (s *logShipper) follow(id string, t logTarget, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.following[id] || s.drained[id] && !running {
		return
	}
	s.following[id] = true
	delete(s.drained, id)
	f := &follower{s: s, id: id, target: t, log: s.log.With("container", id[:min(12, len(id))], "log_group", t.group, "log_stream", t.stream)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f.run(s.ctx)
	}()
}

// stop ends the followers and waits for them, so that a stopped agent
// writes no cursor any more.
func (s *logShipper) stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// stopped records that a follower ended, and whether it shipped everything.
func (s *logShipper) stopped(id string, drained bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.following, id)
	if drained {
		s.drained[id] = true
	}
}

// forgetGone deletes the cursors of containers the runtime no longer has.
func (s *logShipper) forgetGone(present map[string]bool) {
	s.mu.Lock()
	for id := range s.drained {
		if !present[id] {
			delete(s.drained, id)
		}
	}
	s.mu.Unlock()
	if s.dir == "" {
		return
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(strings.TrimSuffix(e.Name(), ".tmp"), ".json")
		if ok && !present[id] {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// logsReady runs before the runner starts a container: for an awslogs
// container it creates the log group (with awslogs-create-group) and the
// stream, so that a group that does not exist stops the task as on ECS,
// and starts following the container at once.
func (a *Agent) logsReady(ctx context.Context, id, taskArn string, cd *model.ContainerDefinition) error {
	cfg, ok, err := awslogs.Of(cd)
	if !ok || err != nil || a.logs.rd == nil {
		return err
	}
	t := logTarget{group: cfg.Group, createGroup: cfg.CreateGroup,
		stream: cfg.StreamName(cd.Name, awslogs.TaskID(taskArn), id)}
	if err := a.logs.ensure(ctx, t); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < 500 && ae.Code != "ThrottlingException" {
			return fmt.Errorf("CannotStartContainerError: failed to initialize logging driver: failed to create CloudWatch log stream: %w", err)
		}
		// The control plane is unreachable: try again, as when the
		// runtime is.
		return fmt.Errorf("create log stream %s: %w: %w", t.stream, runtime.ErrUnavailable, err)
	}
	a.logs.follow(id, t, true)
	return nil
}

// ensure creates the target's group, when it may, and stream, unless they
// are known to exist.
func (s *logShipper) ensure(ctx context.Context, t logTarget) error {
	s.mu.Lock()
	done := s.ensured[t]
	s.mu.Unlock()
	if done {
		return nil
	}
	if t.createGroup {
		err := s.a.c.callAs(ctx, "logs", logsTarget+"CreateLogGroup", map[string]string{"logGroupName": t.group}, nil)
		if err != nil && errorCode(err) != "ResourceAlreadyExistsException" {
			return err
		}
	}
	err := s.a.c.callAs(ctx, "logs", logsTarget+"CreateLogStream", map[string]string{"logGroupName": t.group, "logStreamName": t.stream}, nil)
	if err != nil && errorCode(err) != "ResourceAlreadyExistsException" {
		return err
	}
	s.mu.Lock()
	s.ensured[t] = true
	s.mu.Unlock()
	return nil
}

// forget drops what is known of a target after the server said it is gone.
func (s *logShipper) forget(t logTarget) {
	s.mu.Lock()
	delete(s.ensured, t)
	s.mu.Unlock()
}

const logsTarget = "Logs_20140328."
