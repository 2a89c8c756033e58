package ecsapi

// The resources an ECS request names, for IAM policy evaluation.
//
// Resources runs before the operation, on the raw body, and reads no state:
// it builds full ARNs (this endpoint's region and account) from the names,
// IDs and ARNs the request gives. The rules:
//
//   - Cluster operations name the cluster (the "default" cluster when the
//     request names none): CreateCluster, DeleteCluster, UpdateCluster,
//     UpdateClusterSettings, PutClusterCapacityProviders, ListServices,
//     ListTasks, ListContainerInstances, ListAttributes, PutAttributes,
//     DeleteAttributes, RegisterContainerInstance,
//     SubmitAttachmentStateChanges. DescribeClusters names each cluster it
//     lists, or the default cluster when it lists none.
//   - Container instance operations (DescribeContainerInstances,
//     UpdateContainerInstancesState, DeregisterContainerInstance) name each
//     instance, container-instance/CLUSTER/ID; task operations (StopTask,
//     DescribeTasks) each task, task/CLUSTER/ID; service operations
//     (CreateService, UpdateService, DeleteService, DescribeServices) each
//     service, service/CLUSTER/NAME. An ID or name takes the request's
//     cluster; a long ARN keeps the cluster it names (the operation then
//     refuses it if that is not the request's cluster).
//   - RunTask and StartTask name the task definition and the cluster,
//     StartTask also its container instances; CreateService and
//     UpdateService also the task definition when they give one.
//   - A task definition given as family:revision or as an ARN is
//     task-definition/FAMILY:REVISION. A bare family (its latest ACTIVE
//     revision, which only the operation resolves) and RegisterTaskDefinition
//     (whose revision does not exist yet) name task-definition/FAMILY:*, so
//     a policy must cover every revision of the family: "FAMILY:*" or
//     "FAMILY*" does, "FAMILY:3" does not. DeleteTaskDefinitions names each.
//   - TagResource, UntagResource and ListTagsForResource name resourceArn.
//   - Capacity provider operations name capacity-provider/NAME: the one
//     created, updated or deleted, each one DescribeCapacityProviders lists
//     (none: "*"). PutClusterCapacityProviders names the cluster only.
//   - The agent's reports, SubmitTaskStateChange and
//     SubmitContainerStateChange, name the cluster and, when given, the task;
//     Wharf's PollTasks and SubmitTaskStats the cluster and the container instance.
//   - Operations that act on no particular resource (noResourceOps) and any
//     operation without a rule name iam.NoResource, "*", which only a policy
//     with Resource "*" covers.
//
// A resource built here never holds a wildcard character that the request
// did not ask for in the documented FAMILY:* form: every name and ID put into
// an ARN must be a valid ECS name (letters, digits, '_' and '-'), so that no
// request can name "prod*" or "prod/x" and be judged against a resource
// other than the one the operation acts on. A reference that is not one
// (which the Describe operations would report as a failure) is refused with
// InvalidParameterException, as is a body that does not decode
// (SerializationException, as the operation itself answers). A member the
// request leaves out names nothing; the operation refuses a request that
// lacks one it requires. When nothing at all is named, the request is
// judged against "*".

import (
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/iam"
	"github.com/wharf-ecs/wharf/internal/model"
)

// Resources returns the ARNs of the resources an ECS request (operation op,
// JSON body) names, to evaluate the caller's policies against: the caller
// must be allowed on every one. It reads no state.
func (a *API) Resources(op string, body []byte) ([]string, error) {
	rule, ok := resourceRules[op]
	if !ok {
		return []string{iam.NoResource}, nil
	}
	r := &resolver{arns: a.arns, op: op}
	if err := rule(r, body); err != nil {
		return nil, err
	}
	if len(r.out) == 0 {
		return []string{iam.NoResource}, nil
	}
	return r.out, nil
}

// noResourceOps are the operations that deliberately name no resource: they
// are judged against "*". (DiscoverPollEndpoint is not implemented yet.)
var noResourceOps = []string{
	"ListClusters", "ListTaskDefinitions", "ListTaskDefinitionFamilies",
	"PutAccountSetting", "PutAccountSettingDefault", "DeleteAccountSetting", "ListAccountSettings",
	"DiscoverPollEndpoint",
}

