package ecsapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
)

// Validation of CreateService and UpdateService input that needs no I/O.

const (
	maxDescribeServices     = 10
	maxServiceClientToken   = 36
	defaultListServicesPage = 10
	// ECS's defaults for the rolling update of a REPLICA service, and of a
	// DAEMON service (through the API, CLI and SDKs).
	defaultMinHealthyReplica = 100
	defaultMaxPercentReplica = 200
	defaultMinHealthyDaemon  = 0
	defaultMaxPercentDaemon  = 100
)

// validateServiceClientToken applies CreateService's rule: up to 36
// characters in the range 33-126.
func validateServiceClientToken(tok string) error {
	if len(tok) > maxServiceClientToken {
		return invalidParam("clientToken must be at most %d characters; got %d.", maxServiceClientToken, len(tok))
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 33 || tok[i] > 126 {
			return invalidParam("clientToken may only hold printable ASCII characters without spaces (codes 33 to 126).")
		}
	}
	return nil
}

func validateSchedulingStrategy(s model.SchedulingStrategy) error {
	if s == "" || s.Valid() {
		return nil
	}
	return invalidParam("Invalid schedulingStrategy %q: use REPLICA or DAEMON.", s)
}

// validateDeploymentController accepts only the rolling update (ECS)
// controller: blue/green through CodeDeploy and external controllers need
// task sets, which Wharf does not have.
func validateDeploymentController(dc *model.DeploymentController) error {
	if dc == nil {
		return nil
	}
	switch dc.Type {
	case "", model.DeploymentControllerTypeEcs:
		return nil
	case model.DeploymentControllerTypeCodeDeploy, model.DeploymentControllerTypeExternal:
		return invalidParam("The %s deployment controller is not supported by Wharf: it needs task sets, which Wharf does not have. Use deploymentController type ECS (rolling update), or omit deploymentController.", dc.Type)
	}
	return invalidParam("Invalid deploymentController type %q: use ECS.", dc.Type)
}

// serviceExtras are the members of CreateService and UpdateService that name
// features Wharf does not have yet. Each is refused with what to do instead,
// never silently dropped.
type serviceExtras struct {
	ServiceConnect       *model.ServiceConnectConfiguration
	VolumeConfigurations []model.ServiceVolumeConfiguration
	VpcLattice           []model.VpcLatticeConfiguration
	PlatformVersion      string
	Role                 string
	HasLoadBalancers     bool
}

func (x serviceExtras) validate() error {
	switch {
	case x.ServiceConnect != nil && model.Val(x.ServiceConnect.Enabled):
		return invalidParam("Service Connect is not supported by Wharf yet; remove serviceConnectConfiguration.")
	case len(x.VolumeConfigurations) > 0:
		return invalidParam("volumeConfigurations (Amazon EBS volumes configured at deployment) are not supported by Wharf; use the task definition's host or Docker volumes.")
	case len(x.VpcLattice) > 0:
		return invalidParam("vpcLatticeConfigurations are not supported by Wharf; remove them.")
	case x.Role != "" && !x.HasLoadBalancers:
		return invalidParam("role is only permitted with a load balancer: give loadBalancers, or remove role.")
	}
	return nil
}

// validateDeploymentConfiguration checks what is given; defaults and the
// current values fill the rest (mergeDeploymentConfiguration).
func validateDeploymentConfiguration(dc *model.DeploymentConfiguration) error {
	if dc == nil {
		return nil
	}
	if p := dc.MinimumHealthyPercent; p != nil && (*p < 0 || *p > 100) {
		return invalidParam("minimumHealthyPercent must be between 0 and 100; got %d.", *p)
	}
	if p := dc.MaximumPercent; p != nil && (*p < 100 || *p > 2000) {
		return invalidParam("maximumPercent must be between 100 and 2000; got %d. Below 100 the service could never run its desired count.", *p)
	}
	if cb := dc.DeploymentCircuitBreaker; cb != nil && (cb.Enable == nil || cb.Rollback == nil) {
		return invalidParam("deploymentCircuitBreaker needs both enable and rollback, e.g. {\"enable\":true,\"rollback\":true}.")
	}
	switch dc.Strategy {
	case "", model.DeploymentStrategyRolling:
	case model.DeploymentStrategyBlueGreen, model.DeploymentStrategyLinear, model.DeploymentStrategyCanary:
		return invalidParam("The %s deployment strategy is not supported by Wharf yet; use ROLLING (the rolling update), or omit strategy.", dc.Strategy)
	default:
		return invalidParam("Invalid deployment strategy %q: use ROLLING.", dc.Strategy)
	}
	if len(dc.LifecycleHooks) > 0 || dc.LinearConfiguration != nil || dc.CanaryConfiguration != nil {
		return invalidParam("lifecycleHooks, linearConfiguration and canaryConfiguration belong to blue/green, linear and canary deployments, which Wharf does not support yet; remove them.")
	}
	if dc.Alarms != nil && model.Val(dc.Alarms.Enable) {
		return invalidParam("Deployment alarms need CloudWatch, which Wharf does not have; set alarms.enable to false or remove alarms, and use deploymentCircuitBreaker to detect failed deployments.")
	}
	return nil
}

