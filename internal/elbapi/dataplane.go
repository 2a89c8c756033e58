package elbapi

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/lb"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// The API is the data plane's source of configuration (in the server
// process directly, and for `wharf lb` nodes through the
// WharfLoadBalancer_v1 service below) and the sink of its health checks.

// dataPlane keeps the last configuration built, so that nodes and the health
// checker polling for the same revision share one build.
type dataPlane struct {
	a  *API
	mu sync.Mutex
	c  *lb.Config
}

func newDataPlane(a *API) *dataPlane { return &dataPlane{a: a} }

// Next implements lb.Source.
func (a *API) Next(ctx context.Context, since int64, wait time.Duration) (*lb.Config, error) {
	a.cat.waitChange(ctx, since, wait)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return a.dp.config(), nil
}

func (d *dataPlane) config() *lb.Config {
	v := d.a.cat.snapshot()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil && d.c.Revision == v.rev {
		return d.c
	}
	d.c = buildConfig(v)
	return d.c
}

// buildConfig turns the stored resources into what a data plane serves.
func buildConfig(v *view) *lb.Config {
	out := &lb.Config{Revision: v.rev, LoadBalancers: []lb.LoadBalancer{}, TargetGroups: []lb.TargetGroup{}}
	rulesOf := map[string][]*state.Rule{}
	for _, r := range v.rules {
		rulesOf[r.ListenerArn] = append(rulesOf[r.ListenerArn], r)
	}
	for _, b := range v.lbs {
		x := lb.LoadBalancer{Arn: b.Arn, Name: b.Name, Type: b.Type, IdleTimeout: idleTimeout(b)}
		for _, l := range v.listeners {
			if l.LoadBalancerArn != b.Arn {
				continue
			}
			xl := lb.Listener{Arn: l.Arn, Port: l.Port, Protocol: l.Protocol}
			rules := rulesOf[l.Arn]
			sort.Slice(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
			for _, r := range rules {
				xl.Rules = append(xl.Rules, lb.Rule{Priority: r.Priority, Conditions: r.Conditions, Actions: r.Actions})
			}
			xl.Rules = append(xl.Rules, lb.Rule{Actions: l.DefaultActions})
			x.Listeners = append(x.Listeners, xl)
		}
		sort.Slice(x.Listeners, func(i, j int) bool { return x.Listeners[i].Port < x.Listeners[j].Port })
		out.LoadBalancers = append(out.LoadBalancers, x)
	}
	users := v.lbArnsOf()
	targetsOf := map[string][]lb.Target{}
	for _, t := range v.targets {
		targetsOf[t.TargetGroupArn] = append(targetsOf[t.TargetGroupArn], lb.Target{
			ID: t.ID, Port: t.Port, Address: t.Address, Health: t.Health, DrainUntil: t.DrainUntil,
		})
	}
	for _, tg := range v.tgs {
		out.TargetGroups = append(out.TargetGroups, lb.TargetGroup{
			Arn: tg.Arn, Name: tg.Name, Protocol: tg.Protocol, Port: tg.Port, HealthCheck: tg.HealthCheck,
			LeastOutstanding: tg.Attributes[attrAlgorithm] == algoLeastOut,
			TerminateOnDrain: tg.Attributes[attrConnTermination] == "true",
			InUse:            len(users[tg.Arn]) > 0,
			Targets:          targetsOf[tg.Arn],
		})
	}
	return out
}

func idleTimeout(b *state.LoadBalancer) time.Duration {
	if b.Type == lbNetwork {
		return 350 * time.Second // NLB's fixed TCP idle timeout
	}
	n, err := strconv.Atoi(lbAttributes(b)[attrIdleTimeout])
	if err != nil || n <= 0 {
		n = 60
	}
	return time.Duration(n) * time.Second
}

// ReportHealth implements lb.HealthSink: it records each target's new
// health state. Targets deregistered or draining meanwhile are left alone.
func (a *API) ReportHealth(ctx context.Context, reports []lb.HealthReport) error {
	for _, r := range reports {
		_, tgID, ok := state.ParseTargetGroupArn(r.TargetGroupArn)
		if !ok {
			continue
		}
		key := state.TargetKey(tgID, r.ID, r.Port)
		err := retry(ctx, func() error {
			t, rev, err := state.Get[state.Target](ctx, a.lst, key)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if t.DrainUntil != nil || t.Health == r.State && t.Reason == r.Reason {
				return nil
			}
			t.Health, t.Reason, t.Description, t.HealthSince = r.State, r.Reason, r.Description, a.now().UTC()
			_, err = a.lst.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, t)}})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// janitor removes registrations whose draining has ended and those left
// behind by a deleted target group, until ctx ends.
func (a *API) janitor(ctx context.Context) {
	select {
	case <-a.cat.ready:
	case <-ctx.Done():
		return
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, kr := range a.cat.sweep(a.now()) {
			_, err := a.lst.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: kr.key, Revision: kr.rev}}, Ops: []store.Op{state.Delete(kr.key)}})
			if err != nil && !store.IsConflict(err) && ctx.Err() == nil {
				a.log.Warn("remove a drained target", "key", kr.key, "err", err)
			}
		}
	}
}

type keyRev struct {
	key string
	rev int64
}

// sweep lists the registrations due for removal: drained, or of a target
// group that no longer exists.
func (c *catalog) sweep(now time.Time) []keyRev {
	c.mu.RLock()
	defer c.mu.RUnlock()
	groups := map[string]bool{}
	for _, d := range c.docs {
		if tg, ok := d.val.(*state.TargetGroup); ok {
			groups[tg.ID] = true
		}
	}
	var out []keyRev
	for k, d := range c.docs {
		t, ok := d.val.(*state.Target)
		if !ok {
			continue
		}
		tgID, _, _ := strings.Cut(strings.TrimPrefix(k, state.TargetsPrefix), "/")
		if t.DrainUntil != nil && !now.Before(*t.DrainUntil) || !groups[tgID] {
			out = append(out, keyRev{k, d.rev})
		}
	}
	return out
}

// DataPlaneTarget is the X-Amz-Target prefix of the data plane's
// configuration service, which `wharf lb` nodes poll.
const DataPlaneTarget = "WharfLoadBalancer_v1"

// GetConfig is its one operation.
const GetConfig = "GetLoadBalancerConfig"

// GetConfigRequest asks for the configuration once it is newer than
// SinceRevision, waiting up to WaitSeconds (at most 60).
type GetConfigRequest struct {
	SinceRevision int64 `json:"sinceRevision"`
	WaitSeconds   int32 `json:"waitSeconds"`
}

// DataPlaneService is the AWS JSON service `wharf lb` nodes read their
// configuration from.
func (a *API) DataPlaneService() *awsproto.Service {
	s := awsproto.NewService(DataPlaneTarget, map[string]bool{GetConfig: true})
	awsproto.Handle(s, GetConfig, func(ctx context.Context, in *GetConfigRequest) (*lb.Config, error) {
		if in.SinceRevision < 0 {
			return nil, awsproto.Errorf("InvalidParameterException", "sinceRevision must not be negative.")
		}
		wait := time.Duration(min(max(in.WaitSeconds, 0), 60)) * time.Second
		return a.Next(ctx, in.SinceRevision, wait)
	})
	return s
}
