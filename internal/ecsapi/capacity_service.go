package ecsapi

import (
	"context"
	"slices"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Services on capacity providers and Fargate: the service keeps its
// strategy (or launch type), platform version and network configuration,
// its deployments show them, and its launches split the tasks between the
// strategy's providers counting the tasks each already runs.

// setServiceCapacity records how a new service gets capacity.
func setServiceCapacity(s *state.Service, lt model.LaunchType, cps []model.CapacityProviderStrategyItem, pv string, nc *model.NetworkConfiguration) {
	if len(cps) > 0 {
		s.LaunchType = ""
		s.CapacityProviderStrategy = slices.Clone(cps)
	}
	if lt == model.LaunchTypeFargate {
		s.PlatformVersion, s.PlatformFamily = pv, fargatePlatformFamily
		if s.PlatformVersion == "" {
			s.PlatformVersion = "LATEST"
		}
	}
	s.NetworkConfiguration = model.Clone(nc)
	fillDeploymentCapacity(s)
}

// fillDeploymentCapacity copies the service's capacity settings onto its
// PRIMARY deployment.
func fillDeploymentCapacity(s *state.Service) {
	p := s.Primary()
	if p == nil {
		return
	}
	p.LaunchType = s.LaunchType
	p.CapacityProviderStrategy = slices.Clone(s.CapacityProviderStrategy)
	p.PlatformVersion, p.PlatformFamily = s.PlatformVersion, s.PlatformFamily
	p.NetworkConfiguration = model.Clone(s.NetworkConfiguration)
}

// serviceLaunchType is the launch type a service's tasks get: its own, or
// the one its strategy implies.
func serviceLaunchType(s *model.Service) model.LaunchType {
	switch {
	case s.LaunchType != "":
		return s.LaunchType
	case len(s.CapacityProviderStrategy) > 0 && isFargateProvider(s.CapacityProviderStrategy[0].CapacityProvider):
		return model.LaunchTypeFargate
	}
	return model.LaunchTypeEc2
}

// updateServiceCapacity applies UpdateService's capacityProviderStrategy,
// platformVersion and networkConfiguration. Moving from a launch type to a
// strategy needs forceNewDeployment, as in ECS, because the running tasks
// keep the capacity they have.
func (a *API) updateServiceCapacity(ctx context.Context, s *state.Service, in *model.UpdateServiceRequest) error {
	if len(in.CapacityProviderStrategy) > 0 {
		if s.LaunchType != "" && !model.Val(in.ForceNewDeployment) {
			return invalidParam("Updating a service from launch type %s to a capacity provider strategy requires forceNewDeployment: its running tasks keep their capacity until they are replaced.", s.LaunchType)
		}
		c, _, err := a.activeCluster(ctx, s.Cluster)
		if err != nil {
			return err
		}
		lt, cps, err := resolveCapacity(c, "", in.CapacityProviderStrategy)
		if err != nil {
			return err
		}
		if (lt == model.LaunchTypeFargate) != (serviceLaunchType(&s.Service) == model.LaunchTypeFargate) {
			return invalidParam("A service cannot move between Fargate and EC2 capacity; create a new service instead.")
		}
		s.LaunchType = ""
		s.CapacityProviderStrategy = cps
	}
	if in.PlatformVersion != "" {
		if err := checkPlatformVersion(in.PlatformVersion, serviceLaunchType(&s.Service)); err != nil {
			return err
		}
		s.PlatformVersion = in.PlatformVersion
	}
	if in.NetworkConfiguration != nil {
		s.NetworkConfiguration = model.Clone(in.NetworkConfiguration)
	}
	return nil
}

// serviceCapacity is what a service launch needs from the service record:
// its strategy, network configuration, and its tasks per provider.
func (a *API) serviceCapacity(ctx context.Context, cluster, name string) (*state.Service, error) {
	s, _, err := state.Get[state.Service](ctx, a.st, state.ServiceKey(cluster, name))
	if isNotFound(err) {
		return nil, serviceNotFound(cluster, name)
	}
	return s, err
}

// launchServiceStrategy places a service launch through its strategy.
func (a *API) launchServiceStrategy(ctx context.Context, l *taskLaunch, strategy []model.CapacityProviderStrategyItem, count int) (launched []string, failures []model.Failure, err error) {
	rev, err := a.st.Revision(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := a.index.fresh(ctx, rev); err != nil {
		return nil, nil, err
	}
	have := a.index.providerCounts(l.group)
	for _, part := range splitStrategy(strategy, count, have) {
		pl := l.forProvider(part.provider)
		for done := 0; done < part.count; {
			n := min(part.count-done, serviceLaunchBatch)
			var out *model.RunTaskResponse
			err = retry(ctx, func() error {
				var err error
				out, err = a.runOnce(ctx, pl, n, false, "")
				return err
			})
			if err != nil {
				return launched, nil, err
			}
			for _, t := range out.Tasks {
				launched = append(launched, t.TaskArn)
			}
			done += len(out.Tasks)
			if len(out.Tasks) < n {
				failures = append(failures, out.Failures...)
				break
			}
		}
	}
	return launched, failures, nil
}

// daemonCapacity is how a DAEMON service gets capacity: on its instances,
// never through a strategy (the cluster's default is not applied) nor on
// Fargate, as in ECS.
func daemonCapacity(lt model.LaunchType, cps []model.CapacityProviderStrategyItem) (model.LaunchType, []model.CapacityProviderStrategyItem, error) {
	switch {
	case len(cps) > 0:
		return "", nil, invalidParam("The DAEMON scheduling strategy does not support capacity provider strategies; give launchType EC2 or EXTERNAL instead.")
	case lt == model.LaunchTypeFargate:
		return "", nil, invalidParam("The DAEMON scheduling strategy is not supported on Fargate; use REPLICA, or launchType EC2 or EXTERNAL.")
	case lt == "":
		return model.LaunchTypeEc2, nil, nil
	}
	return lt, nil, nil
}