// mergeDeploymentConfiguration applies the given configuration on top of the
// current one (nil for a new service) and fills ECS's defaults for the
// scheduling strategy.
func mergeDeploymentConfiguration(cur, in *model.DeploymentConfiguration, strategy model.SchedulingStrategy) *model.DeploymentConfiguration {
	out := &model.DeploymentConfiguration{}
	if cur != nil {
		out = model.Clone(cur)
	}
	if in != nil {
		if in.MinimumHealthyPercent != nil {
			out.MinimumHealthyPercent = in.MinimumHealthyPercent
		}
		if in.MaximumPercent != nil {
			out.MaximumPercent = in.MaximumPercent
		}
		if in.DeploymentCircuitBreaker != nil {
			out.DeploymentCircuitBreaker = model.Clone(in.DeploymentCircuitBreaker)
		}
		if in.Alarms != nil {
			out.Alarms = model.Clone(in.Alarms)
		}
		if in.BakeTimeInMinutes != nil {
			out.BakeTimeInMinutes = in.BakeTimeInMinutes
		}
	}
	minH, maxP := int32(defaultMinHealthyReplica), int32(defaultMaxPercentReplica)
	if strategy == model.SchedulingStrategyDaemon {
		minH, maxP = defaultMinHealthyDaemon, defaultMaxPercentDaemon
	}
	if out.MinimumHealthyPercent == nil {
		out.MinimumHealthyPercent = model.Ptr(minH)
	}
	if out.MaximumPercent == nil {
		out.MaximumPercent = model.Ptr(maxP)
	}
	if out.DeploymentCircuitBreaker == nil {
		out.DeploymentCircuitBreaker = &model.DeploymentCircuitBreaker{Enable: model.Ptr(false), Rollback: model.Ptr(false)}
	}
	out.Strategy = model.DeploymentStrategyRolling
	return out
}

// defaultServicePlacementStrategy is what ECS records for a REPLICA service
// created without one: spread across Availability Zones, then instances.
func defaultServicePlacementStrategy() []model.PlacementStrategy {
	return []model.PlacementStrategy{
		{Type: model.PlacementStrategyTypeSpread, Field: "attribute:ecs.availability-zone"},
		{Type: model.PlacementStrategyTypeSpread, Field: "instanceId"},
	}
}

// validateServicePlacement checks constraints and strategy as RunTask does,
// plus DAEMON's rule that the scheduler, not a strategy, places its tasks.
func validateServicePlacement(strategy model.SchedulingStrategy, cs []model.PlacementConstraint, ss []model.PlacementStrategy) error {
	if _, err := validatePlacementConstraints(cs); err != nil {
		return err
	}
	if strategy == model.SchedulingStrategyDaemon && len(ss) > 0 {
		return invalidParam("The daemon scheduling strategy does not support placement strategies: a DAEMON service runs one task on every instance. Remove placementStrategy.")
	}
	return validatePlacementStrategy(ss)
}

func validateServicePropagateTags(p model.PropagateTags) error {
	if p == "" || p.Valid() {
		return nil
	}
	return invalidParam("Invalid propagateTags %q: use SERVICE, TASK_DEFINITION or NONE.", p)
}

func validateGracePeriod(p *int32) error {
	if p != nil && *p < 0 {
		return invalidParam("healthCheckGracePeriodSeconds must be 0 or more; got %d.", *p)
	}
	return nil
}

func validateDesiredCount(strategy model.SchedulingStrategy, n *int32, required bool) error {
	if strategy == model.SchedulingStrategyDaemon {
		if n != nil {
			return invalidParam("The daemon scheduling strategy does not support a desired count for services: a DAEMON service runs one task on every instance. Remove desiredCount.")
		}
		return nil
	}
	if n == nil {
		if required {
			return invalidParam("desiredCount is required for a REPLICA service: give the number of tasks to keep running (0 or more).")
		}
		return nil
	}
	if *n < 0 {
		return invalidParam("desiredCount must be 0 or more; got %d.", *n)
	}
	return nil
}

func validateAZRebalancing(v model.AvailabilityZoneRebalancing) error {
	if v == "" || v.Valid() {
		return nil
	}
	return invalidParam("Invalid availabilityZoneRebalancing %q: use ENABLED or DISABLED.", v)
}

// serviceRefName splits a service reference (name, short ARN service/NAME or
// long ARN service/CLUSTER/NAME) into the cluster the ARN names ("" when
// none) and the service name.
func serviceRefName(ref string) (cluster, name string, err error) {
	name = ref
	if strings.HasPrefix(ref, "arn:") {
		p, perr := ParseARN(ref)
		if perr != nil || p.Type != "service" || len(p.Parts) > 2 {
			return "", "", invalidParam("Invalid service %q: give a service name or an ARN of the form arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME.", ref)
		}
		if len(p.Parts) == 2 {
			cluster = p.Parts[0]
		}
		name = p.Parts[len(p.Parts)-1]
	}
	if !validName(name) {
		return "", "", invalidParam("Invalid service name %q: up to 255 letters, numbers, underscores and hyphens.", ref)
	}
	return cluster, name, nil
}

// createServiceHash fingerprints a CreateService request without its token,
// so that a repeat with the same parameters is recognised.
func createServiceHash(cluster string, in *model.CreateServiceRequest) string {
	cp := *in
	cp.ClientToken = ""
	cp.Cluster = cluster
	b, _ := json.Marshal(cp) // request shapes always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
