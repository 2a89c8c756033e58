package ecsapi

import (
	"context"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
)

// How a launch gets capacity: a launch type, or a capacity provider
// strategy whose base and weights split the tasks between providers. A
// task of a provider is placed only on that provider's instances (those
// carrying its wharf.capacity-provider attribute) or, for FARGATE and
// FARGATE_SPOT, on the Fargate pool; when none can take it, it waits
// PROVISIONING while managed scaling brings capacity, as in ECS.

// defaultCapacityWait is how long a task launched through a capacity
// provider waits PROVISIONING for capacity before it is stopped; the tag
// wharf:waitForCapacity changes it.
const defaultCapacityWait = 30 * time.Minute

// Fargate platform: the only platform version Wharf runs, which LATEST
// resolves to.
const (
	fargatePlatformVersion = "1.4.0"
	fargatePlatformFamily  = "Linux"
)

// resolveCapacity applies the rules of RunTask and CreateService for
// launchType and capacityProviderStrategy: one or the other; neither means
// the cluster's default strategy, or EC2 without one. It returns the launch
// type the tasks get (FARGATE for a Fargate strategy, EC2 for an Auto
// Scaling group one) and the strategy, if any.
func resolveCapacity(c *state.Cluster, lt model.LaunchType, strategy []model.CapacityProviderStrategyItem) (model.LaunchType, []model.CapacityProviderStrategyItem, error) {
	if lt != "" && len(strategy) > 0 {
		return "", nil, invalidParam("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	if lt == "" && len(strategy) == 0 {
		strategy = c.DefaultCapacityProviderStrategy
	}
	if len(strategy) > 0 {
		if err := validateStrategyShape("capacityProviderStrategy", strategy); err != nil {
			return "", nil, err
		}
		if err := checkStrategyInCluster(c, strategy); err != nil {
			return "", nil, err
		}
		if isFargateProvider(strategy[0].CapacityProvider) {
			return model.LaunchTypeFargate, strategy, nil
		}
		return model.LaunchTypeEc2, strategy, nil
	}
	switch lt {
	case "", model.LaunchTypeEc2:
		return model.LaunchTypeEc2, nil, nil
	case model.LaunchTypeExternal, model.LaunchTypeFargate:
		return lt, nil, nil
	case model.LaunchTypeManagedInstances:
		return "", nil, invalidParam("The MANAGED_INSTANCES launch type is not supported by Wharf; use launchType EC2, EXTERNAL or FARGATE.")
	}
	return "", nil, invalidParam("Invalid launchType %q: use EC2, EXTERNAL or FARGATE.", lt)
}

// checkPlatformVersion accepts platformVersion only for FARGATE, and there
// only LATEST and 1.4.0, the version Wharf's Fargate behaves as.
func checkPlatformVersion(v string, lt model.LaunchType) error {
	if v == "" {
		return nil
	}
	if lt != model.LaunchTypeFargate {
		return invalidParam("platformVersion applies only to the FARGATE launch type; remove it for %s.", lt)
	}
	if v != "LATEST" && v != fargatePlatformVersion {
		return invalidParam("Invalid platformVersion %q: Wharf's Fargate is platform version %s; give LATEST or %s.", v, fargatePlatformVersion, fargatePlatformVersion)
	}
	return nil
}

// capacityPart is the share of a launch that goes to one provider.
type capacityPart struct {
	provider string
	count    int
}

// splitStrategy divides count new tasks between a strategy's providers:
// the base first, then by weight, counting the tasks each provider already
// has (a service's running tasks; none for RunTask), as ECS does. Each task
// goes to the provider whose share of the weighted tasks is the smallest
// after taking it; ties go to the provider listed first.
func splitStrategy(items []model.CapacityProviderStrategyItem, count int, have map[string]int) []capacityPart {
	n := make([]int, len(items)) // tasks per provider, existing and new
	for i, it := range items {
		n[i] = have[it.CapacityProvider]
	}
	added := make([]int, len(items))
	weight := func(i int) int {
		w := int(model.Val(items[i].Weight))
		if w == 0 && len(items) == 1 {
			return 1
		}
		return w
	}
	for range count {
		pick := -1
		for i, it := range items {
			if b := int(model.Val(it.Base)); n[i] < b {
				pick = i
				break
			}
		}
		if pick < 0 {
			// Compare (beyond_i + 1) / w_i across providers without
			// division: a/b < c/d ⇔ a·d < c·b for positive b and d.
			for i, it := range items {
				w := weight(i)
				if w == 0 {
					continue
				}
				beyond := max(n[i]-int(model.Val(it.Base)), 0) + 1
				if pick < 0 {
					pick = i
					continue
				}
				pb := max(n[pick]-int(model.Val(items[pick].Base)), 0) + 1
				if beyond*weight(pick) < pb*w {
					pick = i
				}
			}
		}
		if pick < 0 {
			pick = 0 // no weight anywhere: validateStrategyShape prevents it
		}
		n[pick]++
		added[pick]++
	}
	var out []capacityPart
	for i, it := range items {
		if added[i] > 0 {
			out = append(out, capacityPart{provider: it.CapacityProvider, count: added[i]})
		}
	}
	return out
}

// forProvider is the launch l for one provider of its strategy: its tasks
// carry the provider's name, go only to its instances, and wait for
// capacity rather than fail.
func (l *taskLaunch) forProvider(provider string) *taskLaunch {
	p := *l
	p.capacityProvider = provider
	if p.waitFor == 0 {
		p.waitFor = defaultCapacityWait
	}
	return &p
}

// capacityRequirements adds to a placement request what the launch's
// capacity asks of an instance: its provider's attribute.
func capacityRequirements(l *taskLaunch, r *scheduler.Request) {
	if l.capacityProvider != "" && !isFargateProvider(l.capacityProvider) {
		r.RequiresAttributes = append(r.RequiresAttributes, scheduler.Attribute{Name: state.AttrCapacityProvider, Value: l.capacityProvider})
	}
}

// runStrategy runs a RunTask launch through its strategy: one placement per
// provider, answered together. A clientToken is kept per provider.
func (a *API) runStrategy(ctx context.Context, l *taskLaunch, strategy []model.CapacityProviderStrategyItem, count int, distinct bool, hash string) (*model.RunTaskResponse, error) {
	out := &model.RunTaskResponse{Tasks: []model.Task{}, Failures: []model.Failure{}}
	parts := splitStrategy(strategy, count, nil)
	for _, part := range parts {
		pl := l.forProvider(part.provider)
		if pl.token != "" && len(parts) > 1 {
			pl.token += "#" + part.provider
		}
		var res *model.RunTaskResponse
		err := retry(ctx, func() error {
			var err error
			res, err = a.runOnce(ctx, pl, part.count, distinct, hash)
			return err
		})
		if err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, res.Tasks...)
		out.Failures = append(out.Failures, res.Failures...)
	}
	return out, nil
}
