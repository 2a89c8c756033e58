package capacity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// scale takes one group through one round: account for its launches,
// compute the metric, and launch or terminate.
func (s *Scaler) scale(ctx context.Context, g *group) error {
	now := s.now()
	var errs []error
	byLaunch := map[string]*state.ContainerInstance{}
	for _, in := range g.instances {
		if id := attrMap(in.Attributes)[state.AttrLaunchID]; id != "" {
			byLaunch[id] = in
		}
	}
	launchOf := map[string]*state.InstanceLaunch{} // instance ID → its launch
	pending := 0
	for _, l := range g.launches {
		in := byLaunch[l.ID]
		switch {
		case l.Terminating:
			errs = append(errs, s.retire(ctx, l, in))
		case in != nil:
			launchOf[in.ID] = l
			if l.InstanceID == "" {
				errs = append(errs, s.registered(ctx, l, in))
			}
		case now.Sub(l.Launched.Time) > s.cfg.Tuning.LaunchTimeout:
			s.log.Warn("a launched instance did not register in time; terminating it", "cluster", g.cluster, "provider", g.provider, "launch", l.ID, "after", s.cfg.Tuning.LaunchTimeout)
			errs = append(errs, s.retire(ctx, l, nil))
		default:
			pending++
		}
	}
	size := g.size
	running, busy := 0, 0
	warming := pending > 0
	var idle []*state.ContainerInstance
	for _, in := range g.instances {
		if in.Status != "ACTIVE" {
			continue
		}
		l := launchOf[in.ID]
		if l != nil && !model.Val(in.AgentConnected) {
			s.log.Warn("a launched instance's agent is disconnected; replacing it", "cluster", g.cluster, "provider", g.provider, "instance", in.ContainerInstanceArn)
			errs = append(errs, s.retire(ctx, l, in))
			continue
		}
		running++
		if in.RegisteredAt != nil && now.Sub(in.RegisteredAt.Time) < max(g.warmup, minWarmup) {
			warming = true
		}
		if g.busy[in.ID] {
			busy++
		} else if l != nil {
			idle = append(idle, in)
		}
		if size == (Resources{}) {
			size = registered(in)
		}
	}
	n := running + pending
	m := Needed(Demand{Running: n, Busy: busy, Waiting: g.waiting, Instance: size}, g.steps)
	desired := Desired(m, g.target)
	errs = append(errs, s.record(ctx, g, state.CapacityScaling{Cluster: g.cluster, Provider: g.provider,
		Reservation: int32(Reservation(m, n)), Needed: int32(m), Running: int32(n), Desired: int32(desired),
		Provisioning: int32(len(g.waiting))}))
	if !g.managed {
		return errors.Join(errs...)
	}
	key := g.key()
	switch {
	case desired > n && warming:
		// Instances still starting will take some of the waiting tasks:
		// scale out again once they have (instanceWarmupPeriod).
		delete(s.lowSince, key)
	case desired > n:
		delete(s.lowSince, key)
		k := max(desired-n, g.steps.Min)
		if g.steps.Max > 0 {
			k = min(k, g.steps.Max)
		}
		s.log.Info("scaling out", "cluster", g.cluster, "provider", g.provider, "instances", n, "needed", m, "launching", k)
		for range k {
			if err := s.launch(ctx, g); err != nil {
				errs = append(errs, err)
				break
			}
		}
	case desired < n && len(g.waiting) == 0 && len(idle) > 0:
		since, ok := s.lowSince[key]
		if !ok {
			s.lowSince[key] = now
			break
		}
		if now.Sub(since) < s.cfg.Tuning.ScaleInAfter {
			break
		}
		k := min(n-desired, len(idle))
		s.log.Info("scaling in", "cluster", g.cluster, "provider", g.provider, "instances", n, "needed", m, "terminating", k)
		for _, in := range idle[:k] {
			errs = append(errs, s.retire(ctx, launchOf[in.ID], in))
		}
		delete(s.lowSince, key)
	default:
		delete(s.lowSince, key)
	}
	return errors.Join(errs...)
}

// minWarmup is the least time a new instance gets to take waiting tasks
// before the scaler launches more: a few rounds of the waiting-task queue.
const minWarmup = 2 * time.Second

// registered is the size an instance registered with.
func registered(in *state.ContainerInstance) Resources {
	var r Resources
	for _, res := range in.RegisteredResources {
		switch res.Name {
		case "CPU":
			r.CPU = int64(model.Val(res.IntegerValue))
		case "MEMORY":
			r.Memory = int64(model.Val(res.IntegerValue))
		}
	}
	return r
}

