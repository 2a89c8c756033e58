// Package lb is Wharf's load balancer data plane: an HTTP reverse proxy for
// application load balancers and a TCP proxy for network ones, with active
// health checks and connection draining. It serves what the ELBv2 API
// stored (internal/elbapi), handed to it as a Config by a Source: the
// server's own store when it runs inside the server, or the server's API
// when it runs as `wharf lb`.
package lb

import (
	"context"
	"strconv"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
)

// Config is everything a data plane node serves, as of one store revision.
// It is never modified once built: a new revision is a new Config.
type Config struct {
	Revision      int64          `json:"revision"`
	LoadBalancers []LoadBalancer `json:"loadBalancers"`
	TargetGroups  []TargetGroup  `json:"targetGroups"`
}

// LoadBalancer is a load balancer with its listeners.
type LoadBalancer struct {
	Arn  string `json:"arn"`
	Name string `json:"name"`
	Type string `json:"type"` // application or network
	// IdleTimeout closes client connections idle that long (ALB
	// idle_timeout.timeout_seconds).
	IdleTimeout time.Duration `json:"idleTimeout"`
	Listeners   []Listener    `json:"listeners"`
}

// Listener is a port and the rules that route its requests, the default
// rule last.
type Listener struct {
	Arn      string `json:"arn"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"` // HTTP or TCP
	Rules    []Rule `json:"rules"`
}

// Rule routes requests that meet every condition (one value of each) to
// its actions. The default rule has no conditions.
type Rule struct {
	Priority   int32                 `json:"priority"` // 0 for the default rule
	Conditions []state.RuleCondition `json:"conditions,omitempty"`
	Actions    []state.ELBAction     `json:"actions"`
}

// TargetGroup is a target group with its registered targets.
type TargetGroup struct {
	Arn         string            `json:"arn"`
	Name        string            `json:"name"`
	Protocol    string            `json:"protocol"`
	Port        int32             `json:"port"`
	HealthCheck state.HealthCheck `json:"healthCheck"`
	// LeastOutstanding picks the target with the fewest requests in
	// flight instead of the next one in turn.
	LeastOutstanding bool `json:"leastOutstanding,omitempty"`
	// TerminateOnDrain closes a draining target's open connections when
	// its delay ends (network load balancers).
	TerminateOnDrain bool `json:"terminateOnDrain,omitempty"`
	// InUse is whether a listener or rule forwards to the group; the
	// targets of a group in no use are not health checked.
	InUse   bool     `json:"inUse"`
	Targets []Target `json:"targets"`
}

// Target is a registered target.
type Target struct {
	ID      string `json:"id"`
	Port    int32  `json:"port"`
	Address string `json:"address"` // IP address
	// Health is initial, healthy or unhealthy, as the health checks last
	// concluded.
	Health string `json:"health"`
	// DrainUntil is set while the target drains: it receives no new
	// requests and its connections end by then.
	DrainUntil *time.Time `json:"drainUntil,omitempty"`
}

// Key names a target within its group.
func (t Target) Key() string { return t.Address + "|" + t.ID + "|" + strconv.Itoa(int(t.Port)) }

// Source hands out the configuration to serve.
type Source interface {
	// Next returns the configuration once its revision is above since, or
	// the current one after wait; since 0 asks for the current one.
	Next(ctx context.Context, since int64, wait time.Duration) (*Config, error)
}

// HealthReport is the conclusion of a target's health checks.
type HealthReport struct {
	TargetGroupArn string `json:"targetGroupArn"`
	ID             string `json:"id"`
	Port           int32  `json:"port"`
	State          string `json:"state"` // healthy or unhealthy
	Reason         string `json:"reason,omitempty"`
	Description    string `json:"description,omitempty"`
}

// HealthSink records health check conclusions.
type HealthSink interface {
	ReportHealth(ctx context.Context, reports []HealthReport) error
}
