package elbapi

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sort"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

const maxListenersPerLB = 50

type createListenerInput struct {
	LoadBalancerArn string     `q:"LoadBalancerArn"`
	Protocol        string     `q:"Protocol"`
	Port            *int32     `q:"Port"`
	SslPolicy       string     `q:"SslPolicy"`
	Certificates    []struct{} `q:"Certificates"`
	DefaultActions  []actionIn `q:"DefaultActions"`
	AlpnPolicy      []string   `q:"AlpnPolicy"`
	Tags            []tagIn    `q:"Tags"`
}

type listenersResult struct {
	Listeners  members[xListener]
	NextMarker string `xml:",omitempty"`
}

// listenerProtocol checks a listener protocol against the load balancer's
// type: HTTP for application load balancers, TCP for network ones.
func listenerProtocol(lb *state.LoadBalancer, protocol string) error {
	want := protoHTTP
	if lb.Type == lbNetwork {
		want = protoTCP
	}
	switch {
	case protocol == want:
		return nil
	case protocol == "":
		return validation("Protocol is required: %s for a %s load balancer.", want, lb.Type)
	case protocol == "HTTPS" || protocol == "TLS":
		return apiErr(codeUnsupportedProtocol, "%s listeners need certificates from AWS Certificate Manager, which Wharf does not have; use %s and terminate TLS in front of Wharf or in the task.", protocol, want)
	case protocol == "UDP" || protocol == "TCP_UDP" || protocol == "QUIC" || protocol == "TCP_QUIC":
		return apiErr(codeUnsupportedProtocol, "%s listeners are not supported by Wharf; use %s.", protocol, want)
	case protocol == protoHTTP || protocol == protoTCP:
		return apiErr(codeIncompatibleProtocols, "A %s load balancer's listeners use %s, not %s.", lb.Type, want, protocol)
	}
	return validation("Invalid Protocol '%s': use %s.", truncate(protocol), want)
}

func checkPort(p *int32) error {
	if p == nil {
		return validation("Port is required: the host port the listener binds, from 1 to 65535.")
	}
	if *p < 1 || *p > 65535 {
		return validation("Port must be between 1 and 65535; got %d.", *p)
	}
	return nil
}

