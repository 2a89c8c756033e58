package elbapi

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/wharf-ecs/wharf/internal/lb"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

type healthCheckIn struct {
	HealthCheckProtocol        string     `q:"HealthCheckProtocol"`
	HealthCheckPort            string     `q:"HealthCheckPort"`
	HealthCheckEnabled         *bool      `q:"HealthCheckEnabled"`
	HealthCheckPath            *string    `q:"HealthCheckPath"`
	HealthCheckIntervalSeconds *int32     `q:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  *int32     `q:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      *int32     `q:"HealthyThresholdCount"`
	UnhealthyThresholdCount    *int32     `q:"UnhealthyThresholdCount"`
	Matcher                    *matcherIn `q:"Matcher"`
}

type matcherIn struct {
	HttpCode string `q:"HttpCode"`
	GrpcCode string `q:"GrpcCode"`
}

type createTargetGroupInput struct {
	Name            string  `q:"Name"`
	Protocol        string  `q:"Protocol"`
	ProtocolVersion string  `q:"ProtocolVersion"`
	Port            *int32  `q:"Port"`
	VpcId           string  `q:"VpcId"`
	TargetType      string  `q:"TargetType"`
	IpAddressType   string  `q:"IpAddressType"`
	Tags            []tagIn `q:"Tags"`
	healthCheckIn
}

type targetGroupsResult struct {
	TargetGroups members[xTargetGroup]
	NextMarker   string `xml:",omitempty"`
}

// Target group attributes.
const (
	attrDeregistrationDelay = "deregistration_delay.timeout_seconds"
	attrAlgorithm           = "load_balancing.algorithm.type"
	attrConnTermination     = "deregistration_delay.connection_termination.enabled"
)

// Algorithms of load_balancing.algorithm.type.
const (
	algoRoundRobin = "round_robin"
	algoLeastOut   = "least_outstanding_requests"
)

// tgAttributeDefaults are every attribute a target group answers, with
// ELB's defaults; those Wharf does not honour accept only these values.
func tgAttributeDefaults(protocol string) map[string]string {
	if protocol == protoTCP {
		return map[string]string{
			attrDeregistrationDelay:             "300",
			attrConnTermination:                 "false",
			"preserve_client_ip.enabled":        "false",
			"proxy_protocol_v2.enabled":         "false",
			"stickiness.enabled":                "false",
			"stickiness.type":                   "source_ip",
			"load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
		}
	}
	return map[string]string{
		attrDeregistrationDelay:                 "300",
		attrAlgorithm:                           algoRoundRobin,
		"slow_start.duration_seconds":           "0",
		"stickiness.enabled":                    "false",
		"stickiness.type":                       "lb_cookie",
		"stickiness.lb_cookie.duration_seconds": "86400",
		"load_balancing.cross_zone.enabled":     "use_load_balancer_configuration",
	}
}

