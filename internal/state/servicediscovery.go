package state

import (
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
)

// AWS Cloud Map (service discovery) documents. Namespaces and services live
// under their IDs; two index keys make names unique (a namespace name in the
// account, a service name in its namespace) through transaction conditions
// on the index key's absence. Instances live under their service, so that a
// prefix scan lists one service's instances and counts them.
//
// Names in index keys are lower case: DNS names compare without case, and
// Cloud Map refuses a second namespace or service whose name differs only in
// case.
const (
	CloudMapPrefix               = "cloudmap/"
	CloudMapNamespacesPrefix     = CloudMapPrefix + "namespaces/"
	CloudMapNamespaceNamesPrefix = CloudMapPrefix + "namespacenames/"
	CloudMapServicesPrefix       = CloudMapPrefix + "services/"
	CloudMapServiceNamesPrefix   = CloudMapPrefix + "servicenames/"
	CloudMapInstancesPrefix      = CloudMapPrefix + "instances/"
	CloudMapOperationsPrefix     = CloudMapPrefix + "operations/"
)

// CloudMapNamespaceKey is the key of a namespace by ID (ns-...).
func CloudMapNamespaceKey(id string) string { return CloudMapNamespacesPrefix + id }

// CloudMapNamespaceNameKey is the index key that reserves a namespace name;
// its value is the namespace ID.
func CloudMapNamespaceNameKey(name string) string {
	return CloudMapNamespaceNamesPrefix + strings.ToLower(name)
}

// CloudMapServiceKey is the key of a service by ID (srv-...).
func CloudMapServiceKey(id string) string { return CloudMapServicesPrefix + id }

// CloudMapServiceNamesOf is the prefix of one namespace's service name index.
func CloudMapServiceNamesOf(namespaceID string) string {
	return CloudMapServiceNamesPrefix + namespaceID + "/"
}

// CloudMapServiceNameKey is the index key that reserves a service name in a
// namespace; its value is the service ID.
func CloudMapServiceNameKey(namespaceID, name string) string {
	return CloudMapServiceNamesOf(namespaceID) + strings.ToLower(name)
}

// CloudMapInstancesOf is the prefix of one service's instances.
func CloudMapInstancesOf(serviceID string) string {
	return CloudMapInstancesPrefix + serviceID + "/"
}

// CloudMapInstanceKey is the key of an instance. Instance IDs may hold '/',
// service IDs never do, so the first '/' after the prefix ends the service.
func CloudMapInstanceKey(serviceID, instanceID string) string {
	return CloudMapInstancesOf(serviceID) + instanceID
}

// ParseCloudMapInstanceKey splits an instance key into service and instance ID.
func ParseCloudMapInstanceKey(key string) (serviceID, instanceID string, ok bool) {
	rest, ok := strings.CutPrefix(key, CloudMapInstancesPrefix)
	if !ok {
		return "", "", false
	}
	serviceID, instanceID, ok = strings.Cut(rest, "/")
	return serviceID, instanceID, ok && serviceID != "" && instanceID != ""
}

// CloudMapOperationKey is the key of an operation by ID.
func CloudMapOperationKey(id string) string { return CloudMapOperationsPrefix + id }

// ParseCloudMapServiceARN returns the service ID of a Cloud Map service ARN
// (arn:PARTITION:servicediscovery:REGION:ACCOUNT:service/srv-...).
func ParseCloudMapServiceARN(arn string) (id string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "servicediscovery" {
		return "", false
	}
	id, ok = strings.CutPrefix(parts[5], "service/")
	return id, ok && strings.HasPrefix(id, "srv-") && !strings.Contains(id, "/")
}

// Namespace types.
const (
	CloudMapDNSPrivate = "DNS_PRIVATE"
	CloudMapDNSPublic  = "DNS_PUBLIC"
	CloudMapHTTP       = "HTTP"
)

// CloudMapNamespace is a namespace: an HTTP namespace (discovery through the
// API only) or a private DNS namespace (also answered by Wharf's DNS server).
type CloudMapNamespace struct {
	ID               string        `json:"id"`
	Arn              string        `json:"arn"`
	Name             string        `json:"name"`
	Type             string        `json:"type"`
	Description      string        `json:"description,omitempty"`
	CreatorRequestID string        `json:"creatorRequestId,omitempty"`
	HostedZoneID     string        `json:"hostedZoneId,omitempty"` // DNS namespaces
	SOATTL           int64         `json:"soaTtl,omitempty"`       // DNS namespaces
	CreateDate       *model.Time   `json:"createDate"`
	Tags             []CloudMapTag `json:"tags,omitempty"`
	// Operation is the operation that created the namespace, which a
	// repeated request with the same CreatorRequestId answers again.
	Operation string `json:"operation,omitempty"`
}

