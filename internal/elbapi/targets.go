package elbapi

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// HostAddressAttribute is the container instance attribute that gives the
// address load balancers reach the instance's host ports at (set it with
// `wharf agent --attribute wharf.host-address=10.0.0.5`). Without it,
// instance targets are reached on the loopback address, which is right when
// the agent runs on the Wharf server's host.
const HostAddressAttribute = "wharf.host-address"

// loopback is the address of instances that give no HostAddressAttribute.
const loopback = "127.0.0.1"

// InstanceAddress is the address a container instance's host ports are
// reached at.
func InstanceAddress(inst *state.ContainerInstance) string {
	for _, at := range inst.Attributes {
		if at.Name == HostAddressAttribute && at.Value != "" {
			if addr, err := netip.ParseAddr(at.Value); err == nil {
				return addr.String()
			}
		}
	}
	return loopback
}

// TargetSpec is one target to register.
type TargetSpec struct {
	ID               string
	Port             int32
	AvailabilityZone string
	Address          string
	// Service and TaskArn name the ECS service task behind the target, for
	// targets the service controller registers.
	Service, TaskArn string
}

// RegisterTargets registers targets in the target group tgArn (an ARN
// checked by the caller), in one transaction. A target already registered
// stays as it is; one that is draining is registered again, from the
// initial health state.
func RegisterTargets(ctx context.Context, st store.Store, now time.Time, tgArn string, targets []TargetSpec) error {
	name, id, ok := state.ParseTargetGroupArn(tgArn)
	if !ok {
		return apiErr(codeTargetGroupNotFound, "Target group '%s' not found.", tgArn)
	}
	tgKey := state.TargetGroupKey(name)
	return retry(ctx, func() error {
		tg, tgRev, err := state.Get[state.TargetGroup](ctx, st, tgKey)
		if errors.Is(err, store.ErrNotFound) || err == nil && tg.ID != id {
			return apiErr(codeTargetGroupNotFound, "Target group '%s' not found.", tgArn)
		}
		if err != nil {
			return err
		}
		txn := store.Txn{Conds: []store.Cond{{Key: tgKey, Revision: tgRev}}}
		seen := map[string]bool{}
		for _, t := range targets {
			key := state.TargetKey(tg.ID, t.ID, t.Port)
			if seen[key] {
				continue
			}
			seen[key] = true
			cur, rev, err := state.Get[state.Target](ctx, st, key)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			case cur.DrainUntil == nil:
				continue // registered already
			}
			rec := &state.Target{
				TargetGroupArn: tg.Arn, ID: t.ID, Port: t.Port, AvailabilityZone: t.AvailabilityZone, Address: t.Address,
				RegisteredAt: now.UTC(), Health: state.TargetInitial, Reason: "Elb.RegistrationInProgress",
				Description: "Target registration is in progress", HealthSince: now.UTC(),
				Service: t.Service, TaskArn: t.TaskArn,
			}
			txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: rev})
			txn.Ops = append(txn.Ops, state.Put(key, rec))
		}
		if len(txn.Ops) == 0 {
			return nil
		}
		_, err = st.Commit(ctx, txn)
		return err
	})
}

// TargetRef names a registration.
type TargetRef struct {
	ID   string
	Port int32
}

// DeregisterTargets starts draining the given targets of the target group
// tgArn: they receive no new requests, and are removed once the group's
// deregistration delay has passed (at once when it is 0). Targets that are
// not registered, or already draining, are left alone.
func DeregisterTargets(ctx context.Context, st store.Store, now time.Time, tgArn string, targets []TargetRef) error {
	name, id, ok := state.ParseTargetGroupArn(tgArn)
	if !ok {
		return apiErr(codeTargetGroupNotFound, "Target group '%s' not found.", tgArn)
	}
	return retry(ctx, func() error {
		tg, _, err := state.Get[state.TargetGroup](ctx, st, state.TargetGroupKey(name))
		if errors.Is(err, store.ErrNotFound) || err == nil && tg.ID != id {
			return apiErr(codeTargetGroupNotFound, "Target group '%s' not found.", tgArn)
		}
		if err != nil {
			return err
		}
		delay := DeregistrationDelay(tg)
		until := now.Add(delay).UTC()
		var txn store.Txn
		for _, t := range targets {
			key := state.TargetKey(tg.ID, t.ID, t.Port)
			cur, rev, err := state.Get[state.Target](ctx, st, key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				continue
			case err != nil:
				return err
			case cur.DrainUntil != nil:
				continue
			}
			txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: rev})
			if delay <= 0 {
				txn.Ops = append(txn.Ops, state.Delete(key))
				continue
			}
			cur.DrainUntil = &until
			txn.Ops = append(txn.Ops, state.Put(key, cur))
		}
		if len(txn.Ops) == 0 {
			return nil
		}
		_, err = st.Commit(ctx, txn)
		return err
	})
}