// healthCheck applies in on top of cur (nil for a new group with the
// protocol's defaults) and checks the result.
func healthCheck(protocol string, cur *state.HealthCheck, in *healthCheckIn) (state.HealthCheck, error) {
	var hc state.HealthCheck
	if cur != nil {
		hc = *cur
	} else {
		hc = state.HealthCheck{Enabled: true, Protocol: protocol, Port: "traffic-port", IntervalSeconds: 30,
			HealthyThreshold: 5, UnhealthyThreshold: 2}
	}
	if in.HealthCheckProtocol != "" && in.HealthCheckProtocol != hc.Protocol {
		switch {
		case in.HealthCheckProtocol == protoHTTP:
		case in.HealthCheckProtocol == protoTCP && protocol == protoTCP:
		case in.HealthCheckProtocol == "HTTPS":
			return hc, apiErr(codeInvalidConfiguration, "HTTPS health checks are not supported by Wharf; use HealthCheckProtocol HTTP.")
		default:
			return hc, validation("Health check protocol '%s' is not supported for target groups with the %s protocol; use HTTP%s.",
				truncate(in.HealthCheckProtocol), protocol, map[bool]string{true: " or TCP"}[protocol == protoTCP])
		}
		if in.HealthCheckProtocol == protoTCP {
			hc.Path, hc.Matcher = "", ""
		}
		hc.Protocol = in.HealthCheckProtocol
	}
	if in.HealthCheckEnabled != nil && !*in.HealthCheckEnabled {
		return hc, apiErr(codeInvalidConfiguration, "Health checks are always enabled for target groups with target type instance or ip.")
	}
	if in.HealthCheckPort != "" {
		if in.HealthCheckPort != "traffic-port" {
			n, err := strconv.Atoi(in.HealthCheckPort)
			if err != nil || n < 1 || n > 65535 {
				return hc, validation("HealthCheckPort must be traffic-port or a port from 1 to 65535; got '%s'.", truncate(in.HealthCheckPort))
			}
		}
		hc.Port = in.HealthCheckPort
	}
	if in.HealthCheckPath != nil {
		if hc.Protocol == protoTCP {
			return hc, validation("A health check path cannot be set when the health check protocol is TCP.")
		}
		p := *in.HealthCheckPath
		if p == "" || p[0] != '/' || len(p) > 1024 {
			return hc, validation("HealthCheckPath must begin with '/' and be at most 1024 characters; got '%s'.", truncate(p))
		}
		hc.Path = p
	}
	if hc.Protocol == protoHTTP && hc.Path == "" {
		hc.Path = "/"
	}
	setRange := func(dst *int32, v *int32, name string, lo, hi int32) error {
		if v == nil {
			return nil
		}
		if *v < lo || *v > hi {
			return validation("%s must be between %d and %d; got %d.", name, lo, hi, *v)
		}
		*dst = *v
		return nil
	}
	for _, r := range []struct {
		dst    *int32
		v      *int32
		name   string
		lo, hi int32
	}{
		{&hc.IntervalSeconds, in.HealthCheckIntervalSeconds, "HealthCheckIntervalSeconds", 5, 300},
		{&hc.TimeoutSeconds, in.HealthCheckTimeoutSeconds, "HealthCheckTimeoutSeconds", 2, 120},
		{&hc.HealthyThreshold, in.HealthyThresholdCount, "HealthyThresholdCount", 2, 10},
		{&hc.UnhealthyThreshold, in.UnhealthyThresholdCount, "UnhealthyThresholdCount", 2, 10},
	} {
		if err := setRange(r.dst, r.v, r.name, r.lo, r.hi); err != nil {
			return hc, err
		}
	}
	if hc.TimeoutSeconds == 0 {
		switch {
		case protocol == protoHTTP:
			hc.TimeoutSeconds = 5
		case hc.Protocol == protoHTTP:
			hc.TimeoutSeconds = 6
		default:
			hc.TimeoutSeconds = 10
		}
		hc.TimeoutSeconds = min(hc.TimeoutSeconds, hc.IntervalSeconds-1)
	}
	if hc.TimeoutSeconds >= hc.IntervalSeconds {
		return hc, validation("Health check timeout (%d seconds) must be smaller than the interval (%d seconds).", hc.TimeoutSeconds, hc.IntervalSeconds)
	}
	if in.Matcher != nil {
		if in.Matcher.GrpcCode != "" {
			return hc, apiErr(codeInvalidConfiguration, "gRPC health checks are not supported by Wharf; give Matcher.HttpCode.")
		}
		if hc.Protocol != protoHTTP {
			return hc, validation("A matcher can be given only for HTTP health checks.")
		}
		hc.Matcher = in.Matcher.HttpCode
	}
	if hc.Protocol == protoHTTP {
		lo, hi, def := 200, 499, "200"
		if protocol == protoTCP {
			hi, def = 599, "200-399"
		}
		if hc.Matcher == "" {
			hc.Matcher = def
		}
		if _, err := lb.ParseMatcher(hc.Matcher, lo, hi); err != nil {
			return hc, validation("Matcher.HttpCode: %v.", err)
		}
	}
	return hc, nil
}