func (a *API) CreateListener(ctx context.Context, in *createListenerInput) (any, error) {
	if err := checkPort(in.Port); err != nil {
		return nil, err
	}
	if in.SslPolicy != "" || len(in.Certificates) > 0 || len(in.AlpnPolicy) > 0 {
		return nil, validation("SslPolicy, Certificates and AlpnPolicy apply only to HTTPS and TLS listeners, which Wharf does not support.")
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	var out *state.Listener
	err = retry(ctx, func() error {
		lb, lbRev, err := a.loadBalancer(ctx, in.LoadBalancerArn)
		if err != nil {
			return err
		}
		if err := listenerProtocol(lb, in.Protocol); err != nil {
			return err
		}
		acts, err := a.checkActions(ctx, lb, in.Protocol, in.DefaultActions)
		if err != nil {
			return err
		}
		existing, _, err := state.List[state.Listener](ctx, a.st, state.LoadBalancerListenersPrefix(lb.ID), store.ListOptions{})
		if err != nil {
			return err
		}
		for _, l := range existing {
			if l.Val.Port != *in.Port {
				continue
			}
			if l.Val.Protocol == in.Protocol && reflect.DeepEqual(l.Val.DefaultActions, acts.actions) {
				out = l.Val // the same settings: CreateListener is idempotent
				return nil
			}
			return apiErr(codeDuplicateListener, "Load balancer '%s' already has a listener on port %d.", lb.Arn, *in.Port)
		}
		if len(existing) >= maxListenersPerLB {
			return apiErr(codeTooManyListeners, "A load balancer can have at most %d listeners.", maxListenersPerLB)
		}
		portKey := state.ListenerPortKey(*in.Port)
		if err := a.portFree(ctx, *in.Port); err != nil {
			return err
		}
		id := newID()
		l := &state.Listener{
			Arn: a.arns.listener(lb.Type, lb.Name, lb.ID, id), ID: id, LoadBalancerArn: lb.Arn, LoadBalancerID: lb.ID,
			Port: *in.Port, Protocol: in.Protocol, DefaultActions: acts.actions, Tags: tags,
		}
		conds, ops := acts.ops()
		lbKey := state.LoadBalancerKey(lb.Name)
		conds = append(conds, store.Cond{Key: lbKey, Revision: lbRev}, store.Cond{Key: portKey, Revision: 0})
		ops = append(ops, state.Put(lbKey, lb), state.Put(portKey, state.PortClaim{ListenerArn: l.Arn}),
			state.Put(state.ListenerKey(lb.ID, id), l))
		_, err = a.st.Commit(ctx, store.Txn{Conds: conds, Ops: ops})
		out = l
		return err
	})
	if err != nil {
		return nil, err
	}
	return &listenersResult{Listeners: members[xListener]{listenerShape(out)}}, nil
}

// portFree checks that no listener of any load balancer binds port.
func (a *API) portFree(ctx context.Context, port int32) error {
	claim, _, err := state.Get[state.PortClaim](ctx, a.st, state.ListenerPortKey(port))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	return apiErr(codeDuplicateListener, "Port %d is already used by listener '%s'. Every Wharf load balancer binds its listeners on the Wharf host's addresses, so a port serves one listener of one load balancer; choose another port.", port, claim.ListenerArn)
}

// listener reads the listener an ARN names from the store.
func (a *API) listener(ctx context.Context, arn string) (*state.Listener, int64, error) {
	if arn == "" {
		return nil, 0, validation("ListenerArn is required.")
	}
	lbID, id, ok := a.arns.listenerRef(arn)
	if !ok {
		return nil, 0, validation("'%s' is not a valid listener ARN.", truncate(arn))
	}
	l, rev, err := state.Get[state.Listener](ctx, a.st, state.ListenerKey(lbID, id))
	if errors.Is(err, store.ErrNotFound) || err == nil && l.Arn != arn {
		return nil, 0, apiErr(codeListenerNotFound, "Listener '%s' not found.", arn)
	}
	return l, rev, err
}

type describeListenersInput struct {
	LoadBalancerArn string   `q:"LoadBalancerArn"`
	ListenerArns    []string `q:"ListenerArns"`
	Marker          string   `q:"Marker"`
	PageSize        *int32   `q:"PageSize"`
}

func (a *API) DescribeListeners(ctx context.Context, in *describeListenersInput) (any, error) {
	switch {
	case in.LoadBalancerArn == "" && len(in.ListenerArns) == 0:
		return nil, validation("You must specify either listener ARNs or a load balancer ARN.")
	case in.LoadBalancerArn != "" && len(in.ListenerArns) > 0:
		return nil, validation("Give ListenerArns or LoadBalancerArn, not both.")
	}
	var lbID string
	if in.LoadBalancerArn != "" {
		lb, _, err := a.loadBalancer(ctx, in.LoadBalancerArn)
		if err != nil {
			return nil, err
		}
		lbID = lb.ID
	}
	if err := a.cat.current(ctx); err != nil {
		return nil, err
	}
	var ls []*state.Listener
	for _, l := range a.cat.snapshot().listeners {
		if lbID != "" && l.LoadBalancerID == lbID || slices.Contains(in.ListenerArns, l.Arn) {
			ls = append(ls, l)
		}
	}
	if len(in.ListenerArns) > 0 && len(ls) < len(in.ListenerArns) {
		var miss []string
		for _, arn := range in.ListenerArns {
			if !slices.ContainsFunc(ls, func(l *state.Listener) bool { return l.Arn == arn }) {
				miss = append(miss, truncate(arn))
			}
		}
		return nil, apiErr(codeListenerNotFound, "One or more listeners not found: %s.", joinQuoted(miss))
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].Arn < ls[j].Arn })
	page, next, err := pageOf(ls, func(l *state.Listener) string { return l.Arn }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &listenersResult{Listeners: members[xListener]{}, NextMarker: next}
	for _, l := range page {
		out.Listeners = append(out.Listeners, listenerShape(l))
	}
	return out, nil
}

