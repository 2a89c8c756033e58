package sdapi

import "github.com/wharf-ecs/wharf/internal/model"

// Request and answer shapes with the Cloud Map model's member names.

type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type soa struct {
	TTL *int64 `json:"TTL,omitempty"`
}

type dnsPropertiesIn struct {
	SOA *soa `json:"SOA"`
}

type namespacePropertiesIn struct {
	DnsProperties *dnsPropertiesIn `json:"DnsProperties"`
}

type createHttpNamespaceInput struct {
	Name             string `json:"Name"`
	CreatorRequestId string `json:"CreatorRequestId"`
	Description      string `json:"Description"`
	Tags             []tag  `json:"Tags"`
}

type createPrivateDnsNamespaceInput struct {
	Name             string                 `json:"Name"`
	CreatorRequestId string                 `json:"CreatorRequestId"`
	Description      string                 `json:"Description"`
	Vpc              string                 `json:"Vpc"`
	Tags             []tag                  `json:"Tags"`
	Properties       *namespacePropertiesIn `json:"Properties"`
}

type operationOutput struct {
	OperationId string `json:"OperationId,omitempty"`
}

type idInput struct {
	Id string `json:"Id"`
}

type dnsProperties struct {
	HostedZoneId string `json:"HostedZoneId,omitempty"`
	SOA          *soa   `json:"SOA,omitempty"`
}

type httpProperties struct {
	HttpName string `json:"HttpName,omitempty"`
}

type namespaceProperties struct {
	DnsProperties  *dnsProperties  `json:"DnsProperties,omitempty"`
	HttpProperties *httpProperties `json:"HttpProperties,omitempty"`
}

// namespace is both Namespace and NamespaceSummary (which lacks
// CreatorRequestId).
type namespace struct {
	Id               string               `json:"Id"`
	Arn              string               `json:"Arn"`
	ResourceOwner    string               `json:"ResourceOwner"`
	Name             string               `json:"Name"`
	Type             string               `json:"Type"`
	Description      string               `json:"Description,omitempty"`
	ServiceCount     *int32               `json:"ServiceCount,omitempty"`
	Properties       *namespaceProperties `json:"Properties,omitempty"`
	CreateDate       *model.Time          `json:"CreateDate,omitempty"`
	CreatorRequestId string               `json:"CreatorRequestId,omitempty"`
}

type getNamespaceOutput struct {
	Namespace *namespace `json:"Namespace"`
}

type filter struct {
	Name      string   `json:"Name"`
	Values    []string `json:"Values"`
	Condition string   `json:"Condition"`
}

type listInput struct {
	NextToken  string   `json:"NextToken"`
	MaxResults *int32   `json:"MaxResults"`
	Filters    []filter `json:"Filters"`
}

type listNamespacesOutput struct {
	Namespaces []namespace `json:"Namespaces"`
	NextToken  string      `json:"NextToken,omitempty"`
}

type dnsRecord struct {
	Type string `json:"Type"`
	TTL  *int64 `json:"TTL"`
}

type dnsConfig struct {
	NamespaceId   string      `json:"NamespaceId,omitempty"`
	RoutingPolicy string      `json:"RoutingPolicy,omitempty"`
	DnsRecords    []dnsRecord `json:"DnsRecords"`
}

type healthCheckConfig struct {
	Type             string `json:"Type"`
	ResourcePath     string `json:"ResourcePath,omitempty"`
	FailureThreshold *int32 `json:"FailureThreshold,omitempty"`
}

type healthCheckCustomConfig struct {
	FailureThreshold *int32 `json:"FailureThreshold,omitempty"`
}

type createServiceInput struct {
	Name                    string                   `json:"Name"`
	NamespaceId             string                   `json:"NamespaceId"`
	CreatorRequestId        string                   `json:"CreatorRequestId"`
	Description             string                   `json:"Description"`
	DnsConfig               *dnsConfig               `json:"DnsConfig"`
	HealthCheckConfig       *healthCheckConfig       `json:"HealthCheckConfig"`
	HealthCheckCustomConfig *healthCheckCustomConfig `json:"HealthCheckCustomConfig"`
	Tags                    []tag                    `json:"Tags"`
	Type                    string                   `json:"Type"`
}

