package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
)

// Checker runs the active health checks of every target of every target
// group in use, and reports each change of a target's state to its sink. It
// runs once per control plane: its conclusions are the targets' health that
// DescribeTargetHealth answers and every data plane node routes by.
//
// As ELB does: a new target becomes healthy after one passing check, and
// unhealthy after UnhealthyThresholdCount failures in a row; a healthy
// target becomes unhealthy after UnhealthyThresholdCount failures in a row,
// and an unhealthy one healthy again after HealthyThresholdCount passes in a
// row. Draining targets and groups no listener uses are not checked.
type Checker struct {
	src  Source
	sink HealthSink
	log  *slog.Logger

	mu      sync.Mutex
	probers map[string]*prober // by group ARN + target key
}

// NewChecker returns a checker following src and reporting to sink.
func NewChecker(src Source, sink HealthSink, log *slog.Logger) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{src: src, sink: sink, log: log, probers: map[string]*prober{}}
}

// Run checks until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	var since int64
	for ctx.Err() == nil {
		cfg, err := c.src.Next(ctx, since, 30*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("health checker: configuration unavailable; retrying", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		since = cfg.Revision
		c.apply(ctx, cfg)
	}
	c.mu.Lock()
	for key, p := range c.probers {
		p.stop()
		delete(c.probers, key)
	}
	c.mu.Unlock()
}

// apply starts a prober for every target to check and stops the others. A
// prober is replaced when its group's health check settings change.
func (c *Checker) apply(ctx context.Context, cfg *Config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	want := map[string]bool{}
	for _, tg := range cfg.TargetGroups {
		if !tg.InUse {
			continue
		}
		for _, t := range tg.Targets {
			if t.DrainUntil != nil {
				continue
			}
			key := tg.Arn + "|" + t.Key()
			want[key] = true
			if p := c.probers[key]; p != nil {
				if p.hc == tg.HealthCheck {
					continue
				}
				p.stop()
			}
			p := &prober{c: c, group: tg.Arn, target: t, hc: tg.HealthCheck, state: t.Health}
			pctx, cancel := context.WithCancel(ctx)
			p.cancel = cancel
			c.probers[key] = p
			go p.run(pctx)
		}
	}
	for key, p := range c.probers {
		if !want[key] {
			p.stop()
			delete(c.probers, key)
		}
	}
}

// prober checks one target on its group's interval.
type prober struct {
	c      *Checker
	group  string
	target Target
	hc     state.HealthCheck
	cancel context.CancelFunc

	state     string // initial, healthy or unhealthy
	passes    int32
	failures  int32
	lastWhy   string
	lastAbout string
}

func (p *prober) stop() { p.cancel() }

func (p *prober) run(ctx context.Context) {
	if p.state == "" {
		p.state = state.TargetInitial
	}
	interval := time.Duration(p.hc.IntervalSeconds) * time.Second
	if interval <= 0 {
		interval = 30 * time.Second
	}
	for {
		ok, reason, desc := p.check(ctx)
		if ctx.Err() != nil {
			return
		}
		p.observe(ctx, ok, reason, desc)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// observe counts one check's outcome and reports a change of state.
func (p *prober) observe(ctx context.Context, ok bool, reason, desc string) {
	if ok {
		p.passes++
		p.failures = 0
	} else {
		p.failures++
		p.passes = 0
		p.lastWhy, p.lastAbout = reason, desc
	}
	next := p.state
	switch {
	case ok && p.state == state.TargetInitial:
		next = state.TargetHealthy
	case ok && p.state == state.TargetUnhealthy && p.passes >= p.hc.HealthyThreshold:
		next = state.TargetHealthy
	case !ok && p.state != state.TargetUnhealthy && p.failures >= p.hc.UnhealthyThreshold:
		next = state.TargetUnhealthy
	}
	if next == p.state {
		return
	}
	prev := p.state
	p.state = next
	r := HealthReport{TargetGroupArn: p.group, ID: p.target.ID, Port: p.target.Port, State: next}
	if next == state.TargetUnhealthy {
		r.Reason, r.Description = p.lastWhy, p.lastAbout
	}
	p.c.log.Info("target health changed", "target_group", p.group, "target", p.target.ID, "port", p.target.Port, "state", next, "reason", r.Reason)
	if err := p.c.sink.ReportHealth(ctx, []HealthReport{r}); err != nil && ctx.Err() == nil {
		p.c.log.Warn("report target health", "err", err)
		p.state = prev // report again after the next check
	}
}

// check runs one health check: a TCP connection, or an HTTP GET whose status
// must match the group's matcher.
func (p *prober) check(ctx context.Context) (ok bool, reason, desc string) {
	port := strconv.Itoa(int(p.target.Port))
	if p.hc.Port != "" && p.hc.Port != "traffic-port" {
		port = p.hc.Port
	}
	addr := net.JoinHostPort(p.target.Address, port)
	timeout := time.Duration(p.hc.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if p.hc.Protocol == "TCP" {
		c, err := (&net.Dialer{}).DialContext(cctx, "tcp", addr)
		if err != nil {
			why, about := failure(err)
			return false, why, about
		}
		c.Close()
		return true, "", ""
	}
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, "http://"+addr+p.hc.Path, nil)
	if err != nil {
		return false, "Target.FailedHealthChecks", "Health checks failed"
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	req.Close = true
	resp, err := healthClient.Do(req)
	if err != nil {
		why, about := failure(err)
		return false, why, about
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	m, err := ParseMatcher(p.hc.Matcher, 100, 599)
	if err != nil {
		m, _ = ParseMatcher("200", 200, 200)
	}
	if !m.Match(resp.StatusCode) {
		return false, "Target.ResponseCodeMismatch", fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)
	}
	return true, "", ""
}

// healthClient makes one connection per check, as ELB closes each check's
// connection, and follows no redirects (a 3xx is an answer to match).
var healthClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

func failure(err error) (reason, desc string) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "Target.Timeout", "Request timed out"
	}
	return "Target.FailedHealthChecks", "Health checks failed"
}
