package elbapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// The XML shapes of the answers. Go field names are the element names.

type xLoadBalancer struct {
	LoadBalancerArn       string
	DNSName               string
	CanonicalHostedZoneId string
	CreatedTime           string
	LoadBalancerName      string
	Scheme                string
	VpcId                 string
	State                 xLBState
	Type                  string
	AvailabilityZones     members[xAvailabilityZone]
	SecurityGroups        members[string] `xml:",omitempty"`
	IpAddressType         string
}

type xLBState struct {
	Code string
}

type xAvailabilityZone struct {
	ZoneName string
	SubnetId string
}

type xTargetGroup struct {
	TargetGroupArn             string
	TargetGroupName            string
	Protocol                   string
	Port                       int32
	VpcId                      string
	HealthCheckProtocol        string
	HealthCheckPort            string
	HealthCheckEnabled         bool
	HealthCheckIntervalSeconds int32
	HealthCheckTimeoutSeconds  int32
	HealthyThresholdCount      int32
	UnhealthyThresholdCount    int32
	HealthCheckPath            string    `xml:",omitempty"`
	Matcher                    *xMatcher `xml:",omitempty"`
	LoadBalancerArns           members[string]
	TargetType                 string
	ProtocolVersion            string `xml:",omitempty"`
	IpAddressType              string
}

type xMatcher struct {
	HttpCode string
}

type xListener struct {
	ListenerArn     string
	LoadBalancerArn string
	Port            int32
	Protocol        string
	DefaultActions  members[xAction]
}

type xAction struct {
	Type                string
	TargetGroupArn      string          `xml:",omitempty"`
	Order               int32           `xml:",omitempty"`
	ForwardConfig       *xForwardConfig `xml:",omitempty"`
	FixedResponseConfig *xFixedResponse `xml:",omitempty"`
}

type xForwardConfig struct {
	TargetGroups                members[xTargetGroupTuple]
	TargetGroupStickinessConfig xStickiness
}

type xTargetGroupTuple struct {
	TargetGroupArn string
	Weight         int32
}

type xStickiness struct {
	Enabled         bool
	DurationSeconds int32 `xml:",omitempty"`
}

type xFixedResponse struct {
	MessageBody string `xml:",omitempty"`
	StatusCode  string
	ContentType string `xml:",omitempty"`
}

type xRule struct {
	RuleArn    string
	Priority   string
	Conditions members[xCondition]
	Actions    members[xAction]
	IsDefault  bool
}

type xCondition struct {
	Field             string
	Values            members[string]   `xml:",omitempty"`
	HostHeaderConfig  *xConditionValues `xml:",omitempty"`
	PathPatternConfig *xConditionValues `xml:",omitempty"`
}

type xConditionValues struct {
	Values members[string]
}

type xTargetHealthDescription struct {
	Target          xTarget
	HealthCheckPort string
	TargetHealth    xTargetHealth
}

type xTarget struct {
	Id               string
	Port             int32
	AvailabilityZone string `xml:",omitempty"`
}

type xTargetHealth struct {
	State       string
	Reason      string `xml:",omitempty"`
	Description string `xml:",omitempty"`
}

type xAttribute struct {
	Key   string
	Value string
}

type xTag struct {
	Key   string
	Value string
}

type xTagDescription struct {
	ResourceArn string
	Tags        members[xTag]
}

// Inputs shared by several operations.

type tagIn struct {
	Key   *string `q:"Key"`
	Value string  `q:"Value"`
}

type actionIn struct {
	Type                string           `q:"Type"`
	TargetGroupArn      string           `q:"TargetGroupArn"`
	Order               *int32           `q:"Order"`
	ForwardConfig       *forwardIn       `q:"ForwardConfig"`
	FixedResponseConfig *fixedResponseIn `q:"FixedResponseConfig"`
	RedirectConfig      *struct{}        `q:"RedirectConfig"`
}

type forwardIn struct {
	TargetGroups                []tupleIn     `q:"TargetGroups"`
	TargetGroupStickinessConfig *stickinessIn `q:"TargetGroupStickinessConfig"`
}

type tupleIn struct {
	TargetGroupArn string `q:"TargetGroupArn"`
	Weight         *int32 `q:"Weight"`
}

type stickinessIn struct {
	Enabled         *bool  `q:"Enabled"`
	DurationSeconds *int32 `q:"DurationSeconds"`
}

type fixedResponseIn struct {
	MessageBody string `q:"MessageBody"`
	StatusCode  string `q:"StatusCode"`
	ContentType string `q:"ContentType"`
}

type attributeIn struct {
	Key   string `q:"Key"`
	Value string `q:"Value"`
}

// Conversions from the stored records.

func (a *API) lbShape(lb *state.LoadBalancer) xLoadBalancer {
	x := xLoadBalancer{
		LoadBalancerArn: lb.Arn, DNSName: lb.DNSName, CanonicalHostedZoneId: hostedZoneID,
		CreatedTime: timestamp(lb.CreatedTime), LoadBalancerName: lb.Name, Scheme: lb.Scheme,
		VpcId: vpcID, State: xLBState{Code: "active"}, Type: lb.Type,
		SecurityGroups: members[string](lb.SecurityGroups), IpAddressType: lb.IPAddressType,
	}
	subnets := lb.Subnets
	if len(subnets) == 0 {
		subnets = []string{defaultSubnet}
	}
	for _, s := range subnets {
		x.AvailabilityZones = append(x.AvailabilityZones, xAvailabilityZone{ZoneName: zoneName, SubnetId: s})
	}
	return x
}

