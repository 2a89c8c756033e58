package lb

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
)

// NodeConfig configures a data plane node.
type NodeConfig struct {
	Source Source
	// Address is the host address listeners bind on; "" binds every
	// interface.
	Address string
	Log     *slog.Logger
	// PollWait is how long one configuration poll waits for a change;
	// default 30s.
	PollWait time.Duration
}

// Node serves every listener of the configuration it follows.
type Node struct {
	cfg NodeConfig
	log *slog.Logger

	mu        sync.Mutex
	groups    map[string]*group   // by target group ARN
	targets   map[string]*target  // by group ARN + target key
	listeners map[int32]*running  // by port
	failed    map[int32]time.Time // ports that could not be bound, when last tried
	rev       int64
	applied   chan struct{} // closed and replaced after each configuration applied
}

// running is a bound listener.
type running struct {
	arn      string
	protocol string
	http     *httpListener
	tcp      *tcpListener
}

// NewNode returns a node; Run serves.
func NewNode(cfg NodeConfig) *Node {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = 30 * time.Second
	}
	return &Node{cfg: cfg, log: cfg.Log, groups: map[string]*group{}, targets: map[string]*target{},
		listeners: map[int32]*running{}, failed: map[int32]time.Time{}, applied: make(chan struct{})}
}

// Run follows the configuration until ctx ends, then closes every listener
// and lets requests in flight finish (for up to 10 seconds).
func (n *Node) Run(ctx context.Context) error {
	go n.housekeep(ctx)
	var since int64
	for ctx.Err() == nil {
		c, err := n.cfg.Source.Next(ctx, since, n.cfg.PollWait)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			n.log.Warn("load balancer configuration unavailable; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if c.Revision != since || n.retryDue() {
			n.Apply(c)
			since = c.Revision
		}
	}
	n.shutdown()
	return nil
}

// Revision is the revision of the configuration last applied.
func (n *Node) Revision() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rev
}

