package elbapi

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

type createLoadBalancerInput struct {
	Name           string      `q:"Name"`
	Subnets        []string    `q:"Subnets"`
	SubnetMappings []subnetMap `q:"SubnetMappings"`
	SecurityGroups []string    `q:"SecurityGroups"`
	Scheme         string      `q:"Scheme"`
	Tags           []tagIn     `q:"Tags"`
	Type           string      `q:"Type"`
	IpAddressType  string      `q:"IpAddressType"`
}

type subnetMap struct {
	SubnetId string `q:"SubnetId"`
}

type loadBalancersResult struct {
	LoadBalancers members[xLoadBalancer]
	NextMarker    string `xml:",omitempty"`
}

func (a *API) CreateLoadBalancer(ctx context.Context, in *createLoadBalancerInput) (any, error) {
	if err := validResourceName("Load balancer", in.Name); err != nil {
		return nil, err
	}
	if len(in.Name) >= len("internal-") && in.Name[:len("internal-")] == "internal-" {
		return nil, validation("Load balancer name '%s' cannot begin with 'internal-'.", in.Name)
	}
	typ := in.Type
	switch typ {
	case "":
		typ = lbApplication
	case lbApplication, lbNetwork:
	case "gateway":
		return nil, apiErr(codeInvalidConfiguration, "Gateway Load Balancers are not supported by Wharf; use Type application (HTTP) or network (TCP).")
	default:
		return nil, validation("Invalid Type '%s': use application or network.", truncate(in.Type))
	}
	scheme := in.Scheme
	switch scheme {
	case "":
		scheme = "internet-facing"
	case "internet-facing", "internal":
	default:
		return nil, apiErr(codeInvalidScheme, "Invalid Scheme '%s': use internet-facing or internal.", truncate(in.Scheme))
	}
	ipType := in.IpAddressType
	switch ipType {
	case "":
		ipType = "ipv4"
	case "ipv4", "dualstack", "dualstack-without-public-ipv4":
	default:
		return nil, validation("Invalid IpAddressType '%s': use ipv4 or dualstack.", truncate(in.IpAddressType))
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	subnets := append([]string(nil), in.Subnets...)
	for _, m := range in.SubnetMappings {
		subnets = append(subnets, m.SubnetId)
	}
	key := state.LoadBalancerKey(in.Name)
	var out *state.LoadBalancer
	err = retry(ctx, func() error {
		cur, _, err := state.Get[state.LoadBalancer](ctx, a.st, key)
		switch {
		case err == nil:
			if cur.Type == typ && cur.Scheme == scheme && cur.IPAddressType == ipType {
				out = cur // the same settings: CreateLoadBalancer is idempotent
				return nil
			}
			return apiErr(codeDuplicateLoadBalancer, "A load balancer with the name '%s' already exists with other settings; choose another name or delete it first.", in.Name)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		id := newID()
		lb := &state.LoadBalancer{
			Arn: a.arns.loadBalancer(typ, in.Name, id), Name: in.Name, ID: id, Type: typ, Scheme: scheme,
			IPAddressType: ipType, DNSName: a.cfg.DNSName, Subnets: subnets, SecurityGroups: in.SecurityGroups,
			CreatedTime: a.now().UTC(), Tags: tags,
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: 0}},
			Ops:   []store.Op{state.Put(key, lb)},
		})
		out = lb
		return err
	})
	if err != nil {
		return nil, err
	}
	return &loadBalancersResult{LoadBalancers: members[xLoadBalancer]{a.lbShape(out)}}, nil
}

type describeLoadBalancersInput struct {
	LoadBalancerArns []string `q:"LoadBalancerArns"`
	Names            []string `q:"Names"`
	Marker           string   `q:"Marker"`
	PageSize         *int32   `q:"PageSize"`
}

