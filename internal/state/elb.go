package state

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Elastic Load Balancing (v2) documents. Every key lives under "elb/" so the
// API's cache and the data plane follow one prefix:
//
//	elb/loadbalancers/NAME          LoadBalancer
//	elb/targetgroups/NAME           TargetGroup
//	elb/listeners/LBID/LISTENERID   Listener
//	elb/rules/LISTENERID/RULEID     Rule (not the default rule: the listener holds its actions)
//	elb/targets/TGID/ID/PORT        Target (a registration, with its health)
//	elb/ports/PORT                  PortClaim (the host port a listener binds)
//
// Every load balancer shares the host's addresses, so a listener port is
// unique across all of them; PortClaim makes that a store condition.
//
// Children keep their parents honest: creating a listener rewrites its load
// balancer, a rule its listener, and a reference to a target group that
// group, so that a delete conditioned on the parent's revision cannot miss a
// child created meanwhile. Registrations are the exception (they are many
// and frequent): registrations left behind by a deleted target group are
// removed by the API's janitor.
const (
	ELBPrefix           = "elb/"
	LoadBalancersPrefix = ELBPrefix + "loadbalancers/"
	TargetGroupsPrefix  = ELBPrefix + "targetgroups/"
	ListenersPrefix     = ELBPrefix + "listeners/"
	RulesPrefix         = ELBPrefix + "rules/"
	TargetsPrefix       = ELBPrefix + "targets/"
	ListenerPortsPrefix = ELBPrefix + "ports/"
)

// LoadBalancerKey is the key of a load balancer by name.
func LoadBalancerKey(name string) string { return LoadBalancersPrefix + name }

// TargetGroupKey is the key of a target group by name.
func TargetGroupKey(name string) string { return TargetGroupsPrefix + name }

// LoadBalancerListenersPrefix is the prefix of one load balancer's listeners.
func LoadBalancerListenersPrefix(lbID string) string { return ListenersPrefix + lbID + "/" }

// ListenerKey is the key of a listener.
func ListenerKey(lbID, listenerID string) string {
	return LoadBalancerListenersPrefix(lbID) + listenerID
}

// ListenerRulesPrefix is the prefix of one listener's rules.
func ListenerRulesPrefix(listenerID string) string { return RulesPrefix + listenerID + "/" }

// RuleKey is the key of a rule.
func RuleKey(listenerID, ruleID string) string { return ListenerRulesPrefix(listenerID) + ruleID }

// TargetGroupTargetsPrefix is the prefix of one target group's registrations.
func TargetGroupTargetsPrefix(tgID string) string { return TargetsPrefix + tgID + "/" }

// TargetKey is the key of one registration: a target ID and port. Target IDs
// (instance IDs, IP addresses) hold no '/'.
func TargetKey(tgID, targetID string, port int32) string {
	return TargetGroupTargetsPrefix(tgID) + targetID + "/" + fmt.Sprintf("%05d", port)
}

// ListenerPortKey is the key that claims a host port for one listener.
func ListenerPortKey(port int32) string { return ListenerPortsPrefix + fmt.Sprintf("%05d", port) }

// ELBTag is a tag of a load balancing resource.
type ELBTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// LoadBalancer is an application or network load balancer.
type LoadBalancer struct {
	Arn            string            `json:"arn"`
	Name           string            `json:"name"`
	ID             string            `json:"id"`
	Type           string            `json:"type"` // application or network
	Scheme         string            `json:"scheme"`
	IPAddressType  string            `json:"ipAddressType"`
	DNSName        string            `json:"dnsName"`
	Subnets        []string          `json:"subnets,omitempty"`
	SecurityGroups []string          `json:"securityGroups,omitempty"`
	CreatedTime    time.Time         `json:"createdTime"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	Tags           []ELBTag          `json:"tags,omitempty"`
}

// HealthCheck is a target group's health check settings, every default
// filled in.
type HealthCheck struct {
	Enabled            bool   `json:"enabled"`
	Protocol           string `json:"protocol"` // HTTP or TCP
	Port               string `json:"port"`     // "traffic-port" or a number
	Path               string `json:"path,omitempty"`
	IntervalSeconds    int32  `json:"intervalSeconds"`
	TimeoutSeconds     int32  `json:"timeoutSeconds"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
	Matcher            string `json:"matcher,omitempty"` // HTTP codes: "200", "200-299", "200,204"
}

// TargetGroup is a target group with its attributes.
type TargetGroup struct {
	Arn             string            `json:"arn"`
	Name            string            `json:"name"`
	ID              string            `json:"id"`
	Protocol        string            `json:"protocol"` // HTTP or TCP
	ProtocolVersion string            `json:"protocolVersion,omitempty"`
	Port            int32             `json:"port"`
	TargetType      string            `json:"targetType"` // instance or ip
	IPAddressType   string            `json:"ipAddressType"`
	VpcID           string            `json:"vpcId,omitempty"`
	HealthCheck     HealthCheck       `json:"healthCheck"`
	Attributes      map[string]string `json:"attributes"`
	Tags            []ELBTag          `json:"tags,omitempty"`
	CreatedTime     time.Time         `json:"createdTime"`
}

// ELBAction is a listener's or rule's action.
type ELBAction struct {
	Type  string `json:"type"` // forward or fixed-response
	Order int32  `json:"order,omitempty"`
	// TargetGroupArn is the single target group of a forward action given
	// without ForwardConfig.
	TargetGroupArn string `json:"targetGroupArn,omitempty"`
	// Forward lists weighted target groups (ForwardConfig).
	Forward       []WeightedTargetGroup `json:"forward,omitempty"`
	Stickiness    *Stickiness           `json:"stickiness,omitempty"`
	FixedResponse *FixedResponse        `json:"fixedResponse,omitempty"`
}

