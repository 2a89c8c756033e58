package ecsapi

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Attributes live inside the documents of their targets (today only
// container instances), so placement reads them with the instance.

func (a *API) registerAttributes(s *awsproto.Service) {
	awsproto.Handle(s, "PutAttributes", a.PutAttributes)
	awsproto.Handle(s, "DeleteAttributes", a.DeleteAttributes)
	awsproto.Handle(s, "ListAttributes", a.ListAttributes)
}

// attrTarget resolves an attribute's targetType and targetId to a container
// instance ID of the cluster. A short ID needs the targetType, as in ECS.
func attrTarget(at model.Attribute, cluster string) (string, error) {
	if at.TargetType != "" && at.TargetType != targetContainerInstance {
		return "", invalidParam("Invalid targetType %q for attribute %s: the only target type is container-instance.", at.TargetType, at.Name)
	}
	if at.TargetId == "" {
		return "", invalidParam("Attribute %s has no targetId: give the ID or ARN of the container instance it belongs to.", at.Name)
	}
	arnCluster, id, err := parseInstanceRef(at.TargetId)
	if err != nil {
		return "", invalidParam("Invalid targetId %q for attribute %s: give a container instance ID or ARN.", at.TargetId, at.Name)
	}
	if arnCluster == "" && at.TargetType == "" {
		return "", invalidParam("Attribute %s names its target by the short ID %s: give targetType container-instance too, or the full ARN.", at.Name, at.TargetId)
	}
	if arnCluster != "" && arnCluster != cluster {
		return "", awsproto.Errorf(codeTargetNotFound, "Target %s belongs to cluster %s, not %s: pass --cluster %s.", at.TargetId, arnCluster, cluster, arnCluster)
	}
	return id, nil
}

// attrBatch validates a Put or Delete request's attributes and groups them by
// target instance ID, keeping the request's order within each target.
func attrBatch(op string, attrs []model.Attribute, cluster string) (map[string][]model.Attribute, []string, error) {
	if len(attrs) == 0 {
		return nil, nil, invalidParam("attributes is required: give 1 to 10 attributes, each with a name and a targetId.")
	}
	if len(attrs) > 10 {
		return nil, nil, invalidParam("%s takes at most 10 attributes per call; got %d. Split the request.", op, len(attrs))
	}
	byTarget := map[string][]model.Attribute{}
	var order []string
	for _, at := range attrs {
		if err := validateAttrNameValue(at); err != nil {
			return nil, nil, err
		}
		if isBuiltinAttr(at.Name) {
			return nil, nil, invalidParam("Attribute %s is one ECS and its agent set (names starting with %s or %s are reserved); custom attributes need another name.", at.Name, builtinAttrPrefix, agentCapabilityPrefix)
		}
		id, err := attrTarget(at, cluster)
		if err != nil {
			return nil, nil, err
		}
		if _, ok := byTarget[id]; !ok {
			order = append(order, id)
		}
		byTarget[id] = append(byTarget[id], at)
	}
	return byTarget, order, nil
}

// updateAttrTargets applies fn to every target instance in one transaction,
// so a request either changes all its targets or none.
func (a *API) updateAttrTargets(ctx context.Context, clusterRef string, attrs []model.Attribute, op string, fn func(inst *state.ContainerInstance, attrs []model.Attribute) (bool, error)) error {
	return retry(ctx, func() error {
		c, _, err := a.activeCluster(ctx, clusterRef)
		if err != nil {
			return err
		}
		byTarget, order, err := attrBatch(op, attrs, c.ClusterName)
		if err != nil {
			return err
		}
		var txn store.Txn
		for _, id := range order {
			key := state.InstanceKey(c.ClusterName, id)
			inst, rev, err := state.Get[state.ContainerInstance](ctx, a.st, key)
			if isNotFound(err) || err == nil && inst.Status == instanceInactive {
				return awsproto.Errorf(codeTargetNotFound, "Could not find container instance %s in cluster %s: list the cluster's instances with ListContainerInstances.", byTarget[id][0].TargetId, c.ClusterName)
			}
			if err != nil {
				return err
			}
			changed, err := fn(inst, byTarget[id])
			if err != nil {
				return err
			}
			if changed {
				inst.Version = model.Ptr(model.Val(inst.Version) + 1)
				txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: rev})
				txn.Ops = append(txn.Ops, state.Put(key, inst))
			}
		}
		if len(txn.Ops) == 0 {
			return nil
		}
		_, err = a.st.Commit(ctx, txn)
		return err
	})
}

// echoAttrs is what Put and Delete answer: the attributes of the request,
// with the target type spelled out.
func echoAttrs(in []model.Attribute) []model.Attribute {
	out := slices.Clone(in)
	for i := range out {
		out[i].TargetType = targetContainerInstance
	}
	return out
}

