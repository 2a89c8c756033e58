package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/spf13/cobra"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// simConfig is what `wharf sim` runs: Instances real agents, each on its own
// simulated host.
type simConfig struct {
	Endpoint     string
	Cluster      string
	Instances    int
	CPU          int64
	MemoryMiB    int64
	Zones        []string
	Attributes   map[string]string
	InstanceType string
	StartDelay   time.Duration
	HealthDelay  time.Duration
	PollWait     time.Duration
	Resync       time.Duration // how often each task re-reads the simulated runtime
	Retention    time.Duration
	Concurrency  int  // registrations in flight at once
	Deregister   bool // deregister every instance on the way out
	// Credentials sign the agents' requests; JoinToken, when set, has each
	// simulated instance join with it and sign with its own credential.
	Credentials aws.CredentialsProvider
	JoinToken   string
	Log         *slog.Logger
}

func simCmd(logger func() (*slog.Logger, error)) *cobra.Command {
	cfg := simConfig{}
	var attrs []string
	var zones, debugListen string
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run many simulated container instances (real agents, in-memory containers) for scale tests",
		Long: `Run many container instances in one process: each is the real Wharf agent on a
simulated container runtime whose containers run no process. Use it to load the
control plane with thousands of instances and tasks. Container environment
variables script the simulated workloads (SIM_EXIT_AFTER=2s SIM_EXIT_CODE=3,
SIM_HEALTH=UNHEALTHY, SIM_IGNORE_SIGTERM=true, ...; see internal/runtime/sim).`,
		Example: `  wharf sim --endpoint http://127.0.0.1:8080 --cluster load --instances 1000 --zones a,b,c --attribute disk=ssd`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := simLogger(cmd, logger)
			if err != nil {
				return err
			}
			if cfg.JoinToken == "" {
				cfg.JoinToken = os.Getenv("WHARF_JOIN_TOKEN")
			}
			if cfg.JoinToken == "" {
				if cfg.Credentials, err = awsCredentials(cmd.Context(), ""); err != nil {
					return err
				}
			}
			cfg.Log = log
			if cfg.Attributes, err = parseAttributes(attrs); err != nil {
				return err
			}
			cfg.Zones = splitList(zones)
			if debugListen != "" {
				if err := serveDebug(cmd.Context(), debugListen, log); err != nil {
					return err
				}
			}
			return runSim(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&debugListen, "debug-listen", "", "loopback address to serve Go's runtime profiles on (net/http/pprof), e.g. 127.0.0.1:6061")
	f.StringVar(&cfg.Endpoint, "endpoint", "", "control plane URL, e.g. http://127.0.0.1:8080, or the URLs of replicated servers separated by commas to fail over between (required)")
	f.StringVar(&cfg.Cluster, "cluster", "default", "cluster to join (created if missing)")
	f.StringVar(&cfg.JoinToken, "join-token", "", "join token each simulated instance joins with (default $WHARF_JOIN_TOKEN; else the AWS_* credentials sign)")
	f.IntVar(&cfg.Instances, "instances", 10, "number of simulated container instances")
	f.Int64Var(&cfg.CPU, "cpu", 2048, "CPU units each instance offers")
	f.Int64Var(&cfg.MemoryMiB, "memory", 4096, "memory in MiB each instance offers")
	f.StringVar(&zones, "zones", "us-east-1a,us-east-1b,us-east-1c", "availability zones, assigned to the instances in turn")
	f.StringArrayVar(&attrs, "attribute", nil, "custom attribute name=value on every instance (repeatable)")
	f.StringVar(&cfg.InstanceType, "instance-type", "wharf.sim", "instance type (attribute ecs.instance-type)")
	f.DurationVar(&cfg.StartDelay, "start-delay", 100*time.Millisecond, "how long a simulated container takes to start")
	f.DurationVar(&cfg.HealthDelay, "health-delay", 0, "how long a container with a health check takes to report its first verdict")
	f.DurationVar(&cfg.PollWait, "poll-wait", 20*time.Second, "how long each agent's long poll waits for a change")
	// The simulated runtime tells the agents of every change as it happens,
	// so re-reading it is only a safety net; at the agent's 5s, a million
	// tasks re-read it 200,000 times a second.
	f.DurationVar(&cfg.Resync, "resync-interval", time.Minute, "how often each task re-reads the simulated runtime besides its events (the agent's default is 5s)")
	f.DurationVar(&cfg.Retention, "container-retention", time.Minute, "how long stopped simulated containers are kept")
	f.IntVar(&cfg.Concurrency, "concurrency", 64, "registrations in flight at once")
	f.BoolVar(&cfg.Deregister, "deregister", false, "deregister the instances (with force) when stopping, so the next run starts from a clean cluster")
	_ = cmd.MarkFlagRequired("endpoint")
	return cmd
}

