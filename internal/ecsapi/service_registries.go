package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// checkServiceRegistries validates a service's serviceRegistries: at most
// one, naming a Cloud Map service that exists, and, as the bridge and host
// network modes need, a containerName and containerPort that the task
// definition maps. The tasks are registered by internal/sdapi's registrar.
func (a *API) checkServiceRegistries(ctx context.Context, regs []model.ServiceRegistry, td *model.TaskDefinition) error {
	if len(regs) == 0 {
		return nil
	}
	if len(regs) > 1 {
		return invalidParam("A service can have at most one service registry; got %d. Give one entry in serviceRegistries.", len(regs))
	}
	r := regs[0]
	id, ok := state.ParseCloudMapServiceARN(r.RegistryArn)
	if !ok {
		return invalidParam("serviceRegistries registryArn %q is not a Cloud Map service ARN: give the Arn that servicediscovery CreateService or GetService returns (arn:aws:servicediscovery:REGION:ACCOUNT:service/srv-...).", r.RegistryArn)
	}
	svc, _, err := state.Get[state.CloudMapService](ctx, a.st, state.CloudMapServiceKey(id))
	if isNotFound(err) || err == nil && svc.Arn != r.RegistryArn {
		return invalidParam("serviceRegistries registryArn %s names no Cloud Map service: create it with aws servicediscovery create-service, or list services with aws servicediscovery list-services.", r.RegistryArn)
	}
	if err != nil {
		return err
	}
	if r.Port != nil {
		return invalidParam("serviceRegistries port applies only to the awsvpc network mode, which Wharf does not support; give containerName and containerPort instead.")
	}
	if (r.ContainerName == "") != (r.ContainerPort == nil) {
		return invalidParam("serviceRegistries needs both containerName and containerPort, or neither.")
	}
	if _, srv := svc.Record(state.CloudMapRecordSRV); srv && r.ContainerName == "" {
		return invalidParam("The Cloud Map service %s has an SRV record, which needs a port: give containerName and containerPort in serviceRegistries.", svc.Name)
	}
	if r.ContainerName == "" {
		return nil
	}
	def := containerDef(td, r.ContainerName)
	if def == nil {
		return invalidParam("serviceRegistries containerName %s is not a container of task definition %s; its containers are %s.", r.ContainerName, td.TaskDefinitionArn, containerNames(td))
	}
	for _, pm := range def.PortMappings {
		if model.Val(pm.ContainerPort) == *r.ContainerPort {
			return nil
		}
	}
	return invalidParam("serviceRegistries containerPort %d is not a port mapping of container %s in task definition %s: add it to the container's portMappings, or choose a mapped port.", *r.ContainerPort, r.ContainerName, td.TaskDefinitionArn)
}

// updateServiceRegistries applies UpdateService's serviceRegistries (an empty
// list removes them) and checks the registries the service will have against
// the task definition it will run.
func (a *API) updateServiceRegistries(ctx context.Context, s *state.Service, in []model.ServiceRegistry, tdArn string) error {
	regs := s.ServiceRegistries
	if in != nil {
		regs = in
	}
	if len(regs) > 0 && (in != nil || tdArn != s.TaskDefinition) {
		rec, err := a.taskDefinition(ctx, tdArn, true)
		if err != nil {
			return err
		}
		if err := a.checkServiceRegistries(ctx, regs, &rec.TaskDefinition); err != nil {
			return err
		}
	}
	if in != nil {
		s.ServiceRegistries = in
	}
	return nil
}