// DeregistrationDelay is how long the group's deregistered targets drain.
func DeregistrationDelay(tg *state.TargetGroup) time.Duration {
	n, err := strconv.Atoi(tg.Attributes[attrDeregistrationDelay])
	if err != nil {
		n = 300
	}
	return time.Duration(n) * time.Second
}

type targetIn struct {
	Id               string `q:"Id"`
	Port             *int32 `q:"Port"`
	AvailabilityZone string `q:"AvailabilityZone"`
}

type targetsInput struct {
	TargetGroupArn string     `q:"TargetGroupArn"`
	Targets        []targetIn `q:"Targets"`
}

// resolve checks the targets given for tg and resolves their addresses.
func (a *API) resolve(ctx context.Context, tg *state.TargetGroup, in []targetIn, register bool) ([]TargetSpec, error) {
	if len(in) == 0 {
		return nil, validation("Targets is required: give at least one target Id.")
	}
	if len(in) > maxTargets {
		return nil, apiErr(codeTooManyTargets, "At most %d targets can be given at once.", maxTargets)
	}
	var instances map[string]string // ec2InstanceId → address
	out := make([]TargetSpec, 0, len(in))
	for _, t := range in {
		if t.Id == "" {
			return nil, validation("Each target needs an Id.")
		}
		port := tg.Port
		if t.Port != nil {
			if *t.Port < 1 || *t.Port > 65535 {
				return nil, validation("Target port must be between 1 and 65535; got %d.", *t.Port)
			}
			port = *t.Port
		}
		spec := TargetSpec{ID: t.Id, Port: port, AvailabilityZone: t.AvailabilityZone}
		if !register {
			out = append(out, spec)
			continue
		}
		switch tg.TargetType {
		case targetIP:
			addr, err := netip.ParseAddr(t.Id)
			if err != nil || addr.Zone() != "" {
				return nil, apiErr(codeInvalidTarget, "The IP address '%s' is not valid: targets of an ip target group are IP addresses.", truncate(t.Id))
			}
			spec.ID, spec.Address = addr.String(), addr.String()
		default:
			if instances == nil {
				var err error
				if instances, err = a.instanceAddresses(ctx); err != nil {
					return nil, err
				}
			}
			addr, ok := instances[t.Id]
			if !ok {
				return nil, apiErr(codeInvalidTarget, "The following targets are not valid instances: '%s'. An instance target is the ec2InstanceId of a registered container instance (aws ecs describe-container-instances); for addresses, use a target group of target type ip.", truncate(t.Id))
			}
			spec.Address = addr
		}
		out = append(out, spec)
	}
	return out, nil
}

// instanceAddresses maps every container instance's ec2InstanceId to its
// address.
func (a *API) instanceAddresses(ctx context.Context) (map[string]string, error) {
	insts, _, err := state.List[state.ContainerInstance](ctx, a.st, state.InstancesPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(insts))
	for _, it := range insts {
		if it.Val.Ec2InstanceId != "" && it.Val.Status != "INACTIVE" {
			out[it.Val.Ec2InstanceId] = InstanceAddress(it.Val)
		}
	}
	return out, nil
}