// IsDNS reports whether the namespace answers DNS queries.
func (n *CloudMapNamespace) IsDNS() bool { return n.Type != CloudMapHTTP }

// CloudMapTag is a tag of a namespace or service.
type CloudMapTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Service types and DNS record types.
const (
	CloudMapServiceHTTP    = "HTTP"
	CloudMapServiceDNSHTTP = "DNS_HTTP"
	CloudMapRecordA        = "A"
	CloudMapRecordAAAA     = "AAAA"
	CloudMapRecordSRV      = "SRV"
	CloudMapMultivalue     = "MULTIVALUE"
	CloudMapWeighted       = "WEIGHTED"
)

// CloudMapService is a service: a name in a namespace whose instances are
// discovered, and the DNS records its instances get.
type CloudMapService struct {
	ID               string             `json:"id"`
	Arn              string             `json:"arn"`
	Name             string             `json:"name"`
	NamespaceID      string             `json:"namespaceId"`
	Type             string             `json:"type"`
	Description      string             `json:"description,omitempty"`
	CreatorRequestID string             `json:"creatorRequestId,omitempty"`
	DNS              *CloudMapDNSConfig `json:"dnsConfig,omitempty"`
	// CustomHealth says instances' health is what UpdateInstanceCustomHealthStatus
	// (or Wharf's ECS registrar) reports; without it every instance counts
	// as healthy.
	CustomHealth     bool          `json:"customHealth,omitempty"`
	FailureThreshold *int32        `json:"failureThreshold,omitempty"`
	CreateDate       *model.Time   `json:"createDate"`
	Tags             []CloudMapTag `json:"tags,omitempty"`
}

// CloudMapDNSConfig is the records each instance of a service gets.
type CloudMapDNSConfig struct {
	RoutingPolicy string              `json:"routingPolicy"`
	Records       []CloudMapDNSRecord `json:"records"`
}

// CloudMapDNSRecord is one record type with its TTL in seconds.
type CloudMapDNSRecord struct {
	Type string `json:"type"`
	TTL  int64  `json:"ttl"`
}

// Record returns the record of type typ, if the service has one.
func (s *CloudMapService) Record(typ string) (CloudMapDNSRecord, bool) {
	if s.DNS == nil {
		return CloudMapDNSRecord{}, false
	}
	for _, r := range s.DNS.Records {
		if r.Type == typ {
			return r, true
		}
	}
	return CloudMapDNSRecord{}, false
}

// Instance health statuses.
const (
	CloudMapHealthy   = "HEALTHY"
	CloudMapUnhealthy = "UNHEALTHY"
	CloudMapUnknown   = "UNKNOWN"
)

// Instance attributes Cloud Map gives meaning to.
const (
	CloudMapAttrIPv4       = "AWS_INSTANCE_IPV4"
	CloudMapAttrIPv6       = "AWS_INSTANCE_IPV6"
	CloudMapAttrPort       = "AWS_INSTANCE_PORT"
	CloudMapAttrInitHealth = "AWS_INIT_HEALTH_STATUS"
)

// CloudMapInstance is a registered instance of a service.
type CloudMapInstance struct {
	ID               string            `json:"id"`
	ServiceID        string            `json:"serviceId"`
	CreatorRequestID string            `json:"creatorRequestId,omitempty"`
	Attributes       map[string]string `json:"attributes"`
	// Health is HEALTHY or UNHEALTHY for a service with custom health
	// checks, and empty otherwise.
	Health     string      `json:"health,omitempty"`
	CreateDate *model.Time `json:"createDate"`
	// Task is the key of the ECS task the instance stands for when Wharf's
	// registrar registered it (an ECS service's serviceRegistries); the
	// registrar removes only instances it made.
	Task string `json:"wharfTask,omitempty"`
}

// Operation types and statuses.
const (
	CloudMapOpCreateNamespace    = "CREATE_NAMESPACE"
	CloudMapOpDeleteNamespace    = "DELETE_NAMESPACE"
	CloudMapOpRegisterInstance   = "REGISTER_INSTANCE"
	CloudMapOpDeregisterInstance = "DEREGISTER_INSTANCE"
	CloudMapOpSuccess            = "SUCCESS"
)

// CloudMapOperation is the record of an asynchronous request. Wharf applies
// each before answering, so every operation is SUCCESS when first read.
type CloudMapOperation struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Status     string            `json:"status"`
	CreateDate *model.Time       `json:"createDate"`
	UpdateDate *model.Time       `json:"updateDate"`
	Targets    map[string]string `json:"targets"` // NAMESPACE, SERVICE, INSTANCE → ID
}
