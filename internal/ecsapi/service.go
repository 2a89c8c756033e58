package ecsapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Services: the API records the desired state (task definition, desired
// count, configuration, a new PRIMARY deployment per change of task
// definition); the service controller (internal/controller/service) starts
// and stops tasks to match and records what it observes.

const codeServiceNotActive = "ServiceNotActiveException"

func (a *API) registerServices(s *awsproto.Service) {
	awsproto.Handle(s, "CreateService", a.CreateService)
	awsproto.Handle(s, "UpdateService", a.UpdateService)
	awsproto.Handle(s, "DeleteService", a.DeleteService)
	awsproto.Handle(s, "DescribeServices", a.DescribeServices)
	awsproto.Handle(s, "ListServices", a.ListServices)
}

func serviceNotFound(cluster, name string) error {
	return awsproto.Errorf(codeServiceNotFound, "Service not found: %s in cluster %s. Check the name and cluster, or list services with ListServices --cluster %s.", name, cluster, cluster)
}

func (a *API) CreateService(ctx context.Context, in *model.CreateServiceRequest) (*model.CreateServiceResponse, error) {
	if in.ServiceName == "" {
		return nil, invalidParam("serviceName is required: up to 255 letters, numbers, underscores and hyphens, unique in the cluster.")
	}
	if !validName(in.ServiceName) {
		return nil, invalidParam("Invalid serviceName %q: up to 255 letters, numbers, underscores and hyphens.", in.ServiceName)
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("taskDefinition is required: give family, family:revision or a task definition ARN.")
	}
	strategy := in.SchedulingStrategy
	if strategy == "" {
		strategy = model.SchedulingStrategyReplica
	}
	for _, check := range []func() error{
		func() error { return validateServiceClientToken(in.ClientToken) },
		func() error { return validateDeploymentController(in.DeploymentController) },
		serviceExtras{in.ServiceConnectConfiguration, in.VolumeConfigurations, in.VpcLatticeConfigurations,
			in.PlatformVersion, in.Role, len(in.LoadBalancers) > 0}.validate,
		func() error { return validateSchedulingStrategy(in.SchedulingStrategy) },
		func() error { return validateDesiredCount(strategy, in.DesiredCount, true) },
		func() error { return validateServicePlacement(strategy, in.PlacementConstraints, in.PlacementStrategy) },
		func() error { return validateDeploymentConfiguration(in.DeploymentConfiguration) },
		func() error { return validateGracePeriod(in.HealthCheckGracePeriodSeconds) },
		func() error { return validateTags(in.Tags) },
		func() error { return validateServicePropagateTags(in.PropagateTags) },
		func() error { return validateAZRebalancing(in.AvailabilityZoneRebalancing) },
	} {
		if err := check(); err != nil {
			return nil, err
		}
	}
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	lt, cps, err := resolveCapacity(c, in.LaunchType, in.CapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	if strategy == model.SchedulingStrategyDaemon {
		if lt, cps, err = daemonCapacity(in.LaunchType, in.CapacityProviderStrategy); err != nil {
			return nil, err
		}
	}
	if err := checkPlatformVersion(in.PlatformVersion, lt); err != nil {
		return nil, err
	}
	td, err := a.serviceTaskDefinition(ctx, in.TaskDefinition, lt, in.NetworkConfiguration, len(in.PlacementConstraints))
	if err != nil {
		return nil, err
	}
	if err := a.checkServiceRegistries(ctx, in.ServiceRegistries, td); err != nil {
		return nil, err
	}
	if err := a.checkServiceLoadBalancers(ctx, in.LoadBalancers, td); err != nil {
		return nil, err
	}
	cluster := c.ClusterName
	hash := createServiceHash(cluster, in)
	key := state.ServiceKey(cluster, in.ServiceName)
	var out *model.Service
	err = retry(ctx, func() error {
		_, crev, err := a.activeCluster(ctx, cluster)
		if err != nil {
			return err
		}
		cur, rev, err := state.Get[state.Service](ctx, a.st, key)
		switch {
		case isNotFound(err):
			rev = 0
		case err != nil:
			return err
		case cur.Status == state.ServiceActive:
			if in.ClientToken != "" && in.ClientToken == cur.ClientToken && hash == cur.CreateHash || in.ClientToken == "" && hash == cur.CreateHash {
				out = serviceShape(cur, true)
				return nil
			}
			return invalidParam("Creation of service was not idempotent: service %s already exists in cluster %s with other parameters. Change it with UpdateService, or choose another serviceName.", in.ServiceName, cluster)
		case cur.Status == state.ServiceDraining:
			return invalidParam("Unable to Start a service that is still Draining. Service %s is being deleted; wait until it is INACTIVE, or choose another serviceName.", in.ServiceName)
		}
		s := a.newService(c, in, strategy, lt, td.TaskDefinitionArn)
		setServiceCapacity(s, lt, cps, in.PlatformVersion, in.NetworkConfiguration)
		s.CreateHash = hash
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.ClusterKey(cluster), Revision: crev}, {Key: key, Revision: rev}},
			Ops:   []store.Op{state.Put(key, s)},
		})
		out = serviceShape(s, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &model.CreateServiceResponse{Service: out}, nil
}

// serviceTaskDefinition resolves a service's task definition (latest ACTIVE
// revision for a bare family) and checks it can run as the service would
// run it.
func (a *API) serviceTaskDefinition(ctx context.Context, ref string, lt model.LaunchType, nc *model.NetworkConfiguration, constraints int) (*model.TaskDefinition, error) {
	rec, err := a.taskDefinition(ctx, ref, false)
	if err != nil {
		return nil, err
	}
	td := &rec.TaskDefinition
	if err := checkLaunchType(td, lt); err != nil {
		return nil, err
	}
	if err := checkNetwork(td, nc); err != nil {
		return nil, err
	}
	if err := checkAwsvpc(td, lt, nc); err != nil {
		return nil, err
	}
	for _, pc := range td.PlacementConstraints {
		if err := validateMemberOf(pc.Expression); err != nil {
			return nil, err
		}
	}
	if n := constraints + len(td.PlacementConstraints); n > maxConstraints {
		return nil, invalidParam("At most %d placement constraints are allowed per service, counting the task definition's; got %d.", maxConstraints, n)
	}
	return td, nil
}

func (a *API) newService(c *state.Cluster, in *model.CreateServiceRequest, strategy model.SchedulingStrategy, lt model.LaunchType, tdArn string) *state.Service {
	now := a.timeNow()
	desired := model.Val(in.DesiredCount)
	placement := in.PlacementStrategy
	if len(placement) == 0 && strategy == model.SchedulingStrategyReplica {
		placement = defaultServicePlacementStrategy()
	}
	propagate := in.PropagateTags
	if propagate == "" {
		propagate = model.PropagateTagsNone
	}
	s := &state.Service{
		Service: model.Service{
			ServiceArn:                    a.arns.Service(c.ClusterName, in.ServiceName),
			ServiceName:                   in.ServiceName,
			ClusterArn:                    c.ClusterArn,
			Status:                        state.ServiceActive,
			TaskDefinition:                tdArn,
			DesiredCount:                  model.Ptr(desired),
			RunningCount:                  model.Ptr(int32(0)),
			PendingCount:                  model.Ptr(int32(0)),
			LaunchType:                    lt,
			SchedulingStrategy:            strategy,
			DeploymentController:          &model.DeploymentController{Type: model.DeploymentControllerTypeEcs},
			DeploymentConfiguration:       mergeDeploymentConfiguration(nil, in.DeploymentConfiguration, strategy),
			PlacementConstraints:          in.PlacementConstraints,
			PlacementStrategy:             placement,
			HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
			Tags:                          in.Tags,
			PropagateTags:                 propagate,
			EnableECSManagedTags:          model.Ptr(model.Val(in.EnableECSManagedTags)),
			EnableExecuteCommand:          model.Ptr(model.Val(in.EnableExecuteCommand)),
			AvailabilityZoneRebalancing:   in.AvailabilityZoneRebalancing,
			ServiceRegistries:             in.ServiceRegistries,
			LoadBalancers:                 in.LoadBalancers,
			RoleArn:                       in.Role,
			CreatedAt:                     now,
			Events:                        []model.ServiceEvent{},
		},
		Cluster:     c.ClusterName,
		ClientToken: in.ClientToken,
	}
	if s.AvailabilityZoneRebalancing == "" {
		s.AvailabilityZoneRebalancing = model.AvailabilityZoneRebalancingDisabled
	}
	s.Deployments = []state.Deployment{state.NewDeployment(tdArn, desired, lt, now)}
	return s
}

// serviceRef resolves the cluster and service name of a request.
func (a *API) serviceRef(ctx context.Context, clusterRef, ref string) (cluster, name string, err error) {
	if ref == "" {
		return "", "", invalidParam("service is required: give the name or ARN of the service.")
	}
	arnCluster, name, err := serviceRefName(ref)
	if err != nil {
		return "", "", err
	}
	c, _, err := a.activeCluster(ctx, clusterRef)
	if err != nil {
		return "", "", err
	}
	if arnCluster != "" && arnCluster != c.ClusterName {
		return "", "", invalidParam("Service %s belongs to cluster %s, not %s: pass --cluster %s.", ref, arnCluster, c.ClusterName, arnCluster)
	}
	return c.ClusterName, name, nil
}

// updateService applies fn to a stored service in a read-modify-write loop.
func (a *API) updateService(ctx context.Context, cluster, name string, fn func(s *state.Service) error) (*model.Service, error) {
	key := state.ServiceKey(cluster, name)
	var out *model.Service
	err := retry(ctx, func() error {
		s, rev, err := state.Get[state.Service](ctx, a.st, key)
		if isNotFound(err) {
			return serviceNotFound(cluster, name)
		}
		if err != nil {
			return err
		}
		before := serviceShape(s, true)
		if err := fn(s); err != nil {
			return err
		}
		out = serviceShape(s, true)
		if sameJSON(before, out) {
			return nil // nothing changed: no write, no watch event
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: rev}},
			Ops:   []store.Op{state.Put(key, s)},
		})
		return err
	})
	return out, err
}

