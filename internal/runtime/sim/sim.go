// Package sim is a container runtime that runs nothing: containers are
// records in memory whose lifecycle follows timers. It lets one process run
// thousands of simulated container instances, each with a real agent, for
// scale tests and benchmarks of the control plane. It is never the default.
//
// A container's environment scripts its behaviour (see script.go): it can
// exit by itself, be killed for memory, fail to start, ignore SIGTERM, or
// report a given health. Everything else behaves like a well-mannered
// process on Docker: it runs until stopped and exits 0 on SIGTERM.
//
// Costs are kept per container, not per goroutine: a container holds a few
// timers (time.AfterFunc) and no goroutine, so 10,000 runtimes with a few
// containers each fit in one process.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Options configure a Runtime. The zero value is usable: every image is
// present, containers start at once, and health checks pass at once.
type Options struct {
	// StartDelay is how long a started container stays "created" before it
	// runs, as image extraction and process start take on a real host.
	StartDelay time.Duration
	// HealthDelay is how long after it runs a container with a health
	// check reports its first verdict (HEALTHY unless its SIM_HEALTH says
	// otherwise); until then its health is UNKNOWN, as while Docker's check
	// is "starting".
	HealthDelay time.Duration
	// Images are the images present on the simulated host. Nil means every
	// image is present; an empty non-nil list means none is.
	Images []string
	// Registry are the images Pull can fetch when they are missing. Pull of
	// any other image fails with runtime.ErrImageNotFound.
	Registry []string
	// IgnoreSIGTERM selects containers whose process ignores SIGTERM: Stop
	// kills them when its timeout passes and they exit 137. A container's
	// SIM_IGNORE_SIGTERM=true has the same effect.
	IgnoreSIGTERM []Rule
	// PortMin and PortMax bound the dynamic host ports (default 32768 and
	// 60999, Linux's ephemeral range, as Docker uses).
	PortMin, PortMax int
	// CPUs and MemoryMiB describe the simulated host for Stats: the host's
	// CPU time and the memory limit of a container without a hard limit
	// (default 2 CPUs and 4096 MiB).
	CPUs      int
	MemoryMiB int64
	// EventHistory is how many recent events Watch can replay for a
	// caller's since time (default 32; a task makes about four). Docker
	// keeps a bounded buffer too; this one is per host, so it stays small.
	EventHistory int
	// Clock is the source of time and timers (default the real clock).
	Clock Clock
}

// Rule matches containers by image and labels. An empty Image matches
// every image; every label in Labels must be present with its value.
type Rule struct {
	Image  string
	Labels map[string]string
}

func (r Rule) matches(image string, labels map[string]string) bool {
	if r.Image != "" && normalizeImage(r.Image) != normalizeImage(image) {
		return false
	}
	return hasLabels(labels, r.Labels)
}

// Clock is time for the runtime: the current time and one-shot timers whose
// callback runs on a goroutine of the clock's choosing.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc; Stop cancels it if it has not fired.
type Timer interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Runtime is one simulated host's containers. Runtimes share nothing, so a
// simulated instance never sees another's containers.
type Runtime struct {
	opts  Options
	clock Clock
	boot  time.Time // the host's CPU time counts from here

	mu       sync.Mutex
	byID     map[string]*container
	byName   map[string]*container
	images   map[string]bool // nil: every image is present
	registry map[string]bool
	ports    portAllocator
	history  []record
	watchers []*watcher
	// Task networks (tasknet.go): pause containers by name.
	nets map[string]runtime.TaskNetwork
}

var _ runtime.Runtime = (*Runtime)(nil)

// New makes an empty simulated host.
func New(opts Options) *Runtime {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.PortMin <= 0 || opts.PortMax <= 0 || opts.PortMin > opts.PortMax {
		opts.PortMin, opts.PortMax = 32768, 60999
	}
	if opts.CPUs <= 0 {
		opts.CPUs = 2
	}
	if opts.MemoryMiB <= 0 {
		opts.MemoryMiB = 4096
	}
	if opts.EventHistory <= 0 {
		opts.EventHistory = 32
	}
	r := &Runtime{
		opts: opts, clock: opts.Clock, boot: opts.Clock.Now(),
		byID: map[string]*container{}, byName: map[string]*container{},
		ports: portAllocator{min: opts.PortMin, max: opts.PortMax},
	}
	if opts.Images != nil {
		r.images = imageSet(opts.Images)
	}
	if len(opts.Registry) > 0 {
		r.registry = imageSet(opts.Registry)
	}
	return r
}

