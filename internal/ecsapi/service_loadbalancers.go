package ecsapi

import (
	"context"
	"slices"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// maxServiceLoadBalancers is how many target groups a service may name.
const maxServiceLoadBalancers = 5

// checkServiceLoadBalancers validates a service's loadBalancers: each names
// a target group of Wharf's load balancing API that a load balancer forwards
// to, and a containerName and containerPort the task definition maps. The
// service controller registers the tasks (internal/controller/service).
func (a *API) checkServiceLoadBalancers(ctx context.Context, lbs []model.LoadBalancer, td *model.TaskDefinition) error {
	if len(lbs) == 0 {
		return nil
	}
	if len(lbs) > maxServiceLoadBalancers {
		return invalidParam("A service can name at most %d target groups in loadBalancers; got %d.", maxServiceLoadBalancers, len(lbs))
	}
	var seen []model.LoadBalancer
	for _, l := range lbs {
		if l.LoadBalancerName != "" {
			return invalidParam("loadBalancerName names a Classic Load Balancer, which Wharf does not have: give targetGroupArn (aws elbv2 create-target-group) instead.")
		}
		if l.TargetGroupArn == "" {
			return invalidParam("Each loadBalancers entry needs targetGroupArn, containerName and containerPort.")
		}
		if l.ContainerName == "" || l.ContainerPort == nil {
			return invalidParam("loadBalancers entry for %s needs containerName and containerPort: the container and port its targets are.", l.TargetGroupArn)
		}
		name, id, ok := state.ParseTargetGroupArn(l.TargetGroupArn)
		if !ok {
			return invalidParam("loadBalancers targetGroupArn %q is not a target group ARN: give the TargetGroupArn that aws elbv2 create-target-group or describe-target-groups answers.", l.TargetGroupArn)
		}
		tg, _, err := state.Get[state.TargetGroup](ctx, a.st, state.TargetGroupKey(name))
		if isNotFound(err) || err == nil && (tg.ID != id || tg.Arn != l.TargetGroupArn) {
			return invalidParam("Unable to find target group %s: create it with aws elbv2 create-target-group, or list them with aws elbv2 describe-target-groups.", l.TargetGroupArn)
		}
		if err != nil {
			return err
		}
		user, err := state.TargetGroupUser(ctx, a.st, tg.Arn)
		if err != nil {
			return err
		}
		if user == "" {
			return invalidParam("The target group with targetGroupArn %s does not have an associated load balancer: forward to it from a listener (aws elbv2 create-listener) or a rule first.", tg.Arn)
		}
		def := containerDef(td, l.ContainerName)
		if def == nil {
			return invalidParam("loadBalancers containerName %s is not a container of task definition %s; its containers are %s.", l.ContainerName, td.TaskDefinitionArn, containerNames(td))
		}
		mapped := false
		for _, pm := range def.PortMappings {
			if model.Val(pm.ContainerPort) == *l.ContainerPort {
				mapped = true
			}
		}
		if !mapped {
			return invalidParam("loadBalancers containerPort %d is not a port mapping of container %s in task definition %s: add it to the container's portMappings.", *l.ContainerPort, l.ContainerName, td.TaskDefinitionArn)
		}
		if slices.ContainsFunc(seen, func(o model.LoadBalancer) bool {
			return o.TargetGroupArn == l.TargetGroupArn && o.ContainerName == l.ContainerName && model.Val(o.ContainerPort) == *l.ContainerPort
		}) {
			return invalidParam("loadBalancers names target group %s with container %s port %d twice.", l.TargetGroupArn, l.ContainerName, *l.ContainerPort)
		}
		seen = append(seen, l)
	}
	return nil
}

// updateServiceLoadBalancers applies UpdateService's loadBalancers (an empty
// list removes them) and checks the ones the service will have against the
// task definition it will run.
func (a *API) updateServiceLoadBalancers(ctx context.Context, s *state.Service, in []model.LoadBalancer, tdArn string) error {
	lbs := s.LoadBalancers
	if in != nil {
		lbs = in
	}
	if len(lbs) > 0 && (in != nil || tdArn != s.TaskDefinition) {
		rec, err := a.taskDefinition(ctx, tdArn, true)
		if err != nil {
			return err
		}
		if err := a.checkServiceLoadBalancers(ctx, lbs, &rec.TaskDefinition); err != nil {
			return err
		}
	}
	if in != nil {
		s.LoadBalancers = in
	}
	return nil
}
