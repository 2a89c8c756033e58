package console

import (
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// The reads pages are made of: ECS list operations followed page by page,
// and describe operations in the batch sizes ECS takes.

// maxListed bounds what one page lists of a kind (tasks, instances,
// services): a console page of more would be unreadable and slow to draw.
const maxListed = 1000

// follow gathers the items of a paginated list operation, up to limit;
// more reports whether there were more.
func follow(limit int, page func(token string) (items []string, next string, err error)) (all []string, more bool, err error) {
	token := ""
	for {
		items, next, err := page(token)
		if err != nil {
			return nil, false, err
		}
		all = append(all, items...)
		if len(all) >= limit {
			return all[:limit], len(all) > limit || next != "", nil
		}
		if next == "" {
			return all, false, nil
		}
		token = next
	}
}

// batched describes refs size at a time.
func batched[T any](refs []string, size int, describe func(batch []string) ([]T, error)) ([]T, error) {
	var out []T
	for len(refs) > 0 {
		n := min(size, len(refs))
		got, err := describe(refs[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		refs = refs[n:]
	}
	return out, nil
}

// listed gathers what a list operation names, up to limit, and describes
// it in batches of size.
func listed[T any](limit, size int, list func(token string) ([]string, string, error), describe func(batch []string) ([]T, error)) ([]T, bool, error) {
	refs, more, err := follow(limit, list)
	if err != nil || len(refs) == 0 {
		return nil, more, err
	}
	out, err := batched(refs, size, describe)
	return out, more, err
}

// only is the one resource a describe of one reference found, or notFound.
func only[T any](got []T, err error, notFound *awsproto.Error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if len(got) == 0 {
		return zero, notFound
	}
	return got[0], nil
}

func (k caller) clusters() ([]model.Cluster, bool, error) {
	return listed(maxListed, 100, func(token string) ([]string, string, error) {
		var out model.ListClustersResponse
		err := k.ecs("ListClusters", model.ListClustersRequest{NextToken: token}, &out)
		return out.ClusterArns, out.NextToken, err
	}, func(b []string) ([]model.Cluster, error) {
		var out model.DescribeClustersResponse
		err := k.ecs("DescribeClusters", model.DescribeClustersRequest{Clusters: b}, &out)
		return out.Clusters, err
	})
}

// cluster describes one cluster; a missing one is a ClusterNotFoundException.
func (k caller) cluster(name string) (model.Cluster, error) {
	var out model.DescribeClustersResponse
	if err := k.ecs("DescribeClusters", model.DescribeClustersRequest{Clusters: []string{name}}, &out); err != nil {
		return model.Cluster{}, err
	}
	if len(out.Clusters) == 0 || out.Clusters[0].Status == "INACTIVE" {
		return model.Cluster{}, awsproto.Errorf("ClusterNotFoundException", "Cluster %s not found (or deleted).", name)
	}
	return out.Clusters[0], nil
}

func (k caller) services(cluster string) ([]model.Service, bool, error) {
	return listed(maxListed, 10, func(token string) ([]string, string, error) {
		var out model.ListServicesResponse
		err := k.ecs("ListServices", model.ListServicesRequest{Cluster: cluster, NextToken: token}, &out)
		return out.ServiceArns, out.NextToken, err
	}, func(b []string) ([]model.Service, error) { return k.describeServices(cluster, b) })
}

func (k caller) describeServices(cluster string, refs []string) ([]model.Service, error) {
	return batched(refs, 10, func(b []string) ([]model.Service, error) {
		var out model.DescribeServicesResponse
		err := k.ecs("DescribeServices", model.DescribeServicesRequest{Cluster: cluster, Services: b}, &out)
		return out.Services, err
	})
}

// service describes one service; a missing one is a
// ServiceNotFoundException.
func (k caller) service(cluster, name string) (model.Service, error) {
	svcs, err := k.describeServices(cluster, []string{name})
	return only(svcs, err, awsproto.Errorf("ServiceNotFoundException", "Service %s not found in cluster %s.", name, cluster))
}

// tasks lists and describes the tasks in.Cluster that in selects.
func (k caller) tasks(in model.ListTasksRequest, limit int) ([]model.Task, bool, error) {
	return listed(limit, 100, func(token string) ([]string, string, error) {
		in.NextToken = token
		var out model.ListTasksResponse
		err := k.ecs("ListTasks", in, &out)
		return out.TaskArns, out.NextToken, err
	}, func(b []string) ([]model.Task, error) { return k.describeTasks(in.Cluster, b) })
}

func (k caller) describeTasks(cluster string, refs []string) ([]model.Task, error) {
	return batched(refs, 100, func(b []string) ([]model.Task, error) {
		var out model.DescribeTasksResponse
		err := k.ecs("DescribeTasks", model.DescribeTasksRequest{Cluster: cluster, Tasks: b}, &out)
		return out.Tasks, err
	})
}

// task describes one task; a missing one is a TaskNotFoundException.
func (k caller) task(cluster, id string) (model.Task, error) {
	ts, err := k.describeTasks(cluster, []string{id})
	return only(ts, err, awsproto.Errorf("TaskNotFoundException", "Task %s not found in cluster %s (stopped tasks are kept for a limited time).", id, cluster))
}

func (k caller) instances(cluster string) ([]model.ContainerInstance, bool, error) {
	return listed(maxListed, 100, func(token string) ([]string, string, error) {
		var out model.ListContainerInstancesResponse
		err := k.ecs("ListContainerInstances", model.ListContainerInstancesRequest{Cluster: cluster, NextToken: token}, &out)
		return out.ContainerInstanceArns, out.NextToken, err
	}, func(b []string) ([]model.ContainerInstance, error) { return k.describeInstances(cluster, b) })
}

func (k caller) describeInstances(cluster string, refs []string) ([]model.ContainerInstance, error) {
	return batched(refs, 100, func(b []string) ([]model.ContainerInstance, error) {
		var out model.DescribeContainerInstancesResponse
		err := k.ecs("DescribeContainerInstances", model.DescribeContainerInstancesRequest{Cluster: cluster, ContainerInstances: b}, &out)
		return out.ContainerInstances, err
	})
}

// instance describes one container instance.
func (k caller) instance(cluster, id string) (model.ContainerInstance, error) {
	cis, err := k.describeInstances(cluster, []string{id})
	return only(cis, err, awsproto.Errorf("InvalidParameterException", "Container instance %s not found in cluster %s.", id, cluster))
}

func (k caller) taskDefinition(ref string) (*model.TaskDefinition, error) {
	var out model.DescribeTaskDefinitionResponse
	if err := k.ecs("DescribeTaskDefinition", model.DescribeTaskDefinitionRequest{TaskDefinition: ref}, &out); err != nil {
		return nil, err
	}
	if out.TaskDefinition == nil {
		return nil, awsproto.Errorf("ClientException", "Unable to describe task definition %s.", ref)
	}
	return out.TaskDefinition, nil
}

// lastPart is the last /-separated part of an ARN: a task's or an
// instance's ID, a cluster's or service's name.
func lastPart(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