func imageSet(refs []string) map[string]bool {
	m := make(map[string]bool, len(refs))
	for _, ref := range refs {
		m[normalizeImage(ref)] = true
	}
	return m
}

// normalizeImage gives a bare name its "latest" tag, as Docker does, so
// "busybox" and "busybox:latest" are one image. A registry's port
// ("host:5000/app") is not a tag.
func normalizeImage(ref string) string {
	last := ref[strings.LastIndexByte(ref, '/')+1:]
	if strings.ContainsAny(last, ":@") {
		return ref
	}
	return ref + ":latest"
}

// container is one simulated container. All of it is guarded by the
// runtime's mutex.
type container struct {
	st         runtime.ContainerState
	mappings   []runtime.PortMapping
	network    string
	health     bool // the spec has a health check
	cpu        int64
	memMiB     int64 // what Stats counts usage against: the hard limit, else the reservation
	limitMiB   int64 // hard limit; 0: the host's memory
	ignoreTERM bool
	script     *script    // nil: no SIM_ variables
	logs       *logScript // nil: the container writes no output (logs.go)

	// epoch grows at every start and exit, so a timer armed for one run
	// does nothing in a later one.
	epoch    uint64
	starting bool // started, but StartDelay has not passed
	bound    []runtime.PortBinding
	timers   []Timer
	exited   chan struct{} // made by a Stop that waits for a kill; closed at exit
	ranFor   time.Duration // running time of earlier runs, for Stats
}

// Create records the container. See runtime.Runtime.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := validate(spec); err != nil {
		return "", fmt.Errorf("sim create %s: %w", spec.Name, err)
	}
	sc, err := parseScript(spec.Env)
	var ls *logScript
	if err == nil {
		ls, err = parseLogScript(spec.Env)
	}
	if err != nil {
		return "", fmt.Errorf("sim create %s: %w: %w", spec.Name, runtime.ErrInvalidSpec, err)
	}
	id := newID()
	name := spec.Name
	if name == "" {
		name = "sim_" + id[:12]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.byName[name]; taken {
		return "", fmt.Errorf("sim create %s: %w", name, runtime.ErrNameInUse)
	}
	if !r.hasImage(spec.Image) {
		return "", fmt.Errorf("sim create %s: %w: %s is not on this simulated host", name, runtime.ErrImageNotFound, spec.Image)
	}
	c := &container{
		st: runtime.ContainerState{
			ID: id, Name: name, Image: spec.Image, ImageID: imageID(spec.Image),
			Labels: maps.Clone(spec.Labels), Status: runtime.StatusCreated,
			CreatedAt: r.clock.Now(), Health: runtime.HealthUnknown,
		},
		mappings: slices.Clone(spec.PortMappings),
		network:  spec.NetworkMode,
		health:   spec.HealthCheck != nil,
		cpu:      spec.CPU,
		memMiB:   cmpOr(spec.MemoryMiB, spec.MemoryReservationMiB),
		limitMiB: spec.MemoryMiB,
		script:   sc,
		logs:     ls,
	}
	c.ignoreTERM = sc != nil && sc.ignoreTERM
	for _, rule := range r.opts.IgnoreSIGTERM {
		if rule.matches(spec.Image, spec.Labels) {
			c.ignoreTERM = true
		}
	}
	r.byID[id] = c
	r.byName[name] = c
	r.emit(c, runtime.Event{Kind: runtime.EventCreated})
	return id, nil
}

func cmpOr(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}

