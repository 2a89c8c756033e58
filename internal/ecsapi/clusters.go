package ecsapi

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func (a *API) registerClusters(s *awsproto.Service) {
	awsproto.Handle(s, "CreateCluster", a.CreateCluster)
	awsproto.Handle(s, "DescribeClusters", a.DescribeClusters)
	awsproto.Handle(s, "ListClusters", a.ListClusters)
	awsproto.Handle(s, "UpdateCluster", a.UpdateCluster)
	awsproto.Handle(s, "UpdateClusterSettings", a.UpdateClusterSettings)
	awsproto.Handle(s, "DeleteCluster", a.DeleteCluster)
}

const (
	clusterActive   = "ACTIVE"
	clusterInactive = "INACTIVE"
)

func validateClusterSettings(settings []model.ClusterSetting) error {
	for _, s := range settings {
		if s.Name != model.ClusterSettingNameContainerInsights {
			return invalidParam("Unknown cluster setting name %q; the valid name is containerInsights.", s.Name)
		}
		switch s.Value {
		case "enabled", "disabled", "enhanced":
		default:
			return invalidParam("Invalid value %q for cluster setting containerInsights: use enabled, enhanced or disabled.", s.Value)
		}
	}
	return nil
}

// applySettings sets each given setting, replacing one of the same name.
func applySettings(have, set []model.ClusterSetting) []model.ClusterSetting {
	out := slices.Clone(have)
	for _, s := range set {
		i := slices.IndexFunc(out, func(h model.ClusterSetting) bool { return h.Name == s.Name })
		if i >= 0 {
			out[i] = s
		} else {
			out = append(out, s)
		}
	}
	return out
}

