package sdapi

import (
	"context"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// defaultSOATTL is the TTL Cloud Map gives a DNS namespace's SOA record when
// the request sets none; it also bounds how long resolvers cache a negative
// answer.
const defaultSOATTL = 15

func namespaceNotFound(ref string) error {
	return awsproto.Errorf(codeNamespaceNotFound, "Namespace %s not found. Check the ID (ns-...) or ARN, or list namespaces with aws servicediscovery list-namespaces.", ref)
}

func (a *API) CreateHttpNamespace(ctx context.Context, in *createHttpNamespaceInput) (*operationOutput, error) {
	if err := checkHTTPNamespaceName(in.Name); err != nil {
		return nil, err
	}
	ns := &state.CloudMapNamespace{Name: in.Name, Type: state.CloudMapHTTP}
	return a.createNamespace(ctx, ns, in.Description, in.CreatorRequestId, in.Tags)
}

func (a *API) CreatePrivateDnsNamespace(ctx context.Context, in *createPrivateDnsNamespaceInput) (*operationOutput, error) {
	name, err := dnsNamespaceName(in.Name)
	if err != nil {
		return nil, err
	}
	if in.Vpc == "" {
		return nil, invalid("Vpc is required for a private DNS namespace. Wharf has no VPCs: give any VPC ID (such as vpc-local); every client that queries Wharf's DNS server sees the namespace.")
	}
	if len(in.Vpc) > 64 {
		return nil, invalid("Vpc must be at most 64 characters.")
	}
	ttl := int64(defaultSOATTL)
	if p := in.Properties; p != nil {
		if p.DnsProperties == nil || p.DnsProperties.SOA == nil || p.DnsProperties.SOA.TTL == nil {
			return nil, invalid("Properties needs DnsProperties.SOA.TTL, the SOA record's TTL in seconds.")
		}
		ttl = *p.DnsProperties.SOA.TTL
		if ttl < 0 || ttl > maxTTL {
			return nil, invalid("SOA TTL must be from 0 to %d seconds; got %d.", maxTTL, ttl)
		}
	}
	ns := &state.CloudMapNamespace{Name: name, Type: state.CloudMapDNSPrivate, HostedZoneID: newHostedZoneID(), SOATTL: ttl}
	return a.createNamespace(ctx, ns, in.Description, in.CreatorRequestId, in.Tags)
}

// CreatePublicDnsNamespace is refused: a public namespace needs a domain
// delegated to Route 53.
func (a *API) CreatePublicDnsNamespace(context.Context, *createHttpNamespaceInput) (*operationOutput, error) {
	return nil, invalid("Wharf does not serve public DNS namespaces: they need a public domain delegated to Route 53. Create a private DNS namespace (aws servicediscovery create-private-dns-namespace), which Wharf's DNS server (--dns-listen) answers for, or an HTTP namespace.")
}

// createNamespace stores a namespace with its name reserved and the record
// of the (already succeeded) operation. A repeat of the request with the
// same CreatorRequestId answers the first operation again.
func (a *API) createNamespace(ctx context.Context, ns *state.CloudMapNamespace, desc, creator string, tags []tag) (*operationOutput, error) {
	if err := checkCommon(desc, creator); err != nil {
		return nil, err
	}
	stored, err := checkTags(tags)
	if err != nil {
		return nil, err
	}
	nameKey := state.CloudMapNamespaceNameKey(ns.Name)
	var opID string
	err = retry(ctx, func() error {
		kv, err := a.st.Get(ctx, nameKey)
		switch {
		case err == nil:
			cur, _, err := state.Get[state.CloudMapNamespace](ctx, a.st, state.CloudMapNamespaceKey(string(kv.Value)))
			if err != nil {
				return err
			}
			if creator != "" && cur.CreatorRequestID == creator && cur.Name == ns.Name && cur.Type == ns.Type {
				opID = cur.Operation
				return nil
			}
			return awsproto.Errorf(codeNamespaceAlreadyExists, "Namespace %s already exists (%s): namespace names are unique in the account, whatever their case. Use it, delete it, or choose another name.", cur.Name, cur.ID)
		case !isNotFound(err):
			return err
		}
		now := a.timeNow()
		ns.ID = newNamespaceID()
		ns.Arn = a.arn("namespace/" + ns.ID)
		ns.Description, ns.CreatorRequestID, ns.Tags, ns.CreateDate = desc, creator, stored, now
		op := a.newOperation(state.CloudMapOpCreateNamespace, map[string]string{"NAMESPACE": ns.ID})
		ns.Operation = op.ID
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: nameKey}},
			Ops: []store.Op{
				{Key: nameKey, Value: []byte(ns.ID)},
				state.Put(state.CloudMapNamespaceKey(ns.ID), ns),
				state.Put(state.CloudMapOperationKey(op.ID), op),
			},
		})
		opID = op.ID
		return err
	})
	if err != nil {
		return nil, err
	}
	return &operationOutput{OperationId: opID}, nil
}