// validate refuses what Docker refuses, so a task that cannot run on Docker
// does not run in the simulation either.
func validate(s runtime.ContainerSpec) error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", runtime.ErrInvalidSpec, fmt.Sprintf(format, args...))
	}
	if s.Image == "" {
		return invalid("image is required")
	}
	if s.MemoryMiB < 0 || s.MemoryReservationMiB < 0 {
		return invalid("memory must not be negative")
	}
	if h := s.HealthCheck; h != nil {
		if len(h.Command) < 2 || (h.Command[0] != "CMD" && h.Command[0] != "CMD-SHELL") {
			return invalid("health check command %q must be CMD or CMD-SHELL followed by the command", h.Command)
		}
		if h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 || h.Retries < 0 {
			return invalid("health check durations and retries must not be negative")
		}
	}
	if s.NetworkMode == "awsvpc" {
		return invalid("network mode awsvpc is not a Docker network mode; the agent must give the task's network")
	}
	for _, pm := range s.PortMappings {
		if s.NetworkMode == "none" {
			return invalid("port mappings need a network: network mode is none")
		}
		if p := strings.ToLower(pm.Protocol); p != "" && p != "tcp" && p != "udp" {
			return invalid("port mapping protocol %q: want tcp or udp", pm.Protocol)
		}
		if pm.ContainerPort < 1 || pm.ContainerPort > 65535 || pm.HostPort < 0 || pm.HostPort > 65535 {
			return invalid("port mapping %d:%d out of range", pm.HostPort, pm.ContainerPort)
		}
		if s.NetworkMode == "host" && pm.HostPort != 0 && pm.HostPort != pm.ContainerPort {
			return invalid("host network mode: hostPort %d must equal containerPort %d", pm.HostPort, pm.ContainerPort)
		}
	}
	return nil
}

func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *Runtime) lookup(id string) (*container, error) {
	c := r.byID[id]
	if c == nil {
		return nil, fmt.Errorf("sim %s: %w", id, runtime.ErrNotFound)
	}
	return c, nil
}

// Start runs the container after StartDelay. Starting one that runs, or is
// about to, does nothing; starting an exited one runs it again.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	if c.starting || c.st.Running() {
		return nil
	}
	// A container that cannot start keeps the reason in its state, as
	// Docker keeps it in State.Error.
	if c.script != nil && c.script.startError != "" {
		c.st.Error = c.script.startError
		return fmt.Errorf("sim start %s: %s", c.st.Name, c.script.startError)
	}
	if err := r.bindPorts(c); err != nil {
		c.st.Error = err.Error()
		return fmt.Errorf("sim start %s: %w", c.st.Name, err)
	}
	c.st.Error = ""
	c.epoch++
	if r.opts.StartDelay <= 0 {
		r.run(c)
		return nil
	}
	c.starting = true
	r.after(c, r.opts.StartDelay, r.run)
	return nil
}

// after arms a timer for the container's current run: f runs under the
// runtime's lock, unless the run ended or the container is gone by then.
func (r *Runtime) after(c *container, d time.Duration, f func(*container)) {
	epoch := c.epoch
	c.timers = append(c.timers, r.clock.AfterFunc(d, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if c.epoch == epoch && r.byID[c.st.ID] == c {
			f(c)
		}
	}))
}

// run flips a started container to running and arms what its script says
// happens to it later.
func (r *Runtime) run(c *container) {
	now := r.clock.Now()
	c.starting = false
	c.st.Status = runtime.StatusRunning
	c.st.StartedAt, c.st.FinishedAt = now, time.Time{}
	c.st.ExitCode, c.st.OOMKilled = 0, false
	c.st.Ports = c.bound
	c.st.Health, c.st.HealthOutput = runtime.HealthUnknown, ""
	r.emit(c, runtime.Event{Kind: runtime.EventStarted})
	sc := c.script
	if c.health {
		delay, verdict := r.opts.HealthDelay, runtime.HealthHealthy
		if sc != nil && sc.healthAfter != unset {
			delay = sc.healthAfter
		}
		if sc != nil && sc.health != "" {
			verdict = sc.health
		}
		turnsBad := sc != nil && sc.unhealthyAfter != unset
		switch {
		case turnsBad && sc.unhealthyAfter <= delay:
			// It fails before its first verdict would come.
		case delay <= 0:
			r.setHealth(c, verdict)
		default:
			r.after(c, delay, func(c *container) { r.setHealth(c, verdict) })
		}
		if turnsBad {
			r.after(c, sc.unhealthyAfter, func(c *container) { r.setHealth(c, runtime.HealthUnhealthy) })
		}
	}
	if sc == nil {
		return
	}
	if sc.exitAfter != unset {
		code := sc.exitCode
		r.after(c, sc.exitAfter, func(c *container) { r.exit(c, code, false) })
	}
	if sc.oomAfter != unset {
		r.after(c, sc.oomAfter, func(c *container) { r.exit(c, 137, true) })
	}
}

