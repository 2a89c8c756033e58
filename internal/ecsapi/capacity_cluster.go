package ecsapi

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// A cluster's capacity providers: which it may use (capacityProviders) and
// how tasks that name neither a launch type nor a strategy get capacity
// (defaultCapacityProviderStrategy).

const (
	maxStrategyItems  = 20
	maxWeight         = 1000
	maxBase           = 100000
	codeResourceInUse = "ResourceInUseException"
)

// validateStrategyShape checks a capacity provider strategy on its own: the
// bounds of base and weight, one provider with a base at most, no provider
// twice, some weight when there are several, and Fargate and Auto Scaling
// group providers not mixed. what names the strategy in messages.
func validateStrategyShape(what string, items []model.CapacityProviderStrategyItem) error {
	if len(items) > maxStrategyItems {
		return invalidParam("A capacity provider strategy may hold at most %d providers; %s has %d.", maxStrategyItems, what, len(items))
	}
	seen := map[string]bool{}
	bases, weighted, fargate := 0, 0, 0
	for _, it := range items {
		if it.CapacityProvider == "" {
			return invalidParam("Each item of %s needs a capacityProvider name.", what)
		}
		if seen[it.CapacityProvider] {
			return invalidParam("%s names capacity provider %s more than once.", what, it.CapacityProvider)
		}
		seen[it.CapacityProvider] = true
		if w := model.Val(it.Weight); w < 0 || w > maxWeight {
			return invalidParam("Capacity provider weight must be between 0 and %d; got %d for %s.", maxWeight, w, it.CapacityProvider)
		} else if w > 0 {
			weighted++
		}
		if b := model.Val(it.Base); b < 0 || b > maxBase {
			return invalidParam("Capacity provider base must be between 0 and %d; got %d for %s.", maxBase, b, it.CapacityProvider)
		} else if b > 0 {
			bases++
		}
		if isFargateProvider(it.CapacityProvider) {
			fargate++
		}
	}
	switch {
	case bases > 1:
		return invalidParam("Only one capacity provider in %s can have a base; %d do.", what, bases)
	case len(items) > 1 && weighted == 0:
		return invalidParam("At least one capacity provider in %s must have a weight greater than 0.", what)
	case fargate > 0 && fargate < len(items):
		return invalidParam("%s mixes Fargate and Auto Scaling group capacity providers; a strategy uses FARGATE and FARGATE_SPOT only, or Auto Scaling group providers only.", what)
	}
	return nil
}

// checkStrategyInCluster refuses a strategy naming a provider the cluster
// is not associated with.
func checkStrategyInCluster(c *state.Cluster, items []model.CapacityProviderStrategyItem) error {
	for _, it := range items {
		if !slices.Contains(c.CapacityProviders, it.CapacityProvider) {
			return invalidParam("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster: %s is not among cluster %s's capacityProviders %v. Associate it with PutClusterCapacityProviders, or choose another.", it.CapacityProvider, c.ClusterName, c.CapacityProviders)
		}
	}
	return nil
}

// providerChanges validates a cluster's new capacityProviders and default
// strategy and returns the conditions and writes that associate the added
// providers with the cluster and release the removed ones, to commit with
// the cluster itself.
func (a *API) providerChanges(ctx context.Context, cluster string, have, want []string, strategy []model.CapacityProviderStrategyItem) (store.Txn, error) {
	var txn store.Txn
	if len(want) > maxStrategyItems {
		return txn, invalidParam("A cluster may have at most %d capacity providers; got %d.", maxStrategyItems, len(want))
	}
	if err := validateStrategyShape("defaultCapacityProviderStrategy", strategy); err != nil {
		return txn, err
	}
	for _, it := range strategy {
		if !slices.Contains(want, it.CapacityProvider) {
			return txn, invalidParam("The default capacity provider strategy names %s, which is not among the cluster's capacityProviders %v; add it to capacityProviders.", it.CapacityProvider, want)
		}
	}
	seen := map[string]bool{}
	for _, n := range want {
		if seen[n] {
			return txn, invalidParam("capacityProviders names %s more than once.", n)
		}
		seen[n] = true
		if isFargateProvider(n) || slices.Contains(have, n) {
			continue
		}
		if !validName(n) {
			return txn, invalidParam("Invalid capacity provider name %q: give the provider's short name.", n)
		}
		key := state.CapacityProviderKey(n)
		p, rev, err := state.Get[state.CapacityProvider](ctx, a.st, key)
		if isNotFound(err) || err == nil && p.Status == model.CapacityProviderStatusInactive {
			return txn, providerNotFound(n)
		}
		if err != nil {
			return txn, err
		}
		if p.AssociatedCluster != "" && p.AssociatedCluster != cluster {
			other, _, err := state.Get[state.Cluster](ctx, a.st, state.ClusterKey(p.AssociatedCluster))
			if err == nil && other.Status != clusterInactive && slices.Contains(other.CapacityProviders, n) {
				return txn, invalidParam("The capacity provider %s is already associated with cluster %s; an Auto Scaling group provider serves one cluster. Remove it there first, or create another provider.", n, p.AssociatedCluster)
			}
		}
		p.AssociatedCluster = cluster
		txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: rev})
		txn.Ops = append(txn.Ops, state.Put(key, p))
	}
	for _, n := range have {
		if slices.Contains(want, n) {
			continue
		}
		if err := a.checkProviderUnused(ctx, cluster, n); err != nil {
			return txn, err
		}
		if isFargateProvider(n) {
			continue
		}
		key := state.CapacityProviderKey(n)
		p, rev, err := state.Get[state.CapacityProvider](ctx, a.st, key)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return txn, err
		}
		if p.AssociatedCluster == cluster {
			p.AssociatedCluster = ""
			txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: rev})
			txn.Ops = append(txn.Ops, state.Put(key, p))
		}
	}
	return txn, nil
}