// resourceRules holds a rule for every operation that names resources.
var resourceRules = map[string]func(r *resolver, body []byte) error{
	"CreateCluster": rule(func(r *resolver, in *model.CreateClusterRequest) error {
		name := in.ClusterName
		if name == "" {
			name = "default"
		}
		if err := checkPart("cluster name", name); err != nil {
			return err
		}
		r.add(r.arns.Cluster(name))
		return nil
	}),
	"DeleteCluster":                refRule((*resolver).cluster, func(in *model.DeleteClusterRequest) string { return in.Cluster }),
	"UpdateCluster":                refRule((*resolver).cluster, func(in *model.UpdateClusterRequest) string { return in.Cluster }),
	"UpdateClusterSettings":        refRule((*resolver).cluster, func(in *model.UpdateClusterSettingsRequest) string { return in.Cluster }),
	"PutClusterCapacityProviders":  refRule((*resolver).cluster, func(in *model.PutClusterCapacityProvidersRequest) string { return in.Cluster }),
	"ListServices":                 refRule((*resolver).cluster, func(in *model.ListServicesRequest) string { return in.Cluster }),
	"ListTasks":                    refRule((*resolver).cluster, func(in *model.ListTasksRequest) string { return in.Cluster }),
	"ListContainerInstances":       refRule((*resolver).cluster, func(in *model.ListContainerInstancesRequest) string { return in.Cluster }),
	"ListAttributes":               refRule((*resolver).cluster, func(in *model.ListAttributesRequest) string { return in.Cluster }),
	"PutAttributes":                refRule((*resolver).cluster, func(in *model.PutAttributesRequest) string { return in.Cluster }),
	"DeleteAttributes":             refRule((*resolver).cluster, func(in *model.DeleteAttributesRequest) string { return in.Cluster }),
	"RegisterContainerInstance":    refRule((*resolver).cluster, func(in *model.RegisterContainerInstanceRequest) string { return in.Cluster }),
	"SubmitAttachmentStateChanges": refRule((*resolver).cluster, func(in *model.SubmitAttachmentStateChangesRequest) string { return in.Cluster }),
	"DescribeClusters": rule(func(r *resolver, in *model.DescribeClustersRequest) error {
		if len(in.Clusters) == 0 {
			return r.cluster("")
		}
		return r.each("clusters", in.Clusters, (*resolver).cluster)
	}),

	"DescribeContainerInstances": rule(func(r *resolver, in *model.DescribeContainerInstancesRequest) error {
		return r.instances(in.Cluster, in.ContainerInstances)
	}),
	"UpdateContainerInstancesState": rule(func(r *resolver, in *model.UpdateContainerInstancesStateRequest) error {
		return r.instances(in.Cluster, in.ContainerInstances)
	}),
	"DeregisterContainerInstance": rule(func(r *resolver, in *model.DeregisterContainerInstanceRequest) error {
		return r.instances(in.Cluster, optional(in.ContainerInstance))
	}),

	"StopTask": rule(func(r *resolver, in *model.StopTaskRequest) error {
		return r.tasks(in.Cluster, optional(in.Task))
	}),
	"DescribeTasks": rule(func(r *resolver, in *model.DescribeTasksRequest) error {
		return r.tasks(in.Cluster, in.Tasks)
	}),
	"RunTask": rule(func(r *resolver, in *model.RunTaskRequest) error {
		if err := r.taskDefinition(in.TaskDefinition); err != nil {
			return err
		}
		return r.cluster(in.Cluster)
	}),
	"StartTask": rule(func(r *resolver, in *model.StartTaskRequest) error {
		if err := r.taskDefinition(in.TaskDefinition); err != nil {
			return err
		}
		if err := r.cluster(in.Cluster); err != nil {
			return err
		}
		return r.instances(in.Cluster, in.ContainerInstances)
	}),
	"SubmitTaskStateChange": rule(func(r *resolver, in *agentproto.SubmitTaskStateChangeInput) error {
		return r.clusterAndTask(in.Cluster, in.Task)
	}),
	"SubmitContainerStateChange": rule(func(r *resolver, in *agentproto.SubmitContainerStateChangeInput) error {
		return r.clusterAndTask(in.Cluster, in.Task)
	}),
	"ExecuteCommand": rule(func(r *resolver, in *model.ExecuteCommandRequest) error {
		return r.clusterAndTask(in.Cluster, in.Task)
	}),
	agentproto.PollTasks: rule(func(r *resolver, in *agentproto.PollTasksRequest) error {
		if err := r.cluster(in.Cluster); err != nil {
			return err
		}
		return r.instances(in.Cluster, optional(in.ContainerInstanceArn))
	}),
	agentproto.SubmitTaskStats: rule(func(r *resolver, in *agentproto.SubmitTaskStatsRequest) error {
		if err := r.cluster(in.Cluster); err != nil {
			return err
		}
		return r.instances(in.Cluster, optional(in.ContainerInstanceArn))
	}),

	"CreateService": rule(func(r *resolver, in *model.CreateServiceRequest) error {
		cluster, err := clusterName(in.Cluster)
		if err != nil {
			return err
		}
		if in.ServiceName != "" {
			if err := checkPart("service name", in.ServiceName); err != nil {
				return err
			}
			r.add(r.arns.Service(cluster, in.ServiceName))
		}
		return r.taskDefinition(in.TaskDefinition)
	}),
	"UpdateService": rule(func(r *resolver, in *model.UpdateServiceRequest) error {
		if err := r.services(in.Cluster, optional(in.Service)); err != nil {
			return err
		}
		return r.taskDefinition(in.TaskDefinition)
	}),
	"DeleteService": rule(func(r *resolver, in *model.DeleteServiceRequest) error {
		return r.services(in.Cluster, optional(in.Service))
	}),
	"DescribeServices": rule(func(r *resolver, in *model.DescribeServicesRequest) error {
		return r.services(in.Cluster, in.Services)
	}),

	"RegisterTaskDefinition": rule(func(r *resolver, in *model.RegisterTaskDefinitionRequest) error {
		if in.Family == "" {
			return nil
		}
		if err := checkPart("family", in.Family); err != nil {
			return err
		}
		r.add(r.arns.allRevisions(in.Family))
		return nil
	}),
	"DescribeTaskDefinition":   refRule((*resolver).taskDefinition, func(in *model.DescribeTaskDefinitionRequest) string { return in.TaskDefinition }),
	"DeregisterTaskDefinition": refRule((*resolver).taskDefinition, func(in *model.DeregisterTaskDefinitionRequest) string { return in.TaskDefinition }),
	"DeleteTaskDefinitions": rule(func(r *resolver, in *model.DeleteTaskDefinitionsRequest) error {
		return r.each("taskDefinitions", in.TaskDefinitions, (*resolver).taskDefinition)
	}),

	"CreateCapacityProvider": refRule((*resolver).provider, func(in *model.CreateCapacityProviderRequest) string { return in.Name }),
	"UpdateCapacityProvider": refRule((*resolver).provider, func(in *model.UpdateCapacityProviderRequest) string { return in.Name }),
	"DeleteCapacityProvider": refRule((*resolver).provider, func(in *model.DeleteCapacityProviderRequest) string { return in.CapacityProvider }),
	"DescribeCapacityProviders": rule(func(r *resolver, in *model.DescribeCapacityProvidersRequest) error {
		return r.each("capacityProviders", in.CapacityProviders, (*resolver).provider)
	}),

	"TagResource":         refRule((*resolver).taggable, func(in *model.TagResourceRequest) string { return in.ResourceArn }),
	"UntagResource":       refRule((*resolver).taggable, func(in *model.UntagResourceRequest) string { return in.ResourceArn }),
	"ListTagsForResource": refRule((*resolver).taggable, func(in *model.ListTagsForResourceRequest) string { return in.ResourceArn }),
}