// simLogger logs at warn unless --log-level was given: thousands of agents
// logging every task at info would drown the terminal.
func simLogger(cmd *cobra.Command, logger func() (*slog.Logger, error)) (*slog.Logger, error) {
	if f := cmd.Flag("log-level"); f != nil && f.Changed {
		return logger()
	}
	format := "text"
	if f := cmd.Flag("log-format"); f != nil {
		format = f.Value.String()
	}
	return newLogger("warn", format)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *simConfig) check() error {
	switch {
	case c.Endpoint == "":
		return errors.New("--endpoint is required: the URL of a wharf server, e.g. http://127.0.0.1:8080")
	case c.Instances < 1:
		return fmt.Errorf("--instances %d: run at least 1", c.Instances)
	case c.CPU < 1 || c.MemoryMiB < 1:
		return fmt.Errorf("--cpu %d --memory %d: each instance needs some CPU units and MiB", c.CPU, c.MemoryMiB)
	case len(c.Zones) == 0:
		return errors.New("--zones: give at least one availability zone, e.g. --zones a,b,c")
	case c.Concurrency < 1:
		return fmt.Errorf("--concurrency %d: allow at least 1 registration at a time", c.Concurrency)
	}
	return nil
}

// simHTTPShards is how many HTTP clients the agents share, round-robin.
// One transport for ten thousand agents made its idle-connection lock the
// simulator's bottleneck: tens of thousands of goroutines queued on it to
// hand a connection back or take one, new connections were dialled instead,
// and the process ran out of open files.
const simHTTPShards = 64

// newSimHTTPClients returns the clients the agents share. Each agent keeps
// one long poll open and reconnects when its client's pool has no idle
// connection for it; Go's default keeps 2 per host and would reconnect on
// nearly every poll.
//
// maxConns bounds each client's connections, so that together they stay
// under the process's limit of open files (0: no bound): past it, requests
// wait for a connection rather than fail to dial ("too many open files"),
// which made agents miss their polls and be marked disconnected.
func newSimHTTPClients(c *simConfig, openFiles uint64) []*http.Client {
	shards := max(1, min(simHTTPShards, c.Instances))
	maxConns := 0
	if openFiles > 0 && openFiles < 1<<30 {
		// Keep some files for everything else; each shard's agents hold
		// a long poll each, so never fewer than that and a few more.
		perShard := (c.Instances + shards - 1) / shards
		maxConns = max(perShard+16, int(openFiles-min(openFiles/10, 1024))/shards)
	}
	// A poll that returns hands its connection back and the agent's next
	// poll takes one at once, so a quarter of the agents' worth stays
	// enough idle; one per agent on top of the held polls was twenty
	// thousand connections for ten thousand agents, past a common limit
	// of open files on either side.
	idle := (c.Instances/4+c.Concurrency)/shards + 1
	clients := make([]*http.Client, shards)
	for i := range clients {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = idle
		tr.MaxIdleConnsPerHost = idle
		tr.MaxConnsPerHost = maxConns
		clients[i] = &http.Client{Transport: tr, Timeout: c.PollWait + time.Minute}
	}
	return clients
}

// runSim registers the instances, a bounded number at a time, runs them
// until ctx ends, then stops every agent and waits for it.
func runSim(ctx context.Context, c simConfig, out io.Writer) error {
	if err := c.check(); err != nil {
		return err
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	out = &syncWriter{w: out} // progress and summary lines come from two goroutines
	runCtx, stopAll := context.WithCancel(context.Background())
	defer stopAll()
	// Once the agents are told to stop, each would log that its request
	// was cancelled; thousands of such lines say nothing.
	c.Log = slog.New(quietAfter{Handler: c.Log.Handler(), stop: runCtx})
	var nofile syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		nofile.Cur = 0
	}
	if need := uint64(2*c.Instances + 1024); nofile.Cur > 0 && nofile.Cur < need {
		fmt.Fprintf(out, "warning: the limit of open files is %d; %d agents want about %d (a long poll each, and their reports): raise it (ulimit -n) or run fewer instances\n", nofile.Cur, c.Instances, need)
	}
	httpClients := newSimHTTPClients(&c, nofile.Cur)
	defer func() {
		for _, hc := range httpClients {
			hc.CloseIdleConnections()
		}
	}()
	agents := make([]*agent.Agent, c.Instances)
	for i := range agents {
		ag, err := agent.New(agent.Config{
			Endpoint:     c.Endpoint,
			Cluster:      c.Cluster,
			Attributes:   c.Attributes,
			CPU:          c.CPU,
			MemoryMiB:    c.MemoryMiB,
			Zone:         c.Zones[i%len(c.Zones)],
			InstanceType: c.InstanceType,
			Runtime: sim.New(sim.Options{
				StartDelay: c.StartDelay, HealthDelay: c.HealthDelay,
				CPUs: max(1, int(c.CPU/1024)), MemoryMiB: c.MemoryMiB,
			}),
			HTTPClient:         httpClients[i%len(httpClients)],
			Credentials:        c.Credentials,
			JoinToken:          c.JoinToken,
			Log:                c.Log,
			PollWait:           c.PollWait,
			ResyncInterval:     c.Resync,
			ContainerRetention: c.Retention,
		})
		if err != nil {
			return err
		}
		agents[i] = ag
	}

	var (
		wg         sync.WaitGroup
		registered atomic.Int64
		failOnce   sync.Once
		failure    error
		failed     = make(chan struct{})
	)
	fail := func(err error) {
		failOnce.Do(func() { failure = err; close(failed) })
	}
	slots := make(chan struct{}, c.Concurrency)
	start := time.Now()
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		printProgress(runCtx, out, &registered, c.Instances)
	}()