func (a *API) DescribeLoadBalancers(ctx context.Context, in *describeLoadBalancersInput) (any, error) {
	if len(in.LoadBalancerArns) > 0 && len(in.Names) > 0 {
		return nil, validation("Give LoadBalancerArns or Names, not both.")
	}
	if len(in.LoadBalancerArns) > 20 || len(in.Names) > 20 {
		return nil, validation("At most 20 load balancers can be described by ARN or name at once.")
	}
	if err := a.cat.current(ctx); err != nil {
		return nil, err
	}
	v := a.cat.snapshot()
	lbs := v.lbs
	if len(in.LoadBalancerArns) > 0 || len(in.Names) > 0 {
		lbs = nil
		for _, lb := range v.lbs {
			if slices.Contains(in.LoadBalancerArns, lb.Arn) || slices.Contains(in.Names, lb.Name) {
				lbs = append(lbs, lb)
			}
		}
		if len(lbs) < len(in.LoadBalancerArns)+len(in.Names) {
			return nil, apiErr(codeLoadBalancerNotFound, "One or more load balancers not found: %s.", missing(in.LoadBalancerArns, in.Names, lbs))
		}
	}
	page, next, err := pageOf(lbs, func(lb *state.LoadBalancer) string { return lb.Name }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &loadBalancersResult{LoadBalancers: members[xLoadBalancer]{}, NextMarker: next}
	for _, lb := range page {
		out.LoadBalancers = append(out.LoadBalancers, a.lbShape(lb))
	}
	return out, nil
}

// missing names the ARNs and names no load balancer answered to.
func missing(arns, names []string, found []*state.LoadBalancer) string {
	var out []string
	for _, arn := range arns {
		if !slices.ContainsFunc(found, func(lb *state.LoadBalancer) bool { return lb.Arn == arn }) {
			out = append(out, truncate(arn))
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(found, func(lb *state.LoadBalancer) bool { return lb.Name == n }) {
			out = append(out, truncate(n))
		}
	}
	return joinQuoted(out)
}

func joinQuoted(items []string) string {
	s := ""
	for i, it := range items {
		if i > 0 {
			s += ", "
		}
		s += "'" + it + "'"
	}
	return s
}

type loadBalancerArnInput struct {
	LoadBalancerArn string `q:"LoadBalancerArn"`
}

// loadBalancer reads the load balancer an ARN names from the store.
func (a *API) loadBalancer(ctx context.Context, arn string) (*state.LoadBalancer, int64, error) {
	if arn == "" {
		return nil, 0, validation("LoadBalancerArn is required.")
	}
	name, id, ok := a.arns.lbRef(arn)
	if !ok {
		return nil, 0, validation("'%s' is not a valid load balancer ARN.", truncate(arn))
	}
	lb, rev, err := state.Get[state.LoadBalancer](ctx, a.st, state.LoadBalancerKey(name))
	if errors.Is(err, store.ErrNotFound) || err == nil && (lb.ID != id || lb.Arn != arn) {
		return nil, 0, apiErr(codeLoadBalancerNotFound, "Load balancer '%s' not found.", arn)
	}
	return lb, rev, err
}

// DeleteLoadBalancer deletes a load balancer with its listeners and rules.
// Deleting one that does not exist succeeds, as in ELB.
func (a *API) DeleteLoadBalancer(ctx context.Context, in *loadBalancerArnInput) (any, error) {
	err := retry(ctx, func() error {
		lb, rev, err := a.loadBalancer(ctx, in.LoadBalancerArn)
		if e, ok := errorCode(err); ok && e == codeLoadBalancerNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if lb.Attributes[attrDeletionProtection] == "true" {
			return apiErr(codeOperationNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled; set deletion_protection.enabled to false first.", lb.Arn)
		}
		listeners, _, err := state.List[state.Listener](ctx, a.st, state.LoadBalancerListenersPrefix(lb.ID), store.ListOptions{})
		if err != nil {
			return err
		}
		txn := store.Txn{Conds: []store.Cond{{Key: state.LoadBalancerKey(lb.Name), Revision: rev}},
			Ops: []store.Op{state.Delete(state.LoadBalancerKey(lb.Name))}}
		for _, l := range listeners {
			ops, conds, err := a.listenerDeletion(ctx, l.Key, l.Rev, l.Val)
			if err != nil {
				return err
			}
			txn.Ops = append(txn.Ops, ops...)
			txn.Conds = append(txn.Conds, conds...)
		}
		_, err = a.st.Commit(ctx, txn)
		return err
	})
	return nil, err
}

// Load balancer attributes: those Wharf honours, and the rest of ELB's with
// the only value Wharf supports.
const (
	attrDeletionProtection = "deletion_protection.enabled"
	attrIdleTimeout        = "idle_timeout.timeout_seconds"
)

var albAttributeDefaults = map[string]string{
	attrDeletionProtection:                                     "false",
	attrIdleTimeout:                                            "60",
	"access_logs.s3.enabled":                                   "false",
	"routing.http2.enabled":                                    "false",
	"routing.http.drop_invalid_header_fields.enabled":          "false",
	"routing.http.xff_header_processing.mode":                  "append",
	"routing.http.preserve_host_header.enabled":                "true",
	"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
	"load_balancing.cross_zone.enabled":                        "true",
}

var nlbAttributeDefaults = map[string]string{
	attrDeletionProtection:              "false",
	"access_logs.s3.enabled":            "false",
	"load_balancing.cross_zone.enabled": "true",
}

func lbAttributeDefaults(typ string) map[string]string {
	if typ == lbNetwork {
		return nlbAttributeDefaults
	}
	return albAttributeDefaults
}

func lbAttributes(lb *state.LoadBalancer) map[string]string {
	out := map[string]string{}
	for k, v := range lbAttributeDefaults(lb.Type) {
		out[k] = v
	}
	for k, v := range lb.Attributes {
		out[k] = v
	}
	return out
}

type attributesResult struct {
	Attributes members[xAttribute]
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (a *API) DescribeLoadBalancerAttributes(ctx context.Context, in *loadBalancerArnInput) (any, error) {
	lb, _, err := a.loadBalancer(ctx, in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	attrs := lbAttributes(lb)
	return &attributesResult{Attributes: attributeShapes(attrs, sortedKeys(attrs))}, nil
}

type modifyLoadBalancerAttributesInput struct {
	LoadBalancerArn string        `q:"LoadBalancerArn"`
	Attributes      []attributeIn `q:"Attributes"`
}

func (a *API) ModifyLoadBalancerAttributes(ctx context.Context, in *modifyLoadBalancerAttributesInput) (any, error) {
	if len(in.Attributes) == 0 {
		return nil, validation("Attributes is required: give at least one Key and Value.")
	}
	var attrs map[string]string
	err := retry(ctx, func() error {
		lb, rev, err := a.loadBalancer(ctx, in.LoadBalancerArn)
		if err != nil {
			return err
		}
		defaults := lbAttributeDefaults(lb.Type)
		next := map[string]string{}
		for k, v := range lb.Attributes {
			next[k] = v
		}
		for _, at := range in.Attributes {
			def, known := defaults[at.Key]
			switch {
			case !known:
				return validation("Load balancer attribute key '%s' is not recognized for a %s load balancer.", truncate(at.Key), lb.Type)
			case at.Key == attrDeletionProtection:
				if at.Value != "true" && at.Value != "false" {
					return validation("%s must be true or false.", at.Key)
				}
			case at.Key == attrIdleTimeout:
				n, err := strconv.Atoi(at.Value)
				if err != nil || n < 1 || n > 4000 {
					return validation("%s must be a number of seconds from 1 to 4000.", at.Key)
				}
			case at.Value != def:
				return apiErr(codeInvalidConfiguration, "Wharf supports only %s=%s.", at.Key, def)
			}
			next[at.Key] = at.Value
		}
		lb.Attributes = next
		if _, err := a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.LoadBalancerKey(lb.Name), Revision: rev}},
			Ops:   []store.Op{state.Put(state.LoadBalancerKey(lb.Name), lb)},
		}); err != nil {
			return err
		}
		attrs = lbAttributes(lb)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &attributesResult{Attributes: attributeShapes(attrs, sortedKeys(attrs))}, nil
}
