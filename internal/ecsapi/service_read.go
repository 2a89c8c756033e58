package ecsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// serviceShape is the stored service as the API answers it: the deployments
// without their bookkeeping (PRIMARY first, then newest first), the latest
// events first, and the tags only when asked for.
func serviceShape(s *state.Service, withTags bool) *model.Service {
	out := *model.Clone(&s.Service)
	deps := slices.Clone(s.Deployments)
	slices.SortStableFunc(deps, func(a, b state.Deployment) int {
		if (a.Status == state.DeploymentPrimary) != (b.Status == state.DeploymentPrimary) {
			if a.Status == state.DeploymentPrimary {
				return -1
			}
			return 1
		}
		return timeOf(b.CreatedAt).Compare(timeOf(a.CreatedAt))
	})
	out.Deployments = make([]model.Deployment, 0, len(deps))
	for _, d := range deps {
		out.Deployments = append(out.Deployments, *model.Clone(&d.Deployment))
	}
	if out.Events == nil {
		out.Events = []model.ServiceEvent{}
	}
	if !withTags {
		out.Tags = nil
	}
	return &out
}

func timeOf(t *model.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func (a *API) DescribeServices(ctx context.Context, in *model.DescribeServicesRequest) (*model.DescribeServicesResponse, error) {
	if len(in.Services) == 0 {
		return nil, invalidParam("services is required: give 1 to %d service names or ARNs (ListServices finds them).", maxDescribeServices)
	}
	if len(in.Services) > maxDescribeServices {
		return nil, invalidParam("DescribeServices takes at most %d services; got %d. Split the request.", maxDescribeServices, len(in.Services))
	}
	withTags := false
	for _, f := range in.Include {
		if f != model.ServiceFieldTags {
			return nil, invalidParam("Invalid include value %q: the only valid value is TAGS.", f)
		}
		withTags = true
	}
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.ClusterName
	out := &model.DescribeServicesResponse{Services: []model.Service{}, Failures: []model.Failure{}}
	for _, ref := range in.Services {
		arnCluster, name, err := serviceRefName(ref)
		if err != nil {
			out.Failures = append(out.Failures, model.Failure{Arn: ref, Reason: reasonMissing, Detail: "not a service name or ARN"})
			continue
		}
		if arnCluster != "" && arnCluster != cluster {
			out.Failures = append(out.Failures, model.Failure{Arn: ref, Reason: reasonMissing, Detail: "the service ARN names cluster " + arnCluster + ", not " + cluster})
			continue
		}
		s, _, err := state.Get[state.Service](ctx, a.st, state.ServiceKey(cluster, name))
		if isNotFound(err) {
			out.Failures = append(out.Failures, model.Failure{Arn: a.arns.Service(cluster, name), Reason: reasonMissing})
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Services = append(out.Services, *serviceShape(s, withTags))
	}
	return out, nil
}

// serviceSummary decodes just what ListServices filters on.
type serviceSummary struct {
	ServiceArn         string                   `json:"serviceArn"`
	Status             string                   `json:"status"`
	LaunchType         model.LaunchType         `json:"launchType"`
	SchedulingStrategy model.SchedulingStrategy `json:"schedulingStrategy"`
}

func (a *API) ListServices(ctx context.Context, in *model.ListServicesRequest) (*model.ListServicesResponse, error) {
	limit, err := pageSize(in.MaxResults, defaultListServicesPage)
	if err != nil {
		return nil, err
	}
	if in.LaunchType != "" && !in.LaunchType.Valid() {
		return nil, invalidParam("Invalid launchType %q: use EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES.", in.LaunchType)
	}
	if err := validateSchedulingStrategy(in.SchedulingStrategy); err != nil {
		return nil, err
	}
	if in.ResourceManagementType != "" && !in.ResourceManagementType.Valid() {
		return nil, invalidParam("Invalid resourceManagementType %q: use CUSTOMER or ECS.", in.ResourceManagementType)
	}
	c, _, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &model.ListServicesResponse{ServiceArns: []string{}}
	// Every Wharf service is managed by its customer; none by ECS itself.
	if in.ResourceManagementType == model.ResourceManagementTypeEcs {
		return out, nil
	}
	arns, next, err := scan(ctx, a.st, state.ClusterServicesPrefix(c.ClusterName), in.NextToken, limit, func(kv store.KV) (string, bool, error) {
		var s serviceSummary
		if err := json.Unmarshal(kv.Value, &s); err != nil {
			return "", false, err
		}
		ok := s.Status != state.ServiceInactive &&
			(in.LaunchType == "" || s.LaunchType == in.LaunchType) &&
			(in.SchedulingStrategy == "" || s.SchedulingStrategy == in.SchedulingStrategy)
		return s.ServiceArn, ok, nil
	})
	if err != nil {
		return nil, err
	}
	if arns != nil {
		out.ServiceArns = arns
	}
	out.NextToken = next
	return out, nil
}

// taggedService is the tag operations' view of a service. A deleted
// (INACTIVE) service cannot be tagged any more, as in ECS.
func (a *API) taggedService(ctx context.Context, cluster, name string) (*tagged, error) {
	key := state.ServiceKey(cluster, name)
	s, rev, err := state.Get[state.Service](ctx, a.st, key)
	if isNotFound(err) || err == nil && s.Status == state.ServiceInactive {
		return nil, invalidParam("The specified service does not exist: no service %s in cluster %s. List services with ListServices --cluster %s.", name, cluster, cluster)
	}
	if err != nil {
		return nil, err
	}
	return &tagged{key: key, rev: rev, tags: s.Tags, put: func(tags []model.Tag) store.Op {
		s.Tags = tags
		return state.Put(key, s)
	}}, nil
}