func (a *API) UpdateService(ctx context.Context, in *model.UpdateServiceRequest) (*model.UpdateServiceResponse, error) {
	for _, check := range []func() error{
		func() error { return validateDeploymentController(in.DeploymentController) },
		serviceExtras{in.ServiceConnectConfiguration, in.VolumeConfigurations, in.VpcLatticeConfigurations,
			in.PlatformVersion, "", false}.validate,
		func() error { return validateDeploymentConfiguration(in.DeploymentConfiguration) },
		func() error { return validateGracePeriod(in.HealthCheckGracePeriodSeconds) },
		func() error { return validateServicePropagateTags(in.PropagateTags) },
		func() error { return validateAZRebalancing(in.AvailabilityZoneRebalancing) },
	} {
		if err := check(); err != nil {
			return nil, err
		}
	}
	if len(in.CapacityProviderStrategy) > 0 {
		if err := validateStrategyShape("capacityProviderStrategy", in.CapacityProviderStrategy); err != nil {
			return nil, err
		}
	}
	cluster, name, err := a.serviceRef(ctx, in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	now := a.timeNow()
	out, err := a.updateService(ctx, cluster, name, func(s *state.Service) error {
		if s.Status != state.ServiceActive {
			return awsproto.Errorf(codeServiceNotActive, "Service was not ACTIVE: service %s is %s (being deleted or deleted). Create a new service instead.", name, s.Status)
		}
		if err := a.updateServiceCapacity(ctx, s, in); err != nil {
			return err
		}
		strategy := s.SchedulingStrategy
		if err := validateDesiredCount(strategy, in.DesiredCount, false); err != nil {
			return err
		}
		if in.PlacementConstraints != nil || in.PlacementStrategy != nil {
			if err := validateServicePlacement(strategy, in.PlacementConstraints, in.PlacementStrategy); err != nil {
				return err
			}
		}
		constraints := len(s.PlacementConstraints)
		if in.PlacementConstraints != nil {
			constraints = len(in.PlacementConstraints)
		}
		tdArn := s.TaskDefinition
		if in.TaskDefinition != "" || in.NetworkConfiguration != nil || in.PlacementConstraints != nil {
			ref := in.TaskDefinition
			if ref == "" {
				ref = s.TaskDefinition
			}
			nc := in.NetworkConfiguration
			if nc == nil {
				nc = s.NetworkConfiguration
			}
			td, err := a.serviceTaskDefinitionForUpdate(ctx, ref, in.TaskDefinition != "", serviceLaunchType(&s.Service), nc, constraints)
			if err != nil {
				return err
			}
			tdArn = td.TaskDefinitionArn
		}
		if err := a.updateServiceRegistries(ctx, s, in.ServiceRegistries, tdArn); err != nil {
			return err
		}
		if err := a.updateServiceLoadBalancers(ctx, s, in.LoadBalancers, tdArn); err != nil {
			return err
		}
		applyServiceUpdate(s, in, now)
		if tdArn != s.TaskDefinition || model.Val(in.ForceNewDeployment) || s.Primary() == nil {
			s.StartDeployment(tdArn, now)
			fillDeploymentCapacity(s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.UpdateServiceResponse{Service: out}, nil
}

// serviceTaskDefinitionForUpdate resolves the task definition an update
// names; the one the service already runs may have been deregistered since,
// which does not stop the service from using it.
func (a *API) serviceTaskDefinitionForUpdate(ctx context.Context, ref string, given bool, lt model.LaunchType, nc *model.NetworkConfiguration, constraints int) (*model.TaskDefinition, error) {
	if given {
		return a.serviceTaskDefinition(ctx, ref, lt, nc, constraints)
	}
	rec, err := a.taskDefinition(ctx, ref, true)
	if err != nil {
		return nil, err
	}
	td := &rec.TaskDefinition
	if err := checkNetwork(td, nc); err != nil {
		return nil, err
	}
	if err := checkAwsvpc(td, lt, nc); err != nil {
		return nil, err
	}
	if n := constraints + len(td.PlacementConstraints); n > maxConstraints {
		return nil, invalidParam("At most %d placement constraints are allowed per service, counting the task definition's; got %d.", maxConstraints, n)
	}
	return td, nil
}

// applyServiceUpdate sets what the update gives, except the task definition
// (a new deployment, see state.Service.StartDeployment).
func applyServiceUpdate(s *state.Service, in *model.UpdateServiceRequest, now *model.Time) {
	if in.DesiredCount != nil && *in.DesiredCount != model.Val(s.DesiredCount) {
		s.DesiredCount = model.Ptr(*in.DesiredCount)
		if p := s.Primary(); p != nil {
			p.DesiredCount = model.Ptr(*in.DesiredCount)
			p.UpdatedAt = now
		}
		s.SteadyAt = nil
	}
	if in.DeploymentConfiguration != nil {
		s.DeploymentConfiguration = mergeDeploymentConfiguration(s.DeploymentConfiguration, in.DeploymentConfiguration, s.SchedulingStrategy)
	}
	if in.PlacementConstraints != nil {
		s.PlacementConstraints = in.PlacementConstraints
	}
	if in.PlacementStrategy != nil {
		s.PlacementStrategy = in.PlacementStrategy
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		s.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
	}
	if in.PropagateTags != "" {
		s.PropagateTags = in.PropagateTags
	}
	if in.EnableECSManagedTags != nil {
		s.EnableECSManagedTags = in.EnableECSManagedTags
	}
	if in.EnableExecuteCommand != nil {
		s.EnableExecuteCommand = in.EnableExecuteCommand
	}
	if in.AvailabilityZoneRebalancing != "" {
		s.AvailabilityZoneRebalancing = in.AvailabilityZoneRebalancing
	}
}

func (a *API) DeleteService(ctx context.Context, in *model.DeleteServiceRequest) (*model.DeleteServiceResponse, error) {
	cluster, name, err := a.serviceRef(ctx, in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	now := a.timeNow()
	out, err := a.updateService(ctx, cluster, name, func(s *state.Service) error {
		switch s.Status {
		case state.ServiceInactive:
			return awsproto.Errorf(codeServiceNotFound, "Service not found: %s in cluster %s was already deleted (INACTIVE).", name, cluster)
		case state.ServiceDraining:
			return nil // already being deleted
		}
		if s.SchedulingStrategy != model.SchedulingStrategyDaemon && model.Val(s.DesiredCount) > 0 && !model.Val(in.Force) {
			return invalidParam("The service cannot be stopped while it is scaled above 0. Scale it to 0 first (UpdateService --desired-count 0), or delete it with force.")
		}
		s.Status = state.ServiceDraining
		s.DesiredCount = model.Ptr(int32(0))
		for i := range s.Deployments {
			s.Deployments[i].DesiredCount = model.Ptr(int32(0))
			s.Deployments[i].UpdatedAt = now
		}
		s.SteadyAt = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.DeleteServiceResponse{Service: out}, nil
}