type modifyListenerInput struct {
	ListenerArn    string     `q:"ListenerArn"`
	Port           *int32     `q:"Port"`
	Protocol       string     `q:"Protocol"`
	SslPolicy      string     `q:"SslPolicy"`
	Certificates   []struct{} `q:"Certificates"`
	DefaultActions []actionIn `q:"DefaultActions"`
	AlpnPolicy     []string   `q:"AlpnPolicy"`
}

// ModifyListener changes a listener's port, protocol or default actions.
func (a *API) ModifyListener(ctx context.Context, in *modifyListenerInput) (any, error) {
	if in.Port != nil {
		if err := checkPort(in.Port); err != nil {
			return nil, err
		}
	}
	if in.SslPolicy != "" || len(in.Certificates) > 0 || len(in.AlpnPolicy) > 0 {
		return nil, validation("SslPolicy, Certificates and AlpnPolicy apply only to HTTPS and TLS listeners, which Wharf does not support.")
	}
	var out *state.Listener
	err := retry(ctx, func() error {
		l, rev, err := a.listener(ctx, in.ListenerArn)
		if err != nil {
			return err
		}
		lb, _, err := a.loadBalancer(ctx, l.LoadBalancerArn)
		if err != nil {
			return err
		}
		var conds []store.Cond
		var ops []store.Op
		if in.Protocol != "" {
			if err := listenerProtocol(lb, in.Protocol); err != nil {
				return err
			}
		}
		if len(in.DefaultActions) > 0 {
			acts, err := a.checkActions(ctx, lb, l.Protocol, in.DefaultActions)
			if err != nil {
				return err
			}
			l.DefaultActions = acts.actions
			conds, ops = acts.ops()
		}
		if in.Port != nil && *in.Port != l.Port {
			if err := a.portFree(ctx, *in.Port); err != nil {
				return err
			}
			newKey := state.ListenerPortKey(*in.Port)
			conds = append(conds, store.Cond{Key: newKey, Revision: 0})
			ops = append(ops, state.Delete(state.ListenerPortKey(l.Port)), state.Put(newKey, state.PortClaim{ListenerArn: l.Arn}))
			l.Port = *in.Port
		}
		key := state.ListenerKey(l.LoadBalancerID, l.ID)
		conds = append(conds, store.Cond{Key: key, Revision: rev})
		ops = append(ops, state.Put(key, l))
		_, err = a.st.Commit(ctx, store.Txn{Conds: conds, Ops: ops})
		out = l
		return err
	})
	if err != nil {
		return nil, err
	}
	return &listenersResult{Listeners: members[xListener]{listenerShape(out)}}, nil
}

type listenerArnInput struct {
	ListenerArn string `q:"ListenerArn"`
}

func (a *API) DeleteListener(ctx context.Context, in *listenerArnInput) (any, error) {
	err := retry(ctx, func() error {
		l, rev, err := a.listener(ctx, in.ListenerArn)
		if err != nil {
			return err
		}
		ops, conds, err := a.listenerDeletion(ctx, state.ListenerKey(l.LoadBalancerID, l.ID), rev, l)
		if err != nil {
			return err
		}
		_, err = a.st.Commit(ctx, store.Txn{Conds: conds, Ops: ops})
		return err
	})
	return nil, err
}

// listenerDeletion is what deleting a listener takes: the listener, its
// rules and its port claim, on the condition that the listener (which every
// new rule rewrites) is still at rev.
func (a *API) listenerDeletion(ctx context.Context, key string, rev int64, l *state.Listener) ([]store.Op, []store.Cond, error) {
	ops := []store.Op{state.Delete(key)}
	conds := []store.Cond{{Key: key, Revision: rev}}
	rules, _, err := a.st.List(ctx, state.ListenerRulesPrefix(l.ID), store.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	for _, kv := range rules {
		ops = append(ops, state.Delete(kv.Key))
	}
	claim, _, err := state.Get[state.PortClaim](ctx, a.st, state.ListenerPortKey(l.Port))
	if err == nil && claim.ListenerArn == l.Arn {
		ops = append(ops, state.Delete(state.ListenerPortKey(l.Port)))
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	return ops, conds, nil
}