func (a *API) CreateTargetGroup(ctx context.Context, in *createTargetGroupInput) (any, error) {
	if err := validResourceName("Target group", in.Name); err != nil {
		return nil, err
	}
	switch in.Protocol {
	case protoHTTP, protoTCP:
	case "":
		return nil, validation("Protocol is required: HTTP for an application load balancer, TCP for a network load balancer.")
	case "HTTPS", "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC":
		return nil, apiErr(codeUnsupportedProtocol, "Target groups with the %s protocol are not supported by Wharf; use HTTP or TCP.", in.Protocol)
	default:
		return nil, validation("Invalid Protocol '%s': use HTTP or TCP.", truncate(in.Protocol))
	}
	if in.Port == nil {
		return nil, validation("Port is required for target groups with the %s protocol.", in.Protocol)
	}
	if *in.Port < 1 || *in.Port > 65535 {
		return nil, validation("Port must be between 1 and 65535; got %d.", *in.Port)
	}
	targetType := in.TargetType
	switch targetType {
	case "":
		targetType = targetInstance
	case targetInstance, targetIP:
	case "lambda", "alb":
		return nil, apiErr(codeInvalidConfiguration, "Target type %s is not supported by Wharf; use instance (container instances, as ECS services with bridge or host networking register) or ip.", targetType)
	default:
		return nil, validation("Invalid TargetType '%s': use instance or ip.", truncate(in.TargetType))
	}
	version := in.ProtocolVersion
	switch {
	case in.Protocol == protoTCP && version != "":
		return nil, validation("ProtocolVersion applies only to HTTP target groups.")
	case in.Protocol == protoHTTP && (version == "" || version == "HTTP1"):
		version = "HTTP1"
	case in.Protocol == protoHTTP:
		return nil, apiErr(codeInvalidConfiguration, "Protocol version %s is not supported by Wharf; use HTTP1.", truncate(version))
	}
	ipType := in.IpAddressType
	switch ipType {
	case "":
		ipType = "ipv4"
	case "ipv4", "ipv6":
	default:
		return nil, validation("Invalid IpAddressType '%s': use ipv4 or ipv6.", truncate(ipType))
	}
	hc, err := healthCheck(in.Protocol, nil, &in.healthCheckIn)
	if err != nil {
		return nil, err
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	vpc := in.VpcId
	if vpc == "" {
		vpc = vpcID
	}
	key := state.TargetGroupKey(in.Name)
	var out *state.TargetGroup
	err = retry(ctx, func() error {
		cur, _, err := state.Get[state.TargetGroup](ctx, a.st, key)
		switch {
		case err == nil:
			if cur.Protocol == in.Protocol && cur.Port == *in.Port && cur.TargetType == targetType && cur.HealthCheck == hc {
				out = cur // the same settings: CreateTargetGroup is idempotent
				return nil
			}
			return apiErr(codeDuplicateTargetGroup, "A target group with the name '%s' already exists with other settings; choose another name or delete it first.", in.Name)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		id := newID()
		tg := &state.TargetGroup{
			Arn: a.arns.targetGroup(in.Name, id), Name: in.Name, ID: id, Protocol: in.Protocol,
			ProtocolVersion: version, Port: *in.Port, TargetType: targetType, IPAddressType: ipType, VpcID: vpc,
			HealthCheck: hc, Attributes: tgAttributeDefaults(in.Protocol), Tags: tags, CreatedTime: a.now().UTC(),
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: 0}},
			Ops:   []store.Op{state.Put(key, tg)},
		})
		out = tg
		return err
	})
	if err != nil {
		return nil, err
	}
	return &targetGroupsResult{TargetGroups: members[xTargetGroup]{tgShape(out, nil)}}, nil
}

// targetGroup reads the target group an ARN names from the store.
func (a *API) targetGroup(ctx context.Context, arn string) (*state.TargetGroup, int64, error) {
	if arn == "" {
		return nil, 0, validation("TargetGroupArn is required.")
	}
	name, id, ok := a.arns.tgRef(arn)
	if !ok {
		return nil, 0, validation("'%s' is not a valid target group ARN.", truncate(arn))
	}
	tg, rev, err := state.Get[state.TargetGroup](ctx, a.st, state.TargetGroupKey(name))
	if errors.Is(err, store.ErrNotFound) || err == nil && (tg.ID != id || tg.Arn != arn) {
		return nil, 0, apiErr(codeTargetGroupNotFound, "Target group '%s' not found.", arn)
	}
	return tg, rev, err
}