// rule decodes the body into the operation's input type, as the operation
// does, and hands it to fn.
func rule[In any](fn func(r *resolver, in *In) error) func(*resolver, []byte) error {
	return func(r *resolver, body []byte) error {
		in := new(In)
		if err := awsproto.Decode(body, in); err != nil {
			return err
		}
		return fn(r, in)
	}
}

// refRule is the rule of an operation that names one resource, by the
// member ref returns.
func refRule[In any](add func(r *resolver, ref string) error, ref func(*In) string) func(*resolver, []byte) error {
	return rule(func(r *resolver, in *In) error { return add(r, ref(in)) })
}

// optional turns a single reference into a list of it, or of none.
func optional(ref string) []string {
	if ref == "" {
		return nil
	}
	return []string{ref}
}

// maxNamed bounds the references one request may list: no ECS operation
// takes more than 100, and the operation refuses longer lists anyway.
const maxNamed = 100

// resolver collects the ARNs a request names.
type resolver struct {
	arns ARNs
	op   string
	out  []string
}

func (r *resolver) add(arn string) { r.out = append(r.out, arn) }

func (r *resolver) limit(member string, n int) error {
	if n > maxNamed {
		return invalidParam("%s takes at most %d %s; got %d. Split the request.", r.op, maxNamed, member, n)
	}
	return nil
}

// each adds what every reference of a list member names.
func (r *resolver) each(member string, refs []string, add func(r *resolver, ref string) error) error {
	if err := r.limit(member, len(refs)); err != nil {
		return err
	}
	for _, ref := range refs {
		if err := add(r, ref); err != nil {
			return err
		}
	}
	return nil
}

// cluster adds the cluster a reference names ("" is the default cluster).
func (r *resolver) cluster(ref string) error {
	name, err := clusterName(ref)
	if err != nil {
		return err
	}
	r.add(r.arns.Cluster(name))
	return nil
}