func (a *API) CreateCluster(ctx context.Context, in *model.CreateClusterRequest) (*model.CreateClusterResponse, error) {
	name := in.ClusterName
	if name == "" {
		name = "default"
	}
	if !validName(name) {
		return nil, invalidParam("Invalid cluster name %q: up to 255 letters, numbers, underscores and hyphens.", name)
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	if err := validateClusterSettings(in.Settings); err != nil {
		return nil, err
	}
	if in.ServiceConnectDefaults != nil {
		return nil, awsproto.Errorf("NamespaceNotFoundException", "Namespace %q not found: Wharf has no Cloud Map namespaces yet; omit serviceConnectDefaults.", in.ServiceConnectDefaults.Namespace)
	}
	// A setting named twice keeps its last value, as UpdateClusterSettings does.
	settings := applySettings(nil, in.Settings)
	if len(settings) == 0 {
		// A new cluster takes Container Insights from the account setting.
		insights, err := a.accountSetting(ctx, model.SettingNameContainerInsights)
		if err != nil {
			return nil, err
		}
		settings = []model.ClusterSetting{{Name: model.ClusterSettingNameContainerInsights, Value: insights}}
	}
	var out *model.Cluster
	err := retry(ctx, func() error {
		cur, rev, err := state.Get[state.Cluster](ctx, a.st, state.ClusterKey(name))
		switch {
		case err == nil && cur.Status != clusterInactive:
			out = &cur.Cluster // CreateCluster is idempotent on an ACTIVE name
			return nil
		case err != nil && !isNotFound(err):
			return err
		}
		txn, err := a.providerChanges(ctx, name, nil, in.CapacityProviders, in.DefaultCapacityProviderStrategy)
		if err != nil {
			return err
		}
		c := state.Cluster{Cluster: model.Cluster{
			ClusterArn:                      a.arns.Cluster(name),
			ClusterName:                     name,
			Status:                          clusterActive,
			Tags:                            in.Tags,
			Settings:                        settings,
			Configuration:                   in.Configuration,
			CapacityProviders:               in.CapacityProviders,
			DefaultCapacityProviderStrategy: in.DefaultCapacityProviderStrategy,
		}}
		txn.Conds = append(txn.Conds, store.Cond{Key: state.ClusterKey(name), Revision: rev})
		txn.Ops = append(txn.Ops, state.Put(state.ClusterKey(name), c))
		_, err = a.st.Commit(ctx, txn)
		out = &c.Cluster
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := a.fillClusterCounts(ctx, out); err != nil {
		return nil, err
	}
	return &model.CreateClusterResponse{Cluster: out}, nil
}

func (a *API) DescribeClusters(ctx context.Context, in *model.DescribeClustersRequest) (*model.DescribeClustersResponse, error) {
	names := in.Clusters
	if len(names) == 0 {
		names = []string{"default"}
	}
	if len(names) > 100 {
		return nil, invalidParam("DescribeClusters takes at most 100 clusters; got %d.", len(names))
	}
	include := map[model.ClusterField]bool{}
	for _, f := range in.Include {
		if !f.Valid() {
			return nil, invalidParam("Invalid include value %q: use ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS or TAGS.", f)
		}
		include[f] = true
	}
	out := &model.DescribeClustersResponse{Clusters: []model.Cluster{}, Failures: []model.Failure{}}
	for _, ref := range names {
		name, err := clusterName(ref)
		if err != nil {
			out.Failures = append(out.Failures, model.Failure{Arn: ref, Reason: "MISSING", Detail: "not a cluster name or ARN"})
			continue
		}
		c, _, err := state.Get[state.Cluster](ctx, a.st, state.ClusterKey(name))
		if isNotFound(err) {
			out.Failures = append(out.Failures, model.Failure{Arn: a.arns.Cluster(name), Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, err
		}
		cl := c.Cluster
		stats, err := a.fillClusterCounts(ctx, &cl)
		if err != nil {
			return nil, err
		}
		if include[model.ClusterFieldStatistics] {
			cl.Statistics = stats.pairs()
		}
		if !include[model.ClusterFieldTags] {
			cl.Tags = nil
		}
		if !include[model.ClusterFieldSettings] {
			cl.Settings = nil
		}
		if !include[model.ClusterFieldConfigurations] {
			cl.Configuration = nil
		}
		if !include[model.ClusterFieldAttachments] {
			cl.Attachments = nil
		}
		out.Clusters = append(out.Clusters, cl)
	}
	return out, nil
}

// clusterStats are the cluster's counts by launch type, for its STATISTICS.
type clusterStats struct {
	running, pending, activeServices, drainingServices [2]int // EC2 (and EXTERNAL), Fargate
}

func (s clusterStats) pairs() []model.KeyValuePair {
	kv := func(k string, v int) model.KeyValuePair {
		return model.KeyValuePair{Name: k, Value: strconv.Itoa(v)}
	}
	return []model.KeyValuePair{
		kv("runningEC2TasksCount", s.running[0]),
		kv("runningFargateTasksCount", s.running[1]),
		kv("pendingEC2TasksCount", s.pending[0]),
		kv("pendingFargateTasksCount", s.pending[1]),
		kv("activeEC2ServiceCount", s.activeServices[0]),
		kv("activeFargateServiceCount", s.activeServices[1]),
		kv("drainingEC2ServiceCount", s.drainingServices[0]),
		kv("drainingFargateServiceCount", s.drainingServices[1]),
	}
}

// statusOnly decodes just the status fields every document shares, and a
// service's launch type.
type statusOnly struct {
	Status     string           `json:"status"`
	LastStatus string           `json:"lastStatus"`
	LaunchType model.LaunchType `json:"launchType"`
}

// fillClusterCounts derives the cluster's counts: instances and tasks from
// the in-memory caches (once they reflect every write made so far, so a
// caller sees its own), services from the store.
func (a *API) fillClusterCounts(ctx context.Context, c *model.Cluster) (clusterStats, error) {
	var st clusterStats
	var instances, running, pending, services int32
	if c.Status != clusterInactive {
		rev, err := a.st.Revision(ctx)
		if err != nil {
			return st, err
		}
		n, err := a.instances.countInstances(ctx, c.ClusterName, rev)
		if err != nil {
			return st, err
		}
		if err := a.index.fresh(ctx, rev); err != nil {
			return st, err
		}
		r, p, fr, fp := a.index.clusterCounts(c.ClusterName)
		instances, running, pending = int32(n), int32(r), int32(p)
		st.running, st.pending = [2]int{r - fr, fr}, [2]int{p - fp, fp}
		kvs, _, err := a.st.List(ctx, state.ClusterServicesPrefix(c.ClusterName), store.ListOptions{})
		if err != nil {
			return st, err
		}
		for _, kv := range kvs {
			var s statusOnly
			if err := json.Unmarshal(kv.Value, &s); err != nil {
				return st, err
			}
			kind := 0
			if s.LaunchType == model.LaunchTypeFargate {
				kind = 1
			}
			switch s.Status {
			case "ACTIVE":
				services++
				st.activeServices[kind]++
			case "DRAINING":
				st.drainingServices[kind]++
			}
		}
	}
	c.RegisteredContainerInstancesCount = model.Ptr(instances)
	c.RunningTasksCount = model.Ptr(running)
	c.PendingTasksCount = model.Ptr(pending)
	c.ActiveServicesCount = model.Ptr(services)
	return st, nil
}

func (a *API) ListClusters(ctx context.Context, in *model.ListClustersRequest) (*model.ListClustersResponse, error) {
	limit, err := pageSize(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	arns, next, err := scan(ctx, a.st, state.ClustersPrefix, in.NextToken, limit, func(kv store.KV) (string, bool, error) {
		var c state.Cluster
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return "", false, err
		}
		return c.ClusterArn, c.Status != clusterInactive, nil
	})
	if err != nil {
		return nil, err
	}
	if arns == nil {
		arns = []string{}
	}
	return &model.ListClustersResponse{ClusterArns: arns, NextToken: next}, nil
}

// updateCluster applies fn to an ACTIVE cluster in a read-modify-write loop.
func (a *API) updateCluster(ctx context.Context, ref string, fn func(c *state.Cluster) error) (*model.Cluster, error) {
	name, err := clusterName(ref)
	if err != nil {
		return nil, err
	}
	var out *model.Cluster
	err = retry(ctx, func() error {
		c, rev, err := state.Get[state.Cluster](ctx, a.st, state.ClusterKey(name))
		if isNotFound(err) || err == nil && c.Status == clusterInactive {
			return clusterNotFound(name)
		}
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: state.ClusterKey(name), Revision: rev}},
			Ops:   []store.Op{state.Put(state.ClusterKey(name), c)},
		})
		out = &c.Cluster
		return err
	})
	if err != nil {
		return nil, err
	}
	_, err = a.fillClusterCounts(ctx, out)
	return out, err
}

func (a *API) UpdateCluster(ctx context.Context, in *model.UpdateClusterRequest) (*model.UpdateClusterResponse, error) {
	if in.Cluster == "" {
		return nil, invalidParam("cluster is required: give the name or ARN of the cluster to update.")
	}
	if err := validateClusterSettings(in.Settings); err != nil {
		return nil, err
	}
	if in.ServiceConnectDefaults != nil {
		return nil, awsproto.Errorf("NamespaceNotFoundException", "Namespace %q not found: Wharf has no Cloud Map namespaces yet; omit serviceConnectDefaults.", in.ServiceConnectDefaults.Namespace)
	}
	c, err := a.updateCluster(ctx, in.Cluster, func(c *state.Cluster) error {
		c.Settings = applySettings(c.Settings, in.Settings)
		if in.Configuration != nil {
			c.Configuration = in.Configuration
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.UpdateClusterResponse{Cluster: c}, nil
}

func (a *API) UpdateClusterSettings(ctx context.Context, in *model.UpdateClusterSettingsRequest) (*model.UpdateClusterSettingsResponse, error) {
	if in.Cluster == "" {
		return nil, invalidParam("cluster is required: give the name or ARN of the cluster to update.")
	}
	if len(in.Settings) == 0 {
		return nil, invalidParam("settings is required: give at least one setting, e.g. name=containerInsights,value=enabled.")
	}
	if err := validateClusterSettings(in.Settings); err != nil {
		return nil, err
	}
	c, err := a.updateCluster(ctx, in.Cluster, func(c *state.Cluster) error {
		c.Settings = applySettings(c.Settings, in.Settings)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &model.UpdateClusterSettingsResponse{Cluster: c}, nil
}

func (a *API) DeleteCluster(ctx context.Context, in *model.DeleteClusterRequest) (*model.DeleteClusterResponse, error) {
	if in.Cluster == "" {
		return nil, invalidParam("cluster is required: give the name or ARN of the cluster to delete.")
	}
	var counts model.Cluster
	c, err := a.updateCluster(ctx, in.Cluster, func(c *state.Cluster) error {
		counts = model.Cluster{ClusterName: c.ClusterName, Status: c.Status}
		if _, err := a.fillClusterCounts(ctx, &counts); err != nil {
			return err
		}
		if n := model.Val(counts.RegisteredContainerInstancesCount); n > 0 {
			return awsproto.Errorf("ClusterContainsContainerInstancesException",
				"The cluster cannot be deleted while %d container instances are registered: deregister them first (DeregisterContainerInstance).", n)
		}
		if n := model.Val(counts.ActiveServicesCount); n > 0 {
			return awsproto.Errorf("ClusterContainsServicesException",
				"The cluster cannot be deleted while %d services are active: scale them to 0 and delete them first (DeleteService).", n)
		}
		if n := model.Val(counts.RunningTasksCount) + model.Val(counts.PendingTasksCount); n > 0 {
			return awsproto.Errorf("ClusterContainsTasksException",
				"The cluster cannot be deleted while %d tasks are active: stop them first (StopTask).", n)
		}
		c.Status = clusterInactive
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := a.releaseProviders(ctx, c.ClusterName, c.CapacityProviders); err != nil {
		return nil, err
	}
	return &model.DeleteClusterResponse{Cluster: c}, nil
}

// activeCluster returns the named cluster if it exists and is ACTIVE, with its
// revision so that writes that depend on it can be conditioned on it.
func (a *API) activeCluster(ctx context.Context, ref string) (*state.Cluster, int64, error) {
	name, err := clusterName(ref)
	if err != nil {
		return nil, 0, err
	}
	c, rev, err := state.Get[state.Cluster](ctx, a.st, state.ClusterKey(name))
	if isNotFound(err) || err == nil && c.Status == clusterInactive {
		return nil, 0, clusterNotFound(name)
	}
	if err != nil {
		return nil, 0, err
	}
	return c, rev, nil
}
