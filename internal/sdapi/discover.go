package sdapi

import (
	"context"
	"maps"
	"math/rand/v2"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Health filters of DiscoverInstances.
const (
	filterHealthy         = "HEALTHY"
	filterUnhealthy       = "UNHEALTHY"
	filterAll             = "ALL"
	filterHealthyElseAll  = "HEALTHY_OR_ELSE_ALL"
	defaultDiscoverResult = 100
	maxDiscoverResults    = 1000
)

// discoverEntry resolves DiscoverInstances' names from the catalog, once it
// reflects the caller's own earlier writes.
func (a *API) discoverEntry(ctx context.Context, nsName, svcName, owner string) (entry, error) {
	if nsName == "" || svcName == "" {
		return entry{}, invalid("NamespaceName and ServiceName are required: the namespace's HttpName (for a DNS namespace, its name) and the service's name.")
	}
	if owner != "" && owner != a.account {
		return entry{}, awsproto.Errorf(codeNamespaceNotFound, "Namespace %s not found in account %s: Wharf has one account, %s.", nsName, owner, a.account)
	}
	if err := a.catalog.Sync(ctx); err != nil {
		return entry{}, err
	}
	e := a.catalog.lookup(nsName, svcName)
	switch {
	case e.ns == nil:
		return e, awsproto.Errorf(codeNamespaceNotFound, "Namespace %s not found: NamespaceName is the namespace's HttpName (list them with aws servicediscovery list-namespaces).", nsName)
	case e.svc == nil:
		return e, awsproto.Errorf(codeServiceNotFound, "Service %s not found in namespace %s.", svcName, nsName)
	}
	return e, nil
}

// DiscoverInstances answers a service's instances in random order: those
// whose attributes match every QueryParameter, narrowed further by the
// OptionalParameters when some instances match them too, and by health.
// The health filter (default HEALTHY) applies only to services with a
// health check; the others report every instance as UNKNOWN.
func (a *API) DiscoverInstances(ctx context.Context, in *discoverInput) (*discoverOutput, error) {
	limit, err := pageLimit(in.MaxResults, defaultDiscoverResult, maxDiscoverResults)
	if err != nil {
		return nil, err
	}
	hf := in.HealthStatus
	switch hf {
	case "":
		hf = filterHealthy
	case filterHealthy, filterUnhealthy, filterAll, filterHealthyElseAll:
	default:
		return nil, invalid("Invalid HealthStatus %q: use HEALTHY, UNHEALTHY, ALL or HEALTHY_OR_ELSE_ALL.", in.HealthStatus)
	}
	e, err := a.discoverEntry(ctx, in.NamespaceName, in.ServiceName, in.OwnerAccount)
	if err != nil {
		return nil, err
	}
	list := matchAttrs(e.instances, in.QueryParameters)
	if opt := matchAttrs(list, in.OptionalParameters); len(opt) > 0 {
		list = opt
	}
	if e.svc.CustomHealth {
		list = filterHealth(list, hf)
	}
	rand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	if len(list) > limit {
		list = list[:limit]
	}
	out := &discoverOutput{InstancesRevision: e.revision, Instances: make([]httpInstanceSummary, 0, len(list))}
	for _, i := range list {
		attrs := maps.Clone(i.Attributes)
		if attrs == nil {
			attrs = map[string]string{}
		}
		out.Instances = append(out.Instances, httpInstanceSummary{
			InstanceId: i.ID, NamespaceName: e.ns.Name, ServiceName: e.svc.Name,
			HealthStatus: healthOf(e.svc, i), Attributes: attrs,
		})
	}
	return out, nil
}

// DiscoverInstancesRevision answers the revision DiscoverInstances would,
// which changes whenever the service's instances do.
func (a *API) DiscoverInstancesRevision(ctx context.Context, in *discoverInput) (*discoverRevisionOutput, error) {
	e, err := a.discoverEntry(ctx, in.NamespaceName, in.ServiceName, in.OwnerAccount)
	if err != nil {
		return nil, err
	}
	return &discoverRevisionOutput{InstancesRevision: e.revision}, nil
}

// matchAttrs keeps the instances whose attributes hold every key and value
// of params.
func matchAttrs(list []*state.CloudMapInstance, params map[string]string) []*state.CloudMapInstance {
	if len(params) == 0 {
		return list
	}
	var out []*state.CloudMapInstance
	for _, i := range list {
		ok := true
		for k, v := range params {
			if got, has := i.Attributes[k]; !has || got != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

func filterHealth(list []*state.CloudMapInstance, filter string) []*state.CloudMapInstance {
	if filter == filterAll {
		return list
	}
	want := state.CloudMapHealthy
	if filter == filterUnhealthy {
		want = state.CloudMapUnhealthy
	}
	var out []*state.CloudMapInstance
	for _, i := range list {
		if i.Health == want {
			out = append(out, i)
		}
	}
	if len(out) == 0 && filter == filterHealthyElseAll {
		return list
	}
	return out
}