// namespace reads a namespace by ID or ARN.
func (a *API) namespace(ctx context.Context, ref string) (*state.CloudMapNamespace, int64, error) {
	if ref == "" {
		return nil, 0, invalid("Id is required: the namespace ID (ns-...) or ARN.")
	}
	id := a.idFromRef(ref, "namespace")
	if id == "" {
		return nil, 0, namespaceNotFound(ref)
	}
	ns, rev, err := state.Get[state.CloudMapNamespace](ctx, a.st, state.CloudMapNamespaceKey(id))
	if isNotFound(err) {
		return nil, 0, namespaceNotFound(ref)
	}
	return ns, rev, err
}

func (a *API) GetNamespace(ctx context.Context, in *idInput) (*getNamespaceOutput, error) {
	ns, _, err := a.namespace(ctx, in.Id)
	if err != nil {
		return nil, err
	}
	out, err := a.namespaceShape(ctx, ns)
	if err != nil {
		return nil, err
	}
	out.CreatorRequestId = ns.CreatorRequestID
	return &getNamespaceOutput{Namespace: out}, nil
}

func (a *API) namespaceShape(ctx context.Context, ns *state.CloudMapNamespace) (*namespace, error) {
	names, _, err := a.st.List(ctx, state.CloudMapServiceNamesOf(ns.ID), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	count := int32(len(names))
	props := &namespaceProperties{DnsProperties: &dnsProperties{}, HttpProperties: &httpProperties{HttpName: ns.Name}}
	if ns.IsDNS() {
		props.DnsProperties = &dnsProperties{HostedZoneId: ns.HostedZoneID, SOA: &soa{TTL: &ns.SOATTL}}
	}
	return &namespace{
		Id: ns.ID, Arn: ns.Arn, ResourceOwner: a.account, Name: ns.Name, Type: ns.Type,
		Description: ns.Description, ServiceCount: &count, Properties: props, CreateDate: ns.CreateDate,
	}, nil
}

var namespaceFilters = map[string]filterField[state.CloudMapNamespace]{
	"TYPE":           {conds: []string{condEQ, condIN}, get: func(n *state.CloudMapNamespace) string { return n.Type }},
	"NAME":           {conds: []string{condEQ, condBeginsWith}, get: func(n *state.CloudMapNamespace) string { return n.Name }},
	"HTTP_NAME":      {conds: []string{condEQ, condBeginsWith}, get: func(n *state.CloudMapNamespace) string { return n.Name }},
	"RESOURCE_OWNER": {conds: []string{condEQ}, get: func(*state.CloudMapNamespace) string { return "SELF" }},
}

func (a *API) ListNamespaces(ctx context.Context, in *listInput) (*listNamespacesOutput, error) {
	limit, err := pageLimit(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	match, err := compileFilters(in.Filters, namespaceFilters)
	if err != nil {
		return nil, err
	}
	list, next, err := scanPage(ctx, a.st, "ListNamespaces", state.CloudMapNamespacesPrefix, in.NextToken, limit, match)
	if err != nil {
		return nil, err
	}
	out := &listNamespacesOutput{NextToken: next, Namespaces: make([]namespace, 0, len(list))}
	for _, ns := range list {
		n, err := a.namespaceShape(ctx, ns)
		if err != nil {
			return nil, err
		}
		out.Namespaces = append(out.Namespaces, *n)
	}
	return out, nil
}

// DeleteNamespace deletes a namespace that has no services left.
func (a *API) DeleteNamespace(ctx context.Context, in *idInput) (*operationOutput, error) {
	var opID string
	err := retry(ctx, func() error {
		ns, rev, err := a.namespace(ctx, in.Id)
		if err != nil {
			return err
		}
		names, _, err := a.st.List(ctx, state.CloudMapServiceNamesOf(ns.ID), store.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		if len(names) > 0 {
			return awsproto.Errorf(codeResourceInUse, "Namespace %s still has services: delete them first (aws servicediscovery list-services --filters Name=NAMESPACE_ID,Values=%s,Condition=EQ).", ns.ID, ns.ID)
		}
		op := a.newOperation(state.CloudMapOpDeleteNamespace, map[string]string{"NAMESPACE": ns.ID})
		nameKey := state.CloudMapNamespaceNameKey(ns.Name)
		_, err = a.st.Commit(ctx, store.Txn{
			// The service name index must stay empty: a CreateService
			// racing this delete reserves its name under the namespace,
			// which the condition on the namespace's revision catches
			// because CreateService writes the namespace key too.
			Conds: []store.Cond{{Key: state.CloudMapNamespaceKey(ns.ID), Revision: rev}},
			Ops: []store.Op{
				state.Delete(state.CloudMapNamespaceKey(ns.ID)),
				state.Delete(nameKey),
				state.Put(state.CloudMapOperationKey(op.ID), op),
			},
		})
		opID = op.ID
		return err
	})
	if err != nil {
		return nil, err
	}
	return &operationOutput{OperationId: opID}, nil
}