func (a *API) PutAttributes(ctx context.Context, in *model.PutAttributesRequest) (*model.PutAttributesResponse, error) {
	err := a.updateAttrTargets(ctx, in.Cluster, in.Attributes, "PutAttributes", func(inst *state.ContainerInstance, attrs []model.Attribute) (bool, error) {
		changedAny := false
		for _, at := range attrs {
			var changed bool
			inst.Attributes, changed = setAttr(inst.Attributes, at.Name, at.Value)
			changedAny = changedAny || changed
		}
		if n := countCustomAttrs(inst.Attributes); n > maxCustomAttributes {
			return false, awsproto.Errorf(codeAttributeLimitExceeded,
				"Container instance %s would have %d custom attributes; at most %d are allowed per resource. See its attributes with ListAttributes and remove some with DeleteAttributes.",
				inst.ContainerInstanceArn, n, maxCustomAttributes)
		}
		return changedAny, nil
	})
	if err != nil {
		return nil, err
	}
	return &model.PutAttributesResponse{Attributes: echoAttrs(in.Attributes)}, nil
}

// DeleteAttributes removes custom attributes by name. A value in the request
// is ignored, as ECS asks callers to leave it out; deleting an attribute the
// target does not have is no error, so a retried delete succeeds.
func (a *API) DeleteAttributes(ctx context.Context, in *model.DeleteAttributesRequest) (*model.DeleteAttributesResponse, error) {
	err := a.updateAttrTargets(ctx, in.Cluster, in.Attributes, "DeleteAttributes", func(inst *state.ContainerInstance, attrs []model.Attribute) (bool, error) {
		changedAny := false
		for _, at := range attrs {
			var dropped bool
			inst.Attributes, dropped = dropAttr(inst.Attributes, at.Name)
			changedAny = changedAny || dropped
		}
		return changedAny, nil
	})
	if err != nil {
		return nil, err
	}
	return &model.DeleteAttributesResponse{Attributes: echoAttrs(in.Attributes)}, nil
}

// ListAttributes lists one entry per attribute per instance, in instance key
// order and by name within an instance. Its page token is the last instance
// key and attribute name returned, so a page may end inside an instance.
func (a *API) ListAttributes(ctx context.Context, in *model.ListAttributesRequest) (*model.ListAttributesResponse, error) {
	switch in.TargetType {
	case targetContainerInstance:
	case "":
		return nil, invalidParam("targetType is required: the only target type is container-instance.")
	default:
		return nil, invalidParam("Invalid targetType %q: the only target type is container-instance.", in.TargetType)
	}
	if in.AttributeName != "" && !validAttributeName(in.AttributeName) {
		return nil, invalidParam("Invalid attributeName %q: attribute names are 1 to 128 letters, numbers, hyphens, underscores, slashes, backslashes or periods.", in.AttributeName)
	}
	if in.AttributeValue != "" && in.AttributeName == "" {
		return nil, invalidParam("attributeValue needs attributeName: give the name of the attribute whose value to match.")
	}
	limit, err := pageSize(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	prefix := state.ClusterInstancesPrefix(c.ClusterName)
	last, err := decodeToken(prefix, in.NextToken)
	if err != nil {
		return nil, err
	}
	lastKey, lastName, _ := strings.Cut(last, "\x00")

	out := &model.ListAttributesResponse{Attributes: []model.Attribute{}}
	var pageKey, pageName string // where the page's last entry came from
	// take adds an instance's matching attributes named after `after`; it
	// reports false once the page is full and another entry exists.
	take := func(kv store.KV, after string) (bool, error) {
		var inst state.ContainerInstance
		if err := json.Unmarshal(kv.Value, &inst); err != nil {
			return false, err
		}
		if inst.Status == instanceInactive {
			return true, nil
		}
		attrs := slices.Clone(inst.Attributes)
		slices.SortFunc(attrs, func(x, y model.Attribute) int { return strings.Compare(x.Name, y.Name) })
		for _, at := range attrs {
			if at.Name <= after || in.AttributeName != "" && at.Name != in.AttributeName ||
				in.AttributeValue != "" && at.Value != in.AttributeValue {
				continue
			}
			if len(out.Attributes) == limit {
				out.NextToken = encodeToken(prefix, pageKey+"\x00"+pageName)
				return false, nil
			}
			out.Attributes = append(out.Attributes, model.Attribute{
				Name: at.Name, Value: at.Value, TargetType: targetContainerInstance, TargetId: inst.ContainerInstanceArn,
			})
			pageKey, pageName = kv.Key, at.Name
		}
		return true, nil
	}
	if lastKey != "" {
		kv, err := a.st.Get(ctx, lastKey)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if err == nil {
			if more, err := take(kv, lastName); err != nil || !more {
				return out, err
			}
		}
	}
	const batch = 500
	after := lastKey
	for {
		kvs, _, err := a.st.List(ctx, prefix, store.ListOptions{After: after, Limit: batch})
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			if more, err := take(kv, ""); err != nil || !more {
				return out, err
			}
		}
		if len(kvs) < batch {
			return out, nil
		}
		after = kvs[len(kvs)-1].Key
	}
}