// Fixed values Wharf answers where AWS names its networking.
const (
	hostedZoneID  = "ZWHARFLOCAL000"
	vpcID         = "vpc-wharf"
	defaultSubnet = "subnet-wharf"
	zoneName      = "local"
)

func tgShape(tg *state.TargetGroup, lbArns []string) xTargetGroup {
	hc := tg.HealthCheck
	x := xTargetGroup{
		TargetGroupArn: tg.Arn, TargetGroupName: tg.Name, Protocol: tg.Protocol, Port: tg.Port, VpcId: tg.VpcID,
		HealthCheckProtocol: hc.Protocol, HealthCheckPort: hc.Port, HealthCheckEnabled: hc.Enabled,
		HealthCheckIntervalSeconds: hc.IntervalSeconds, HealthCheckTimeoutSeconds: hc.TimeoutSeconds,
		HealthyThresholdCount: hc.HealthyThreshold, UnhealthyThresholdCount: hc.UnhealthyThreshold,
		HealthCheckPath: hc.Path, LoadBalancerArns: members[string](lbArns), TargetType: tg.TargetType,
		ProtocolVersion: tg.ProtocolVersion, IpAddressType: tg.IPAddressType,
	}
	if x.LoadBalancerArns == nil {
		x.LoadBalancerArns = members[string]{}
	}
	if hc.Matcher != "" {
		x.Matcher = &xMatcher{HttpCode: hc.Matcher}
	}
	return x
}

func actionShapes(actions []state.ELBAction) members[xAction] {
	out := make(members[xAction], 0, len(actions))
	for _, a := range actions {
		x := xAction{Type: a.Type, Order: a.Order}
		switch a.Type {
		case actionForward:
			tgs := a.TargetGroupArns()
			if len(tgs) == 1 {
				x.TargetGroupArn = tgs[0]
			}
			fc := &xForwardConfig{TargetGroups: members[xTargetGroupTuple]{}}
			for i, arn := range tgs {
				w := int32(1)
				if len(a.Forward) > i && a.Forward[i].Weight != nil {
					w = *a.Forward[i].Weight
				}
				fc.TargetGroups = append(fc.TargetGroups, xTargetGroupTuple{TargetGroupArn: arn, Weight: w})
			}
			if a.Stickiness != nil {
				fc.TargetGroupStickinessConfig.Enabled = a.Stickiness.Enabled
				if a.Stickiness.DurationSeconds != nil {
					fc.TargetGroupStickinessConfig.DurationSeconds = *a.Stickiness.DurationSeconds
				}
			}
			x.ForwardConfig = fc
		case actionFixedResponse:
			if fr := a.FixedResponse; fr != nil {
				x.FixedResponseConfig = &xFixedResponse{MessageBody: fr.MessageBody, StatusCode: fr.StatusCode, ContentType: fr.ContentType}
			}
		}
		out = append(out, x)
	}
	return out
}

func listenerShape(l *state.Listener) xListener {
	return xListener{ListenerArn: l.Arn, LoadBalancerArn: l.LoadBalancerArn, Port: l.Port, Protocol: l.Protocol,
		DefaultActions: actionShapes(l.DefaultActions)}
}

func ruleShape(r *state.Rule) xRule {
	x := xRule{RuleArn: r.Arn, Priority: strconv.Itoa(int(r.Priority)), Actions: actionShapes(r.Actions),
		Conditions: members[xCondition]{}}
	for _, c := range r.Conditions {
		xc := xCondition{Field: c.Field, Values: members[string](c.Values)}
		vals := &xConditionValues{Values: members[string](c.Values)}
		switch c.Field {
		case fieldHostHeader:
			xc.HostHeaderConfig = vals
		case fieldPathPattern:
			xc.PathPatternConfig = vals
		}
		x.Conditions = append(x.Conditions, xc)
	}
	return x
}

func (a *API) defaultRuleShape(l *state.Listener, lbType, lbName string) xRule {
	return xRule{
		RuleArn:    a.arns.rule(lbType, lbName, l.LoadBalancerID, l.ID, defaultRuleID(l.ID)),
		Priority:   "default",
		Conditions: members[xCondition]{},
		Actions:    actionShapes(l.DefaultActions),
		IsDefault:  true,
	}
}

func tagShapes(tags []state.ELBTag) members[xTag] {
	out := make(members[xTag], 0, len(tags))
	for _, t := range tags {
		out = append(out, xTag{Key: t.Key, Value: t.Value})
	}
	return out
}

func attributeShapes(attrs map[string]string, order []string) members[xAttribute] {
	out := make(members[xAttribute], 0, len(order))
	for _, k := range order {
		if v, ok := attrs[k]; ok {
			out = append(out, xAttribute{Key: k, Value: v})
		}
	}
	return out
}

// Helpers shared by the operations.

// maxRetries bounds how often a write that lost a race is retried.
const maxRetries = 20

func retry(ctx context.Context, fn func() error) error {
	var err error
	for i := 0; i < maxRetries; i++ {
		err = fn()
		if !store.IsConflict(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("the request lost %d races with concurrent writers: %w", maxRetries, err)
}

// newRequestID is a random UUID, the form AWS request IDs take.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
