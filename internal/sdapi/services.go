package sdapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func serviceNotFound(ref string) error {
	return awsproto.Errorf(codeServiceNotFound, "Service %s not found. Check the ID (srv-...) or ARN, or list services with aws servicediscovery list-services.", ref)
}

func (a *API) CreateService(ctx context.Context, in *createServiceInput) (*serviceOutput, error) {
	if err := checkServiceName(in.Name); err != nil {
		return nil, err
	}
	if err := checkCommon(in.Description, in.CreatorRequestId); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	nsRef := in.NamespaceId
	if nsRef == "" && in.DnsConfig != nil {
		nsRef = in.DnsConfig.NamespaceId
	}
	if nsRef == "" {
		return nil, invalid("NamespaceId is required: the ID (ns-...) or ARN of the namespace the service belongs to.")
	}
	if in.HealthCheckConfig != nil {
		return nil, invalid("HealthCheckConfig (Route 53 health checks) applies only to public DNS namespaces, which Wharf does not serve. Use HealthCheckCustomConfig and report health with UpdateInstanceCustomHealthStatus; ECS services with serviceRegistries report their tasks' health themselves.")
	}
	if in.Type != "" && in.Type != state.CloudMapServiceHTTP {
		return nil, invalid("Invalid Type %q: the only value is HTTP (a service discoverable through the API only).", in.Type)
	}
	svc := &state.CloudMapService{Name: in.Name, Type: state.CloudMapServiceHTTP, Description: in.Description,
		CreatorRequestID: in.CreatorRequestId, Tags: tags}
	if c := in.HealthCheckCustomConfig; c != nil {
		if t := c.FailureThreshold; t != nil && (*t < 1 || *t > 10) {
			return nil, invalid("HealthCheckCustomConfig FailureThreshold must be from 1 to 10; got %d.", *t)
		}
		svc.CustomHealth, svc.FailureThreshold = true, c.FailureThreshold
	}
	var out *service
	err = retry(ctx, func() error {
		ns, nsRev, err := a.namespace(ctx, nsRef)
		if err != nil {
			return err
		}
		if err := checkDNSConfig(in, ns); err != nil {
			return err
		}
		nameKey := state.CloudMapServiceNameKey(ns.ID, in.Name)
		kv, err := a.st.Get(ctx, nameKey)
		switch {
		case err == nil:
			cur, _, err := a.service(ctx, string(kv.Value))
			if err != nil {
				return err
			}
			if in.CreatorRequestId != "" && cur.CreatorRequestID == in.CreatorRequestId && cur.Name == in.Name {
				out = a.serviceShape(cur, 0)
				return nil
			}
			return awsproto.Errorf(codeServiceAlreadyExists, "Service %s already exists in namespace %s (%s, %s): service names are unique in a namespace, whatever their case.", cur.Name, ns.Name, cur.ID, cur.Arn)
		case !isNotFound(err):
			return err
		}
		svc.ID = newServiceID()
		svc.Arn = a.arn("service/" + svc.ID)
		svc.NamespaceID = ns.ID
		svc.CreateDate = a.timeNow()
		if in.DnsConfig != nil {
			svc.Type = state.CloudMapServiceDNSHTTP
			svc.DNS = storedDNSConfig(in.DnsConfig)
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.CloudMapNamespaceKey(ns.ID), Revision: nsRev}, {Key: nameKey}},
			Ops: []store.Op{
				// Rewriting the namespace moves its revision, so that a
				// DeleteNamespace that read it before this service
				// existed fails its condition and looks again.
				state.Put(state.CloudMapNamespaceKey(ns.ID), ns),
				{Key: nameKey, Value: []byte(svc.ID)},
				state.Put(state.CloudMapServiceKey(svc.ID), svc),
			},
		})
		out = a.serviceShape(svc, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &serviceOutput{Service: out}, nil
}

// checkDNSConfig applies the DnsConfig rules: none in an HTTP namespace or
// for a service of Type HTTP; otherwise records of A, AAAA and SRV, each
// once, with TTLs, under the MULTIVALUE or WEIGHTED routing policy.
func checkDNSConfig(in *createServiceInput, ns *state.CloudMapNamespace) error {
	dc := in.DnsConfig
	if dc == nil {
		return nil
	}
	switch {
	case !ns.IsDNS():
		return invalid("Namespace %s is an HTTP namespace, whose instances are discovered through the API only: remove DnsConfig, or create the service in a private DNS namespace.", ns.Name)
	case in.Type == state.CloudMapServiceHTTP:
		return invalid("A service of Type HTTP has no DNS records: remove DnsConfig or Type.")
	case dc.NamespaceId != "" && in.NamespaceId != "" && dc.NamespaceId != ns.ID:
		return invalid("DnsConfig NamespaceId %s differs from NamespaceId %s; give NamespaceId only.", dc.NamespaceId, in.NamespaceId)
	case len(dc.DnsRecords) == 0:
		return invalid("DnsConfig needs DnsRecords: at least one of A, AAAA or SRV with its TTL.")
	}
	switch dc.RoutingPolicy {
	case "", state.CloudMapMultivalue, state.CloudMapWeighted:
	default:
		return invalid("Invalid RoutingPolicy %q: use MULTIVALUE or WEIGHTED.", dc.RoutingPolicy)
	}
	seen := map[string]bool{}
	for _, r := range dc.DnsRecords {
		switch r.Type {
		case state.CloudMapRecordA, state.CloudMapRecordAAAA, state.CloudMapRecordSRV:
		case "CNAME":
			return invalid("Wharf does not serve CNAME records; use A, AAAA or SRV records.")
		default:
			return invalid("Invalid DnsRecord Type %q: use A, AAAA or SRV.", r.Type)
		}
		if seen[r.Type] {
			return invalid("DnsRecords lists type %s twice; give each type once.", r.Type)
		}
		seen[r.Type] = true
		if r.TTL == nil || *r.TTL < 0 || *r.TTL > maxTTL {
			return invalid("DnsRecord %s needs a TTL from 0 to %d seconds.", r.Type, maxTTL)
		}
	}
	return nil
}