// launch starts one instance for the group: a join token for its agent,
// the launch recorded, then the launcher called.
func (s *Scaler) launch(ctx context.Context, g *group) error {
	if s.cfg.Launcher == nil {
		return errors.New("no instance launcher is configured (wharf server --instance-launcher): start agents for the provider by hand, with --attribute " + state.AttrCapacityProvider + "=" + g.provider)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	ttl := max(int64(s.cfg.Tuning.LaunchTimeout.Seconds())+60, 120)
	tok, err := s.cfg.ECS.CreateJoinToken(ctx, &agentproto.CreateJoinTokenRequest{Cluster: g.cluster, ExpiresInSeconds: ttl,
		Description: "managed scaling: launch " + id + " of " + g.provider})
	if err != nil {
		return fmt.Errorf("create a join token: %w", err)
	}
	l := &state.InstanceLaunch{ID: id, Provider: g.provider, Cluster: g.cluster, Launched: model.NewTime(s.now()), JoinTokenID: tok.JoinToken.TokenID}
	key := state.CapacityLaunchKey(g.provider, id)
	if err := s.put(ctx, key, l); err != nil {
		return err
	}
	attrs := map[string]string{state.AttrLaunchID: id}
	if g.fargate {
		attrs[state.AttrFargate] = ""
	} else {
		attrs[state.AttrCapacityProvider] = g.provider
	}
	handle, err := s.cfg.Launcher.Launch(ctx, InstanceSpec{Name: "wharf-" + g.cluster + "-" + g.provider + "-" + id[:8],
		Endpoint: s.cfg.Endpoint, Cluster: g.cluster, JoinToken: tok.Token, Attributes: attrs, CPU: g.size.CPU, MemoryMiB: g.size.Memory})
	if err != nil {
		_ = s.forget(ctx, l)
		return fmt.Errorf("launch an instance: %w", err)
	}
	l.Handle = handle
	return s.put(ctx, key, l)
}

// registered notes that a launch's agent registered: its join token is no
// longer needed.
func (s *Scaler) registered(ctx context.Context, l *state.InstanceLaunch, in *state.ContainerInstance) error {
	s.deleteToken(ctx, l)
	l.InstanceID, l.JoinTokenID = in.ID, ""
	return s.put(ctx, state.CapacityLaunchKey(l.Provider, l.ID), l)
}

// retire takes one launched instance away: marked terminating first (so a
// crash halfway resumes here), deregistered, terminated, forgotten.
func (s *Scaler) retire(ctx context.Context, l *state.InstanceLaunch, in *state.ContainerInstance) error {
	if !l.Terminating {
		l.Terminating = true
		if err := s.put(ctx, state.CapacityLaunchKey(l.Provider, l.ID), l); err != nil {
			return err
		}
	}
	if in != nil && in.Status != "INACTIVE" {
		_, err := s.cfg.ECS.DeregisterContainerInstance(ctx, &model.DeregisterContainerInstanceRequest{
			Cluster: l.Cluster, ContainerInstance: in.ContainerInstanceArn, Force: model.Ptr(true)})
		if _, api := awsproto.AsError(err); err != nil && !api {
			return fmt.Errorf("deregister %s: %w", in.ContainerInstanceArn, err)
		}
	}
	if l.Handle != "" && s.cfg.Launcher != nil {
		if err := s.cfg.Launcher.Terminate(ctx, l.Handle); err != nil {
			return fmt.Errorf("terminate launch %s: %w", l.ID, err)
		}
	}
	return s.forget(ctx, l)
}

// retireOrphan retires a launch whose provider no cluster uses any more,
// once its instance runs no task.
func (s *Scaler) retireOrphan(ctx context.Context, l *state.InstanceLaunch) error {
	var in *state.ContainerInstance
	if l.InstanceID != "" {
		got, _, err := state.Get[state.ContainerInstance](ctx, s.cfg.Store, state.InstanceKey(l.Cluster, l.InstanceID))
		switch {
		case err == nil:
			in = got
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if in != nil && model.Val(in.RunningTasksCount)+model.Val(in.PendingTasksCount) > 0 && !l.Terminating {
		return nil
	}
	s.log.Info("terminating an instance whose capacity provider left the cluster", "cluster", l.Cluster, "provider", l.Provider, "launch", l.ID)
	return s.retire(ctx, l, in)
}

func (s *Scaler) forget(ctx context.Context, l *state.InstanceLaunch) error {
	s.deleteToken(ctx, l)
	_, err := s.cfg.Store.Commit(ctx, store.Txn{Ops: []store.Op{{Key: state.CapacityLaunchKey(l.Provider, l.ID), Delete: true}}})
	return err
}

func (s *Scaler) deleteToken(ctx context.Context, l *state.InstanceLaunch) {
	if l.JoinTokenID == "" {
		return
	}
	if _, err := s.cfg.ECS.DeleteJoinToken(ctx, &agentproto.DeleteJoinTokenRequest{TokenID: l.JoinTokenID}); err != nil {
		if _, api := awsproto.AsError(err); !api {
			s.log.Warn("could not delete a launch's join token", "token", l.JoinTokenID, "err", err)
		}
	}
}

// put writes a record the scaler alone writes (launches, readings).
func (s *Scaler) put(ctx context.Context, key string, v any) error {
	_, err := s.cfg.Store.Commit(ctx, store.Txn{Ops: []store.Op{state.Put(key, v)}})
	return err
}

// record stores a group's reading when it changed.
func (s *Scaler) record(ctx context.Context, g *group, r state.CapacityScaling) error {
	key := state.CapacityScalingKey(g.cluster, g.provider)
	cur, _, err := state.Get[state.CapacityScaling](ctx, s.cfg.Store, key)
	if err == nil {
		cur.UpdatedAt = nil
		if *cur == r {
			return nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	r.UpdatedAt = model.NewTime(s.now())
	return s.put(ctx, key, r)
}