type describeTargetGroupsInput struct {
	LoadBalancerArn string   `q:"LoadBalancerArn"`
	TargetGroupArns []string `q:"TargetGroupArns"`
	Names           []string `q:"Names"`
	Marker          string   `q:"Marker"`
	PageSize        *int32   `q:"PageSize"`
}

func (a *API) DescribeTargetGroups(ctx context.Context, in *describeTargetGroupsInput) (any, error) {
	given := 0
	for _, g := range []bool{in.LoadBalancerArn != "", len(in.TargetGroupArns) > 0, len(in.Names) > 0} {
		if g {
			given++
		}
	}
	if given > 1 {
		return nil, validation("Give at most one of LoadBalancerArn, TargetGroupArns and Names.")
	}
	if in.LoadBalancerArn != "" {
		if _, _, err := a.loadBalancer(ctx, in.LoadBalancerArn); err != nil {
			return nil, err
		}
	}
	if err := a.cat.current(ctx); err != nil {
		return nil, err
	}
	v := a.cat.snapshot()
	users := v.lbArnsOf()
	var tgs []*state.TargetGroup
	for _, tg := range v.tgs {
		switch {
		case in.LoadBalancerArn != "" && !slices.Contains(users[tg.Arn], in.LoadBalancerArn):
		case len(in.TargetGroupArns) > 0 && !slices.Contains(in.TargetGroupArns, tg.Arn):
		case len(in.Names) > 0 && !slices.Contains(in.Names, tg.Name):
		default:
			tgs = append(tgs, tg)
		}
	}
	if n := len(in.TargetGroupArns) + len(in.Names); n > 0 && len(tgs) < n {
		var miss []string
		for _, arn := range in.TargetGroupArns {
			if !slices.ContainsFunc(tgs, func(tg *state.TargetGroup) bool { return tg.Arn == arn }) {
				miss = append(miss, truncate(arn))
			}
		}
		for _, name := range in.Names {
			if !slices.ContainsFunc(tgs, func(tg *state.TargetGroup) bool { return tg.Name == name }) {
				miss = append(miss, truncate(name))
			}
		}
		return nil, apiErr(codeTargetGroupNotFound, "One or more target groups not found: %s.", joinQuoted(miss))
	}
	page, next, err := pageOf(tgs, func(tg *state.TargetGroup) string { return tg.Name }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &targetGroupsResult{TargetGroups: members[xTargetGroup]{}, NextMarker: next}
	for _, tg := range page {
		out.TargetGroups = append(out.TargetGroups, tgShape(tg, users[tg.Arn]))
	}
	return out, nil
}

type modifyTargetGroupInput struct {
	TargetGroupArn string `q:"TargetGroupArn"`
	healthCheckIn
}

func (a *API) ModifyTargetGroup(ctx context.Context, in *modifyTargetGroupInput) (any, error) {
	var out *state.TargetGroup
	err := retry(ctx, func() error {
		tg, rev, err := a.targetGroup(ctx, in.TargetGroupArn)
		if err != nil {
			return err
		}
		hc, err := healthCheck(tg.Protocol, &tg.HealthCheck, &in.healthCheckIn)
		if err != nil {
			return err
		}
		tg.HealthCheck = hc
		out = tg
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.TargetGroupKey(tg.Name), Revision: rev}},
			Ops:   []store.Op{state.Put(state.TargetGroupKey(tg.Name), tg)},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := a.cat.current(ctx); err != nil {
		return nil, err
	}
	return &targetGroupsResult{TargetGroups: members[xTargetGroup]{tgShape(out, a.cat.snapshot().lbArnsOf()[out.Arn])}}, nil
}

type targetGroupArnInput struct {
	TargetGroupArn string `q:"TargetGroupArn"`
}

func (a *API) DescribeTargetGroupAttributes(ctx context.Context, in *targetGroupArnInput) (any, error) {
	tg, _, err := a.targetGroup(ctx, in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	return &attributesResult{Attributes: attributeShapes(tg.Attributes, sortedKeys(tg.Attributes))}, nil
}

type modifyTargetGroupAttributesInput struct {
	TargetGroupArn string        `q:"TargetGroupArn"`
	Attributes     []attributeIn `q:"Attributes"`
}

func (a *API) ModifyTargetGroupAttributes(ctx context.Context, in *modifyTargetGroupAttributesInput) (any, error) {
	if len(in.Attributes) == 0 {
		return nil, validation("Attributes is required: give at least one Key and Value.")
	}
	var attrs map[string]string
	err := retry(ctx, func() error {
		tg, rev, err := a.targetGroup(ctx, in.TargetGroupArn)
		if err != nil {
			return err
		}
		defaults := tgAttributeDefaults(tg.Protocol)
		next := map[string]string{}
		for k, v := range tg.Attributes {
			next[k] = v
		}
		for _, at := range in.Attributes {
			if err := checkTargetGroupAttribute(tg.Protocol, defaults, at); err != nil {
				return err
			}
			next[at.Key] = at.Value
		}
		tg.Attributes = next
		if _, err := a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.TargetGroupKey(tg.Name), Revision: rev}},
			Ops:   []store.Op{state.Put(state.TargetGroupKey(tg.Name), tg)},
		}); err != nil {
			return err
		}
		attrs = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &attributesResult{Attributes: attributeShapes(attrs, sortedKeys(attrs))}, nil
}