func storedDNSConfig(dc *dnsConfig) *state.CloudMapDNSConfig {
	out := &state.CloudMapDNSConfig{RoutingPolicy: dc.RoutingPolicy}
	if out.RoutingPolicy == "" {
		out.RoutingPolicy = state.CloudMapMultivalue
	}
	for _, r := range dc.DnsRecords {
		out.Records = append(out.Records, state.CloudMapDNSRecord{Type: r.Type, TTL: *r.TTL})
	}
	return out
}

// service reads a service by ID or ARN.
func (a *API) service(ctx context.Context, ref string) (*state.CloudMapService, int64, error) {
	if ref == "" {
		return nil, 0, invalid("The service ID (srv-...) or ARN is required.")
	}
	id := a.idFromRef(ref, "service")
	if id == "" {
		return nil, 0, serviceNotFound(ref)
	}
	svc, rev, err := state.Get[state.CloudMapService](ctx, a.st, state.CloudMapServiceKey(id))
	if isNotFound(err) {
		return nil, 0, serviceNotFound(ref)
	}
	return svc, rev, err
}

func (a *API) serviceShape(s *state.CloudMapService, instances int32) *service {
	out := &service{
		Id: s.ID, Arn: s.Arn, ResourceOwner: a.account, Name: s.Name, NamespaceId: s.NamespaceID,
		Description: s.Description, InstanceCount: &instances, Type: s.Type, CreateDate: s.CreateDate,
		CreatorRequestId: s.CreatorRequestID, CreatedByAccount: a.account,
	}
	if s.DNS != nil {
		dc := &dnsConfig{NamespaceId: s.NamespaceID, RoutingPolicy: s.DNS.RoutingPolicy, DnsRecords: []dnsRecord{}}
		for _, r := range s.DNS.Records {
			dc.DnsRecords = append(dc.DnsRecords, dnsRecord{Type: r.Type, TTL: &r.TTL})
		}
		out.DnsConfig = dc
	}
	if s.CustomHealth {
		out.HealthCheckCustomConfig = &healthCheckCustomConfig{FailureThreshold: s.FailureThreshold}
	}
	return out
}

func (a *API) instanceCount(ctx context.Context, serviceID string) (int32, error) {
	kvs, _, err := a.st.List(ctx, state.CloudMapInstancesOf(serviceID), store.ListOptions{})
	return int32(len(kvs)), err
}

func (a *API) GetService(ctx context.Context, in *idInput) (*serviceOutput, error) {
	svc, _, err := a.service(ctx, in.Id)
	if err != nil {
		return nil, err
	}
	n, err := a.instanceCount(ctx, svc.ID)
	if err != nil {
		return nil, err
	}
	return &serviceOutput{Service: a.serviceShape(svc, n)}, nil
}

var serviceFilters = map[string]filterField[state.CloudMapService]{
	"NAMESPACE_ID":   {conds: []string{condEQ, condIN}, get: func(s *state.CloudMapService) string { return s.NamespaceID }},
	"RESOURCE_OWNER": {conds: []string{condEQ}, get: func(*state.CloudMapService) string { return "SELF" }},
}

func (a *API) ListServices(ctx context.Context, in *listInput) (*listServicesOutput, error) {
	limit, err := pageLimit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	match, err := compileFilters(in.Filters, serviceFilters)
	if err != nil {
		return nil, err
	}
	list, next, err := scanPage(ctx, a.st, "ListServices", state.CloudMapServicesPrefix, in.NextToken, limit, match)
	if err != nil {
		return nil, err
	}
	out := &listServicesOutput{NextToken: next, Services: make([]service, 0, len(list))}
	for _, s := range list {
		n, err := a.instanceCount(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		sh := a.serviceShape(s, n)
		sh.CreatorRequestId = "" // not a member of ServiceSummary
		out.Services = append(out.Services, *sh)
	}
	return out, nil
}

// DeleteService deletes a service that has no instances left.
func (a *API) DeleteService(ctx context.Context, in *idInput) (*empty, error) {
	err := retry(ctx, func() error {
		svc, rev, err := a.service(ctx, in.Id)
		if err != nil {
			return err
		}
		kvs, _, err := a.st.List(ctx, state.CloudMapInstancesOf(svc.ID), store.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		if len(kvs) > 0 {
			return awsproto.Errorf(codeResourceInUse, "Service %s still has registered instances: deregister them first (aws servicediscovery list-instances --service-id %s). Instances of an ECS service's tasks go when the ECS service's tasks stop.", svc.ID, svc.ID)
		}
		// RegisterInstance rewrites the service when it adds an
		// instance, so this condition also catches one added since.
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.CloudMapServiceKey(svc.ID), Revision: rev}},
			Ops: []store.Op{
				state.Delete(state.CloudMapServiceKey(svc.ID)),
				state.Delete(state.CloudMapServiceNameKey(svc.NamespaceID, svc.Name)),
			},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}
