package auth

import (
	"net/http"
	"sync"

	"golang.org/x/time/rate"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// A bucket is a token bucket's size and its refill per second.
type bucket struct {
	name      string
	burst     int
	perSecond float64
}

// ECS's throttling categories: every action of a category shares one bucket
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html).
// ECS keeps one set per account and Region; Wharf keeps one per access key.
var (
	clusterModify   = bucket{"cluster modify", 20, 1}
	clusterRead     = bucket{"cluster read", 50, 20}
	taskDefModify   = bucket{"task definition modify", 20, 1}
	taskDefRead     = bucket{"task definition read", 50, 20}
	taskDefDelete   = bucket{"task definition deletion", 5, 1}
	capacityModify  = bucket{"capacity provider modify", 10, 1}
	capacityRead    = bucket{"capacity provider read", 50, 20}
	tagModify       = bucket{"tag modify", 20, 10}
	tagRead         = bucket{"tag read", 50, 20}
	settingModify   = bucket{"setting modify", 10, 1}
	settingRead     = bucket{"setting read", 50, 20}
	resourceModify  = bucket{"cluster resource modify", 100, 40}
	resourceRead    = bucket{"cluster resource read", 100, 20}
	agentModify     = bucket{"agent modify", 200, 120}
	serviceModify   = bucket{"service modify", 50, 5}
	serviceRead     = bucket{"service read", 100, 20}
	deploymentRead  = bucket{"service deployments", 50, 20}
	taskProtection  = bucket{"task protection", 200, 80}
	namespaceRead   = bucket{"cluster service resource read", 10, 1}
	otherOperation  = bucket{"other", 50, 20}
	parameterRead   = bucket{"parameter read", 100, 40}
	parameterModify = bucket{"parameter modify", 20, 3}
)

const (
	ecsTargetPrefix   = "AmazonEC2ContainerServiceV20141113"
	ssmTargetPrefix   = "AmazonSSM"
	adminTargetPrefix = "WharfAdmin_v1"
)

var categories = map[string]bucket{}

func init() {
	add := func(prefix string, b bucket, ops ...string) {
		for _, op := range ops {
			categories[prefix+"."+op] = b
		}
	}
	e := ecsTargetPrefix
	add(e, clusterModify, "CreateCluster", "DeleteCluster", "PutClusterCapacityProviders", "UpdateCluster", "UpdateClusterSettings")
	add(e, clusterRead, "DescribeClusters", "ListClusters")
	add(e, taskDefModify, "RegisterTaskDefinition", "DeregisterTaskDefinition")
	add(e, taskDefRead, "DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies")
	add(e, taskDefDelete, "DeleteTaskDefinitions")
	add(e, capacityModify, "CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider")
	add(e, capacityRead, "DescribeCapacityProviders")
	add(e, tagModify, "TagResource", "UntagResource")
	add(e, tagRead, "ListTagsForResource")
	add(e, settingModify, "DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault")
	add(e, settingRead, "ListAccountSettings")
	add(e, resourceModify, "DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand", "PutAttributes",
		"RunTask", "StartTask", "StopTask", "UpdateContainerAgent", "UpdateContainerInstancesState")
	add(e, resourceRead, "DescribeContainerInstances", "DescribeTasks", "ListAttributes", "ListContainerInstances", "ListTasks")
	add(e, agentModify, "RegisterContainerInstance", "SubmitAttachmentStateChanges", "SubmitContainerStateChange", "SubmitTaskStateChange")
	add(e, serviceModify, "CreateService", "DeleteService", "UpdateService")
	add(e, serviceRead, "DescribeServices", "ListServices")
	add(e, deploymentRead, "DescribeServiceDeployments", "ListServiceDeployments", "DescribeServiceRevisions")
	add(e, taskProtection, "GetTaskProtection", "UpdateTaskProtection")
	add(e, namespaceRead, "ListServicesByNamespace")
	add(ssmTargetPrefix, parameterRead, "GetParameter", "GetParameters", "GetParametersByPath", "DescribeParameters")
	add(ssmTargetPrefix, parameterModify, "PutParameter", "DeleteParameter", "DeleteParameters")
	add(adminTargetPrefix, clusterModify, "CreateJoinToken", "DeleteJoinToken", "JoinCluster")
	add(adminTargetPrefix, clusterRead, "ListJoinTokens")
}

// Limiter enforces per-key token buckets shaped like ECS's throttling
// categories, each scaled by a factor. It is safe for concurrent use.
type Limiter struct {
	scale   float64
	mu      sync.Mutex
	buckets map[limitKey]*rate.Limiter
}

type limitKey struct{ key, category string }

// NewLimiter returns a limiter whose buckets are ECS's times scale (1 is
// ECS's own figures); scale <= 0 returns nil, no limits.
func NewLimiter(scale float64) *Limiter {
	if scale <= 0 {
		return nil
	}
	return &Limiter{scale: scale, buckets: map[limitKey]*rate.Limiter{}}
}

// Allow takes a token from key's bucket for the operation's category, or
// answers ThrottlingException when it is empty.
func (l *Limiter) Allow(key, prefix, op string) error {
	b, ok := categories[prefix+"."+op]
	if !ok {
		b = otherOperation
	}
	k := limitKey{key, b.name}
	l.mu.Lock()
	lim := l.buckets[k]
	if lim == nil {
		burst := max(1, int(float64(b.burst)*l.scale))
		lim = rate.NewLimiter(rate.Limit(b.perSecond*l.scale), burst)
		l.buckets[k] = lim
	}
	l.mu.Unlock()
	if !lim.Allow() {
		return &awsproto.Error{Code: "ThrottlingException", Message: "Rate exceeded: the " + b.name + " requests of this access key are limited; retry with backoff (the AWS SDKs and CLI do).", Status: http.StatusBadRequest}
	}
	return nil
}