// instances adds the container instances refs name in the request's cluster.
func (r *resolver) instances(clusterRef string, refs []string) error {
	return r.scoped(clusterRef, refs, "containerInstances", "container instance", parseInstanceRef, r.arns.ContainerInstance)
}

// tasks adds the tasks refs name in the request's cluster.
func (r *resolver) tasks(clusterRef string, refs []string) error {
	return r.scoped(clusterRef, refs, "tasks", "task", parseTaskRef, r.arns.Task)
}

// services adds the services refs name in the request's cluster.
func (r *resolver) services(clusterRef string, refs []string) error {
	return r.scoped(clusterRef, refs, "services", "service", serviceRefName, r.arns.Service)
}

// scoped adds the ARNs of cluster-scoped resources: each reference is an ID
// or name in the request's cluster, or an ARN that names its own cluster.
func (r *resolver) scoped(clusterRef string, refs []string, member, what string,
	parse func(ref string) (cluster, id string, err error), arn func(cluster, id string) string) error {
	if len(refs) == 0 {
		return nil
	}
	if err := r.limit(member, len(refs)); err != nil {
		return err
	}
	cluster, err := clusterName(clusterRef)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		c, id, err := parse(ref)
		if err != nil {
			return err
		}
		if c == "" {
			c = cluster
		}
		if err := checkPart("cluster name in "+what+" ARN", c); err != nil {
			return err
		}
		if err := checkPart(what, id); err != nil {
			return err
		}
		r.add(arn(c, id))
	}
	return nil
}

func (r *resolver) clusterAndTask(clusterRef, task string) error {
	if err := r.cluster(clusterRef); err != nil {
		return err
	}
	return r.tasks(clusterRef, optional(task))
}

// provider adds the capacity provider a name or ARN names.
func (r *resolver) provider(ref string) error {
	if ref == "" {
		return nil
	}
	name, err := providerName(ref)
	if err != nil {
		return err
	}
	r.add(r.arns.CapacityProvider(name))
	return nil
}

// taskDefinition adds the task definition a reference names: one revision,
// or every revision of a bare family.
func (r *resolver) taskDefinition(ref string) error {
	if ref == "" {
		return nil
	}
	family, rev, err := parseTaskDefRef(ref)
	if err != nil {
		return err
	}
	if rev == 0 {
		r.add(r.arns.allRevisions(family))
	} else {
		r.add(r.arns.TaskDefinition(family, rev))
	}
	return nil
}

// taggable adds the resource a tagging operation names, rebuilt from its
// parts so that the policy sees this endpoint's region and account (the
// operation refuses an ARN of another).
func (r *resolver) taggable(arn string) error {
	if arn == "" {
		return nil
	}
	p, err := ParseARN(arn)
	if err != nil {
		return invalidARN(arn, "is not an ECS resource ARN (arn:aws:ecs:REGION:ACCOUNT:TYPE/ID)")
	}
	switch p.Type {
	case "cluster", "capacity-provider":
		if len(p.Parts) != 1 || !validName(p.Parts[0]) {
			return invalidARN(arn, "is not a "+p.Type+" ARN (arn:aws:ecs:REGION:ACCOUNT:"+p.Type+"/NAME)")
		}
		r.add(r.arns.prefix() + p.Type + "/" + p.Parts[0])
	case "task-definition":
		family, rev, ok := taskDefARNParts(p)
		if !ok {
			return invalidARN(arn, "is not a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)")
		}
		r.add(r.arns.TaskDefinition(family, rev))
	case "task", "container-instance", "service":
		if len(p.Parts) != 2 || !validName(p.Parts[0]) || !validName(p.Parts[1]) {
			return invalidARN(arn, "is not a long "+p.Type+" ARN (arn:aws:ecs:REGION:ACCOUNT:"+p.Type+"/CLUSTER/ID), which tagging operations require")
		}
		r.add(r.arns.prefix() + p.Type + "/" + p.Parts[0] + "/" + p.Parts[1])
	default:
		return invalidARN(arn, "names a "+p.Type+", which Wharf cannot tag; it tags clusters, tasks, task definitions, container instances and services")
	}
	return nil
}

// checkPart refuses a name or ID that is not a valid ECS name before it goes
// into an ARN, where '*', '?', '/' or ':' would change what the ARN matches.
func checkPart(what, s string) error {
	if !validName(s) {
		return invalidParam("Invalid %s %q: up to 255 letters, numbers, underscores and hyphens.", what, s)
	}
	return nil
}

// allRevisions is arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:*, the
// resource of a request that names a family but not a revision.
func (a ARNs) allRevisions(family string) string {
	return a.prefix() + "task-definition/" + family + ":*"
}
