package sdapi

import (
	"encoding/json"
	"strings"
)

// Resources returns the ARNs a request names, for IAM-style policies (the
// request gate's Rules.Resources): the namespace of GetNamespace,
// DeleteNamespace and CreateService; the service of the service and
// instance operations; the resource of the tag operations. Everything else
// (creating namespaces, listings, DiscoverInstances by name, operations) is
// evaluated against "*". A body that does not decode names nothing; the
// operation refuses it afterwards.
func (a *API) Resources(op string, body []byte) ([]string, error) {
	var in struct {
		Id          string `json:"Id"`
		NamespaceId string `json:"NamespaceId"`
		ServiceId   string `json:"ServiceId"`
		ResourceARN string `json:"ResourceARN"`
		DnsConfig   *struct {
			NamespaceId string `json:"NamespaceId"`
		} `json:"DnsConfig"`
	}
	if json.Unmarshal(body, &in) != nil {
		return nil, nil
	}
	var ref, typ string
	switch op {
	case "GetNamespace", "DeleteNamespace":
		ref, typ = in.Id, "namespace"
	case "CreateService":
		ref, typ = in.NamespaceId, "namespace"
		if ref == "" && in.DnsConfig != nil {
			ref = in.DnsConfig.NamespaceId
		}
	case "GetService", "DeleteService":
		ref, typ = in.Id, "service"
	case "RegisterInstance", "DeregisterInstance", "GetInstance", "ListInstances",
		"GetInstancesHealthStatus", "UpdateInstanceCustomHealthStatus":
		ref, typ = in.ServiceId, "service"
	case "TagResource", "UntagResource", "ListTagsForResource":
		if in.ResourceARN != "" {
			return []string{in.ResourceARN}, nil
		}
	}
	if ref == "" {
		return nil, nil
	}
	if strings.HasPrefix(ref, "arn:") {
		return []string{ref}, nil // matched as written; the operation refuses a foreign one
	}
	return []string{a.arn(typ + "/" + ref)}, nil
}
