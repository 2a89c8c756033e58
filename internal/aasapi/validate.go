package aasapi

import (
	"encoding/base64"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/autoscaling"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
)

// namespaces are the model's ServiceNamespace values: any other is not a
// namespace at all, these are namespaces Wharf does not scale.
var namespaces = []string{"ecs", "elasticmapreduce", "ec2", "appstream", "dynamodb", "rds", "sagemaker",
	"custom-resource", "comprehend", "lambda", "cassandra", "kafka", "elasticache", "neptune", "workspaces"}

// checkNamespace accepts ecs.
func checkNamespace(ns string) error {
	switch {
	case ns == "":
		return invalid("ServiceNamespace is required: Wharf scales ECS services, so give ecs.")
	case ns == NamespaceECS:
		return nil
	case slices.Contains(namespaces, ns):
		return invalid("Wharf scales only ECS services: ServiceNamespace %s is not supported; use ecs.", ns)
	}
	return invalid("1 validation error detected: Value '%s' at 'serviceNamespace' failed to satisfy constraint: Member must satisfy enum value set: [%s]. Wharf scales ECS services: use ecs.", ns, strings.Join(namespaces, ", "))
}

func checkDimension(dim string) error {
	switch dim {
	case DimensionECS:
		return nil
	case "":
		return invalid("ScalableDimension is required: for an ECS service it is %s.", DimensionECS)
	}
	return invalid("ScalableDimension %s is not valid for the ecs namespace: an ECS service scales on %s.", dim, DimensionECS)
}

func checkResourceID(rid string) error {
	if rid == "" {
		return invalid("ResourceId is required: for an ECS service it is service/CLUSTER-NAME/SERVICE-NAME, such as service/default/web.")
	}
	if len(rid) > 1600 {
		return invalid("ResourceId is %d characters long; at most 1600 are allowed.", len(rid))
	}
	if _, _, ok := autoscaling.ServiceOf(rid); !ok || strings.ContainsAny(rid, "!\x00") {
		return invalid("ResourceId %q is not the resource ID of an ECS service: it must be service/CLUSTER-NAME/SERVICE-NAME, such as service/default/web.", rid)
	}
	return nil
}

// check validates a request's target and returns its reference in keys.
func (r targetRef) check() (string, error) {
	if err := checkNamespace(r.ServiceNamespace); err != nil {
		return "", err
	}
	if err := checkResourceID(r.ResourceId); err != nil {
		return "", err
	}
	if err := checkDimension(r.ScalableDimension); err != nil {
		return "", err
	}
	return state.ScalableRef(r.ServiceNamespace, r.ScalableDimension, r.ResourceId), nil
}

// check validates a Describe filter: the namespace, the resource ID if given,
// and a dimension only with a resource ID.
func (f describeFilter) check(most int32) (limit int, err error) {
	if err := checkNamespace(f.ServiceNamespace); err != nil {
		return 0, err
	}
	if f.ScalableDimension != "" {
		if f.ResourceId == "" {
			return 0, invalid("ScalableDimension is given without ResourceId: give both, or neither.")
		}
		if err := checkDimension(f.ScalableDimension); err != nil {
			return 0, err
		}
	}
	if f.ResourceId != "" {
		if err := checkResourceID(f.ResourceId); err != nil {
			return 0, err
		}
	}
	if f.MaxResults == nil {
		return int(most), nil
	}
	if *f.MaxResults < 1 || *f.MaxResults > most {
		return 0, invalid("MaxResults must be from 1 to %d; got %d.", most, *f.MaxResults)
	}
	return int(*f.MaxResults), nil
}

// matches reports whether a document of the target (rid, dim) passes the
// filter.
func (f describeFilter) matches(rid, dim string) bool {
	return (f.ResourceId == "" || f.ResourceId == rid) && (f.ScalableDimension == "" || f.ScalableDimension == dim)
}

// prefix is the store prefix the filter's documents live under, below base.
func (f describeFilter) prefix(base string) string {
	if f.ResourceId != "" && f.ScalableDimension != "" {
		return base + state.ScalableRef(f.ServiceNamespace, f.ScalableDimension, f.ResourceId) + "!"
	}
	return base + f.ServiceNamespace + "/"
}

// A NextToken holds the operation and the sort key of the last item of a
// page; the next page begins after it.

func token(op, last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(op + "\x00" + last))
}

func fromToken(op, tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	o, last, ok := strings.Cut(string(b), "\x00")
	if err != nil || !ok || o != op {
		return "", awsproto.Errorf(codeInvalidNextToken, "The NextToken is not valid: pass the NextToken of the previous answer to the same operation, unchanged.")
	}
	return last, nil
}

// sorted is one document with the key it is paged by.
type sorted[T any] struct {
	key string
	val *T
}

// page returns up to limit items after the token's key (items are in key
// order) and the token of the next page.
func page[T any](op, tok string, items []sorted[T], limit int) ([]*T, string, error) {
	after, err := fromToken(op, tok)
	if err != nil {
		return nil, "", err
	}
	out := []*T{}
	for i, it := range items {
		if after != "" && it.key <= after {
			continue
		}
		if len(out) == limit {
			return out, token(op, items[i-1].key), nil
		}
		out = append(out, it.val)
	}
	return out, "", nil
}

// checkName validates a policy or scheduled action name.
func checkName(what, name string, scheduled bool) error {
	if name == "" {
		return invalid("%s is required.", what)
	}
	if len(name) > 256 {
		return invalid("%s is %d characters long; at most 256 are allowed.", what, len(name))
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return invalid("%s %q holds a control character.", what, name)
		}
	}
	if scheduled && (strings.ContainsAny(name, ":/|") || strings.TrimSpace(name) != name) {
		return invalid("%s %q must not hold ':', '/' or '|', nor begin or end with a space.", what, name)
	}
	return nil
}