func (a *API) RegisterTargets(ctx context.Context, in *targetsInput) (any, error) {
	tg, _, err := a.targetGroup(ctx, in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	specs, err := a.resolve(ctx, tg, in.Targets, true)
	if err != nil {
		return nil, err
	}
	existing, _, err := a.st.List(ctx, state.TargetGroupTargetsPrefix(tg.ID), store.ListOptions{Limit: maxTargets + 1})
	if err != nil {
		return nil, err
	}
	if len(existing)+len(specs) > maxTargets {
		return nil, apiErr(codeTooManyTargets, "A target group can have at most %d targets registered.", maxTargets)
	}
	return nil, RegisterTargets(ctx, a.st, a.now(), tg.Arn, specs)
}

func (a *API) DeregisterTargets(ctx context.Context, in *targetsInput) (any, error) {
	tg, _, err := a.targetGroup(ctx, in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	specs, err := a.resolve(ctx, tg, in.Targets, false)
	if err != nil {
		return nil, err
	}
	refs := make([]TargetRef, len(specs))
	for i, s := range specs {
		refs[i] = TargetRef{ID: s.ID, Port: s.Port}
	}
	return nil, DeregisterTargets(ctx, a.st, a.now(), tg.Arn, refs)
}

type describeTargetHealthInput struct {
	TargetGroupArn string     `q:"TargetGroupArn"`
	Targets        []targetIn `q:"Targets"`
	Include        []string   `q:"Include"`
}

type targetHealthResult struct {
	TargetHealthDescriptions members[xTargetHealthDescription]
}

// Health answers the state DescribeTargetHealth gives a registration of tg,
// with its reason and description.
func Health(t *state.Target, tg *state.TargetGroup, inUse bool) (st, reason, desc string) {
	switch {
	case t.DrainUntil != nil:
		return state.TargetDraining, "Target.DeregistrationInProgress", "Target deregistration is in progress"
	case !inUse:
		return state.TargetUnused, "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"
	case t.Health == state.TargetInitial:
		return state.TargetInitial, "Elb.InitialHealthChecking", "Initial health checks in progress"
	case t.Health == state.TargetHealthy:
		return state.TargetHealthy, "", ""
	}
	return t.Health, t.Reason, t.Description
}

func (a *API) DescribeTargetHealth(ctx context.Context, in *describeTargetHealthInput) (any, error) {
	tg, _, err := a.targetGroup(ctx, in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	regs, _, err := state.List[state.Target](ctx, a.st, state.TargetGroupTargetsPrefix(tg.ID), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	if err := a.cat.current(ctx); err != nil {
		return nil, err
	}
	inUse := len(a.cat.snapshot().lbArnsOf()[tg.Arn]) > 0
	out := &targetHealthResult{TargetHealthDescriptions: members[xTargetHealthDescription]{}}
	describe := func(t *state.Target) {
		st, reason, desc := Health(t, tg, inUse)
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, xTargetHealthDescription{
			Target:          xTarget{Id: t.ID, Port: t.Port, AvailabilityZone: t.AvailabilityZone},
			HealthCheckPort: healthCheckPort(tg, t.Port),
			TargetHealth:    xTargetHealth{State: st, Reason: reason, Description: desc},
		})
	}
	if len(in.Targets) == 0 {
		for _, r := range regs {
			describe(r.Val)
		}
		return out, nil
	}
	specs, err := a.resolve(ctx, tg, in.Targets, false)
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		found := false
		for _, r := range regs {
			if r.Val.ID == s.ID && r.Val.Port == s.Port {
				describe(r.Val)
				found = true
			}
		}
		if !found {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, xTargetHealthDescription{
				Target:          xTarget{Id: s.ID, Port: s.Port},
				HealthCheckPort: healthCheckPort(tg, s.Port),
				TargetHealth: xTargetHealth{State: state.TargetUnused, Reason: "Target.NotRegistered",
					Description: "Target is not registered to the target group"},
			})
		}
	}
	return out, nil
}

func healthCheckPort(tg *state.TargetGroup, port int32) string {
	if tg.HealthCheck.Port == "" || tg.HealthCheck.Port == "traffic-port" {
		return strconv.Itoa(int(port))
	}
	return tg.HealthCheck.Port
}