launch:
	for _, ag := range agents {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break launch
		case <-failed:
			break launch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := ag.Run(runCtx)
			switch {
			case runCtx.Err() != nil:
			case ag.InstanceArn() == "":
				fail(err)
			default:
				c.Log.Warn("simulated agent stopped", "instance", ag.InstanceArn(), "err", err)
			}
		}()
		go func() {
			// Frees the slot once the agent has registered (or all stop).
			for ag.InstanceArn() == "" && runCtx.Err() == nil {
				select {
				case <-failed:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			if ag.InstanceArn() != "" {
				registered.Add(1)
			}
			<-slots
		}()
	}
	// Wait for every registration, to print the summary, then for the end.
	for registered.Load() < int64(c.Instances) && ctx.Err() == nil && !closed(failed) {
		select {
		case <-ctx.Done():
		case <-failed:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if ctx.Err() == nil && !closed(failed) {
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		fmt.Fprintf(out, "registered %d/%d instances in cluster %s in %s (%d goroutines, %d MiB from the OS); Ctrl-C stops them\n",
			registered.Load(), c.Instances, c.Cluster, time.Since(start).Round(time.Millisecond),
			goruntime.NumGoroutine(), ms.Sys>>20)
		select {
		case <-ctx.Done():
		case <-failed:
		}
	}
	stopAll()
	wg.Wait()
	<-progressDone
	if closed(failed) {
		return fmt.Errorf("simulated agent failed to register: %w", failure)
	}
	fmt.Fprintf(out, "stopped %d simulated agents\n", registered.Load())
	if c.Deregister {
		return deregisterAll(out, &c, httpClients[0], agents)
	}
	return nil
}

// printProgress reports registrations once a second while they go on:
// thousands of them take a while.
func printProgress(ctx context.Context, out io.Writer, registered *atomic.Int64, total int) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := int64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := registered.Load()
		if n == int64(total) {
			return
		}
		if n != last {
			fmt.Fprintf(out, "registered %d/%d instances\n", n, total)
			last = n
		}
	}
}

// deregisterAll removes the instances the agents registered, with force
// (their simulated tasks are gone with the process).
func deregisterAll(out io.Writer, c *simConfig, hc *http.Client, agents []*agent.Agent) error {
	var creds aws.CredentialsProvider = aws.AnonymousCredentials{}
	if c.Credentials != nil {
		creds = c.Credentials // agent credentials may not deregister: a user's key must
	}
	client := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(c.Endpoint), HTTPClient: hc,
		Credentials: creds,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var (
		wg    sync.WaitGroup
		done  atomic.Int64
		errMu sync.Mutex
		first error
	)
	slots := make(chan struct{}, c.Concurrency)
	for _, ag := range agents {
		arn := ag.InstanceArn()
		if arn == "" {
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			_, err := client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{
				Cluster: aws.String(c.Cluster), ContainerInstance: aws.String(arn), Force: aws.Bool(true),
			})
			if err != nil {
				errMu.Lock()
				first = cmpErr(first, fmt.Errorf("deregister %s: %w", arn, err))
				errMu.Unlock()
				return
			}
			if n := done.Add(1); n%1000 == 0 {
				fmt.Fprintf(out, "deregistered %d instances\n", n)
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(out, "deregistered %d instances\n", done.Load())
	return first
}

// quietAfter drops every record once stop has ended.
type quietAfter struct {
	slog.Handler
	stop context.Context
}

func (q quietAfter) Enabled(ctx context.Context, l slog.Level) bool {
	return q.stop.Err() == nil && q.Handler.Enabled(ctx, l)
}

func (q quietAfter) WithAttrs(as []slog.Attr) slog.Handler {
	return quietAfter{Handler: q.Handler.WithAttrs(as), stop: q.stop}
}

func (q quietAfter) WithGroup(name string) slog.Handler {
	return quietAfter{Handler: q.Handler.WithGroup(name), stop: q.stop}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