// checkProviderUnused refuses to take a provider from a cluster while a task
// of the cluster runs on it or a service's strategy names it.
func (a *API) checkProviderUnused(ctx context.Context, cluster, name string) error {
	kvs, _, err := a.st.List(ctx, state.ClusterTasksPrefix(cluster), store.ListOptions{})
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		var t struct {
			Provider   string `json:"capacityProviderName"`
			LastStatus string `json:"lastStatus"`
		}
		if json.Unmarshal(kv.Value, &t) == nil && t.Provider == name && t.LastStatus != taskStopped {
			return awsproto.Errorf(codeResourceInUse, "The specified capacity provider %s is in use and cannot be removed: tasks of cluster %s run on it. Stop them, or move their services to another strategy, first.", name, cluster)
		}
	}
	svcs, _, err := state.List[state.Service](ctx, a.st, state.ClusterServicesPrefix(cluster), store.ListOptions{})
	if err != nil {
		return err
	}
	for _, s := range svcs {
		if s.Val.Status == state.ServiceInactive {
			continue
		}
		for _, it := range s.Val.CapacityProviderStrategy {
			if it.CapacityProvider == name {
				return awsproto.Errorf(codeResourceInUse, "The specified capacity provider %s is in use and cannot be removed: service %s's capacity provider strategy names it. Update the service (UpdateService --capacity-provider-strategy ... --force-new-deployment) first.", name, s.Val.ServiceName)
			}
		}
	}
	return nil
}

func (a *API) PutClusterCapacityProviders(ctx context.Context, in *model.PutClusterCapacityProvidersRequest) (*model.PutClusterCapacityProvidersResponse, error) {
	if in.CapacityProviders == nil {
		return nil, invalidParam("capacityProviders is required: give every provider the cluster should have (an empty list removes them all).")
	}
	if in.DefaultCapacityProviderStrategy == nil {
		return nil, invalidParam("defaultCapacityProviderStrategy is required: give the strategy for launches that name none, or an empty list for no default.")
	}
	name, err := clusterName(in.Cluster)
	if err != nil {
		return nil, err
	}
	var out *model.Cluster
	err = retry(ctx, func() error {
		c, crev, err := a.activeCluster(ctx, name)
		if err != nil {
			return err
		}
		txn, err := a.providerChanges(ctx, name, c.CapacityProviders, in.CapacityProviders, in.DefaultCapacityProviderStrategy)
		if err != nil {
			return err
		}
		c.CapacityProviders = slices.Clone(in.CapacityProviders)
		c.DefaultCapacityProviderStrategy = slices.Clone(in.DefaultCapacityProviderStrategy)
		txn.Conds = append(txn.Conds, store.Cond{Key: state.ClusterKey(name), Revision: crev})
		txn.Ops = append(txn.Ops, state.Put(state.ClusterKey(name), c))
		if _, err := a.st.Commit(ctx, txn); err != nil {
			return err
		}
		out = &c.Cluster
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := a.fillClusterCounts(ctx, out); err != nil {
		return nil, err
	}
	return &model.PutClusterCapacityProvidersResponse{Cluster: out}, nil
}

// releaseProviders clears the association of a deleted cluster's providers,
// so that they can be deleted or given to another cluster.
func (a *API) releaseProviders(ctx context.Context, cluster string, names []string) error {
	for _, n := range names {
		if isFargateProvider(n) {
			continue
		}
		key := state.CapacityProviderKey(n)
		err := retry(ctx, func() error {
			p, rev, err := state.Get[state.CapacityProvider](ctx, a.st, key)
			if isNotFound(err) || err == nil && p.AssociatedCluster != cluster {
				return nil
			}
			if err != nil {
				return err
			}
			p.AssociatedCluster = ""
			_, err = a.st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, p)}})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