// service is both Service and ServiceSummary.
type service struct {
	Id                      string                   `json:"Id"`
	Arn                     string                   `json:"Arn"`
	ResourceOwner           string                   `json:"ResourceOwner"`
	Name                    string                   `json:"Name"`
	NamespaceId             string                   `json:"NamespaceId,omitempty"`
	Description             string                   `json:"Description,omitempty"`
	InstanceCount           *int32                   `json:"InstanceCount,omitempty"`
	DnsConfig               *dnsConfig               `json:"DnsConfig,omitempty"`
	Type                    string                   `json:"Type"`
	HealthCheckCustomConfig *healthCheckCustomConfig `json:"HealthCheckCustomConfig,omitempty"`
	CreateDate              *model.Time              `json:"CreateDate,omitempty"`
	CreatorRequestId        string                   `json:"CreatorRequestId,omitempty"`
	CreatedByAccount        string                   `json:"CreatedByAccount"`
}

type serviceOutput struct {
	Service *service `json:"Service"`
}

type listServicesOutput struct {
	Services  []service `json:"Services"`
	NextToken string    `json:"NextToken,omitempty"`
}

type registerInstanceInput struct {
	ServiceId        string            `json:"ServiceId"`
	InstanceId       string            `json:"InstanceId"`
	CreatorRequestId string            `json:"CreatorRequestId"`
	Attributes       map[string]string `json:"Attributes"`
}

type instanceRefInput struct {
	ServiceId  string `json:"ServiceId"`
	InstanceId string `json:"InstanceId"`
}

type instance struct {
	Id               string            `json:"Id"`
	CreatorRequestId string            `json:"CreatorRequestId,omitempty"`
	Attributes       map[string]string `json:"Attributes"`
	CreatedByAccount string            `json:"CreatedByAccount"`
}

type getInstanceOutput struct {
	ResourceOwner string    `json:"ResourceOwner"`
	Instance      *instance `json:"Instance"`
}

type listInstancesInput struct {
	ServiceId  string `json:"ServiceId"`
	NextToken  string `json:"NextToken"`
	MaxResults *int32 `json:"MaxResults"`
}

type listInstancesOutput struct {
	ResourceOwner string     `json:"ResourceOwner"`
	Instances     []instance `json:"Instances"`
	NextToken     string     `json:"NextToken,omitempty"`
}

type healthStatusInput struct {
	ServiceId  string   `json:"ServiceId"`
	Instances  []string `json:"Instances"`
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
}

type healthStatusOutput struct {
	Status    map[string]string `json:"Status"`
	NextToken string            `json:"NextToken,omitempty"`
}

type updateHealthInput struct {
	ServiceId  string `json:"ServiceId"`
	InstanceId string `json:"InstanceId"`
	Status     string `json:"Status"`
}

type discoverInput struct {
	NamespaceName      string            `json:"NamespaceName"`
	ServiceName        string            `json:"ServiceName"`
	MaxResults         *int32            `json:"MaxResults"`
	QueryParameters    map[string]string `json:"QueryParameters"`
	OptionalParameters map[string]string `json:"OptionalParameters"`
	HealthStatus       string            `json:"HealthStatus"`
	OwnerAccount       string            `json:"OwnerAccount"`
}

type httpInstanceSummary struct {
	InstanceId    string            `json:"InstanceId"`
	NamespaceName string            `json:"NamespaceName"`
	ServiceName   string            `json:"ServiceName"`
	HealthStatus  string            `json:"HealthStatus"`
	Attributes    map[string]string `json:"Attributes"`
}

type discoverOutput struct {
	Instances         []httpInstanceSummary `json:"Instances"`
	InstancesRevision int64                 `json:"InstancesRevision"`
}

type discoverRevisionOutput struct {
	InstancesRevision int64 `json:"InstancesRevision"`
}

type getOperationInput struct {
	OperationId  string `json:"OperationId"`
	OwnerAccount string `json:"OwnerAccount"`
}

type operation struct {
	Id           string            `json:"Id"`
	OwnerAccount string            `json:"OwnerAccount"`
	Type         string            `json:"Type"`
	Status       string            `json:"Status"`
	CreateDate   *model.Time       `json:"CreateDate"`
	UpdateDate   *model.Time       `json:"UpdateDate"`
	Targets      map[string]string `json:"Targets"`
}

type getOperationOutput struct {
	Operation *operation `json:"Operation"`
}

type operationSummary struct {
	Id     string `json:"Id"`
	Status string `json:"Status"`
}

type listOperationsOutput struct {
	Operations []operationSummary `json:"Operations"`
	NextToken  string             `json:"NextToken,omitempty"`
}

type tagResourceInput struct {
	ResourceARN string   `json:"ResourceARN"`
	Tags        []tag    `json:"Tags"`
	TagKeys     []string `json:"TagKeys"`
}

type listTagsOutput struct {
	Tags []tag `json:"Tags"`
}

type empty struct{}
