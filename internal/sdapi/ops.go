package sdapi

import "github.com/wharf-ecs/wharf/internal/awsproto"

// operations lists every operation of the Cloud Map API, so that one Wharf
// does not serve is answered as unsupported rather than unknown. A test keeps
// it equal to the operations of the aws-sdk-go-v2 servicediscovery client.
var operations = awsproto.OperationSet(allOperations)

const allOperations = `
CreateHttpNamespace CreatePrivateDnsNamespace CreatePublicDnsNamespace CreateService
DeleteNamespace DeleteService DeleteServiceAttributes DeregisterInstance DiscoverInstances
DiscoverInstancesRevision GetInstance GetInstancesHealthStatus GetNamespace GetOperation
GetService GetServiceAttributes ListInstances ListNamespaces ListOperations ListServices
ListTagsForResource RegisterInstance TagResource UntagResource UpdateHttpNamespace
UpdateInstanceCustomHealthStatus UpdatePrivateDnsNamespace UpdatePublicDnsNamespace
UpdateService UpdateServiceAttributes
`