func checkTargetGroupAttribute(protocol string, defaults map[string]string, at attributeIn) error {
	def, known := defaults[at.Key]
	switch {
	case !known:
		return validation("Target group attribute key '%s' is not recognized for a %s target group.", truncate(at.Key), protocol)
	case at.Key == attrDeregistrationDelay:
		n, err := strconv.Atoi(at.Value)
		if err != nil || n < 0 || n > 3600 {
			return validation("%s must be a number of seconds from 0 to 3600; got '%s'.", at.Key, truncate(at.Value))
		}
	case at.Key == attrAlgorithm:
		if at.Value != algoRoundRobin && at.Value != algoLeastOut {
			if at.Value == "weighted_random" {
				return apiErr(codeInvalidConfiguration, "The weighted_random algorithm is not supported by Wharf; use round_robin or least_outstanding_requests.")
			}
			return validation("%s must be round_robin or least_outstanding_requests; got '%s'.", at.Key, truncate(at.Value))
		}
	case at.Key == attrConnTermination:
		if at.Value != "true" && at.Value != "false" {
			return validation("%s must be true or false.", at.Key)
		}
	case at.Value != def:
		return apiErr(codeInvalidConfiguration, "Wharf supports only %s=%s.", at.Key, def)
	}
	return nil
}

// DeleteTargetGroup deletes a target group that no listener or rule uses,
// with its registrations. Deleting one that does not exist succeeds, as in
// ELB.
func (a *API) DeleteTargetGroup(ctx context.Context, in *targetGroupArnInput) (any, error) {
	err := retry(ctx, func() error {
		// The group is read before the listeners and rules: a reference
		// created after this read rewrites the group, failing the
		// condition below.
		tg, rev, err := a.targetGroup(ctx, in.TargetGroupArn)
		if code, ok := errorCode(err); ok && code == codeTargetGroupNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if user, err := state.TargetGroupUser(ctx, a.st, tg.Arn); err != nil {
			return err
		} else if user != "" {
			return apiErr(codeResourceInUse, "Target group '%s' is currently in use by a listener or a rule (%s); delete or change it first.", tg.Arn, user)
		}
		txn := store.Txn{Conds: []store.Cond{{Key: state.TargetGroupKey(tg.Name), Revision: rev}},
			Ops: []store.Op{state.Delete(state.TargetGroupKey(tg.Name))}}
		targets, _, err := a.st.List(ctx, state.TargetGroupTargetsPrefix(tg.ID), store.ListOptions{})
		if err != nil {
			return err
		}
		for _, kv := range targets {
			txn.Ops = append(txn.Ops, state.Delete(kv.Key))
		}
		_, err = a.st.Commit(ctx, txn)
		return err
	})
	return nil, err
}