func (r *Runtime) setHealth(c *container, h runtime.Health) {
	if c.st.Health == h {
		return
	}
	c.st.Health = h
	c.st.HealthOutput = "simulated health check: " + strings.ToLower(string(h))
	r.emit(c, runtime.Event{Kind: runtime.EventHealth, Health: h})
}

// exit ends the container's run (or its pending start) with code.
func (r *Runtime) exit(c *container, code int, oom bool) {
	if !c.starting && !c.st.Running() {
		return
	}
	now := r.clock.Now()
	if c.st.Running() {
		c.ranFor += now.Sub(c.st.StartedAt)
	}
	c.starting = false
	c.epoch++
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	r.releasePorts(c)
	c.st.Status = runtime.StatusExited
	c.st.ExitCode, c.st.OOMKilled = code, oom
	c.st.FinishedAt = now
	c.st.Ports = nil
	if oom {
		r.emit(c, runtime.Event{Kind: runtime.EventOOM})
	}
	r.emit(c, runtime.Event{Kind: runtime.EventExited, ExitCode: code})
	if c.exited != nil {
		close(c.exited)
		c.exited = nil
	}
}

// Stop ends the container: at once with exit code 0, or, when its process
// ignores SIGTERM, with 137 once timeout has passed. A container whose start
// is still pending exits without having run.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	c, err := r.lookup(id)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	switch {
	case c.starting || c.st.Running() && !c.ignoreTERM:
		r.exit(c, 0, false)
	case c.st.Running() && timeout <= 0:
		r.exit(c, 137, false)
	case c.st.Running() && c.exited == nil:
		// The first Stop arms the kill; later ones wait for the same one.
		c.exited = make(chan struct{})
		r.after(c, timeout, func(c *container) { r.exit(c, 137, false) })
	}
	done := c.exited
	r.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Remove kills the container if it runs (exit 137, as SIGKILL) and forgets it.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	r.exit(c, 137, false)
	c.epoch++
	delete(r.byID, id)
	delete(r.byName, c.st.Name)
	r.emit(c, runtime.Event{Kind: runtime.EventDestroyed})
	return nil
}

// Inspect reports the container's state; ErrNotFound once it is removed.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.ContainerState, error) {
	if err := ctx.Err(); err != nil {
		return runtime.ContainerState{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookup(id)
	if err != nil {
		return runtime.ContainerState{}, err
	}
	return c.snapshot(), nil
}

// snapshot copies the state so that callers cannot reach the runtime's maps.
func (c *container) snapshot() runtime.ContainerState {
	st := c.st // Labels shared: set once at create, read only
	st.Ports = slices.Clone(c.st.Ports)
	return st
}

// List reports the containers that carry all of labels, by name.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.ContainerState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.ContainerState
	for _, c := range r.byID {
		if hasLabels(c.st.Labels, labels) {
			out = append(out, c.snapshot())
		}
	}
	slices.SortFunc(out, func(a, b runtime.ContainerState) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ImageExists reports whether the image is on the simulated host.
func (r *Runtime) ImageExists(ctx context.Context, ref string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hasImage(ref), nil
}

func (r *Runtime) hasImage(ref string) bool { return r.images == nil || r.images[normalizeImage(ref)] }

// Pull makes a Registry image present; any other missing image fails.
func (r *Runtime) Pull(ctx context.Context, ref string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hasImage(ref) {
		return nil
	}
	if !r.registry[normalizeImage(ref)] {
		return fmt.Errorf("sim pull %s: %w: no simulated registry has it", ref, runtime.ErrImageNotFound)
	}
	r.images[normalizeImage(ref)] = true
	return nil
}

// imageIDs caches each image's fake content id, so that thousands of
// runtimes running the same image share one string.
var imageIDs sync.Map

func imageID(ref string) string {
	ref = normalizeImage(ref)
	if id, ok := imageIDs.Load(ref); ok {
		return id.(string)
	}
	id, _ := imageIDs.LoadOrStore(ref, "sha256:"+digest(ref))
	return id.(string)
}