// WaitRevision waits until a configuration at rev or later is applied.
func (n *Node) WaitRevision(ctx context.Context, rev int64) error {
	for {
		n.mu.Lock()
		cur, ch := n.rev, n.applied
		n.mu.Unlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// retryDue reports whether a port that failed to bind is due another try.
func (n *Node) retryDue() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, at := range n.failed {
		if time.Since(at) > 5*time.Second {
			return true
		}
	}
	return false
}

// Apply serves configuration c: target groups first, then listeners whose
// routes point at them.
func (n *Node) Apply(c *Config) {
	n.mu.Lock()
	defer func() {
		n.rev = c.Revision
		close(n.applied)
		n.applied = make(chan struct{})
		n.mu.Unlock()
	}()
	now := time.Now()
	seenGroups := map[string]bool{}
	seenTargets := map[string]bool{}
	for _, tg := range c.TargetGroups {
		seenGroups[tg.Arn] = true
		g := n.groups[tg.Arn]
		if g == nil {
			g = &group{arn: tg.Arn}
			n.groups[tg.Arn] = g
		}
		set := &targetSet{leastOutstanding: tg.LeastOutstanding}
		var fallback []*target
		for _, t := range tg.Targets {
			key := tg.Arn + "|" + t.Key()
			seenTargets[key] = true
			rt := n.targets[key]
			if rt == nil {
				rt = newTarget(t)
				n.targets[key] = rt
			}
			draining := t.DrainUntil != nil
			rt.draining.Store(draining)
			switch {
			case draining:
				if !t.DrainUntil.After(now) {
					n.endDrain(rt, tg.TerminateOnDrain)
				}
			case t.Health == state.TargetHealthy:
				set.serving = append(set.serving, rt)
			default:
				fallback = append(fallback, rt)
			}
		}
		if len(set.serving) == 0 {
			set.serving = fallback // fail open
		}
		g.set.Store(set)
	}
	for key, rt := range n.targets {
		if !seenTargets[key] {
			// Deregistered (its draining over) or its group deleted.
			rt.draining.Store(true)
			n.endDrain(rt, true)
			delete(n.targets, key)
		}
	}
	for arn := range n.groups {
		if !seenGroups[arn] {
			delete(n.groups, arn)
		}
	}
	wanted := map[int32]bool{}
	for _, b := range c.LoadBalancers {
		for _, l := range b.Listeners {
			wanted[l.Port] = true
			n.serveListener(b, l)
		}
	}
	for port, r := range n.listeners {
		if !wanted[port] {
			n.stopListener(port, r)
		}
	}
	for port := range n.failed {
		if !wanted[port] {
			delete(n.failed, port)
		}
	}
}

// endDrain ends a target's draining: its pooled connections close, and
// with terminate its proxied TCP connections too.
func (n *Node) endDrain(t *target, terminate bool) {
	t.pool.close()
	if terminate {
		t.closeConns()
	}
}

// serveListener binds a listener, or updates the routes of the one bound.
func (n *Node) serveListener(b LoadBalancer, l Listener) {
	rs := compileRules(l.Rules, n.groups)
	if r := n.listeners[l.Port]; r != nil {
		if r.arn == l.Arn && r.protocol == l.Protocol {
			n.setRoutes(r, rs, b)
			return
		}
		n.stopListener(l.Port, r)
	}
	if at, ok := n.failed[l.Port]; ok && time.Since(at) < 5*time.Second {
		return
	}
	addr := net.JoinHostPort(n.cfg.Address, strconv.Itoa(int(l.Port)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		n.failed[l.Port] = time.Now()
		n.log.Error("cannot bind a load balancer listener; retrying every 5s", "load_balancer", b.Name, "listener", l.Arn, "address", addr, "err", err)
		return
	}
	delete(n.failed, l.Port)
	r := &running{arn: l.Arn, protocol: l.Protocol}
	log := n.log.With("load_balancer", b.Name, "port", l.Port)
	if l.Protocol == "TCP" {
		r.tcp = &tcpListener{ln: ln, log: log}
		go r.tcp.serve()
	} else {
		r.http = newHTTPListener(ln, strconv.Itoa(int(l.Port)), log)
		go r.http.serve()
	}
	n.setRoutes(r, rs, b)
	n.listeners[l.Port] = r
	n.log.Info("load balancer listener bound", "load_balancer", b.Name, "protocol", l.Protocol, "address", ln.Addr().String())
}

func (n *Node) setRoutes(r *running, rs *routes, b LoadBalancer) {
	if r.http != nil {
		r.http.routes.Store(rs)
		idle := b.IdleTimeout
		if idle <= 0 {
			idle = time.Minute
		}
		r.http.idle.Store(int64(idle))
	} else {
		r.tcp.routes.Store(rs)
	}
}

// stopListener closes a listener; its requests in flight finish in the
// background.
func (n *Node) stopListener(port int32, r *running) {
	delete(n.listeners, port)
	if r.tcp != nil {
		r.tcp.close()
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.http.shutdown(ctx)
	}()
}

func (n *Node) shutdown() {
	n.mu.Lock()
	var https []*httpListener
	for port, r := range n.listeners {
		delete(n.listeners, port)
		if r.tcp != nil {
			r.tcp.close()
			continue
		}
		https = append(https, r.http)
	}
	for _, t := range n.targets {
		t.pool.close()
	}
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, h := range https {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.shutdown(ctx)
		}()
	}
	wg.Wait()
}

// housekeep closes idle upstream connections and ends draining targets
// whose time is up, until ctx ends.
func (n *Node) housekeep(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cutoff := time.Now().Add(-upstreamIdle)
		n.mu.Lock()
		for _, t := range n.targets {
			t.pool.reap(cutoff)
		}
		n.mu.Unlock()
	}
}

// ListenerAddr is the address the listener on port is bound to ("" if
// none): tests and `wharf lb` report it.
func (n *Node) ListenerAddr(port int32) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.listeners[port]
	switch {
	case r == nil:
		return ""
	case r.tcp != nil:
		return r.tcp.ln.Addr().String()
	}
	return r.http.ln.Addr().String()
}
