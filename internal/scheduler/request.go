package scheduler

import (
	"errors"
	"fmt"
)

// Request asks for Count tasks of one kind.
type Request struct {
	Count int
	Task  Needs
	// LaunchType is EC2, EXTERNAL, FARGATE, or "" to accept any kind of
	// instance.
	LaunchType LaunchType
	// RequiresAttributes lists attributes an instance must carry, as the task
	// definition's requiresAttributes does.
	RequiresAttributes []Attribute
	// DistinctInstance allows at most one task of Group per instance, counting
	// the tasks already there and the ones placed earlier in this plan.
	DistinctInstance bool
	// MemberOf holds the memberOf constraints, each already compiled.
	MemberOf []MemberOf
	// Strategies are applied in order, at most MaxStrategies. None means no
	// preference: the first feasible instance in ARN order. The caller picks
	// ECS's default (RunTaskDefaultStrategies, ServiceDefaultStrategies).
	Strategies []Strategy
	// Group is the task group, "service:NAME" or "family:NAME" (RunTask's
	// default), which spread balances and distinctInstance counts.
	Group string
	// Seed seeds the random strategy; equal seeds give equal plans.
	Seed uint64
	// Explain records, for every task, why each instance refused it, not only
	// for the first task left unplaced. It costs a scan of every instance per
	// task; the explanations feature asks for it, the scheduler does not.
	Explain bool
}

// Needs is what one task reserves on its instance.
type Needs struct {
	CPU    int64 // CPU units
	Memory int64 // MiB
	// PortsTCP and PortsUDP are the static host ports the task binds.
	PortsTCP []int32
	PortsUDP []int32
	// DynamicPorts says the task also takes ports from the ephemeral range.
	// Placement ignores it: Docker picks those ports when the container
	// starts, from a range no realistic number of tasks exhausts.
	DynamicPorts bool
	GPUs         int
}

// LaunchType is the task's launch type as far as placement cares.
type LaunchType string

const (
	LaunchTypeEC2      LaunchType = "EC2"
	LaunchTypeExternal LaunchType = "EXTERNAL"
	LaunchTypeFargate  LaunchType = "FARGATE"
)

// Attribute is a required attribute: the instance must carry Name and, when
// Value is not "", with that value.
type Attribute struct {
	Name  string
	Value string
}

// MemberOf is one memberOf constraint: the expression as the user wrote it
// (for the rejection's detail) and its compiled form.
type MemberOf struct {
	Expression string
	Matcher    Matcher
}

// Matcher decides whether an instance satisfies a memberOf expression.
// CompileMemberOf makes one from the cluster query language (package cql);
// tests use MatcherFunc. The instance it sees is the working view of
// the plan: its running task count and task groups include the tasks placed
// earlier in the same plan. Its answer must depend on the instance alone:
// the engine asks once about an instance the plan has not touched and
// remembers the answer for the rest of the plan.
type Matcher interface {
	Match(inst *Instance) bool
}

// MatcherFunc adapts a function to Matcher.
type MatcherFunc func(inst *Instance) bool

// Match calls f.
func (f MatcherFunc) Match(inst *Instance) bool { return f(inst) }

// StrategyType is a placement strategy's type.
type StrategyType string

const (
	Binpack StrategyType = "binpack"
	Spread  StrategyType = "spread"
	Random  StrategyType = "random"
)

// Strategy is one placement strategy. Field is cpu or memory for binpack;
// instanceId, host (the same) or attribute:NAME for spread; unused for random.
type Strategy struct {
	Type  StrategyType
	Field string
}

// MaxStrategies is how many strategies ECS accepts per task or service.
const MaxStrategies = 5

// Spread fields.
const (
	FieldInstanceID      = "instanceId"
	FieldHost            = "host"
	FieldAttributePrefix = "attribute:"
)

// Binpack fields.
const (
	FieldCPU    = "cpu"
	FieldMemory = "memory"
)

// RunTaskDefaultStrategies is what a RunTask without placementStrategy uses:
// random. ECS documents a default only for services; for standalone tasks
// Wharf takes random, the one strategy that needs no field and favours no
// instance, so that repeated RunTasks do not all land on the first instance.
func RunTaskDefaultStrategies() []Strategy {
	return []Strategy{{Type: Random}}
}

// ServiceDefaultStrategies is what a service without placementStrategy uses:
// spread across availability zones, then across the instances of each zone.
// ECS documents the zone spread; the instance spread that breaks its ties is
// what its console's "AZ balanced spread" adds, and without it the instances
// of a zone would fill in ARN order.
func ServiceDefaultStrategies() []Strategy {
	return []Strategy{
		{Type: Spread, Field: FieldAttributePrefix + "ecs.availability-zone"},
		{Type: Spread, Field: FieldInstanceID},
	}
}

// validate refuses requests the engine cannot honour. The API layer checks
// user input against ECS's rules first; these are the engine's own
// preconditions, so that a caller's mistake is an error and not a wrong plan.
func (r *Request) validate() error {
	var errs []error
	if r.Count < 0 {
		errs = append(errs, fmt.Errorf("count is %d; it cannot be negative", r.Count))
	}
	t := &r.Task
	if t.CPU < 0 || t.Memory < 0 || t.GPUs < 0 {
		errs = append(errs, fmt.Errorf("the task's needs cannot be negative (cpu %d, memory %d, gpus %d)", t.CPU, t.Memory, t.GPUs))
	}
	for _, ports := range [][]int32{t.PortsTCP, t.PortsUDP} {
		for _, p := range ports {
			if p < 0 || p > 65535 {
				errs = append(errs, fmt.Errorf("host port %d is out of range 0-65535", p))
			}
		}
	}
	switch r.LaunchType {
	case "", LaunchTypeEC2, LaunchTypeExternal, LaunchTypeFargate:
	default:
		errs = append(errs, fmt.Errorf("launch type %q: placement handles EC2, EXTERNAL and FARGATE", r.LaunchType))
	}
	for _, a := range r.RequiresAttributes {
		if a.Name == "" {
			errs = append(errs, errors.New("a required attribute has no name"))
		}
	}
	for _, m := range r.MemberOf {
		if m.Matcher == nil {
			errs = append(errs, fmt.Errorf("memberOf(%s) has no compiled matcher", m.Expression))
		}
	}
	if len(r.Strategies) > MaxStrategies {
		errs = append(errs, fmt.Errorf("%d placement strategies; at most %d are allowed", len(r.Strategies), MaxStrategies))
	}
	needGroup := r.DistinctInstance
	for _, s := range r.Strategies {
		if err := s.validate(); err != nil {
			errs = append(errs, err)
		}
		needGroup = needGroup || s.Type == Spread
	}
	if needGroup && r.Group == "" {
		errs = append(errs, errors.New("distinctInstance and spread need the task group"))
	}
	return errors.Join(errs...)
}

func (s Strategy) validate() error {
	kind, ok := strategyKinds[s.Type]
	if !ok {
		return fmt.Errorf("placement strategy type %q: use binpack, spread or random", s.Type)
	}
	if kind.validField != nil && !kind.validField(s.Field) {
		return fmt.Errorf("%s field %q: use %s", s.Type, s.Field, kind.fields)
	}
	return nil
}