// WeightedTargetGroup is one target group of a forward action.
type WeightedTargetGroup struct {
	TargetGroupArn string `json:"targetGroupArn"`
	Weight         *int32 `json:"weight,omitempty"`
}

// Stickiness is a forward action's target group stickiness setting (kept
// and answered; Wharf does not pin clients to a target group).
type Stickiness struct {
	Enabled         bool   `json:"enabled"`
	DurationSeconds *int32 `json:"durationSeconds,omitempty"`
}

// FixedResponse is what a fixed-response action answers.
type FixedResponse struct {
	StatusCode  string `json:"statusCode"`
	ContentType string `json:"contentType,omitempty"`
	MessageBody string `json:"messageBody,omitempty"`
}

// TargetGroupArns lists every target group the action forwards to.
func (a ELBAction) TargetGroupArns() []string {
	if a.Type != "forward" {
		return nil
	}
	if len(a.Forward) > 0 {
		out := make([]string, 0, len(a.Forward))
		for _, w := range a.Forward {
			out = append(out, w.TargetGroupArn)
		}
		return out
	}
	if a.TargetGroupArn != "" {
		return []string{a.TargetGroupArn}
	}
	return nil
}

// Listener is a load balancer's listener; its default rule is its
// DefaultActions.
type Listener struct {
	Arn             string      `json:"arn"`
	ID              string      `json:"id"`
	LoadBalancerArn string      `json:"loadBalancerArn"`
	LoadBalancerID  string      `json:"loadBalancerId"`
	Port            int32       `json:"port"`
	Protocol        string      `json:"protocol"`
	DefaultActions  []ELBAction `json:"defaultActions"`
	Tags            []ELBTag    `json:"tags,omitempty"`
}

// RuleCondition is one condition of a rule: every value a request may match
// (any one matches), for the field path-pattern or host-header.
type RuleCondition struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
	// Legacy is set when the condition came in the old form (Values beside
	// Field); it is answered the same way.
	Legacy bool `json:"legacy,omitempty"`
}

// Rule is a listener rule other than the default one.
type Rule struct {
	Arn         string          `json:"arn"`
	ID          string          `json:"id"`
	ListenerArn string          `json:"listenerArn"`
	Priority    int32           `json:"priority"`
	Conditions  []RuleCondition `json:"conditions"`
	Actions     []ELBAction     `json:"actions"`
	Tags        []ELBTag        `json:"tags,omitempty"`
}

// Target health states and reasons, as DescribeTargetHealth spells them.
const (
	TargetInitial   = "initial"
	TargetHealthy   = "healthy"
	TargetUnhealthy = "unhealthy"
	TargetDraining  = "draining"
	TargetUnused    = "unused"
)

// Target is one registration of a target (ID and port) in a target group,
// with what the health checks last concluded.
type Target struct {
	TargetGroupArn   string `json:"targetGroupArn"`
	ID               string `json:"id"`
	Port             int32  `json:"port"`
	AvailabilityZone string `json:"availabilityZone,omitempty"`
	// Address is the IP address traffic goes to: the ID of an ip target, the
	// host address of an instance target's container instance.
	Address      string    `json:"address"`
	RegisteredAt time.Time `json:"registeredAt"`
	// Health is initial, healthy or unhealthy; Reason and Description say
	// why when it is not healthy.
	Health      string    `json:"health"`
	Reason      string    `json:"reason,omitempty"`
	Description string    `json:"description,omitempty"`
	HealthSince time.Time `json:"healthSince"`
	// DrainUntil is set when the target was deregistered: it receives no
	// new requests and is removed at that time.
	DrainUntil *time.Time `json:"drainUntil,omitempty"`
	// Service and TaskArn name the ECS service task that registered it,
	// for targets the service controller manages.
	Service string `json:"service,omitempty"`
	TaskArn string `json:"taskArn,omitempty"`
}

// PortClaim records which listener binds a host port.
type PortClaim struct {
	ListenerArn string `json:"listenerArn"`
}

// ParseTargetGroupArn splits
// arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID into the
// group's name and ID. It does not check region or account.
func ParseTargetGroupArn(arn string) (name, id string, ok bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "elasticloadbalancing" {
		return "", "", false
	}
	rest, found := strings.CutPrefix(f[5], "targetgroup/")
	if !found {
		return "", "", false
	}
	name, id, found = strings.Cut(rest, "/")
	if !found || name == "" || id == "" || strings.Contains(id, "/") {
		return "", "", false
	}
	return name, id, true
}

// TargetGroupUser names a listener or rule that forwards to the target
// group, "" when none does.
func TargetGroupUser(ctx context.Context, st store.Store, tgArn string) (string, error) {
	listeners, _, err := List[Listener](ctx, st, ListenersPrefix, store.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, l := range listeners {
		for _, act := range l.Val.DefaultActions {
			if slices.Contains(act.TargetGroupArns(), tgArn) {
				return l.Val.Arn, nil
			}
		}
	}
	rules, _, err := List[Rule](ctx, st, RulesPrefix, store.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, r := range rules {
		for _, act := range r.Val.Actions {
			if slices.Contains(act.TargetGroupArns(), tgArn) {
				return r.Val.Arn, nil
			}
		}
	}
	return "", nil
}
